//! The Ethereum state trie: accounts keyed by keccak(address), each with its own storage trie
//! keyed by keccak(slot).
//!
//! Updates only mark accounts dirty; [`StateTrie::root`] then re-hashes the touched storage
//! tries in parallel (they are independent) before folding the account leaves into the account
//! trie. [`StateTrie::apply_reversible`] records what it replaced, so a speculative fold (a
//! block's BAL folded before its execution is known to be valid) can be taken back.
//!
//! In memory it holds every account; opened over a node source ([`StateTrie::open`], in
//! `persist`) only the accounts touched since their changes were last exported.

mod persist;
mod undo;

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256, keccak256};
use alloy_rlp::{Encodable, RlpEncodable};
use rayon::prelude::*;

use crate::trie::{EMPTY_ROOT, NodeSource, Owner, Trie, TrieError};

pub use persist::{StateChanges, StorageChanges};
use undo::AccountUndo;
pub use undo::Undo;

/// Account fields as committed; the storage root is derived by the state trie itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrieAccount {
    /// Transactions an externally owned account sent; for a contract, the contracts it
    /// created plus one (EIP-161 starts a new contract at 1).
    pub nonce: u64,
    /// In wei.
    pub balance: U256,
    /// keccak of the account's code; [`KECCAK256_EMPTY`] for an account without code.
    pub code_hash: B256,
}

impl Default for TrieAccount {
    /// The empty account (no nonce, no balance, no code), as an absent account reads: a
    /// derived default would put a zero code hash, which no code hashes to, into a leaf.
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK256_EMPTY,
        }
    }
}

impl TrieAccount {
    /// EIP-161's emptiness: no nonce, no balance, no code (storage does not count).
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK256_EMPTY
    }
}

/// One account's change in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUpdate {
    /// The account; the trie keys it by keccak(address).
    pub address: Address,
    /// `None`: the account no longer exists (selfdestruct, EIP-161); its storage goes too.
    pub info: Option<TrieAccount>,
    /// Drop all existing storage before applying `storage` (destroyed and re-created).
    pub wipe_storage: bool,
    /// (slot, new value); a zero value deletes the slot.
    pub storage: Vec<(U256, U256)>,
}

#[derive(RlpEncodable, alloy_rlp::RlpDecodable)]
struct AccountLeaf {
    nonce: u64,
    balance: U256,
    storage_root: B256,
    code_hash: B256,
}

/// Memory held by a [`StateTrie`]: node arenas (paths, values, cached hashes, branch
/// tables), the per-account entries, and the slack of their containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryFigure {
    /// The account trie's [`Trie::len`]: every account in memory; over a source, a net count
    /// of accounts added since it was opened, not what is resident.
    pub account_leaves: usize,
    /// The storage tries' [`Trie::len`], summed over the accounts in memory (over a source,
    /// net counts as well).
    pub storage_leaves: usize,
    /// Heap bytes of all of it (estimated from lengths and capacities, not measured from the
    /// allocator).
    pub bytes: usize,
}

impl MemoryFigure {
    /// Bytes per leaf (accounts and storage slots together).
    pub fn bytes_per_leaf(&self) -> f64 {
        self.bytes as f64 / (self.account_leaves + self.storage_leaves).max(1) as f64
    }
}

/// RLP(nonce, balance, storage_root, code_hash): an account's leaf value.
fn account_leaf(info: &TrieAccount, storage_root: B256) -> Vec<u8> {
    let leaf = AccountLeaf {
        nonce: info.nonce,
        balance: info.balance,
        storage_root,
        code_hash: info.code_hash,
    };
    let mut out = Vec::with_capacity(leaf.length());
    leaf.encode(&mut out);
    out
}

/// A new storage trie for the account keyed `hashed`: over the source when there is one, its
/// changes tracked when the state's are.
fn empty_storage(tracking: Option<&Tracking>, hashed: B256) -> Trie {
    match tracking {
        Some(Tracking {
            source: Some(source),
            ..
        }) => Trie::open(EMPTY_ROOT, source.clone(), Owner::Storage(hashed)),
        Some(_) => {
            let mut trie = Trie::new();
            trie.track_changes();
            trie
        }
        None => Trie::new(),
    }
}

#[derive(Clone, Debug, Default)]
struct Entry {
    info: TrieAccount,
    storage: Trie,
}

/// Accounts plus one storage trie each, with the account trie folded lazily at [`Self::root`].
#[derive(Clone, Debug, Default)]
pub struct StateTrie {
    accounts: Trie,
    /// Every account in memory; the touched ones over a source (the rest are in `accounts`).
    entries: HashMap<Address, Entry>,
    /// Accounts whose leaf must be re-encoded at the next `root()`.
    dirty: HashSet<Address>,
    /// Changes are exported ([`Self::take_changes`]): what they need besides each trie's own.
    tracking: Option<Box<Tracking>>,
}

/// What a tracked state trie keeps for its next export, beyond its tries' own logs.
#[derive(Clone, Default)]
struct Tracking {
    /// Where accounts and storage tries not in memory are read from.
    source: Option<std::sync::Arc<dyn NodeSource>>,
    /// Accounts written since the last export (their storage tries hold changes).
    touched: HashSet<Address>,
    /// Accounts the last export wrote: kept in memory by [`StateTrie::retain`] (collapsed to
    /// their share), since consecutive blocks touch the same hot accounts.
    recent: HashSet<Address>,
    /// Storage tries dropped whole (account deleted or storage wiped), by hashed address.
    wiped: HashSet<B256>,
    /// The first account that could not be read from the source.
    error: Option<TrieError>,
}

impl std::fmt::Debug for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracking")
            .field("touched", &self.touched.len())
            .field("wiped", &self.wiped.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl StateTrie {
    /// An empty state (root [`EMPTY_ROOT`]), held whole in memory, changes not tracked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a batch of account changes. Nothing is hashed until [`Self::root`].
    pub fn apply(&mut self, updates: &[AccountUpdate]) {
        for update in updates {
            self.apply_one(update, None);
        }
    }

    /// [`Self::apply`], returning what it replaced: [`Self::revert`] with it restores the
    /// previous state (and, after the next [`Self::root`], the previous root).
    pub fn apply_reversible(&mut self, updates: &[AccountUpdate]) -> Undo {
        let mut undo = Undo::default();
        for update in updates {
            if !self.load(update.address) {
                continue;
            }
            let mut record = AccountUndo {
                address: update.address,
                info: self.entries.get(&update.address).map(|e| e.info),
                storage: None,
                slots: Vec::new(),
                wiped: false,
            };
            self.apply_one(update, Some(&mut record));
            undo.accounts.push(record);
        }
        undo
    }

    /// Takes back an [`Self::apply_reversible`]; later updates must have been reverted first.
    pub fn revert(&mut self, undo: Undo) {
        for record in undo.accounts.into_iter().rev() {
            if let Some(tracking) = &mut self.tracking {
                tracking.touched.insert(record.address);
                if record.wiped {
                    tracking.wiped.remove(&keccak256(record.address));
                }
            }
            let Some(info) = record.info else {
                self.entries.remove(&record.address);
                self.dirty.remove(&record.address);
                self.accounts.remove(keccak256(record.address).as_slice());
                continue;
            };
            let entry = self.entries.entry(record.address).or_default();
            entry.info = info;
            // A tracked storage trie restored whole keeps its log: its changes since the last
            // export are still to be exported.
            if let Some(storage) = record.storage {
                entry.storage = storage;
            }
            for (key, value) in record.slots.into_iter().rev() {
                match value {
                    Some(value) => entry.storage.insert(key.as_slice(), value),
                    None => entry.storage.remove(key.as_slice()),
                }
            }
            self.dirty.insert(record.address);
        }
    }

    /// One account's change; with `undo`, the storage it replaces is kept there: a whole trie
    /// when it is dropped (deletion, wipe), else the previous value of each written slot.
    fn apply_one(&mut self, update: &AccountUpdate, mut undo: Option<&mut AccountUndo>) {
        if !self.load(update.address) {
            return;
        }
        let hashed = keccak256(update.address);
        if let Some(tracking) = &mut self.tracking {
            tracking.touched.insert(update.address);
            if update.info.is_none() || update.wipe_storage {
                let new = tracking.wiped.insert(hashed);
                if let Some(undo) = undo.as_deref_mut() {
                    undo.wiped |= new;
                }
            }
        }
        let Some(info) = update.info else {
            if let Some(entry) = self.entries.remove(&update.address)
                && let Some(undo) = undo
            {
                undo.storage = Some(entry.storage);
            }
            self.dirty.remove(&update.address);
            self.accounts.remove(hashed.as_slice());
            return;
        };
        let tracking = self.tracking.as_deref();
        let entry = self.entries.entry(update.address).or_insert_with(|| Entry {
            info,
            storage: empty_storage(tracking, hashed),
        });
        if update.wipe_storage {
            let old = std::mem::replace(&mut entry.storage, empty_storage(tracking, hashed));
            if let Some(undo) = undo.as_deref_mut() {
                undo.storage.get_or_insert(old);
            }
        }
        entry.info = info;
        for (slot, value) in &update.storage {
            let key = keccak256(slot.to_be_bytes::<32>());
            if let Some(undo) = undo.as_deref_mut()
                && undo.storage.is_none()
            {
                // Read through the source: the slot may not be in memory. If it cannot be
                // read, the write below fails the same way and the trie keeps that error.
                let old = entry.storage.read(key.as_slice()).ok().flatten();
                undo.slots.push((key, old.map(<[u8]>::to_vec)));
            }
            if value.is_zero() {
                entry.storage.remove(key.as_slice());
            } else {
                entry
                    .storage
                    .insert(key.as_slice(), alloy_rlp::encode(value));
            }
        }
        self.dirty.insert(update.address);
    }

    /// The state root: storage tries of dirty accounts are hashed in parallel, then the
    /// account trie's dirty top-level subtries.
    pub fn root(&mut self) -> B256 {
        self.fold(true)
    }

    /// [`Self::root`] on the calling thread only, for comparison.
    pub fn root_serial(&mut self) -> B256 {
        self.fold(false)
    }

    fn fold(&mut self, parallel: bool) -> B256 {
        let touched: Vec<(&Address, &Entry)> = std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|a| self.entries.get_key_value(&a))
            .collect();
        let leaf = |(address, entry): &(&Address, &Entry), nested_parallel: bool| {
            let storage_root = if nested_parallel {
                entry.storage.root()
            } else {
                entry.storage.root_serial()
            };
            (keccak256(address), account_leaf(&entry.info, storage_root))
        };
        let leaves: Vec<(B256, Vec<u8>)> = if parallel && touched.len() > 1 {
            touched.par_iter().map(|t| leaf(t, false)).collect()
        } else {
            touched.iter().map(|t| leaf(t, parallel)).collect()
        };
        self.accounts.apply(&leaves);
        if parallel {
            self.accounts.root()
        } else {
            self.accounts.root_serial()
        }
    }

    /// A state trie holding exactly `accounts` (as full, non-deleting updates), built in bulk:
    /// every trie is constructed top-down from sorted leaves and hashed on the way, in parallel.
    /// Its cost is the whole state's: a node logs each build (target `commitment::trie`), so a
    /// build nobody asked for shows.
    pub fn from_accounts(accounts: &[AccountUpdate]) -> Self {
        tracing::debug!(
            target: "commitment::trie",
            accounts = accounts.len(),
            "state trie built from every account"
        );
        let entries: Vec<(Address, Entry, Vec<u8>)> = accounts
            .par_iter()
            .filter_map(|update| {
                let info = update.info?;
                let slots: Vec<(B256, Vec<u8>)> = update
                    .storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (keccak256(k.to_be_bytes::<32>()), alloy_rlp::encode(v)))
                    .collect();
                let storage = Trie::from_leaves(&slots);
                let leaf = account_leaf(&info, storage.root_serial());
                Some((update.address, Entry { info, storage }, leaf))
            })
            .collect();
        let leaves: Vec<(B256, &[u8])> = entries
            .iter()
            .map(|(a, _, leaf)| (keccak256(a), leaf.as_slice()))
            .collect();
        let accounts = Trie::from_leaves(&leaves);
        Self {
            accounts,
            entries: entries.into_iter().map(|(a, e, _)| (a, e)).collect(),
            dirty: HashSet::new(),
            tracking: None,
        }
    }

    /// What the trie holds in memory, and per leaf.
    pub fn memory(&self) -> MemoryFigure {
        let storage_leaves: usize = self.entries.values().map(|e| e.storage.len()).sum();
        let bytes = self.accounts.heap_bytes()
            + self
                .entries
                .values()
                .map(|e| e.storage.heap_bytes())
                .sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<(Address, Entry)>();
        MemoryFigure {
            account_leaves: self.accounts.len(),
            storage_leaves,
            bytes,
        }
    }

    /// The account among those in memory (all of them, unless opened over a source: then
    /// [`Self::read_account`]).
    pub fn account(&self, address: &Address) -> Option<TrieAccount> {
        self.entries.get(address).map(|e| e.info)
    }

    /// The storage root of `address`; [`EMPTY_ROOT`] for an unknown account.
    pub fn storage_root(&self, address: &Address) -> B256 {
        self.entries
            .get(address)
            .map_or(EMPTY_ROOT, |e| e.storage.root())
    }

    /// The value of `slot` in `address`'s storage among the nodes in memory; zero when unset
    /// (over a source: [`Self::read_storage`]).
    pub fn storage(&self, address: &Address, slot: U256) -> U256 {
        self.entries
            .get(address)
            .and_then(|e| {
                e.storage
                    .get(keccak256(slot.to_be_bytes::<32>()).as_slice())
            })
            .and_then(|mut rlp| alloy_rlp::Decodable::decode(&mut rlp).ok())
            .unwrap_or_default()
    }

    /// Number of accounts (in memory: over a source, those touched since the last export).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether [`Self::len`] is zero: over a source that is no sign the state is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
