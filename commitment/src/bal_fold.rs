//! The executionless root: a block's post-state from its parent state and its BAL alone.
//!
//! The BAL names every changed field with its final value (highest block_access_index wins,
//! storage reads carry nothing); fields it does not name keep their parent values, which the
//! state trie itself holds. Two outcomes it cannot express are reported as
//! [`Inexpressible`] so the caller falls back to folding from executed writes instead of
//! producing a wrong root.

use alloy_primitives::{Address, KECCAK256_EMPTY, U256, keccak256};
use bal::{AccountChanges, BalView, SYSTEM_ADDRESS};

use crate::{AccountUpdate, StateTrie, TrieAccount};

/// Why a BAL cannot determine the post-state.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Inexpressible {
    /// The system caller appears in the BAL (a transaction touched it): whether it exists
    /// afterwards depends on how, which only execution knows.
    #[error("the BAL lists SYSTEM_ADDRESS")]
    SystemAddress,
    /// An existing account ends empty: EIP-161 removes it if the block touched it, which the
    /// BAL cannot say.
    #[error("pre-existing account {0} ends empty (EIP-161 removal is not expressible)")]
    EmptyAccountRemoval(Address),
}

/// The account updates that take `parent` to the post-state the BAL describes.
pub fn bal_updates(
    parent: &StateTrie,
    bal: &[AccountChanges],
) -> Result<Vec<AccountUpdate>, Inexpressible> {
    let mut updates = Vec::with_capacity(bal.len());
    for f in BalView::new(bal).finals() {
        if f.address == SYSTEM_ADDRESS {
            return Err(Inexpressible::SystemAddress);
        }
        if f.balance.is_none() && f.nonce.is_none() && f.code.is_none() && f.storage.is_empty() {
            continue; // read only
        }
        let pre = parent.account(&f.address);
        let base = pre.unwrap_or(TrieAccount {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK256_EMPTY,
        });
        let info = TrieAccount {
            nonce: f.nonce.unwrap_or(base.nonce),
            balance: f.balance.unwrap_or(base.balance),
            code_hash: match &f.code {
                Some(code) if code.is_empty() => KECCAK256_EMPTY,
                Some(code) => keccak256(code),
                None => base.code_hash,
            },
        };
        let empty = info.nonce == 0 && info.balance.is_zero() && info.code_hash == KECCAK256_EMPTY;
        if empty && f.storage.iter().all(|(_, v)| v.is_zero()) {
            if pre.is_some() {
                return Err(Inexpressible::EmptyAccountRemoval(f.address));
            }
            continue; // created and removed within the block: no trace in the state
        }
        updates.push(AccountUpdate {
            address: f.address,
            info: Some(info),
            wipe_storage: false,
            storage: f.storage,
        });
    }
    Ok(updates)
}

/// Folds `bal` into `trie` (at the parent state) and returns the post-state root. On
/// [`Inexpressible`] the trie is left untouched.
pub fn fold_bal(
    trie: &mut StateTrie,
    bal: &[AccountChanges],
) -> Result<alloy_primitives::B256, Inexpressible> {
    let updates = bal_updates(trie, bal)?;
    trie.apply(&updates);
    Ok(trie.root())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bal::{BalanceChange, BlockAccessIndex, NonceChange, SlotChanges, StorageChange};

    fn parent() -> StateTrie {
        let mut trie = StateTrie::new();
        trie.apply(&[AccountUpdate {
            address: Address::repeat_byte(1),
            info: Some(TrieAccount {
                nonce: 4,
                balance: U256::from(100),
                code_hash: keccak256([0x60]),
            }),
            wipe_storage: false,
            storage: vec![(U256::from(1), U256::from(11))],
        }]);
        trie.root();
        trie
    }

    fn at(i: u64) -> BlockAccessIndex {
        BlockAccessIndex::new(i)
    }

    #[test]
    fn unchanged_fields_keep_their_parent_values() {
        let bal = vec![
            AccountChanges::new(Address::repeat_byte(1))
                .with_balance_change(BalanceChange::new(at(1), U256::from(90)))
                .with_balance_change(BalanceChange::new(at(2), U256::from(80)))
                .with_storage_change(SlotChanges {
                    slot: U256::from(2),
                    changes: vec![StorageChange::new(at(1), U256::from(22))],
                }),
            AccountChanges::new(Address::repeat_byte(2))
                .with_nonce_change(NonceChange::new(at(1), 1)),
        ];
        let mut folded = parent();
        let root = fold_bal(&mut folded, &bal).unwrap();

        let mut expected = parent();
        expected.apply(&[
            AccountUpdate {
                address: Address::repeat_byte(1),
                info: Some(TrieAccount {
                    nonce: 4,
                    balance: U256::from(80),
                    code_hash: keccak256([0x60]),
                }),
                wipe_storage: false,
                storage: vec![(U256::from(2), U256::from(22))],
            },
            AccountUpdate {
                address: Address::repeat_byte(2),
                info: Some(TrieAccount {
                    nonce: 1,
                    balance: U256::ZERO,
                    code_hash: KECCAK256_EMPTY,
                }),
                wipe_storage: false,
                storage: vec![],
            },
        ]);
        assert_eq!(root, expected.root());
    }

    #[test]
    fn inexpressible_cases_leave_the_trie_untouched() {
        let mut trie = parent();
        let before = trie.root();
        let emptied = vec![
            AccountChanges::new(Address::repeat_byte(3))
                .with_balance_change(BalanceChange::new(at(1), U256::ZERO)),
        ];
        // A new account that ends empty leaves no trace; that is expressible.
        assert_eq!(fold_bal(&mut trie.clone(), &emptied), Ok(before));

        let mut pre_existing = parent();
        pre_existing.apply(&[AccountUpdate {
            address: Address::repeat_byte(3),
            info: Some(TrieAccount {
                nonce: 0,
                balance: U256::from(5),
                code_hash: KECCAK256_EMPTY,
            }),
            wipe_storage: false,
            storage: vec![],
        }]);
        let root = pre_existing.root();
        assert_eq!(
            fold_bal(&mut pre_existing, &emptied),
            Err(Inexpressible::EmptyAccountRemoval(Address::repeat_byte(3)))
        );
        assert_eq!(pre_existing.root(), root);

        let system =
            vec![AccountChanges::new(SYSTEM_ADDRESS).with_nonce_change(NonceChange::new(at(1), 1))];
        assert_eq!(
            fold_bal(&mut trie, &system),
            Err(Inexpressible::SystemAddress)
        );
        assert_eq!(trie.root(), before);
    }
}
