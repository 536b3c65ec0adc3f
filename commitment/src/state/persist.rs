//! The state trie over stored nodes: opened from a state root, accounts read from the account
//! trie's leaves and storage tries opened from the storage root in the leaf on first touch;
//! the changes of both levels exported together after each block.
//!
//! Errors follow the tries' (see `trie/reveal.rs`): a write whose account cannot be read is
//! not applied and the failure is returned by [`StateTrie::try_root`].

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use alloy_primitives::{Address, B256, U256, keccak256};

use super::{AccountLeaf, Entry, StateTrie, Tracking, TrieAccount};
use crate::trie::{NodeSource, Owner, Trie, TrieChanges, TrieError};

/// One storage trie's changes since the last export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageChanges {
    /// Every stored node of this trie goes first (the account was deleted or its storage
    /// wiped); `changes` then writes what the new trie holds.
    pub wiped: bool,
    /// Nodes to write and to remove, by nibble path from this storage trie's root.
    pub changes: TrieChanges,
}

/// The stored nodes a state trie changed since the last export: the account trie's and each
/// changed storage trie's (by keccak(address)), for one write transaction with the block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// The account trie's nodes to write and to remove.
    pub accounts: TrieChanges,
    /// Each changed storage trie's, keyed by keccak(address) (the trie's [`Owner::Storage`]).
    pub storage: BTreeMap<B256, StorageChanges>,
}

impl StateTrie {
    /// The state whose root is `root`, its nodes read from `source` as they are reached.
    /// Changes are tracked from the start.
    pub fn open(root: B256, source: Arc<dyn NodeSource>) -> Self {
        Self {
            accounts: Trie::open(root, source.clone(), Owner::Account),
            entries: HashMap::new(),
            dirty: HashSet::new(),
            tracking: Some(Box::new(Tracking {
                source: Some(source),
                ..Tracking::default()
            })),
        }
    }

    /// Whether the trie was opened over a node source: it then exports its changes, may
    /// collapse what the source holds, and reports nodes it could not read.
    pub fn is_backed(&self) -> bool {
        self.tracking.as_ref().is_some_and(|t| t.source.is_some())
    }

    /// Tracks changes from now on; the first [`Self::take_changes`] exports every node (how
    /// an in-memory state, a genesis, is first persisted).
    pub fn track_changes(&mut self) {
        self.accounts.track_changes();
        let tracking = self.tracking.get_or_insert_default();
        for (address, entry) in &mut self.entries {
            entry.storage.track_changes();
            tracking.touched.insert(*address);
        }
    }

    /// Brings `address`'s account and storage trie into memory from the source, if it is
    /// stored and not yet in memory; false if it could not be read (the failure is kept for
    /// [`Self::try_root`], and the caller skips the write).
    pub(super) fn load(&mut self, address: Address) -> bool {
        match self.read_entry(address) {
            Ok(_) => true,
            Err(error) => {
                if let Some(tracking) = &mut self.tracking {
                    tracking.error.get_or_insert(error);
                }
                false
            }
        }
    }

    fn stored_entry(
        &mut self,
        address: Address,
        source: Arc<dyn NodeSource>,
    ) -> Result<Option<Entry>, TrieError> {
        let hashed = keccak256(address);
        let Some(mut rlp) = self.accounts.read(hashed.as_slice())? else {
            return Ok(None);
        };
        let leaf: AccountLeaf =
            alloy_rlp::Decodable::decode(&mut rlp).map_err(|_| TrieError::Decode {
                owner: Owner::Account,
                path: hashed.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect(),
                reason: "account leaf is not RLP(nonce, balance, storage root, code hash)",
            })?;
        Ok(Some(Entry {
            info: TrieAccount {
                nonce: leaf.nonce,
                balance: leaf.balance,
                code_hash: leaf.code_hash,
            },
            storage: Trie::open(leaf.storage_root, source, Owner::Storage(hashed)),
        }))
    }

    /// The account at `address`, read from the source if it is not in memory.
    pub fn read_account(&mut self, address: &Address) -> Result<Option<TrieAccount>, TrieError> {
        self.read_entry(*address)
            .map(|entry| entry.map(|entry| entry.info))
    }

    /// The value of `slot` in `address`'s storage (zero when unset), read from the source if
    /// it is not in memory.
    pub fn read_storage(&mut self, address: &Address, slot: U256) -> Result<U256, TrieError> {
        let Some(entry) = self.read_entry(*address)? else {
            return Ok(U256::ZERO);
        };
        let key = keccak256(slot.to_be_bytes::<32>());
        Ok(entry
            .storage
            .read(key.as_slice())?
            .and_then(|mut rlp| alloy_rlp::Decodable::decode(&mut rlp).ok())
            .unwrap_or_default())
    }

    fn read_entry(&mut self, address: Address) -> Result<Option<&mut Entry>, TrieError> {
        if let Some(Tracking {
            source: Some(source),
            ..
        }) = self.tracking.as_deref()
            && !self.entries.contains_key(&address)
        {
            let source = source.clone();
            if let Some(entry) = self.stored_entry(address, source)? {
                self.entries.insert(address, entry);
            }
        }
        Ok(self.entries.get_mut(&address))
    }

    /// The state root, or the first account or node a write needed and could not read.
    pub fn try_root(&mut self) -> Result<B256, TrieError> {
        let root = self.root();
        if let Some(error) = self.tracking.as_ref().and_then(|t| t.error.clone()) {
            return Err(error);
        }
        for entry in self.entries.values() {
            entry.storage.try_root()?;
        }
        self.accounts.try_root()?;
        Ok(root)
    }

    /// The stored nodes of both levels changed since the last call (or since tracking
    /// began), after folding the root. Empty when changes are not tracked.
    /// Over a source, take them once [`Self::try_root`] has succeeded.
    pub fn take_changes(&mut self) -> StateChanges {
        self.root();
        let Some(tracking) = &mut self.tracking else {
            return StateChanges::default();
        };
        let mut storage: BTreeMap<B256, StorageChanges> = std::mem::take(&mut tracking.wiped)
            .into_iter()
            .map(|hashed| {
                (
                    hashed,
                    StorageChanges {
                        wiped: true,
                        changes: TrieChanges::default(),
                    },
                )
            })
            .collect();
        tracking.recent = std::mem::take(&mut tracking.touched);
        for address in &tracking.recent {
            let Some(entry) = self.entries.get_mut(address) else {
                continue;
            };
            let changes = entry.storage.take_changes();
            if !changes.is_empty() {
                storage.entry(keccak256(address)).or_default().changes = changes;
            }
        }
        StateChanges {
            accounts: self.accounts.take_changes(),
            storage,
        }
    }

    /// Over a source: drops the accounts in memory that neither the last export (if their
    /// entries fit half the budget) nor anything since wrote (they are read again from their
    /// leaves when next touched), collapses the storage tries of the rest within half of
    /// `budget`, then the account trie to what is left. Returns the bytes the nodes in memory
    /// still take.
    pub fn retain(&mut self, budget: usize) -> usize {
        if let Some(Tracking {
            source: Some(_),
            touched,
            recent,
            ..
        }) = self.tracking.as_deref()
        {
            // The last export's accounts stay only if their entries fit the storage half.
            let keep_recent = recent.len() * size_of::<Entry>() <= budget / 2;
            self.entries.retain(|address, _| {
                touched.contains(address)
                    || (keep_recent && recent.contains(address))
                    || self.dirty.contains(address)
            });
        }
        // Smallest first (by allocation, known without a walk), each to an even share of what
        // is left: the small tries keep what they have and the hot contract's large one gets
        // the rest.
        let mut tries: Vec<(usize, &mut Trie)> = self
            .entries
            .values_mut()
            .map(|entry| (entry.storage.heap_bytes(), &mut entry.storage))
            .collect();
        tries.sort_unstable_by_key(|(allocated, _)| *allocated);
        let count = tries.len();
        let mut left = budget / 2;
        let mut storage = 0;
        for (index, (_, trie)) in tries.iter_mut().enumerate() {
            let share = left / (count - index);
            let kept = trie.retain(share);
            left = left.saturating_sub(kept);
            storage += kept;
        }
        storage + self.accounts.retain(budget.saturating_sub(storage))
    }
}
