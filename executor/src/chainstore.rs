//! Importing a chain of blocks: header and body checks, execution, the header's commitments,
//! and the state root, one block at a time, with side chains.
//!
//! Every imported block keeps the world state it produced (for a bounded window), so a block
//! may extend any recent block, not only the head. The state trie is folded incrementally
//! while blocks extend the last imported one and rebuilt from the parent's state otherwise.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_consensus::Header;
use alloy_primitives::B256;
use commitment::StateTrie;

use crate::{
    block::{self, Block, BlockError, BlockOutcome, OutcomeError, validate},
    chain::ChainSpec,
    world::{StateView, WorldState},
};

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
    pub exec: Duration,
    pub commit: Duration,
    pub outcome: BlockOutcome,
}

struct StoredBlock {
    header: Header,
    /// `None` once pruned.
    world: Option<Arc<WorldState>>,
}

/// A block tree rooted at genesis with the post-state of each recent block.
pub struct ChainStore {
    chain: ChainSpec,
    blocks: HashMap<B256, StoredBlock>,
    head: B256,
    /// The trie holds the state after this block; `None` after a failed fold.
    trie: StateTrie,
    trie_at: Option<B256>,
    /// Blocks still holding a post-state, oldest first, so pruning never scans the tree.
    held: VecDeque<(u64, B256)>,
    /// Post-states older than this many blocks below the newest are dropped.
    retain: u64,
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
                header: genesis,
                world: Some(Arc::new(world)),
            },
        );
        Ok(Self {
            chain,
            blocks,
            head: hash,
            trie,
            trie_at: Some(hash),
            held: VecDeque::from([(0, hash)]),
            retain: 128,
        })
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

    /// Validates, executes and commits `block`. On error nothing changes.
    pub fn import(&mut self, block: &Block) -> Result<Imported, BlockError> {
        self.import_with_access_list(block, None)
    }

    /// [`Self::import`], executing the transactions in parallel when the block's access list is
    /// given (it is verified, not trusted); sequentially otherwise.
    pub fn import_with_access_list(
        &mut self,
        block: &Block,
        access_list: Option<&bal::BlockAccessList>,
    ) -> Result<Imported, BlockError> {
        let parent_hash = block.header.parent_hash;
        let parent = self
            .blocks
            .get(&parent_hash)
            .ok_or(BlockError::UnknownParent(parent_hash))?;
        let parent_world = parent
            .world
            .clone()
            .ok_or(BlockError::ParentStatePruned(parent_hash))?;
        validate::header_against_parent(&self.chain, &block.header, &parent.header)?;
        validate::body_against_header(&self.chain, block)?;

        let started = Instant::now();
        let hashes = self.ancestor_hashes(parent_hash);
        let view = StateView {
            world: &parent_world,
            hashes: &hashes,
        };
        let outcome = match access_list {
            Some(list) => block::parallel::execute_parallel(&self.chain, block, view, list)?,
            None => block::execute(&self.chain, block, view)?,
        };
        // A chain with full state can check every receipts root, pre-Byzantium too, once the
        // intermediate roots are computed; until then those blocks skip that one check.
        let has_status = block::receipts_have_status(&self.chain, block.header.number);
        outcome.verify(&self.chain, &block.header, has_status)?;
        let exec = started.elapsed();

        let started = Instant::now();
        let updates = parent_world.updates_for(&outcome.writes);
        if self.trie_at != Some(parent_hash) {
            self.trie = StateTrie::from_accounts(&parent_world.trie_updates());
        }
        // The trie is mid-update from here on: mark it unusable until the root is confirmed.
        self.trie_at = None;
        self.trie.apply(&updates);
        let state_root = self.trie.root();
        let commit = started.elapsed();
        if state_root != block.header.state_root {
            return Err(OutcomeError::StateRoot {
                expected: block.header.state_root,
                got: state_root,
            }
            .into());
        }

        let world = self.child_state(parent_hash, parent_world, &outcome.writes);
        let hash = block.header.hash_slow();
        self.trie_at = Some(hash);
        self.head = hash;
        let number = block.header.number;
        self.blocks.insert(
            hash,
            StoredBlock {
                header: block.header.clone(),
                world: Some(Arc::new(world)),
            },
        );
        self.held.push_back((number, hash));
        self.prune(number);
        Ok(Imported {
            hash,
            number,
            gas_used: outcome.gas_used,
            state_root,
            exec,
            commit,
            outcome,
        })
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
        let mut hashes = HashMap::new();
        let mut cursor = parent_hash;
        while let Some(b) = self.blocks.get(&cursor) {
            hashes.insert(b.header.number, cursor);
            if hashes.len() as u64 >= BLOCKHASH_WINDOW || b.header.number == 0 {
                break;
            }
            cursor = b.header.parent_hash;
        }
        hashes
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
