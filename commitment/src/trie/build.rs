//! Building a trie from a full set of leaves at once.
//!
//! Leaves sorted by key form contiguous groups per nibble, so the trie can be built top-down
//! without ever walking an existing path: each node is created once, after its children, and
//! hashed right away from the references they returned.
//!
//! A big trie is built as its sixteen shards, one per first nibble, in parallel. Each shard is
//! sized exactly first (nodes, child tables, arena bytes), so its store's vectors are allocated
//! once and filled front to back, never grown or copied.

use std::ops::AddAssign;

use rayon::prelude::*;

use super::{
    Layout, SHARD_MIN_LEAVES, Trie,
    encode::{NodeRef, encode_branch, encode_extension, encode_key_leaf},
    nibbles::{nibble, unpack_into},
    shards::Shards,
    store::{Children, MemoryStore, Node, NodeId, Slot, Span, TableId},
    subtrie::Subtrie,
};

/// A key (packed bytes) and its value.
type Leaf<'a> = (&'a [u8], &'a [u8]);

/// Subtries this small have their values touched before they are built.
const WARM_LEAVES: usize = 64;

/// Reads the first byte of every value. The loads are independent, so the CPU overlaps
/// their cache misses; copying the values one leaf at a time would wait for each in turn.
fn warm(leaves: &[Leaf<'_>]) {
    let touched = leaves
        .iter()
        .fold(0u8, |acc, (_, v)| acc ^ v.first().copied().unwrap_or(0));
    std::hint::black_box(touched);
}

/// How the top of the subtrie over sorted `leaves` (sharing their first `depth` nibbles) looks.
/// A short-lived stack value, so the size of `Split` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Shape<'l, 'k> {
    Leaf(Leaf<'k>),
    /// `shared` more nibbles common to all keys (an extension if non-zero), then a branch with
    /// the value of the key ending there and the leaves grouped by their next nibble.
    Split {
        shared: usize,
        value: Option<&'k [u8]>,
        groups: [&'l [Leaf<'k>]; 16],
    },
}

fn shape<'l, 'k>(leaves: &'l [Leaf<'k>], depth: usize) -> Shape<'l, 'k> {
    if let [leaf] = leaves {
        return Shape::Leaf(*leaf);
    }
    let (first, last) = (leaves[0].0, leaves[leaves.len() - 1].0);
    // Sorted input: what the first and last keys share, every key shares.
    let end = first.len().min(last.len()) * 2;
    let shared = (depth..end)
        .take_while(|&i| nibble(first, i) == nibble(last, i))
        .count();
    let at = depth + shared;
    let (value, rest) = match leaves.split_first() {
        Some(((key, value), rest)) if key.len() * 2 == at => (Some(*value), rest),
        _ => (None, leaves),
    };
    Shape::Split {
        shared,
        value,
        groups: by_nibble(rest, at),
    }
}

/// Sorted `leaves`, all longer than `at` nibbles and sharing the nibbles before it, grouped
/// by nibble `at`.
fn by_nibble<'l, 'k>(mut leaves: &'l [Leaf<'k>], at: usize) -> [&'l [Leaf<'k>]; 16] {
    let mut groups: [&[Leaf<'k>]; 16] = [&[]; 16];
    while let Some((key, _)) = leaves.first() {
        let n = nibble(key, at);
        // A forward scan, not a binary search: the keys are read in order, which the
        // prefetcher follows, and every one of them is hashed soon anyway.
        let len = leaves
            .iter()
            .take_while(|(k, _)| nibble(k, at) == n)
            .count();
        (groups[n as usize], leaves) = leaves.split_at(len);
    }
    groups
}

/// Nodes, branch child tables and arena bytes a subtrie takes.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    tables: usize,
    bytes: usize,
}

impl AddAssign for Size {
    fn add_assign(&mut self, other: Size) {
        self.nodes += other.nodes;
        self.tables += other.tables;
        self.bytes += other.bytes;
    }
}

/// The size of the branch (and extension) at the top of a split, without its children.
fn split_top(shared: usize, value: Option<&[u8]>) -> Size {
    Size {
        nodes: 1 + usize::from(shared > 0),
        tables: 1,
        bytes: shared + value.map_or(0, <[u8]>::len),
    }
}

fn size(leaves: &[Leaf<'_>], depth: usize) -> Size {
    match shape(leaves, depth) {
        Shape::Leaf((key, value)) => Size {
            nodes: 1,
            tables: 0,
            bytes: key.len() * 2 - depth + value.len(),
        },
        Shape::Split {
            shared,
            value,
            groups,
        } => {
            let mut total = split_top(shared, value);
            for group in groups.iter().filter(|g| !g.is_empty()) {
                total += size(group, depth + shared + 1);
            }
            total
        }
    }
}

/// The vectors of one store under construction, allocated at their final sizes and filled
/// front to back by one thread.
struct Builder {
    slots: Vec<Slot>,
    tables: Vec<Children>,
    bytes: Vec<u8>,
}

impl Builder {
    fn with_capacity(size: Size) -> Builder {
        Builder {
            slots: Vec::with_capacity(size.nodes),
            tables: Vec::with_capacity(size.tables),
            bytes: Vec::with_capacity(size.bytes),
        }
    }

    fn into_store(self) -> MemoryStore {
        MemoryStore::from_parts(self.slots, self.tables, self.bytes)
    }

    fn copy(&mut self, data: &[u8]) -> Span {
        let span = Span::new(self.bytes.len(), data.len());
        self.bytes.extend_from_slice(data);
        span
    }

    /// Nibbles `from..to` of a packed key, unpacked into the arena.
    fn nibbles(&mut self, key: &[u8], from: usize, to: usize) -> Span {
        let span = Span::new(self.bytes.len(), to - from);
        self.bytes.resize(span.end(), 0);
        unpack_into(key, from, &mut self.bytes[span.range()]);
        span
    }

    /// Stores a hashed node under the next id.
    fn put(&mut self, node: Node, reference: NodeRef) -> (NodeId, NodeRef) {
        let id = self.slots.len() as NodeId;
        self.slots.push(Slot {
            node,
            cached: reference.into(),
        });
        (id, reference)
    }

    /// Stores a branch's child table under the next table id.
    fn put_children(&mut self, children: Children) -> TableId {
        self.tables.push(children);
        (self.tables.len() - 1) as TableId
    }

    /// Builds and hashes the subtrie over `leaves`, which share their first `depth` nibbles.
    fn build(&mut self, leaves: &[Leaf<'_>], depth: usize) -> (NodeId, NodeRef) {
        match shape(leaves, depth) {
            Shape::Leaf((key, value)) => {
                let path = self.nibbles(key, depth, key.len() * 2);
                let value_span = self.copy(value);
                let reference = encode_key_leaf(key, depth, value);
                self.put(
                    Node::Leaf {
                        path,
                        value: value_span,
                    },
                    reference,
                )
            }
            Shape::Split {
                shared,
                value,
                groups,
            } => {
                if leaves.len() <= WARM_LEAVES {
                    warm(leaves);
                }
                let mut children = [None; 16];
                for (n, group) in groups.iter().enumerate() {
                    if !group.is_empty() {
                        children[n] = Some(self.build(group, depth + shared + 1));
                    }
                }
                self.finish_split(leaves[0].0, depth, shared, value, children)
            }
        }
    }

    /// The branch over already built `children`, behind an extension of `shared` nibbles of
    /// `key` from `depth` if there is one.
    fn finish_split(
        &mut self,
        key: &[u8],
        depth: usize,
        shared: usize,
        value: Option<&[u8]>,
        children: [Option<(NodeId, NodeRef)>; 16],
    ) -> (NodeId, NodeRef) {
        let refs = children.map(|c| c.map(|(_, r)| r));
        let reference = encode_branch(&refs, value);
        let value = value.map(|v| self.copy(v));
        let mut table = Children::EMPTY;
        for (n, child) in children.iter().enumerate() {
            table.set(n, child.map(|(id, _)| id));
        }
        let children = self.put_children(table);
        let branch = self.put(Node::Branch { children, value }, reference);
        if shared == 0 {
            return branch;
        }
        let path = self.nibbles(key, depth, depth + shared);
        let reference = encode_extension(&self.bytes[path.range()], &branch.1);
        self.put(
            Node::Extension {
                path,
                child: branch.0,
            },
            reference,
        )
    }
}

/// The subtrie over sorted `leaves` sharing their first `depth` nibbles, built and hashed on
/// the calling thread.
fn build_subtrie(leaves: &[Leaf<'_>], depth: usize) -> Subtrie<MemoryStore> {
    if leaves.is_empty() {
        return Subtrie::default();
    }
    let mut builder = Builder::with_capacity(size(leaves, depth));
    let (root, _) = builder.build(leaves, depth);
    Subtrie {
        store: builder.into_store(),
        root: Some(root),
        ..Subtrie::default()
    }
}

/// The sixteen shards over sorted `leaves`, built in parallel; the empty key, if present,
/// is the value of the root branch and belongs to no shard.
fn build_shards(leaves: &[Leaf<'_>]) -> Shards<MemoryStore> {
    let (value, rest) = match leaves.split_first() {
        Some((([], value), rest)) => (Some(value.to_vec()), rest),
        _ => (None, leaves),
    };
    let built: Vec<Subtrie<MemoryStore>> = by_nibble(rest, 0)
        .into_par_iter()
        .map(|group| build_subtrie(group, 1))
        .collect();
    match built.try_into() {
        Ok(shards) => Shards::new(shards, value),
        Err(_) => unreachable!("one subtrie per nibble"),
    }
}

/// `leaves` as references sorted by key, deduplicated ("last wins") and without empty values.
/// Big inputs are scanned and sorted on all threads: these passes run before the parallel
/// build can start, so on one thread they would be the build's serial fraction.
fn prepare<'a, K, V>(leaves: &'a [(K, V)]) -> Vec<Leaf<'a>>
where
    K: AsRef<[u8]> + Sync,
    V: AsRef<[u8]> + Sync,
{
    let parallel = leaves.len() >= SHARD_MIN_LEAVES;
    let as_ref = |(k, v): &'a (K, V)| (k.as_ref(), v.as_ref());
    let mut refs: Vec<Leaf<'_>> = if parallel {
        leaves.par_iter().map(as_ref).collect()
    } else {
        leaves.iter().map(as_ref).collect()
    };
    let ascending = |w: &[Leaf<'_>]| w[0].0 < w[1].0;
    let sorted = if parallel {
        refs.par_windows(2).all(ascending)
    } else {
        refs.windows(2).all(ascending)
    };
    if !sorted {
        // Stable: among equal keys the input order survives, so the one kept takes the value
        // of the last ("last wins").
        refs.par_sort_by(|a, b| a.0.cmp(b.0));
        refs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
    }
    let empty = |(_, v): &Leaf<'_>| v.is_empty();
    let any_empty = if parallel {
        refs.par_iter().any(empty)
    } else {
        refs.iter().any(empty)
    };
    if any_empty {
        refs.retain(|leaf| !empty(leaf));
    }
    refs
}

impl Trie {
    /// A trie holding `leaves` (key, value), as if inserted in order: for a repeated key the
    /// last value wins, and an empty value means "absent". Fastest when sorted by key.
    pub fn from_leaves<K, V>(leaves: &[(K, V)]) -> Self
    where
        K: AsRef<[u8]> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        let refs = prepare(leaves);
        let layout = if refs.len() >= SHARD_MIN_LEAVES {
            Layout::Sharded(Box::new(build_shards(&refs)))
        } else {
            Layout::Whole(build_subtrie(&refs, 0))
        };
        Trie {
            layout,
            len: refs.len(),
        }
    }
}
