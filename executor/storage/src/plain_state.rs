//! Typed reads and writes of the plain state tables (accounts, storage, code), shared by the
//! write transaction and the read snapshots.

use alloy_primitives::{Address, B256, U256};
use commitment::TrieAccount;
use revm::bytecode::Bytecode;

use crate::{
    backend::{KvRead, KvWrite, Table},
    error::{StorageError, corrupt},
    rows::{decode_account, decode_code, decode_rlp, decode_slot_key, encode_account, slot_key},
};

pub(crate) fn account(
    db: &impl KvRead,
    address: &Address,
) -> Result<Option<TrieAccount>, StorageError> {
    db.get(Table::Accounts, address.as_slice())?
        .map(|row| decode_account(&row))
        .transpose()
}

/// A slot's value; zero when absent (zero values are never stored).
pub(crate) fn slot(db: &impl KvRead, address: &Address, slot: &U256) -> Result<U256, StorageError> {
    db.get(Table::Storage, &slot_key(address, slot))?
        .map_or(Ok(U256::ZERO), |row| decode_value(&row))
}

pub(crate) fn code(db: &impl KvRead, hash: &B256) -> Result<Option<Bytecode>, StorageError> {
    db.get(Table::Code, hash.as_slice())?
        .map(|row| decode_code(&row))
        .transpose()
}

/// Every stored slot of one account, in slot order.
pub(crate) fn slots_of(
    db: &impl KvRead,
    address: &Address,
) -> Result<Vec<(U256, U256)>, StorageError> {
    db.prefix(Table::Storage, address.as_slice())?
        .map(|row| {
            let (key, value) = row?;
            Ok((decode_slot_key(&key)?.1, decode_value(&value)?))
        })
        .collect()
}

pub(crate) fn decode_value(row: &[u8]) -> Result<U256, StorageError> {
    let value: U256 = decode_rlp(Table::Storage, row)?;
    if value.is_zero() {
        return Err(corrupt(Table::Storage, "a zero value is stored"));
    }
    Ok(value)
}

/// Writes or removes an account's row.
pub(crate) fn set_account(
    txn: &mut impl KvWrite,
    address: &Address,
    info: Option<&TrieAccount>,
) -> Result<(), StorageError> {
    match info {
        Some(info) => txn.put(Table::Accounts, address.as_slice(), &encode_account(info))?,
        None => txn.delete(Table::Accounts, address.as_slice())?,
    }
    Ok(())
}

/// Writes a slot; zero removes it.
pub(crate) fn set_slot(
    txn: &mut impl KvWrite,
    address: &Address,
    slot: &U256,
    value: &U256,
) -> Result<(), StorageError> {
    let key = slot_key(address, slot);
    if value.is_zero() {
        txn.delete(Table::Storage, &key)?;
    } else {
        txn.put(Table::Storage, &key, &alloy_rlp::encode(value))?;
    }
    Ok(())
}
