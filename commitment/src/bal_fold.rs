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
///
/// A BAL says which fields changed, not how an account came to end empty or whether a listed
/// account was only read: wherever the post-state turns on that, the fold refuses.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Inexpressible {
    /// The system caller appears in the BAL (a transaction touched it): whether it exists
    /// afterwards depends on how, which only execution knows.
    #[error("the BAL lists SYSTEM_ADDRESS")]
    SystemAddress,
    /// A pre-existing account is listed and ends empty (no nonce, balance or code): EIP-161
    /// removes it if the block touched it (a zero-value call, a transaction to it, a
    /// SELFDESTRUCT beneficiary) and keeps it if the block only read it; a BAL lists both the
    /// same way, with no change at all when the account was empty already.
    #[error("pre-existing account {0} ends empty (EIP-161 removal is not expressible)")]
    EmptyAccountRemoval(Address),
    /// Before EIP-161 a touched absent account may have been created empty (a zero-value
    /// call) or only looked at: the BAL lists both the same way.
    #[error("absent account {0} ends empty before EIP-161 (creation is not expressible)")]
    EmptyAccountCreation(Address),
    /// Before EIP-161 an existing account that ends empty stays if it was emptied and is gone
    /// if it self-destructed (or was created over and self-destructed, keeping no code).
    #[error("pre-existing account {0} ends empty before EIP-161 (emptied or destroyed)")]
    EmptiedAccount(Address),
    /// The parent state of a listed account could not be read from the stored trie (an I/O or
    /// corruption failure of the node source). Not the BAL's fault: the block falls back to
    /// its executed writes, whose commit reports the failure.
    #[error("parent state unreadable: {0}")]
    ParentUnreadable(String),
}

/// The fork rules a BAL fold depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldRules {
    /// EIP-161 (Spurious Dragon on): touched empty accounts are removed, so an account that
    /// ends empty is gone rather than created.
    pub eip161: bool,
    /// EIP-6780 (Cancun on): SELFDESTRUCT removes only accounts created in the same
    /// transaction. Before it, a listed code change on an account that had code means the
    /// account was destroyed (code is otherwise immutable), taking all its storage with it,
    /// not only the slots the BAL lists.
    pub eip6780: bool,
}

impl Default for FoldRules {
    /// Every mainnet block since Cancun (2024).
    fn default() -> Self {
        Self {
            eip161: true,
            eip6780: true,
        }
    }
}

/// The account updates that take `parent` to the post-state the BAL describes. Over a node
/// source the listed accounts are read into memory (hence `&mut`); nothing is changed.
pub fn bal_updates(
    parent: &mut StateTrie,
    bal: &[AccountChanges],
    rules: FoldRules,
) -> Result<Vec<AccountUpdate>, Inexpressible> {
    let mut updates = Vec::with_capacity(bal.len());
    for f in BalView::new(bal).finals() {
        if f.address == SYSTEM_ADDRESS {
            return Err(Inexpressible::SystemAddress);
        }
        let pre = parent
            .read_account(&f.address)
            .map_err(|error| Inexpressible::ParentUnreadable(error.to_string()))?;
        let base = pre.unwrap_or(EMPTY_ACCOUNT);
        let info = TrieAccount {
            nonce: f.nonce.unwrap_or(base.nonce),
            balance: f.balance.unwrap_or(base.balance),
            code_hash: match &f.code {
                Some(code) if code.is_empty() => KECCAK256_EMPTY,
                Some(code) => keccak256(code),
                None => base.code_hash,
            },
        };
        if info.is_empty() {
            match (rules.eip161, pre.is_some()) {
                // Never existed, or created and removed within the block: no trace.
                (true, false) => continue,
                (true, true) => return Err(Inexpressible::EmptyAccountRemoval(f.address)),
                (false, false) => return Err(Inexpressible::EmptyAccountCreation(f.address)),
                (false, true) => return Err(Inexpressible::EmptiedAccount(f.address)),
            }
        }
        if f.balance.is_none() && f.nonce.is_none() && f.code.is_none() && f.storage.is_empty() {
            continue; // read only
        }
        let destroyed = !rules.eip6780 && f.code.is_some() && base.code_hash != KECCAK256_EMPTY;
        updates.push(AccountUpdate {
            address: f.address,
            info: Some(info),
            wipe_storage: destroyed,
            storage: f.storage,
        });
    }
    Ok(updates)
}

/// An account that does not exist, as the fold reads it.
const EMPTY_ACCOUNT: TrieAccount = TrieAccount {
    nonce: 0,
    balance: U256::ZERO,
    code_hash: KECCAK256_EMPTY,
};

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
    fn before_eip161_an_account_ending_empty_is_inexpressible() {
        let pre161 = FoldRules {
            eip161: false,
            eip6780: false,
        };
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
        // An existing account emptied before EIP-161 stays if it was drained and is gone if
        // it self-destructed; the list reads the same.
        let emptied = vec![
            AccountChanges::new(Address::repeat_byte(1))
                .with_balance_change(BalanceChange::new(at(1), U256::ZERO))
                .with_nonce_change(NonceChange::new(at(1), 0))
                .with_code_change(bal::CodeChange::new(at(1), Default::default())),
        ];
        let mut kept = parent();
        assert_eq!(
            fold_bal(&mut kept, &emptied, pre161),
            Err(Inexpressible::EmptiedAccount(Address::repeat_byte(1)))
        );
    }

    /// The Spurious Dragon case: an account that existed empty (a precompile, say) is listed
    /// with no change. A zero-value call removed it, a BALANCE left it: the fold must refuse.
    #[test]
    fn a_listed_empty_account_is_inexpressible_under_eip161() {
        let empty = Address::repeat_byte(4);
        let mut trie = parent();
        trie.apply(&[AccountUpdate {
            address: empty,
            info: Some(EMPTY_ACCOUNT),
            wipe_storage: false,
            storage: vec![],
        }]);
        let root = trie.root();
        let listed = vec![AccountChanges::new(empty)];
        assert_eq!(
            fold_bal(&mut trie, &listed, FoldRules::default()),
            Err(Inexpressible::EmptyAccountRemoval(empty))
        );
        assert_eq!(trie.root(), root);
    }

    /// Before EIP-6780 a contract whose code the BAL changes was destroyed in between (then
    /// funded or re-created): its unlisted slots are gone too.
    #[test]
    fn a_code_change_before_eip6780_wipes_the_storage() {
        let contract = Address::repeat_byte(1);
        let refunded = vec![
            AccountChanges::new(contract)
                .with_balance_change(BalanceChange::new(at(1), U256::ZERO))
                .with_code_change(bal::CodeChange::new(at(1), Default::default()))
                .with_nonce_change(NonceChange::new(at(1), 0))
                .with_balance_change(BalanceChange::new(at(2), U256::from(7))),
        ];
        let pre_cancun = FoldRules {
            eip161: true,
            eip6780: false,
        };
        let mut folded = parent();
        let root = fold_bal(&mut folded, &refunded, pre_cancun).unwrap();
        assert_eq!(folded.storage(&contract, U256::from(1)), U256::ZERO);

        let mut expected = parent();
        expected.apply(&[AccountUpdate {
            address: contract,
            info: Some(TrieAccount {
                nonce: 0,
                balance: U256::from(7),
                code_hash: KECCAK256_EMPTY,
            }),
            wipe_storage: true,
            storage: vec![],
        }]);
        assert_eq!(root, expected.root());
    }
}
