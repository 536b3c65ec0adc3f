//! The reference the database is checked against: plain state as ordered maps, updated by the
//! same writes with the in-memory world's rules, and headers that chain with the model's roots.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256};
use commitment::{AccountUpdate, StateTrie, TrieAccount};
use revm::bytecode::Bytecode;
use storage::{BlockMeta, BlockWrites, ChainDb, InfoChange, PlainAccount};

pub const EMPTY: TrieAccount = TrieAccount {
    nonce: 0,
    balance: U256::ZERO,
    code_hash: KECCAK256_EMPTY,
};

/// Plain state: fields and non-zero slots per account, and code by hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub accounts: BTreeMap<Address, (TrieAccount, BTreeMap<U256, U256>)>,
    pub codes: BTreeMap<B256, Bytecode>,
}

impl Model {
    /// The in-memory world's rules: removal drops the account and its storage, a wipe clears
    /// storage first, a zero value deletes a slot, a write to a missing account creates it.
    pub fn apply(&mut self, writes: &BlockWrites) {
        for (hash, code) in &writes.codes {
            self.codes.insert(*hash, code.clone());
        }
        for w in &writes.accounts {
            if w.info == InfoChange::Removed {
                self.accounts.remove(&w.address);
                continue;
            }
            let (info, storage) = self
                .accounts
                .entry(w.address)
                .or_insert((EMPTY, BTreeMap::new()));
            if let InfoChange::Set(new) = w.info {
                *info = new;
            }
            if w.wipe_storage {
                storage.clear();
            }
            for &(slot, value) in &w.storage {
                if value.is_zero() {
                    storage.remove(&slot);
                } else {
                    storage.insert(slot, value);
                }
            }
        }
    }

    pub fn root(&self) -> B256 {
        StateTrie::from_accounts(&self.updates()).root()
    }

    pub fn trie(&self) -> StateTrie {
        StateTrie::from_accounts(&self.updates())
    }

    fn updates(&self) -> Vec<AccountUpdate> {
        self.accounts
            .iter()
            .map(|(address, (info, storage))| AccountUpdate {
                address: *address,
                info: Some(*info),
                wipe_storage: false,
                storage: storage.iter().map(|(k, v)| (*k, *v)).collect(),
            })
            .collect()
    }

    /// The plain state as the database streams it.
    pub fn plain(&self) -> Vec<PlainAccount> {
        self.accounts
            .iter()
            .map(|(address, (info, storage))| PlainAccount {
                address: *address,
                info: *info,
                storage: storage.iter().map(|(k, v)| (*k, *v)).collect(),
            })
            .collect()
    }
}

/// Everything the database holds as plain state, read back through a snapshot.
pub fn stored(db: &ChainDb) -> Vec<PlainAccount> {
    db.state()
        .unwrap()
        .accounts()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn genesis_header(state_root: B256) -> Header {
    Header {
        state_root,
        difficulty: U256::from(131_072),
        gas_limit: 30_000_000,
        ..Default::default()
    }
}

/// A child of `parent` committing to `state_root`; `salt` tells sibling blocks apart.
pub fn child(parent: &Header, state_root: B256, salt: u64) -> Header {
    Header {
        parent_hash: parent.hash_slow(),
        number: parent.number + 1,
        state_root,
        timestamp: parent.timestamp + 12,
        nonce: salt.into(),
        ..parent.clone()
    }
}

pub fn meta(header: &Header) -> BlockMeta {
    BlockMeta {
        total_difficulty: U256::from(header.number + 1) * header.difficulty,
        ommer_hashes: vec![B256::with_last_byte(header.number as u8)],
    }
}

/// A database and the model it must equal, kept in step block by block.
pub struct Chain {
    pub db: ChainDb,
    pub model: Model,
    pub headers: Vec<Header>,
}

impl Chain {
    pub fn create(path: &std::path::Path, cache_bytes: u64, alloc: &BlockWrites) -> Self {
        let mut db = ChainDb::open(path, cache_bytes).unwrap();
        let mut model = Model::default();
        model.apply(alloc);
        let genesis = genesis_header(model.root());
        db.init_genesis(&genesis, alloc, None).unwrap();
        Self {
            db,
            model,
            headers: vec![genesis],
        }
    }

    pub fn head(&self) -> &Header {
        self.headers.last().unwrap()
    }

    /// Commits `writes` as the next block with the model's root after them.
    pub fn commit(&mut self, writes: &BlockWrites) -> Header {
        let mut next = self.model.clone();
        next.apply(writes);
        let header = child(self.head(), next.root(), 0);
        self.db
            .commit_block(
                &header,
                header.hash_slow(),
                &meta(&header),
                writes,
                header.state_root,
                None,
            )
            .unwrap();
        self.model = next;
        self.headers.push(header.clone());
        header
    }
}
