//! Where a trie's nodes live when they are not resident: a [`NodeSource`] (an embedded
//! database in a node, a map in tests) answers "the node stored at this path of this trie".
//!
//! A node is stored under its nibble path from its trie's root (one nibble per byte), the way
//! reth's trie tables and Erigon's commitment domain key them: a path names a position, not a
//! content, so a changed node overwrites its predecessor in place and a block's trie diff is
//! its changed paths. Only nodes whose RLP has 32 bytes or more are stored on their own
//! (shorter ones travel inline in their parent's RLP); the root always is, since nothing
//! embeds it.

use std::sync::Arc;

use alloy_primitives::{B256, Bytes};

/// Which trie a node belongs to: the account trie, or the storage trie of one account (by
/// keccak(address), the account's key in the account trie).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// The account trie, whose leaves are the accounts.
    Account,
    /// The storage trie of the account keyed by this keccak(address).
    Storage(B256),
}

/// Read access to stored trie nodes, shared by every trie opened over it.
pub trait NodeSource: Send + Sync {
    /// The RLP of the node stored at `path` (nibbles, one per byte) in `owner`'s trie, or
    /// `None` if none is stored there.
    fn node(&self, owner: Owner, path: &[u8]) -> Result<Option<Bytes>, SourceError>;
}

/// A source's own failure (I/O, a corrupt page), kept as the error it reported.
#[derive(Clone, Debug, thiserror::Error)]
#[error(transparent)]
pub struct SourceError(Arc<dyn std::error::Error + Send + Sync>);

impl SourceError {
    /// Wraps a source's own error (a database's, say), kept whole for `source()` and
    /// `Display`; cheap to clone, as every trie that hit it keeps a copy.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

/// Why a node could not be revealed. Every variant names the trie and the path.
///
/// A stored node is checked against the reference its parent holds before it is used, so any
/// of these means the source could not be read or does not hold the trie it was opened at.
/// A read returns it; a write that needed the node is not applied, and the first such error
/// waits for [`Trie::try_root`](super::Trie::try_root).
#[derive(Clone, Debug, thiserror::Error)]
pub enum TrieError {
    /// The source itself failed (I/O, a corrupt page).
    #[error("trie node source failed at {owner:?} path {path:02x?}: {source}")]
    Source {
        /// The trie the node belongs to.
        owner: Owner,
        /// The node's nibble path from its trie's root, one nibble per byte.
        path: Vec<u8>,
        /// The source's error.
        source: SourceError,
    },
    /// The parent references a node the source does not hold.
    #[error("trie node missing at {owner:?} path {path:02x?}")]
    MissingNode {
        /// The trie the node belongs to.
        owner: Owner,
        /// The node's nibble path from its trie's root, one nibble per byte.
        path: Vec<u8>,
    },
    /// The stored RLP's keccak is not the hash the parent references: a stale or corrupt
    /// node.
    #[error("trie node at {owner:?} path {path:02x?} does not hash to its parent's reference")]
    HashMismatch {
        /// The trie the node belongs to.
        owner: Owner,
        /// The node's nibble path from its trie's root, one nibble per byte.
        path: Vec<u8>,
    },
    /// The stored bytes hash right but do not decode as a leaf, extension or branch.
    #[error("trie node at {owner:?} path {path:02x?} is not a node: {reason}")]
    Decode {
        /// The trie the node belongs to.
        owner: Owner,
        /// The node's nibble path from its trie's root, one nibble per byte.
        path: Vec<u8>,
        /// What the decoder found wrong.
        reason: &'static str,
    },
}

/// A trie's link to its source: which trie it is there, and where its own nodes sit below
/// that trie's root (the shard nibble of a shard, nothing for a whole trie).
#[derive(Clone)]
pub(super) struct SourceLink {
    pub(super) source: Arc<dyn NodeSource>,
    pub(super) owner: Owner,
    pub(super) prefix: Vec<u8>,
    /// The first reveal a write needed and could not make (see [`super::Trie::try_root`]).
    pub(super) error: Option<TrieError>,
}

impl std::fmt::Debug for SourceLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceLink")
            .field("owner", &self.owner)
            .field("prefix", &self.prefix)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}
