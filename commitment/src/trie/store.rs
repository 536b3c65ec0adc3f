//! Where trie nodes live. [`NodeStore`] is the seam between the trie's algorithms and its
//! storage: the in-memory [`MemoryStore`] arena now, an embedded database's page cache later,
//! without touching insert, delete or hashing.

pub use super::encode::NodeRef;

/// Index of a node in its store.
pub type NodeId = u32;

/// A trie node. Paths are nibble sequences.
#[derive(Clone, Debug)]
pub enum Node {
    /// A released slot, or a node taken out while it is rewritten in place.
    Vacant,
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
    },
    Extension {
        path: Vec<u8>,
        child: NodeId,
    },
    Branch {
        children: Box<[Option<NodeId>; 16]>,
        value: Option<Vec<u8>>,
    },
}

impl Node {
    /// The same node with every child id rewritten by `map`.
    pub fn remapped(mut self, map: impl Fn(NodeId) -> NodeId) -> Self {
        match &mut self {
            Node::Extension { child, .. } => *child = map(*child),
            Node::Branch { children, .. } => {
                children.iter_mut().flatten().for_each(|c| *c = map(*c))
            }
            _ => {}
        }
        self
    }
}

/// A node and the reference its parent embeds for it (inline RLP or `0xa0 || hash`), which is
/// `None` while the node is dirty.
#[derive(Clone, Debug)]
pub struct Slot {
    pub node: Node,
    pub cached: Option<NodeRef>,
}

/// Storage for trie nodes, addressed by [`NodeId`].
pub trait NodeStore: Clone + Default + Send + Sync {
    fn get(&self, id: NodeId) -> &Slot;
    fn get_mut(&mut self, id: NodeId) -> &mut Slot;
    /// Stores a new node and returns its id.
    fn alloc(&mut self, slot: Slot) -> NodeId;
    /// Frees a node that nothing links to any more.
    fn release(&mut self, id: NodeId);
    /// Heap bytes held, for the memory figure.
    fn heap_bytes(&self) -> usize;
}

/// All nodes in one vector with a free list: ids stay stable, freed slots are reused.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    slots: Vec<Slot>,
    free: Vec<NodeId>,
}

impl MemoryStore {
    /// Slots in allocation order (the bulk builder allocates children before parents).
    pub(crate) fn into_slots(self) -> Vec<Slot> {
        self.slots
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
        self.slots[id as usize] = Slot {
            node: Node::Vacant,
            cached: None,
        };
        self.free.push(id);
    }

    fn heap_bytes(&self) -> usize {
        let slots = self.slots.capacity() * std::mem::size_of::<Slot>() + self.free.capacity() * 4;
        let owned: usize = self
            .slots
            .iter()
            .map(|s| match &s.node {
                Node::Leaf { path, value } => path.capacity() + value.capacity(),
                Node::Extension { path, .. } => path.capacity(),
                Node::Branch { value, .. } => {
                    std::mem::size_of::<[Option<NodeId>; 16]>()
                        + value.as_ref().map_or(0, Vec::capacity)
                }
                Node::Vacant => 0,
            })
            .sum();
        slots + owned
    }
}
