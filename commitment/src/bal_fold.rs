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
    /// Before EIP-161 a touched absent account may have been created empty (a zero-value
    /// call) or only looked at: the BAL lists both the same way.
    #[error("absent account {0} ends empty before EIP-161 (creation is not expressible)")]
    EmptyAccountCreation(Address),
}

/// The fork rules a BAL fold depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldRules {
    /// EIP-161 (Spurious Dragon on): touched empty accounts are removed, so an account that
    /// ends empty is gone rather than created.
    pub eip161: bool,
}

impl Default for FoldRules {
    /// Every mainnet block since 2016.
    fn default() -> Self {
        Self { eip161: true }
    }
}

/// The account updates that take `parent` to the post-state the BAL describes.
pub fn bal_updates(
    parent: &StateTrie,
    bal: &[AccountChanges],
    rules: FoldRules,
) -> Result<Vec<AccountUpdate>, Inexpressible> {
    let mut updates = Vec::with_capacity(bal.len());
    for f in BalView::new(bal).finals() {
        if f.address == SYSTEM_ADDRESS {
            return Err(Inexpressible::SystemAddress);
        }
        let pre = parent.account(&f.address);
        // Before EIP-161 an absent account the block touched may now exist, empty.
        let maybe_created_empty = !rules.eip161 && pre.is_none();
        if f.balance.is_none() && f.nonce.is_none() && f.code.is_none() && f.storage.is_empty() {
            if maybe_created_empty {
                return Err(Inexpressible::EmptyAccountCreation(f.address));
            }
            continue; // read only
        }
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
            if maybe_created_empty {
                return Err(Inexpressible::EmptyAccountCreation(f.address));
            }
            if rules.eip161 {
                if pre.is_some() {
                    return Err(Inexpressible::EmptyAccountRemoval(f.address));
                }
                continue; // created and removed within the block: no trace in the state
            }
            // Before EIP-161 an existing account that ends empty stays, empty.
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
    rules: FoldRules,
) -> Result<alloy_primitives::B256, Inexpressible> {
    let updates = bal_updates(trie, bal, rules)?;
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
        let root = fold_bal(&mut folded, &bal, FoldRules::default()).unwrap();

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
        assert_eq!(
            fold_bal(&mut trie.clone(), &emptied, FoldRules::default()),
            Ok(before)
        );

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
            fold_bal(&mut pre_existing, &emptied, FoldRules::default()),
            Err(Inexpressible::EmptyAccountRemoval(Address::repeat_byte(3)))
        );
        assert_eq!(pre_existing.root(), root);

        let system =
            vec![AccountChanges::new(SYSTEM_ADDRESS).with_nonce_change(NonceChange::new(at(1), 1))];
        assert_eq!(
            fold_bal(&mut trie, &system, FoldRules::default()),
            Err(Inexpressible::SystemAddress)
        );
        assert_eq!(trie.root(), before);
    }

    #[test]
    fn before_eip161_a_touched_absent_account_may_exist_empty() {
        let pre161 = FoldRules { eip161: false };
        let absent = Address::repeat_byte(9);
        let touched = vec![AccountChanges::new(absent)];
        assert_eq!(
            fold_bal(&mut parent(), &touched, pre161),
            Err(Inexpressible::EmptyAccountCreation(absent))
        );
        // The same list after EIP-161: the account is gone either way.
        let mut trie = parent();
        let before = trie.root();
        assert_eq!(
            fold_bal(&mut trie, &touched, FoldRules::default()),
            Ok(before)
        );
        // An existing account emptied before EIP-161 stays, empty.
        let emptied = vec![
            AccountChanges::new(Address::repeat_byte(1))
                .with_balance_change(BalanceChange::new(at(1), U256::ZERO))
                .with_nonce_change(NonceChange::new(at(1), 0)),
        ];
        let mut kept = parent();
        let root = fold_bal(&mut kept, &emptied, pre161).unwrap();
        assert_eq!(
            kept.account(&Address::repeat_byte(1)).map(|a| a.nonce),
            Some(0)
        );
        assert_ne!(root, before);
    }
}
