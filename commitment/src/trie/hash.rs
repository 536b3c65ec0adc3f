//! Hashing: turning dirty nodes into the references their parents embed.
//!
//! References are computed through `&self` and written back afterwards, which is what lets the
//! top-level subtries of one trie be hashed on several threads at once: each thread reads the
//! shared arena and returns the references it computed.

use rayon::prelude::*;

use super::{
    Trie,
    encode::{NodeRef, encode_node, rlp_bytes, rlp_path},
    store::{Node, NodeId, NodeStore},
};

/// How many dirty children the root must have before hashing them in parallel pays off.
const PARALLEL_MIN_DIRTY: usize = 2;

/// References computed during one hashing pass, to be cached.
type Fresh = Vec<(NodeId, NodeRef)>;

impl<S: NodeStore> Trie<S> {
    /// The reference of `id`, computing it (and recording it in `fresh`) if the node is dirty.
    fn child_ref(&self, id: NodeId, fresh: &mut Fresh) -> NodeRef {
        match self.store.get(id).cached {
            Some(cached) => cached,
            None => {
                let reference = self.compute(id, fresh);
                fresh.push((id, reference));
                reference
            }
        }
    }

    /// The reference of node `id`, from its children's references.
    fn compute(&self, id: NodeId, fresh: &mut Fresh) -> NodeRef {
        match &self.store.get(id).node {
            Node::Leaf { path, value } => encode_node(|buf| {
                rlp_path(path, true, buf);
                rlp_bytes(value, buf);
            }),
            Node::Extension { path, child } => {
                let child = self.child_ref(*child, fresh);
                encode_node(|buf| {
                    rlp_path(path, false, buf);
                    buf.extend_from_slice(child.as_slice());
                })
            }
            Node::Branch { children, value } => {
                let refs: [Option<NodeRef>; 16] =
                    std::array::from_fn(|i| children[i].map(|c| self.child_ref(c, fresh)));
                encode_node(|buf| {
                    for r in &refs {
                        match r {
                            Some(r) => buf.extend_from_slice(r.as_slice()),
                            None => buf.push(alloy_rlp::EMPTY_STRING_CODE),
                        }
                    }
                    match value {
                        Some(v) => rlp_bytes(v, buf),
                        None => buf.push(alloy_rlp::EMPTY_STRING_CODE),
                    }
                })
            }
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
    }

    fn write_back(&mut self, fresh: Fresh) {
        for (id, reference) in fresh {
            self.store.get_mut(id).cached = Some(reference);
        }
    }

    /// The reference of `id` on this thread only, caching everything it computes.
    pub(super) fn reference_serial(&mut self, id: NodeId) -> NodeRef {
        if let Some(cached) = self.store.get(id).cached {
            return cached;
        }
        let mut fresh = Fresh::new();
        let reference = self.compute(id, &mut fresh);
        fresh.push((id, reference));
        self.write_back(fresh);
        reference
    }

    /// The reference of `id`, hashing the dirty children of a branch root in parallel.
    pub(super) fn reference_parallel(&mut self, id: NodeId) -> NodeRef {
        let root = self.store.get(id);
        let dirty: Vec<NodeId> = match &root.node {
            Node::Branch { children, .. } if root.cached.is_none() => children
                .iter()
                .flatten()
                .copied()
                .filter(|c| self.store.get(*c).cached.is_none())
                .collect(),
            _ => Vec::new(),
        };
        if dirty.len() >= PARALLEL_MIN_DIRTY {
            let computed: Vec<Fresh> = dirty
                .par_iter()
                .map(|&child| {
                    let mut fresh = Fresh::new();
                    let reference = self.compute(child, &mut fresh);
                    fresh.push((child, reference));
                    fresh
                })
                .collect();
            for fresh in computed {
                self.write_back(fresh);
            }
        }
        self.reference_serial(id)
    }
}
