//! Per-block change sets: every account a block wrote, as it was before the block (its fields
//! or its absence, and the previous value of every slot the block touched, including every slot
//! a storage wipe removed). Applying them newest first restores any earlier block's state
//! exactly, without a state copy per block.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use commitment::TrieAccount;

use crate::{
    backend::{KvWrite, Table},
    error::StorageError,
    plain_state,
    rows::{change_key, decode_change_key, decode_rlp, encode_code, encode_rlp, number_key},
    writes::{AccountWrite, BlockWrites, EMPTY_ACCOUNT, InfoChange},
};

/// One account's final values over a span of changes: its fields (`None`: absent) and each
/// touched slot (zero: absent).
pub(crate) type Settled = BTreeMap<Address, (Option<TrieAccount>, BTreeMap<U256, U256>)>;

#[derive(RlpEncodable, RlpDecodable)]
struct SlotValue {
    slot: U256,
    value: U256,
}

/// A change-set row. The fields are meaningless when `existed` is false; a fixed shape keeps
/// the row plain RLP.
#[derive(RlpEncodable, RlpDecodable)]
struct AccountBefore {
    existed: bool,
    nonce: u64,
    balance: U256,
    code_hash: B256,
    slots: Vec<SlotValue>,
}

impl AccountBefore {
    fn new(info: Option<TrieAccount>, slots: &BTreeMap<U256, U256>) -> Self {
        let fields = info.unwrap_or(EMPTY_ACCOUNT);
        Self {
            existed: info.is_some(),
            nonce: fields.nonce,
            balance: fields.balance,
            code_hash: fields.code_hash,
            slots: slots
                .iter()
                .map(|(&slot, &value)| SlotValue { slot, value })
                .collect(),
        }
    }

    fn info(&self) -> Option<TrieAccount> {
        self.existed.then_some(TrieAccount {
            nonce: self.nonce,
            balance: self.balance,
            code_hash: self.code_hash,
        })
    }
}

/// Applies a block's writes to plain state and stores its change set under `number`.
/// Returns the settled writes: every touched account's final fields and every touched slot's
/// final value (slots a wipe removed included, as zero), which is what a cache must learn.
pub(crate) fn apply_block(
    txn: &mut impl KvWrite,
    number: u64,
    writes: &BlockWrites,
) -> Result<BlockWrites, StorageError> {
    for (hash, code) in &writes.codes {
        txn.put(Table::Code, hash.as_slice(), &encode_code(code))?;
    }
    // Keyed by address, so an account listed twice keeps its first before-values.
    let mut before = Settled::new();
    let mut after = Settled::new();
    for write in &writes.accounts {
        let current = plain_state::account(txn, &write.address)?;
        let (_, slots_before) = before
            .entry(write.address)
            .or_insert_with(|| (current, BTreeMap::new()));
        let (info_after, slots_after) = after.entry(write.address).or_default();
        let info = match write.info {
            InfoChange::Removed => None,
            InfoChange::Set(info) => Some(info),
            InfoChange::Unchanged => Some(current.unwrap_or(EMPTY_ACCOUNT)),
        };
        if info.is_none() || write.wipe_storage {
            for (slot, value) in plain_state::slots_of(txn, &write.address)? {
                slots_before.entry(slot).or_insert(value);
                slots_after.insert(slot, U256::ZERO);
                plain_state::set_slot(txn, &write.address, &slot, &U256::ZERO)?;
            }
        }
        // A removed account's storage went with it; revm lists none, and none is applied.
        if info.is_some() {
            for (slot, value) in &write.storage {
                if !slots_before.contains_key(slot) {
                    let previous = plain_state::slot(txn, &write.address, slot)?;
                    slots_before.insert(*slot, previous);
                }
                plain_state::set_slot(txn, &write.address, slot, value)?;
                slots_after.insert(*slot, *value);
            }
        }
        plain_state::set_account(txn, &write.address, info.as_ref())?;
        *info_after = info;
    }
    for (address, (info, slots)) in &before {
        let row = encode_rlp(&AccountBefore::new(*info, slots));
        txn.put(Table::AccountChanges, &change_key(number, address), &row)?;
    }
    let mut settled = settled_writes(after);
    settled.codes = writes.codes.clone();
    Ok(settled)
}

/// Restores the state before block `number` from its change set and removes the change set.
/// `restored` collects the values put back; called newest block first, the oldest block's
/// before-values win, which are the target's.
pub(crate) fn revert_block(
    txn: &mut impl KvWrite,
    number: u64,
    restored: &mut Settled,
) -> Result<(), StorageError> {
    let rows = txn
        .prefix(Table::AccountChanges, &number_key(number))?
        .collect::<Result<Vec<_>, _>>()?;
    for (key, row) in rows {
        let (_, address) = decode_change_key(&key)?;
        let before: AccountBefore = decode_rlp(Table::AccountChanges, &row)?;
        let info = before.info();
        plain_state::set_account(txn, &address, info.as_ref())?;
        let (info_restored, slots_restored) = restored.entry(address).or_default();
        *info_restored = info;
        for SlotValue { slot, value } in before.slots {
            plain_state::set_slot(txn, &address, &slot, &value)?;
            slots_restored.insert(slot, value);
        }
        txn.delete(Table::AccountChanges, &key)?;
    }
    Ok(())
}

/// Final values as writes: applied to the state they came from, they give the state they
/// describe. No wipe is needed: every slot that differs between the two was touched, so it is
/// listed (a removed account lists its removed slots as zero, which the trie ignores).
pub(crate) fn settled_writes(settled: Settled) -> BlockWrites {
    let accounts = settled
        .into_iter()
        .map(|(address, (info, slots))| AccountWrite {
            address,
            info: info.map_or(InfoChange::Removed, InfoChange::Set),
            wipe_storage: false,
            storage: slots.into_iter().collect(),
        })
        .collect();
    BlockWrites {
        accounts,
        codes: Vec::new(),
    }
}
