//! Blocks recorded with only their touched pre-state (mainnet blocks fetched with their
//! `prestateTracer` view): no parent header, no full state. They go through the same stage as
//! any block, minus the checks that need what the recording does not keep.

use std::collections::HashMap;

use alloy_consensus::Header;
use alloy_primitives::B256;

use super::{ChainStore, DEFAULT_RETAIN, MemoryStore};
use crate::{block::Block, chain::ChainSpec, world::WorldState};

/// The parent of a recorded block: its hash, and the hashes of the blocks BLOCKHASH may read.
pub(super) struct RecordedParent {
    pub(super) hash: B256,
    pub(super) hashes: HashMap<u64, B256>,
}

impl ChainStore {
    /// A store at the partial pre-state of one recorded block: `world` holds the accounts the
    /// block touches, its parent is known by `parent_hash` (block `parent_number`) and the
    /// `block_hashes` it may read. The child imports as any block does, except that:
    /// - its header is not checked against the parent's (not recorded), and of its body only
    ///   the transactions root is (ommers come as hashes in a recording);
    /// - no state root is compared with the header (the state is partial): the root of the
    ///   partial post-state is folded in every commitment mode and committed;
    /// - receipts before Byzantium are not checked (their roots are of the full state).
    pub fn recorded(
        chain: ChainSpec,
        parent_hash: B256,
        parent_number: u64,
        world: WorldState,
        block_hashes: HashMap<u64, B256>,
    ) -> Self {
        let trie = world.state_trie();
        let store = MemoryStore::new(parent_hash, world, DEFAULT_RETAIN as usize);
        let parent = Header {
            number: parent_number,
            ..Header::default()
        };
        let mut this = Self::assemble_at(chain, parent, parent_hash, store, trie);
        this.recorded = Some(RecordedParent {
            hash: parent_hash,
            hashes: block_hashes,
        });
        this
    }
}

impl<S: super::StateStore> ChainStore<S> {
    /// The recorded parent `block` builds on, if it is a recorded block.
    pub(super) fn recorded_parent(&self, block: &Block) -> Option<&RecordedParent> {
        self.recorded
            .as_ref()
            .filter(|parent| parent.hash == block.header.parent_hash)
    }
}
