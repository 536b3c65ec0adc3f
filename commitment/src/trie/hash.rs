//! Hashing: turning dirty nodes into the references their parents embed.
//!
//! A node's reference is set through `&self` (each slot's cache is a `OnceLock`): hashing reads
//! the trie and fills caches, it never restructures, so it needs no exclusive borrow.

use super::{
    encode::{Encoded, NodeRef, encode_branch, encode_extension, encode_leaf},
    store::{Children, Node, NodeId, NodeStore},
    subtrie::Subtrie,
};

impl<S: NodeStore> Subtrie<S> {
    /// The reference of `id`, computing and caching it if the node is dirty.
    pub(super) fn reference(&self, id: NodeId) -> NodeRef {
        let slot = self.store.get(id);
        *slot.cached.get_or_init(|| self.encode(id))
    }

    /// The reference of the top node, if any.
    pub(super) fn root_reference(&self) -> Option<NodeRef> {
        self.root.map(|id| self.reference(id))
    }

    /// The reference (or RLP) of node `id`, from its children's references.
    pub(super) fn encode<E: Encoded>(&self, id: NodeId) -> E {
        match &self.store.get(id).node {
            Node::Leaf { path, value } => {
                encode_leaf(self.store.bytes(*path), self.store.bytes(*value))
            }
            Node::Extension { path, child } => {
                encode_extension(self.store.bytes(*path), &self.reference(*child))
            }
            Node::Branch { children, value } => {
                let children = self.store.children(*children);
                self.warm_children(children);
                let refs = std::array::from_fn(|i| children.get(i).map(|c| self.reference(c)));
                encode_branch(&refs, value.map(|v| self.store.bytes(v)))
            }
            Node::Hashed => unreachable!("an unrevealed node is created with its reference"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
    }

    /// Reads every child's cache state before any is used. The loads are independent, so the
    /// CPU overlaps their misses; after an update most children are clean and cold, and
    /// reading them one reference at a time waited for each miss in turn.
    fn warm_children(&self, children: &Children) {
        let initialized = children.iter().fold(0, |n, (_, c)| {
            n + usize::from(self.store.get(c).cached.get().is_some())
        });
        std::hint::black_box(initialized);
    }

    /// The reference (or RLP) the top node would have one nibble deeper, behind `nibble`: what
    /// the root of a trie is when all its keys start with `nibble` (the only non-empty shard).
    pub(super) fn lifted<E: Encoded>(&self, nibble: u8) -> Option<E> {
        let id = self.root?;
        let joined = |path: &[u8]| [&[nibble][..], path].concat();
        Some(match &self.store.get(id).node {
            Node::Leaf { path, value } => {
                encode_leaf(&joined(self.store.bytes(*path)), self.store.bytes(*value))
            }
            Node::Extension { path, child } => {
                encode_extension(&joined(self.store.bytes(*path)), &self.reference(*child))
            }
            Node::Branch { .. } => encode_extension(&[nibble], &self.reference(id)),
            Node::Hashed => unreachable!("shards are built in memory, never opened over a source"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        })
    }
}
