//! Whole-block execution on revm with alloy-evm's block rules (system calls, rewards,
//! withdrawals, requests), followed by the checks of the header's execution commitments.
//!
//! [`execute`] is pure with respect to the world: it reads through a [`StateView`] and returns
//! the block's [`BlockWrites`]; committing them is the caller's decision.

pub mod difficulty;
mod error;
pub mod ommers;
pub mod parallel;
mod post_state;
mod receipts;
pub mod validate;
mod watch;

use std::borrow::Cow;

use alloy_consensus::{
    Header, ReceiptEnvelope, TxEnvelope, TxReceipt, proofs::calculate_receipt_root,
    transaction::SignerRecoverable,
};
use alloy_eips::eip7685::Requests;
use alloy_evm::{
    Evm, EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor},
    eth::{EthBlockExecutionCtx, EthBlockExecutor},
};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{B256, Bloom};
use alloy_rlp::Decodable;
use revm::database::{
    OriginalValuesKnown, State, WrapDatabaseRef, states::bundle_state::BundleRetention,
};

pub use error::{BlockError, BodyError, HeaderError, OutcomeError};
pub use post_state::{
    PostStateRoots, ReceiptsCheck, set_post_state_roots, verify_post_state_receipts,
};
use receipts::BloomedReceipts;
pub use watch::Watch;

use crate::submodule::{Tier, TieredEvm, TieredEvmFactory};
use crate::{
    chain::ChainSpec,
    world::{BlockWrites, StateView},
};

/// A block as it travels the chain: header plus body with signed transactions.
pub type Block = alloy_consensus::Block<TxEnvelope>;

/// Decodes a block from its canonical RLP; trailing bytes are an error.
pub fn decode_block(mut rlp: &[u8]) -> Result<Block, BlockError> {
    let block = Block::decode(&mut rlp).map_err(|e| BlockError::Decode(e.to_string()))?;
    if !rlp.is_empty() {
        return Err(BlockError::Decode(format!("{} trailing bytes", rlp.len())));
    }
    Ok(block)
}

/// What executing a block produced, before it is compared with the header.
#[derive(Debug)]
pub struct BlockOutcome {
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub blob_gas_used: u64,
    pub requests: Requests,
    pub writes: BlockWrites,
    /// The block access list recorded while executing (Amsterdam on).
    pub access_list: Option<bal::BlockAccessList>,
    /// Each transaction's own writes, kept before Byzantium only: its receipt commits to the
    /// state root after it ([`PostStateRoots`]).
    pub tx_writes: Vec<BlockWrites>,
    /// How the receipts root was checked.
    pub receipts_check: ReceiptsCheck,
}

impl BlockOutcome {
    pub fn receipts_root(&self) -> B256 {
        calculate_receipt_root(&self.receipts)
    }

    pub fn logs_bloom(&self) -> Bloom {
        self.receipts
            .iter()
            .fold(Bloom::ZERO, |acc, r| acc | r.bloom())
    }

    /// Checks gas used, receipts root, logs bloom and the requests hash against the header.
    /// `check_receipts_root` is false where receipts embed intermediate state roots
    /// (pre-Byzantium) that the caller cannot compute.
    pub fn verify(
        &self,
        chain: &ChainSpec,
        header: &Header,
        check_receipts_root: bool,
    ) -> Result<(), OutcomeError> {
        if self.gas_used != header.gas_used {
            return Err(OutcomeError::GasUsed {
                expected: header.gas_used,
                got: self.gas_used,
            });
        }
        if check_receipts_root {
            let root = self.receipts_root();
            if root != header.receipts_root {
                return Err(OutcomeError::ReceiptsRoot {
                    expected: header.receipts_root,
                    got: root,
                });
            }
        }
        let bloom = self.logs_bloom();
        if bloom != header.logs_bloom {
            return Err(OutcomeError::LogsBloom {
                expected: Box::new(header.logs_bloom),
                got: Box::new(bloom),
            });
        }
        if let Some(expected) = header.block_access_list_hash {
            let got = self
                .access_list
                .as_deref()
                .map(bal::compute_block_access_list_hash);
            if got != Some(expected) {
                return Err(OutcomeError::AccessListHash {
                    expected,
                    got,
                    recorded: Box::new(self.access_list.clone()),
                });
            }
        }
        if chain.is_prague_active_at_timestamp(header.timestamp) {
            let got = Some(self.requests.requests_hash());
            if got != header.requests_hash {
                return Err(OutcomeError::RequestsHash {
                    expected: header.requests_hash,
                    got,
                });
            }
        }
        Ok(())
    }
}

/// Whether receipts of this block carry a status code (Byzantium on) rather than an
/// intermediate state root.
pub fn receipts_have_status(chain: &ChainSpec, number: u64) -> bool {
    chain.is_byzantium_active_at_block(number)
}

/// Executes every transaction of `block` and the block-level state changes against `view`,
/// recording the block access list when the header commits to one (Amsterdam on).
pub fn execute(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
) -> Result<BlockOutcome, BlockError> {
    let schedule = Schedule::Sequential {
        record_bal: false,
        tier: Tier::Interpret,
    };
    execute_watched(chain, block, view, schedule, Watch::NONE)
}

/// [`execute`], recording the block access list whatever the fork: BAL sidecars for blocks
/// from before Amsterdam, and the reference for BAL-parallel execution.
pub fn execute_recording(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
) -> Result<BlockOutcome, BlockError> {
    let schedule = Schedule::Sequential {
        record_bal: true,
        tier: Tier::Interpret,
    };
    execute_watched(chain, block, view, schedule, Watch::NONE)
}

/// How a block's transactions run when the block comes with an access list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecMode {
    /// One after another; a given access list is compared with the one recorded.
    #[default]
    Sequential,
    /// All at once against the access list (verified while committing).
    Parallel,
}

/// Executes `block` with the access list that travels with it (if any) as `exec` says, and
/// checks everything its header commits to except the state root. The list is verified
/// whichever schedule ran: parallel execution checks it while committing, and sequential
/// execution records its own and compares. A list that goes on to drive a BAL-driven fold
/// has therefore always been checked against execution.
pub fn execute_verified(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    listed: Option<&bal::BlockAccessList>,
    exec: ExecMode,
    tier: Tier,
    watch: Watch<'_>,
) -> Result<BlockOutcome, BlockError> {
    let schedule = match (exec, listed) {
        (ExecMode::Parallel, Some(list)) => Schedule::Parallel { list, tier },
        (_, listed) => Schedule::Sequential {
            record_bal: listed.is_some(),
            tier,
        },
    };
    let mut outcome = execute_watched(chain, block, view, schedule, watch)?;
    // Receipts before Byzantium carry the state root after each transaction: only a caller
    // holding the full state can check them ([`verify_post_state_receipts`]).
    let has_status = receipts_have_status(chain, block.header.number);
    outcome.verify(chain, &block.header, has_status)?;
    if !has_status {
        outcome.receipts_check = ReceiptsCheck::Unchecked;
    }
    if let (Schedule::Sequential { .. }, Some(list)) = (schedule, listed) {
        parallel::same_as_recorded(outcome.access_list.as_ref(), list)?;
    }
    Ok(outcome)
}

/// How a block's transactions are scheduled, and where their contract code runs.
#[derive(Clone, Copy, Debug)]
pub enum Schedule<'a> {
    /// One after another, recording the block access list when asked (or from Amsterdam on).
    Sequential { record_bal: bool, tier: Tier },
    /// All at once against the given access list, which is verified, not trusted.
    Parallel {
        list: &'a bal::BlockAccessList,
        tier: Tier,
    },
}

/// Executes `block` as `schedule` says, stopping between transactions once `watch` is
/// cancelled and reporting each executed transaction to it.
pub fn execute_watched(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    schedule: Schedule<'_>,
    watch: Watch<'_>,
) -> Result<BlockOutcome, BlockError> {
    match schedule {
        Schedule::Sequential { record_bal, tier } => {
            let record =
                record_bal || chain.is_amsterdam_active_at_timestamp(block.header.timestamp);
            execute_sequential(chain, block, view, record, tier, watch)
        }
        Schedule::Parallel { list, tier } => {
            parallel::execute_parallel_watched(chain, block, view, list, tier, watch)
        }
    }
}

fn execute_sequential(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    record_bal: bool,
    tier: Tier,
    watch: Watch<'_>,
) -> Result<BlockOutcome, BlockError> {
    let state = State::builder()
        .with_database_ref(view)
        .with_bundle_update()
        .with_bal_builder_if(record_bal)
        .build();
    let mut executor = block_executor(chain, block, state, tier)?;
    let mut tx_writes = TxWrites::for_block(chain, block);
    for (index, tx) in block.body.transactions.iter().enumerate() {
        watch.check()?;
        let signer = tx.recover_signer().map_err(|e| BlockError::Sender {
            index,
            reason: e.to_string(),
        })?;
        let recovered = alloy_consensus::transaction::Recovered::new_unchecked(tx, signer);
        executor
            .execute_transaction_with_index(recovered, index)
            .map_err(execution_error)?;
        tx_writes.take(&mut executor);
        watch.executed(index);
    }
    finish(executor, block, tx_writes)
}

/// Each transaction's writes, taken as it commits, where its receipt needs the state root
/// after it (before Byzantium); nothing is kept otherwise.
struct TxWrites(Option<Vec<BlockWrites>>);

impl TxWrites {
    fn for_block(chain: &ChainSpec, block: &Block) -> Self {
        let keep = !receipts_have_status(chain, block.header.number);
        Self(keep.then(|| Vec::with_capacity(block.body.transactions.len())))
    }

    /// Takes the writes of the transaction `executor` just committed.
    fn take(&mut self, executor: &mut Executor<'_, '_>) {
        if let Some(writes) = &mut self.0 {
            writes.push(post_state::take_tx_writes(executor.evm_mut().db_mut()));
        }
    }
}

/// The state a block executes on: the parent world through a [`StateView`], with revm's
/// bundle (the block's writes) and, when asked, its BAL reader and builder.
type BlockState<'v> = State<WrapDatabaseRef<StateView<'v>>>;

/// alloy-evm's block executor, which both schedules use for everything around the
/// transactions and for committing them.
type Executor<'a, 'v> =
    EthBlockExecutor<'a, TieredEvm<BlockState<'v>>, &'a ChainSpec, BloomedReceipts>;

/// The block executor over `state`, with the block's pre-execution system calls applied.
fn block_executor<'a, 'v>(
    chain: &'a ChainSpec,
    block: &'a Block,
    state: BlockState<'v>,
    tier: Tier,
) -> Result<Executor<'a, 'v>, BlockError> {
    let evm = TieredEvmFactory::new(tier).create_evm(state, evm_env(chain, &block.header));
    let mut executor =
        EthBlockExecutor::new(evm, execution_ctx(block), chain, BloomedReceipts::default());
    executor
        .apply_pre_execution_changes()
        .map_err(execution_error)?;
    Ok(executor)
}

/// Applies the post-transaction changes (withdrawals, requests), recorded in the BAL after
/// the last transaction, and collects what the block produced.
fn finish(
    mut executor: Executor<'_, '_>,
    block: &Block,
    tx_writes: TxWrites,
) -> Result<BlockOutcome, BlockError> {
    let post_index = block.body.transactions.len() as u64 + 1;
    executor
        .evm_mut()
        .db_mut()
        .set_bal_index(bal::BlockAccessIndex::new(post_index));
    let (evm, result) = executor.finish().map_err(execution_error)?;
    let (mut state, _env) = evm.finish();
    let access_list = state.take_built_alloy_bal();
    state.merge_transitions(BundleRetention::PlainState);
    let writes =
        BlockWrites::from_changeset(state.take_bundle().to_plain_state(OriginalValuesKnown::Yes));
    Ok(BlockOutcome {
        receipts: result.receipts,
        gas_used: result.gas_used,
        blob_gas_used: result.blob_gas_used,
        requests: result.requests,
        writes,
        access_list,
        tx_writes: tx_writes.0.unwrap_or_default(),
        receipts_check: ReceiptsCheck::Status,
    })
}

/// The EVM environment (fork, chain id, blob fees) a block executes in.
fn evm_env(chain: &ChainSpec, header: &Header) -> EvmEnv {
    EvmEnv::for_eth_block(
        header,
        chain,
        chain.chain_id,
        chain.blob_params_at(header.timestamp),
    )
}

/// What alloy-evm's block executor needs of the block besides its transactions.
fn execution_ctx(block: &Block) -> EthBlockExecutionCtx<'_> {
    EthBlockExecutionCtx {
        parent_hash: block.header.parent_hash,
        parent_beacon_block_root: block.header.parent_beacon_block_root,
        ommers: &block.body.ommers,
        withdrawals: block
            .body
            .withdrawals
            .as_ref()
            .map(|w| Cow::Borrowed(w.as_slice())),
        extra_data: block.header.extra_data.clone(),
        tx_count_hint: Some(block.body.transactions.len()),
        slot_number: None,
    }
}

fn execution_error(e: BlockExecutionError) -> BlockError {
    BlockError::Execution(e.to_string())
}

/// Encoded size helper kept next to decoding so both directions live together.
pub fn encode_block(block: &Block) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::Encodable::encode(block, &mut out);
    out
}
