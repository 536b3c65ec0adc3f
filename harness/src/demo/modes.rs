//! The demo chain replayed once per commitment mode, side by side in one process so the
//! timings compare (the machine is shared and noisy).

use std::time::{Duration, Instant};

use executor::chainstore::{BlockInput, ChainStore};

use super::{DemoChain, DemoError, DemoOptions};
use crate::report::Report;

/// Replays `blocks` with their access lists in each of `opts.modes`. Every block of every mode
/// is a case; the report's per-block lines, timing and commitment counters are those of
/// `opts.primary`, its divergences those of all modes.
pub(super) fn replay_all(
    opts: &DemoOptions,
    demo: &DemoChain,
    report: &mut Report,
) -> Result<(), DemoError> {
    let DemoChain {
        chain,
        genesis,
        world,
        blocks,
        access_lists,
        ..
    } = demo;
    let inputs: Vec<BlockInput> = blocks
        .iter()
        .zip(access_lists)
        .map(|(block, list)| BlockInput {
            block,
            access_list: Some(list),
        })
        .collect();
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>10} {:>9} {:>6} {:>9}",
        "mode", "exec ms", "commit ms", "wall ms", "ahead ms", "wall/max", "bal", "fallback"
    );
    for &config in &opts.modes {
        let mut store = ChainStore::new(chain.clone(), genesis.clone(), world.clone())?
            .with_retained_states(0)
            .with_exec(opts.exec)
            .with_commitment(config);
        let started = Instant::now();
        let results = store.import_batch(&inputs);
        let wall = started.elapsed();
        let (mut exec, mut commit) = (Duration::ZERO, Duration::ZERO);
        let primary = config == opts.primary;
        for (block, result) in blocks.iter().zip(results) {
            let name = format!("demo[{config}] block {}", block.header.number);
            match result {
                Ok(done) => {
                    exec += done.exec;
                    commit += done.verdict.fold;
                    if primary {
                        report.record_import(name, &done);
                    }
                    report.pass();
                }
                Err(e) => report.fail(name, e.to_string()),
            }
        }
        let metrics = store.metrics();
        if primary {
            report.add_commitment(config, &metrics);
            report.timing.wall_ms = wall.as_secs_f64() * 1e3;
        } else {
            report.divergences += metrics.divergences;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:<28} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {:>9.2} {:>6} {:>9}",
            config.to_string(),
            ms(exec),
            ms(commit),
            ms(wall),
            ms(metrics.fold_ahead),
            wall.as_secs_f64() / exec.max(commit).as_secs_f64().max(1e-9),
            metrics.bal_folds,
            metrics.fallbacks,
        );
    }
    Ok(())
}
