//! BAL-parallel execution: with a block access list every transaction can run at once, each
//! against the parent state overlaid with the BAL's changes before its index (revm positions
//! its reads with `State::with_bal` and a BAL index). The results are committed in block order
//! through alloy-evm's block executor, so receipts, gas accounting and the system calls and
//! withdrawals around the transactions are exactly those of sequential execution; the commits
//! run on the calling thread while the pool is still executing later transactions.
//!
//! The BAL is trusted for nothing: a transaction reading state the BAL does not declare fails
//! its run, each transaction's own writes are compared with the BAL's entries at its index as
//! it commits (module `lying`), and the BAL recorded while committing must equal the one given.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_evm::{
    Evm, EvmEnv, EvmFactory, FromRecoveredTx,
    block::{BlockExecutor, BlockValidationError, GasOutput},
    eth::EthTxResult,
};
use alloy_primitives::{Bloom, logs_bloom};
use bal::{BlockAccessIndex, BlockAccessList};
use crossbeam_channel::Receiver;
use revm::{
    context::{Block as _, Cfg as _, TxEnv, result::EVMError},
    database::{State, states::bundle_state::BundleRetention},
    database_interface::bal::EvmDatabaseError,
    state::bal::{Bal, BalError as RevmBalError},
};

use super::{
    Block, BlockError, BlockOutcome, BlockState, ExecOptions, Executor, Senders, TxWrites, Watch,
    block_executor, evm_env, execution_error, finish,
};
use crate::{
    chain::ChainSpec,
    provider::StateProvider,
    submodule::{Tier, TieredEvm, TieredEvmFactory},
};

mod lying;

pub use lying::{BalField, LyingBal};

/// A transaction run on its own against the BAL-positioned parent state, with the bloom of
/// its logs (hashed here, in parallel, not by the committing thread).
struct TxRun {
    output: EthTxResult<revm::context::result::HaltReason, alloy_consensus::TxType>,
    bloom: Bloom,
}

/// What every transaction run of one block shares, including the counter the runners take
/// transaction indices from.
struct RunCtx<'a, S> {
    block: &'a Block,
    state: &'a S,
    senders: &'a Senders<'a>,
    /// Set by the committing thread once built; `None` if the block's BAL was rejected.
    bal: OnceLock<Option<Arc<Bal>>>,
    env: EvmEnv,
    /// Where contract code runs.
    tier: Tier,
    watch: Watch<'a>,
    next: AtomicUsize,
    stop: AtomicBool,
}

impl<'a, S: StateProvider> RunCtx<'a, S> {
    /// The state transaction `index` reads: the parent state, overlaid by revm with the BAL's
    /// changes before the transaction's block access index.
    fn state_for(&self, bal: &Arc<Bal>, index: usize) -> BlockState<'a, S> {
        let mut state = State::builder()
            .with_database_ref(self.state)
            .with_bal(bal.clone())
            .build();
        state.set_bal_index(BlockAccessIndex::new(index as u64 + 1));
        state
    }

    /// The next transaction nobody has started, unless all have or the block has failed.
    fn claim(&self) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < self.block.body.transactions.len() && !self.stop.load(Ordering::Relaxed))
            .then_some(index)
    }

    /// Runs transaction `index` on a runner's EVM, made on its first run and reused with a
    /// fresh state each time; `None` if the block's BAL was rejected before any run. What
    /// the transaction wrote is checked when it commits, not here.
    fn run(
        &self,
        evm: &mut Option<TxEvm<'a, S>>,
        index: usize,
    ) -> Option<Result<TxRun, BlockError>> {
        let tx = &self.block.body.transactions[index];
        // The sender needs no BAL: a runner's first recovery overlaps building it.
        let signer = self
            .watch
            .check()
            .and_then(|()| self.senders.get(self.block, index));
        let state = self.state_for(self.bal.wait().as_ref()?, index);
        let evm = match evm {
            Some(evm) => {
                *evm.db_mut() = state;
                evm
            }
            None => {
                evm.insert(TieredEvmFactory::new(self.tier).create_evm(state, self.env.clone()))
            }
        };
        Some(signer.and_then(|signer| {
            let result = evm
                .transact(TxEnv::from_recovered_tx(tx, signer))
                .map_err(|e| run_error(index, e))?;
            Ok(TxRun {
                bloom: logs_bloom(result.result.logs()),
                output: EthTxResult {
                    result,
                    blob_gas_used: tx.blob_gas_used().unwrap_or_default(),
                    tx_type: tx.tx_type(),
                },
            })
        }))
    }
}

/// A failed run: a read the BAL does not declare is a lie, a failed read of the store is no
/// verdict on the block, anything else invalidates it.
fn run_error<E: std::fmt::Display>(
    index: usize,
    error: EVMError<EvmDatabaseError<E>>,
) -> BlockError {
    match error {
        EVMError::Database(EvmDatabaseError::Bal(RevmBalError::AccountNotFound { address })) => {
            LyingBal::UndeclaredRead {
                tx: index,
                address,
                slot: None,
            }
            .into()
        }
        EVMError::Database(EvmDatabaseError::Bal(RevmBalError::SlotNotFound { address, slot })) => {
            LyingBal::UndeclaredRead {
                tx: index,
                address,
                slot: Some(slot),
            }
            .into()
        }
        // The store failed, not the block.
        EVMError::Database(EvmDatabaseError::Database(e)) => {
            BlockError::Internal(format!("tx {index}: {e}"))
        }
        other => BlockError::Execution(format!("tx {index}: {other}")),
    }
}

/// The EVM a runner executes its transactions on.
type TxEvm<'v, S> = TieredEvm<BlockState<'v, S>>;

/// A finished run, by transaction index.
type Arrival = (usize, Result<TxRun, BlockError>);

/// Executes `block` with its transactions in parallel, trusting `access_list` for nothing;
/// transactions that have not started are skipped once the watch is cancelled, and each is
/// reported to it as it commits.
///
/// Execution and commitment are pipelined. Runners take the next transaction index from a
/// shared counter, so runs finish roughly in block order, and this thread commits each run as
/// soon as every run before it is committed. This thread counts as one of the pool's cores:
/// beside one runner fewer than the pool has threads, it takes transactions itself while
/// nothing is ready to commit. (On a pool thread it must, since a runner job may be queued
/// behind it. Outside the pool it pays too: a thread that only committed slept and woke once
/// per transaction beside busy runners, and its waits spun on the cores they needed.)
pub(super) fn execute_parallel<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    access_list: &BlockAccessList,
    senders: &Senders<'_>,
    options: ExecOptions<'_>,
) -> Result<BlockOutcome, BlockError> {
    let ExecOptions { tier, watch, .. } = options;
    let ctx = RunCtx {
        tier,
        block,
        state,
        senders,
        bal: OnceLock::new(),
        env: evm_env(chain, &block.header),
        watch,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    };
    let count = block.body.transactions.len();
    let (runs_tx, runs) = crossbeam_channel::unbounded();
    rayon::in_place_scope(|scope| {
        let helpers = rayon::current_num_threads() - 1;
        for _ in 0..helpers.min(count) {
            let (runs_tx, ctx) = (runs_tx.clone(), &ctx);
            scope.spawn(move |_| {
                let mut evm = None;
                while let Some(index) = ctx.claim() {
                    let Some(run) = ctx.run(&mut evm, index) else {
                        break;
                    };
                    if runs_tx.send((index, run)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(runs_tx);
        let committed = match Bal::clone_from_alloy(access_list) {
            Ok(bal) => {
                let bal = Arc::new(bal);
                ctx.bal.get_or_init(|| Some(bal.clone()));
                let mut pending = Pending {
                    ctx: &ctx,
                    runs,
                    arrived: (0..count).map(|_| None).collect(),
                    evm: None,
                };
                commit_in_order(chain, block, state, access_list, &bal, &mut pending)
            }
            Err(e) => {
                ctx.bal.get_or_init(|| None);
                Err(LyingBal::BadCode(e.to_string()).into())
            }
        };
        // A failed block stops the helpers after the transaction each is running.
        ctx.stop.store(true, Ordering::Relaxed);
        committed
    })
}

/// The runs waiting to be committed, as seen by the committing thread.
struct Pending<'c, 'a, S: StateProvider> {
    ctx: &'c RunCtx<'a, S>,
    runs: Receiver<Arrival>,
    arrived: Vec<Option<Result<TxRun, BlockError>>>,
    /// This thread's own EVM, made the first time it runs a transaction.
    evm: Option<TxEvm<'a, S>>,
}

impl<S: StateProvider> Pending<'_, '_, S> {
    /// The run of transaction `index`, running unstarted transactions while it is not there.
    fn take(&mut self, index: usize) -> Result<TxRun, BlockError> {
        loop {
            for (i, run) in self.runs.try_iter() {
                self.arrived[i] = Some(run);
            }
            if let Some(run) = self.arrived[index].take() {
                return run;
            }
            if let Some(i) = self.ctx.claim()
                && let Some(run) = self.ctx.run(&mut self.evm, i)
            {
                self.arrived[i] = Some(run);
                continue;
            }
            // The missing run is claimed by a helper, which sends it before it stops; a helper
            // not yet started runs on a pool thread this one does not hold up.
            let (i, run) = self.runs.recv().expect("a claimed run is always sent");
            self.arrived[i] = Some(run);
        }
    }
}

/// How many commits pass between folding the pending transitions into the block's bundle.
/// Folding while runs are still in flight takes that work off the serial tail of the block.
pub(super) const MERGE_EVERY: usize = 64;

/// Commits the block's runs in block order through alloy-evm's block executor, checking each
/// against the BAL as it commits, then finishes the block.
fn commit_in_order<S: StateProvider>(
    chain: &ChainSpec,
    block: &Block,
    state: &S,
    access_list: &BlockAccessList,
    bal: &Arc<Bal>,
    pending: &mut Pending<'_, '_, S>,
) -> Result<BlockOutcome, BlockError> {
    let ctx = pending.ctx;
    let count = block.body.transactions.len();
    let listed = lying::ListedWrites::new(access_list, count);
    let state = State::builder()
        .with_database_ref(state)
        .with_bundle_update()
        .with_bal(bal.clone())
        .with_bal_builder()
        .build();
    let mut executor = block_executor(chain, block, state, pending.ctx.tier)?;
    let mut tx_writes = TxWrites::for_block(chain, block);
    for tx_index in 0..count {
        let run = pending.take(tx_index)?;
        ctx.watch.check()?;
        check_block_gas(&executor, &block.body.transactions[tx_index])?;
        let touched = lying::Touched::of(&run.output.result.state);
        let db = executor.evm_mut().db_mut();
        db.set_bal_index(BlockAccessIndex::new(tx_index as u64 + 1));
        executor.receipt_builder.supply(run.bloom);
        let _: GasOutput = executor.commit_transaction(run.output);
        let recorded = executor.evm().db().bal_state.bal_builder.as_ref();
        let recorded = recorded.expect("the committing state records a BAL");
        lying::check_turn(tx_index, &touched, recorded, bal, &listed)?;
        tx_writes.take(&mut executor);
        ctx.watch.executed(tx_index);
        if tx_index % MERGE_EVERY == MERGE_EVERY - 1 {
            let db = executor.evm_mut().db_mut();
            db.merge_transitions(BundleRetention::PlainState);
        }
    }
    let outcome = finish(executor, block, tx_writes)?;
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
pub(super) fn check_block_gas<S: StateProvider>(
    executor: &Executor<'_, '_, S>,
    tx: &TxEnvelope,
) -> Result<(), BlockError> {
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
