//! Importing a chain of blocks: the execution stage. Header and body checks, execution, the
//! header's commitments, and the state root, with side chains.
//!
//! ```text
//! import_batch ─► announce every block (BlockRequest) ─► calculator folds BALs as the gate opens
//!      │
//!      └─► per block: execute (cancellable) ─► BlockResult ─► verdict ─► commit the world state
//! ```
//!
//! The state root comes from a [`Calculator`] on its own thread ([`stage`]). Every imported
//! block keeps the world state it produced (for a bounded window), so a block may extend any
//! recent block, not only the head; the calculator is rebased onto the parent's state when a
//! block does not extend the last committed one.

mod ancestry;
mod stage;

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
    block::{BlockOutcome, PostStateRoots},
    chain::ChainSpec,
    world::WorldState,
};

pub use stage::{BlockInput, block_request};

/// How many ancestors BLOCKHASH can see.
const BLOCKHASH_WINDOW: u64 = 256;

/// A genesis whose state does not hash to its header's state root.
#[derive(Debug, thiserror::Error)]
#[error("genesis state root {computed} differs from header {expected}")]
pub struct GenesisMismatch {
    pub expected: B256,
    pub computed: B256,
}

/// What one successful import did and cost.
#[derive(Debug)]
pub struct Imported {
    pub hash: B256,
    pub number: u64,
    pub gas_used: u64,
    pub state_root: B256,
    /// Execution and its checks, on the stage thread: `exec` from `exec_started`.
    pub exec: Duration,
    pub exec_started: Instant,
    /// The calculator's verdict: fold mode, fold time (overlapping `exec` when BAL-driven),
    /// how far the fold ran ahead, and any fallback.
    pub verdict: Verdict,
    pub outcome: BlockOutcome,
}

struct StoredBlock {
    header: Header,
    /// Hashes of the ommers the block included: what later blocks' ommer rules need of it.
    ommers: Vec<B256>,
    /// The sum of the difficulties up to this block: the merge comes after the block that
    /// reaches the terminal total difficulty.
    total_difficulty: U256,
    /// `None` once pruned.
    world: Option<Arc<WorldState>>,
}

/// A block tree rooted at genesis with the post-state of each recent block.
pub struct ChainStore {
    chain: ChainSpec,
    blocks: HashMap<B256, StoredBlock>,
    head: B256,
    /// Blocks still holding a post-state, oldest first, so pruning never scans the tree.
    held: VecDeque<(u64, B256)>,
    /// Post-states older than this many blocks below the newest are dropped.
    retain: u64,
    exec: ExecMode,
    tier: Tier,
    config: Config,
    /// Spawned at the first import, from `genesis_trie`.
    calculator: Option<Calculator>,
    genesis_trie: Option<StateTrie>,
    /// The block whose state the calculator holds once the awaited verdict is in.
    committed: B256,
    /// Blocks announced and not yet imported, with their cancellation tokens.
    announced: HashMap<B256, CancelToken>,
    /// Verdicts that overtook the one awaited (a block failed from its BAL before it ran).
    early: HashMap<B256, Verdict>,
    /// Before Byzantium: the trie that folds each transaction's writes for the state roots
    /// receipts carry, at the last block that needed it.
    post_state: Option<PostStateRoots>,
}

impl ChainStore {
    /// Starts a chain from its genesis header and state; the state must hash to the header's root.
    pub fn new(
        chain: ChainSpec,
        genesis: Header,
        world: WorldState,
    ) -> Result<Self, GenesisMismatch> {
        let mut trie = StateTrie::from_accounts(&world.trie_updates());
        let computed = trie.root();
        if computed != genesis.state_root {
            return Err(GenesisMismatch {
                expected: genesis.state_root,
                computed,
            });
        }
        let hash = genesis.hash_slow();
        let mut blocks = HashMap::new();
        blocks.insert(
            hash,
            StoredBlock {
                total_difficulty: genesis.difficulty,
                header: genesis,
                ommers: Vec::new(),
                world: Some(Arc::new(world)),
            },
        );
        Ok(Self {
            chain,
            blocks,
            head: hash,
            held: VecDeque::from([(0, hash)]),
            retain: 128,
            exec: ExecMode::default(),
            tier: Tier::default(),
            config: Config::default(),
            calculator: None,
            genesis_trie: Some(trie),
            committed: hash,
            announced: HashMap::new(),
            early: HashMap::new(),
            post_state: None,
        })
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

    /// Keeps the post-states of the `n` blocks below the newest (128 by default), so blocks
    /// may build on any of them (side chains, reorgs). With 0 only the newest state is kept
    /// and updated in place: the cheap setting for replaying a canonical chain.
    pub fn with_retained_states(mut self, n: u64) -> Self {
        self.retain = n;
        self
    }

    pub fn chain(&self) -> &ChainSpec {
        &self.chain
    }

    /// The last successfully imported block.
    pub fn head(&self) -> B256 {
        self.head
    }

    pub fn header(&self, hash: &B256) -> Option<&Header> {
        self.blocks.get(hash).map(|b| &b.header)
    }

    /// The post-state of a block, if still held.
    pub fn world(&self, hash: &B256) -> Option<&WorldState> {
        self.blocks.get(hash).and_then(|b| b.world.as_deref())
    }

    /// The post-state of a block: its parent's plus `writes`. Without retained states the
    /// parent's copy is released and updated in place, so a linear replay costs what the block
    /// changed rather than a copy of the whole state.
    fn child_state(
        &mut self,
        parent_hash: B256,
        parent_world: Arc<WorldState>,
        writes: &crate::world::BlockWrites,
    ) -> WorldState {
        if self.retain == 0
            && let Some(parent) = self.blocks.get_mut(&parent_hash)
        {
            parent.world = None;
        }
        // Unique unless the parent's state is retained: then it is copied.
        let mut world = Arc::try_unwrap(parent_world).unwrap_or_else(|shared| (*shared).clone());
        world.apply(writes);
        world
    }

    /// Hashes of up to 256 ancestors, walking parent links so side chains see their own past.
    fn ancestor_hashes(&self, parent_hash: B256) -> HashMap<u64, B256> {
        self.ancestors(parent_hash)
            .take(BLOCKHASH_WINDOW as usize)
            .map(|(hash, b)| (b.header.number, hash))
            .collect()
    }

    fn prune(&mut self, newest: u64) {
        let keep_from = newest.saturating_sub(self.retain);
        while let Some(&(number, hash)) = self.held.front() {
            if number >= keep_from {
                break;
            }
            self.held.pop_front();
            if let Some(b) = self.blocks.get_mut(&hash) {
                b.world = None;
            }
        }
    }
}
