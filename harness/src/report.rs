//! The report every subcommand produces: counts, failures with one-line reasons, gas and timing,
//! printed as a summary and optionally written as JSON (`--json FILE`).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use commitment::{Config, TimeSpan, Verdict, pipeline::Metrics};
use executor::submodule::runtime::{CacheStats, ModuleCache, TierUp, TierUpCounts};
use executor::{
    block::{ReceiptsCheck, Speculation},
    chainstore::Imported,
    submodule::Tier,
};
use serde::{Deserialize, Serialize};

use crate::phases::{Lane, PhaseTimes};

/// One failed case: its name and a one-line reason.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub name: String,
    pub reason: String,
}

/// Why a case did not pass.
#[derive(Debug)]
pub enum CaseError {
    /// Its input could not be read or is not JSON at all: listed apart from the failures, and
    /// the run exits 2 (bad input, not a wrong result).
    Unreadable(String),
    /// It ran, or was read, and is wrong.
    Failed(String),
}

impl From<crate::fixtures::FixtureError> for CaseError {
    fn from(e: crate::fixtures::FixtureError) -> Self {
        if e.is_unreadable() {
            Self::Unreadable(e.to_string())
        } else {
            Self::Failed(e.to_string())
        }
    }
}

impl From<String> for CaseError {
    fn from(reason: String) -> Self {
        Self::Failed(reason)
    }
}

/// A skipped case and the reason it is skipped.
#[derive(Clone, Debug, Serialize)]
pub struct Skip {
    pub name: String,
    pub reason: String,
}

/// Wall-clock split of a run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timing {
    pub exec_ms: f64,
    pub commit_ms: f64,
    pub wall_ms: f64,
}

/// One imported block as the commitment pipeline handled it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockLine {
    pub name: String,
    pub number: u64,
    /// The commitment configuration it was imported with (a demo runs all four).
    pub commitment: Config,
    /// Where contract code ran (a demo runs both tiers; reports written before this field
    /// existed ran on the interpreter).
    #[serde(with = "crate::tier", default)]
    pub tier: Tier,
    /// The root the calculator committed (of the partial state, for mainnet recordings).
    pub state_root: B256,
    /// `bal-driven` or `incremental`.
    pub mode: String,
    pub exec_ms: f64,
    pub commit_ms: f64,
    /// How long the BAL-driven root was ready before execution ended.
    pub fold_ahead_ms: f64,
    /// Why a block with a BAL was folded from its writes instead.
    pub fallback: Option<String>,
    /// How the receipts root was checked: `status`, `post-state roots` (before Byzantium, on
    /// the full state) or unchecked (before Byzantium, on a partial state).
    pub receipts: String,
    /// When execution, each fold and the verdict happened, in ms since the run's start.
    pub times: PhaseTimes,
    /// Optimistic execution: transactions executed more than once (0 for the other
    /// schedules; reports written before this field existed had none).
    #[serde(default)]
    pub reexecutions: u32,
    /// Optimistic execution: 1 when the block kept conflicting and finished sequentially.
    #[serde(default)]
    pub fallbacks: u32,
}

/// The calculator's configuration and counters, summed over the run.
#[derive(Clone, Debug, Serialize)]
pub struct CommitmentSummary {
    #[serde(flatten)]
    pub config: Config,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// The outcome of one subcommand run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub failures: Vec<Failure>,
    pub skips: Vec<Skip>,
    /// Inputs that could not be read (not counted as cases): any makes the exit code 2.
    pub unreadable: Vec<Failure>,
    /// Gas executed across all cases.
    pub gas: u64,
    pub timing: Timing,
    /// State-root divergences between commitment paths (shadow mode); 0 on the serial path.
    pub divergences: u64,
    /// Free-form notes (e.g. what a format cannot check).
    pub notes: Vec<String>,
    /// Per imported block: fold mode and timings (replay and demo).
    pub blocks: Vec<BlockLine>,
    /// The commitment pipeline's settings and counters (replay and demo).
    pub commitment: Option<CommitmentSummary>,
    /// The demo's runs, one per commitment mode and tier (absent from other reports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<crate::demo::DemoRun>,
    /// What the `auto` tier did during this run (absent when it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_up: Option<TierUpCounts>,
    /// What the compiled modules' cache did during this run (absent when nothing compiled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_cache: Option<CacheStats>,
    #[serde(skip)]
    started: Option<Instant>,
    /// The `auto` tier's counts when the run started.
    #[serde(skip)]
    tier_up_before: TierUpCounts,
    /// The module cache's counts when the run started.
    #[serde(skip)]
    module_cache_before: CacheStats,
}

impl Report {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_string(),
            total: 0,
            passed: 0,
            failed: 0,
            skipped: 0,
            failures: Vec::new(),
            skips: Vec::new(),
            unreadable: Vec::new(),
            gas: 0,
            timing: Timing::default(),
            divergences: 0,
            notes: Vec::new(),
            blocks: Vec::new(),
            commitment: None,
            runs: Vec::new(),
            tier_up: None,
            module_cache: None,
            started: Some(Instant::now()),
            tier_up_before: TierUp::global_counts().unwrap_or_default(),
            module_cache_before: ModuleCache::global_stats().unwrap_or_default(),
        }
    }

    pub fn pass(&mut self) {
        self.total += 1;
        self.passed += 1;
    }

    pub fn fail(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.total += 1;
        self.failed += 1;
        // Reasons are one line by contract; nested error chains are joined.
        let reason: String = reason.into().lines().collect::<Vec<_>>().join(" | ");
        self.failures.push(Failure {
            name: name.into(),
            reason,
        });
    }

    /// Counts a case by its result: passed, failed, or (its input unreadable) listed apart.
    pub fn record(&mut self, name: impl Into<String>, result: Result<(), CaseError>) {
        match result {
            Ok(()) => self.pass(),
            Err(CaseError::Failed(reason)) => self.fail(name, reason),
            Err(CaseError::Unreadable(reason)) => self.unreadable.push(Failure {
                name: name.into(),
                reason: reason.lines().collect::<Vec<_>>().join(" | "),
            }),
        }
    }

    pub fn skip(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.skip_many(1, name, reason);
    }

    /// `count` cases skipped for one reason, listed once (a resumed import skips a whole
    /// prefix of its chain).
    pub fn skip_many(&mut self, count: usize, name: impl Into<String>, reason: impl Into<String>) {
        self.total += count;
        self.skipped += count;
        self.skips.push(Skip {
            name: name.into(),
            reason: reason.into(),
        });
    }

    /// Adds executed gas; saturates because suites of gas-limit tests sum past u64.
    pub fn add_gas(&mut self, gas: u64) {
        self.gas = self.gas.saturating_add(gas);
    }

    /// The lane of a run imported with `config` on `tier`: its clock starts with the report.
    pub fn lane(&self, config: Config, tier: Tier) -> Lane {
        Lane::starting(config, tier, self.started.unwrap_or_else(Instant::now))
    }

    /// Records an imported block: its gas, its exec and commit time, and its block line.
    pub fn record_import(&mut self, lane: &Lane, name: impl Into<String>, imported: &Imported) {
        self.add_gas(imported.gas_used);
        self.push_timed(imported_line(lane, name, imported));
    }

    /// Adds an imported block's line only, not its gas or time: a block the demo also
    /// imported in a mode or on a tier other than the run its totals are of.
    pub fn add_block_line(&mut self, lane: &Lane, name: impl Into<String>, imported: &Imported) {
        self.blocks.push(imported_line(lane, name, imported));
    }

    /// Records a block's execution and the calculator's verdict on it.
    pub fn record_fold(
        &mut self,
        lane: &Lane,
        name: impl Into<String>,
        number: u64,
        exec: TimeSpan,
        verdict: &Verdict,
        receipts: ReceiptsCheck,
    ) {
        self.push_timed(block_line(
            lane,
            name,
            number,
            exec,
            verdict,
            receipts,
            Speculation::default(),
        ));
    }

    /// Adds `line`, counting its exec and commit time into the totals.
    fn push_timed(&mut self, line: BlockLine) {
        tracing::debug!(
            number = line.number,
            mode = %line.mode,
            exec_ms = line.exec_ms,
            commit_ms = line.commit_ms,
            fold_ahead_ms = line.fold_ahead_ms,
            "block imported"
        );
        self.timing.exec_ms += line.exec_ms;
        self.timing.commit_ms += line.commit_ms;
        self.blocks.push(line);
    }

    /// Adds one calculator's counters (a replay may run one per test case).
    pub fn add_commitment(&mut self, config: Config, metrics: &Metrics) {
        let summary = self.commitment.get_or_insert(CommitmentSummary {
            config,
            metrics: Metrics::default(),
        });
        summary.metrics += *metrics;
        self.divergences += metrics.divergences;
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Stamps wall time, prints failures and the contract's last line, writes JSON if asked.
    pub fn finish(&mut self, json: Option<&Path>) -> std::io::Result<()> {
        // A subcommand that timed its own replay (demo) keeps that figure.
        if let Some(start) = self.started.filter(|_| self.timing.wall_ms == 0.0) {
            self.timing.wall_ms = start.elapsed().as_secs_f64() * 1e3;
        }
        for f in self.failures.iter().take(50) {
            println!("FAIL {}: {}", f.name, f.reason);
        }
        if self.failures.len() > 50 {
            println!(
                "... and {} more failures (see --json)",
                self.failures.len() - 50
            );
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        // Only where the tiers were used: the CLI configures both for every subcommand.
        self.tier_up = TierUp::global_counts()
            .map(|now| now.since(&self.tier_up_before))
            .filter(|t| t.compiled_frames + t.interpreted_frames > 0);
        self.module_cache = ModuleCache::global_stats()
            .map(|now| now.since(&self.module_cache_before))
            .filter(|c| c.hits + c.misses > 0);
        if let Some(c) = &self.module_cache {
            println!(
                "module cache: {} hits, {} misses, {} compiles ({:.1} ms), {} evictions in {} \
                 resets, {:.1} of {:.1} MiB resident (estimated)",
                c.hits,
                c.misses,
                c.compiles,
                c.compile_us as f64 / 1e3,
                c.evictions,
                c.resets,
                c.resident_bytes as f64 / (1 << 20) as f64,
                c.budget as f64 / (1 << 20) as f64
            );
        }
        if let Some(t) = &self.tier_up {
            println!(
                "auto tier: {} frames compiled, {} interpreted; {} compiled in the background \
                 ({:.1} ms), {} refused, {} requests dropped",
                t.compiled_frames,
                t.interpreted_frames,
                t.compiles,
                t.compile_us as f64 / 1e3,
                t.refused,
                t.dropped
            );
        }
        if let Some(CommitmentSummary { config, metrics: m }) = &self.commitment {
            println!(
                "commitment: {config}: {} bal folds, {} incremental, {} fallbacks, {} early failures, fold ahead {:.1} ms",
                m.bal_folds,
                m.incremental_folds,
                m.fallbacks,
                m.early_failures,
                m.fold_ahead.as_secs_f64() * 1e3
            );
            if m.recorded_bals > 0 {
                println!(
                    "commitment: {} blocks came without a BAL (before Amsterdam, or no sidecar): \
                     their BAL folds used the list recorded while executing, so they ran after \
                     execution, not beside it",
                    m.recorded_bals
                );
            }
            if m.without_bal > 0 {
                println!(
                    "commitment: {} blocks had no BAL to fold from and were folded from their writes",
                    m.without_bal
                );
            }
        }
        println!(
            "gas {}  exec {:.1} ms  commit {:.1} ms  wall {:.1} ms  divergences {}",
            self.gas,
            self.timing.exec_ms,
            self.timing.commit_ms,
            self.timing.wall_ms,
            self.divergences
        );
        // One line each on stderr, as every other bad input is reported.
        for u in &self.unreadable {
            eprintln!("error: unreadable input: {}", u.reason);
        }
        if let Some(path) = json {
            std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        }
        println!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        Ok(())
    }

    /// Exit code by contract: 0 all passed, 1 some failed, 2 some input was unreadable.
    pub fn exit_code(&self) -> i32 {
        if !self.unreadable.is_empty() {
            2
        } else {
            i32::from(self.failed > 0)
        }
    }

    /// Whether the run found nothing to do: no case at all, not even an unreadable file
    /// (an empty folder, a file of no tests): a usage error, never a pass.
    pub fn found_nothing(&self) -> bool {
        self.total == 0 && self.unreadable.is_empty()
    }
}

/// When an import's execution ran.
fn exec_span(imported: &Imported) -> TimeSpan {
    TimeSpan {
        start: imported.exec_started,
        end: imported.exec_started + imported.exec,
    }
}

fn block_line(
    lane: &Lane,
    name: impl Into<String>,
    number: u64,
    exec: TimeSpan,
    verdict: &Verdict,
    receipts: ReceiptsCheck,
    speculation: Speculation,
) -> BlockLine {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    BlockLine {
        name: name.into(),
        number,
        commitment: lane.config,
        tier: lane.tier,
        state_root: verdict.outcome.clone().unwrap_or_default(),
        mode: verdict.mode.to_string(),
        exec_ms: ms(exec.duration()),
        commit_ms: ms(verdict.fold),
        fold_ahead_ms: ms(verdict.fold_ahead),
        fallback: verdict.fallback.as_ref().map(ToString::to_string),
        receipts: receipts.to_string(),
        times: lane.phases(exec, verdict),
        reexecutions: speculation.reexecutions,
        fallbacks: u32::from(speculation.fell_back),
    }
}

/// The block line of an imported block.
fn imported_line(lane: &Lane, name: impl Into<String>, imported: &Imported) -> BlockLine {
    block_line(
        lane,
        name,
        imported.number,
        exec_span(imported),
        &imported.verdict,
        imported.outcome.receipts_check,
        imported.outcome.speculation,
    )
}
