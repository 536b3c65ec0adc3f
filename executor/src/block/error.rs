//! Why a block is rejected. Each variant is one consensus rule, so a caller (a test runner, a
//! sync stage) can tell a lying header from a broken transaction without parsing strings.

use alloy_primitives::{B256, Bloom};

/// A block that cannot be imported. The state is untouched whenever this is returned.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("malformed block RLP: {0}")]
    Decode(String),
    #[error("unknown parent {0}")]
    UnknownParent(B256),
    #[error("state of parent {0} is no longer held (pruned)")]
    ParentStatePruned(B256),
    #[error("invalid header: {0}")]
    Header(#[from] HeaderError),
    #[error("invalid body: {0}")]
    Body(#[from] BodyError),
    #[error("transaction {index}: cannot recover sender: {reason}")]
    Sender { index: usize, reason: String },
    #[error("transactions: {transactions}, senders given: {senders}")]
    SenderCount { transactions: usize, senders: usize },
    #[error("execution failed: {0}")]
    Execution(String),
    /// Not a verdict on the block: reading the state failed, or the EVM hit a fatal error.
    #[error("could not execute (not a verdict on the block): {0}")]
    Internal(String),
    #[error("header mismatch after execution: {0}")]
    Outcome(#[from] OutcomeError),
    #[error("lying block access list: {0}")]
    LyingBal(Box<super::parallel::LyingBal>),
    #[error("cancelled")]
    Cancelled,
    #[error("commitment: {0}")]
    Commitment(commitment::CommitError),
    #[error(transparent)]
    CalculatorGone(#[from] commitment::pipeline::CalculatorGone),
}

impl From<commitment::CommitError> for BlockError {
    /// A wrong root is the header's state-root commitment failing, whichever path folded it.
    fn from(error: commitment::CommitError) -> Self {
        match error {
            commitment::CommitError::RootMismatch { expected, got } => {
                OutcomeError::StateRoot { expected, got }.into()
            }
            other => BlockError::Commitment(other),
        }
    }
}

/// A header field that breaks a rule relative to its parent or the active fork.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("number {got} is not parent number + 1 ({expected})")]
    Number { expected: u64, got: u64 },
    #[error("timestamp {got} not after parent's {parent}")]
    Timestamp { parent: u64, got: u64 },
    #[error("gas limit {got} moves a parent limit of {parent} by 1/1024 or more")]
    GasLimit { parent: u64, got: u64 },
    #[error("gas limit {0} below the minimum of 5000")]
    GasLimitBelowMinimum(u64),
    #[error("gas limit {0} above 2^63-1")]
    GasLimitTooBig(u64),
    #[error("gas used {used} above gas limit {limit}")]
    GasUsedOverLimit { used: u64, limit: u64 },
    #[error("extra data is {0} bytes, max 32")]
    ExtraDataTooBig(usize),
    /// EIP-779: the DAO fork block and the nine after it must say `dao-hard-fork`, so that
    /// nodes against the fork part ways at once.
    #[error("extra data of a DAO fork block must be `dao-hard-fork`")]
    DaoForkExtraData,
    #[error("base fee {got:?}, expected {expected:?}")]
    BaseFee {
        expected: Option<u64>,
        got: Option<u64>,
    },
    #[error("difficulty {got}, the parent's adjustment gives {expected}")]
    Difficulty {
        expected: alloy_primitives::U256,
        got: alloy_primitives::U256,
    },
    #[error("difficulty {0} after the merge (must be 0)")]
    DifficultyAfterMerge(alloy_primitives::U256),
    #[error("nonce is not zero after the merge")]
    NonceAfterMerge,
    #[error("ommers hash is not the empty list's after the merge")]
    OmmersAfterMerge,
    #[error("field `{0}` missing for the active fork")]
    MissingField(&'static str),
    #[error("field `{0}` present before its fork")]
    UnexpectedField(&'static str),
    #[error("excess blob gas {got:?}, expected {expected:?}")]
    ExcessBlobGas {
        expected: Option<u64>,
        got: Option<u64>,
    },
    #[error("blob gas used {got}, expected {expected}")]
    BlobGasUsed { expected: u64, got: u64 },
    #[error("blob gas used {used} above the block maximum {max}")]
    TooManyBlobs { used: u64, max: u64 },
}

/// A body that does not match its header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("transactions root {got}, header says {expected}")]
    TransactionsRoot { expected: B256, got: B256 },
    #[error("ommers hash {got}, header says {expected}")]
    OmmersHash { expected: B256, got: B256 },
    #[error("withdrawals root {got:?}, header says {expected:?}")]
    WithdrawalsRoot {
        expected: Option<B256>,
        got: Option<B256>,
    },
    #[error("ommers not allowed after the merge")]
    OmmersAfterMerge,
    #[error("{0} ommers, at most 2 allowed")]
    TooManyOmmers(usize),
    #[error("ommer {0} appears twice in the block")]
    DuplicateOmmer(B256),
    #[error("ommer {0} is an ancestor of the block")]
    OmmerIsAncestor(B256),
    #[error("ommer {0} was already included by one of the last 6 ancestors")]
    OmmerAlreadyIncluded(B256),
    #[error("ommer {hash} has number {number}, outside [{block} - 6, {block} - 1]")]
    OmmerNumber { hash: B256, number: u64, block: u64 },
    #[error("ommer {hash}: parent {parent} is not an ancestor 2 to 7 generations up")]
    OmmerParentNotAncestor { hash: B256, parent: B256 },
    #[error("ommer {hash}: {error}")]
    OmmerHeader { hash: B256, error: HeaderError },
}

/// A header commitment that differs from what execution produced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutcomeError {
    #[error("gas used {got}, header says {expected}")]
    GasUsed { expected: u64, got: u64 },
    #[error("receipts root {got}, header says {expected}")]
    ReceiptsRoot { expected: B256, got: B256 },
    #[error("logs bloom differs from header")]
    LogsBloom {
        expected: Box<Bloom>,
        got: Box<Bloom>,
    },
    #[error("requests hash {got:?}, header says {expected:?}")]
    RequestsHash {
        expected: Option<B256>,
        got: Option<B256>,
    },
    #[error("block access list hash {got:?}, header says {expected}")]
    AccessListHash {
        expected: B256,
        got: Option<B256>,
        /// What execution recorded, so a caller holding the expected list can name the first
        /// difference.
        recorded: Box<Option<bal::BlockAccessList>>,
    },
    #[error("state root {got}, header says {expected}")]
    StateRoot { expected: B256, got: B256 },
}

impl From<super::parallel::LyingBal> for BlockError {
    fn from(lie: super::parallel::LyingBal) -> Self {
        BlockError::LyingBal(Box::new(lie))
    }
}
