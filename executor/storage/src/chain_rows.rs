//! Typed reads and writes of the chain tables: canonical headers, hashes both ways, block
//! metadata and stage checkpoints.

use alloy_consensus::Header;
use alloy_primitives::B256;

use crate::{
    backend::{KvRead, KvWrite, Table},
    error::StorageError,
    rows::{
        BlockMeta, Checkpoint, Stage, decode_checkpoint, decode_hash, decode_header, decode_number,
        decode_rlp, encode_checkpoint, encode_header, encode_rlp, number_key,
    },
};

pub(crate) fn checkpoint(
    db: &impl KvRead,
    stage: Stage,
) -> Result<Option<Checkpoint>, StorageError> {
    db.get(Table::Checkpoints, stage.key())?
        .map(|row| decode_checkpoint(&row))
        .transpose()
}

/// The execution checkpoint, which exists once a genesis does.
pub(crate) fn head(db: &impl KvRead) -> Result<Checkpoint, StorageError> {
    checkpoint(db, Stage::Execution)?.ok_or(StorageError::NoGenesis)
}

pub(crate) fn header(db: &impl KvRead, number: u64) -> Result<Option<Header>, StorageError> {
    db.get(Table::Headers, &number_key(number))?
        .map(|row| decode_header(&row))
        .transpose()
}

pub(crate) fn canonical_hash(db: &impl KvRead, number: u64) -> Result<Option<B256>, StorageError> {
    db.get(Table::CanonicalHashes, &number_key(number))?
        .map(|row| decode_hash(Table::CanonicalHashes, &row))
        .transpose()
}

pub(crate) fn block_number(db: &impl KvRead, hash: &B256) -> Result<Option<u64>, StorageError> {
    db.get(Table::HeaderNumbers, hash.as_slice())?
        .map(|row| decode_number(Table::HeaderNumbers, &row))
        .transpose()
}

pub(crate) fn block_meta(db: &impl KvRead, number: u64) -> Result<Option<BlockMeta>, StorageError> {
    db.get(Table::BlockMeta, &number_key(number))?
        .map(|row| decode_rlp(Table::BlockMeta, &row))
        .transpose()
}

/// Stores a block as the new canonical head and moves both stages to it.
pub(crate) fn put_head(
    txn: &mut impl KvWrite,
    header: &Header,
    hash: B256,
    meta: &BlockMeta,
) -> Result<Checkpoint, StorageError> {
    let key = number_key(header.number);
    txn.put(Table::Headers, &key, &encode_header(header))?;
    txn.put(Table::CanonicalHashes, &key, hash.as_slice())?;
    txn.put(Table::HeaderNumbers, hash.as_slice(), &key)?;
    txn.put(Table::BlockMeta, &key, &encode_rlp(meta))?;
    let head = Checkpoint {
        number: header.number,
        hash,
        state_root: header.state_root,
    };
    for stage in [Stage::Execution, Stage::Commitment] {
        put_checkpoint(txn, stage, &head)?;
    }
    Ok(head)
}

/// Sets `stage`'s checkpoint.
pub(crate) fn put_checkpoint(
    txn: &mut impl KvWrite,
    stage: Stage,
    at: &Checkpoint,
) -> Result<(), StorageError> {
    txn.put(Table::Checkpoints, stage.key(), &encode_checkpoint(at))?;
    Ok(())
}

/// Removes block `number` from the canonical chain.
pub(crate) fn delete_block(txn: &mut impl KvWrite, number: u64) -> Result<(), StorageError> {
    let key = number_key(number);
    if let Some(hash) = canonical_hash(txn, number)? {
        txn.delete(Table::HeaderNumbers, hash.as_slice())?;
    }
    for table in [Table::Headers, Table::CanonicalHashes, Table::BlockMeta] {
        txn.delete(table, &key)?;
    }
    Ok(())
}

/// Moves a stage back to `to` if it is past it.
pub(crate) fn lower_checkpoint(
    txn: &mut impl KvWrite,
    stage: Stage,
    to: &Checkpoint,
) -> Result<(), StorageError> {
    if checkpoint(txn, stage)?.is_some_and(|c| c.number > to.number) {
        txn.put(Table::Checkpoints, stage.key(), &encode_checkpoint(to))?;
    }
    Ok(())
}
