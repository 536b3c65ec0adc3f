//! One trie over nibble paths in one [`NodeStore`]: insert, delete and lookup with branch and
//! extension collapse, and each node's cached reference cleared along the path a write takes.
//!
//! A [`Trie`](super::Trie) is one subtrie when small and sixteen (one per first nibble) when
//! large; everything below that split happens here.
//!
//! Writes take the whole path (`key`) beside the part still to walk (`path`), so each node's
//! position, `key[..key.len() - path.len()]`, is at hand: an unrevealed node is read from the
//! source by it, and a released node's position is logged as vacated.

use super::{
    changes::ChangeLog,
    nibbles::{common_prefix, nibble},
    source::SourceLink,
    store::{Children, Node, NodeId, NodeStore, Slot, Span, TableId},
};

/// What hangs below a new branch: a value (becoming a leaf) or an existing subtree.
enum Hang {
    Value(Span),
    Subtree(NodeId),
}

/// Nodes in a store and the id of the top one (`None` when empty).
#[derive(Clone, Debug, Default)]
pub(super) struct Subtrie<S> {
    pub(super) store: S,
    pub(super) root: Option<NodeId>,
    /// What changed since the last export, when changes are tracked.
    pub(super) log: Option<Box<ChangeLog>>,
    /// Where unrevealed nodes come from, for a trie opened over a source.
    pub(super) source: Option<Box<SourceLink>>,
}

/// Where a node sits: the first `key.len() - rest.len()` nibbles of the key walked.
fn position<'k>(key: &'k [u8], rest: &[u8]) -> &'k [u8] {
    &key[..key.len() - rest.len()]
}

impl<S: NodeStore> Subtrie<S> {
    /// Sets `path` to a non-empty `value`; true if the path was absent.
    pub(super) fn insert(&mut self, path: &[u8], value: &[u8]) -> bool {
        debug_assert!(!value.is_empty(), "an empty value is a removal");
        self.store.maintain();
        let mut added = false;
        self.root = Some(self.insert_at(self.root, path, path, value, &mut added));
        added
    }

    /// Deletes `path`; true if it was present.
    pub(super) fn remove(&mut self, path: &[u8]) -> bool {
        let Some(root) = self.root else { return false };
        self.store.maintain();
        let mut removed = false;
        self.root = self.remove_at(root, path, path, &mut removed);
        removed
    }

    /// Sets `path` to `value`, or deletes it if `value` is empty; +1 for a key added, -1 for
    /// a key removed.
    pub(super) fn write(&mut self, path: &[u8], value: &[u8]) -> isize {
        if value.is_empty() {
            -isize::from(self.remove(path))
        } else {
            isize::from(self.insert(path, value))
        }
    }

    /// Walks to where each of `keys` (packed, read from nibble `from` on) ends, all walks in
    /// lock step, reading each node, child table and leaf on the way and keeping nothing.
    /// The walks are independent, so the CPU overlaps their cache misses; the writes that
    /// follow then find their paths in cache instead of waiting for each miss in turn.
    pub(super) fn warm_paths<'k>(&self, keys: impl Iterator<Item = &'k [u8]>, from: usize) {
        let Some(root) = self.root else { return };
        let mut walks: Vec<(&[u8], NodeId, usize)> = keys.map(|key| (key, root, from)).collect();
        let mut touched = 0u8;
        while !walks.is_empty() {
            walks.retain_mut(|(key, id, depth)| match self.store.get(*id).node {
                Node::Branch { children, .. } if *depth < key.len() * 2 => {
                    let next = self
                        .store
                        .children(children)
                        .get(nibble(key, *depth).into());
                    *depth += 1;
                    next.map(|next| *id = next).is_some()
                }
                Node::Extension { path, child } => {
                    (*id, *depth) = (child, *depth + path.len());
                    true
                }
                Node::Leaf { path, .. } => {
                    touched ^= self.store.bytes(path).first().copied().unwrap_or(0);
                    false
                }
                _ => false,
            });
        }
        std::hint::black_box(touched);
    }

    pub(super) fn get(&self, path: &[u8]) -> Option<&[u8]> {
        let mut rest = path;
        let mut id = self.root?;
        loop {
            match &self.store.get(id).node {
                Node::Leaf { path, value } => {
                    return (self.store.bytes(*path) == rest).then(|| self.store.bytes(*value));
                }
                Node::Extension { path, child } => {
                    rest = rest.strip_prefix(self.store.bytes(*path))?;
                    id = *child;
                }
                Node::Branch { children, value } => match rest.split_first() {
                    None => return value.map(|v| self.store.bytes(v)),
                    Some((nibble, tail)) => {
                        id = self.store.children(*children).get(*nibble as usize)?;
                        rest = tail;
                    }
                },
                Node::Vacant | Node::Hashed => return None,
            }
        }
    }

    /// Every (path, value) held, in path order (for re-laying a trie out in shards).
    pub(super) fn leaves(&self) -> Vec<(Vec<u8>, &[u8])> {
        let mut out = Vec::new();
        if let Some(root) = self.root {
            self.collect(root, &mut Vec::new(), &mut out);
        }
        out
    }

    fn collect<'a>(&'a self, id: NodeId, prefix: &mut Vec<u8>, out: &mut Vec<(Vec<u8>, &'a [u8])>) {
        let depth = prefix.len();
        match &self.store.get(id).node {
            Node::Leaf { path, value } => {
                prefix.extend_from_slice(self.store.bytes(*path));
                out.push((prefix.clone(), self.store.bytes(*value)));
            }
            Node::Extension { path, child } => {
                prefix.extend_from_slice(self.store.bytes(*path));
                self.collect(*child, prefix, out);
            }
            Node::Branch { children, value } => {
                if let Some(value) = value {
                    out.push((prefix.clone(), self.store.bytes(*value)));
                }
                for (n, child) in self.store.children(*children).iter() {
                    prefix.push(n as u8);
                    self.collect(child, prefix, out);
                    prefix.pop();
                }
            }
            Node::Hashed => unreachable!("tries opened over a source are never re-laid out"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
        prefix.truncate(depth);
    }

    fn alloc(&mut self, node: Node) -> NodeId {
        let id = self.store.alloc(Slot::dirty(node));
        self.mark(id);
        id
    }

    /// Records node `id` as changed since the last export.
    fn mark(&mut self, id: NodeId) {
        if let Some(log) = &mut self.log {
            log.changed.insert(id);
        }
    }

    /// Frees node `id`, which sat at `position`: a stored node there is gone.
    fn release(&mut self, id: NodeId, position: &[u8]) {
        if let Some(log) = &mut self.log {
            log.changed.remove(&id);
            log.vacated.push(position.to_vec());
        }
        self.store.release(id);
    }

    /// Takes a node out for rewriting; its cache is cleared because it is about to change.
    fn take(&mut self, id: NodeId) -> Node {
        self.mark(id);
        let slot = self.store.get_mut(id);
        slot.cached.take();
        std::mem::replace(&mut slot.node, Node::Vacant)
    }

    /// Whether node `id` (at `position`) is resident, revealing it if not; a reveal that
    /// fails is kept as the trie's error and the write stops there, changing nothing below.
    fn resident(&mut self, id: NodeId, position: &[u8]) -> bool {
        if !matches!(self.store.get(id).node, Node::Hashed) {
            return true;
        }
        match self.reveal(id, position) {
            Ok(()) => true,
            Err(error) => {
                self.fail(error);
                false
            }
        }
    }

    fn put(&mut self, id: NodeId, node: Node) {
        self.store.get_mut(id).node = node;
    }

    /// `value` stored where `old` was when it fits exactly (a storage slot rewritten with a
    /// value of the same width leaves no dead bytes), otherwise appended.
    fn store_value(&mut self, old: Option<Span>, value: &[u8]) -> Span {
        match old {
            Some(old) if old.len() == value.len() => {
                self.store.overwrite(old, value);
                old
            }
            _ => self.store.push_bytes(value),
        }
    }

    /// A branch holding two entries whose remaining paths differ in their first nibble (or one
    /// of which is empty and becomes the branch's value).
    fn branch_of(&mut self, entries: [(Span, Hang); 2]) -> Node {
        let mut children = Children::EMPTY;
        let mut branch_value = None;
        for (path, hang) in entries {
            let first = self.store.bytes(path).first().map(|n| *n as usize);
            match (first, hang) {
                (None, Hang::Value(v)) => branch_value = Some(v),
                (Some(n), Hang::Value(v)) => {
                    let leaf = self.alloc(Node::Leaf {
                        path: path.skip(1),
                        value: v,
                    });
                    children.set(n, Some(leaf));
                }
                (Some(n), Hang::Subtree(child)) if path.len() == 1 => children.set(n, Some(child)),
                (Some(n), Hang::Subtree(child)) => {
                    let extension = self.alloc(Node::Extension {
                        path: path.skip(1),
                        child,
                    });
                    children.set(n, Some(extension));
                }
                (None, Hang::Subtree(_)) => {
                    unreachable!("an extension's remainder past the split point is never empty")
                }
            }
        }
        Node::Branch {
            children: self.store.alloc_children(children),
            value: branch_value,
        }
    }

    /// Wraps `node` behind a shared prefix, reusing slot `id` for the top node.
    fn install(&mut self, id: NodeId, prefix: Span, node: Node) -> NodeId {
        if prefix.is_empty() {
            self.put(id, node);
        } else {
            let child = self.alloc(node);
            self.put(
                id,
                Node::Extension {
                    path: prefix,
                    child,
                },
            );
        }
        id
    }

    fn insert_at(
        &mut self,
        at: Option<NodeId>,
        key: &[u8],
        path: &[u8],
        value: &[u8],
        added: &mut bool,
    ) -> NodeId {
        let Some(id) = at else {
            *added = true;
            let node = Node::Leaf {
                path: self.store.push_bytes(path),
                value: self.store.push_bytes(value),
            };
            return self.alloc(node);
        };
        if !self.resident(id, position(key, path)) {
            return id;
        }
        // Passing through a branch (the common case) edits one child link in place.
        if let (Node::Branch { children, .. }, Some((n, rest))) =
            (self.store.get(id).node, path.split_first())
        {
            let n = *n as usize;
            let at = self.store.children(children).get(n);
            let child = self.insert_at(at, key, rest, value, added);
            self.store.get_mut(id).cached.take();
            self.mark(id);
            self.store.children_mut(children).set(n, Some(child));
            return id;
        }
        match self.take(id) {
            Node::Leaf {
                path: leaf_path,
                value: leaf_value,
            } => {
                // Rewriting an existing key is the common case: one memcmp decides it.
                if self.store.bytes(leaf_path) == path {
                    let value = self.store_value(Some(leaf_value), value);
                    self.put(
                        id,
                        Node::Leaf {
                            path: leaf_path,
                            value,
                        },
                    );
                    return id;
                }
                *added = true;
                let common = common_prefix(self.store.bytes(leaf_path), path);
                self.split(
                    id,
                    (leaf_path, Hang::Value(leaf_value)),
                    path,
                    common,
                    value,
                )
            }
            Node::Extension {
                path: ext_path,
                child,
            } => {
                let common = common_prefix(self.store.bytes(ext_path), path);
                if common == ext_path.len() {
                    let child = self.insert_at(Some(child), key, &path[common..], value, added);
                    self.put(
                        id,
                        Node::Extension {
                            path: ext_path,
                            child,
                        },
                    );
                    return id;
                }
                *added = true;
                self.split(id, (ext_path, Hang::Subtree(child)), path, common, value)
            }
            Node::Branch {
                children,
                value: branch_value,
            } => {
                debug_assert!(path.is_empty(), "a longer path passed through above");
                *added |= branch_value.is_none();
                let value = Some(self.store_value(branch_value, value));
                self.put(id, Node::Branch { children, value });
                id
            }
            Node::Hashed => unreachable!("revealed above"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
    }

    /// Rebuilds slot `id`, a leaf or extension whose path `old_path` shares only `common`
    /// nibbles with `path`, as a branch (behind the shared prefix) holding what hung below
    /// `old_path` and a new leaf with `value` for `path`.
    fn split(
        &mut self,
        id: NodeId,
        (old_path, old): (Span, Hang),
        path: &[u8],
        common: usize,
        value: &[u8],
    ) -> NodeId {
        let new_path = self.store.push_bytes(&path[common..]);
        let new_value = self.store.push_bytes(value);
        let branch = self.branch_of([
            (old_path.skip(common), old),
            (new_path, Hang::Value(new_value)),
        ]);
        self.install(id, old_path.head(common), branch)
    }

    /// Removes `path` (the rest of `key`) below `id`; returns the node now standing there
    /// (`None` if empty). Untouched subtrees keep their cached hashes.
    fn remove_at(
        &mut self,
        id: NodeId,
        key: &[u8],
        path: &[u8],
        removed: &mut bool,
    ) -> Option<NodeId> {
        let at = position(key, path);
        if !self.resident(id, at) {
            return Some(id);
        }
        match &self.store.get(id).node {
            Node::Leaf {
                path: leaf_path, ..
            } => {
                if self.store.bytes(*leaf_path) != path {
                    return Some(id);
                }
                *removed = true;
                self.release(id, at);
                None
            }
            Node::Extension {
                path: ext_path,
                child,
            } => {
                let child = *child;
                let Some(rest) = path.strip_prefix(self.store.bytes(*ext_path)) else {
                    return Some(id);
                };
                let new_child = self.remove_at(child, key, rest, removed);
                if !*removed {
                    return Some(id);
                }
                let Node::Extension { path: ext_path, .. } = self.take(id) else {
                    unreachable!()
                };
                match new_child {
                    None => {
                        self.release(id, at);
                        None
                    }
                    Some(c) => {
                        let node = self.prefix_node(at, ext_path, &[], c);
                        self.put(id, node);
                        Some(id)
                    }
                }
            }
            &Node::Branch {
                children: table,
                mut value,
            } => {
                let new_child = match path.split_first() {
                    None if value.is_none() => return Some(id),
                    None => {
                        *removed = true;
                        None
                    }
                    Some((n, rest)) => {
                        let Some(child) = self.store.children(table).get(*n as usize) else {
                            return Some(id);
                        };
                        let new_child = self.remove_at(child, key, rest, removed);
                        if !*removed {
                            return Some(id);
                        }
                        Some((*n as usize, new_child))
                    }
                };
                self.take(id);
                match new_child {
                    None => value = None,
                    Some((n, child)) => self.store.children_mut(table).set(n, child),
                }
                match self.normalize_branch(at, table, value) {
                    None => {
                        self.release(id, at);
                        None
                    }
                    Some(node) => {
                        self.put(id, node);
                        Some(id)
                    }
                }
            }
            Node::Hashed => unreachable!("revealed above"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        }
    }

    /// A branch at `at` left with one entry collapses into a leaf or an extension (its child
    /// table is freed then). A lone child is merged into it, so it is revealed first; if that
    /// fails the branch stays as it is and the trie keeps the error.
    fn normalize_branch(&mut self, at: &[u8], table: TableId, value: Option<Span>) -> Option<Node> {
        let (first, more) = {
            let mut live = self.store.children(table).iter();
            (live.next(), live.next().is_some())
        };
        let node = match (first, value, more) {
            (None, None, _) => None,
            (None, Some(value), _) => Some(Node::Leaf {
                path: Span::default(),
                value,
            }),
            (Some((nibble, child)), None, false)
                if self.resident(child, &[at, &[nibble as u8]].concat()) =>
            {
                Some(self.prefix_node(at, Span::default(), &[nibble as u8], child))
            }
            (_, value, _) => {
                return Some(Node::Branch {
                    children: table,
                    value,
                });
            }
        };
        self.store.release_children(table);
        node
    }

    /// The path `head ++ nibble` followed by node `child`, for the node at `at`: merges into
    /// a (resident) leaf or extension child, freeing it, or becomes an extension over a branch.
    fn prefix_node(&mut self, at: &[u8], head: Span, nibble: &[u8], child: NodeId) -> Node {
        let tail = match &self.store.get(child).node {
            Node::Branch { .. } if nibble.is_empty() => {
                return Node::Extension { path: head, child };
            }
            Node::Branch { .. } => None,
            Node::Leaf { path, .. } | Node::Extension { path, .. } => Some(*path),
            Node::Hashed => unreachable!("revealed by the caller"),
            Node::Vacant => unreachable!("vacant nodes are never linked"),
        };
        let mut joined = self.store.bytes(head).to_vec();
        joined.extend_from_slice(nibble);
        if let Some(tail) = tail {
            joined.extend_from_slice(self.store.bytes(tail));
        }
        let path = self.store.push_bytes(&joined);
        if tail.is_none() {
            return Node::Extension { path, child };
        }
        let child_at = [at, &joined[..joined.len() - tail.map_or(0, Span::len)]].concat();
        let node = self.take(child);
        self.release(child, &child_at);
        match node {
            Node::Leaf { value, .. } => Node::Leaf { path, value },
            Node::Extension { child, .. } => Node::Extension { path, child },
            _ => unreachable!("matched above"),
        }
    }
}
