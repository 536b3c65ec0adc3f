//! What the interpreter and compiled code must agree on for a transaction: the yardstick of
//! the differential tests and the fuzz target.

use alloy_primitives::{Bytes, Log};
use revm::context::result::{ExecutionResult, HaltReason};

/// A transaction's result as both tiers must report it, down to the reason of a halt (compiled
/// code hands every failure it cannot name exactly to the interpreter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How the transaction ended, the halt reason included.
    pub status: Status,
    /// Gas used as the receipt counts it (after refunds, at least the EIP-7623 floor).
    pub gas_used: u64,
    /// Returned or reverted data; `None` on a halt.
    pub output: Option<Bytes>,
    /// Logs emitted (empty unless it succeeded).
    pub logs: Vec<Log>,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Returned or stopped normally.
    Success,
    /// Reverted: state rolled back, unused gas returned.
    Revert,
    /// Failed exceptionally (out of gas, invalid opcode, ...): all gas spent.
    Halt(HaltReason),
}

impl Outcome {
    /// The comparable part of revm's result.
    pub fn of(result: &ExecutionResult<HaltReason>) -> Self {
        let status = match result {
            ExecutionResult::Success { .. } => Status::Success,
            ExecutionResult::Revert { .. } => Status::Revert,
            ExecutionResult::Halt { reason, .. } => Status::Halt(reason.clone()),
        };
        Self {
            status,
            gas_used: result.tx_gas_used(),
            output: result.output().cloned(),
            logs: result.logs().to_vec(),
        }
    }
}
