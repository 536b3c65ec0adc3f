//! Giving memory back: clean subtrees collapse to their hash, to be revealed again from the
//! source when a read or write next reaches them.
//!
//! What stays is the top of the trie, level by level, as deep as the budget allows: the
//! levels near the root are on every path, so they are the ones every block needs again
//! (reth prunes its sparse trie to a depth for the same reason). Only nodes the source holds
//! as they are may collapse: hashed (their parent embeds a hash, not the node), not changed
//! since the last export, and not the root.

use std::mem::size_of;

use super::{
    Layout, Trie,
    store::{Children, Node, NodeId, NodeStore, Slot},
    subtrie::Subtrie,
};

impl<S: NodeStore> Trie<S> {
    /// Collapses clean subtrees so that the resident nodes take at most `budget` bytes (or as
    /// close as keeping the root allows), and returns the bytes still resident. Only a trie
    /// opened over a source collapses anything; it re-reads what it gave back on demand.
    pub fn retain(&mut self, budget: usize) -> usize {
        match &mut self.layout {
            Layout::Whole(trie) if trie.source.is_some() => trie.retain(budget),
            Layout::Whole(trie) => trie.resident_bytes(),
            Layout::Sharded(shards) => shards.shards.iter().map(Subtrie::resident_bytes).sum(),
        }
    }

    /// Bytes taken by the resident nodes: a slot each, a child table per branch, their paths
    /// and values (not the free capacity the store keeps for reuse).
    pub fn resident_bytes(&self) -> usize {
        match &self.layout {
            Layout::Whole(trie) => trie.resident_bytes(),
            Layout::Sharded(shards) => shards.shards.iter().map(Subtrie::resident_bytes).sum(),
        }
    }
}

impl<S: NodeStore> Subtrie<S> {
    fn resident_bytes(&self) -> usize {
        let mut bytes = 0;
        let mut level: Vec<NodeId> = self.root.into_iter().collect();
        while !level.is_empty() {
            bytes += level.iter().map(|&id| self.node_bytes(id)).sum::<usize>();
            level = self.next_level(&level);
        }
        bytes
    }

    /// Walks the trie level by level from the root, only as deep as the budget reaches:
    /// levels 0..=keep are kept, the deepest that fits together with the slot each
    /// collapsed node of the next level still takes, and that next level collapses. A trie
    /// that fits is walked once; one that does not, down to the first level that does not.
    fn retain(&mut self, budget: usize) -> usize {
        let Some(root) = self.root else { return 0 };
        let mut kept = 0;
        let mut level = vec![root];
        let mut depth = 0;
        loop {
            let bytes: usize = level.iter().map(|&id| self.node_bytes(id)).sum();
            let next = self.next_level(&level);
            if next.is_empty() {
                return kept + bytes;
            }
            let stubs = next.len() * size_of::<Slot>();
            if depth > 0 && kept + bytes + stubs > budget {
                // Level `depth` does not fit: it collapses (what may not stays, with its
                // children collapsing instead).
                return kept + self.collapse_below(root, 0, depth);
            }
            kept += bytes;
            level = next;
            depth += 1;
        }
    }

    /// The bytes one resident node takes: its slot, and its path, value or child table.
    fn node_bytes(&self, id: NodeId) -> usize {
        let spans = match self.store.get(id).node {
            Node::Leaf { path, value } => path.len() + value.len(),
            Node::Extension { path, .. } => path.len(),
            Node::Branch { value, .. } => size_of::<Children>() + value.map_or(0, |v| v.len()),
            Node::Hashed | Node::Vacant => 0,
        };
        size_of::<Slot>() + spans
    }

    fn next_level(&self, level: &[NodeId]) -> Vec<NodeId> {
        level
            .iter()
            .flat_map(|&id| self.children(self.store.get(id).node))
            .collect()
    }

    fn children(&self, node: Node) -> impl Iterator<Item = NodeId> + '_ {
        let (table, single) = match node {
            Node::Branch { children, .. } => (Some(self.store.children(children)), None),
            Node::Extension { child, .. } => (None, Some(child)),
            _ => (None, None),
        };
        table
            .into_iter()
            .flat_map(|t| t.iter().map(|(_, c)| c))
            .chain(single)
    }

    /// Collapses every collapsible node at level `level` or, where one is not, the first
    /// collapsible nodes below it. Returns the bytes still resident from `level` down (a
    /// collapsed node keeps its slot).
    fn collapse_below(&mut self, id: NodeId, depth: usize, level: usize) -> usize {
        if depth >= level && self.collapsible(id) {
            self.collapse(id);
            return size_of::<Slot>();
        }
        let own = if depth >= level {
            self.node_bytes(id)
        } else {
            0
        };
        let children: Vec<NodeId> = self.children(self.store.get(id).node).collect();
        own + children
            .into_iter()
            .map(|child| self.collapse_below(child, depth + 1, level))
            .sum::<usize>()
    }

    fn collapsible(&self, id: NodeId) -> bool {
        let slot = self.store.get(id);
        !matches!(slot.node, Node::Hashed)
            && slot.cached.get().is_some_and(|r| r.is_hash())
            && self.log.as_ref().is_some_and(|log| !log.is_changed(id))
    }

    /// Frees everything below `id` and leaves it unrevealed, its reference kept.
    fn collapse(&mut self, id: NodeId) {
        let node = std::mem::replace(&mut self.store.get_mut(id).node, Node::Hashed);
        self.free(node);
    }

    fn free(&mut self, node: Node) {
        let children: Vec<NodeId> = self.children(node).collect();
        if let Node::Branch { children, .. } = node {
            self.store.release_children(children);
        }
        for child in children {
            let node = self.store.get(child).node;
            self.store.release(child);
            self.free(node);
        }
    }
}
