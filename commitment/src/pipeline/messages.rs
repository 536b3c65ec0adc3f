//! What crosses the calculator's three channels: requests in at block arrival, execution
//! events in as blocks run, verdicts out.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use bal::BlockAccessList;

use super::{CancelToken, Divergence};
use crate::{AccountUpdate, FoldRules, Inexpressible, StateChanges, StateTrie};

/// A block, announced the moment it arrives and before it executes, so its BAL can be folded
/// while it runs.
#[derive(Clone, Debug)]
pub struct BlockRequest {
    pub number: u64,
    pub hash: B256,
    /// The block whose committed state this one folds onto.
    pub parent_hash: B256,
    pub access_list: Option<Arc<BlockAccessList>>,
    /// The header's state root. `None` where the state is partial (recorded mainnet blocks):
    /// the roots are still folded, and compared between paths, but not with a header.
    pub expected_root: Option<B256>,
    pub tx_count: usize,
    /// The fork rules the BAL fold depends on.
    pub rules: FoldRules,
    /// Cancelled by the calculator when the block can no longer commit.
    pub cancel: CancelToken,
}

/// The requests channel: block announcements and, for side chains, a new base state.
#[derive(Debug)]
pub(crate) enum Request {
    Block(Box<BlockRequest>),
    /// Replace the trie with `trie`, at block `at`'s post-state.
    Rebase {
        at: B256,
        trie: Box<StateTrie>,
    },
    /// Move the committed trie to block `at`'s post-state by `updates`, applied in order.
    Move {
        at: B256,
        updates: Vec<AccountUpdate>,
    },
    /// Block `committed`'s trie changes are durable in the node source: collapse the resident
    /// trie to `budget` bytes.
    Release {
        committed: B256,
        budget: usize,
    },
}

/// The executor's side of the results channel, in execution order.
#[derive(Debug)]
pub enum ExecEvent {
    /// Transaction `index` of block `hash` executed.
    Tx { hash: B256, index: usize },
    /// The block executed and passed its execution checks; here are its writes.
    Block(BlockResult),
    /// The block failed (invalid, cancelled, or refused before executing): nothing of it may
    /// be committed.
    Failed { hash: B256, reason: String },
}

/// A block's writes as state-trie updates, with storage-only changes already carrying the
/// account's header fields.
#[derive(Clone, Debug)]
pub struct BlockResult {
    pub hash: B256,
    pub updates: Vec<AccountUpdate>,
    /// The access list recorded while executing a block that was announced without one: with
    /// the BAL-driven fold on, the root is then folded from it (after execution, so without
    /// the overlap, but through the same executionless path, checked by the shadow fold).
    pub recorded: Option<Arc<BlockAccessList>>,
}

/// How a block's root was folded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FoldMode {
    /// From the BAL's final values, as soon as the parent was committed.
    BalDriven,
    /// From the executed writes, after execution.
    Incremental,
}

impl std::fmt::Display for FoldMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FoldMode::BalDriven => "bal-driven",
            FoldMode::Incremental => "incremental",
        })
    }
}

/// Why a block did not commit.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommitError {
    #[error("state root {got}, header says {expected}")]
    RootMismatch { expected: B256, got: B256 },
    #[error("shadow root diverges from the BAL-driven root: {0}")]
    Divergence(Box<Divergence>),
    #[error("execution failed: {0}")]
    Execution(String),
    #[error("the state of parent {0} is not in the calculator")]
    MissingParent(B256),
    /// The trie needed a stored node its source could not give (I/O, corruption): the
    /// block is not committed and the trie is back at its parent.
    #[error("the state trie could not read a stored node: {0}")]
    TrieRead(String),
}

/// The calculator's answer for one block: committed with a root, or not.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub number: u64,
    pub hash: B256,
    pub mode: FoldMode,
    pub outcome: Result<B256, CommitError>,
    /// Why a block carrying a BAL was folded incrementally instead.
    pub fallback: Option<Inexpressible>,
    /// Time spent hashing this block: the sum of the folds in [`Self::times`].
    pub fold: Duration,
    /// When each fold ran and when the verdict was sent.
    pub times: FoldTimes,
    /// How long the BAL-driven root was ready before the block's execution result arrived.
    pub fold_ahead: Duration,
    /// Transactions the executor reported before the verdict.
    pub txs_executed: usize,
    /// The stored trie nodes a committed block changed, for a trie opened over a node
    /// source: to be written in the block's own database transaction. `None` for a trie
    /// held whole in memory, and for a block that did not commit.
    pub trie_changes: Option<StateChanges>,
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// A stretch of work on one thread: its first and last instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSpan {
    pub start: Instant,
    pub end: Instant,
}

impl TimeSpan {
    /// From `start` to now.
    pub fn since(start: Instant) -> Self {
        Self {
            start,
            end: Instant::now(),
        }
    }

    pub fn duration(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }
}

/// When the calculator worked on one block, so a timeline can show the folds against
/// execution. Read at the folds' boundaries only (two clock reads per fold), never inside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldTimes {
    /// The fold from the BAL: ahead of the block's result when the gate opened in time,
    /// after it otherwise. `None` without a BAL, with the flag off, or when it could not fold.
    pub bal: Option<TimeSpan>,
    /// The fold from the executed writes that commits the block (the incremental path).
    pub writes: Option<TimeSpan>,
    /// The fold from the executed writes that checks a BAL-driven root (shadow mode).
    pub shadow: Option<TimeSpan>,
    /// When the verdict was sent.
    pub decided: Instant,
}

impl FoldTimes {
    /// Time spent hashing: every fold that ran.
    pub fn folding(&self) -> Duration {
        [self.bal, self.writes, self.shadow]
            .iter()
            .flatten()
            .map(TimeSpan::duration)
            .sum()
    }
}
