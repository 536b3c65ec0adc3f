//! A read snapshot of the head state: what blocks execute against (revm's [`DatabaseRef`]) and
//! what `db check` streams to recompute the root.

use std::{iter::Peekable, ops::Bound, sync::Arc};

use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256};
use commitment::TrieAccount;
use revm::{bytecode::Bytecode, database_interface::DatabaseRef, state::AccountInfo};

use crate::{
    backend::{BackendError, KvBackend, KvRead, Row, Rows, Table},
    cache::{Entry, Key, StateCache},
    error::{StorageError, corrupt},
    plain_state,
    rows::{Checkpoint, decode_account, decode_address, decode_hash, decode_slot_key, number_key},
};

/// The state at one head, consistent however many blocks are committed after it was taken.
/// `Send + Sync`: a block's transactions read it from all rayon workers at once.
pub struct StateSnapshot<B: KvBackend> {
    read: B::Read,
    cache: Arc<StateCache>,
    /// The cache version this snapshot may read; `None`: bypass the cache.
    version: Option<u64>,
    head: Checkpoint,
}

impl<B: KvBackend> std::fmt::Debug for StateSnapshot<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSnapshot")
            .field("head", &self.head)
            .field("cached", &self.version.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: KvBackend> StateSnapshot<B> {
    pub(crate) fn new(
        read: B::Read,
        cache: Arc<StateCache>,
        version: Option<u64>,
        head: Checkpoint,
    ) -> Self {
        Self {
            read,
            cache,
            version,
            head,
        }
    }

    pub(crate) fn reader(&self) -> &B::Read {
        &self.read
    }

    /// The block this state is the result of.
    pub fn head(&self) -> Checkpoint {
        self.head
    }

    /// An account's fields, `None` if it does not exist.
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>, StorageError> {
        let key = Key::Account(address);
        if let Some(Entry::Account(info)) = self.cache.get(self.version, &key) {
            return Ok(info);
        }
        let info = plain_state::account(&self.read, &address)?;
        self.cache.fill(self.version, key, Entry::Account(info));
        Ok(info)
    }

    /// A slot's value (zero when unset).
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, StorageError> {
        let key = Key::Slot(address, slot);
        if let Some(Entry::Slot(value)) = self.cache.get(self.version, &key) {
            return Ok(value);
        }
        let value = plain_state::slot(&self.read, &address, &slot)?;
        self.cache.fill(self.version, key, Entry::Slot(value));
        Ok(value)
    }

    /// Code by hash; the empty hash is the empty code.
    pub fn code(&self, hash: B256) -> Result<Bytecode, StorageError> {
        if hash == KECCAK256_EMPTY {
            return Ok(Bytecode::default());
        }
        let key = Key::Code(hash);
        if let Some(Entry::Code(code)) = self.cache.get(self.version, &key) {
            return Ok(code);
        }
        let code = plain_state::code(&self.read, &hash)?.ok_or(StorageError::MissingCode(hash))?;
        self.cache
            .fill(self.version, key, Entry::Code(code.clone()));
        Ok(code)
    }

    /// Every account with its storage, in address order, streamed from disk (the cache is
    /// bypassed: a full scan would only evict the working set).
    pub fn accounts(&self) -> Result<PlainAccounts<'_>, StorageError> {
        let all = (Bound::Unbounded, Bound::Unbounded);
        Ok(PlainAccounts {
            accounts: self.read.range(Table::Accounts, all.0, all.1)?,
            storage: self.read.range(Table::Storage, all.0, all.1)?.peekable(),
        })
    }
}

impl<B: KvBackend> DatabaseRef for StateSnapshot<B> {
    type Error = StorageError;

    /// Code is loaded with the account, as the in-memory state does, so execution never needs
    /// a second lookup by hash.
    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StorageError> {
        let Some(info) = self.account(address)? else {
            return Ok(None);
        };
        Ok(Some(AccountInfo {
            balance: info.balance,
            nonce: info.nonce,
            code_hash: info.code_hash,
            code: Some(self.code(info.code_hash)?),
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StorageError> {
        self.code(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, StorageError> {
        self.storage(address, index)
    }

    /// Canonical hashes of any stored block; zero for a block the chain does not hold, as
    /// BLOCKHASH answers outside its window.
    fn block_hash_ref(&self, number: u64) -> Result<B256, StorageError> {
        self.read
            .get(Table::CanonicalHashes, &number_key(number))?
            .map_or(Ok(B256::ZERO), |row| {
                decode_hash(Table::CanonicalHashes, &row)
            })
    }
}

/// One account of the plain state with all its storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainAccount {
    /// The account's address.
    pub address: Address,
    /// Its fields.
    pub info: TrieAccount,
    /// Its non-zero slots, in slot order.
    pub storage: Vec<(U256, U256)>,
}

/// The plain state in address order: the accounts table and the storage table walked side by
/// side (both are keyed by address first).
pub struct PlainAccounts<'a> {
    accounts: Rows<'a>,
    storage: Peekable<Rows<'a>>,
}

impl PlainAccounts<'_> {
    fn next_account(&mut self) -> Result<Option<PlainAccount>, StorageError> {
        let Some(row) = self.accounts.next() else {
            return self.orphan_slots();
        };
        let (key, value) = row?;
        let address = decode_address(Table::Accounts, &key)?;
        let info = decode_account(&value)?;
        let mut storage = Vec::new();
        // Takes this account's rows, an error, or a lower address (an orphan, refused below).
        let ours = |row: &Result<Row, BackendError>| match row {
            Ok((key, _)) => key_address(key).is_none_or(|a| a <= address.as_slice()),
            Err(_) => true,
        };
        while let Some(row) = self.storage.next_if(ours) {
            let (key, value) = row?;
            let (slot_address, slot) = decode_slot_key(&key)?;
            if slot_address != address {
                return Err(orphan(slot_address));
            }
            storage.push((slot, plain_state::decode_value(&value)?));
        }
        Ok(Some(PlainAccount {
            address,
            info,
            storage,
        }))
    }

    /// After the last account, any slot left belongs to no account.
    fn orphan_slots(&mut self) -> Result<Option<PlainAccount>, StorageError> {
        match self.storage.next() {
            None => Ok(None),
            Some(row) => Err(orphan(decode_slot_key(&row?.0)?.0)),
        }
    }
}

fn key_address(key: &[u8]) -> Option<&[u8]> {
    key.get(..20)
}

fn orphan(address: Address) -> StorageError {
    corrupt(
        Table::Storage,
        format!("storage of {address}, which has no account"),
    )
}

impl Iterator for PlainAccounts<'_> {
    type Item = Result<PlainAccount, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_account().transpose()
    }
}
