//! What the chain database refuses, and why.

use alloy_primitives::B256;
use revm::database_interface::DBErrorMarker;

use crate::{Stage, backend::BackendError, backend::Table};

/// Every failure of the chain database. Bad input (a damaged file, another chain's database,
/// a block that does not extend the head) is one of these, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend failed or found its file damaged.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A stored value does not decode: the file passed the backend's checks but holds
    /// something this crate never writes.
    #[error("corrupt {table:?} row: {reason}")]
    Corrupt {
        /// Where the row was.
        table: Table,
        /// What was wrong with it.
        reason: String,
    },
    /// The database has no genesis yet ([`crate::ChainDb::init_genesis`] first).
    #[error("database holds no chain: initialise it with a genesis first")]
    NoGenesis,
    /// A genesis header must be block 0.
    #[error("block {0} cannot be a genesis")]
    NotGenesis(u64),
    /// The database belongs to another chain.
    #[error("database holds genesis {stored}, not {given}")]
    GenesisMismatch {
        /// The genesis hash on disk.
        stored: B256,
        /// The genesis hash offered.
        given: B256,
    },
    /// A block to commit is not the child of the execution checkpoint.
    #[error("block {number} (parent {parent}) does not extend the head {head} ({head_hash})")]
    NotChild {
        /// The block's number.
        number: u64,
        /// The block's parent hash.
        parent: B256,
        /// The head's number.
        head: u64,
        /// The head's hash.
        head_hash: B256,
    },
    /// The hash given for a header is not the header's.
    #[error("block hash {given} is not its header's hash {computed}")]
    HashMismatch {
        /// The hash offered.
        given: B256,
        /// The header's hash.
        computed: B256,
    },
    /// The root a block was verified against is not the one its header commits to.
    #[error("block {number}: state root {given} is not the header's {header}")]
    RootMismatch {
        /// The block's number.
        number: u64,
        /// The root offered.
        given: B256,
        /// The header's state root.
        header: B256,
    },
    /// An unwind target above the head.
    #[error("cannot unwind to {target}: the head is {head}")]
    UnwindAhead {
        /// The block asked for.
        target: u64,
        /// The head.
        head: u64,
    },
    /// A stage checkpoint names a block whose header, hash or root is not stored: the data
    /// behind it was lost or never written.
    #[error("{stage:?} checkpoint at block {number} is ahead of the stored chain: {reason}")]
    CheckpointAhead {
        /// The stage.
        stage: Stage,
        /// The block the checkpoint names.
        number: u64,
        /// What is missing or different.
        reason: &'static str,
    },
    /// The root recomputed from plain state is not the stored one.
    #[error("state at block {number} hashes to {computed}, but {stored} is stored")]
    StateRootMismatch {
        /// The head.
        number: u64,
        /// The root of the plain state.
        computed: B256,
        /// The root of the checkpoint and the header.
        stored: B256,
    },
    /// The stored trie's root node is not the checkpoint's root.
    #[error("stored trie at block {number} has root {stored}, the checkpoint says {expected}")]
    StoredTrieMismatch {
        /// The head.
        number: u64,
        /// The hash of the stored root node.
        stored: B256,
        /// The checkpoint's root.
        expected: B256,
    },
    /// An account refers to code the database does not hold.
    #[error("code {0} is not stored")]
    MissingCode(B256),
}

impl DBErrorMarker for StorageError {}

/// A row that does not decode.
pub(crate) fn corrupt(table: Table, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        table,
        reason: reason.to_string(),
    }
}
