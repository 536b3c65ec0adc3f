//! The chain's state in the database ([`storage::ChainDb`] on redb): the same walk as in
//! memory, each step one write transaction (a block's writes, its change set, its header and
//! the checkpoints together), so a process killed at any point resumes at the last committed
//! block with exactly its state.
//!
//! The calculator's trie is opened over the stored trie nodes and writes the nodes each block
//! changed in that block's transaction; once the block is durable it collapses to its share
//! of the cache, so neither the plain state nor the trie has to fit in memory.

use std::{collections::HashMap, path::Path};

use alloy_consensus::Header;
use alloy_genesis::Genesis;
use alloy_primitives::{B256, KECCAK256_EMPTY};
use commitment::{AccountUpdate, EMPTY_ROOT, StateTrie};
use storage::{BlockMeta, ChainDb, Checkpoint, RedbBackend, StateSnapshot, StorageError};

use super::{BlockRecord, ChainStore, GenesisMismatch, StateStore, StoredBlock};
use crate::{
    chain::ChainSpec,
    genesis::genesis_header,
    world::{AccountWrite, BlockWrites, InfoChange, WorldAccount, WorldState},
};

/// A database that cannot carry the chain on.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The database failed or refused (a damaged file, another chain's genesis).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The plain state, or the stored trie, does not hash to the root its checkpoint
    /// recorded.
    #[error("state at block {number} hashes to {computed}, its checkpoint says {stored}")]
    RootMismatch {
        /// The checkpoint's block.
        number: u64,
        /// The root its checkpoint and header record.
        stored: B256,
        /// The root the plain state or the stored trie hashes to.
        computed: B256,
    },
    /// The checkpoint is ahead of the stored chain (its header or metadata is missing).
    #[error("the checkpoint names block {0}, which the database does not hold")]
    MissingBlock(u64),
    /// The genesis offered does not hash to its own header's root.
    #[error(transparent)]
    Genesis(#[from] GenesisMismatch),
    /// The database records no fork rules (created by [`ChainStore::open_with`], or before
    /// they were recorded): open it with its genesis instead.
    #[error("the database records no chain config: open it with its genesis")]
    NoChainConfig,
    /// The recorded fork rules do not (de)serialize.
    #[error("chain config: {0}")]
    ChainConfig(serde_json::Error),
}

/// A [`StateStore`] over the chain database, with a read snapshot of its head.
pub struct DbStore {
    db: ChainDb,
    snapshot: StateSnapshot<RedbBackend>,
    /// What the calculator's trie may keep resident between blocks.
    trie_budget: usize,
}

impl DbStore {
    /// The store at the database's head, whose trie keeps at most `trie_budget` bytes
    /// resident between blocks.
    pub fn new(db: ChainDb, trie_budget: usize) -> Result<Self, StorageError> {
        let snapshot = db.state()?;
        Ok(Self {
            db,
            snapshot,
            trie_budget,
        })
    }

    /// The block the database holds the state of.
    pub fn checkpoint(&self) -> Checkpoint {
        self.snapshot.head()
    }

    /// The database.
    pub fn db(&self) -> &ChainDb {
        &self.db
    }
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbStore")
            .field("head", &self.snapshot.head())
            .finish_non_exhaustive()
    }
}

impl StateStore for DbStore {
    type Error = StorageError;
    type Reader<'a> = &'a StateSnapshot<RedbBackend>;

    fn head(&self) -> B256 {
        self.snapshot.head().hash
    }

    fn reader(&self) -> &StateSnapshot<RedbBackend> {
        &self.snapshot
    }

    fn updates_for(&self, writes: &BlockWrites) -> Result<Vec<AccountUpdate>, StorageError> {
        let mut current = HashMap::new();
        for w in &writes.accounts {
            if w.info == InfoChange::Unchanged {
                current.insert(w.address, self.snapshot.account(w.address)?);
            }
        }
        Ok(writes.updates_with(|address| current.get(address).copied().flatten()))
    }

    fn advance(
        &mut self,
        block: BlockRecord<'_>,
        writes: &BlockWrites,
    ) -> Result<(), StorageError> {
        let meta = BlockMeta {
            total_difficulty: block.total_difficulty,
            ommer_hashes: block.ommers.to_vec(),
        };
        let header = block.header;
        self.db.commit_block(
            header,
            block.hash,
            &meta,
            writes,
            header.state_root,
            block.trie,
        )?;
        self.snapshot = self.db.state()?;
        Ok(())
    }

    fn unwind(&mut self) -> Result<Option<BlockWrites>, StorageError> {
        let head = self.snapshot.head();
        if head.number == 0 {
            return Ok(None);
        }
        let restored = self.db.unwind_to(head.number - 1)?;
        self.snapshot = self.db.state()?;
        Ok(Some(restored))
    }

    fn plain_state(&self) -> Result<WorldState, StorageError> {
        let mut world = WorldState::default();
        for account in self.snapshot.accounts()? {
            let account = account?;
            if account.info.code_hash != KECCAK256_EMPTY {
                world.insert_code(self.snapshot.code(account.info.code_hash)?);
            }
            let info = account.info;
            let world_account = WorldAccount {
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
                storage: account.storage.into_iter().collect(),
            };
            world.insert_account(account.address, world_account);
        }
        Ok(world)
    }

    /// Opened over the stored nodes when they hold the head's trie; built from the plain
    /// state (and then not stored) when they lag it (a reorg walked the state back and no
    /// block has committed since).
    fn trie(&self) -> Result<StateTrie, StorageError> {
        let head = self.snapshot.head();
        if self.db.trie_checkpoint()? == Some(head) {
            return Ok(StateTrie::open(head.state_root, self.db.trie_source()));
        }
        Ok(self.plain_state()?.state_trie())
    }

    fn trie_budget(&self) -> Option<usize> {
        Some(self.trie_budget)
    }
}

/// Ancestors loaded on resume: BLOCKHASH's window.
const RESUMED_ANCESTORS: u64 = 256;

/// The chain info row holding the chain's fork rules (geth's `config`, as JSON).
const CHAIN_CONFIG: &str = "chain_config";

/// `cache_bytes` split between the database's caches and the resident trie (a quarter).
fn split_cache(cache_bytes: u64) -> (u64, usize) {
    let trie = cache_bytes / 4;
    (
        cache_bytes - trie,
        usize::try_from(trie).unwrap_or(usize::MAX),
    )
}

impl ChainStore<DbStore> {
    /// Opens the chain database at `path` for the chain of `genesis` (created with its genesis
    /// if new; refused if it holds another chain) and resumes at its checkpoint. Blocks are
    /// then committed one write transaction each, trie nodes included.
    ///
    /// `cache_bytes` bounds what the store keeps in memory between blocks: a quarter for the
    /// resident trie, the rest for the database's caches (see [`ChainDb::open`]). The trie
    /// resumes from the stored root, reading nodes as blocks reach them; stored nodes that
    /// lag the state (after `ChainDb::unwind_to`) are rebuilt from the plain state first.
    /// The genesis alloc is hashed to name the chain even when the database exists; a node
    /// that trusts its database restarts with [`Self::resume`] instead.
    pub fn open(genesis: &Genesis, path: &Path, cache_bytes: u64) -> Result<Self, OpenError> {
        let chain = ChainSpec::from_genesis_config(&genesis.config);
        let world = WorldState::from_alloc(&genesis.alloc);
        let mut trie = world.state_trie();
        let header = genesis_header(&chain, genesis, trie.root());
        let db = Self::create(header, world, trie, path, cache_bytes)?;
        if db.chain_info(CHAIN_CONFIG)?.is_none() {
            let config = serde_json::to_vec(&genesis.config).map_err(OpenError::ChainConfig)?;
            db.set_chain_info(CHAIN_CONFIG, &config)?;
        }
        Self::resume_db(chain, db, split_cache(cache_bytes).1)
    }

    /// [`Self::open`] for a chain given by its rules, genesis header and genesis state (a test
    /// fixture's); the state must hash to the header's root. Such a database records no
    /// fork rules, so it reopens only through this call.
    pub fn open_with(
        chain: ChainSpec,
        genesis: Header,
        world: WorldState,
        path: &Path,
        cache_bytes: u64,
    ) -> Result<Self, OpenError> {
        let mut trie = world.state_trie();
        let computed = trie.root();
        if computed != genesis.state_root {
            let expected = genesis.state_root;
            return Err(GenesisMismatch { expected, computed }.into());
        }
        let db = Self::create(genesis, world, trie, path, cache_bytes)?;
        Self::resume_db(chain, db, split_cache(cache_bytes).1)
    }

    /// Reopens a database [`Self::open`] created, from what it stores alone (its fork rules,
    /// genesis and head): nothing of the genesis is read or hashed again, so a restart costs
    /// what the cache holds, not what the state holds.
    pub fn resume(path: &Path, cache_bytes: u64) -> Result<Self, OpenError> {
        if !path.is_file() {
            return Err(StorageError::NoGenesis.into());
        }
        let db = ChainDb::open(path, split_cache(cache_bytes).0)?;
        let config = db
            .chain_info(CHAIN_CONFIG)?
            .ok_or(OpenError::NoChainConfig)?;
        let config: alloy_genesis::ChainConfig =
            serde_json::from_slice(&config).map_err(OpenError::ChainConfig)?;
        let chain = ChainSpec::from_genesis_config(&config);
        Self::resume_db(chain, db, split_cache(cache_bytes).1)
    }

    /// Opens the database and makes `header` its genesis (with every node of `trie`) if it
    /// has none; refuses one of another chain.
    fn create(
        header: Header,
        world: WorldState,
        mut trie: StateTrie,
        path: &Path,
        cache_bytes: u64,
    ) -> Result<ChainDb, OpenError> {
        let mut db = ChainDb::open(path, split_cache(cache_bytes).0)?;
        // A new database stores the genesis trie whole; an existing one keeps its own.
        let nodes = db.canonical_hash(0)?.is_none().then(|| {
            trie.track_changes();
            trie.take_changes()
        });
        db.init_genesis(&header, &alloc_writes(&world), nodes.as_ref())?;
        Ok(db)
    }

    /// The chain at the database's head: the trie opened at the stored root (rebuilt first
    /// if its nodes lag), and the ancestors BLOCKHASH and the chain rules read.
    fn resume_db(chain: ChainSpec, mut db: ChainDb, trie_budget: usize) -> Result<Self, OpenError> {
        let head = db
            .checkpoint(storage::Stage::Execution)?
            .ok_or(StorageError::NoGenesis)?;
        if db.trie_checkpoint()? != Some(head) {
            db.rebuild_trie().map_err(|error| match error {
                StorageError::StateRootMismatch {
                    number,
                    computed,
                    stored,
                } => OpenError::RootMismatch {
                    number,
                    stored,
                    computed,
                },
                other => other.into(),
            })?;
        }
        let stored = db.stored_trie_root()?.unwrap_or(EMPTY_ROOT);
        if stored != head.state_root {
            return Err(OpenError::RootMismatch {
                number: head.number,
                stored: head.state_root,
                computed: stored,
            });
        }
        let trie = StateTrie::open(head.state_root, db.trie_source());
        let head_header = db
            .header(head.number)?
            .ok_or(OpenError::MissingBlock(head.number))?;
        let ancestors = ancestors(&db, head.number)?;
        let store = DbStore::new(db, trie_budget)?;
        let mut this = Self::assemble(chain, head_header, store, trie);
        for (hash, block) in ancestors {
            this.blocks.insert(hash, block);
        }
        Ok(this)
    }
}

/// The canonical blocks from `head` down RESUMED_ANCESTORS, as the chain rules read them.
fn ancestors(db: &ChainDb, head: u64) -> Result<Vec<(B256, StoredBlock)>, OpenError> {
    (head.saturating_sub(RESUMED_ANCESTORS)..=head)
        .map(|number| {
            let missing = || OpenError::MissingBlock(number);
            let header: Header = db.header(number)?.ok_or_else(missing)?;
            let hash = db.canonical_hash(number)?.ok_or_else(missing)?;
            let meta = db.block_meta(number)?.ok_or_else(missing)?;
            let block = StoredBlock {
                header,
                ommers: meta.ommer_hashes,
                total_difficulty: meta.total_difficulty,
                writes: None,
            };
            Ok((hash, block))
        })
        .collect()
}

/// A genesis alloc as writes onto nothing.
fn alloc_writes(world: &WorldState) -> BlockWrites {
    let mut accounts: Vec<AccountWrite> = world
        .accounts()
        .map(|(address, account)| {
            let mut storage: Vec<_> = account.storage.iter().map(|(k, v)| (*k, *v)).collect();
            storage.sort_unstable_by_key(|(slot, _)| *slot);
            AccountWrite {
                address: *address,
                info: InfoChange::Set(account.trie_account()),
                wipe_storage: false,
                storage,
            }
        })
        .collect();
    accounts.sort_by_key(|a| a.address);
    let codes = world
        .accounts()
        .filter_map(|(_, a)| {
            world
                .code(&a.code_hash)
                .map(|code| (a.code_hash, code.clone()))
        })
        .collect();
    BlockWrites { accounts, codes }
}
