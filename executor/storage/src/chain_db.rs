//! [`ChainDb`]: the chain database's API. Every change is one backend write transaction, so
//! a crash leaves the database at the last committed block, never between two.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy_consensus::Header;
use alloy_primitives::B256;
use commitment::{NodeSource, StateChanges};

use crate::{
    backend::{KvBackend, KvRead, KvWrite, RedbBackend, Table},
    cache::{CacheStats, StateCache},
    chain_rows,
    change_set::{Settled, apply_block, revert_block, settled_writes},
    error::{StorageError, corrupt},
    rows::{BlockMeta, Checkpoint, Stage},
    snapshot::StateSnapshot,
    trie_nodes::{self, StoredNodes},
    writes::BlockWrites,
};

static NOTHING: BlockWrites = BlockWrites {
    accounts: Vec::new(),
    codes: Vec::new(),
};

/// Plain state, canonical headers, change sets and stage checkpoints of one chain.
pub struct ChainDb<B: KvBackend = RedbBackend> {
    backend: Arc<B>,
    cache: Arc<StateCache>,
    /// Counts committed write transactions, so readers that keep a snapshot (the trie's node
    /// source) know when it went stale.
    commits: Arc<AtomicU64>,
}

impl ChainDb<RedbBackend> {
    /// Creates the database file or opens it (checking it whole first). `cache_bytes` bounds
    /// the memory the database caches in: half for decoded state reads, half for redb's
    /// page cache.
    pub fn open(path: impl AsRef<Path>, cache_bytes: u64) -> Result<Self, StorageError> {
        let pages = usize::try_from(cache_bytes / 2).unwrap_or(usize::MAX);
        Ok(Self::with_backend(
            RedbBackend::open(path.as_ref(), pages)?,
            cache_bytes - cache_bytes / 2,
        ))
    }
}

impl<B: KvBackend> ChainDb<B> {
    /// A database over any backend, reading state through a cache of `cache_bytes`.
    pub fn with_backend(backend: B, cache_bytes: u64) -> Self {
        Self {
            backend: Arc::new(backend),
            cache: Arc::new(StateCache::new(cache_bytes)),
            commits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts a committed write transaction (after it is visible to new snapshots).
    fn committed<T>(&self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if result.is_ok() {
            self.commits.fetch_add(1, Ordering::Release);
        }
        result
    }

    /// Makes `header` (with its `alloc`: accounts, storage and code as writes onto nothing,
    /// and `trie`, when trie nodes are kept: every node of its state trie) the chain's genesis, or, if the database
    /// already holds it, leaves everything as it is. Returns the execution checkpoint; a
    /// database of another chain is refused untouched.
    pub fn init_genesis(
        &mut self,
        header: &Header,
        alloc: &BlockWrites,
        trie: Option<&StateChanges>,
    ) -> Result<Checkpoint, StorageError> {
        if header.number != 0 {
            return Err(StorageError::NotGenesis(header.number));
        }
        let given = header.hash_slow();
        let meta = BlockMeta {
            total_difficulty: header.difficulty,
            ommer_hashes: Vec::new(),
        };
        let commit = || {
            let mut txn = self.backend.write()?;
            if let Some(stored) = chain_rows::canonical_hash(&txn, 0)? {
                if stored != given {
                    return Err(StorageError::GenesisMismatch { stored, given });
                }
                // Dropped uncommitted: nothing is written.
                return chain_rows::head(&txn);
            }
            // Stored like any block's writes; its change set (every account absent) is never
            // applied, as nothing unwinds below genesis.
            apply_block(&mut txn, 0, alloc)?;
            let head = chain_rows::put_head(&mut txn, header, given, &meta)?;
            if let Some(trie) = trie {
                trie_nodes::write_changes(&mut txn, trie, &head)?;
            }
            txn.commit()?;
            Ok(head)
        };
        // Nothing was read before a genesis, so the cache has nothing to learn.
        self.committed(self.cache.publish(commit, |_| &NOTHING))
    }

    /// The block whose state trie the stored trie nodes hold; `None` in a database written
    /// before trie nodes were stored. When it is not the execution checkpoint (an unwind
    /// ran without a trie), the nodes are stale: rebuild and [`Self::reset_trie`].
    pub fn trie_checkpoint(&self) -> Result<Option<Checkpoint>, StorageError> {
        self.checkpoint(Stage::TrieNodes)
    }

    /// The stored trie nodes as a trie's node source (see [`Self::trie_checkpoint`] for the
    /// root they hold).
    pub fn trie_source(&self) -> Arc<dyn NodeSource>
    where
        B: 'static,
    {
        Arc::new(StoredNodes::new(self.backend.clone(), self.commits.clone()))
    }

    /// Replaces every stored trie node with `trie` (every node of the head's state trie, a
    /// rebuilt trie's first export) in one write transaction, and moves the trie checkpoint
    /// to the head.
    pub fn reset_trie(&mut self, trie: &StateChanges) -> Result<Checkpoint, StorageError> {
        let commit = || {
            let mut txn = self.backend.write()?;
            let head = chain_rows::head(&txn)?;
            trie_nodes::delete_prefix(&mut txn, &[])?;
            trie_nodes::write_changes(&mut txn, trie, &head)?;
            txn.commit()?;
            Ok(head)
        };
        self.committed(commit())
    }

    /// How far `stage` got; `None` before a genesis.
    pub fn checkpoint(&self, stage: Stage) -> Result<Option<Checkpoint>, StorageError> {
        chain_rows::checkpoint(&self.backend.read()?, stage)
    }

    /// The canonical header at `number`.
    pub fn header(&self, number: u64) -> Result<Option<Header>, StorageError> {
        chain_rows::header(&self.backend.read()?, number)
    }

    /// The canonical hash at `number`; at 0, the genesis hash that names the chain.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<B256>, StorageError> {
        chain_rows::canonical_hash(&self.backend.read()?, number)
    }

    /// The number of a canonical block.
    pub fn block_number(&self, hash: B256) -> Result<Option<u64>, StorageError> {
        chain_rows::block_number(&self.backend.read()?, &hash)
    }

    /// Total difficulty and ommers of a canonical block.
    pub fn block_meta(&self, number: u64) -> Result<Option<BlockMeta>, StorageError> {
        chain_rows::block_meta(&self.backend.read()?, number)
    }

    /// Commits a verified block in one write transaction: reads the values it overwrites,
    /// applies `writes`, stores them as the block's change set, stores the header, hashes and
    /// `meta`, and moves both checkpoints to it; with `trie` (the trie nodes the block
    /// changed) writes those too and moves the trie checkpoint. A block that is not the
    /// head's child, whose `hash` is not its header's, or whose `state_root` (the root the
    /// caller verified) is not its header's, writes nothing.
    pub fn commit_block(
        &mut self,
        header: &Header,
        hash: B256,
        meta: &BlockMeta,
        writes: &BlockWrites,
        state_root: B256,
        trie: Option<&StateChanges>,
    ) -> Result<Checkpoint, StorageError> {
        let computed = header.hash_slow();
        if computed != hash {
            return Err(StorageError::HashMismatch {
                given: hash,
                computed,
            });
        }
        if state_root != header.state_root {
            return Err(StorageError::RootMismatch {
                number: header.number,
                given: state_root,
                header: header.state_root,
            });
        }
        let commit = || {
            let mut txn = self.backend.write()?;
            let head = chain_rows::head(&txn)?;
            if header.parent_hash != head.hash || Some(header.number) != head.number.checked_add(1)
            {
                return Err(StorageError::NotChild {
                    number: header.number,
                    parent: header.parent_hash,
                    head: head.number,
                    head_hash: head.hash,
                });
            }
            let settled = apply_block(&mut txn, header.number, writes)?;
            let head = chain_rows::put_head(&mut txn, header, hash, meta)?;
            if let Some(trie) = trie {
                trie_nodes::write_changes(&mut txn, trie, &head)?;
            }
            txn.commit()?;
            Ok((head, settled))
        };
        let (head, _) = self.committed(self.cache.publish(commit, |(_, settled)| settled))?;
        Ok(head)
    }

    /// Unwinds the chain to block `target` in one write transaction: applies the change sets
    /// of the blocks above it newest first, deletes those blocks, and moves the checkpoints
    /// back. Returns the reverse diff: the restored value of every account and slot the
    /// unwound blocks touched, which turns a trie of the old head into the target's.
    /// Code stays: it is stored by hash, whichever block brought it. Trie nodes stay too, and
    /// the trie checkpoint with them, until a trie moved back with the state writes its
    /// changes (the next commit) or [`Self::reset_trie`] replaces them.
    pub fn unwind_to(&mut self, target: u64) -> Result<BlockWrites, StorageError> {
        let commit = || {
            let mut txn = self.backend.write()?;
            let head = chain_rows::head(&txn)?;
            if target > head.number {
                return Err(StorageError::UnwindAhead {
                    target,
                    head: head.number,
                });
            }
            let missing = || corrupt(Table::Headers, format!("canonical block {target} missing"));
            let to = Checkpoint {
                number: target,
                hash: chain_rows::canonical_hash(&txn, target)?.ok_or_else(missing)?,
                state_root: chain_rows::header(&txn, target)?
                    .ok_or_else(missing)?
                    .state_root,
            };
            let mut restored = Settled::new();
            for number in (target + 1..=head.number).rev() {
                revert_block(&mut txn, number, &mut restored)?;
                chain_rows::delete_block(&mut txn, number)?;
            }
            for stage in [Stage::Execution, Stage::Commitment] {
                chain_rows::lower_checkpoint(&mut txn, stage, &to)?;
            }
            txn.commit()?;
            Ok(settled_writes(restored))
        };
        self.committed(self.cache.publish(commit, |reverse| reverse))
    }

    /// A snapshot of the head state for execution (revm's `DatabaseRef`), reading through the
    /// cache while it still describes this head.
    pub fn state(&self) -> Result<StateSnapshot<B>, StorageError> {
        let version = self.cache.version();
        let read = self.backend.read()?;
        // A write-through that began after `version` was read may already be committed.
        let version = version.filter(|&v| self.cache.version() == Some(v));
        let head = chain_rows::head(&read)?;
        Ok(StateSnapshot::new(read, self.cache.clone(), version, head))
    }

    /// A named fact about the chain stored beside it ([`Self::set_chain_info`]).
    pub fn chain_info(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .backend
            .read()?
            .get(Table::ChainInfo, name.as_bytes())?)
    }

    /// Stores a named fact about the chain (its fork rules, a digest of the genesis file it
    /// was created from) in its own write transaction.
    pub fn set_chain_info(&self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        let mut txn = self.backend.write()?;
        txn.put(Table::ChainInfo, name.as_bytes(), value)?;
        self.committed(txn.commit().map_err(StorageError::from))
    }

    /// A raw snapshot of the backend, for the checks.
    pub(crate) fn backend_read(&self) -> Result<B::Read, StorageError> {
        Ok(self.backend.read()?)
    }

    /// The read cache's counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}
