//! The fold gate: which announced block may fold from its BAL now.
//!
//! The trie holds the last committed block's state (the head). A block may fold ahead once its
//! parent is the head, and only one block is folded ahead at a time, since its changes sit in
//! the trie (reversibly) until its execution result commits or withdraws them. With a linear
//! chain that means block N folds while N executes, the moment N-1's verdict is out.

use std::collections::HashMap;

use alloy_primitives::B256;

use super::{BlockRequest, TimeSpan, shadow::BalFold};
use crate::{Inexpressible, StateTrie};

/// An announced block not yet given a verdict.
#[derive(Debug)]
pub(crate) struct Pending {
    pub request: BlockRequest,
    /// Arrival order, so the oldest eligible block folds first.
    seq: u64,
    /// Set once a fold attempt found the BAL cannot express the post-state.
    pub fallback: Option<Inexpressible>,
    pub txs_executed: usize,
}

/// A BAL fold sitting in the trie ahead of its block's result.
#[derive(Debug)]
pub(crate) struct Ahead {
    pub hash: B256,
    pub fold: BalFold,
    /// When it was folded: the root was ready at its end.
    pub folded: TimeSpan,
}

#[derive(Debug, Default)]
pub(crate) struct FoldGate {
    pending: HashMap<B256, Pending>,
    next_seq: u64,
    ahead: Option<Ahead>,
}

impl FoldGate {
    pub(crate) fn announce(&mut self, request: BlockRequest) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.insert(
            request.hash,
            Pending {
                request,
                seq,
                fallback: None,
                txs_executed: 0,
            },
        );
    }

    pub(crate) fn get_mut(&mut self, hash: &B256) -> Option<&mut Pending> {
        self.pending.get_mut(hash)
    }

    /// Removes a block for its verdict; `None` if it already has one.
    pub(crate) fn take(&mut self, hash: &B256) -> Option<Pending> {
        self.pending.remove(hash)
    }

    /// The oldest announced child of `head` whose BAL has not been tried.
    pub(crate) fn next_to_fold(&self, head: B256) -> Option<B256> {
        if self.ahead.is_some() {
            return None;
        }
        self.pending
            .values()
            .filter(|p| {
                p.request.parent_hash == head
                    && p.request.access_list.is_some()
                    && p.fallback.is_none()
            })
            .min_by_key(|p| p.seq)
            .map(|p| p.request.hash)
    }

    pub(crate) fn hold(&mut self, ahead: Ahead) {
        debug_assert!(self.ahead.is_none(), "one fold ahead at a time");
        self.ahead = Some(ahead);
    }

    /// The fold held for `hash`, if that is the block folded ahead.
    pub(crate) fn take_ahead(&mut self, hash: &B256) -> Option<Ahead> {
        self.ahead.take_if(|a| &a.hash == hash)
    }

    /// Takes back whatever fold is held, so the trie is at the head again.
    pub(crate) fn withdraw(&mut self, trie: &mut StateTrie) {
        if let Some(ahead) = self.ahead.take() {
            trie.revert(ahead.fold.undo);
        }
    }

    /// Cancels every block still waiting: the calculator is going away.
    pub(crate) fn cancel_all(&mut self) {
        for pending in self.pending.values() {
            pending.request.cancel.cancel();
        }
    }
}
