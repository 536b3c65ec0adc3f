//! Hashing: turning dirty nodes into the references their parents embed.
//!
//! A node's reference is set through `&self` (each slot's cache is a `OnceLock`), which is what
//! lets the top-level subtries of one trie be hashed on several threads at once: the subtries
//! are disjoint, so every cache is filled exactly once, by the thread that owns its subtrie,
//! and nothing has to be written back afterwards.

use rayon::prelude::*;

use super::{
    Trie,
    encode::{NodeRef, encode_branch, encode_extension, encode_leaf},
    store::{Node, NodeId, NodeStore},
};

/// How many dirty children the root must have before hashing them in parallel pays off.
const PARALLEL_MIN_DIRTY: usize = 2;

impl<S: NodeStore> Trie<S> {
    /// The reference of `id`, computing and caching it if the node is dirty (on this thread).
    pub(super) fn reference(&self, id: NodeId) -> NodeRef {
        let slot = self.store.get(id);
        *slot.cached.get_or_init(|| self.compute(id))
    }

    /// The reference of node `id`, from its children's references.
    fn compute(&self, id: NodeId) -> NodeRef {
        match &self.store.get(id).node {
            Node::Leaf { path, value } => {
                encode_leaf(self.store.bytes(*path), self.store.bytes(*value))
            }
            Node::Extension { path, child } => {
                encode_extension(self.store.bytes(*path), &self.reference(*child))
            }
            Node::Branch { children, value } => {
                let children = self.store.children(*children);
                let refs = std::array::from_fn(|i| children.get(i).map(|c| self.reference(c)));
                encode_branch(&refs, value.map(|v| self.store.bytes(v)))
            }
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
    }

    /// The reference of `id`, hashing the dirty children of a branch root in parallel.
    pub(super) fn reference_parallel(&mut self, id: NodeId) -> NodeRef {
        let root = self.store.get(id);
        let dirty: Vec<NodeId> = match &root.node {
            Node::Branch { children, .. } if root.cached.get().is_none() => self
                .store
                .children(*children)
                .iter()
                .map(|(_, c)| c)
                .filter(|c| self.store.get(*c).cached.get().is_none())
                .collect(),
            _ => Vec::new(),
        };
        if dirty.len() >= PARALLEL_MIN_DIRTY {
            dirty.par_iter().for_each(|&child| {
                self.reference(child);
            });
        }
        self.reference(id)
    }
}
