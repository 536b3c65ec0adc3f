//! The in-memory world state that blocks execute against and write into.
//!
//! A block never mutates a [`WorldState`] in place: it runs against a read-only [`StateView`]
//! and yields [`BlockWrites`], which the caller applies only once the block is fully valid.
//! That is what makes a rejected block leave the state exactly as it was.

use std::{collections::HashMap, convert::Infallible, sync::Arc};

use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use commitment::{AccountUpdate, StateTrie, TrieAccount};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};
pub use storage::{AccountWrite, BlockWrites, InfoChange};

/// One account as held in memory: header fields plus its full storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldAccount {
    /// Transactions sent (or, for a contract, contracts created) so far.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Keccak-256 of the code; `KECCAK256_EMPTY` for an account without code. The code
    /// itself lives in the [`WorldState`]'s code table under this hash.
    pub code_hash: B256,
    /// Non-zero slots only.
    pub storage: HashMap<U256, U256>,
}

impl Default for WorldAccount {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK256_EMPTY,
            storage: HashMap::new(),
        }
    }
}

impl WorldAccount {
    /// The header fields the account trie commits to (the storage root is the trie's own).
    pub fn trie_account(&self) -> TrieAccount {
        TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            code_hash: self.code_hash,
        }
    }
}

/// Accounts and contract code.
///
/// Cloning is linear in the number of accounts (code is shared), which is what fork handling in
/// test chains needs; a persistent store replaces this behind the same [`DatabaseRef`] seam.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    accounts: HashMap<Address, WorldAccount>,
    codes: Arc<HashMap<B256, Bytecode>>,
}

impl WorldState {
    /// Builds the state from a genesis `alloc` / test `pre` map.
    pub fn from_alloc<'a>(
        alloc: impl IntoIterator<Item = (&'a Address, &'a GenesisAccount)>,
    ) -> Self {
        let mut world = Self::default();
        let codes = Arc::make_mut(&mut world.codes);
        for (address, acc) in alloc {
            let code_hash = match acc.code.as_ref().filter(|c| !c.is_empty()) {
                Some(code) => {
                    let hash = keccak256(code);
                    codes.insert(hash, bytecode(code.clone()));
                    hash
                }
                None => KECCAK256_EMPTY,
            };
            let storage = acc
                .storage_slots()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (U256::from_be_bytes(k.0), v))
                .collect();
            world.accounts.insert(
                *address,
                WorldAccount {
                    nonce: acc.nonce.unwrap_or_default(),
                    balance: acc.balance,
                    code_hash,
                    storage,
                },
            );
        }
        world
    }

    /// The account at `address`; `None` if it does not exist (or was removed as empty).
    pub fn account(&self, address: &Address) -> Option<&WorldAccount> {
        self.accounts.get(address)
    }

    /// Every account, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &WorldAccount)> {
        self.accounts.iter()
    }

    /// The code whose Keccak-256 is `hash`, if the state holds it.
    pub fn code(&self, hash: &B256) -> Option<&Bytecode> {
        self.codes.get(hash)
    }

    /// Inserts code directly (for partial pre-states that ship code by hash).
    pub fn insert_code(&mut self, code: Bytecode) -> B256 {
        let hash = code.hash_slow();
        Arc::make_mut(&mut self.codes).insert(hash, code);
        hash
    }

    /// Inserts or replaces an account.
    pub fn insert_account(&mut self, address: Address, account: WorldAccount) {
        self.accounts.insert(address, account);
    }

    /// The trie updates `writes` amount to on top of this state, with the current account
    /// header filled in for storage-only changes. Pure, so a caller can check the resulting
    /// root before committing anything.
    pub fn updates_for(&self, writes: &BlockWrites) -> Vec<AccountUpdate> {
        writes.updates_with(|address| self.accounts.get(address).map(WorldAccount::trie_account))
    }

    /// The writes that take the state after `writes` back to this one: every account's
    /// previous header (or its removal, for one that did not exist), the previous value of
    /// every written slot, and the whole previous storage of an account the writes wipe or
    /// remove. Contract code stays: it is addressed by its hash.
    pub fn change_set(&self, writes: &BlockWrites) -> BlockWrites {
        let accounts = writes
            .accounts
            .iter()
            .map(|w| {
                let before = self.accounts.get(&w.address);
                let dropped = w.wipe_storage || w.info == InfoChange::Removed;
                let storage = match before {
                    Some(account) if dropped => {
                        let mut all: Vec<_> =
                            account.storage.iter().map(|(k, v)| (*k, *v)).collect();
                        all.sort_unstable_by_key(|(slot, _)| *slot);
                        all
                    }
                    _ => w
                        .storage
                        .iter()
                        .map(|(slot, _)| {
                            let old = before.and_then(|a| a.storage.get(slot)).copied();
                            (*slot, old.unwrap_or_default())
                        })
                        .collect(),
                };
                AccountWrite {
                    address: w.address,
                    info: before.map_or(InfoChange::Removed, |a| InfoChange::Set(a.trie_account())),
                    wipe_storage: dropped,
                    storage,
                }
            })
            .collect();
        BlockWrites {
            accounts,
            codes: Vec::new(),
        }
    }

    /// Applies a block's writes.
    pub fn apply(&mut self, writes: &BlockWrites) {
        if !writes.codes.is_empty() {
            let codes = Arc::make_mut(&mut self.codes);
            for (hash, code) in &writes.codes {
                codes.entry(*hash).or_insert_with(|| code.clone());
            }
        }
        for w in &writes.accounts {
            if w.info == InfoChange::Removed {
                self.accounts.remove(&w.address);
                continue;
            }
            let account = self.accounts.entry(w.address).or_default();
            if let InfoChange::Set(info) = w.info {
                account.nonce = info.nonce;
                account.balance = info.balance;
                account.code_hash = info.code_hash;
            }
            if w.wipe_storage {
                account.storage.clear();
            }
            for &(slot, value) in &w.storage {
                if value.is_zero() {
                    account.storage.remove(&slot);
                } else {
                    account.storage.insert(slot, value);
                }
            }
        }
    }

    /// Every account as a trie update, for building a state trie from scratch.
    pub fn trie_updates(&self) -> Vec<AccountUpdate> {
        self.accounts
            .iter()
            .map(|(address, acc)| AccountUpdate {
                address: *address,
                info: Some(acc.trie_account()),
                wipe_storage: false,
                storage: acc.storage.iter().map(|(k, v)| (*k, *v)).collect(),
            })
            .collect()
    }

    /// The state trie of this state, built in bulk from every account (a whole-state cost).
    pub fn state_trie(&self) -> StateTrie {
        StateTrie::from_accounts(&self.trie_updates())
    }

    /// The state root computed from scratch.
    pub fn state_root(&self) -> B256 {
        self.state_trie().root()
    }
}

/// Hashes of recent blocks as BLOCKHASH sees them from one block's point of view.
pub trait BlockHashes: Sync {
    /// The hash of the block numbered `number` on the viewing block's own chain; `None`
    /// outside the window the caller keeps (BLOCKHASH then reads zero).
    fn block_hash(&self, number: u64) -> Option<B256>;
}

impl BlockHashes for HashMap<u64, B256> {
    fn block_hash(&self, number: u64) -> Option<B256> {
        self.get(&number).copied()
    }
}

/// A read-only view for revm: plain state from `world` (any [`DatabaseRef`]: the in-memory
/// [`WorldState`] by default, a database snapshot otherwise) and BLOCKHASH from `hashes`, the
/// block's own ancestry, so a block on a side chain sees its own past.
#[derive(Clone, Copy)]
pub struct StateView<'a, S = &'a WorldState> {
    /// Accounts, storage and code: the parent block's post-state.
    pub world: S,
    /// Hashes of the viewing block's ancestors (revm asks only for the last 256).
    pub hashes: &'a dyn BlockHashes,
}

impl<S: std::fmt::Debug> std::fmt::Debug for StateView<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateView")
            .field("world", &self.world)
            .finish_non_exhaustive()
    }
}

impl<S: DatabaseRef> DatabaseRef for StateView<'_, S> {
    type Error = S::Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.world.basic_ref(address)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.world.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.world.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.hashes.block_hash(number).unwrap_or_default())
    }
}

/// Reads from memory cannot fail; the type exists because revm requires an error type.
#[derive(Debug, thiserror::Error)]
#[error("state read failed")]
pub struct StateReadError(Infallible);

impl DBErrorMarker for StateReadError {}

/// A bare world knows no blocks: BLOCKHASH reads zero unless a [`StateView`] supplies them.
impl DatabaseRef for WorldState {
    type Error = StateReadError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.accounts.get(&address).map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: self.codes.get(&a.code_hash).cloned(),
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.codes.get(&code_hash).cloned().unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self
            .accounts
            .get(&address)
            .and_then(|a| a.storage.get(&index).copied())
            .unwrap_or_default())
    }

    fn block_hash_ref(&self, _number: u64) -> Result<B256, Self::Error> {
        Ok(B256::ZERO)
    }
}

/// Account code as revm runs it. Bytes that start like an EIP-7702 delegation but are not one
/// (a genesis or recorded account may hold any bytes) stay plain legacy code, which halts at
/// its first 0xEF byte, instead of being rejected.
pub fn bytecode(raw: Bytes) -> Bytecode {
    Bytecode::new_raw_checked(raw.clone()).unwrap_or_else(|_| Bytecode::new_legacy(raw))
}
