//! State commitment: the Merkle Patricia Trie and the state root.
//!
//! ```text
//! executor writes ─► AccountUpdate batch ─► StateTrie::apply ─► StateTrie::root ─► == header.stateRoot?
//! ```
//!
//! [`Trie`] is a generic hexary MPT over byte keys with per-node cached hashes, so a root after
//! a small update re-hashes only the changed paths. [`StateTrie`] layers Ethereum's account and
//! storage tries on top of it.

mod state;
mod trie;

pub use alloy_primitives::{Address, B256, U256};
pub use state::{AccountUpdate, MemoryFigure, StateTrie, TrieAccount};
pub use trie::{EMPTY_ROOT, MemoryStore, Node, NodeId, NodeRef, NodeStore, Slot, Trie};
