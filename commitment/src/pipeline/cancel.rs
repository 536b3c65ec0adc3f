//! The cancellation token the calculator and the executor share for one block.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// Set by the calculator when a block cannot commit (its root is already known to be wrong, or
/// the calculator is going away), read by the executor between transactions so the block stops
/// within one transaction. One token per block, so a cancelled block never leaks into the next.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled, for one block's [`BlockRequest`](super::BlockRequest).
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the block to stop; every clone sees it. Idempotent, and never undone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
