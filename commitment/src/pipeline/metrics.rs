//! Counters over a calculator's life, readable from any thread while it runs.

use std::{sync::Mutex, time::Duration};

/// What the calculator did, summed over all blocks so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Metrics {
    /// Blocks committed from a BAL-driven fold.
    pub bal_folds: u64,
    /// Blocks committed from their executed writes.
    pub incremental_folds: u64,
    /// Of the BAL folds, those from a list recorded while executing (the block came without
    /// one, as every block before Amsterdam does).
    pub recorded_bals: u64,
    /// Blocks that, with the BAL-driven fold on, had no list to fold from: none came with the
    /// block and none was recorded.
    pub without_bal: u64,
    /// Blocks with a BAL that fell back to the incremental fold (the BAL could not express
    /// their post-state).
    pub fallbacks: u64,
    /// Shadow roots that disagreed with the BAL-driven root.
    pub divergences: u64,
    /// Blocks failed from their BAL-driven root before their execution ended.
    pub early_failures: u64,
    /// Times the trie was rebuilt at another block's state (side chains).
    pub rebases: u64,
    /// Over a node source: the bytes the resident trie took after the last collapse (the
    /// largest over several calculators). 0 for a trie held whole in memory.
    pub trie_resident_bytes: u64,
    /// Summed time the BAL-driven roots were ready before their blocks' results.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "fold_ahead_ms", serialize_with = "as_millis")
    )]
    pub fold_ahead: Duration,
}

impl std::ops::AddAssign for Metrics {
    /// Sums the counters of several calculators (a replay may run one per test case).
    fn add_assign(&mut self, other: Metrics) {
        self.bal_folds += other.bal_folds;
        self.incremental_folds += other.incremental_folds;
        self.recorded_bals += other.recorded_bals;
        self.without_bal += other.without_bal;
        self.fallbacks += other.fallbacks;
        self.divergences += other.divergences;
        self.early_failures += other.early_failures;
        self.rebases += other.rebases;
        self.trie_resident_bytes = self.trie_resident_bytes.max(other.trie_resident_bytes);
        self.fold_ahead += other.fold_ahead;
    }
}

#[cfg(feature = "serde")]
fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// The calculator's live counters behind a lock taken once per block.
#[derive(Debug, Default)]
pub(crate) struct SharedMetrics(Mutex<Metrics>);

impl SharedMetrics {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Metrics)) {
        // A poisoned lock only means a reader panicked mid-copy; the counters stay valid.
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn get(&self) -> Metrics {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
