//! Rows of the chain database: fixed-width big-endian keys (byte order is numeric order, so a
//! block's or an account's rows are one contiguous range) and compact values (RLP, which drops
//! leading zeros, or fixed layouts). Decoding checks lengths and RLP framing, so a value this
//! crate did not write is [`StorageError::Corrupt`], never a panic.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use commitment::TrieAccount;
use revm::bytecode::Bytecode;

use crate::{
    backend::Table,
    error::{StorageError, corrupt},
};

/// The stages whose progress the database records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Blocks executed and their plain state written.
    Execution,
    /// Blocks whose state root is committed (the trie caught up).
    Commitment,
    /// The block whose state trie the stored trie nodes hold.
    TrieNodes,
}

impl Stage {
    pub(crate) const fn key(self) -> &'static [u8] {
        match self {
            Stage::Execution => b"execution",
            Stage::Commitment => b"commitment",
            Stage::TrieNodes => b"trie_nodes",
        }
    }
}

/// How far a stage got: the last block it finished and the state root after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// State root after the block.
    pub state_root: B256,
}

/// What the chain rules need of a past block when a node resumes: total difficulty decides
/// the merge (EIP-3675), ommer hashes decide which ommers later blocks may still include.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct BlockMeta {
    /// Difficulty summed from genesis through this block.
    pub total_difficulty: U256,
    /// The block's ommers.
    pub ommer_hashes: Vec<B256>,
}

/// Key of a block-numbered row.
pub(crate) fn number_key(number: u64) -> [u8; 8] {
    number.to_be_bytes()
}

/// Key of a storage slot: the account's address, then the slot.
pub(crate) fn slot_key(address: &Address, slot: &U256) -> [u8; 52] {
    let mut key = [0; 52];
    key[..20].copy_from_slice(address.as_slice());
    key[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    key
}

/// Key of a change-set row: the block, then the account.
pub(crate) fn change_key(number: u64, address: &Address) -> [u8; 28] {
    let mut key = [0; 28];
    key[..8].copy_from_slice(&number.to_be_bytes());
    key[8..].copy_from_slice(address.as_slice());
    key
}

fn fixed<const N: usize>(table: Table, bytes: &[u8]) -> Result<[u8; N], StorageError> {
    bytes
        .try_into()
        .map_err(|_| corrupt(table, format!("{} bytes where {N} belong", bytes.len())))
}

pub(crate) fn decode_number(table: Table, bytes: &[u8]) -> Result<u64, StorageError> {
    fixed(table, bytes).map(u64::from_be_bytes)
}

pub(crate) fn decode_hash(table: Table, bytes: &[u8]) -> Result<B256, StorageError> {
    fixed(table, bytes).map(B256::from)
}

pub(crate) fn decode_address(table: Table, bytes: &[u8]) -> Result<Address, StorageError> {
    fixed(table, bytes).map(Address::from)
}

/// (address, slot) from a storage key.
pub(crate) fn decode_slot_key(bytes: &[u8]) -> Result<(Address, U256), StorageError> {
    let key: [u8; 52] = fixed(Table::Storage, bytes)?;
    let address = Address::from_slice(&key[..20]);
    Ok((address, U256::from_be_slice(&key[20..])))
}

/// (number, address) from a change-set key.
pub(crate) fn decode_change_key(bytes: &[u8]) -> Result<(u64, Address), StorageError> {
    let key: [u8; 28] = fixed(Table::AccountChanges, bytes)?;
    let (number, address) = key.split_at(8);
    Ok((
        decode_number(Table::AccountChanges, number)?,
        Address::from_slice(address),
    ))
}

/// RLP-decodes a whole value: trailing bytes are corruption too.
pub(crate) fn decode_rlp<T: Decodable>(table: Table, mut bytes: &[u8]) -> Result<T, StorageError> {
    let value = T::decode(&mut bytes).map_err(|e| corrupt(table, e))?;
    if !bytes.is_empty() {
        return Err(corrupt(table, "trailing bytes after the value"));
    }
    Ok(value)
}

pub(crate) fn encode_rlp(value: &impl Encodable) -> Vec<u8> {
    alloy_rlp::encode(value)
}

/// An account as stored: the code hash is left out for accounts without code (most of them).
#[derive(RlpEncodable, RlpDecodable)]
#[rlp(trailing)]
struct StoredAccount {
    nonce: u64,
    balance: U256,
    code_hash: Option<B256>,
}

pub(crate) fn encode_account(account: &TrieAccount) -> Vec<u8> {
    encode_rlp(&StoredAccount {
        nonce: account.nonce,
        balance: account.balance,
        code_hash: (account.code_hash != KECCAK256_EMPTY).then_some(account.code_hash),
    })
}

pub(crate) fn decode_account(bytes: &[u8]) -> Result<TrieAccount, StorageError> {
    let stored: StoredAccount = decode_rlp(Table::Accounts, bytes)?;
    Ok(TrieAccount {
        nonce: stored.nonce,
        balance: stored.balance,
        code_hash: stored.code_hash.unwrap_or(KECCAK256_EMPTY),
    })
}

/// Code rows start with the kind revm held, so a read gives back the same variant: bytes that
/// look like an EIP-7702 delegation but were stored as legacy code stay legacy.
const LEGACY_CODE: u8 = 0;
const DELEGATION_CODE: u8 = 1;

pub(crate) fn encode_code(code: &Bytecode) -> Vec<u8> {
    let kind = if code.is_eip7702() {
        DELEGATION_CODE
    } else {
        LEGACY_CODE
    };
    let raw = code.original_byte_slice();
    let mut row = Vec::with_capacity(1 + raw.len());
    row.push(kind);
    row.extend_from_slice(raw);
    row
}

pub(crate) fn decode_code(bytes: &[u8]) -> Result<Bytecode, StorageError> {
    let Some((&kind, raw)) = bytes.split_first() else {
        return Err(corrupt(Table::Code, "empty row"));
    };
    let raw = Bytes::copy_from_slice(raw);
    match kind {
        LEGACY_CODE => Ok(Bytecode::new_legacy(raw)),
        DELEGATION_CODE => Bytecode::new_raw_checked(raw).map_err(|e| corrupt(Table::Code, e)),
        other => Err(corrupt(Table::Code, format!("unknown code kind {other}"))),
    }
}

pub(crate) fn encode_header(header: &Header) -> Vec<u8> {
    encode_rlp(header)
}

pub(crate) fn decode_header(bytes: &[u8]) -> Result<Header, StorageError> {
    decode_rlp(Table::Headers, bytes)
}

pub(crate) fn encode_checkpoint(checkpoint: &Checkpoint) -> [u8; 72] {
    let mut row = [0; 72];
    row[..8].copy_from_slice(&checkpoint.number.to_be_bytes());
    row[8..40].copy_from_slice(checkpoint.hash.as_slice());
    row[40..].copy_from_slice(checkpoint.state_root.as_slice());
    row
}

pub(crate) fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint, StorageError> {
    let row: [u8; 72] = fixed(Table::Checkpoints, bytes)?;
    let (number, hashes) = row.split_at(8);
    let (hash, state_root) = hashes.split_at(32);
    Ok(Checkpoint {
        number: decode_number(Table::Checkpoints, number)?,
        hash: B256::from_slice(hash),
        state_root: B256::from_slice(state_root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_without_code_drops_its_hash_and_round_trips() {
        let eoa = TrieAccount {
            nonce: 7,
            balance: U256::from(1_000_000u64),
            code_hash: KECCAK256_EMPTY,
        };
        let contract = TrieAccount {
            code_hash: B256::repeat_byte(3),
            ..eoa
        };
        assert!(encode_account(&eoa).len() < 10);
        assert_eq!(decode_account(&encode_account(&eoa)).unwrap(), eoa);
        assert_eq!(
            decode_account(&encode_account(&contract)).unwrap(),
            contract
        );
    }

    #[test]
    fn malformed_values_are_corrupt_not_panics() {
        let bad: [&[u8]; 4] = [&[], &[0xff], &[0xc3, 1, 2], &[0xc2, 1, 2, 9]];
        for bytes in bad {
            assert!(matches!(
                decode_account(bytes),
                Err(StorageError::Corrupt { .. })
            ));
            assert!(matches!(
                decode_header(bytes),
                Err(StorageError::Corrupt { .. })
            ));
            assert!(matches!(
                decode_checkpoint(bytes),
                Err(StorageError::Corrupt { .. })
            ));
        }
        assert!(decode_code(&[]).is_err());
        assert!(decode_code(&[9, 0]).is_err());
        assert!(decode_code(&[DELEGATION_CODE, 0xef, 0x01]).is_err());
    }

    #[test]
    fn code_keeps_its_kind() {
        let mut delegation = vec![0xef, 0x01, 0x00];
        delegation.extend_from_slice(&[0x11; 20]);
        let delegation = Bytecode::new_raw_checked(delegation.into()).unwrap();
        let legacy_lookalike = Bytecode::new_legacy(vec![0xef, 0x01, 0x00, 0x01].into());
        for code in [
            delegation,
            legacy_lookalike,
            Bytecode::new_legacy(vec![0x60, 0x00].into()),
        ] {
            assert_eq!(decode_code(&encode_code(&code)).unwrap(), code);
        }
    }
}
