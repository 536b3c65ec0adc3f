//! The Ethereum state trie: accounts keyed by keccak(address), each with its own storage trie
//! keyed by keccak(slot).
//!
//! Updates only mark accounts dirty; [`StateTrie::root`] then re-hashes the touched storage
//! tries in parallel (they are independent) before folding the account leaves into the account
//! trie.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::{Encodable, RlpEncodable};
use rayon::prelude::*;

use crate::trie::{EMPTY_ROOT, Trie};

/// Account fields as committed; the storage root is derived by the state trie itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TrieAccount {
    pub nonce: u64,
    pub balance: U256,
    pub code_hash: B256,
}

/// One account's change in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUpdate {
    pub address: Address,
    /// `None`: the account no longer exists (selfdestruct, EIP-161); its storage goes too.
    pub info: Option<TrieAccount>,
    /// Drop all existing storage before applying `storage` (destroyed and re-created).
    pub wipe_storage: bool,
    /// (slot, new value); a zero value deletes the slot.
    pub storage: Vec<(U256, U256)>,
}

#[derive(RlpEncodable)]
struct AccountLeaf {
    nonce: u64,
    balance: U256,
    storage_root: B256,
    code_hash: B256,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    info: TrieAccount,
    storage: Trie,
}

/// Accounts plus one storage trie each, with the account trie folded lazily at [`Self::root`].
#[derive(Clone, Debug, Default)]
pub struct StateTrie {
    accounts: Trie,
    entries: HashMap<Address, Entry>,
    /// Accounts whose leaf must be re-encoded at the next `root()`.
    dirty: HashSet<Address>,
}

impl StateTrie {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a batch of account changes. Nothing is hashed until [`Self::root`].
    pub fn apply(&mut self, updates: &[AccountUpdate]) {
        for update in updates {
            let Some(info) = update.info else {
                self.entries.remove(&update.address);
                self.dirty.remove(&update.address);
                self.accounts.remove(keccak256(update.address).as_slice());
                continue;
            };
            let entry = self.entries.entry(update.address).or_default();
            if update.wipe_storage {
                entry.storage = Trie::new();
            }
            entry.info = info;
            for (slot, value) in &update.storage {
                let key = keccak256(slot.to_be_bytes::<32>());
                if value.is_zero() {
                    entry.storage.remove(key.as_slice());
                } else {
                    entry
                        .storage
                        .insert(key.as_slice(), alloy_rlp::encode(value));
                }
            }
            self.dirty.insert(update.address);
        }
    }

    /// The state root; storage tries of dirty accounts are hashed in parallel.
    pub fn root(&mut self) -> B256 {
        let dirty = std::mem::take(&mut self.dirty);
        let mut touched: Vec<(&Address, &mut Entry)> = self
            .entries
            .iter_mut()
            .filter(|(a, _)| dirty.contains(*a))
            .collect();
        let leaves: Vec<(B256, Vec<u8>)> = touched
            .par_iter_mut()
            .map(|(address, entry)| {
                let leaf = AccountLeaf {
                    nonce: entry.info.nonce,
                    balance: entry.info.balance,
                    storage_root: entry.storage.root(),
                    code_hash: entry.info.code_hash,
                };
                let mut out = Vec::with_capacity(leaf.length());
                leaf.encode(&mut out);
                (keccak256(address), out)
            })
            .collect();
        for (key, leaf) in leaves {
            self.accounts.insert(key.as_slice(), leaf);
        }
        self.accounts.root()
    }

    pub fn account(&self, address: &Address) -> Option<TrieAccount> {
        self.entries.get(address).map(|e| e.info)
    }

    /// The storage root of `address`; [`EMPTY_ROOT`] for an unknown account.
    pub fn storage_root(&mut self, address: &Address) -> B256 {
        self.entries
            .get_mut(address)
            .map_or(EMPTY_ROOT, |e| e.storage.root())
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
