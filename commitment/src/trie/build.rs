//! Building a trie from a full set of leaves at once.
//!
//! Leaves sorted by key form contiguous groups per nibble, so the trie can be built top-down
//! without ever walking an existing path: each node is created once, after its children, and
//! hashed right away. The top-level groups are built on separate arenas in parallel and then
//! moved into the trie's store.

use rayon::prelude::*;

use super::{
    Trie,
    store::{MemoryStore, Node, NodeId, NodeStore, Slot},
};

/// Below this many leaves a group is built on the calling thread.
const PARALLEL_MIN_LEAVES: usize = 4096;

type Leaf<'a> = (&'a [u8], &'a [u8]);

/// Nibble `i` of a packed key.
fn nibble(key: &[u8], i: usize) -> u8 {
    let byte = key[i / 2];
    if i.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// Nibbles `from..to` of a packed key.
fn nibbles(key: &[u8], from: usize, to: usize) -> Vec<u8> {
    (from..to).map(|i| nibble(key, i)).collect()
}

impl Trie {
    /// A trie holding `leaves` (key, value), as if inserted in order: for a repeated key the
    /// last value wins, and an empty value means "absent". Fastest when sorted by key.
    pub fn from_leaves<K: AsRef<[u8]>, V: AsRef<[u8]>>(leaves: &[(K, V)]) -> Self {
        let mut refs: Vec<Leaf<'_>> = leaves
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        if !refs.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: among equal keys the input order survives, so keeping the last is "last wins".
            refs.sort_by(|a, b| a.0.cmp(b.0));
            refs.reverse();
            refs.dedup_by(|a, b| a.0 == b.0);
            refs.reverse();
        }
        refs.retain(|(_, v)| !v.is_empty());
        let mut trie = Trie::new();
        if !refs.is_empty() {
            trie.len = refs.len();
            let root = trie.build(&refs, 0);
            trie.root = Some(root);
        }
        trie
    }
}

impl<S: NodeStore> Trie<S> {
    /// Builds the subtrie for `leaves`, all of which share their first `depth` nibbles.
    fn build(&mut self, leaves: &[Leaf<'_>], depth: usize) -> NodeId {
        let (first, _) = leaves[0];
        if let [(key, value)] = leaves {
            return self.add(Node::Leaf {
                path: nibbles(key, depth, key.len() * 2),
                value: value.to_vec(),
            });
        }
        let (last, _) = leaves[leaves.len() - 1];
        // Sorted input: what the first and last keys share, every key shares.
        let end = first.len().min(last.len()) * 2;
        let shared = (depth..end)
            .take_while(|&i| nibble(first, i) == nibble(last, i))
            .count();
        if shared == 0 {
            return self.build_branch(leaves, depth);
        }
        let child = self.build_branch(leaves, depth + shared);
        self.add(Node::Extension {
            path: nibbles(first, depth, depth + shared),
            child,
        })
    }

    /// A branch at `depth`: a key ending here becomes its value, the rest group by nibble.
    fn build_branch(&mut self, leaves: &[Leaf<'_>], depth: usize) -> NodeId {
        let (value, rest) = match leaves.split_first() {
            Some(((key, value), rest)) if key.len() * 2 == depth => (Some(value.to_vec()), rest),
            _ => (None, leaves),
        };
        let mut groups: Vec<(u8, &[Leaf<'_>])> = Vec::with_capacity(16);
        let mut start = 0;
        while start < rest.len() {
            let n = nibble(rest[start].0, depth);
            let len = rest[start..]
                .iter()
                .take_while(|(k, _)| nibble(k, depth) == n)
                .count();
            groups.push((n, &rest[start..start + len]));
            start += len;
        }
        let mut children: Box<[Option<NodeId>; 16]> = Box::new([None; 16]);
        if rest.len() >= PARALLEL_MIN_LEAVES && groups.len() > 1 {
            let built: Vec<(u8, Trie, NodeId)> = groups
                .par_iter()
                .map(|(n, group)| {
                    let mut sub = Trie::new();
                    let root = sub.build(group, depth + 1);
                    (*n, sub, root)
                })
                .collect();
            for (n, sub, root) in built {
                children[n as usize] = Some(self.absorb(sub.store, root));
            }
        } else {
            for (n, group) in groups {
                children[n as usize] = Some(self.build(group, depth + 1));
            }
        }
        self.add(Node::Branch { children, value })
    }

    /// Stores a node whose children are already hashed, and hashes it.
    fn add(&mut self, node: Node) -> NodeId {
        let id = self.store.alloc(Slot { node, cached: None });
        self.reference_serial(id);
        id
    }

    /// Moves a separately built arena into this store; returns the new id of its `root`.
    /// The builder allocates children before parents, so one pass can remap every link.
    fn absorb(&mut self, sub: MemoryStore, root: NodeId) -> NodeId {
        let mut map = Vec::new();
        for slot in sub.into_slots() {
            let node = slot.node.remapped(|c| map[c as usize]);
            map.push(self.store.alloc(Slot {
                node,
                cached: slot.cached,
            }));
        }
        map[root as usize]
    }
}
