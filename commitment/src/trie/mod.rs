//! A hexary Merkle Patricia Trie over arbitrary byte keys.
//!
//! Nodes live in an arena and each caches the reference its parent embeds (inline RLP or
//! hash). A write clears the cache only along the path it touches, so [`Trie::root`] re-hashes
//! exactly the dirty paths: the cost of a block's update is proportional to what it changed,
//! not to the size of the state.
//!
//! A trie of at least [`SHARD_MIN_LEAVES`] keys is laid out as sixteen shards, one subtrie
//! and one store per first nibble, so a batch of updates ([`Trie::apply`]) and the hashing
//! after it both run on all threads. Smaller tries (most storage tries) stay whole: sixteen
//! stores would cost more than their keys.
//!
//! A trie need not hold every node: [`Trie::open`] starts from a stored root over a
//! [`NodeSource`] and reveals nodes as reads and writes reach them (`reveal`),
//! [`Trie::take_changes`] exports the stored nodes a block changed (`changes`), and
//! [`Trie::retain`] gives clean subtrees back to the source to stay under a memory budget
//! (`retain`).

mod build;
mod changes;
mod decode;
mod encode;
mod hash;
mod nibbles;
mod retain;
mod reveal;
mod shards;
mod source;
mod store;
mod subtrie;

use alloy_primitives::B256;

pub use changes::TrieChanges;
use nibbles::with_nibbles;
use shards::Shards;
pub use source::{NodeSource, Owner, SourceError, TrieError};
pub use store::{Children, MemoryStore, Node, NodeId, NodeRef, NodeStore, Slot, Span, TableId};
use subtrie::Subtrie;

/// keccak256(rlp("")): the root of an empty trie.
pub const EMPTY_ROOT: B256 =
    alloy_primitives::b256!("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");

/// A trie is laid out in shards from this many keys on (and stays sharded when it shrinks).
pub const SHARD_MIN_LEAVES: usize = 4096;

/// A Merkle Patricia Trie with incremental hashing, its nodes in [`NodeStore`]s.
#[derive(Clone, Debug, Default)]
pub struct Trie<S: NodeStore = MemoryStore> {
    layout: Layout<S>,
    len: usize,
}

#[derive(Clone, Debug)]
enum Layout<S: NodeStore> {
    Whole(Subtrie<S>),
    Sharded(Box<Shards<S>>),
}

impl<S: NodeStore> Default for Layout<S> {
    fn default() -> Self {
        Layout::Whole(Subtrie::default())
    }
}

impl Trie {
    /// An empty trie in memory (root [`EMPTY_ROOT`]), one store until it reaches
    /// [`SHARD_MIN_LEAVES`] keys.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S: NodeStore> Trie<S> {
    /// An empty trie laid out in shards from the start, for one known to grow big (the
    /// account trie): it skips the re-layout at [`SHARD_MIN_LEAVES`].
    pub fn sharded() -> Self {
        Self {
            layout: Layout::Sharded(Box::default()),
            len: 0,
        }
    }

    /// Number of keys held; for a trie opened over a source, keys added minus keys removed
    /// since it was opened (saturating at zero).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether [`Self::len`] is zero; over a source, not proof that the trie is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets `key` to `value`; an empty value deletes the key (as the ethereum/tests do).
    pub fn insert(&mut self, key: &[u8], value: impl AsRef<[u8]>) {
        let delta = with_nibbles(key, |path| match &mut self.layout {
            Layout::Whole(trie) => trie.write(path, value.as_ref()),
            Layout::Sharded(shards) => shards.write(path, value.as_ref()),
        });
        self.count(delta);
    }

    /// Deletes `key` if present.
    pub fn remove(&mut self, key: &[u8]) {
        self.insert(key, []);
    }

    /// Applies a batch of writes in order (an empty value deletes the key): what a block's
    /// updates to one trie are. A sharded trie applies its shards' parts in parallel.
    pub fn apply<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, writes: &[(K, V)]) {
        // A whole trie takes the writes one by one; once they have made it sharded, the rest
        // go to the shards as a batch.
        let mut rest = writes;
        while matches!(self.layout, Layout::Whole(_))
            && let Some(((key, value), tail)) = rest.split_first()
        {
            self.insert(key.as_ref(), value);
            rest = tail;
        }
        if let Layout::Sharded(shards) = &mut self.layout
            && !rest.is_empty()
        {
            let delta = shards.apply(rest);
            self.count(delta);
        }
    }

    /// Adds a write's change to the key count; a whole trie that reaches
    /// [`SHARD_MIN_LEAVES`] keys is re-laid out in shards (not one opened over a source, whose
    /// leaves are not all at hand). A tracked trie stays tracked: every node is exported
    /// again, and the positions freed since the last export are still deleted.
    fn count(&mut self, delta: isize) {
        self.len = self.len.saturating_add_signed(delta);
        if self.len >= SHARD_MIN_LEAVES
            && let Layout::Whole(trie) = &self.layout
            && trie.source.is_none()
        {
            let mut shards = Box::<Shards<S>>::default();
            for (path, value) in trie.leaves() {
                shards.write(&path, value);
            }
            let vacated = trie.log.as_ref().map(|log| log.vacated.clone());
            self.layout = Layout::Sharded(shards);
            if let Some(vacated) = vacated {
                self.track_changes();
                if let Layout::Sharded(shards) = &mut self.layout {
                    shards.carry_vacated(vacated);
                }
            }
        }
    }

    /// The value of `key` among the resident nodes: a path through an unrevealed node reads
    /// as absent, so a trie opened over a source is read with [`Self::read`].
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        with_nibbles(key, |path| match &self.layout {
            Layout::Whole(trie) => trie.get(path),
            Layout::Sharded(shards) => shards.get(path),
        })
    }

    /// The root hash, re-hashing only nodes changed since the last call; a sharded trie's
    /// dirty shards are hashed in parallel. For a trie opened over a source this is the root
    /// of the writes it could apply: [`Self::try_root`] also reports one it could not.
    pub fn root(&self) -> B256 {
        self.root_with(true)
    }

    /// [`Self::root`] on the calling thread only, for comparison and for small tries.
    pub fn root_serial(&self) -> B256 {
        self.root_with(false)
    }

    fn root_with(&self, parallel: bool) -> B256 {
        let reference = match &self.layout {
            Layout::Whole(trie) => trie.root_reference(),
            Layout::Sharded(shards) => shards.reference(parallel),
        };
        reference.map_or(EMPTY_ROOT, |r| r.node_hash())
    }

    /// Heap bytes held by the nodes (keys, values, cached references, arena slack).
    pub fn heap_bytes(&self) -> usize {
        match &self.layout {
            Layout::Whole(trie) => trie.store.heap_bytes(),
            Layout::Sharded(shards) => shards.heap_bytes(),
        }
    }
}
