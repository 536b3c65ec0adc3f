//! Replays a `geth export` chain on top of its `genesis.json`, checking every header's
//! commitments including the state root. Both files are read by the library's readers
//! ([`executor::chainfile`]); blocks stream from the file in batches, each announced to the
//! calculator before it executes so BAL folds can run ahead.

use std::path::{Path, PathBuf};

use alloy_primitives::{B256, Keccak256};
use executor::{
    chainfile::{ChainFile, read_genesis},
    chainstore::{BlockInput, ChainStore, DbStore, StateStore},
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
    let Some(dir) = &opts.db else {
        let genesis = read_genesis(genesis_path).map_err(FixtureError::from)?;
        let store = ChainStore::from_genesis(&genesis).with_retained_states(0);
        return import(store, chains, opts, report);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| ReplayError::Usage(format!("--db {}: {e}", dir.display())))?;
    let path = super::db_file(dir);
    let usage = |e: executor::chainstore::OpenError| {
        ReplayError::Usage(format!("--db {}: {e}", path.display()))
    };
    let digest = file_digest(genesis_path)?;
    // A database created from this very genesis file resumes from what it stores: the
    // alloc is neither parsed nor hashed again (a restart costs the cache, not the state).
    let resumed = match ChainStore::resume(&path, opts.cache_mb << 20) {
        Ok(store) if store_digest(&store)? == Some(digest) => Some(store),
        _ => None,
    };
    let store = match resumed {
        Some(store) => store,
        None => {
            let genesis = read_genesis(genesis_path).map_err(FixtureError::from)?;
            let store = ChainStore::open(&genesis, &path, opts.cache_mb << 20).map_err(usage)?;
            store
                .store()
                .db()
                .set_chain_info(GENESIS_FILE, digest.as_slice())
                .map_err(|e| usage(e.into()))?;
            store
        }
    };
    // A canonical export: nothing to reorg onto, so no writes are held in memory.
    import(store.with_retained_states(0), chains, opts, report)
}

/// The chain info row with the keccak of the genesis file a database was created from.
const GENESIS_FILE: &str = "genesis_file_keccak";

fn store_digest(store: &ChainStore<DbStore>) -> Result<Option<B256>, ReplayError> {
    let stored = store
        .store()
        .db()
        .chain_info(GENESIS_FILE)
        .map_err(|e| ReplayError::Usage(format!("--db: {e}")))?;
    Ok(stored
        .filter(|d| d.len() == 32)
        .map(|d| B256::from_slice(&d)))
}

/// The keccak of a file, read in chunks (a genesis of a large state is tens of megabytes).
fn file_digest(path: &Path) -> Result<B256, ReplayError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| ReplayError::Usage(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Keccak256::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut chunk).map_err(unreadable)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&chunk[..n]);
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
