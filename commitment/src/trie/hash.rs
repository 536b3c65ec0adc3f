//! Hashing: turning dirty nodes into the references their parents embed.
//!
//! References are computed through `&self` and written back afterwards, which is what lets the
//! top-level subtries of one trie be hashed on several threads at once: each thread reads the
//! shared arena and returns the references it computed.

use rayon::prelude::*;

use super::{
    Trie,
    encode::{node_ref, rlp_bytes, rlp_list},
    nibbles::hex_prefix,
    store::{Node, NodeId, NodeStore},
};

/// How many dirty children the root must have before hashing them in parallel pays off.
const PARALLEL_MIN_DIRTY: usize = 2;

/// References computed during one hashing pass, to be cached.
type Fresh = Vec<(NodeId, Vec<u8>)>;

impl<S: NodeStore> Trie<S> {
    /// Appends the reference of `id` to `out`, computing it (and recording it in `fresh`) if
    /// the node is dirty.
    fn append_ref(&self, id: NodeId, out: &mut Vec<u8>, fresh: &mut Fresh) {
        match &self.store.get(id).cached {
            Some(cached) => out.extend_from_slice(cached),
            None => {
                let reference = self.compute(id, fresh);
                out.extend_from_slice(&reference);
                fresh.push((id, reference));
            }
        }
    }

    /// The reference of node `id`, from its children's references.
    fn compute(&self, id: NodeId, fresh: &mut Fresh) -> Vec<u8> {
        let mut payload = Vec::with_capacity(128);
        match &self.store.get(id).node {
            Node::Leaf { path, value } => {
                rlp_bytes(&hex_prefix(path, true), &mut payload);
                rlp_bytes(value, &mut payload);
            }
            Node::Extension { path, child } => {
                rlp_bytes(&hex_prefix(path, false), &mut payload);
                self.append_ref(*child, &mut payload, fresh);
            }
            Node::Branch { children, value } => {
                for child in children.iter() {
                    match child {
                        Some(c) => self.append_ref(*c, &mut payload, fresh),
                        None => payload.push(alloy_rlp::EMPTY_STRING_CODE),
                    }
                }
                match value {
                    Some(v) => rlp_bytes(v, &mut payload),
                    None => payload.push(alloy_rlp::EMPTY_STRING_CODE),
                }
            }
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
        node_ref(rlp_list(&payload))
    }

    fn write_back(&mut self, fresh: Fresh) {
        for (id, reference) in fresh {
            self.store.get_mut(id).cached = Some(reference);
        }
    }

    /// The reference of `id` on this thread only, caching everything it computes.
    pub(super) fn reference_serial(&mut self, id: NodeId) -> Vec<u8> {
        if let Some(cached) = &self.store.get(id).cached {
            return cached.clone();
        }
        let mut fresh = Fresh::new();
        let reference = self.compute(id, &mut fresh);
        fresh.push((id, reference.clone()));
        self.write_back(fresh);
        reference
    }

    /// The reference of `id`, hashing the dirty children of a branch root in parallel.
    pub(super) fn reference_parallel(&mut self, id: NodeId) -> Vec<u8> {
        let dirty: Vec<NodeId> = match &self.store.get(id).node {
            Node::Branch { children, .. } if self.store.get(id).cached.is_none() => children
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
