//! Walking the store to another block: back by change sets to the common ancestor, forward by
//! the kept writes of the blocks on the target's line. The calculator's committed trie takes
//! the same walk as one batch of updates, so it is never rebuilt.

use alloy_primitives::B256;
use commitment::AccountUpdate;

use super::{BlockRecord, ChainStore, StateStore, internal};
use crate::block::BlockError;

impl<S: StateStore> ChainStore<S> {
    /// Unwinds the chain to `target`, an ancestor of the head whose change sets are still
    /// kept: the store goes back block by block (a database's canonical chain and checkpoints
    /// with it, one write transaction per block), the calculator's trie takes the same walk,
    /// and `target` becomes the head. The unwound blocks stay known, so importing them again,
    /// or a sibling, works as on any side chain.
    pub fn unwind_to(&mut self, target: B256) -> Result<(), BlockError> {
        if !self.ancestors(self.head).any(|(hash, _)| hash == target) {
            return Err(BlockError::UnknownParent(target));
        }
        self.move_to(target)?;
        self.head = target;
        Ok(())
    }

    /// Moves the store (and the calculator with it) to the post-state of `target`. On error the
    /// store and the calculator agree on wherever the walk stopped.
    pub(super) fn move_to(&mut self, target: B256) -> Result<(), BlockError> {
        let from = self.store.head();
        if from == target {
            return Ok(());
        }
        let (back, forward) = self.walk(from, target)?;
        let mut updates = Vec::new();
        let walked = self.step(target, &back, &forward, &mut updates);
        self.move_trie(self.store.head(), updates)?;
        walked
    }

    /// The blocks to unwind (the store's head first) and to re-apply (the target last) on the
    /// way from `from` to `target`.
    fn walk(&self, from: B256, target: B256) -> Result<(Vec<B256>, Vec<B256>), BlockError> {
        let number = |hash: B256| {
            self.blocks
                .get(&hash)
                .map(|b| (b.header.number, b.header.parent_hash))
                .ok_or(BlockError::ParentStatePruned(target))
        };
        let (mut back, mut forward) = (Vec::new(), Vec::new());
        let (mut a, mut b) = (from, target);
        while a != b {
            let ((na, pa), (nb, pb)) = (number(a)?, number(b)?);
            if na == 0 && nb == 0 {
                // Two geneses: nothing joins them.
                return Err(BlockError::UnknownParent(target));
            }
            if na >= nb {
                back.push(a);
                a = pa;
            } else {
                forward.push(b);
                b = pb;
            }
        }
        forward.reverse();
        Ok((back, forward))
    }

    /// Unwinds `back`, then re-applies `forward`, collecting the trie updates of each step.
    fn step(
        &mut self,
        target: B256,
        back: &[B256],
        forward: &[B256],
        updates: &mut Vec<AccountUpdate>,
    ) -> Result<(), BlockError> {
        let pruned = || BlockError::ParentStatePruned(target);
        for _ in back {
            let restored = self.store.unwind().map_err(internal)?.ok_or_else(pruned)?;
            // Every account set or removed: the restored values need no current state.
            updates.extend(restored.updates_with(|_| None));
        }
        for hash in forward {
            let block = &self.blocks[hash];
            let writes = block.writes.clone().ok_or_else(pruned)?;
            updates.extend(self.store.updates_for(&writes).map_err(internal)?);
            let record = BlockRecord {
                header: &block.header,
                hash: *hash,
                total_difficulty: block.total_difficulty,
                ommers: &block.ommers,
                trie: None,
            };
            self.store.advance(record, &writes).map_err(internal)?;
        }
        Ok(())
    }

    /// Moves the committed trie to `at` by `updates`: the calculator's, or the trie it will
    /// start from.
    fn move_trie(&mut self, at: B256, updates: Vec<AccountUpdate>) -> Result<(), BlockError> {
        self.post_state = None;
        match &mut self.genesis_trie {
            Some(trie) => trie.apply(&updates),
            None => self.calculator().move_to(at, updates)?,
        }
        Ok(())
    }
}
