//! The demo chain replayed in every commitment mode on every tier side by side in one process,
//! so the timings compare (the machine is shared and noisy). Blocks arrive a chunk at a time
//! from the [`BlockSource`]; every run imports the chunk before it is dropped, and only the
//! imports are timed, not the sealing.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use commitment::pipeline::Metrics;
use executor::{
    block::BlockError,
    chainstore::{BlockInput, ChainStore, DbStore, Imported},
    submodule::Tier,
};
use serde::Serialize;

use super::{BlockSource, DemoError, DemoGenesis, DemoOptions, export::ChainExport};
use crate::{phases::Lane, pictures::SummaryBar, progress::Progress, report::Report, tier};

/// Blocks sealed and imported at a time: enough for the BAL-driven fold to run ahead within a
/// batch, few enough that memory does not depend on the chain's length.
const CHUNK: u64 = 32;

/// One row of the demo's table: the whole chain imported in one commitment mode on one tier.
/// The report's `runs` key holds one per row, so a chart can be drawn from the JSON alone.
#[derive(Clone, Debug, Serialize)]
pub struct DemoRun {
    /// The commitment mode (`bal_driven`, `shadow` in JSON).
    #[serde(flatten)]
    pub config: commitment::Config,
    /// Where contract code ran (`interpret` or `compile` in JSON).
    #[serde(with = "tier")]
    pub tier: Tier,
    /// Blocks imported, and those of them rejected (0 on a sound run).
    pub blocks: u64,
    pub failed: u64,
    /// Execution, summed over blocks.
    pub exec_ms: f64,
    /// The calculator's folds, summed over blocks (they overlap execution when BAL-driven).
    pub commit_ms: f64,
    /// Time spent importing: what the mode and tier cost end to end.
    pub wall_ms: f64,
    /// How long BAL-driven roots were ready before their block's execution ended, summed.
    pub fold_ahead_ms: f64,
    pub bal_folds: u64,
    pub fallbacks: u64,
    pub divergences: u64,
    /// The root committed for the last block imported: every run of one chain must agree.
    pub state_root: B256,
    /// Where the state lived: `memory`, or `redb` (a chain database, one commit per block).
    pub store: &'static str,
}

impl DemoRun {
    /// Wall time over the longer of execution and commitment: 1.0 is perfect overlap, 2.0
    /// the two one after the other.
    pub fn wall_over_max(&self) -> f64 {
        self.wall_ms / self.exec_ms.max(self.commit_ms).max(1e-6)
    }

    /// This row's bar in the summary chart: its wall time, under its mode and tier.
    pub fn summary_bar(&self) -> SummaryBar {
        let mode = match self.store {
            MEMORY => self.config.to_string(),
            store => format!("{} ({store})", self.config),
        };
        SummaryBar {
            mode,
            tier: tier::name(self.tier).into(),
            wall_ms: self.wall_ms,
        }
    }
}

/// Where a run keeps the chain's state.
enum RunStore {
    Memory(Box<ChainStore>),
    Database(Box<ChainStore<DbStore>>),
}

impl RunStore {
    fn import_batch(&mut self, inputs: &[BlockInput<'_>]) -> Vec<Result<Imported, BlockError>> {
        match self {
            Self::Memory(store) => store.import_batch(inputs),
            Self::Database(store) => store.import_batch(inputs),
        }
    }

    fn metrics(&self) -> Metrics {
        match self {
            Self::Memory(store) => store.metrics(),
            Self::Database(store) => store.metrics(),
        }
    }
}

/// One run in progress: its chain store and what its imports cost so far.
struct Run {
    row: DemoRun,
    store: RunStore,
    /// Time spent importing so far: the run's clock, which resumes with each chunk.
    wall: Duration,
    /// Whether this run's blocks are the report's gas, timing and commitment counters (every
    /// run's blocks get block lines).
    primary: bool,
}

/// Replays the chain `source` seals in every mode of `opts.modes` on every tier of
/// `opts.tiers`, appending it to `export` too. Every block of every run is a case with a block
/// line; the report's gas, timing and commitment counters are those of `opts.primary` on the
/// first tier, its divergences those of all runs.
pub(super) fn replay_all(
    opts: &DemoOptions,
    start: &DemoGenesis,
    source: &mut BlockSource,
    mut export: Option<&mut ChainExport>,
    report: &mut Report,
) -> Result<Vec<DemoRun>, DemoError> {
    let mut runs = Vec::new();
    if let Some(dir) = &opts.db {
        runs.push(database_run(opts, start, dir)?);
    }
    for (t, &tier) in opts.tiers.iter().enumerate() {
        for &config in &opts.modes {
            let store = ChainStore::new(
                start.chain.clone(),
                start.genesis.clone(),
                start.world.clone(),
            )?
            .with_retained_states(0)
            .with_exec(opts.exec)
            .with_tier(tier)
            .with_commitment(config);
            runs.push(Run {
                row: DemoRun::new(config, tier, start.genesis.state_root, MEMORY),
                store: RunStore::Memory(Box::new(store)),
                wall: Duration::ZERO,
                primary: t == 0 && config == opts.primary,
            });
        }
    }
    let progress = Progress::new(source.remaining(), "blocks");
    let mut sealing = Duration::ZERO;
    loop {
        let started = Instant::now();
        let chunk = source.next_chunk(CHUNK)?;
        sealing += started.elapsed();
        if chunk.is_empty() {
            break;
        }
        tracing::debug!(blocks = chunk.len(), "demo chunk sealed");
        if let Some(export) = export.as_deref_mut() {
            export.append(&chunk)?;
        }
        let inputs: Vec<BlockInput> = chunk
            .iter()
            .map(|sealed| BlockInput {
                block: &sealed.block,
                access_list: Some(&sealed.access_list),
                hash: None,
            })
            .collect();
        for run in &mut runs {
            run.import(&inputs, report);
        }
        progress.inc(chunk.len() as u64);
    }
    drop(progress);

    let rows: Vec<DemoRun> = runs.into_iter().map(|run| run.finish(report)).collect();
    print_table(&rows);
    println!(
        "demo: blocks sealed in {:.1} ms (not in the times above)",
        sealing.as_secs_f64() * 1e3
    );
    Ok(rows)
}

/// The primary mode on the first tier through a fresh chain database in `dir`: its blocks
/// count as cases, but draw no block lines (the memory run of the same mode draws them).
fn database_run(opts: &DemoOptions, start: &DemoGenesis, dir: &Path) -> Result<Run, DemoError> {
    let path = crate::replay::db_file(dir);
    let failed = |source| DemoError::Database {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir)
        .and_then(|()| match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .map_err(|source| DemoError::Export {
            dir: dir.to_path_buf(),
            source,
        })?;
    let (chain, genesis, world) = (
        start.chain.clone(),
        start.genesis.clone(),
        start.world.clone(),
    );
    let tier = opts.tiers.first().copied().unwrap_or_default();
    let store = ChainStore::open_with(chain, genesis, world, &path, DEMO_CACHE_BYTES)
        .map_err(failed)?
        .with_exec(opts.exec)
        .with_tier(tier)
        .with_commitment(opts.primary);
    Ok(Run {
        row: DemoRun::new(opts.primary, tier, start.genesis.state_root, REDB),
        store: RunStore::Database(Box::new(store)),
        wall: Duration::ZERO,
        primary: false,
    })
}

/// The demo's database read cache: its whole state fits.
const DEMO_CACHE_BYTES: u64 = 64 << 20;
const MEMORY: &str = "memory";
const REDB: &str = "redb";

impl DemoRun {
    fn new(
        config: commitment::Config,
        tier: Tier,
        genesis_root: B256,
        store: &'static str,
    ) -> Self {
        Self {
            config,
            tier,
            blocks: 0,
            failed: 0,
            exec_ms: 0.0,
            commit_ms: 0.0,
            wall_ms: 0.0,
            fold_ahead_ms: 0.0,
            bal_folds: 0,
            fallbacks: 0,
            divergences: 0,
            state_root: genesis_root,
            store,
        }
    }
}

impl Run {
    /// Imports one chunk, recording every block as a case with its block line (and, for the
    /// primary run, its gas and time in the report's totals).
    fn import(&mut self, inputs: &[BlockInput<'_>], report: &mut Report) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let started = Instant::now();
        // This run's clock resumes where its previous chunk left it.
        let lane = Lane::resumed(self.row.config, self.row.tier, started, self.wall);
        let results = self.store.import_batch(inputs);
        self.wall += started.elapsed();
        let tier = tier::name(self.row.tier);
        for (input, result) in inputs.iter().zip(results) {
            let name = format!(
                "demo[{}, {tier}, {}] block {}",
                self.row.config, self.row.store, input.block.header.number
            );
            self.row.blocks += 1;
            match result {
                Ok(done) => {
                    self.row.exec_ms += ms(done.exec);
                    self.row.commit_ms += ms(done.verdict.fold);
                    if let Ok(root) = &done.verdict.outcome {
                        self.row.state_root = *root;
                    }
                    if self.primary {
                        report.record_import(&lane, name, &done);
                    } else if self.row.store == MEMORY {
                        report.add_block_line(&lane, name, &done);
                    }
                    report.pass();
                }
                Err(e) => {
                    self.row.failed += 1;
                    report.fail(name, e.to_string());
                }
            }
        }
    }

    /// The finished row, with the calculator's counters; the primary run's go to the report.
    fn finish(self, report: &mut Report) -> DemoRun {
        let metrics = self.store.metrics();
        let mut row = self.row;
        row.wall_ms = self.wall.as_secs_f64() * 1e3;
        row.fold_ahead_ms = metrics.fold_ahead.as_secs_f64() * 1e3;
        row.bal_folds = metrics.bal_folds;
        row.fallbacks = metrics.fallbacks;
        row.divergences = metrics.divergences;
        if self.primary {
            report.add_commitment(row.config, &metrics);
            report.timing.wall_ms = row.wall_ms;
        } else {
            report.divergences += metrics.divergences;
        }
        let tier = tier::name(row.tier);
        tracing::info!(mode = %row.config, tier, wall_ms = row.wall_ms, "demo run done");
        row
    }
}

/// The table: one line per mode and tier.
fn print_table(rows: &[DemoRun]) {
    println!(
        "{:<28} {:<9} {:<6} {:>9} {:>9} {:>9} {:>10} {:>9} {:>6} {:>9}",
        "mode",
        "tier",
        "store",
        "exec ms",
        "commit ms",
        "wall ms",
        "ahead ms",
        "wall/max",
        "bal",
        "fallback"
    );
    for row in rows {
        println!(
            "{:<28} {:<9} {:<6} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {:>9.2} {:>6} {:>9}",
            row.config.to_string(),
            tier::name(row.tier),
            row.store,
            row.exec_ms,
            row.commit_ms,
            row.wall_ms,
            row.fold_ahead_ms,
            row.wall_over_max(),
            row.bal_folds,
            row.fallbacks,
        );
    }
}
