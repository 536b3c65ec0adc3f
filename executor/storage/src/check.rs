//! `db check`: is the database what its checkpoints say? Each checkpoint must name a stored
//! canonical block with the same hash and root, the plain state must hash to that root, and
//! current trie nodes must have a root node of that hash.

use alloy_primitives::B256;
use commitment::{AccountUpdate, EMPTY_ROOT, StateTrie};

use crate::{
    ChainDb,
    backend::KvBackend,
    chain_rows,
    error::StorageError,
    rows::{Checkpoint, Stage},
    snapshot::StateSnapshot,
    trie_nodes,
};

/// What a passing check saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The execution checkpoint, whose root the plain state hashes to.
    pub head: Checkpoint,
    /// Accounts in the plain state.
    pub accounts: u64,
    /// Non-zero storage slots in the plain state.
    pub slots: u64,
    /// The block whose trie the stored trie nodes hold, when they are current (their root
    /// node hashes to its root); `None` when they are stale (an unwind ran without a trie,
    /// the next open rebuilds them) or were never written.
    pub trie_nodes: Option<Checkpoint>,
}

impl<B: KvBackend> ChainDb<B> {
    /// Recomputes the state root from plain state (a full trie build, so memory grows with the
    /// state) and checks it and every stage checkpoint against the stored chain.
    pub fn check(&self) -> Result<CheckReport, StorageError> {
        let snapshot = self.state()?;
        let read = snapshot.reader();
        for stage in [Stage::Execution, Stage::Commitment] {
            let checkpoint = chain_rows::checkpoint(read, stage)?.ok_or(StorageError::NoGenesis)?;
            let ahead = |reason| StorageError::CheckpointAhead {
                stage,
                number: checkpoint.number,
                reason,
            };
            let header =
                chain_rows::header(read, checkpoint.number)?.ok_or_else(|| ahead("no header"))?;
            if chain_rows::canonical_hash(read, checkpoint.number)? != Some(checkpoint.hash)
                || header.hash_slow() != checkpoint.hash
            {
                return Err(ahead("the stored block has another hash"));
            }
            if header.state_root != checkpoint.state_root {
                return Err(ahead("the stored header has another state root"));
            }
        }
        let head = snapshot.head();
        let (updates, accounts, slots) = plain_updates(&snapshot)?;
        let computed = StateTrie::from_accounts(&updates).root();
        if computed != head.state_root {
            return Err(StorageError::StateRootMismatch {
                number: head.number,
                computed,
                stored: head.state_root,
            });
        }
        let trie_nodes = match chain_rows::checkpoint(read, Stage::TrieNodes)? {
            Some(at) if at == head => {
                let stored = trie_nodes::stored_root(read)?.unwrap_or(EMPTY_ROOT);
                if stored != head.state_root {
                    return Err(StorageError::StoredTrieMismatch {
                        number: head.number,
                        stored,
                        expected: head.state_root,
                    });
                }
                Some(at)
            }
            _ => None,
        };
        Ok(CheckReport {
            head,
            accounts,
            slots,
            trie_nodes,
        })
    }

    /// Rebuilds the stored trie nodes from the plain state (a full trie build, so memory
    /// grows with the state) and writes them in one transaction; the state must hash to the
    /// head's root. How a database whose nodes are stale (after [`Self::unwind_to`]) or
    /// absent (written before nodes were stored) gets them back.
    pub fn rebuild_trie(&mut self) -> Result<Checkpoint, StorageError> {
        let snapshot = self.state()?;
        let head = snapshot.head();
        let (updates, ..) = plain_updates(&snapshot)?;
        drop(snapshot);
        let mut trie = StateTrie::from_accounts(&updates);
        drop(updates);
        let computed = trie.root();
        if computed != head.state_root {
            return Err(StorageError::StateRootMismatch {
                number: head.number,
                computed,
                stored: head.state_root,
            });
        }
        trie.track_changes();
        let nodes = trie.take_changes();
        drop(trie);
        self.reset_trie(&nodes)
    }

    /// The stored root node's hash, if a root node is stored (an empty trie stores none).
    pub fn stored_trie_root(&self) -> Result<Option<B256>, StorageError> {
        trie_nodes::stored_root(&self.backend_read()?)
    }
}

/// Every account of the plain state as a full trie update, with the accounts and slots
/// counted.
fn plain_updates<B: KvBackend>(
    snapshot: &StateSnapshot<B>,
) -> Result<(Vec<AccountUpdate>, u64, u64), StorageError> {
    let (mut accounts, mut slots) = (0, 0);
    let updates = snapshot
        .accounts()?
        .map(|account| {
            let account = account?;
            accounts += 1;
            slots += account.storage.len() as u64;
            Ok(AccountUpdate {
                address: account.address,
                info: Some(account.info),
                wipe_storage: false,
                storage: account.storage,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok((updates, accounts, slots))
}
