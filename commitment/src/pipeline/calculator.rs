//! The calculator thread: folds state roots beside execution and publishes one verdict per
//! announced block.

use std::{
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use crossbeam_channel::{Receiver, Sender, select, unbounded};

use super::{
    BlockRequest, BlockResult, CommitError, Config, ExecEvent, FoldMode, FoldTimes, Metrics,
    TimeSpan, Verdict,
    gate::{Ahead, FoldGate, Pending},
    messages::Request,
    metrics::SharedMetrics,
    shadow::{BalFold, shadow_root},
};
use crate::{AccountUpdate, Inexpressible, StateTrie, bal_updates};

/// The calculator's thread has stopped (it panicked, or was shut down).
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the commitment calculator has stopped")]
pub struct CalculatorGone;

/// The stage loop's handle on a calculator thread. Dropping it closes the channels and joins
/// the thread, which cancels any block still waiting for a verdict.
#[derive(Debug)]
pub struct Calculator {
    requests: Option<Sender<Request>>,
    results: Option<Sender<ExecEvent>>,
    verdicts: Receiver<Verdict>,
    metrics: Arc<SharedMetrics>,
    thread: Option<JoinHandle<()>>,
}

impl Calculator {
    /// Starts a calculator whose trie holds the committed state of block `at`.
    pub fn spawn(trie: StateTrie, at: B256, config: Config) -> Self {
        let (requests, requests_rx) = unbounded();
        let (results, results_rx) = unbounded();
        let (verdicts_tx, verdicts) = unbounded();
        let metrics = Arc::new(SharedMetrics::default());
        let worker = Worker {
            config,
            trie,
            head: at,
            exported: None,
            gate: FoldGate::default(),
            metrics: metrics.clone(),
            verdicts: verdicts_tx,
        };
        let thread = std::thread::Builder::new()
            .name("commitment-calculator".into())
            .spawn(move || worker.run(requests_rx, results_rx))
            .expect("spawning a thread only fails when the OS is out of resources");
        Self {
            requests: Some(requests),
            results: Some(results),
            verdicts,
            metrics,
            thread: Some(thread),
        }
    }

    /// Announces a block as it arrives, before it executes.
    pub fn announce(&self, request: BlockRequest) -> Result<(), CalculatorGone> {
        self.send_request(Request::Block(Box::new(request)))
    }

    /// Replaces the calculator's trie with `trie`, block `at`'s post-state (built from every
    /// account, or opened over stored nodes): the committed state moved without the
    /// calculator (a store that failed to commit a block the calculator had committed).
    pub fn rebase(&self, at: B256, trie: StateTrie) -> Result<(), CalculatorGone> {
        let trie = Box::new(trie);
        self.send_request(Request::Rebase { at, trie })
    }

    /// Moves the committed state to block `at` by `updates` (the unwinds and re-applies of a
    /// reorg, in order): proportional to what the blocks changed, where [`Self::rebase`]
    /// rebuilds the whole trie.
    pub fn move_to(&self, at: B256, updates: Vec<AccountUpdate>) -> Result<(), CalculatorGone> {
        self.send_request(Request::Move { at, updates })
    }

    /// Says that block `committed`'s [`Verdict::trie_changes`] are durable in the trie's node
    /// source, so the calculator may collapse its resident trie to `budget` bytes (only
    /// nodes the source holds as they are collapse; they are read again when next reached).
    /// Ignored for any block but the last one the calculator exported.
    pub fn release(&self, committed: B256, budget: usize) -> Result<(), CalculatorGone> {
        self.send_request(Request::Release { committed, budget })
    }

    /// Reports execution progress or a block's result.
    pub fn report(&self, event: ExecEvent) -> Result<(), CalculatorGone> {
        let results = self.results.as_ref().ok_or(CalculatorGone)?;
        results.send(event).map_err(|_| CalculatorGone)
    }

    /// The next verdict, in the order blocks are decided (an early failure may overtake).
    pub fn verdict(&self) -> Result<Verdict, CalculatorGone> {
        self.verdicts.recv().map_err(|_| CalculatorGone)
    }

    /// The counters so far, summed over every block decided; a copy, cheap to take from the
    /// stage loop while the calculator runs (one lock, held once per block by the calculator).
    pub fn metrics(&self) -> Metrics {
        self.metrics.get()
    }

    fn send_request(&self, request: Request) -> Result<(), CalculatorGone> {
        let requests = self.requests.as_ref().ok_or(CalculatorGone)?;
        requests.send(request).map_err(|_| CalculatorGone)
    }
}

impl Drop for Calculator {
    fn drop(&mut self) {
        self.requests.take();
        self.results.take();
        if let Some(thread) = self.thread.take() {
            // A panic on the calculator thread was already seen as CalculatorGone.
            let _ = thread.join();
        }
    }
}

/// The state owned by the calculator thread.
struct Worker {
    config: Config,
    trie: StateTrie,
    /// The block whose committed state the trie holds (a fold ahead aside).
    head: B256,
    /// The last block whose trie changes went out with its verdict; until the stage says it
    /// is durable, the changed nodes stay resident.
    exported: Option<B256>,
    gate: FoldGate,
    metrics: Arc<SharedMetrics>,
    verdicts: Sender<Verdict>,
}

impl Drop for Worker {
    /// Runs on shutdown and on a panic alike: no executor waits on a dead calculator.
    fn drop(&mut self) {
        self.gate.cancel_all();
    }
}

impl Worker {
    fn run(mut self, requests: Receiver<Request>, results: Receiver<ExecEvent>) {
        loop {
            self.fold_ahead();
            select! {
                recv(requests) -> request => match request {
                    Ok(request) => self.on_request(request),
                    Err(_) => break,
                },
                recv(results) -> event => match event {
                    Ok(event) => {
                        // Requests first: a block's request never waits behind results, and a
                        // rebase sent before a block ran is in place before its result.
                        while let Ok(request) = requests.try_recv() {
                            self.on_request(request);
                        }
                        self.on_event(event);
                    }
                    Err(_) => break,
                },
            }
        }
        // Blocks announced just before shutdown are cancelled with the rest (on drop).
        for request in requests.try_iter() {
            if let Request::Block(request) = request {
                self.gate.announce(*request);
            }
        }
        self.gate.withdraw(&mut self.trie);
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Block(request) => self.gate.announce(*request),
            Request::Rebase { at, trie } => {
                self.gate.withdraw(&mut self.trie);
                self.trie = *trie;
                self.head = at;
                self.exported = None;
                self.metrics.update(|m| m.rebases += 1);
            }
            Request::Move { at, updates } => {
                self.gate.withdraw(&mut self.trie);
                self.trie.apply(&updates);
                self.head = at;
                self.metrics.update(|m| m.rebases += 1);
            }
            Request::Release { committed, budget } => {
                if self.exported == Some(committed) {
                    let resident = self.trie.retain(budget);
                    self.metrics
                        .update(|m| m.trie_resident_bytes = resident as u64);
                }
            }
        }
    }

    fn on_event(&mut self, event: ExecEvent) {
        match event {
            ExecEvent::Tx { hash, .. } => {
                if let Some(pending) = self.gate.get_mut(&hash) {
                    pending.txs_executed += 1;
                }
            }
            ExecEvent::Failed { hash, reason } => {
                let Some(pending) = self.gate.take(&hash) else {
                    return; // already failed early
                };
                let (mode, folds) = match self.gate.take_ahead(&hash) {
                    Some(ahead) => {
                        self.trie.revert(ahead.fold.undo);
                        (FoldMode::BalDriven, Folds::bal(ahead.folded))
                    }
                    None => (FoldMode::Incremental, Folds::default()),
                };
                let outcome = Err(CommitError::Execution(reason));
                self.publish(pending, mode, outcome, folds, Duration::ZERO);
            }
            ExecEvent::Block(result) => self.on_result(result),
        }
    }

    /// Folds the oldest eligible child of the head from its BAL. Without shadow a wrong root
    /// fails the block at once and cancels its execution.
    fn fold_ahead(&mut self) {
        if !self.config.bal_driven {
            return;
        }
        while let Some(hash) = self.gate.next_to_fold(self.head) {
            let pending = self
                .gate
                .get_mut(&hash)
                .expect("next_to_fold names a pending block");
            let ahead = match fold_request(&mut self.trie, &pending.request) {
                Some(Ok(ahead)) => ahead,
                Some(Err(why)) => {
                    pending.fallback = Some(why);
                    continue;
                }
                None => return,
            };
            match pending.request.expected_root {
                Some(expected) if expected != ahead.fold.root && !self.config.shadow => {
                    let got = ahead.fold.root;
                    self.trie.revert(ahead.fold.undo);
                    pending.request.cancel.cancel();
                    let pending = self.gate.take(&hash).expect("looked up above");
                    self.metrics.update(|m| m.early_failures += 1);
                    let outcome = Err(CommitError::RootMismatch { expected, got });
                    let folds = Folds::bal(ahead.folded);
                    self.publish(pending, FoldMode::BalDriven, outcome, folds, Duration::ZERO);
                }
                _ => return self.gate.hold(ahead),
            }
        }
    }

    fn on_result(&mut self, result: BlockResult) {
        let Some(mut pending) = self.gate.take(&result.hash) else {
            return; // already failed early
        };
        let arrived = Instant::now();
        let request = &pending.request;
        if self.head != request.parent_hash {
            let outcome = Err(CommitError::MissingParent(request.parent_hash));
            let mode = FoldMode::Incremental;
            return self.publish(pending, mode, outcome, Folds::default(), Duration::ZERO);
        }
        let mut ahead = self.gate.take_ahead(&result.hash);
        if ahead.is_none() {
            // A sibling was folded ahead instead; this block is the one that ran.
            self.gate.withdraw(&mut self.trie);
        }
        if self.config.bal_driven && pending.request.access_list.is_none() {
            match result.recorded {
                Some(list) => {
                    pending.request.access_list = Some(list);
                    self.metrics.update(|m| m.recorded_bals += 1);
                }
                None => self.metrics.update(|m| m.without_bal += 1),
            }
        }
        let request = &pending.request;
        // Not folded ahead (its gate opened only now): fold now, unless it already fell back.
        if ahead.is_none() && self.config.bal_driven && pending.fallback.is_none() {
            match fold_request(&mut self.trie, request) {
                Some(Ok(folded)) => ahead = Some(folded),
                Some(Err(why)) => pending.fallback = Some(why),
                None => {}
            }
        }
        let expected = pending.request.expected_root;
        let (mode, outcome, folds, fold_ahead) = match ahead {
            Some(ahead) => {
                let fold_ahead = arrived.saturating_duration_since(ahead.folded.end);
                let mut folds = Folds::bal(ahead.folded);
                let started = Instant::now();
                let outcome = self.commit_bal_fold(ahead.fold, &result.updates, expected);
                if self.config.shadow {
                    folds.shadow = Some(TimeSpan::since(started));
                }
                (FoldMode::BalDriven, outcome, folds, fold_ahead)
            }
            None => {
                let started = Instant::now();
                let undo = self.trie.apply_reversible(&result.updates);
                let root = self.trie.root();
                let outcome = self.keep_if_expected(undo, root, expected);
                let folds = Folds {
                    writes: Some(TimeSpan::since(started)),
                    ..Folds::default()
                };
                (FoldMode::Incremental, outcome, folds, Duration::ZERO)
            }
        };
        if outcome.is_ok() {
            self.head = result.hash;
        }
        self.publish(pending, mode, outcome, folds, fold_ahead);
    }

    /// Commits a BAL-driven fold, through the shadow check when it is on.
    fn commit_bal_fold(
        &mut self,
        fold: BalFold,
        executed: &[AccountUpdate],
        expected: Option<B256>,
    ) -> Result<B256, CommitError> {
        if !self.config.shadow {
            return self.keep_if_expected(fold.undo, fold.root, expected);
        }
        let (root, undo) = shadow_root(&mut self.trie, fold, executed).map_err(|divergence| {
            self.metrics.update(|m| m.divergences += 1);
            CommitError::Divergence(divergence)
        })?;
        self.keep_if_expected(undo, root, expected)
    }

    /// Keeps a change whose root matches the header; reverts it otherwise, and when a trie
    /// over a node source could not read what the change needed.
    fn keep_if_expected(
        &mut self,
        undo: crate::Undo,
        root: B256,
        expected: Option<B256>,
    ) -> Result<B256, CommitError> {
        if self.trie.is_backed()
            && let Err(error) = self.trie.try_root()
        {
            self.trie.revert(undo);
            return Err(CommitError::TrieRead(error.to_string()));
        }
        match expected {
            Some(expected) if expected != root => {
                self.trie.revert(undo);
                Err(CommitError::RootMismatch {
                    expected,
                    got: root,
                })
            }
            _ => Ok(root),
        }
    }

    fn publish(
        &mut self,
        pending: Pending,
        mode: FoldMode,
        outcome: Result<B256, CommitError>,
        folds: Folds,
        fold_ahead: Duration,
    ) {
        let times = FoldTimes {
            bal: folds.bal,
            writes: folds.writes,
            shadow: folds.shadow,
            decided: Instant::now(),
        };
        let committed = outcome.is_ok();
        let trie_changes = (committed && self.trie.is_backed()).then(|| {
            self.exported = Some(pending.request.hash);
            self.trie.take_changes()
        });
        self.metrics.update(|m| {
            m.fallbacks += u64::from(pending.fallback.is_some());
            if committed {
                match mode {
                    FoldMode::BalDriven => m.bal_folds += 1,
                    FoldMode::Incremental => m.incremental_folds += 1,
                }
                m.fold_ahead += fold_ahead;
            }
        });
        let verdict = Verdict {
            number: pending.request.number,
            hash: pending.request.hash,
            mode,
            outcome,
            fallback: pending.fallback,
            fold: times.folding(),
            times,
            fold_ahead,
            txs_executed: pending.txs_executed,
            trie_changes,
        };
        // The stage loop may already be gone (shutting down); nobody is left to tell.
        let _ = self.verdicts.send(verdict);
    }
}

/// The folds a block went through before its verdict ([`FoldTimes`] less the verdict).
#[derive(Clone, Copy, Default)]
struct Folds {
    bal: Option<TimeSpan>,
    writes: Option<TimeSpan>,
    shadow: Option<TimeSpan>,
}

impl Folds {
    fn bal(folded: TimeSpan) -> Self {
        Self {
            bal: Some(folded),
            ..Self::default()
        }
    }
}

/// Folds a block's BAL into the trie reversibly and hashes it; `None` without a BAL.
fn fold_request(
    trie: &mut StateTrie,
    request: &BlockRequest,
) -> Option<Result<Ahead, Inexpressible>> {
    let bal = request.access_list.as_deref()?;
    let started = Instant::now();
    Some(bal_updates(trie, bal, request.rules).map(|updates| {
        let undo = trie.apply_reversible(&updates);
        let root = trie.root();
        Ahead {
            hash: request.hash,
            fold: BalFold {
                root,
                updates,
                undo,
            },
            folded: TimeSpan::since(started),
        }
    }))
}
