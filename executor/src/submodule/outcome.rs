//! What the interpreter and compiled code must agree on for a transaction: the yardstick of
//! the differential tests and the fuzz target.

use alloy_primitives::{Bytes, Log};
use revm::context::result::{ExecutionResult, HaltReason};

/// A transaction's result as both tiers must report it. The halt reason is left out: revm
/// names some failures per opcode (a DUP on too short a stack is a "stack overflow") where
/// compiled code checks a whole section's stack at once, and either way the frame's effects
/// and gas are gone alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub gas_used: u64,
    pub output: Option<Bytes>,
    pub logs: Vec<Log>,
}

/// How a transaction ended, without the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Revert,
    Halt,
}

impl Outcome {
    pub fn of(result: &ExecutionResult<HaltReason>) -> Self {
        let status = match result {
            ExecutionResult::Success { .. } => Status::Success,
            ExecutionResult::Revert { .. } => Status::Revert,
            ExecutionResult::Halt { .. } => Status::Halt,
        };
        Self {
            status,
            gas_used: result.tx_gas_used(),
            output: result.output().cloned(),
            logs: result.logs().to_vec(),
        }
    }
}
