//! Optimistic execution (Block-STM, as pevm runs it on revm) of a block whose access list is
//! not known: every transaction runs speculatively in parallel against the parent state
//! overlaid by a multi-version memory of the other runs' writes, recording what it read; the
//! runs are committed in block order on the calling thread through alloy-evm's block executor,
//! as BAL-parallel runs are, so receipts, gas, logs, requests, the system calls before and
//! after the transactions and withdrawals are exactly those of sequential execution.
//!
//! ```text
//! runners (rayon) ── claim i ─► run on parent + MvMemory(< i) ─► publish writes ─► reads still hold? ─ no ─► run again (bounded)
//!                                                                                    │ yes
//! committing thread ◄────────────────────────────── run i ──────────────────────────┘
//!   reads == committed state (all of 0..i final)? ── yes ─► commit the run (fee credit moved onto the committed balance)
//!                                                 └─ no ──► execute i here, on the committed state
//! ```
//!
//! Correctness rests on the committing thread alone: a run is committed only when every value
//! it read equals the committed one, which makes it the run sequential execution would make;
//! any other transaction executes again there, serially. The parallel runs are a head start.
//! A block whose transactions keep conflicting stops speculating and finishes sequentially
//! (see [`keeps_conflicting`]). Recording the block's access list, and streaming each
//! transaction's writes to the watch, happen in the commit loop exactly as in sequential
//! execution.
//!
//! The beneficiary is credited lazily: revm loads its account for the fee credit after the
//! transaction ran, and a run that loads it then alone never saw its balance, so the balance
//! written by the transactions below is no conflict (`view::Dependence::FeeCredit`).

mod mv_memory;
mod run;
mod scheduler;
mod validation;
mod view;

use alloy_consensus::transaction::Recovered;
use alloy_evm::{
    Evm,
    block::{BlockExecutor, GasOutput},
};
use bal::BlockAccessIndex;
use revm::database::{State, states::bundle_state::BundleRetention};

use super::{
    Block, BlockError, BlockOutcome, ExecOptions, Executor, Senders, TxWrites, block_executor,
    evm_env, execution_error, finish, parallel::check_block_gas,
};
use crate::{chain::ChainSpec, provider::StateProvider};
use mv_memory::{MvMemory, Version};
use run::Run;
use scheduler::{Pending, RunCtx};
use validation::Verdict;

/// How an optimistically executed block went; zero for the other schedules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Speculation {
    /// Transactions executed more than once: runs made again because a transaction below
    /// overwrote what they read, and transactions executed again on the committed state.
    pub reexecutions: u32,
    /// Whether the block stopped speculating and finished sequentially.
    pub fell_back: bool,
}

/// Commits before the conflict rate can send a block to sequential execution: enough that a
/// few conflicts at the start of a block (a sender's second transaction) decide nothing.
const FALLBACK_AFTER: usize = 8;

/// Whether a block keeps conflicting: more than half of the transactions committed so far had
/// to execute again on the committed state. Past that, speculation costs more than it saves
/// (each such transaction ran twice, once on the committing thread's critical path), so the
/// rest of the block runs sequentially: never much slower than sequential execution.
fn keeps_conflicting(committed: usize, executed_again: usize) -> bool {
    committed >= FALLBACK_AFTER && executed_again * 2 > committed
}

/// Executes `block` optimistically (see the module docs), recording its access list when
/// `record_bal` says so.
pub(super) fn execute_optimistic<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    record_bal: bool,
    senders: &Senders<'_>,
    options: ExecOptions<'_>,
) -> Result<BlockOutcome, BlockError> {
    let count = block.body.transactions.len();
    let memory = MvMemory::new(count);
    let env = evm_env(chain, &block.header);
    let ctx = RunCtx::new(
        block,
        state,
        senders,
        &memory,
        env,
        options.tier,
        options.watch,
    );
    let (runs_tx, runs) = crossbeam_channel::unbounded();
    rayon::in_place_scope(|scope| {
        let helpers = rayon::current_num_threads() - 1;
        for _ in 0..helpers.min(count) {
            let (runs_tx, ctx) = (runs_tx.clone(), &ctx);
            scope.spawn(move |_| {
                let mut evm = None;
                while let Some(index) = ctx.claim() {
                    if runs_tx
                        .send((index, ctx.speculate(&mut evm, index)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(runs_tx);
        let mut pending = Pending {
            ctx: &ctx,
            runs,
            arrived: (0..count).map(|_| None).collect(),
            evm: None,
        };
        let committed = commit_in_order(chain, block, state, record_bal, &mut pending);
        // A failed block stops the helpers after the transaction each is running.
        ctx.stop();
        committed
    })
}

/// Commits the block's transactions in block order: each speculative run whose reads hold on
/// the committed state, else the transaction executed here; then finishes the block.
fn commit_in_order<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    record_bal: bool,
    pending: &mut Pending<'_, '_, S>,
) -> Result<BlockOutcome, BlockError> {
    let ctx = pending.ctx;
    let state = State::builder()
        .with_database_ref(state)
        .with_bundle_update()
        .with_bal_builder_if(record_bal)
        .build();
    let mut executor = block_executor(chain, block, state, ctx.tier)?;
    let mut tx_writes = TxWrites::for_block(chain, block);
    let mut executed_again = 0;
    let mut fell_back = false;
    for index in 0..block.body.transactions.len() {
        ctx.watch.check()?;
        let run = if fell_back { None } else { pending.take(index) };
        let committed = match run {
            Some(run) => commit_run(&mut executor, block, index, run)?,
            None => false,
        };
        if !committed {
            execute_here(&mut executor, ctx, index)?;
            executed_again += usize::from(!fell_back);
        }
        tx_writes.take(&mut executor);
        ctx.watch.executed(index);
        if !fell_back && keeps_conflicting(index + 1, executed_again) {
            fell_back = true;
            ctx.stop();
            tracing::debug!(
                number = block.header.number,
                committed = index + 1,
                executed_again,
                "optimistic execution falls back to sequential"
            );
        }
        if index % super::parallel::MERGE_EVERY == super::parallel::MERGE_EVERY - 1 {
            let db = executor.evm_mut().db_mut();
            db.merge_transitions(BundleRetention::PlainState);
        }
    }
    let mut outcome = finish(executor, block, tx_writes)?;
    let reruns = ctx.reruns.load(std::sync::atomic::Ordering::Relaxed);
    outcome.speculation = Speculation {
        reexecutions: reruns + executed_again as u32,
        fell_back,
    };
    Ok(outcome)
}

/// Commits `run` of transaction `index` if every read holds on the committed state; `false`
/// (nothing committed) if it does not, or if the run could not execute.
fn commit_run<S: StateProvider>(
    executor: &mut Executor<'_, '_, S>,
    block: &Block,
    index: usize,
    run: Run,
) -> Result<bool, BlockError> {
    let db = executor.evm_mut().db_mut();
    let (Verdict::Holds(credit), Some(mut executed)) =
        (validation::against_committed(&run.reads, db)?, run.executed)
    else {
        return Ok(false);
    };
    if let Some(credit) = credit {
        validation::apply_fee_credit(&mut executed.output.result.state, credit);
    }
    check_block_gas(executor, &block.body.transactions[index])?;
    let db = executor.evm_mut().db_mut();
    db.set_bal_index(BlockAccessIndex::new(index as u64 + 1));
    executor.receipt_builder.supply(executed.bloom);
    let _: GasOutput = executor.commit_transaction(executed.output);
    Ok(true)
}

/// Executes transaction `index` on the committed state, as sequential execution does, and
/// publishes its writes for the runs still to come.
fn execute_here<S: StateProvider>(
    executor: &mut Executor<'_, '_, S>,
    ctx: &RunCtx<'_, S>,
    index: usize,
) -> Result<(), BlockError> {
    let signer = ctx.signer(index)?;
    let tx = Recovered::new_unchecked(&ctx.block.body.transactions[index], signer);
    let version = Version {
        tx: index,
        incarnation: u32::MAX,
    };
    executor
        .execute_transaction_with_index_and_result_closure(tx, index, |result| {
            ctx.memory.publish(version, &result.result.state);
        })
        .map_err(execution_error)?;
    Ok(())
}
