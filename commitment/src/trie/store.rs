//! Where trie nodes live. [`NodeStore`] is the seam between the trie's algorithms and its
//! storage: the in-memory [`MemoryStore`] arena now, an embedded database's page cache later,
//! without touching insert, delete or hashing.
//!
//! Paths and values are not owned by their nodes but held as [`Span`]s of one byte arena per
//! store: a million leaves cost two vectors instead of two million allocations, which is most
//! of what a bulk build and its drop would otherwise spend.

use std::sync::OnceLock;

pub use super::encode::NodeRef;

/// Index of a node in its store.
pub type NodeId = u32;

/// A run of bytes in a store's arena: a nibble path (one nibble per byte) or a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// `len` bytes from arena offset `start` (the bulk builder lays out spans itself).
    pub(crate) fn new(start: usize, len: usize) -> Span {
        Span { start, len }
    }

    pub fn len(self) -> usize {
        self.len
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The span without its first `n` bytes: a shorter path over the same bytes, no copy.
    pub fn skip(self, n: usize) -> Span {
        debug_assert!(n <= self.len);
        Span {
            start: self.start + n,
            len: self.len - n,
        }
    }

    /// The first `n` bytes of the span.
    pub fn head(self, n: usize) -> Span {
        debug_assert!(n <= self.len);
        Span { len: n, ..self }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// A trie node. Paths are nibble sequences.
#[derive(Clone, Debug)]
pub enum Node {
    /// A released slot, or a node taken out while it is rewritten in place.
    Vacant,
    Leaf {
        path: Span,
        value: Span,
    },
    Extension {
        path: Span,
        child: NodeId,
    },
    Branch {
        children: Box<[Option<NodeId>; 16]>,
        value: Option<Span>,
    },
}

impl Node {
    /// Every span the node holds, for moving them to another arena.
    fn spans_mut(&mut self) -> impl Iterator<Item = &mut Span> {
        let (a, b) = match self {
            Node::Leaf { path, value } => (Some(path), Some(value)),
            Node::Extension { path, .. } => (Some(path), None),
            Node::Branch { value, .. } => (value.as_mut(), None),
            Node::Vacant => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// A node and the reference its parent embeds for it (inline RLP or `0xa0 || hash`), which is
/// unset while the node is dirty. Hashing fills it through a shared borrow, so disjoint
/// subtries of one store can be hashed on several threads.
#[derive(Clone, Debug)]
pub struct Slot {
    pub node: Node,
    pub cached: OnceLock<NodeRef>,
}

impl Slot {
    /// A node whose reference is yet to be computed.
    pub const fn dirty(node: Node) -> Slot {
        Slot {
            node,
            cached: OnceLock::new(),
        }
    }
}

/// Storage for trie nodes, addressed by [`NodeId`], and for their paths and values.
pub trait NodeStore: Clone + Default + Send + Sync {
    fn get(&self, id: NodeId) -> &Slot;
    fn get_mut(&mut self, id: NodeId) -> &mut Slot;
    /// Stores a new node and returns its id.
    fn alloc(&mut self, slot: Slot) -> NodeId;
    /// Frees a node that nothing links to any more.
    fn release(&mut self, id: NodeId);
    /// The bytes a span of this store names.
    fn bytes(&self, span: Span) -> &[u8];
    /// Overwrites a span's bytes in place (`bytes.len() == span.len()`).
    fn overwrite(&mut self, span: Span, bytes: &[u8]);
    /// Stores bytes and returns their span.
    fn push_bytes(&mut self, bytes: &[u8]) -> Span;
    /// Reclaims the bytes of released and rewritten nodes. Only called between operations, when
    /// no span is held outside the store, because it moves every span.
    fn maintain(&mut self);
    /// Heap bytes held, for the memory figure.
    fn heap_bytes(&self) -> usize;
}

/// All nodes in one vector with a free list (ids stay stable, freed slots are reused), and
/// all paths and values in one byte arena that is compacted whenever it has doubled since
/// the last compaction, so dead bytes never exceed live ones by much.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    slots: Vec<Slot>,
    free: Vec<NodeId>,
    bytes: Vec<u8>,
    /// Arena length right after the last compaction.
    compacted: usize,
}

/// An arena this small is never worth compacting.
const COMPACT_MIN_BYTES: usize = 1 << 16;

impl MemoryStore {
    /// A store made of a bulk build's finished nodes and bytes.
    pub(crate) fn from_parts(slots: Vec<Slot>, bytes: Vec<u8>) -> Self {
        Self {
            compacted: bytes.len(),
            slots,
            free: Vec::new(),
            bytes,
        }
    }
}

impl NodeStore for MemoryStore {
    fn get(&self, id: NodeId) -> &Slot {
        &self.slots[id as usize]
    }

    fn get_mut(&mut self, id: NodeId) -> &mut Slot {
        &mut self.slots[id as usize]
    }

    fn alloc(&mut self, slot: Slot) -> NodeId {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as NodeId
            }
        }
    }

    fn release(&mut self, id: NodeId) {
        self.slots[id as usize] = Slot::dirty(Node::Vacant);
        self.free.push(id);
    }

    fn bytes(&self, span: Span) -> &[u8] {
        &self.bytes[span.range()]
    }

    fn overwrite(&mut self, span: Span, bytes: &[u8]) {
        self.bytes[span.range()].copy_from_slice(bytes);
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Span {
        let span = Span {
            start: self.bytes.len(),
            len: bytes.len(),
        };
        self.bytes.extend_from_slice(bytes);
        span
    }

    fn maintain(&mut self) {
        if self.bytes.len() < COMPACT_MIN_BYTES.max(2 * self.compacted) {
            return;
        }
        let mut live = Vec::with_capacity(self.bytes.len() / 2);
        for slot in &mut self.slots {
            for span in slot.node.spans_mut() {
                let moved = Span {
                    start: live.len(),
                    len: span.len,
                };
                live.extend_from_slice(&self.bytes[span.range()]);
                *span = moved;
            }
        }
        self.compacted = live.len();
        self.bytes = live;
    }

    fn heap_bytes(&self) -> usize {
        let branch_tables = self
            .slots
            .iter()
            .filter(|s| matches!(s.node, Node::Branch { .. }))
            .count()
            * std::mem::size_of::<[Option<NodeId>; 16]>();
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.free.capacity() * std::mem::size_of::<NodeId>()
            + self.bytes.capacity()
            + branch_tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory figure in the crate docs counts an 80-byte slot per node.
    #[test]
    fn a_slot_is_eighty_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 80);
    }
}
