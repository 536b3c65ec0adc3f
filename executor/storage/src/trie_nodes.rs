//! Stored trie nodes: the commitment trie's nodes by (trie, nibble path), written in the
//! transaction of the block that changed them, so a node resumes from the stored root instead
//! of rebuilding the trie from plain state, and a block reads only the nodes it reaches.
//!
//! Key: `0x00 ++ path` in the account trie, `0x01 ++ keccak(address) ++ path` in a storage
//! trie (a path is one nibble per byte), so a storage trie is one contiguous range and wiping
//! it is a range delete. The [`Stage::TrieNodes`] checkpoint names the block whose trie the
//! rows hold. It lags the execution checkpoint after an unwind (the rows still hold the
//! unwound head's trie, and only a trie that walked back with the state can update them):
//! such rows are not read until [`crate::ChainDb::reset_trie`] replaces them.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use alloy_primitives::{B256, Bytes};
use commitment::{NodeSource, Owner, SourceError, StateChanges, TrieChanges};

use crate::{
    backend::{KvBackend, KvRead, KvWrite, Table},
    error::StorageError,
    rows::{Checkpoint, Stage},
};

const ACCOUNT_TRIE: u8 = 0;
const STORAGE_TRIE: u8 = 1;

fn owner_prefix(owner: Owner) -> Vec<u8> {
    match owner {
        Owner::Account => vec![ACCOUNT_TRIE],
        Owner::Storage(hashed) => [&[STORAGE_TRIE], hashed.as_slice()].concat(),
    }
}

fn node_key(owner: Owner, path: &[u8]) -> Vec<u8> {
    let mut key = owner_prefix(owner);
    key.extend_from_slice(path);
    key
}

/// Writes one block's (or a whole trie's) node changes and moves the trie checkpoint to `at`.
pub(crate) fn write_changes(
    txn: &mut impl KvWrite,
    changes: &StateChanges,
    at: &Checkpoint,
) -> Result<(), StorageError> {
    write_trie(txn, Owner::Account, &changes.accounts)?;
    for (hashed, storage) in &changes.storage {
        let owner = Owner::Storage(*hashed);
        if storage.wiped {
            delete_prefix(txn, &owner_prefix(owner))?;
        }
        write_trie(txn, owner, &storage.changes)?;
    }
    crate::chain_rows::put_checkpoint(txn, Stage::TrieNodes, at)
}

fn write_trie(
    txn: &mut impl KvWrite,
    owner: Owner,
    changes: &TrieChanges,
) -> Result<(), StorageError> {
    let removed = changes
        .removed
        .iter()
        .map(|path| (node_key(owner, path), None));
    let written = changes
        .written
        .iter()
        .map(|(path, rlp)| (node_key(owner, path), Some(rlp.as_ref())));
    txn.write_rows(Table::TrieNodes, &mut removed.chain(written))?;
    Ok(())
}

/// Deletes every row whose key starts with `prefix` (all of them for an empty prefix).
pub(crate) fn delete_prefix(txn: &mut impl KvWrite, prefix: &[u8]) -> Result<(), StorageError> {
    let keys = txn
        .prefix(Table::TrieNodes, prefix)?
        .map(|row| row.map(|(key, _)| (key, None)))
        .collect::<Result<Vec<_>, _>>()?;
    txn.write_rows(Table::TrieNodes, &mut keys.into_iter())?;
    Ok(())
}

/// The stored nodes as a [`NodeSource`] for a trie opened at the trie checkpoint's root.
///
/// Reads go through one snapshot, opened again after each commit (the commit counter moved),
/// so a trie sees the nodes of the block the stage has just committed and never a half
/// written block.
pub(crate) struct StoredNodes<B: KvBackend> {
    backend: Arc<B>,
    commits: Arc<AtomicU64>,
    snapshot: Mutex<Option<(u64, B::Read)>>,
}

impl<B: KvBackend> StoredNodes<B> {
    pub(crate) fn new(backend: Arc<B>, commits: Arc<AtomicU64>) -> Self {
        Self {
            backend,
            commits,
            snapshot: Mutex::new(None),
        }
    }

    fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let commits = self.commits.load(Ordering::Acquire);
        // A poisoned lock only means another reader panicked; the snapshot is reopened.
        let mut snapshot = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let read = match snapshot.take() {
            Some((seen, read)) if seen == commits => read,
            _ => self.backend.read()?,
        };
        let value = read.get(Table::TrieNodes, key)?;
        *snapshot = Some((commits, read));
        Ok(value)
    }
}

impl<B: KvBackend> NodeSource for StoredNodes<B> {
    fn node(&self, owner: Owner, path: &[u8]) -> Result<Option<Bytes>, SourceError> {
        self.read(&node_key(owner, path))
            .map(|value| value.map(Bytes::from))
            .map_err(SourceError::new)
    }
}

/// The stored root node's hash: what [`crate::ChainDb::check`] compares with the trie
/// checkpoint's root.
pub(crate) fn stored_root(read: &impl KvRead) -> Result<Option<B256>, StorageError> {
    Ok(read
        .get(Table::TrieNodes, &node_key(Owner::Account, &[]))?
        .map(alloy_primitives::keccak256))
}
