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

/// Index of a branch's child table in its store.
pub type TableId = u32;

/// A branch's sixteen child links, one cache line: a lookup on the way down touches one line,
/// and branches cost no heap allocation of their own (a million-leaf trie has ~350,000 of
/// them, whose separate boxes took longer to free than the trie took to hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Children([NodeId; 16]);

impl Children {
    /// The link value meaning "no child".
    const NONE: NodeId = NodeId::MAX;

    /// No child at any nibble (a new branch's table before its children are set).
    pub const EMPTY: Children = Children([Self::NONE; 16]);

    /// The child under `nibble` (`0..16`; a larger one panics, as a slice index does).
    pub fn get(&self, nibble: usize) -> Option<NodeId> {
        let id = self.0[nibble];
        (id != Self::NONE).then_some(id)
    }

    /// Links `child` under `nibble` (`0..16`), or unlinks it with `None`; the child's node
    /// is not freed here.
    pub fn set(&mut self, nibble: usize, child: Option<NodeId>) {
        self.0[nibble] = child.unwrap_or(Self::NONE);
    }

    /// The present children with their nibbles, in nibble order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, NodeId)> + '_ {
        (0..16).filter_map(|n| self.get(n).map(|id| (n, id)))
    }
}

impl Default for Children {
    fn default() -> Self {
        Self::EMPTY
    }
}

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

    /// Bytes in the span: nibbles for a path, bytes for a value.
    pub fn len(self) -> usize {
        self.len
    }

    /// Whether the span holds no byte (an empty path: a leaf right at its parent's slot).
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

    /// The arena offset just past the span.
    pub(crate) fn end(self) -> usize {
        self.start + self.len
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start..self.end()
    }
}

/// A trie node. Paths are nibble sequences.
#[derive(Clone, Copy, Debug)]
pub enum Node {
    /// A released slot, or a node taken out while it is rewritten in place.
    Vacant,
    /// The end of a key: the nibbles left of it below the parent, and its value.
    Leaf {
        /// The key's remaining nibbles (possibly none).
        path: Span,
        /// The value stored under the key (an empty value deletes the key instead).
        value: Span,
    },
    /// A run of nibbles every key below shares, then one child (a branch, once revealed).
    Extension {
        /// The shared nibbles, at least one.
        path: Span,
        /// The node below the shared nibbles.
        child: NodeId,
    },
    /// A fork on the next nibble: two children or more, or one child and a value.
    Branch {
        /// Its sixteen child links, in the store's table pool.
        children: TableId,
        /// The value of a key ending exactly here; only in tries whose keys are prefixes of
        /// one another (never in the secure state tries, whose keys are all 32 bytes).
        value: Option<Span>,
    },
    /// A subtree that is not resident: only its reference is known (the slot's cached hash).
    /// A read or write that reaches it reveals it from the trie's source; a clean subtree is
    /// collapsed back into one to give its memory back.
    Hashed,
}

impl Node {
    /// Every span the node holds, for moving them to another arena.
    fn spans_mut(&mut self) -> impl Iterator<Item = &mut Span> {
        let (a, b) = match self {
            Node::Leaf { path, value } => (Some(path), Some(value)),
            Node::Extension { path, .. } => (Some(path), None),
            Node::Branch { value, .. } => (value.as_mut(), None),
            Node::Vacant | Node::Hashed => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// A node and the reference its parent embeds for it (inline RLP or `0xa0 || hash`), which is
/// unset while the node is dirty. Hashing fills it through a shared borrow, so disjoint
/// subtries of one store can be hashed on several threads.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The node itself.
    pub node: Node,
    /// Its reference once hashed; a write must reset it (and its ancestors'), or the root
    /// goes stale.
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
///
/// Ids and spans are only valid in the store that gave them; methods may panic on an id or
/// span it did not give, since the trie never holds one.
pub trait NodeStore: Clone + Default + Send + Sync {
    /// The slot of node `id`.
    fn get(&self, id: NodeId) -> &Slot;
    /// The slot of node `id`, to rewrite it in place.
    fn get_mut(&mut self, id: NodeId) -> &mut Slot;
    /// Stores a new node and returns its id.
    fn alloc(&mut self, slot: Slot) -> NodeId;
    /// Frees a node that nothing links to any more (a branch's child table is freed apart).
    fn release(&mut self, id: NodeId);
    /// Child table `table` of a branch.
    fn children(&self, table: TableId) -> &Children;
    /// Child table `table` of a branch, to relink children.
    fn children_mut(&mut self, table: TableId) -> &mut Children;
    /// Stores a new child table and returns its id.
    fn alloc_children(&mut self, children: Children) -> TableId;
    /// Frees the child table of a branch that is gone or became another kind of node.
    fn release_children(&mut self, table: TableId);
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

/// All nodes in one vector and all child tables in another, each with a free list (ids stay
/// stable, freed entries are reused), and all paths and values in one byte arena that is
/// compacted whenever it has doubled since the last compaction, so dead bytes never exceed
/// live ones by much.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    slots: Pool<Slot>,
    tables: Pool<Children>,
    bytes: Vec<u8>,
    /// Arena length right after the last compaction.
    compacted: usize,
}

/// Entries addressed by a stable `u32` index, freed ones reused before the vector grows.
#[derive(Clone, Debug)]
struct Pool<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Pool<T> {
    fn alloc(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.items[index as usize] = item;
                index
            }
            None => {
                self.items.push(item);
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Frees `index` for reuse; what it holds stays until then.
    fn release(&mut self, index: u32) {
        self.free.push(index);
    }

    fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<T>()
            + self.free.capacity() * std::mem::size_of::<u32>()
    }
}

/// An arena this small is never worth compacting.
const COMPACT_MIN_BYTES: usize = 1 << 16;

impl MemoryStore {
    /// A store made of a bulk build's finished nodes and bytes.
    pub(crate) fn from_parts(slots: Vec<Slot>, tables: Vec<Children>, bytes: Vec<u8>) -> Self {
        Self {
            compacted: bytes.len(),
            slots: Pool {
                items: slots,
                free: Vec::new(),
            },
            tables: Pool {
                items: tables,
                free: Vec::new(),
            },
            bytes,
        }
    }
}

impl NodeStore for MemoryStore {
    fn get(&self, id: NodeId) -> &Slot {
        &self.slots.items[id as usize]
    }

    fn get_mut(&mut self, id: NodeId) -> &mut Slot {
        &mut self.slots.items[id as usize]
    }

    fn alloc(&mut self, slot: Slot) -> NodeId {
        self.slots.alloc(slot)
    }

    fn release(&mut self, id: NodeId) {
        // Vacant, so compaction skips the spans it held.
        self.slots.items[id as usize] = Slot::dirty(Node::Vacant);
        self.slots.release(id);
    }

    fn children(&self, table: TableId) -> &Children {
        &self.tables.items[table as usize]
    }

    fn children_mut(&mut self, table: TableId) -> &mut Children {
        &mut self.tables.items[table as usize]
    }

    fn alloc_children(&mut self, children: Children) -> TableId {
        self.tables.alloc(children)
    }

    fn release_children(&mut self, table: TableId) {
        self.tables.release(table);
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
        for slot in &mut self.slots.items {
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
        self.slots.heap_bytes() + self.tables.heap_bytes() + self.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory figure in the crate docs counts an 80-byte slot per node and a 64-byte
    /// child table per branch.
    #[test]
    fn a_slot_is_eighty_bytes_and_a_table_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 80);
        assert_eq!(std::mem::size_of::<Children>(), 64);
    }

    #[test]
    fn children_round_trip_and_iterate_in_nibble_order() {
        let mut c = Children::EMPTY;
        c.set(9, Some(7));
        c.set(2, Some(0));
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![(2, 0), (9, 7)]);
        c.set(9, None);
        assert_eq!(c.get(9), None);
        assert_eq!(c.get(2), Some(0));
    }
}
