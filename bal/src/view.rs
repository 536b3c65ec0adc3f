//! An indexed view of a BAL answering the two questions its consumers ask: what a transaction
//! at index `i` sees (the latest change strictly before `i`), and what the block leaves behind
//! (the highest index wins; storage reads carry no value and are ignored).
//!
//! Change lists are sorted by index (validation guarantees it), so each lookup is a binary
//! search.

use std::collections::HashMap;

use alloy_eip7928::{AccountChanges, BlockAccessIndex};
use alloy_primitives::{Address, Bytes, U256};

/// Latest entry with index strictly below `index` in a list sorted by index.
fn before<T>(
    changes: &[T],
    index: BlockAccessIndex,
    at: impl Fn(&T) -> BlockAccessIndex,
) -> Option<&T> {
    let n = changes.partition_point(|c| at(c) < index);
    n.checked_sub(1).map(|i| &changes[i])
}

/// An account's post-block values as the BAL states them; `None` fields were not changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountFinal {
    /// The account, as listed in the BAL (listed accounts include ones only read).
    pub address: Address,
    /// Balance after the block, in wei.
    pub balance: Option<U256>,
    /// Nonce after the block.
    pub nonce: Option<u64>,
    /// Code after the block; `Some` of empty bytes means the code was cleared, not unchanged.
    pub code: Option<Bytes>,
    /// Final value of every written slot, as (slot, value) in the BAL's slot order (ascending);
    /// slots only read are absent.
    pub storage: Vec<(U256, U256)>,
}

/// Lookup by address over a validated BAL.
///
/// The answers assume what [`validate`](crate::validate) checks: addresses unique, change lists
/// sorted by index, slots sorted. On an unvalidated BAL a lookup does not panic but may miss a
/// change or return a wrong one.
#[derive(Debug)]
pub struct BalView<'a> {
    bal: &'a [AccountChanges],
    by_address: HashMap<Address, usize>,
}

impl<'a> BalView<'a> {
    /// Indexes `bal` by address: one hash map entry per account, no copy of the changes.
    pub fn new(bal: &'a [AccountChanges]) -> Self {
        Self {
            bal,
            by_address: bal
                .iter()
                .enumerate()
                .map(|(i, a)| (a.address, i))
                .collect(),
        }
    }

    /// The BAL's entry for `address`, or `None` if the block does not list it.
    pub fn account(&self, address: &Address) -> Option<&'a AccountChanges> {
        self.by_address.get(address).map(|&i| &self.bal[i])
    }

    /// Balance (wei) seen at `index`: the latest change with a lower index; `None` means no
    /// earlier change, so the pre-state's value holds.
    pub fn balance_before(&self, address: &Address, index: BlockAccessIndex) -> Option<U256> {
        let changes = self.account(address)?.balance_changes();
        before(changes, index, |c| c.block_access_index).map(|c| c.post_balance)
    }

    /// Nonce seen at `index`, as [`balance_before`](Self::balance_before); `None` means the
    /// pre-state's nonce.
    pub fn nonce_before(&self, address: &Address, index: BlockAccessIndex) -> Option<u64> {
        let changes = self.account(address)?.nonce_changes();
        before(changes, index, |c| c.block_access_index).map(|c| c.new_nonce)
    }

    /// Code seen at `index`, as [`balance_before`](Self::balance_before); `None` means the
    /// pre-state's code (an empty `Some` means code cleared earlier in the block).
    pub fn code_before(&self, address: &Address, index: BlockAccessIndex) -> Option<&'a Bytes> {
        let changes = self.account(address)?.code_changes();
        before(changes, index, |c| c.block_access_index).map(|c| &c.new_code)
    }

    /// Value of `slot` seen at `index`, as [`balance_before`](Self::balance_before); `None`
    /// means the pre-state's value, which includes a slot the BAL lists only as read.
    pub fn storage_before(
        &self,
        address: &Address,
        slot: U256,
        index: BlockAccessIndex,
    ) -> Option<U256> {
        let slots = self.account(address)?.storage_changes();
        let at = slots.binary_search_by(|s| s.slot.cmp(&slot)).ok()?;
        before(&slots[at].changes, index, |c| c.block_access_index).map(|c| c.new_value)
    }

    /// Every account's post-block values (the highest index wins), in the BAL's order, one
    /// per listed account, including accounts with no change at all.
    pub fn finals(&self) -> impl Iterator<Item = AccountFinal> + 'a {
        self.bal.iter().map(|a| AccountFinal {
            address: a.address,
            balance: a.balance_changes().last().map(|c| c.post_balance),
            nonce: a.nonce_changes().last().map(|c| c.new_nonce),
            code: a.code_changes().last().map(|c| c.new_code.clone()),
            storage: a
                .storage_changes()
                .iter()
                .filter_map(|s| s.changes.last().map(|c| (s.slot, c.new_value)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eip7928::{BalanceChange, SlotChanges, StorageChange};

    fn idx(i: u64) -> BlockAccessIndex {
        BlockAccessIndex::new(i)
    }

    fn sample() -> Vec<AccountChanges> {
        vec![
            AccountChanges::new(Address::repeat_byte(1))
                .with_balance_change(BalanceChange::new(idx(1), U256::from(10)))
                .with_balance_change(BalanceChange::new(idx(3), U256::from(30)))
                .with_storage_change(SlotChanges {
                    slot: U256::from(7),
                    changes: vec![StorageChange::new(idx(2), U256::from(5))],
                })
                .with_storage_read(U256::from(9)),
        ]
    }

    #[test]
    fn values_before_an_index_come_from_strictly_earlier_changes() {
        let bal = sample();
        let view = BalView::new(&bal);
        let a = Address::repeat_byte(1);
        assert_eq!(view.balance_before(&a, idx(1)), None);
        assert_eq!(view.balance_before(&a, idx(2)), Some(U256::from(10)));
        assert_eq!(view.balance_before(&a, idx(3)), Some(U256::from(10)));
        assert_eq!(view.balance_before(&a, idx(4)), Some(U256::from(30)));
        assert_eq!(view.storage_before(&a, U256::from(7), idx(2)), None);
        assert_eq!(
            view.storage_before(&a, U256::from(7), idx(3)),
            Some(U256::from(5))
        );
        assert_eq!(
            view.storage_before(&a, U256::from(9), idx(3)),
            None,
            "reads carry no value"
        );
        assert_eq!(view.nonce_before(&Address::ZERO, idx(5)), None);
    }

    #[test]
    fn finals_take_the_highest_index_and_ignore_reads() {
        let bal = sample();
        let finals: Vec<_> = BalView::new(&bal).finals().collect();
        assert_eq!(finals.len(), 1);
        assert_eq!(finals[0].balance, Some(U256::from(30)));
        assert_eq!(finals[0].nonce, None);
        assert_eq!(finals[0].storage, vec![(U256::from(7), U256::from(5))]);
    }
}
