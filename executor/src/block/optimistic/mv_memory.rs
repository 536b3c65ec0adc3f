//! The multi-version memory of Block-STM: every location a speculative run of the block wrote,
//! with one value per writing transaction, so that transaction `i` reads the latest write of a
//! transaction below it (or, with none, the parent state).
//!
//! Values here are speculative: a transaction may publish writes that a later incarnation of it
//! takes back, and nothing read from here is trusted when a transaction commits (it is checked
//! against the committed state then, see `validation`). The memory only decides how good a
//! head start the parallel runs get.

use std::{collections::BTreeMap, hash::BuildHasher, sync::Mutex};

use alloy_primitives::{
    Address, U256,
    map::{DefaultHashBuilder, HashMap},
};
use revm::state::{AccountInfo, EvmState};

/// One unit of state a transaction can read or write. An account is one location (revm reads
/// balance, nonce and code hash in one `basic` call, so a read of one field is a read of all);
/// each storage slot is its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Location {
    Account(Address),
    Storage(Address, U256),
}

/// Which run of which transaction wrote a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Version {
    pub(super) tx: usize,
    pub(super) incarnation: u32,
}

/// A value at a location: an account's fields with its code (`None`: the account does not
/// exist), or a slot's value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Account(Option<AccountInfo>),
    Storage(U256),
}

/// A value and the run that wrote it.
#[derive(Clone, Debug)]
struct Entry {
    incarnation: u32,
    value: Value,
}

/// Lock shards: transactions running at once mostly touch different locations, so they rarely
/// wait for one another on a shard's lock.
const SHARDS: usize = 64;

/// The block's speculative writes, by location and writing transaction.
pub(super) struct MvMemory {
    shards: Vec<Mutex<HashMap<Location, BTreeMap<usize, Entry>>>>,
    /// The locations each transaction's last published run wrote, so a later incarnation that
    /// no longer writes one takes its value back.
    written: Vec<Mutex<Vec<Location>>>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for MvMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MvMemory")
            .field("txs", &self.written.len())
            .finish_non_exhaustive()
    }
}

impl MvMemory {
    /// An empty memory for a block of `txs` transactions.
    pub(super) fn new(txs: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            written: (0..txs).map(|_| Mutex::default()).collect(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    fn shard(&self, location: &Location) -> &Mutex<HashMap<Location, BTreeMap<usize, Entry>>> {
        let hash = self.hasher.hash_one(location) as usize;
        &self.shards[hash % SHARDS]
    }

    /// The latest value written at `location` by a transaction below `tx`, with its version;
    /// `None` when no such transaction wrote it (the parent state holds it).
    pub(super) fn read(&self, location: &Location, tx: usize) -> Option<(Version, Value)> {
        let shard = self
            .shard(location)
            .lock()
            .expect("no run panics holding a shard");
        let (&writer, entry) = shard.get(location)?.range(..tx).next_back()?;
        let version = Version {
            tx: writer,
            incarnation: entry.incarnation,
        };
        Some((version, entry.value.clone()))
    }

    /// Replaces whatever `version.tx` published before with the writes of `state`.
    pub(super) fn publish(&self, version: Version, state: &EvmState) {
        let writes = writes_of(state);
        let mut written = self.written[version.tx]
            .lock()
            .expect("no run panics holding its write list");
        for stale in written
            .iter()
            .filter(|l| !writes.iter().any(|(w, _)| w == *l))
        {
            let mut shard = self
                .shard(stale)
                .lock()
                .expect("no run panics holding a shard");
            if let Some(versions) = shard.get_mut(stale) {
                versions.remove(&version.tx);
            }
        }
        written.clear();
        for (location, value) in writes {
            let entry = Entry {
                incarnation: version.incarnation,
                value,
            };
            let mut shard = self
                .shard(&location)
                .lock()
                .expect("no run panics holding a shard");
            shard.entry(location).or_default().insert(version.tx, entry);
            written.push(location);
        }
    }
}

/// What a run wrote: every touched account's fields (none once it self-destructed) and every
/// storage slot whose value it changed.
fn writes_of(state: &EvmState) -> Vec<(Location, Value)> {
    let mut writes = Vec::new();
    for (&address, account) in state {
        if !account.is_touched() {
            continue;
        }
        if account.is_selfdestructed() {
            writes.push((Location::Account(address), Value::Account(None)));
            continue;
        }
        writes.push((
            Location::Account(address),
            Value::Account(Some(account.info.clone())),
        ));
        for (&slot, value) in account.changed_storage_slots() {
            writes.push((
                Location::Storage(address, slot),
                Value::Storage(value.present_value()),
            ));
        }
    }
    writes
}
