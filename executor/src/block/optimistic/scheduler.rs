//! Who runs which transaction: runners on the rayon pool take transaction indices in block
//! order from a shared counter and run each speculatively, again (a bounded number of times)
//! while a transaction below it has meanwhile written something it read; the committing
//! thread takes the runs in block order and runs unstarted transactions itself while the one
//! it needs is not there (the scheme of BAL-parallel execution, `super::super::parallel`).
//!
//! One dependence is known before anything runs, and it is the commonest (an exchange's hot
//! wallet, a bot, a bundle): a sender's transactions follow each other's nonce and balance. A
//! transaction whose sender sent one before it in the block starts only once that one's run is
//! published, so it reads its nonce instead of failing on the one before (pevm orders these
//! the same way).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use alloy_evm::EvmEnv;
use alloy_primitives::{Address, map::HashMap};
use crossbeam_channel::Receiver;
use rayon::prelude::*;
use revm::state::EvmState;

use super::{
    mv_memory::{MvMemory, Version},
    run::{self, Run, SpeculativeEvm},
    validation,
    view::SpeculativeDb,
};
use crate::{
    block::{Block, BlockError, Senders, Watch},
    provider::StateProvider,
    submodule::Tier,
};

/// Runs of one transaction before its result goes to the committing thread as it is: a run
/// whose reads a transaction below it overwrote meanwhile runs again (it now sees the newer
/// write), at most this many times in all. Past that the committing thread runs it on the
/// committed state if it has to; three covers a chain of transactions each depending on the
/// one before it on two cores (each run waits out at most the run before it) without letting
/// one hot location keep a runner busy with one transaction.
const MAX_INCARNATIONS: u32 = 3;

/// What every speculative run of one block shares, including the counter the runners take
/// transaction indices from.
pub(super) struct RunCtx<'a, S> {
    pub(super) block: &'a Block,
    pub(super) state: &'a S,
    /// Each transaction's sender, `None` where it cannot be recovered (the committing thread
    /// then meets the error at that transaction, as sequential execution does).
    signers: Vec<Option<Address>>,
    senders: &'a Senders<'a>,
    /// The sender's previous transaction in the block, for each transaction.
    follows: Vec<Option<usize>>,
    /// Whether a transaction's speculative run is over (published, or given up).
    finished: Vec<AtomicBool>,
    pub(super) memory: &'a MvMemory,
    pub(super) env: EvmEnv,
    pub(super) tier: Tier,
    pub(super) watch: Watch<'a>,
    next: AtomicUsize,
    stop: AtomicBool,
    /// Runs made again because a transaction below overwrote what they read.
    pub(super) reruns: AtomicU32,
}

impl<'a, S: StateProvider> RunCtx<'a, S> {
    pub(super) fn new(
        block: &'a Block,
        state: &'a S,
        senders: &'a Senders<'a>,
        memory: &'a MvMemory,
        env: EvmEnv,
        tier: Tier,
        watch: Watch<'a>,
    ) -> Self {
        let count = block.body.transactions.len();
        let signers: Vec<Option<Address>> = (0..count)
            .into_par_iter()
            .map(|index| senders.get(block, index).ok())
            .collect();
        let mut last = HashMap::<Address, usize>::default();
        let follows = signers
            .iter()
            .enumerate()
            .map(|(index, signer)| signer.and_then(|s| last.insert(s, index)))
            .collect();
        Self {
            block,
            state,
            signers,
            senders,
            follows,
            finished: (0..count).map(|_| AtomicBool::new(false)).collect(),
            memory,
            env,
            tier,
            watch,
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            reruns: AtomicU32::new(0),
        }
    }

    /// The sender of transaction `index`, or why it has none.
    pub(super) fn signer(&self, index: usize) -> Result<Address, BlockError> {
        match self.signers[index] {
            Some(signer) => Ok(signer),
            None => self.senders.get(self.block, index),
        }
    }

    /// The next transaction nobody has started, unless all have or speculation has stopped.
    pub(super) fn claim(&self) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < self.block.body.transactions.len() && !self.stop.load(Ordering::Relaxed))
            .then_some(index)
    }

    /// No transaction starts a speculative run after this (the block failed, was cancelled,
    /// or fell back to sequential execution).
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Runs transaction `index` speculatively until its reads hold in the multi-version
    /// memory, or [`MAX_INCARNATIONS`] runs; publishes each run's writes. `None` when it could
    /// not start (cancelled, or no sender: the committing thread meets the error again).
    pub(super) fn speculate(
        &self,
        evm: &mut Option<SpeculativeEvm<'a, S>>,
        index: usize,
    ) -> Option<Run> {
        let run = self.speculate_after_sender(evm, index);
        self.finished[index].store(true, Ordering::Release);
        run
    }

    fn speculate_after_sender(
        &self,
        evm: &mut Option<SpeculativeEvm<'a, S>>,
        index: usize,
    ) -> Option<Run> {
        self.watch.check().ok()?;
        let tx = &self.block.body.transactions[index];
        let signer = self.signers[index]?;
        if let Some(before) = self.follows[index] {
            while !self.finished[before].load(Ordering::Acquire) {
                if self.stop.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::yield_now();
            }
        }
        let mut incarnation = 0;
        loop {
            let beneficiary = self.env.block_env.beneficiary;
            let db = SpeculativeDb::new(self.state, self.memory, index, beneficiary);
            let run = run::speculate(evm, &self.env, self.tier, db, tx, signer);
            // A run revm refused wrote nothing: an earlier incarnation's writes go.
            let writes = run.executed.as_ref().map(|e| &e.output.result.state);
            let version = Version {
                tx: index,
                incarnation,
            };
            self.memory
                .publish(version, writes.unwrap_or(&EvmState::default()));
            incarnation += 1;
            if incarnation == MAX_INCARNATIONS
                || validation::holds_in_memory(&run.reads, self.memory, index)
            {
                return Some(run);
            }
            self.reruns.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A finished speculative run, by transaction index (`None`: it could not start).
pub(super) type Arrival = (usize, Option<Run>);

/// The runs waiting to be committed, as seen by the committing thread.
pub(super) struct Pending<'c, 'a, S: StateProvider> {
    pub(super) ctx: &'c RunCtx<'a, S>,
    pub(super) runs: Receiver<Arrival>,
    pub(super) arrived: Vec<Option<Option<Run>>>,
    /// This thread's own EVM, made the first time it runs a transaction.
    pub(super) evm: Option<SpeculativeEvm<'a, S>>,
}

impl<S: StateProvider> Pending<'_, '_, S> {
    /// The speculative run of transaction `index`, running unstarted transactions while it is
    /// not there.
    pub(super) fn take(&mut self, index: usize) -> Option<Run> {
        loop {
            for (i, run) in self.runs.try_iter() {
                self.arrived[i] = Some(run);
            }
            if let Some(run) = self.arrived[index].take() {
                return run;
            }
            if let Some(i) = self.ctx.claim() {
                self.arrived[i] = Some(self.ctx.speculate(&mut self.evm, i));
                continue;
            }
            // The missing run is claimed by a helper, which sends it before it stops.
            let (i, run) = self.runs.recv().expect("a claimed run is always sent");
            self.arrived[i] = Some(run);
        }
    }
}
