//! Walking a block's line back through the store: BLOCKHASH's window and the ommer rules'
//! generations both follow parent links, so side chains see their own past.

use alloy_primitives::B256;

use super::{ChainStore, StateStore, StoredBlock};
use crate::block::{
    Block, BodyError,
    ommers::{self, Ancestor, OMMER_ANCESTRY},
};

impl<S: StateStore> ChainStore<S> {
    /// `parent_hash` and its ancestors, newest first, down to genesis or the first block the
    /// store does not hold.
    pub(super) fn ancestors(
        &self,
        parent_hash: B256,
    ) -> impl Iterator<Item = (B256, &StoredBlock)> + '_ {
        let mut cursor = Some(parent_hash);
        std::iter::from_fn(move || {
            let hash = cursor?;
            let block = self.blocks.get(&hash)?;
            cursor = (block.header.number > 0).then_some(block.header.parent_hash);
            Some((hash, block))
        })
    }

    /// Checks `block`'s ommers against the generations above it (see [`ommers::check`]).
    pub(super) fn check_ommers(&self, block: &Block) -> Result<(), BodyError> {
        if block.body.ommers.is_empty() {
            return Ok(());
        }
        let ancestry: Vec<Ancestor<'_>> = self
            .ancestors(block.header.parent_hash)
            .take(OMMER_ANCESTRY)
            .map(|(hash, b)| Ancestor {
                hash,
                header: &b.header,
                ommers: &b.ommers,
            })
            .collect();
        ommers::check(&self.chain, block, &ancestry)
    }
}
