//! Which stored nodes a trie changed since they were last exported, for persisting them in
//! the same write as the block that changed them.
//!
//! Tracking is opt-in ([`Trie::track_changes`], always on for a trie opened over a source),
//! so the in-memory path pays one untaken branch per node it touches. While on, a subtrie
//! logs the ids of nodes it allocated or rewrote, and the position of every node it freed.
//! A changed node's ancestors are all changed (a write clears the path above it), so the
//! export walks down from the root only through changed nodes: its cost is the block's
//! change, not the trie's size. A clean node never moves (a branch's position is the
//! common prefix of its keys, and moved leaves and extensions are re-created), so
//! everything below an unchanged node is on disk as it was.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Bytes, map::HashSet};

use super::{
    Layout, Trie,
    store::{Node, NodeId, NodeStore},
    subtrie::Subtrie,
};

/// A subtrie's changes since the last export.
#[derive(Clone, Debug, Default)]
pub(super) struct ChangeLog {
    /// Nodes allocated or rewritten (ids of nodes freed since are dropped).
    pub(super) changed: HashSet<NodeId>,
    /// Every node counts as changed: the next export writes the whole trie.
    pub(super) everything: bool,
    /// Positions of freed nodes.
    pub(super) vacated: Vec<Vec<u8>>,
}

impl ChangeLog {
    /// Whether node `id` is to be written (it may be new to the source).
    pub(super) fn is_changed(&self, id: NodeId) -> bool {
        self.everything || self.changed.contains(&id)
    }
}

/// Stored nodes to write and to delete, by nibble path (one nibble per byte) from the root of
/// their trie. Applying both to a store that held the trie at the last export makes it hold
/// exactly the trie now: every node whose RLP has 32 bytes or more, and the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrieChanges {
    /// Path -> node RLP.
    pub written: BTreeMap<Vec<u8>, Bytes>,
    /// Paths that may hold a stored node and no longer do (a path never written is harmless).
    pub removed: BTreeSet<Vec<u8>>,
}

impl TrieChanges {
    /// Whether there is nothing to write or remove (the trie did not change).
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }

    fn write(&mut self, path: Vec<u8>, rlp: Vec<u8>) {
        self.removed.remove(&path);
        self.written.insert(path, rlp.into());
    }

    fn remove(&mut self, path: Vec<u8>) {
        self.written.remove(&path);
        self.removed.insert(path);
    }
}

impl<S: NodeStore> Trie<S> {
    /// Tracks changes from now on; the first [`Self::take_changes`] then exports every node,
    /// which is how an in-memory trie (a genesis built with [`Trie::from_leaves`]) is first
    /// persisted.
    pub fn track_changes(&mut self) {
        let subtries = match &mut self.layout {
            Layout::Whole(trie) => std::slice::from_mut(trie),
            Layout::Sharded(shards) => {
                shards.value_changed = true;
                &mut shards.shards[..]
            }
        };
        for trie in subtries {
            trie.log = Some(Box::new(ChangeLog {
                everything: true,
                ..ChangeLog::default()
            }));
        }
    }

    /// The stored nodes changed since the last call (or since tracking began), hashing what
    /// is dirty first: nodes to write and paths to delete. Empty when changes are not tracked.
    /// For a trie opened over a source, take them once [`Self::try_root`] has succeeded: after
    /// a failed reveal they describe a trie that lacks the write that failed.
    pub fn take_changes(&mut self) -> TrieChanges {
        self.root();
        let mut out = TrieChanges::default();
        match &mut self.layout {
            Layout::Whole(trie) => trie.take_changes(&[], true, &mut out),
            Layout::Sharded(shards) => {
                let changed = shards.value_changed
                    || shards.shards.iter().any(|s| {
                        s.log.as_ref().is_some_and(|l| {
                            l.everything || !l.changed.is_empty() || !l.vacated.is_empty()
                        })
                    });
                if !changed {
                    return out;
                }
                shards.value_changed = false;
                match shards.root_node::<Vec<u8>>() {
                    Some(rlp) => out.write(Vec::new(), rlp),
                    None => out.remove(Vec::new()),
                }
                // With one shard and no root value, that shard's top leaf or extension is the
                // root (one nibble longer, written above) and stores nothing at its own
                // position; once another shard fills, it is stored there again, changed or not.
                let lifted = shards.lifted_shard();
                let unlifted = shards.last_lifted.filter(|&n| lifted != Some(n));
                shards.last_lifted = lifted;
                for (n, trie) in shards.shards.iter_mut().enumerate() {
                    trie.take_changes(&[n as u8], false, &mut out);
                    let top = trie.root.map(|id| (id, trie.store.get(id).node));
                    match top {
                        Some((_, Node::Branch { .. })) | None => {}
                        Some(_) if lifted == Some(n) => out.remove(vec![n as u8]),
                        Some((id, _)) if unlifted == Some(n) => {
                            let rlp: Vec<u8> = trie.encode(id);
                            if rlp.len() >= 32 {
                                out.write(vec![n as u8], rlp);
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        out
    }
}

impl<S: NodeStore> Subtrie<S> {
    /// Moves this subtrie's changes into `out`, its positions behind `prefix`; `is_root`:
    /// its top node is the trie's root, stored whatever its size.
    fn take_changes(&mut self, prefix: &[u8], is_root: bool, out: &mut TrieChanges) {
        let Some(log) = self.log.as_deref_mut().map(std::mem::take) else {
            return;
        };
        for position in &log.vacated {
            out.remove([prefix, position].concat());
        }
        let dirty = log.everything || !log.changed.is_empty() || !log.vacated.is_empty();
        if let Some(root) = self.root {
            self.export(root, &mut prefix.to_vec(), is_root, &log, out);
        } else if is_root && dirty {
            // An emptied trie stores no root; nothing new to say once that is exported.
            out.remove(prefix.to_vec());
        }
    }

    /// Writes node `id` at `position` if it changed and is stored on its own, then the same
    /// for its children.
    fn export(
        &self,
        id: NodeId,
        position: &mut Vec<u8>,
        is_root: bool,
        log: &ChangeLog,
        out: &mut TrieChanges,
    ) {
        let node = self.store.get(id).node;
        if matches!(node, Node::Hashed) || !log.is_changed(id) {
            return;
        }
        let rlp: Vec<u8> = self.encode(id);
        if rlp.len() >= 32 || is_root {
            out.write(position.clone(), rlp);
        } else {
            out.remove(position.clone());
        }
        let depth = position.len();
        match node {
            Node::Branch { children, .. } => {
                for (n, child) in self.store.children(children).iter() {
                    position.push(n as u8);
                    self.export(child, position, false, log, out);
                    position.pop();
                }
            }
            Node::Extension { path, child } => {
                position.extend_from_slice(self.store.bytes(path));
                self.export(child, position, false, log, out);
            }
            _ => {}
        }
        position.truncate(depth);
    }
}
