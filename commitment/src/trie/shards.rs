//! A big trie as sixteen subtries, one per first nibble of the key, each in its own store.
//!
//! The split is what lets a block's updates be applied on several threads, not only hashed
//! there: the shards share no node and no arena, so each takes its part of a batch under its
//! own `&mut`. (reth's parallel sparse trie splits the same way, below its upper levels.) The
//! root branch over the shards is not stored; it is re-encoded from their top references on
//! every root, one keccak.

use rayon::prelude::*;

use super::{
    encode::{Encoded, NodeRef, encode_branch, encode_leaf},
    nibbles::with_nibbles,
    store::NodeStore,
    subtrie::Subtrie,
};

/// A key (packed bytes) and the value to set it to (empty: delete it).
type Write<'a> = (&'a [u8], &'a [u8]);

/// How many writes' paths are walked in lock step before they are applied.
const WARM_WRITES: usize = 16;

/// Below this many updates a batch is applied on the calling thread.
const PARALLEL_MIN_UPDATES: usize = 256;

#[derive(Clone, Debug)]
pub(super) struct Shards<S> {
    pub(super) shards: [Subtrie<S>; 16],
    /// The value of the empty key, which ends at the root branch.
    value: Option<Vec<u8>>,
    /// The empty key was written since the last export of changes.
    pub(super) value_changed: bool,
    /// The shard whose top node was the root at the last export (see [`Self::lifted_shard`]).
    pub(super) last_lifted: Option<usize>,
}

impl<S: NodeStore> Default for Shards<S> {
    fn default() -> Self {
        Self::new(Default::default(), None)
    }
}

impl<S: NodeStore> Shards<S> {
    pub(super) fn new(shards: [Subtrie<S>; 16], value: Option<Vec<u8>>) -> Self {
        Self {
            shards,
            value,
            value_changed: false,
            last_lifted: None,
        }
    }

    /// Sets `path` (nibbles) to `value`, or deletes it if `value` is empty; +1 for a key
    /// added, -1 for a key removed.
    pub(super) fn write(&mut self, path: &[u8], value: &[u8]) -> isize {
        match path.split_first() {
            None => {
                self.value_changed = true;
                if value.is_empty() {
                    -isize::from(self.value.take().is_some())
                } else {
                    isize::from(self.value.replace(value.to_vec()).is_none())
                }
            }
            Some((n, rest)) => self.shards[*n as usize].write(rest, value),
        }
    }

    pub(super) fn get(&self, path: &[u8]) -> Option<&[u8]> {
        match path.split_first() {
            None => self.value.as_deref(),
            Some((n, rest)) => self.shards[*n as usize].get(rest),
        }
    }

    /// Applies `(key, value)` writes (packed keys; an empty value deletes) in order within
    /// each shard, the shards in parallel for big batches; returns the change in the number
    /// of keys.
    pub(super) fn apply<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, writes: &[(K, V)]) -> isize {
        let mut groups: [Vec<Write<'_>>; 16] = Default::default();
        let mut delta = 0;
        for (key, value) in writes {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key.first() {
                None => delta += self.write(&[], value),
                Some(byte) => groups[usize::from(byte >> 4)].push((key, value)),
            }
        }
        let apply = |(shard, group): (&mut Subtrie<S>, Vec<Write<'_>>)| {
            group
                .chunks(WARM_WRITES)
                .map(|chunk| {
                    if chunk.len() > 1 {
                        shard.warm_paths(chunk.iter().map(|(key, _)| *key), 1);
                    }
                    chunk
                        .iter()
                        .map(|(key, value)| {
                            with_nibbles(key, |path| shard.write(&path[1..], value))
                        })
                        .sum::<isize>()
                })
                .sum::<isize>()
        };
        delta
            + if writes.len() >= PARALLEL_MIN_UPDATES {
                // A batch this big is a block's worth: each shard is hashed right after its
                // part is applied, on the same thread, while the paths just written are
                // still in that core's cache (hashing them later, after every other shard's
                // writes, met most of them evicted).
                self.shards
                    .par_iter_mut()
                    .zip(groups)
                    .map(|(shard, group)| {
                        let delta = apply((&mut *shard, group));
                        shard.root_reference();
                        delta
                    })
                    .sum::<isize>()
            } else {
                self.shards.iter_mut().zip(groups).map(apply).sum::<isize>()
            }
    }

    /// The root node's reference (`None` when empty), the dirty shards hashed in parallel if
    /// `parallel`.
    pub(super) fn reference(&self, parallel: bool) -> Option<NodeRef> {
        if parallel {
            self.shards.par_iter().for_each(|shard| {
                shard.root_reference();
            });
        }
        self.root_node()
    }

    /// The root node's reference or RLP (`None` when empty), from the shards' references.
    pub(super) fn root_node<E: Encoded>(&self) -> Option<E> {
        let refs: [Option<NodeRef>; 16] = std::array::from_fn(|n| self.shards[n].root_reference());
        match (self.lifted_shard(), &self.value) {
            (Some(n), _) => self.shards[n].lifted(n as u8),
            (None, Some(value)) if refs.iter().all(Option::is_none) => {
                Some(encode_leaf(&[], value))
            }
            (None, None) if refs.iter().all(Option::is_none) => None,
            _ => Some(encode_branch(&refs, self.value.as_deref())),
        }
    }

    /// The only non-empty shard when there is no root value: then there is no branch at the
    /// root, and the shard's top node is the root, one nibble longer.
    pub(super) fn lifted_shard(&self) -> Option<usize> {
        let mut live = (0..16).filter(|&n| self.shards[n].root.is_some());
        match (live.next(), live.next(), &self.value) {
            (Some(n), None, None) => Some(n),
            _ => None,
        }
    }

    /// Logs positions a whole trie freed before it was re-laid out here as freed by the
    /// shard that now covers them (the root, `[]`, is written anew anyway).
    pub(super) fn carry_vacated(&mut self, vacated: Vec<Vec<u8>>) {
        for position in vacated {
            if let Some((n, rest)) = position.split_first()
                && let Some(log) = &mut self.shards[*n as usize].log
            {
                log.vacated.push(rest.to_vec());
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.value.as_ref().map_or(0, Vec::capacity)
            + self
                .shards
                .iter()
                .map(|s| s.store.heap_bytes())
                .sum::<usize>()
    }
}
