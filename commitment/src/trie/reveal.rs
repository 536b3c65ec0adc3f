//! Starting from a stored root and revealing nodes only where a read or write reaches them.
//!
//! An unrevealed subtree is one [`Node::Hashed`] slot whose cached reference is the hash its
//! parent embeds, so hashing never needs to look below it. A walk that reaches one asks the
//! source for the node at that position, checks it hashes to that reference, and decodes it
//! in place: its children become resident (inline ones) or `Hashed` in turn. This is reth's
//! sparse trie (blinded nodes revealed on demand), on our arena.
//!
//! Errors: writes reveal on demand and keep the first failure (sticky) for
//! [`Trie::try_root`], instead of each write returning a `Result`. A write's reveals happen
//! before it changes anything below them, so a failed write leaves the trie as it was for
//! that key; the one exception, a delete whose lone remaining sibling cannot be revealed,
//! leaves a one-child branch (a wrong root, but `try_root` refuses it anyway). Failing per
//! write would ripple a `Result` through every caller of the in-memory trie for an error it
//! cannot have; a caller that wants the failure before applying (as reth's multiproof step
//! fetches every path first) calls [`Trie::reveal`] with the batch's keys up front.

use std::sync::Arc;

use alloy_primitives::{B256, keccak256};

use super::{
    EMPTY_ROOT, Layout, Trie,
    decode::{Child, Decoded, decode},
    encode::{Encoded, NodeRef},
    nibbles::with_nibbles,
    source::{NodeSource, Owner, SourceLink, TrieError},
    store::{Children, MemoryStore, Node, NodeId, NodeStore, Slot},
    subtrie::Subtrie,
};

impl Trie {
    /// The trie whose root is `root`, its nodes read from `source` as reads and writes reach
    /// them (`owner` says which trie of the source it is). Changes are tracked from the start,
    /// for [`Self::take_changes`].
    ///
    /// Its key count is unknown: [`Self::len`] counts keys added minus removed since opening,
    /// and it is never re-laid out in shards, which would need every leaf.
    pub fn open(root: B256, source: Arc<dyn NodeSource>, owner: Owner) -> Self {
        let mut trie = Subtrie::<MemoryStore> {
            log: Some(Box::default()),
            source: Some(Box::new(SourceLink {
                source,
                owner,
                prefix: Vec::new(),
                error: None,
            })),
            ..Subtrie::default()
        };
        if root != EMPTY_ROOT {
            let slot = Slot {
                node: Node::Hashed,
                cached: NodeRef::from_hash(root).into(),
            };
            trie.root = Some(trie.store.alloc(slot));
        }
        Trie {
            layout: Layout::Whole(trie),
            len: 0,
        }
    }
}

impl<S: NodeStore> Trie<S> {
    /// The value of `key`, revealing the nodes on its path from the source first.
    pub fn read(&mut self, key: &[u8]) -> Result<Option<&[u8]>, TrieError> {
        self.reveal(std::iter::once(key))?;
        Ok(self.get(key))
    }

    /// Reveals the nodes on the paths of `keys`, so reads and writes of them need the source
    /// no more (a delete may still need the sibling it collapses into).
    pub fn reveal<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<(), TrieError> {
        let Layout::Whole(trie) = &mut self.layout else {
            return Ok(());
        };
        if trie.source.is_none() {
            return Ok(());
        }
        keys.into_iter()
            .try_for_each(|key| with_nibbles(key, |path| trie.reveal_path(path)))
    }

    /// The root, or the first reveal a write needed and could not make (that write was not
    /// applied): the root of a trie opened over a source.
    pub fn try_root(&self) -> Result<B256, TrieError> {
        if let Layout::Whole(Subtrie {
            source: Some(link), ..
        }) = &self.layout
            && let Some(error) = &link.error
        {
            return Err(error.clone());
        }
        Ok(self.root())
    }
}

impl<S: NodeStore> Subtrie<S> {
    /// Reveals every unrevealed node on `path`.
    fn reveal_path(&mut self, path: &[u8]) -> Result<(), TrieError> {
        let Some(mut id) = self.root else {
            return Ok(());
        };
        let mut rest = path;
        loop {
            if matches!(self.store.get(id).node, Node::Hashed) {
                self.reveal(id, &path[..path.len() - rest.len()])?;
            }
            match self.store.get(id).node {
                Node::Extension {
                    path: ext_path,
                    child,
                } => match rest.strip_prefix(self.store.bytes(ext_path)) {
                    Some(tail) => (id, rest) = (child, tail),
                    None => return Ok(()),
                },
                Node::Branch { children, .. } => match rest.split_first() {
                    Some((n, tail)) => match self.store.children(children).get(*n as usize) {
                        Some(child) => (id, rest) = (child, tail),
                        None => return Ok(()),
                    },
                    None => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    /// Keeps the first failed reveal a write needed.
    pub(super) fn fail(&mut self, error: TrieError) {
        if let Some(link) = &mut self.source {
            link.error.get_or_insert(error);
        }
    }

    /// Reads the node at `position` from the source into slot `id`, which holds it unrevealed.
    pub(super) fn reveal(&mut self, id: NodeId, position: &[u8]) -> Result<(), TrieError> {
        let expected = self.store.get(id).cached.get().map(NodeRef::node_hash);
        let (Some(link), Some(expected)) = (&self.source, expected) else {
            unreachable!("only a trie with a source holds unrevealed nodes, each with its hash")
        };
        let (owner, path) = (link.owner, [&link.prefix[..], position].concat());
        let rlp = match link.source.node(owner, &path) {
            Ok(Some(rlp)) => rlp,
            Ok(None) => return Err(TrieError::MissingNode { owner, path }),
            Err(source) => {
                return Err(TrieError::Source {
                    owner,
                    path,
                    source,
                });
            }
        };
        if keccak256(&rlp) != expected {
            return Err(TrieError::HashMismatch { owner, path });
        }
        let decoded = decode(&rlp).map_err(|reason| TrieError::Decode {
            owner,
            path,
            reason,
        })?;
        let node = self.place(decoded);
        self.store.get_mut(id).node = node;
        Ok(())
    }

    /// Stores a decoded node's children and returns the node, clean (its parent knows its
    /// reference) and not logged as changed.
    fn place(&mut self, decoded: Decoded<'_>) -> Node {
        match decoded {
            Decoded::Leaf { path, value } => Node::Leaf {
                path: self.store.push_bytes(&path),
                value: self.store.push_bytes(value),
            },
            Decoded::Extension { path, child } => Node::Extension {
                path: self.store.push_bytes(&path),
                child: self.place_child(child),
            },
            Decoded::Branch { children, value } => {
                let mut table = Children::EMPTY;
                for (n, child) in children.into_iter().enumerate() {
                    table.set(n, child.map(|child| self.place_child(child)));
                }
                Node::Branch {
                    children: self.store.alloc_children(table),
                    value: value.map(|value| self.store.push_bytes(value)),
                }
            }
        }
    }

    fn place_child(&mut self, child: Child<'_>) -> NodeId {
        let (node, reference) = match child {
            Child::Hash(hash) => (Node::Hashed, NodeRef::from_hash(hash)),
            Child::Inline(rlp, node) => (self.place(*node), NodeRef::from_rlp(rlp)),
        };
        self.store.alloc(Slot {
            node,
            cached: reference.into(),
        })
    }
}
