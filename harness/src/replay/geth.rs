//! Replays a `geth export` chain on top of its `genesis.json`, checking every header's
//! commitments including the state root. Both files are read by the library's readers
//! ([`executor::chainfile`]); blocks stream from the file in batches, each announced to the
//! calculator before it executes so BAL folds can run ahead.

use std::path::{Path, PathBuf};

use executor::{
    chainfile::{ChainFile, read_genesis},
    chainstore::{BlockInput, ChainStore, StateStore},
};

use super::{ReplayError, ReplayOptions};
use crate::{fixtures::FixtureError, progress::Progress, report::Report};

/// Blocks announced to the calculator at once.
const BATCH: usize = 64;

pub(super) fn run(
    genesis_path: &Path,
    chains: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    let genesis = read_genesis(genesis_path).map_err(FixtureError::from)?;
    match &opts.db {
        None => {
            let store = ChainStore::from_genesis(&genesis).with_retained_states(0);
            import(store, chains, opts, report)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| ReplayError::Usage(format!("--db {}: {e}", dir.display())))?;
            let path = super::db_file(dir);
            let store = ChainStore::open(&genesis, &path, opts.cache_mb << 20)
                .map_err(|e| ReplayError::Usage(format!("--db {}: {e}", path.display())))?
                // A canonical export: nothing to reorg onto, so no writes are held in memory.
                .with_retained_states(0);
            import(store, chains, opts, report)
        }
    }
}

/// Imports every chain file into `store`, skipping the blocks it already holds (a database
/// resumed at its checkpoint).
fn import<S: StateStore>(
    store: ChainStore<S>,
    chains: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    let mut store = store.with_tier(opts.tier).with_commitment(opts.commitment);
    let resumed_at = store.header(&store.head()).map_or(0, |h| h.number);
    let mut resumed = 0u64;
    let lane = report.lane(opts.commitment, opts.tier);
    let total = chains
        .iter()
        .map(|path| ChainFile::count(path).unwrap_or(0))
        .sum();
    let progress = Progress::new(total, "blocks");
    for path in chains {
        let mut file = match ChainFile::open(path) {
            Ok(file) => file,
            Err(e) => {
                report.record(
                    path.display().to_string(),
                    Err(FixtureError::from(e).into()),
                );
                continue;
            }
        };
        tracing::debug!(chain = %path.display(), "chain export");
        loop {
            let mut blocks = Vec::with_capacity(BATCH);
            let mut unreadable = None;
            let mut read = 0;
            for block in file.by_ref().take(BATCH) {
                read += 1;
                match block {
                    // Already committed before a restart.
                    Ok(block) if block.header.number <= resumed_at => {
                        resumed += 1;
                        progress.inc(1);
                    }
                    Ok(block) => blocks.push(block),
                    Err(e) => unreadable = Some(e),
                }
            }
            if read == 0 {
                break;
            }
            let inputs: Vec<BlockInput> = blocks
                .iter()
                .map(|block| BlockInput {
                    block,
                    access_list: None,
                    hash: None,
                })
                .collect();
            let mut failed = false;
            for (block, imported) in blocks.iter().zip(store.import_batch(&inputs)) {
                progress.inc(1);
                let name = format!("{}#{}", path.display(), block.header.number);
                match imported {
                    Ok(done) => {
                        report.record_import(&lane, name, &done);
                        report.pass();
                    }
                    Err(e) => {
                        // Every later block builds on this one: stop this chain here.
                        report.fail(name, e.to_string());
                        failed = true;
                        break;
                    }
                }
            }
            if let Some(e) = unreadable {
                report.record(
                    path.display().to_string(),
                    Err(FixtureError::from(e).into()),
                );
                break;
            }
            if failed {
                break;
            }
        }
    }
    if resumed > 0 {
        let name = format!("blocks up to {resumed_at}");
        report.skip_many(resumed as usize, name, "already in the database");
        report.note(format!(
            "resumed at block {resumed_at}: {resumed} blocks already in the database skipped, \
             the rest executed"
        ));
    }
    report.add_commitment(opts.commitment, &store.metrics());
    Ok(())
}
