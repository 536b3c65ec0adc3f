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
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
