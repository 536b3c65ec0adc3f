//! Importing a chain of blocks: the execution stage. Header and body checks, execution, the
//! header's commitments, and the state root, with side chains.
//!
//! ```text
//! import_batch ─► announce every block (BlockRequest) ─► calculator folds BALs as the gate opens
//!      │
//!      └─► per block: move the store to its parent ─► execute (cancellable) ─► BlockResult
//!                       ─► verdict ─► store.advance(block's writes)
//! ```
//!
//! The state root comes from a [`Calculator`] on its own thread (the `stage` module). The plain state
//! lives in a [`StateStore`] that holds one block's post-state; a block on a side chain is
//! reached by walking the store back by change sets and forward by the writes kept of recent
//! blocks (the `reorg` module), and the calculator's trie walks with it, so no block keeps a copy of the
//! world.
//!
//! Proof-of-work seals (ethash `mixHash` and `nonce`) are not verified: every other header rule
//! before the merge is. Import pre-merge history only from a source you trust.

mod ancestry;
mod db;
mod recorded;
mod reorg;
mod stage;
mod store;

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_consensus::Header;
use alloy_primitives::{B256, U256};
use commitment::{Calculator, CancelToken, Config, StateTrie, Verdict, pipeline::Metrics};

pub use crate::block::ExecMode;
use crate::submodule::Tier;
use crate::{
    block::{BlockError, BlockOutcome, PostStateRoots},
    chain::ChainSpec,
    world::{BlockWrites, WorldState},
};

pub use db::{DbStore, OpenError};
pub use stage::{BlockInput, block_request};
pub use store::{BlockRecord, MemoryStore, NotHeadChild, StateStore};

/// How many ancestors BLOCKHASH can see.
const BLOCKHASH_WINDOW: u64 = 256;

/// A genesis whose state does not hash to its header's state root.
#[derive(Debug, thiserror::Error)]
#[error("genesis state root {computed} differs from header {expected}")]
pub struct GenesisMismatch {
    /// The header's state root.
    pub expected: B256,
    /// The root of the state given with it.
    pub computed: B256,
}

/// What one successful import did and cost.
#[derive(Debug)]
pub struct Imported {
    /// The block's hash (as given for a sealed block, else the header's).
    pub hash: B256,
    /// The block's number.
    pub number: u64,
    /// Gas the block used, as executed (equal to the header's).
    pub gas_used: u64,
    /// The committed state root (the header's, verified).
    pub state_root: B256,
    /// Execution and its checks, on the stage thread: `exec` from `exec_started`.
    pub exec: Duration,
    /// When execution started, to place the block on a timeline beside the calculator's folds.
    pub exec_started: Instant,
    /// The calculator's verdict: fold mode, fold time (overlapping `exec` when BAL-driven),
    /// how far the fold ran ahead, and any fallback.
    pub verdict: Verdict,
    /// Receipts, writes, the recorded access list and the rest of what execution produced.
    pub outcome: BlockOutcome,
}

struct StoredBlock {
    header: Header,
    /// Hashes of the ommers the block included: what later blocks' ommer rules need of it.
    ommers: Vec<B256>,
    /// The sum of the difficulties up to this block: the merge comes after the block that
    /// reaches the terminal total difficulty.
    total_difficulty: U256,
    /// What the block wrote, kept for recent blocks so the store can be walked forward onto
    /// the block's line again after a reorg; `None` once pruned (and for genesis).
    writes: Option<Arc<BlockWrites>>,
}

/// A block tree rooted at genesis over a [`StateStore`] holding one block's post-state.
pub struct ChainStore<S: StateStore = MemoryStore> {
    chain: ChainSpec,
    blocks: HashMap<B256, StoredBlock>,
    head: B256,
    /// Blocks still holding their writes, oldest first, so pruning never scans the tree.
    held: VecDeque<(u64, B256)>,
    /// Writes (and, in the store, change sets) older than this many blocks below the newest
    /// are dropped.
    retain: u64,
    exec: ExecMode,
    tier: Tier,
    config: Config,
    /// Spawned at the first import, from `genesis_trie`.
    calculator: Option<Calculator>,
    /// The trie of the store's head until the calculator takes it.
    genesis_trie: Option<StateTrie>,
    store: S,
    /// Blocks announced and not yet imported, with their cancellation tokens.
    announced: HashMap<B256, CancelToken>,
    /// Verdicts that overtook the one awaited (a block failed from its BAL before it ran).
    early: HashMap<B256, Verdict>,
    /// Before Byzantium: the trie that folds each transaction's writes for the state roots
    /// receipts carry, at the last block that needed it.
    post_state: Option<PostStateRoots>,
    /// The parent of a recorded block, known only by its hash and the hashes BLOCKHASH
    /// reads (see [`ChainStore::recorded`]).
    recorded: Option<recorded::RecordedParent>,
    /// Whether the log has said that BAL-driven folds use recorded lists.
    said_recording: bool,
}

impl ChainStore {
    /// Starts a chain from its genesis header and state, held in memory; the state must hash
    /// to the header's root.
    pub fn new(
        chain: ChainSpec,
        genesis: Header,
        world: WorldState,
    ) -> Result<Self, GenesisMismatch> {
        let hash = genesis.hash_slow();
        let trie = world.state_trie();
        let store = MemoryStore::new(hash, world, DEFAULT_RETAIN as usize);
        Self::with_store(chain, genesis, store, trie)
    }

    /// Starts a chain from a geth `genesis.json`, held in memory. The genesis trie is built
    /// once: its root goes into the genesis header and the trie into the calculator.
    pub fn from_genesis(genesis: &alloy_genesis::Genesis) -> Self {
        let chain = ChainSpec::from_genesis_config(&genesis.config);
        let world = WorldState::from_alloc(&genesis.alloc);
        let mut trie = world.state_trie();
        let header = crate::genesis::genesis_header(&chain, genesis, trie.root());
        let store = MemoryStore::new(header.hash_slow(), world, DEFAULT_RETAIN as usize);
        Self::assemble(chain, header, store, trie)
    }
}

/// How many blocks below the newest keep what a reorg onto them needs, by default.
const DEFAULT_RETAIN: u64 = 128;

impl<S: StateStore> ChainStore<S> {
    /// Starts a chain over `store`, which holds the post-state of `head` (genesis, or the
    /// block a database was left at) and whose trie is `trie`; the trie must hash to the
    /// header's root.
    pub fn with_store(
        chain: ChainSpec,
        head: Header,
        store: S,
        mut trie: StateTrie,
    ) -> Result<Self, GenesisMismatch> {
        let computed = trie.root();
        if computed != head.state_root {
            return Err(GenesisMismatch {
                expected: head.state_root,
                computed,
            });
        }
        Ok(Self::assemble(chain, head, store, trie))
    }

    /// [`Self::with_store`] for a trie known to hash to `head`'s root.
    fn assemble(chain: ChainSpec, head: Header, store: S, trie: StateTrie) -> Self {
        let hash = head.hash_slow();
        Self::assemble_at(chain, head, hash, store, trie)
    }

    /// [`Self::assemble`] with the head's hash given (a recorded parent has no full header).
    fn assemble_at(chain: ChainSpec, head: Header, hash: B256, store: S, trie: StateTrie) -> Self {
        let mut blocks = HashMap::new();
        blocks.insert(
            hash,
            StoredBlock {
                total_difficulty: head.difficulty,
                header: head,
                ommers: Vec::new(),
                writes: None,
            },
        );
        Self {
            chain,
            blocks,
            head: hash,
            held: VecDeque::new(),
            retain: DEFAULT_RETAIN,
            exec: ExecMode::default(),
            tier: Tier::default(),
            config: Config::default(),
            calculator: None,
            genesis_trie: Some(trie),
            store,
            announced: HashMap::new(),
            early: HashMap::new(),
            post_state: None,
            recorded: None,
            said_recording: false,
        }
    }

    /// Keeps the writes and change sets of the `n` blocks below the newest (128 by default),
    /// so blocks may build on any of them (side chains, reorgs). With 0 nothing is kept in
    /// memory and only the head can be extended: the cheap setting for replaying a canonical
    /// chain. (A database keeps every block's change set on disk either way.)
    pub fn with_retained_states(mut self, n: u64) -> Self {
        self.retain = n;
        self.store.set_retain(n as usize);
        self
    }

    /// Which commitment paths the calculator runs (default: the serial path). Takes effect
    /// from the first import.
    pub fn with_commitment(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How blocks that come with an access list execute (default: sequentially).
    pub fn with_exec(mut self, exec: ExecMode) -> Self {
        self.exec = exec;
        self
    }

    /// Where contract code runs (default: revm's interpreter).
    pub fn with_tier(mut self, tier: Tier) -> Self {
        self.tier = tier;
        self
    }

    /// The calculator's counters so far.
    pub fn metrics(&self) -> Metrics {
        self.calculator
            .as_ref()
            .map(Calculator::metrics)
            .unwrap_or_default()
    }

    /// The chain's rules (with the merge block filled in once the chain reached it).
    pub fn chain(&self) -> &ChainSpec {
        &self.chain
    }

    /// The last successfully imported block.
    pub fn head(&self) -> B256 {
        self.head
    }

    /// The head as a stage checkpoint: its number, hash and state root.
    pub fn checkpoint(&self) -> storage::Checkpoint {
        let header = &self.blocks[&self.head].header;
        storage::Checkpoint {
            number: header.number,
            hash: self.head,
            state_root: header.state_root,
        }
    }

    /// The header of a block the store still holds (the recent canonical ones and side
    /// chains within reach).
    pub fn header(&self, hash: &B256) -> Option<&Header> {
        self.blocks.get(hash).map(|b| &b.header)
    }

    /// The store, at the block its state is at (normally the head).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The plain state after block `hash`: the store is walked there (back by change sets, forward by kept writes).
    pub fn state_at(&mut self, hash: B256) -> Result<WorldState, BlockError> {
        self.move_to(hash)?;
        self.store.plain_state().map_err(internal)
    }

    /// Hashes of up to 256 ancestors, walking parent links so side chains see their own past.
    fn ancestor_hashes(&self, parent_hash: B256) -> HashMap<u64, B256> {
        self.ancestors(parent_hash)
            .take(BLOCKHASH_WINDOW as usize)
            .map(|(hash, b)| (b.header.number, hash))
            .collect()
    }

    /// Drops the writes of blocks more than `retain` below `newest`, and whole blocks past
    /// what BLOCKHASH and reorgs can still reach.
    fn prune(&mut self, newest: u64) {
        let keep_from = newest.saturating_sub(self.retain);
        while let Some(&(number, hash)) = self.held.front() {
            if number >= keep_from {
                break;
            }
            self.held.pop_front();
            if let Some(b) = self.blocks.get_mut(&hash) {
                b.writes = None;
            }
        }
        let reach = newest.saturating_sub(BLOCKHASH_WINDOW + self.retain);
        if reach > 0 && newest.is_multiple_of(BLOCKHASH_WINDOW) {
            let keep = |b: &StoredBlock| b.header.number >= reach;
            self.blocks.retain(|_, b| keep(b));
        }
    }
}

/// A store failure: no verdict on the block.
fn internal(error: impl std::error::Error) -> BlockError {
    BlockError::Internal(error.to_string())
}
