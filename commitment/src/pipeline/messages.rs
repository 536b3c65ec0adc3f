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
    /// The block's number, copied into its [`Verdict`] (blocks are keyed by hash, not number).
    pub number: u64,
    /// The block's hash: the key its [`ExecEvent`]s and [`Verdict`] carry, and the head the
    /// calculator moves to once it commits.
    pub hash: B256,
    /// The block whose committed state this one folds onto.
    pub parent_hash: B256,
    /// The block's BAL, if it came with one; with
    /// [`Config::bal_driven`](super::Config::bal_driven) on, it is folded ahead of execution.
    /// It is trusted only as far as the header root and the shadow fold check it, so validate
    /// it ([`bal::validate`]) first.
    pub access_list: Option<Arc<BlockAccessList>>,
    /// The header's state root. `None` where the state is partial (recorded mainnet blocks):
    /// the roots are still folded, and compared between paths, but not with a header.
    pub expected_root: Option<B256>,
    /// Transactions in the block. Carried for the caller's bookkeeping: the calculator itself
    /// counts executed transactions from [`ExecEvent::Tx`] and does not read this.
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
    Tx {
        /// The block's [`BlockRequest::hash`].
        hash: B256,
        /// The transaction's position in the block, 0-based; the calculator only counts the
        /// events into [`Verdict::txs_executed`].
        index: usize,
    },
    /// The block executed and passed its execution checks; here are its writes.
    Block(BlockResult),
    /// The block failed (invalid, cancelled, or refused before executing): nothing of it may
    /// be committed.
    Failed {
        /// The block's [`BlockRequest::hash`].
        hash: B256,
        /// The executor's error, rendered; it becomes [`CommitError::Execution`].
        reason: String,
    },
}

/// A block's writes as state-trie updates, with storage-only changes already carrying the
/// account's header fields.
#[derive(Clone, Debug)]
pub struct BlockResult {
    /// The block's [`BlockRequest::hash`]; a result for a block not waiting for a verdict
    /// (never announced, or already failed early) is ignored.
    pub hash: B256,
    /// Every account the block changed, with its post-block fields (`None` once deleted) and
    /// the slots it wrote: the incremental fold applies these, the shadow fold compares them
    /// with the BAL's.
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
    /// The folded root is not the header's [`BlockRequest::expected_root`]. Raised at the
    /// block's result, or, without shadow, by the BAL-driven fold before execution ends (the
    /// block's [`CancelToken`] is then cancelled). The trie stays at the parent's state.
    #[error("state root {got}, header says {expected}")]
    RootMismatch {
        /// The header's state root.
        expected: B256,
        /// The root the calculator folded.
        got: B256,
    },
    /// Shadow mode: the roots folded from the BAL and from the executed writes differ; the
    /// first differing account, field or slot.
    #[error("shadow root diverges from the BAL-driven root: {0}")]
    Divergence(Box<Divergence>),
    /// The executor reported [`ExecEvent::Failed`] with this reason.
    #[error("execution failed: {0}")]
    Execution(String),
    /// The block's result arrived while the calculator's committed state was not its parent's
    /// (the parent did not commit, or has not yet: report results in chain order, and
    /// [`Calculator::rebase`](super::Calculator::rebase) to a side chain's fork point first).
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
    /// The block's [`BlockRequest::number`].
    pub number: u64,
    /// The block's [`BlockRequest::hash`].
    pub hash: B256,
    /// Which fold decided the block; `Incremental` also for a block that failed before any
    /// fold ran.
    pub mode: FoldMode,
    /// The committed state root, or why the block did not commit (the calculator's committed
    /// state is then what it was before the block).
    pub outcome: Result<B256, CommitError>,
    /// Why a block carrying a BAL was folded incrementally instead.
    pub fallback: Option<Inexpressible>,
    /// Time spent hashing this block: the sum of the folds in [`Self::times`].
    pub fold: Duration,
    /// When each fold ran and when the verdict was sent.
    pub times: FoldTimes,
    /// How long the BAL-driven root was ready before the block's execution result arrived;
    /// zero for an incremental fold and for a block decided before its result.
    pub fold_ahead: Duration,
    /// Transactions the executor reported before the verdict.
    pub txs_executed: usize,
    /// The stored trie nodes a committed block changed, for a trie opened over a node
    /// source: to be written in the block's own database transaction. `None` for a trie
    /// held whole in memory, and for a block that did not commit.
    pub trie_changes: Option<StateChanges>,
}

impl Verdict {
    /// Whether the block committed.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// A stretch of work on one thread: its first and last instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSpan {
    /// When the work began.
    pub start: Instant,
    /// When it ended; not before `start` on a monotonic clock.
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

    /// `end - start`, zero if the clock went backwards.
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
