//! Catching a lying BAL at the transaction that exposes it.
//!
//! The committing state records the block's BAL as it goes (revm's builder), so after each
//! transaction commits, its entries at the transaction's block access index are exactly what
//! the transaction wrote. Comparing those, and only those, with the given BAL's entries at the
//! same index costs a few lookups per touched account: the workers record nothing, and no
//! transaction's changes are cloned. The block's full BAL is still compared entry for entry
//! when the block finishes, which also covers reads and the system phases.

use alloy_primitives::{Address, B256, U256, keccak256};
use bal::{AccountChanges, BlockAccessIndex};

use crate::block::BlockError;
use revm::state::{
    EvmState,
    bal::{AccountBal, Bal, BalWrites},
};

/// One field of an account a BAL can record a write to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BalField {
    /// The balance (wei).
    Balance,
    /// The nonce.
    Nonce,
    /// The code (compared by its hash).
    Code,
    /// The storage slot with this key.
    Storage(U256),
}

/// How a BAL disagrees with what a transaction did. Each names the transaction (0-based) and
/// the account (and field) so the lie can be traced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LyingBal {
    /// The transaction touched an account or slot the BAL does not list at all.
    #[error("tx {tx} read {address} {slot:?}, which the BAL does not declare")]
    UndeclaredRead {
        /// The transaction.
        tx: usize,
        /// The account read.
        address: Address,
        /// The slot read; `None` for the account itself.
        slot: Option<U256>,
    },
    /// The transaction wrote a field the BAL records no write of, at any index.
    #[error("tx {tx} wrote {field:?} of {address}, which the BAL omits")]
    DroppedWrite {
        /// The transaction.
        tx: usize,
        /// The account written.
        address: Address,
        /// The field written.
        field: BalField,
    },
    #[error(
        "the BAL lists a write to {field:?} of {address} at tx {tx}, which the tx did not make"
    )]
    /// The BAL lists a write at the transaction's index that the transaction did not make.
    ExtraWrite {
        /// The transaction.
        tx: usize,
        /// The account listed.
        address: Address,
        /// The field listed.
        field: BalField,
    },
    #[error(
        "tx {tx} wrote {field:?} of {address}; the BAL records it at block access index {listed_at}"
    )]
    /// The write is listed, with the value made, under another transaction's index.
    WrongIndex {
        /// The transaction.
        tx: usize,
        /// The account written.
        address: Address,
        /// The field written.
        field: BalField,
        /// The block access index the BAL puts it at (transaction + 1; 0 and n + 1 are the
        /// pre- and post-transaction system phases).
        listed_at: u64,
    },
    #[error("tx {tx} wrote {field:?} of {address} = {actual}, the BAL says {listed}")]
    /// The write is listed at the right index with another value.
    WrongValue {
        /// The transaction.
        tx: usize,
        /// The account written.
        address: Address,
        /// The field written.
        field: BalField,
        /// The value written, as a 32-byte word (code: its hash).
        actual: B256,
        /// The value listed, in the same form.
        listed: B256,
    },
    /// The whole list recorded while executing differs from the given one (reads, system
    /// phases, ordering): the first difference, as `bal::first_bal_divergence` words it.
    #[error("the BAL recorded while committing differs from the block's: {0}")]
    Differs(String),
    /// A code change in the BAL is not valid bytecode, so no transaction can run against it.
    #[error("the BAL holds undecodable code: {0}")]
    BadCode(String),
}

/// The (account, field) pairs the given BAL writes at each block access index: what the
/// transaction at that index must have written, found without scanning the whole list.
pub(super) struct ListedWrites(Vec<Vec<(Address, BalField)>>);

impl ListedWrites {
    /// Indexes `list` for a block of `tx_count` transactions. Entries beyond the
    /// post-execution index belong to no transaction; the final comparison rejects them.
    pub(super) fn new(list: &[AccountChanges], tx_count: usize) -> Self {
        let mut at = vec![Vec::new(); tx_count + 2];
        for account in list {
            let mut put = |index: BlockAccessIndex, field| {
                if let Some(entries) = at.get_mut(index.get() as usize) {
                    entries.push((account.address, field));
                }
            };
            for c in account.balance_changes() {
                put(c.block_access_index, BalField::Balance);
            }
            for c in account.nonce_changes() {
                put(c.block_access_index, BalField::Nonce);
            }
            for c in account.code_changes() {
                put(c.block_access_index, BalField::Code);
            }
            for s in account.storage_changes() {
                for c in &s.changes {
                    put(c.block_access_index, BalField::Storage(s.slot));
                }
            }
        }
        Self(at)
    }

    fn at(&self, index: BlockAccessIndex) -> &[(Address, BalField)] {
        self.0
            .get(index.get() as usize)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The accounts and slots a transaction touched, taken from its changes before they are
/// committed: the only places its entries in the recorded BAL can be.
pub(super) struct Touched(Vec<(Address, Vec<U256>)>);

impl Touched {
    pub(super) fn of(changes: &EvmState) -> Self {
        Self(
            changes
                .iter()
                .map(|(address, account)| (*address, account.storage.keys().copied().collect()))
                .collect(),
        )
    }
}

/// Compares what transaction `tx` wrote, as `recorded` holds it after the transaction's
/// commit, with what `given` lists at its index. Every write made is looked up in `given`;
/// what `given` lists beyond them is then told by count alone, and only a surplus is searched.
pub(super) fn check_turn(
    tx: usize,
    touched: &Touched,
    recorded: &Bal,
    given: &Bal,
    listed: &ListedWrites,
) -> Result<(), BlockError> {
    let index = BlockAccessIndex::new(tx as u64 + 1);
    let mut matched = 0;
    for (address, slots) in &touched.0 {
        let Some(made) = recorded.accounts.get(address) else {
            continue;
        };
        let listed_account = given.accounts.get(address);
        let fields = [BalField::Balance, BalField::Nonce, BalField::Code]
            .into_iter()
            .chain(slots.iter().map(|&slot| BalField::Storage(slot)));
        for field in fields {
            let Some(actual) = write_at(made, field, index) else {
                continue;
            };
            let listed_value = listed_account.and_then(|a| write_at(a, field, index));
            let lie = match listed_value {
                Some(listed) if listed == actual => {
                    matched += 1;
                    continue;
                }
                Some(listed) => LyingBal::WrongValue {
                    tx,
                    address: *address,
                    field,
                    actual,
                    listed,
                },
                None => match listed_account.and_then(|a| index_of(a, field, actual)) {
                    Some(listed_at) => LyingBal::WrongIndex {
                        tx,
                        address: *address,
                        field,
                        listed_at,
                    },
                    None => LyingBal::DroppedWrite {
                        tx,
                        address: *address,
                        field,
                    },
                },
            };
            return Err(lie.into());
        }
    }
    let listed_here = listed.at(index);
    if listed_here.len() == matched {
        return Ok(());
    }
    // A surplus (or, in a malformed list, a repeated entry, which the final comparison of
    // the whole list rejects).
    let extra = listed_here.iter().find(|(address, field)| {
        let made = recorded.accounts.get(address);
        made.and_then(|a| write_at(a, *field, index)).is_none()
    });
    match extra {
        Some(&(address, field)) => Err(LyingBal::ExtraWrite { tx, address, field }.into()),
        None => Ok(()),
    }
}

/// The value `account` records for `field` at exactly `index`, as a word.
fn write_at(account: &AccountBal, field: BalField, index: BlockAccessIndex) -> Option<B256> {
    let info = &account.account_info;
    match field {
        BalField::Balance => exactly_at(&info.balance, index).map(|v| (*v).into()),
        BalField::Nonce => exactly_at(&info.nonce, index).map(|n| U256::from(*n).into()),
        BalField::Code => exactly_at(&info.code, index).map(|(_, code)| code_word(code)),
        BalField::Storage(slot) => account
            .storage
            .storage
            .get(&slot)
            .and_then(|w| exactly_at(w, index))
            .map(|v| (*v).into()),
    }
}

/// Where `account` records `field` taking the value `value`, if anywhere: a write the
/// transaction made, listed under another index.
fn index_of(account: &AccountBal, field: BalField, value: B256) -> Option<u64> {
    fn find<T: PartialEq + Clone>(
        writes: &BalWrites<T>,
        value: B256,
        word: impl Fn(&T) -> B256,
    ) -> Option<u64> {
        let (index, _) = writes.writes.iter().find(|(_, v)| word(v) == value)?;
        Some(index.get())
    }
    let info = &account.account_info;
    match field {
        BalField::Balance => find(&info.balance, value, |v| (*v).into()),
        BalField::Nonce => find(&info.nonce, value, |n| U256::from(*n).into()),
        BalField::Code => find(&info.code, value, |(_, code)| code_word(code)),
        BalField::Storage(slot) => {
            find(account.storage.storage.get(&slot)?, value, |v| (*v).into())
        }
    }
}

fn exactly_at<T: PartialEq + Clone>(writes: &BalWrites<T>, index: BlockAccessIndex) -> Option<&T> {
    writes
        .writes
        .binary_search_by_key(&index, |(i, _)| *i)
        .ok()
        .map(|at| &writes.writes[at].1)
}

/// Code compared by the bytes a BAL carries (what the alloy form holds), named by their hash.
fn code_word(code: &revm::bytecode::Bytecode) -> B256 {
    keccak256(code.original_bytes())
}
