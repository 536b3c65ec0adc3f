//! The commitment pipeline: a calculator thread that folds each block's state root beside its
//! execution.
//!
//! ```text
//! block arrives ─► BlockRequest{number, hash, BAL?, expected_root, tx_count} ─► requests ─┐
//!       │                                                                                 ▼
//!       └─► executor ─► ExecEvent::{Tx, Block(BlockResult), Failed} ─► results ─► Calculator
//!               ▲                                                                    │
//!               └──────────── CancelToken (calculator failed) ◄──────────────────────┤
//!                                                          verdicts ◄────────────────┘
//! ```
//!
//! Requests and results travel on separate channels and requests are always drained first,
//! so an arriving block is never stuck behind the previous block's results.
//!
//! Per block the mode is [`FoldMode::BalDriven`] when it carries a BAL and
//! [`Config::bal_driven`] is on, else [`FoldMode::Incremental`]. The fold gate lets
//! block N fold from its BAL once N-1 is committed in the calculator, which is as soon as N-1's
//! verdict is out, usually long before N's execution ends: the steady-state cost per block
//! becomes max(exec, fold) instead of exec + fold. A BAL-driven root that differs from the
//! header fails the block at once and cancels its execution. In shadow mode
//! ([`Config::shadow`]) the block waits for its result, folds the executed writes too (on the
//! serial root path), and fails with the first [`Divergence`] if the roots differ. A BAL that
//! cannot express the post-state ([`crate::Inexpressible`]) makes that block incremental.
//! With both flags off this is the serial path: every block folds from its writes.

mod calculator;
mod cancel;
mod config;
mod gate;
mod messages;
mod metrics;
mod shadow;

pub use calculator::{Calculator, CalculatorGone};
pub use cancel::CancelToken;
pub use config::{BAL_DRIVEN_COMMITMENT, BAL_SHADOW_COMPUTE, Config};
pub use messages::{
    BlockRequest, BlockResult, CommitError, ExecEvent, FoldMode, FoldTimes, TimeSpan, Verdict,
};
pub use metrics::Metrics;
pub use shadow::{AccountField, Divergence};
