//! What the commitment tests compare against, written once: a plain model of the state with
//! alloy-trie's root of it, and a map of stored trie nodes standing in for the database.
#![allow(dead_code)] // each test binary uses its own part

use std::{collections::BTreeMap, sync::RwLock};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::root::{state_root_unhashed, storage_root_unhashed};
use commitment::{
    AccountUpdate, NodeSource, Owner, SourceError, StateChanges, TrieAccount, TrieChanges,
};

/// The state as plain maps: accounts with their non-zero slots.
pub type StateModel = BTreeMap<Address, (TrieAccount, BTreeMap<U256, U256>)>;

/// Applies a block's account updates to the model, as the state trie should.
pub fn apply_model(model: &mut StateModel, updates: &[AccountUpdate]) {
    for u in updates {
        let Some(info) = u.info else {
            model.remove(&u.address);
            continue;
        };
        let (account, storage) = model.entry(u.address).or_default();
        *account = info;
        if u.wipe_storage {
            storage.clear();
        }
        for (slot, value) in &u.storage {
            if value.is_zero() {
                storage.remove(slot);
            } else {
                storage.insert(*slot, *value);
            }
        }
    }
}

/// alloy-trie's state root of the model.
pub fn alloy_state_root(model: &StateModel) -> B256 {
    state_root_unhashed(model.iter().map(|(a, (info, storage))| {
        let slots = storage.iter().map(|(k, v)| (B256::from(*k), *v));
        let account = alloy_trie::TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root: storage_root_unhashed(slots),
            code_hash: info.code_hash,
        };
        (*a, account)
    }))
}

/// Stored nodes by (owner, path): what the database would hold.
#[derive(Default)]
pub struct MapSource(RwLock<BTreeMap<(Owner, Vec<u8>), Bytes>>);

impl NodeSource for MapSource {
    fn node(&self, owner: Owner, path: &[u8]) -> Result<Option<Bytes>, SourceError> {
        Ok(self.0.read().unwrap().get(&(owner, path.to_vec())).cloned())
    }
}

impl MapSource {
    /// One trie's exported changes, as the database applies them.
    pub fn persist(&self, owner: Owner, changes: TrieChanges) {
        self.apply(owner, false, changes);
    }

    /// A state's exported changes (both levels), in one transaction.
    pub fn persist_state(&self, changes: StateChanges) {
        self.apply(Owner::Account, false, changes.accounts);
        for (hashed, storage) in changes.storage {
            self.apply(Owner::Storage(hashed), storage.wiped, storage.changes);
        }
    }

    fn apply(&self, owner: Owner, wiped: bool, changes: TrieChanges) {
        let mut map = self.0.write().unwrap();
        if wiped {
            map.retain(|(o, _), _| *o != owner);
        }
        for path in changes.removed {
            map.remove(&(owner, path));
        }
        for (path, rlp) in changes.written {
            map.insert((owner, path), rlp);
        }
    }

    /// Stores `rlp` at `path`, whatever it is (a damaged database).
    pub fn put(&self, owner: Owner, path: Vec<u8>, rlp: Bytes) {
        self.0.write().unwrap().insert((owner, path), rlp);
    }

    /// Removes the node at `path` (a database that lost it), returning it.
    pub fn take(&self, owner: Owner, path: &[u8]) -> Option<Bytes> {
        self.0.write().unwrap().remove(&(owner, path.to_vec()))
    }

    /// The nodes stored for one trie.
    pub fn nodes(&self, owner: Owner) -> BTreeMap<Vec<u8>, Bytes> {
        let map = self.0.read().unwrap();
        map.iter()
            .filter(|((o, _), _)| *o == owner)
            .map(|((_, path), rlp)| (path.clone(), rlp.clone()))
            .collect()
    }

    /// Every stored node.
    pub fn snapshot(&self) -> BTreeMap<(Owner, Vec<u8>), Bytes> {
        self.0.read().unwrap().clone()
    }
}
