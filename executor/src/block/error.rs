//! Why a block is rejected. Each variant is one consensus rule, so a caller (a test runner, a
//! sync stage) can tell a lying header from a broken transaction without parsing strings.

use alloy_primitives::{B256, Bloom};

/// A block that cannot be imported. The state is untouched whenever this is returned.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The bytes are not one canonical RLP block (trailing bytes included); the decoder's
    /// message.
    #[error("malformed block RLP: {0}")]
    Decode(String),
    /// The parent hash names no block the store holds; the block may still be valid on a
    /// chain not seen yet.
    #[error("unknown parent {0}")]
    UnknownParent(B256),
    /// The parent is known but its state is past the retention window, so the block cannot
    /// be executed here (a reorg deeper than the store keeps).
    #[error("state of parent {0} is no longer held (pruned)")]
    ParentStatePruned(B256),
    /// The header breaks a rule against its parent or the active fork.
    #[error("invalid header: {0}")]
    Header(#[from] HeaderError),
    /// The body does not match the header's commitments to it.
    #[error("invalid body: {0}")]
    Body(#[from] BodyError),
    /// A transaction's signature yields no sender, so the block is invalid.
    #[error("transaction {index}: cannot recover sender: {reason}")]
    Sender {
        /// Position of the transaction in the block.
        index: usize,
        /// The recovery error.
        reason: String,
    },
    /// The caller's recovered senders ([`super::ExecOptions::senders`]) do not pair one to
    /// one with the transactions: a caller bug, not a verdict on the block.
    #[error("transactions: {transactions}, senders given: {senders}")]
    SenderCount {
        /// Transactions in the block.
        transactions: usize,
        /// Senders the caller gave.
        senders: usize,
    },
    /// A transaction or a block-level rule (system call, reward, withdrawal, request) failed
    /// in the EVM: the block is invalid. The message names the transaction where there is
    /// one.
    #[error("execution failed: {0}")]
    Execution(String),
    /// Not a verdict on the block: reading the state failed, or the EVM hit a fatal error.
    #[error("could not execute (not a verdict on the block): {0}")]
    Internal(String),
    /// Execution produced something other than what the header commits to (gas used,
    /// receipts root, logs bloom, requests hash, access list hash, state root).
    #[error("header mismatch after execution: {0}")]
    Outcome(#[from] OutcomeError),
    /// The block's access list disagrees with what its transactions read and wrote; boxed
    /// to keep the error small on the success path.
    #[error("lying block access list: {0}")]
    LyingBal(Box<super::parallel::LyingBal>),
    /// Execution stopped at a transaction boundary because the block's cancellation token
    /// fired (the calculator already failed it): not a verdict by itself; the calculator's
    /// error says why.
    #[error("cancelled")]
    Cancelled,
    /// The calculator could not commit the block for a reason other than a wrong root
    /// (which becomes [`OutcomeError::StateRoot`]): a shadow divergence, a missing parent
    /// state, an unreadable trie node.
    #[error("commitment: {0}")]
    Commitment(commitment::CommitError),
    /// The calculator thread ended (panicked or was shut down) before answering: the stage
    /// cannot go on, and the block is not judged.
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
    /// The number is not the parent's plus one.
    #[error("number {got} is not parent number + 1 ({expected})")]
    Number {
        /// The parent's number plus one.
        expected: u64,
        /// The header's number.
        got: u64,
    },
    /// The timestamp (seconds) is not strictly after the parent's.
    #[error("timestamp {got} not after parent's {parent}")]
    Timestamp {
        /// The parent's timestamp.
        parent: u64,
        /// The header's timestamp.
        got: u64,
    },
    /// The gas limit moved by 1/1024 of the parent's or more (the parent's limit doubled at
    /// the London block, whose gas target stays).
    #[error("gas limit {got} moves a parent limit of {parent} by 1/1024 or more")]
    GasLimit {
        /// The parent's limit, doubled at the London block.
        parent: u64,
        /// The header's limit.
        got: u64,
    },
    /// The gas limit is under the protocol minimum of 5000.
    #[error("gas limit {0} below the minimum of 5000")]
    GasLimitBelowMinimum(u64),
    /// The gas limit does not fit a signed 64-bit integer, as clients require.
    #[error("gas limit {0} above 2^63-1")]
    GasLimitTooBig(u64),
    /// The header claims more gas used than its own limit.
    #[error("gas used {used} above gas limit {limit}")]
    GasUsedOverLimit {
        /// The header's gas used.
        used: u64,
        /// The header's gas limit.
        limit: u64,
    },
    /// Extra data longer than 32 bytes (its length is given).
    #[error("extra data is {0} bytes, max 32")]
    ExtraDataTooBig(usize),
    /// EIP-779: the DAO fork block and the nine after it must say `dao-hard-fork`, so that
    /// nodes against the fork part ways at once.
    #[error("extra data of a DAO fork block must be `dao-hard-fork`")]
    DaoForkExtraData,
    /// The base fee (wei per gas) is not EIP-1559's adjustment of the parent's (the initial
    /// base fee at the London block; none before it).
    #[error("base fee {got:?}, expected {expected:?}")]
    BaseFee {
        /// What the parent implies; `None` before London.
        expected: Option<u64>,
        /// The header's base fee.
        got: Option<u64>,
    },
    /// Before the merge: the difficulty is not the parent's adjusted by the fork's formula
    /// (difficulty bomb included).
    #[error("difficulty {got}, the parent's adjustment gives {expected}")]
    Difficulty {
        /// The difficulty the parent and timestamp give.
        expected: alloy_primitives::U256,
        /// The header's difficulty.
        got: alloy_primitives::U256,
    },
    /// A proof-of-stake header with a non-zero difficulty.
    #[error("difficulty {0} after the merge (must be 0)")]
    DifficultyAfterMerge(alloy_primitives::U256),
    /// A proof-of-stake header with a non-zero proof-of-work nonce.
    #[error("nonce is not zero after the merge")]
    NonceAfterMerge,
    /// A proof-of-stake header whose ommers hash is not the empty list's.
    #[error("ommers hash is not the empty list's after the merge")]
    OmmersAfterMerge,
    /// A field the active fork introduced (withdrawals root, blob gas, beacon root,
    /// requests hash) is absent; named as in alloy's `Header`.
    #[error("field `{0}` missing for the active fork")]
    MissingField(&'static str),
    /// A fork-gated field is present before its fork; named as in alloy's `Header`.
    #[error("field `{0}` present before its fork")]
    UnexpectedField(&'static str),
    /// EIP-4844: the excess blob gas does not follow from the parent's (zero after a parent
    /// without blob fields).
    #[error("excess blob gas {got:?}, expected {expected:?}")]
    ExcessBlobGas {
        /// What the parent implies.
        expected: Option<u64>,
        /// The header's value.
        got: Option<u64>,
    },
    /// The header's blob gas used is not what the body's blob transactions use
    /// (`DATA_GAS_PER_BLOB` per versioned hash).
    #[error("blob gas used {got}, expected {expected}")]
    BlobGasUsed {
        /// The header's value.
        expected: u64,
        /// The sum over the body's transactions.
        got: u64,
    },
    /// The header's blob gas used exceeds the fork's per-block maximum.
    #[error("blob gas used {used} above the block maximum {max}")]
    TooManyBlobs {
        /// The header's blob gas used.
        used: u64,
        /// The active fork's maximum blob gas per block.
        max: u64,
    },
}

/// A body that does not match its header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// The transactions do not hash to the header's transactions root.
    #[error("transactions root {got}, header says {expected}")]
    TransactionsRoot {
        /// The header's root.
        expected: B256,
        /// The root of the body's transactions.
        got: B256,
    },
    /// The ommers do not hash to the header's ommers hash.
    #[error("ommers hash {got}, header says {expected}")]
    OmmersHash {
        /// The header's hash.
        expected: B256,
        /// The hash of the body's ommer list.
        got: B256,
    },
    /// The withdrawals (absent before Shanghai) do not match the header's withdrawals root.
    #[error("withdrawals root {got:?}, header says {expected:?}")]
    WithdrawalsRoot {
        /// The header's root.
        expected: Option<B256>,
        /// The root of the body's withdrawals.
        got: Option<B256>,
    },
    /// A proof-of-stake body that lists ommers.
    #[error("ommers not allowed after the merge")]
    OmmersAfterMerge,
    /// More than two ommers (the count is given).
    #[error("{0} ommers, at most 2 allowed")]
    TooManyOmmers(usize),
    /// The same ommer listed twice.
    #[error("ommer {0} appears twice in the block")]
    DuplicateOmmer(B256),
    /// The ommer is on the block's own chain, not a side branch.
    #[error("ommer {0} is an ancestor of the block")]
    OmmerIsAncestor(B256),
    /// The ommer was already rewarded by one of the last six ancestors.
    #[error("ommer {0} was already included by one of the last 6 ancestors")]
    OmmerAlreadyIncluded(B256),
    /// The ommer is not one to six generations older than the block.
    #[error("ommer {hash} has number {number}, outside [{block} - 6, {block} - 1]")]
    OmmerNumber {
        /// The ommer's hash.
        hash: B256,
        /// The ommer's number.
        number: u64,
        /// The including block's number.
        block: u64,
    },
    /// The ommer does not branch off the block's own chain within seven generations.
    #[error("ommer {hash}: parent {parent} is not an ancestor 2 to 7 generations up")]
    OmmerParentNotAncestor {
        /// The ommer's hash.
        hash: B256,
        /// The ommer's parent hash.
        parent: B256,
    },
    /// The ommer's header is invalid against its own parent (same rules as any header).
    #[error("ommer {hash}: {error}")]
    OmmerHeader {
        /// The ommer's hash.
        hash: B256,
        /// The rule it breaks.
        error: HeaderError,
    },
}

/// A header commitment that differs from what execution produced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutcomeError {
    /// The transactions used a different amount of gas than the header says.
    #[error("gas used {got}, header says {expected}")]
    GasUsed {
        /// The header's gas used.
        expected: u64,
        /// Gas used by execution.
        got: u64,
    },
    /// The receipts hash to a different root (checked only where receipts carry a status,
    /// Byzantium on).
    #[error("receipts root {got}, header says {expected}")]
    ReceiptsRoot {
        /// The header's root.
        expected: B256,
        /// The root of the receipts execution produced.
        got: B256,
    },
    /// Post-state roots given for a different number of receipts than the block produced.
    #[error("{roots} post-state roots for {receipts} receipts")]
    PostStateRoots {
        /// Receipts the block produced.
        receipts: usize,
        /// Roots given.
        roots: usize,
    },
    /// The union of the receipts' blooms differs from the header's (boxed: 256 bytes each).
    #[error("logs bloom differs from header")]
    LogsBloom {
        /// The header's bloom.
        expected: Box<Bloom>,
        /// The bloom of the receipts execution produced.
        got: Box<Bloom>,
    },
    /// EIP-7685 (Prague on): the requests execution produced hash differently.
    #[error("requests hash {got:?}, header says {expected:?}")]
    RequestsHash {
        /// The header's hash; `None` when the header lacks it.
        expected: Option<B256>,
        /// The hash of the requests execution produced.
        got: Option<B256>,
    },
    /// EIP-7928: the access list execution recorded hashes differently from the header's
    /// commitment.
    #[error("block access list hash {got:?}, header says {expected}")]
    AccessListHash {
        /// The header's hash.
        expected: B256,
        /// The hash of the recorded list; `None` if none was recorded.
        got: Option<B256>,
        /// What execution recorded, so a caller holding the expected list can name the first
        /// difference.
        recorded: Box<Option<bal::BlockAccessList>>,
    },
    /// The post-state root (folded by the calculator or computed by the caller) differs
    /// from the header's.
    #[error("state root {got}, header says {expected}")]
    StateRoot {
        /// The header's root.
        expected: B256,
        /// The root of the post-state.
        got: B256,
    },
}

impl From<super::parallel::LyingBal> for BlockError {
    fn from(lie: super::parallel::LyingBal) -> Self {
        BlockError::LyingBal(Box::new(lie))
    }
}
