//! Structural validation: alloy-eip7928's ordering, uniqueness (which includes a slot listed
//! as both read and written) and index-range rules, plus the one rule it leaves to the caller:
//! the item count is capped by the block gas limit, and the system caller may not appear in a
//! block whose only accesses to it are system calls.

use alloy_eip7928::{
    AccountChanges, constants::ITEM_COST, total_bal_items, validate_block_access_list,
};
use alloy_primitives::{Address, address};

use crate::BalError;

/// The caller of EIP-4788 / EIP-2935 / EIP-7002 / EIP-7251 system calls. Its accesses during
/// system calls are not recorded, so it is listed only if a transaction touched it.
pub const SYSTEM_ADDRESS: Address = address!("0xfffffffffffffffffffffffffffffffffffffffe");

/// Validates `bal` for a block with `tx_count` transactions and gas limit `gas_limit`.
pub fn validate(bal: &[AccountChanges], tx_count: usize, gas_limit: u64) -> Result<(), BalError> {
    validate_block_access_list(bal, tx_count)?;
    if tx_count == 0 && bal.iter().any(|a| a.address == SYSTEM_ADDRESS) {
        return Err(BalError::SurplusSystemAddress);
    }
    let items = total_bal_items(bal);
    let cap = gas_limit / ITEM_COST as u64;
    if items > cap {
        return Err(BalError::TooManyItems { items, cap });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eip7928::{
        BlockAccessIndex, BlockAccessListValidationError, SlotChanges, StorageChange,
    };
    use alloy_primitives::U256;

    fn written_and_read(slot: u64, read: u64) -> Vec<AccountChanges> {
        vec![
            AccountChanges::new(Address::repeat_byte(1))
                .with_storage_change(SlotChanges {
                    slot: U256::from(slot),
                    changes: vec![StorageChange::new(BlockAccessIndex::new(1), U256::from(1))],
                })
                .with_storage_read(U256::from(read)),
        ]
    }

    #[test]
    fn a_slot_both_read_and_written_is_rejected() {
        assert!(validate(&written_and_read(3, 4), 1, 30_000_000).is_ok());
        assert!(matches!(
            validate(&written_and_read(3, 3), 1, 30_000_000),
            Err(BalError::Structure(
                BlockAccessListValidationError::DuplicateStorageKey { .. }
            ))
        ));
    }

    #[test]
    fn the_system_caller_needs_a_transaction_to_be_listed() {
        let bal = vec![AccountChanges::new(SYSTEM_ADDRESS)];
        assert_eq!(
            validate(&bal, 0, 30_000_000),
            Err(BalError::SurplusSystemAddress)
        );
        assert!(validate(&bal, 1, 30_000_000).is_ok());
    }

    #[test]
    fn the_gas_limit_caps_the_item_count() {
        // One account + one written slot + one read = 3 items; 3 * ITEM_COST gas allows exactly 3.
        let bal = written_and_read(3, 4);
        assert!(validate(&bal, 1, 3 * ITEM_COST as u64).is_ok());
        assert!(matches!(
            validate(&bal, 1, 3 * ITEM_COST as u64 - 1),
            Err(BalError::TooManyItems { .. })
        ));
    }

    #[test]
    fn an_index_past_the_block_is_rejected() {
        assert!(matches!(
            validate(&written_and_read(3, 4), 0, 30_000_000),
            Ok(())
        ));
        let late = vec![
            AccountChanges::new(Address::repeat_byte(1)).with_storage_change(SlotChanges {
                slot: U256::from(1),
                changes: vec![StorageChange::new(BlockAccessIndex::new(5), U256::from(1))],
            }),
        ];
        assert!(matches!(
            validate(&late, 2, 30_000_000),
            Err(BalError::Structure(_))
        ));
    }
}
