//! The read cache: accounts, slots and code of the head state, bounded in bytes, shared by the
//! threads executing a block without a lock of its own (quick_cache is sharded).
//!
//! Snapshots can outlive the head they were taken at, so cached values carry the head's
//! version: a commit or unwind marks the cache busy, commits, writes the new values through,
//! then bumps the version. A snapshot uses the cache only while the version is the one it was
//! taken at, checked before and after each access, so it never sees a value of another head
//! (the seqlock pattern: a read that overlapped a write-through is discarded and goes to disk).

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use alloy_primitives::{Address, B256, U256};
use commitment::TrieAccount;
use quick_cache::{Weighter, sync::Cache};
use revm::bytecode::Bytecode;

use crate::writes::{BlockWrites, InfoChange};

/// While a commit is writing through.
const BUSY: u64 = u64::MAX;

/// A rough per-entry overhead of the table holding it (hash slot, links, weight).
const ENTRY_OVERHEAD: u64 = 32;

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Account(Address),
    Slot(Address, U256),
    Code(B256),
}

#[derive(Clone)]
pub(crate) enum Entry {
    /// `None`: the account does not exist (also worth remembering).
    Account(Option<TrieAccount>),
    Slot(U256),
    Code(Bytecode),
}

#[derive(Clone)]
struct Bytes;

impl Weighter<Key, Entry> for Bytes {
    fn weight(&self, _: &Key, entry: &Entry) -> u64 {
        let heap = match entry {
            // The padded code and its jump table (a bit per byte).
            Entry::Code(code) => code.bytes_slice().len() + code.len() / 8,
            _ => 0,
        };
        (size_of::<Key>() + size_of::<Entry>() + heap) as u64 + ENTRY_OVERHEAD
    }
}

/// The cache's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to the database.
    pub misses: u64,
    /// Bytes held, as weighed (key, value, code bytes and a per-entry overhead).
    pub resident_bytes: u64,
    /// The bound on `resident_bytes`.
    pub capacity_bytes: u64,
}

pub(crate) struct StateCache {
    /// `None` with a zero budget.
    entries: Option<Cache<Key, Entry, Bytes>>,
    capacity: u64,
    version: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl StateCache {
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        // quick_cache sizes its shards from an item estimate; ~100 bytes is a slot entry.
        let items = (capacity_bytes / 100).clamp(1, usize::MAX as u64) as usize;
        Self {
            entries: (capacity_bytes > 0)
                .then(|| Cache::with_weighter(items, capacity_bytes, Bytes)),
            capacity: capacity_bytes,
            version: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The version a snapshot taken now may use, if no write-through is under way.
    pub(crate) fn version(&self) -> Option<u64> {
        Some(self.version.load(SeqCst)).filter(|&v| v != BUSY)
    }

    /// The cached value, if the cache still describes the snapshot's head.
    pub(crate) fn get(&self, at: Option<u64>, key: &Key) -> Option<Entry> {
        let (Some(at), Some(entries)) = (at, &self.entries) else {
            return None;
        };
        let current = || self.version.load(SeqCst) == at;
        let entry = if current() {
            entries.get(key).filter(|_| current())
        } else {
            None
        };
        let counter = if entry.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, SeqCst);
        entry
    }

    /// Remembers a value read from disk by a snapshot at version `at`; undone when a
    /// write-through may have started meanwhile.
    pub(crate) fn fill(&self, at: Option<u64>, key: Key, entry: Entry) {
        let (Some(at), Some(entries)) = (at, &self.entries) else {
            return;
        };
        if self.version.load(SeqCst) != at {
            return;
        }
        entries.insert(key.clone(), entry);
        if self.version.load(SeqCst) != at {
            entries.remove(&key);
        }
    }

    /// Runs `commit` (the database transaction) and writes the values it settled through.
    /// Snapshots of the old head stop using the cache from the moment this starts; a commit
    /// that fails changed nothing, so the old version stands.
    pub(crate) fn publish<T, E>(
        &self,
        commit: impl FnOnce() -> Result<T, E>,
        settled: impl FnOnce(&T) -> &BlockWrites,
    ) -> Result<T, E> {
        let old = self.version.swap(BUSY, SeqCst);
        let result = commit();
        let next = match (&result, &self.entries) {
            (Ok(done), Some(entries)) => {
                write_through(entries, settled(done));
                old + 1
            }
            (Ok(_), None) => old + 1,
            (Err(_), _) => old,
        };
        self.version.store(next % BUSY, SeqCst);
        result
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(SeqCst),
            misses: self.misses.load(SeqCst),
            resident_bytes: self.entries.as_ref().map_or(0, Cache::weight),
            capacity_bytes: self.capacity,
        }
    }
}

fn write_through(entries: &Cache<Key, Entry, Bytes>, settled: &BlockWrites) {
    for write in &settled.accounts {
        let info = match write.info {
            InfoChange::Set(info) => Some(info),
            InfoChange::Removed => None,
            // Settled writes always name the final fields; never reached.
            InfoChange::Unchanged => {
                entries.remove(&Key::Account(write.address));
                continue;
            }
        };
        entries.insert(Key::Account(write.address), Entry::Account(info));
        for &(slot, value) in &write.storage {
            entries.insert(Key::Slot(write.address, slot), Entry::Slot(value));
        }
    }
    for (hash, code) in &settled.codes {
        entries.insert(Key::Code(*hash), Entry::Code(code.clone()));
    }
}
