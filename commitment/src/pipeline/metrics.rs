//! Counters over a calculator's life, readable from any thread while it runs.

use std::{sync::Mutex, time::Duration};

/// What the calculator did, summed over all blocks so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Blocks committed from a BAL-driven fold.
    pub bal_folds: u64,
    /// Blocks committed from their executed writes.
    pub incremental_folds: u64,
    /// Blocks with a BAL that fell back to the incremental fold (the BAL could not express
    /// their post-state).
    pub fallbacks: u64,
    /// Shadow roots that disagreed with the BAL-driven root.
    pub divergences: u64,
    /// Blocks failed from their BAL-driven root before their execution ended.
    pub early_failures: u64,
    /// Times the trie was rebuilt at another block's state (side chains).
    pub rebases: u64,
    /// Summed time the BAL-driven roots were ready before their blocks' results.
    pub fold_ahead: Duration,
}

/// The calculator's live counters behind a lock taken once per block.
#[derive(Debug, Default)]
pub(crate) struct SharedMetrics(Mutex<Metrics>);

impl SharedMetrics {
    pub fn update(&self, f: impl FnOnce(&mut Metrics)) {
        // A poisoned lock only means a reader panicked mid-copy; the counters stay valid.
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn get(&self) -> Metrics {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
