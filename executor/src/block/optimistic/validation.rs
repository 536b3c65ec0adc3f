//! Whether a speculative run still stands: against the multi-version memory while the block
//! runs (did a transaction below it write what it read since? then run it again early), and,
//! the check correctness rests on, against the committed state when its turn to commit comes
//! (every transaction below it final): a run whose every read equals the committed value is
//! the run sequential execution would make, since a transaction's execution is a function of
//! the values it reads.

use alloy_primitives::{Address, U256};
use revm::{database_interface::Database, state::AccountInfo, state::EvmState};

use super::{
    mv_memory::{Location, MvMemory, Value},
    view::{Dependence, Read},
};
use crate::block::BlockError;

/// Whether every read of transaction `tx` still sees, in `memory`, the write it saw or one of
/// the same value (the fee credit's balance aside, which no run depends on). By value, not
/// only by version: a transaction below executed again often writes what its first run wrote
/// (a sender's nonce and balance do not depend on the recipient it re-read), and its readers
/// need not run again for that.
pub(super) fn holds_in_memory(reads: &[Read], memory: &MvMemory, tx: usize) -> bool {
    reads.iter().all(|read| {
        if read.dependence == Dependence::FeeCredit {
            return true;
        }
        match memory.read(&read.location, tx) {
            Some((version, _)) if Some(version) == read.origin => true,
            Some((_, now)) => same_value(&read.value, &now),
            None => read.origin.is_none(),
        }
    })
}

/// The beneficiary's balance a run credited its fee to, and the committed balance the credit
/// lands on instead.
#[derive(Clone, Copy, Debug)]
pub(super) struct FeeCredit {
    beneficiary: Address,
    seen: U256,
    committed: U256,
}

/// What the committed state says of a run.
pub(super) enum Verdict {
    /// Every read equals the committed value: commit the run (moving its fee credit, if any,
    /// onto the committed balance).
    Holds(Option<FeeCredit>),
    /// Some read differs: the run is not what sequential execution gives.
    Stale,
}

/// Checks every read against `committed`, the block's state with every transaction below the
/// run's committed (revm's `State`, so what is read here is loaded for the commit anyway).
pub(super) fn against_committed<D: Database>(
    reads: &[Read],
    committed: &mut D,
) -> Result<Verdict, BlockError>
where
    D::Error: std::fmt::Display,
{
    let internal = |e: D::Error| BlockError::Internal(format!("reading the committed state: {e}"));
    let mut credit = None;
    for read in reads {
        let holds = match (read.location, &read.value) {
            (Location::Account(address), Value::Account(seen)) => {
                let now = committed.basic(address).map_err(internal)?;
                match read.dependence {
                    Dependence::Full => same_account(seen, &now, true),
                    Dependence::FeeCredit => {
                        credit = Some(FeeCredit {
                            beneficiary: address,
                            seen: balance(seen),
                            committed: balance(&now),
                        });
                        same_account(seen, &now, false)
                    }
                }
            }
            (Location::Storage(address, slot), Value::Storage(seen)) => {
                committed.storage(address, slot).map_err(internal)? == *seen
            }
            _ => false,
        };
        if !holds {
            return Ok(Verdict::Stale);
        }
    }
    Ok(Verdict::Holds(credit))
}

/// Moves a run's fee credit onto the committed balance: the beneficiary's account in `state`
/// then reads as if loaded from the committed state and credited there.
pub(super) fn apply_fee_credit(state: &mut EvmState, credit: FeeCredit) {
    if let Some(account) = state.get_mut(&credit.beneficiary) {
        let fee = account.info.balance.saturating_sub(credit.seen);
        account.info.balance = credit.committed.saturating_add(fee);
        account.original_info_mut().balance = credit.committed;
    }
}

fn balance(info: &Option<AccountInfo>) -> U256 {
    info.as_ref().map(|i| i.balance).unwrap_or_default()
}

/// Whether a location read as `seen` reads the same `now` (every field of an account).
fn same_value(seen: &Value, now: &Value) -> bool {
    match (seen, now) {
        (Value::Account(seen), Value::Account(now)) => same_account(seen, now, true),
        (Value::Storage(seen), Value::Storage(now)) => seen == now,
        _ => false,
    }
}

/// Whether an account read as `seen` reads the same `now`: existence, nonce and code, and the
/// balance when `with_balance`.
fn same_account(seen: &Option<AccountInfo>, now: &Option<AccountInfo>, with_balance: bool) -> bool {
    match (seen, now) {
        (None, None) => true,
        (Some(seen), Some(now)) => {
            seen.nonce == now.nonce
                && seen.code_hash == now.code_hash
                && (!with_balance || seen.balance == now.balance)
        }
        _ => false,
    }
}
