//! A block's state diff: what execution wrote, in the shape both the trie and the database
//! apply. The chain database also hands one back from an unwind (the restored values), so the
//! commitment trie rebases onto the older state with the same code path.

use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256};
use commitment::{AccountUpdate, TrieAccount};
use revm::{bytecode::Bytecode, database::states::StateChangeset};

/// The header fields of an account that does not exist yet: what a storage-only write to a
/// fresh address leaves behind.
pub(crate) const EMPTY_ACCOUNT: TrieAccount = TrieAccount {
    nonce: 0,
    balance: U256::ZERO,
    code_hash: KECCAK256_EMPTY,
};

/// How a block changed an account's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoChange {
    /// Only storage changed.
    Unchanged,
    /// The account holds these fields after the block.
    Set(TrieAccount),
    /// Selfdestructed or removed as empty (EIP-161).
    Removed,
}

/// One account's writes in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountWrite {
    /// The account written.
    pub address: Address,
    /// Its header fields after the block.
    pub info: InfoChange,
    /// Storage was wiped before `storage` applies (destroyed, possibly re-created).
    pub wipe_storage: bool,
    /// (slot, value); zero deletes.
    pub storage: Vec<(U256, U256)>,
}

/// The writes one block made, as revm's bundle reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockWrites {
    /// Sorted by address.
    pub accounts: Vec<AccountWrite>,
    /// Contract code created by the block, by code hash.
    pub codes: Vec<(B256, Bytecode)>,
}

impl BlockWrites {
    /// Converts revm's plain changeset (built with `OriginalValuesKnown::Yes`), which lists
    /// each changed account at most once among the infos and once among the storages: both
    /// lists sorted together by address, then each storage entry merged into the info entry
    /// before it. No map: this runs after a block's last transaction, where nothing overlaps it.
    pub fn from_changeset(changes: StateChangeset) -> Self {
        let blank = |address| AccountWrite {
            address,
            info: InfoChange::Unchanged,
            wipe_storage: false,
            storage: Vec::new(),
        };
        let infos = changes
            .accounts
            .into_iter()
            .map(|(address, info)| AccountWrite {
                info: match info {
                    Some(i) => InfoChange::Set(TrieAccount {
                        nonce: i.nonce,
                        balance: i.balance,
                        code_hash: i.code_hash,
                    }),
                    None => InfoChange::Removed,
                },
                ..blank(address)
            });
        let storages = changes.storage.into_iter().map(|s| AccountWrite {
            wipe_storage: s.wipe_storage,
            storage: s.storage,
            ..blank(s.address)
        });
        let mut accounts: Vec<_> = infos.chain(storages).collect();
        // Stable: an account's info entry stays ahead of its storage entry.
        accounts.sort_by_key(|a| a.address);
        accounts.dedup_by(|storage, info| {
            let same = storage.address == info.address;
            if same {
                info.wipe_storage = storage.wipe_storage;
                info.storage = std::mem::take(&mut storage.storage);
            }
            same
        });
        // Canonical order, so equal write sets compare equal whatever revm's map order was.
        accounts
            .iter_mut()
            .for_each(|a| a.storage.sort_unstable_by_key(|(slot, _)| *slot));
        Self {
            accounts,
            codes: changes.contracts,
        }
    }

    /// The writes as state-trie updates; an account whose storage alone changed takes its
    /// fields from `current` (the state the writes apply to).
    pub fn updates_with(
        &self,
        current: impl Fn(&Address) -> Option<TrieAccount>,
    ) -> Vec<AccountUpdate> {
        self.accounts
            .iter()
            .map(|w| {
                let info = match w.info {
                    InfoChange::Removed => None,
                    InfoChange::Set(info) => Some(info),
                    InfoChange::Unchanged => Some(current(&w.address).unwrap_or(EMPTY_ACCOUNT)),
                };
                AccountUpdate {
                    address: w.address,
                    info,
                    wipe_storage: w.wipe_storage || info.is_none(),
                    storage: if info.is_some() {
                        w.storage.clone()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect()
    }
}
