//! How the stage loop follows and stops a block's execution from outside.

use commitment::CancelToken;

use super::BlockError;

/// The calculator's cancellation token for this block, checked before every transaction so a
/// block whose root already failed stops within one transaction, and a callback told of every
/// executed transaction (the per-transaction results the calculator follows).
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// Stops execution with [`BlockError::Cancelled`] before the next transaction once set.
    pub cancel: Option<&'a CancelToken>,
    /// Called with each transaction's index (0-based) once it is executed and committed to
    /// the block's state, in block order, on the calling thread; `Sync` because the parallel
    /// schedule shares the watch with its worker threads.
    pub on_tx: Option<&'a (dyn Fn(usize) + Sync)>,
}

impl Watch<'_> {
    /// Nobody watching: plain execution.
    pub const NONE: Watch<'static> = Watch {
        cancel: None,
        on_tx: None,
    };

    pub(super) fn check(&self) -> Result<(), BlockError> {
        match self.cancel {
            Some(token) if token.is_cancelled() => Err(BlockError::Cancelled),
            _ => Ok(()),
        }
    }

    pub(super) fn executed(&self, index: usize) {
        if let Some(on_tx) = self.on_tx {
            on_tx(index);
        }
    }
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("cancel", &self.cancel)
            .field("on_tx", &self.on_tx.is_some())
            .finish()
    }
}
