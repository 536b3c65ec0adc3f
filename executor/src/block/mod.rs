//! Whole-block execution on revm with alloy-evm's block rules (system calls, rewards,
//! withdrawals, requests), followed by the checks of the header's execution commitments.
//!
//! [`execute`] is the one entry point, with [`ExecOptions`]. It is pure with respect to the
//! state: it reads through a [`StateProvider`] (revm's `DatabaseRef`, so a node plugs in its
//! own store) and returns the block's [`BlockWrites`]; committing them is the caller's decision.

pub mod difficulty;
mod error;
pub mod ommers;
mod optimistic;
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
use alloy_primitives::{Address, B256, Bloom};
use alloy_rlp::Decodable;
use bal::BlockAccessList;
use revm::database::{
    OriginalValuesKnown, State, WrapDatabaseRef, states::bundle_state::BundleRetention,
};

pub use error::{BlockError, BodyError, HeaderError, OutcomeError};
pub use optimistic::Speculation;
pub use post_state::{
    PostStateRoots, ReceiptsCheck, set_post_state_roots, verify_post_state_receipts,
};
use receipts::BloomedReceipts;
pub use watch::Watch;

use crate::submodule::{Tier, TieredEvm, TieredEvmFactory};
use crate::{chain::ChainSpec, provider::StateProvider, world::BlockWrites};

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
    /// One receipt per transaction, in block order (status receipts; before Byzantium the
    /// caller fills in the state roots, see [`set_post_state_roots`]).
    pub receipts: Vec<ReceiptEnvelope>,
    /// Gas used by all transactions (after refunds), as the header's `gas_used` should say.
    pub gas_used: u64,
    /// EIP-4844 blob gas used by the block's blob transactions.
    pub blob_gas_used: u64,
    /// EIP-7685 requests (deposits, withdrawals, consolidations) collected after the
    /// transactions; empty before Prague.
    pub requests: Requests,
    /// The block's net state changes against the parent state, with the prior values: what
    /// the caller commits (nothing is committed by execution itself).
    pub writes: BlockWrites,
    /// The block access list recorded while executing (Amsterdam on).
    pub access_list: Option<bal::BlockAccessList>,
    /// Each transaction's own writes, kept before Byzantium only: its receipt commits to the
    /// state root after it ([`PostStateRoots`]).
    pub tx_writes: Vec<BlockWrites>,
    /// How the receipts root was checked.
    pub receipts_check: ReceiptsCheck,
    /// Re-executions and fallback of optimistic execution (zero for the other schedules).
    pub speculation: Speculation,
}

impl BlockOutcome {
    /// The trie root of the receipts, as the header's `receipts_root` commits (meaningful
    /// from Byzantium on, or once post-state roots are set).
    pub fn receipts_root(&self) -> B256 {
        calculate_receipt_root(&self.receipts)
    }

    /// The union of the receipts' blooms, as the header's `logs_bloom` commits.
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

/// How a block's transactions are scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecMode {
    /// One after another; a given access list is compared with the one recorded.
    #[default]
    Sequential,
    /// All at once against the access list (verified while committing). A block without a
    /// list runs sequentially.
    Parallel,
    /// All at once speculatively, conflicts found from what each transaction read and
    /// executed again (Block-STM), with or without an access list; a given list is compared
    /// with the one recorded, as sequentially.
    Optimistic,
}

/// Everything a caller decides about one block's execution; [`Default`] is plain sequential
/// execution on revm's interpreter with nothing checked against the header.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecOptions<'a> {
    /// How the transactions are scheduled.
    pub mode: ExecMode,
    /// Where contract code runs.
    pub tier: Tier,
    /// The access list travelling with the block (its own, a fixture's or a sidecar). It is
    /// verified whichever schedule runs, never trusted.
    pub access_list: Option<&'a BlockAccessList>,
    /// Record the block's access list even before Amsterdam (BAL sidecars, BAL-driven
    /// commitment of an older chain). Amsterdam blocks and blocks with a list always record.
    pub record_bal: bool,
    /// Check what the header commits to besides the state root: gas used, receipts root (when
    /// receipts carry a status), logs bloom, access list hash, requests hash.
    pub verify: bool,
    /// Each transaction's sender, when a sender-recovery stage already has them; recovered
    /// from the signatures otherwise.
    pub senders: Option<&'a [Address]>,
    /// Cancellation and per-transaction progress.
    pub watch: Watch<'a>,
}

impl<'a> ExecOptions<'a> {
    /// Execution that checks the header's commitments (except the state root): what importing
    /// a block needs.
    pub fn verified() -> Self {
        Self {
            verify: true,
            ..Self::default()
        }
    }

    /// With the block's access list.
    pub fn with_access_list(self, access_list: Option<&'a BlockAccessList>) -> Self {
        Self {
            access_list,
            ..self
        }
    }

    /// With transactions scheduled as `mode` says.
    pub fn with_mode(self, mode: ExecMode) -> Self {
        Self { mode, ..self }
    }

    /// With contract code on `tier`.
    pub fn with_tier(self, tier: Tier) -> Self {
        Self { tier, ..self }
    }

    /// Recording the access list whatever the fork.
    pub fn recording(self) -> Self {
        Self {
            record_bal: true,
            ..self
        }
    }

    /// With senders recovered elsewhere.
    pub fn with_senders(self, senders: Option<&'a [Address]>) -> Self {
        Self { senders, ..self }
    }

    /// Watched by the stage loop.
    pub fn with_watch(self, watch: Watch<'a>) -> Self {
        Self { watch, ..self }
    }
}

/// Executes every transaction of `block` and the block-level state changes against `state`,
/// as `options` say. Pure with respect to the state: the writes come back in the outcome.
///
/// With [`ExecOptions::verify`], everything the header commits to except the state root is
/// checked, and a given access list is verified whichever schedule ran (parallel execution
/// checks it while committing, sequential execution records its own and compares), so a list
/// that goes on to drive a BAL-driven fold has always been checked against execution.
pub fn execute<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    options: ExecOptions<'_>,
) -> Result<BlockOutcome, BlockError> {
    let senders = Senders::of(block, options.senders)?;
    let mut outcome = match (options.mode, options.access_list) {
        (ExecMode::Parallel, Some(list)) => {
            parallel::execute_parallel(chain, block, state, list, &senders, options)?
        }
        (mode, listed) => {
            let record = options.record_bal
                || listed.is_some()
                || chain.is_amsterdam_active_at_timestamp(block.header.timestamp);
            let outcome = if mode == ExecMode::Optimistic {
                optimistic::execute_optimistic(chain, block, state, record, &senders, options)?
            } else {
                execute_sequential(chain, block, state, record, &senders, options)?
            };
            if let Some(list) = listed {
                parallel::same_as_recorded(outcome.access_list.as_ref(), list)?;
            }
            outcome
        }
    };
    if options.verify {
        // Receipts before Byzantium carry the state root after each transaction: only a caller
        // holding the full state can check them ([`verify_post_state_receipts`]).
        let has_status = receipts_have_status(chain, block.header.number);
        outcome.verify(chain, &block.header, has_status)?;
        if !has_status {
            outcome.receipts_check = ReceiptsCheck::Unchecked;
        }
    }
    Ok(outcome)
}

/// Each transaction's sender: the ones given (a sender-recovery stage's output) or recovered
/// lazily, transaction by transaction, where the schedule needs them (so the parallel runners
/// recover their own in parallel).
enum Senders<'a> {
    Given(&'a [Address]),
    Recover,
}

impl<'a> Senders<'a> {
    fn of(block: &Block, given: Option<&'a [Address]>) -> Result<Self, BlockError> {
        match given {
            None => Ok(Self::Recover),
            Some(senders) if senders.len() == block.body.transactions.len() => {
                Ok(Self::Given(senders))
            }
            Some(senders) => Err(BlockError::SenderCount {
                transactions: block.body.transactions.len(),
                senders: senders.len(),
            }),
        }
    }

    /// The sender of transaction `index` of `block`.
    fn get(&self, block: &Block, index: usize) -> Result<Address, BlockError> {
        match self {
            Self::Given(senders) => Ok(senders[index]),
            Self::Recover => block.body.transactions[index]
                .recover_signer()
                .map_err(|e| BlockError::Sender {
                    index,
                    reason: e.to_string(),
                }),
        }
    }
}

fn execute_sequential<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    record_bal: bool,
    senders: &Senders<'_>,
    options: ExecOptions<'_>,
) -> Result<BlockOutcome, BlockError> {
    let state = State::builder()
        .with_database_ref(state)
        .with_bundle_update()
        .with_bal_builder_if(record_bal)
        .build();
    let mut executor = block_executor(chain, block, state, options.tier)?;
    let mut tx_writes = TxWrites::for_block(chain, block);
    for (index, tx) in block.body.transactions.iter().enumerate() {
        options.watch.check()?;
        let signer = senders.get(block, index)?;
        let recovered = alloy_consensus::transaction::Recovered::new_unchecked(tx, signer);
        executor
            .execute_transaction_with_index(recovered, index)
            .map_err(execution_error)?;
        tx_writes.take(&mut executor);
        options.watch.executed(index);
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
    fn take<S: StateProvider>(&mut self, executor: &mut Executor<'_, '_, S>) {
        if let Some(writes) = &mut self.0 {
            writes.push(post_state::take_tx_writes(executor.evm_mut().db_mut()));
        }
    }
}

/// The state a block executes on: the parent state through its provider, with revm's bundle
/// (the block's writes) and, when asked, its BAL reader and builder.
type BlockState<'v, S> = State<WrapDatabaseRef<&'v S>>;

/// alloy-evm's block executor, which both schedules use for everything around the
/// transactions and for committing them.
type Executor<'a, 'v, S> =
    EthBlockExecutor<'a, TieredEvm<BlockState<'v, S>>, &'a ChainSpec, BloomedReceipts>;

/// The block executor over `state`, with the block's pre-execution system calls applied.
fn block_executor<'a, 'v, S: StateProvider>(
    chain: &'a ChainSpec,
    block: &'a Block,
    state: BlockState<'v, S>,
    tier: Tier,
) -> Result<Executor<'a, 'v, S>, BlockError> {
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
fn finish<S: StateProvider>(
    mut executor: Executor<'_, '_, S>,
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
        speculation: Speculation::default(),
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

/// An EVM failure that is no verdict on the block (a state read failed, a fatal EVM error)
/// stays apart from one that is, so a stage never marks a block invalid for its own I/O.
fn execution_error(e: BlockExecutionError) -> BlockError {
    match e {
        BlockExecutionError::Internal(internal) => BlockError::Internal(internal.to_string()),
        other => BlockError::Execution(other.to_string()),
    }
}

/// The block's canonical RLP, as a `chain.rlp` holds it: the inverse of [`decode_block`].
pub fn encode_block(block: &Block) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::Encodable::encode(block, &mut out);
    out
}
