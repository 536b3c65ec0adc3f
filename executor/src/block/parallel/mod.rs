//! BAL-parallel execution: with a block access list every transaction can run at once, each
//! against the parent state overlaid with the BAL's changes before its index (revm positions
//! its reads with `State::with_bal` and a BAL index). The results are committed in block order
//! through alloy-evm's block executor, so receipts, gas accounting and the system calls and
//! withdrawals around the transactions are exactly those of sequential execution; the commits
//! run on the calling thread while the pool is still executing later transactions.
//!
//! The BAL is trusted for nothing: a transaction reading state the BAL does not declare fails
//! its run, each transaction's own writes are compared with the BAL's entries at its index as
//! it commits ([`lying`]), and the BAL recorded while committing must equal the one given.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_evm::{
    Evm, EvmEnv, EvmFactory, FromRecoveredTx,
    block::{BlockExecutor, BlockValidationError, GasOutput},
    eth::{EthEvm, EthEvmFactory, EthTxResult},
    precompiles::PrecompilesMap,
};
use bal::{BlockAccessIndex, BlockAccessList};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use revm::{
    context::{Block as _, Cfg as _, TxEnv, result::EVMError},
    database::State,
    database_interface::bal::EvmDatabaseError,
    inspector::NoOpInspector,
    state::bal::{Bal, BalError as RevmBalError},
};

use super::{
    Block, BlockError, BlockOutcome, BlockState, Executor, Watch, block_executor, evm_env,
    execution_error, finish,
};
use crate::{chain::ChainSpec, world::StateView};

mod lying;

pub use lying::{BalField, LyingBal};

/// A transaction run on its own against the BAL-positioned parent state.
type TxRun = EthTxResult<revm::context::result::HaltReason, alloy_consensus::TxType>;

/// Executes `block` with its transactions in parallel, trusting `access_list` for nothing.
pub fn execute_parallel(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    access_list: &BlockAccessList,
) -> Result<BlockOutcome, BlockError> {
    execute_parallel_watched(chain, block, view, access_list, Watch::NONE)
}

/// What every transaction run of one block shares.
struct RunCtx<'a> {
    block: &'a Block,
    view: StateView<'a>,
    bal: Arc<Bal>,
    env: EvmEnv,
    watch: Watch<'a>,
}

impl<'a> RunCtx<'a> {
    /// The state transaction `index` reads: the parent world, overlaid by revm with the BAL's
    /// changes before the transaction's block access index, recording what it touches.
    fn state_for(&self, index: usize) -> BlockState<'a> {
        let mut state = State::builder()
            .with_database_ref(self.view)
            .with_bal(self.bal.clone())
            .build();
        state.set_bal_index(BlockAccessIndex::new(index as u64 + 1));
        state
    }

    /// Runs transaction `index` on `evm` (a worker's, reused across its transactions with a
    /// fresh state each time). What it wrote is checked when it commits, not here.
    fn run(&self, evm: &mut TxEvm<'a>, index: usize) -> Result<TxRun, BlockError> {
        self.watch.check()?;
        let tx = &self.block.body.transactions[index];
        let signer = tx.recover_signer().map_err(|e| BlockError::Sender {
            index,
            reason: e.to_string(),
        })?;
        *evm.db_mut() = self.state_for(index);
        let result = evm
            .transact(TxEnv::from_recovered_tx(tx, signer))
            .map_err(|e| match e {
                EVMError::Database(EvmDatabaseError::Bal(RevmBalError::AccountNotFound {
                    address,
                })) => BlockError::from(LyingBal::UndeclaredRead {
                    tx: index,
                    address,
                    slot: None,
                }),
                EVMError::Database(EvmDatabaseError::Bal(RevmBalError::SlotNotFound {
                    address,
                    slot,
                })) => BlockError::from(LyingBal::UndeclaredRead {
                    tx: index,
                    address,
                    slot: Some(slot),
                }),
                other => BlockError::Execution(format!("tx {index}: {other}")),
            })?;
        Ok(EthTxResult {
            result,
            blob_gas_used: tx.blob_gas_used().unwrap_or_default(),
            tx_type: tx.tx_type(),
        })
    }
}

/// The EVM a worker runs its transactions on.
type TxEvm<'v> = EthEvm<BlockState<'v>, NoOpInspector, PrecompilesMap>;

/// [`execute_parallel`], with transactions that have not started skipped once `watch` is
/// cancelled, and each transaction reported as it commits.
///
/// Execution and commitment are pipelined: one worker per pool thread takes the next
/// transaction index from a shared counter, so runs finish roughly in block order, and this
/// thread commits each run as soon as every run before it is committed. The serial commit
/// therefore overlaps the parallel runs instead of waiting for the last of them.
pub fn execute_parallel_watched(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    access_list: &BlockAccessList,
    watch: Watch<'_>,
) -> Result<BlockOutcome, BlockError> {
    let bal = Arc::new(
        Bal::try_from(access_list.clone())
            .map_err(|e| BlockError::from(LyingBal::BadCode(e.to_string())))?,
    );
    let ctx = RunCtx {
        block,
        view,
        bal: bal.clone(),
        env: evm_env(chain, &block.header),
        watch,
    };
    let count = block.body.transactions.len();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (runs_tx, runs) = crossbeam_channel::unbounded();
    rayon::in_place_scope(|scope| {
        for _ in 0..rayon::current_num_threads().min(count) {
            let runs_tx = runs_tx.clone();
            let (ctx, next, stop) = (&ctx, &next, &stop);
            scope.spawn(move |_| {
                let state = ctx.state_for(0);
                let mut evm = EthEvmFactory::default().create_evm(state, ctx.env.clone());
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if runs_tx.send((index, ctx.run(&mut evm, index))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(runs_tx);
        let committed = commit_in_order(chain, block, view, access_list, bal, &ctx, &runs);
        // A failed block stops the workers after the transaction each is running.
        stop.store(true, Ordering::Relaxed);
        committed
    })
}

/// The next finished run. Called from a pool thread (a block executed inside a parallel
/// job), waiting must keep running pool jobs, or this block's own workers could sit queued
/// behind it.
fn next_run(
    runs: &Receiver<(usize, Result<TxRun, BlockError>)>,
) -> (usize, Result<TxRun, BlockError>) {
    const POLL: Duration = Duration::from_micros(100);
    loop {
        let waited = match rayon::yield_now() {
            None => runs.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(rayon::Yield::Executed) => runs.try_recv().map_err(|_| RecvTimeoutError::Timeout),
            Some(rayon::Yield::Idle) => runs.recv_timeout(POLL),
        };
        match waited {
            Ok(run) => return run,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                unreachable!("every index taken by a worker is sent before it stops")
            }
        }
    }
}

/// Commits the runs arriving on `runs` in block order through alloy-evm's block executor,
/// checking each against the BAL first, then finishes the block.
fn commit_in_order(
    chain: &ChainSpec,
    block: &Block,
    view: StateView<'_>,
    access_list: &BlockAccessList,
    bal: Arc<Bal>,
    ctx: &RunCtx<'_>,
    runs: &Receiver<(usize, Result<TxRun, BlockError>)>,
) -> Result<BlockOutcome, BlockError> {
    let count = block.body.transactions.len();
    let listed = lying::ListedWrites::new(access_list, count);
    let state = State::builder()
        .with_database_ref(view)
        .with_bundle_update()
        .with_bal(bal.clone())
        .with_bal_builder()
        .build();
    let mut executor = block_executor(chain, block, state)?;
    let mut arrived: Vec<Option<Result<TxRun, BlockError>>> = (0..count).map(|_| None).collect();
    for tx_index in 0..count {
        while arrived[tx_index].is_none() {
            let (index, run) = next_run(runs);
            arrived[index] = Some(run);
        }
        let run = arrived[tx_index].take().expect("arrived above")?;
        ctx.watch.check()?;
        check_block_gas(&executor, &block.body.transactions[tx_index])?;
        let touched = lying::Touched::of(&run.result.state);
        let db = executor.evm_mut().db_mut();
        db.set_bal_index(BlockAccessIndex::new(tx_index as u64 + 1));
        let _: GasOutput = executor.commit_transaction(run);
        let recorded = executor.evm().db().bal_state.bal_builder.as_ref();
        let recorded = recorded.expect("the committing state records a BAL");
        lying::check_turn(tx_index, &touched, recorded, &bal, &listed)?;
        ctx.watch.executed(tx_index);
    }
    let outcome = finish(executor, block)?;
    same_as_recorded(outcome.access_list.as_ref(), access_list)?;
    Ok(outcome)
}

/// The access list recorded while executing must be the one given, entry for entry.
pub(super) fn same_as_recorded(
    recorded: Option<&BlockAccessList>,
    given: &BlockAccessList,
) -> Result<(), BlockError> {
    match recorded {
        Some(recorded) if recorded == given => Ok(()),
        recorded => {
            let diff = bal::first_bal_divergence(recorded.unwrap_or(&Vec::new()), given);
            Err(LyingBal::Differs(diff.to_string()).into())
        }
    }
}

/// The block-gas admission check alloy-evm makes before executing a transaction
/// (`execute_transaction_without_commit`), which a transaction executed ahead of its turn has
/// skipped: its gas limit, capped at the fork's per-transaction cap, must fit what the block
/// has left, counted in regular gas from Amsterdam (EIP-8037) on, where the uncapped limit
/// must also fit the block's state-gas budget. The error is alloy-evm's own, so a block
/// rejected here reads exactly as it does when executed sequentially.
fn check_block_gas(executor: &Executor<'_, '_>, tx: &TxEnvelope) -> Result<(), BlockError> {
    let cfg = executor.evm().cfg_env();
    let block_gas_limit = executor.evm().block().gas_limit();
    let used = if cfg.enable_amsterdam_eip8037 {
        executor.block_regular_gas_used
    } else {
        executor.cumulative_tx_gas_used
    };
    let mut budgets = vec![(
        tx.gas_limit().min(cfg.tx_gas_limit_cap()),
        block_gas_limit - used,
    )];
    if cfg.enable_amsterdam_eip8037 && !executor.skip_state_gas_capacity_check {
        budgets.push((
            tx.gas_limit(),
            block_gas_limit - executor.block_state_gas_used,
        ));
    }
    match budgets.into_iter().find(|(need, left)| need > left) {
        None => Ok(()),
        Some((_, block_available_gas)) => Err(execution_error(
            BlockValidationError::TransactionGasLimitMoreThanAvailableBlockGas {
                transaction_gas_limit: tx.gas_limit(),
                block_available_gas,
            }
            .into(),
        )),
    }
}
