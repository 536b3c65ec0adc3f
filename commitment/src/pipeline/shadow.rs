//! Shadow mode: the BAL-driven root checked against the root folded from what the executor
//! actually wrote. Parallel root paths have produced wrong roots in production clients; a
//! divergence here names the first account, field or slot (by trie path) where the two
//! post-states part, so the bug can be found from the report alone.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, U256, keccak256};

use crate::{AccountUpdate, StateTrie, TrieAccount, Undo};

/// Where the BAL-driven post-state and the executed one first differ, in trie-path order.
///
/// Only accounts and slots that either side wrote are compared: a difference in storage
/// neither side lists (a storage wipe) shows up as the account's
/// [`StorageRoot`](AccountField::StorageRoot), and a fault in the fold itself as
/// [`Root`](Self::Root).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    /// An account whose fields differ (the first differing field, in the order of
    /// [`AccountField`]'s variants).
    #[error("account {address} (path {path}): {field}")]
    Account {
        /// The account.
        address: Address,
        /// keccak(address): the account's path in the account trie.
        path: B256,
        /// The first field the two sides disagree on.
        field: AccountField,
    },
    /// A written slot whose values differ; reported instead of the account's storage root
    /// when the roots differ because of it.
    #[error("account {address} slot {slot} (path {path}): BAL {bal}, executed {executed}")]
    Slot {
        /// The account owning the slot.
        address: Address,
        /// The slot key as the EVM addresses it.
        slot: U256,
        /// keccak(slot): the slot's path in the account's storage trie.
        path: B256,
        /// The slot's value after the BAL-driven fold (zero: deleted or absent).
        bal: U256,
        /// The slot's value after the executed writes (zero: deleted or absent).
        executed: U256,
    },
    /// No touched account differs, yet the roots do: the fold itself went wrong.
    #[error("roots differ (BAL {bal}, executed {executed}) with equal touched accounts")]
    Root {
        /// The BAL-driven root.
        bal: B256,
        /// The root folded from the executed writes (on the serial path).
        executed: B256,
    },
}

/// The account field two post-states disagree on, BAL-driven value first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountField {
    /// One side has the account and the other has not (created, or deleted by selfdestruct
    /// or EIP-161, on one side only).
    #[error("exists: BAL {bal}, executed {executed}")]
    Existence {
        /// Whether the account exists after the BAL-driven fold.
        bal: bool,
        /// Whether it exists after the executed writes.
        executed: bool,
    },
    /// The nonces differ.
    #[error("nonce: BAL {bal}, executed {executed}")]
    Nonce {
        /// Nonce after the BAL-driven fold.
        bal: u64,
        /// Nonce after the executed writes.
        executed: u64,
    },
    /// The balances differ.
    #[error("balance: BAL {bal}, executed {executed}")]
    Balance {
        /// Balance after the BAL-driven fold, in wei.
        bal: U256,
        /// Balance after the executed writes, in wei.
        executed: U256,
    },
    /// The code hashes differ.
    #[error("code hash: BAL {bal}, executed {executed}")]
    CodeHash {
        /// keccak of the code after the BAL-driven fold.
        bal: B256,
        /// keccak of the code after the executed writes.
        executed: B256,
    },
    /// The storage roots differ but no written slot does: a slot neither side listed (a
    /// storage wipe, say) is the cause.
    #[error("storage root: BAL {bal}, executed {executed}")]
    StorageRoot {
        /// The account's storage root after the BAL-driven fold.
        bal: B256,
        /// The account's storage root after the executed writes.
        executed: B256,
    },
}

/// The BAL-driven fold of a block, held in the trie until the block's result decides it.
#[derive(Debug)]
pub(crate) struct BalFold {
    pub root: B256,
    pub updates: Vec<AccountUpdate>,
    pub undo: Undo,
}

/// The shadow check. On agreement the trie holds the executed post-state, and its root is
/// returned with the undo back to the parent state; on divergence the trie is back at the
/// parent state.
pub(crate) fn shadow_root(
    trie: &mut StateTrie,
    fold: BalFold,
    executed: &[AccountUpdate],
) -> Result<(B256, Undo), Box<Divergence>> {
    trie.revert(fold.undo);
    let undo = trie.apply_reversible(executed);
    // The serial path on purpose: the shadow must not share the parallel root's code.
    let root = trie.root_serial();
    if root == fold.root {
        return Ok((root, undo));
    }
    // Only a divergence pays for naming it: both post-states are read back, the BAL's by
    // applying its updates once more.
    let touched = touched(&fold.updates, executed);
    let executed_side = snapshot(trie, &touched);
    trie.revert(undo);
    let bal_undo = trie.apply_reversible(&fold.updates);
    let bal_side = snapshot(trie, &touched);
    trie.revert(bal_undo);
    let divergence = first_divergence(&bal_side, &executed_side).unwrap_or(Divergence::Root {
        bal: fold.root,
        executed: root,
    });
    Err(Box::new(divergence))
}

/// Accounts and slots either side wrote.
fn touched(a: &[AccountUpdate], b: &[AccountUpdate]) -> BTreeMap<Address, BTreeSet<U256>> {
    let mut out: BTreeMap<Address, BTreeSet<U256>> = BTreeMap::new();
    for update in a.iter().chain(b) {
        out.entry(update.address)
            .or_default()
            .extend(update.storage.iter().map(|(slot, _)| *slot));
    }
    out
}

/// One account as a post-state holds it.
struct AccountState {
    address: Address,
    account: Option<TrieAccount>,
    storage_root: B256,
    /// keccak(slot) -> (slot, value).
    slots: BTreeMap<B256, (U256, U256)>,
}

/// The touched accounts of the trie's current state, keyed by trie path.
fn snapshot(
    trie: &mut StateTrie,
    touched: &BTreeMap<Address, BTreeSet<U256>>,
) -> BTreeMap<B256, AccountState> {
    touched
        .iter()
        .map(|(address, slots)| {
            let state = AccountState {
                address: *address,
                // Over a source, revealed on the way (an unreadable node reads as absent: this
                // only names a divergence already found).
                account: trie.read_account(address).ok().flatten(),
                storage_root: trie.storage_root(address),
                slots: slots
                    .iter()
                    .map(|&slot| {
                        let path = keccak256(slot.to_be_bytes::<32>());
                        let value = trie.read_storage(address, slot).unwrap_or_default();
                        (path, (slot, value))
                    })
                    .collect(),
            };
            (keccak256(address), state)
        })
        .collect()
}

fn first_divergence(
    bal: &BTreeMap<B256, AccountState>,
    executed: &BTreeMap<B256, AccountState>,
) -> Option<Divergence> {
    bal.iter()
        .zip(executed.values())
        .find_map(|((path, b), e)| {
            let field = account_field(b, e)?;
            if let AccountField::StorageRoot { .. } = field
                && let Some(slot) = first_slot(b, e)
            {
                return Some(slot);
            }
            Some(Divergence::Account {
                address: b.address,
                path: *path,
                field,
            })
        })
}

fn account_field(b: &AccountState, e: &AccountState) -> Option<AccountField> {
    let (bal, executed) = match (b.account, e.account) {
        (Some(bal), Some(executed)) => (bal, executed),
        (None, None) => return None,
        (bal, executed) => {
            return Some(AccountField::Existence {
                bal: bal.is_some(),
                executed: executed.is_some(),
            });
        }
    };
    if bal.nonce != executed.nonce {
        Some(AccountField::Nonce {
            bal: bal.nonce,
            executed: executed.nonce,
        })
    } else if bal.balance != executed.balance {
        Some(AccountField::Balance {
            bal: bal.balance,
            executed: executed.balance,
        })
    } else if bal.code_hash != executed.code_hash {
        Some(AccountField::CodeHash {
            bal: bal.code_hash,
            executed: executed.code_hash,
        })
    } else if b.storage_root != e.storage_root {
        Some(AccountField::StorageRoot {
            bal: b.storage_root,
            executed: e.storage_root,
        })
    } else {
        None
    }
}

fn first_slot(b: &AccountState, e: &AccountState) -> Option<Divergence> {
    b.slots
        .iter()
        .zip(e.slots.values())
        .find(|((_, (_, bal)), (_, executed))| bal != executed)
        .map(|((path, &(slot, bal)), &(_, executed))| Divergence::Slot {
            address: b.address,
            slot,
            path: *path,
            bal,
            executed,
        })
}
