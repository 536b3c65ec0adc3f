//! The chain database: plain state, canonical headers, per-block change sets and stage
//! checkpoints in one embedded store (redb), so a node resumes where it stopped and unwinds a
//! reorg without a state copy per block.
//!
//! ```text
//! executor ─► BlockWrites ─► ChainDb::commit_block ─► one write txn: plain state, change set,
//!    ▲                                                 header/hashes/meta, checkpoints
//!    │                                                        │
//!    └── StateSnapshot (revm DatabaseRef) ◄── byte-bounded cache ◄── disk (redb)
//!
//! reorg ─► ChainDb::unwind_to(n) ─► change sets newest first ─► reverse BlockWrites ─► trie
//! ```
//!
//! [`BlockWrites`] is the state diff every layer speaks: execution produces it, the trie
//! applies it ([`BlockWrites::updates_with`]), the database stores it with the values it
//! overwrote, and an unwind returns one (the restored values) so the commitment trie rebases
//! onto the older state without a rebuild.
//!
//! Tables live behind [`KvBackend`] (ordered byte keys, snapshot reads, one atomic write
//! transaction); [`RedbBackend`] is the implementation. State reads go through a cache bounded
//! in bytes ([`CacheStats`]), written through after each commit or unwind, so the state can be
//! far larger than memory.

#![warn(missing_docs, unreachable_pub)]

mod backend;
mod cache;
mod chain_db;
mod chain_rows;
mod change_set;
mod check;
mod error;
mod plain_state;
mod rows;
mod snapshot;
mod trie_nodes;
mod writes;

pub use backend::{
    BackendError, BatchRow, KvBackend, KvRead, KvWrite, RedbBackend, Row, Rows, Table,
};
pub use cache::CacheStats;
pub use chain_db::ChainDb;
pub use check::CheckReport;
pub use error::StorageError;
pub use rows::{BlockMeta, Checkpoint, Stage};
pub use snapshot::{PlainAccount, PlainAccounts, StateSnapshot};
pub use writes::{AccountWrite, BlockWrites, InfoChange};
