//! The replay harness: the last stage of the data flow and the project's front door.
//!
//! ```text
//! fixture files ─► fixtures::* (typed cases) ─► replay / statetest / root / demo
//!                                                  │ executor (blocks, txs) + commitment (roots)
//!                                                  ▼
//!                                               Report ─► stdout summary, --json FILE
//! ```

pub mod bal_check;
pub mod db;
pub mod demo;
pub mod fixtures;
pub mod phases;
pub mod pictures;
pub mod progress;
pub mod replay;
pub mod report;
pub mod root;
pub mod skips;
pub mod state_diff;
pub mod statetest;
pub mod tier;
