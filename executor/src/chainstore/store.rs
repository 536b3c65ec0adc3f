//! Where the chain's plain state lives between blocks: the seam between the stage and a store.
//!
//! A store holds the post-state of ONE block (its head) and moves one block at a time: forward
//! by a block's writes, back by that block's change set. Side chains and reorgs are that walk
//! (back to the common ancestor, forward along the other branch), so no store ever keeps a
//! copy of the world per block.
//!
//! ```text
//!   advance(block, writes) ──► head = block      (the change set is kept for unwinding)
//!   unwind()               ──► head = parent     (returns the values it restored)
//! ```

use std::collections::VecDeque;

use alloy_consensus::Header;
use alloy_primitives::{B256, U256};
use commitment::{AccountUpdate, StateChanges, StateTrie};

use crate::{
    provider::StateProvider,
    world::{BlockWrites, WorldState},
};

/// A block as the store records it beside its writes: what the chain rules need of it after
/// a restart.
#[derive(Clone, Copy, Debug)]
pub struct BlockRecord<'a> {
    /// The block's header.
    pub header: &'a Header,
    /// Its hash.
    pub hash: B256,
    /// Difficulty summed from genesis through this block (decides the merge).
    pub total_difficulty: U256,
    /// Hashes of the ommers it included (later blocks may not include them again).
    pub ommers: &'a [B256],
    /// The trie nodes the block changed, when the calculator's trie is stored with the state
    /// (a database's); `None` where it is not, or not in step (a block re-applied by a reorg
    /// walk, whose trie changes go out with the next committed block).
    pub trie: Option<&'a StateChanges>,
}

/// The stage's view of a state store: the in-memory [`MemoryStore`] or a database
/// ([`super::DbStore`]).
pub trait StateStore {
    /// A failure of the store itself (I/O, corruption), never a verdict on a block.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Reads at the head.
    type Reader<'a>: StateProvider
    where
        Self: 'a;

    /// The block whose post-state the store holds.
    fn head(&self) -> B256;

    /// The plain state at the head, for execution.
    fn reader(&self) -> Self::Reader<'_>;

    /// The trie updates `writes` amount to on top of the head state (account headers filled
    /// in for storage-only changes). Pure: nothing is applied.
    fn updates_for(&self, writes: &BlockWrites) -> Result<Vec<AccountUpdate>, Self::Error>;

    /// Applies the writes of `block`, whose parent must be the head, and keeps its change set.
    /// Atomic: on error nothing changed.
    fn advance(&mut self, block: BlockRecord<'_>, writes: &BlockWrites) -> Result<(), Self::Error>;

    /// Moves the head back to its parent by its change set and returns the values it restored,
    /// every account as set or removed (never "unchanged"), so they are trie updates as they
    /// stand; `None`, with nothing changed, once the head's change set is no longer kept.
    fn unwind(&mut self) -> Result<Option<BlockWrites>, Self::Error>;

    /// The whole plain state at the head, for building a trie from scratch and for checks.
    fn plain_state(&self) -> Result<WorldState, Self::Error>;

    /// A state trie at the head: built from the plain state in memory, or opened over the
    /// stored trie nodes in a database (reading only what blocks reach).
    fn trie(&self) -> Result<StateTrie, Self::Error> {
        Ok(self.plain_state()?.state_trie())
    }

    /// Keeps the change sets of the newest `n` blocks where they cost memory (a database
    /// keeps them all on disk and ignores this).
    fn set_retain(&mut self, n: usize) {
        let _ = n;
    }

    /// For a trie opened over stored nodes: the bytes it may keep resident once a block's
    /// trie changes are committed. `None` for a trie held whole in memory.
    fn trie_budget(&self) -> Option<usize> {
        None
    }
}

/// The in-memory store cannot fail; a block that does not extend its head is the caller's bug,
/// refused with this rather than applied to the wrong state.
#[derive(Debug, thiserror::Error)]
#[error("block with parent {0} does not extend the store's head")]
pub struct NotHeadChild(pub B256);

/// The chain's state in memory: the head's world plus the change sets of the newest blocks.
#[derive(Debug)]
pub struct MemoryStore {
    world: WorldState,
    head: B256,
    /// (block, its parent, its change set), newest last.
    undo: VecDeque<(B256, B256, BlockWrites)>,
    /// How many change sets are kept.
    retain: usize,
}

impl MemoryStore {
    /// The store at block `head`, whose post-state is `world`, keeping the change sets of the
    /// newest `retain` blocks.
    pub fn new(head: B256, world: WorldState, retain: usize) -> Self {
        Self {
            world,
            head,
            undo: VecDeque::new(),
            retain,
        }
    }

    /// The head's state.
    pub fn world(&self) -> &WorldState {
        &self.world
    }

    fn trim(&mut self) {
        while self.undo.len() > self.retain {
            self.undo.pop_front();
        }
    }
}

impl StateStore for MemoryStore {
    type Error = NotHeadChild;
    type Reader<'a> = &'a WorldState;

    fn head(&self) -> B256 {
        self.head
    }

    fn reader(&self) -> &WorldState {
        &self.world
    }

    fn updates_for(&self, writes: &BlockWrites) -> Result<Vec<AccountUpdate>, NotHeadChild> {
        Ok(self.world.updates_for(writes))
    }

    fn advance(
        &mut self,
        block: BlockRecord<'_>,
        writes: &BlockWrites,
    ) -> Result<(), NotHeadChild> {
        let parent = block.header.parent_hash;
        if parent != self.head {
            return Err(NotHeadChild(parent));
        }
        if self.retain > 0 {
            let change_set = self.world.change_set(writes);
            self.undo.push_back((block.hash, parent, change_set));
            self.trim();
        }
        self.world.apply(writes);
        self.head = block.hash;
        Ok(())
    }

    fn unwind(&mut self) -> Result<Option<BlockWrites>, NotHeadChild> {
        match self.undo.back() {
            Some((block, ..)) if *block == self.head => {}
            _ => return Ok(None),
        }
        let (_, parent, change_set) = self.undo.pop_back().expect("looked at above");
        self.world.apply(&change_set);
        self.head = parent;
        Ok(Some(change_set))
    }

    fn plain_state(&self) -> Result<WorldState, NotHeadChild> {
        Ok(self.world.clone())
    }

    fn set_retain(&mut self, n: usize) {
        self.retain = n;
        self.trim();
    }
}
