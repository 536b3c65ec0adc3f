//! The demo chain replayed in every commitment mode side by side in one process, so the
//! timings compare (the machine is shared and noisy). Blocks arrive a chunk at a time from the
//! [`BlockSource`]; every mode imports the chunk before it is dropped, and only the imports are
//! timed, not the sealing.

use std::time::{Duration, Instant};

use executor::chainstore::{BlockInput, ChainStore};

use super::{BlockSource, DemoError, DemoGenesis, DemoOptions, export::ChainExport};
use crate::{progress::Progress, report::Report};

/// Blocks sealed and imported at a time: enough for the BAL-driven fold to run ahead within a
/// batch, few enough that memory does not depend on the chain's length.
const CHUNK: u64 = 32;

/// One commitment mode's replay: its chain store and what its imports cost so far.
struct ModeRun {
    config: commitment::Config,
    store: ChainStore,
    exec: Duration,
    commit: Duration,
    /// Time spent importing (the mode's wall time).
    wall: Duration,
}

/// Replays the chain `source` seals in each of `opts.modes`, appending it to `export` too.
/// Every block of every mode is a case; the report's per-block lines, timing and commitment
/// counters are those of `opts.primary`, its divergences those of all modes.
pub(super) fn replay_all(
    opts: &DemoOptions,
    start: &DemoGenesis,
    source: &mut BlockSource,
    mut export: Option<&mut ChainExport>,
    report: &mut Report,
) -> Result<(), DemoError> {
    let mut runs = opts
        .modes
        .iter()
        .map(|&config| {
            let store = ChainStore::new(
                start.chain.clone(),
                start.genesis.clone(),
                start.world.clone(),
            )?
            .with_retained_states(0)
            .with_exec(opts.exec)
            .with_commitment(config);
            Ok(ModeRun {
                config,
                store,
                exec: Duration::ZERO,
                commit: Duration::ZERO,
                wall: Duration::ZERO,
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    let progress = Progress::new(source.remaining(), "blocks");
    let mut sealing = Duration::ZERO;
    loop {
        let started = Instant::now();
        let chunk = source.next_chunk(CHUNK)?;
        sealing += started.elapsed();
        if chunk.is_empty() {
            break;
        }
        if let Some(export) = export.as_deref_mut() {
            export.append(&chunk)?;
        }
        let inputs: Vec<BlockInput> = chunk
            .iter()
            .map(|sealed| BlockInput {
                block: &sealed.block,
                access_list: Some(&sealed.access_list),
            })
            .collect();
        for run in &mut runs {
            run.import(&inputs, opts.primary, report);
        }
        progress.inc(chunk.len() as u64);
    }
    drop(progress);

    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>10} {:>9} {:>6} {:>9}",
        "mode", "exec ms", "commit ms", "wall ms", "ahead ms", "wall/max", "bal", "fallback"
    );
    for run in &runs {
        let metrics = run.store.metrics();
        if run.config == opts.primary {
            report.add_commitment(run.config, &metrics);
            report.timing.wall_ms = run.wall.as_secs_f64() * 1e3;
        } else {
            report.divergences += metrics.divergences;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:<28} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {:>9.2} {:>6} {:>9}",
            run.config.to_string(),
            ms(run.exec),
            ms(run.commit),
            ms(run.wall),
            ms(metrics.fold_ahead),
            run.wall.as_secs_f64() / run.exec.max(run.commit).as_secs_f64().max(1e-9),
            metrics.bal_folds,
            metrics.fallbacks,
        );
    }
    println!(
        "demo: blocks sealed in {:.1} ms (not in the times above)",
        sealing.as_secs_f64() * 1e3
    );
    Ok(())
}

impl ModeRun {
    /// Imports one chunk, recording every block as a case (and, for the primary mode, its
    /// block line).
    fn import(
        &mut self,
        inputs: &[BlockInput<'_>],
        primary: commitment::Config,
        report: &mut Report,
    ) {
        let started = Instant::now();
        let results = self.store.import_batch(inputs);
        self.wall += started.elapsed();
        for (input, result) in inputs.iter().zip(results) {
            let name = format!("demo[{}] block {}", self.config, input.block.header.number);
            match result {
                Ok(done) => {
                    self.exec += done.exec;
                    self.commit += done.verdict.fold;
                    if self.config == primary {
                        report.record_import(name, &done);
                    }
                    report.pass();
                }
                Err(e) => report.fail(name, e.to_string()),
            }
        }
    }
}
