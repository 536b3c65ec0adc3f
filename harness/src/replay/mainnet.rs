//! Replays real mainnet blocks recorded with only their touched pre-state.
//!
//! What is checked: the transactions root (our decoding), gas used, the logs bloom, and the
//! receipts root from Byzantium on. Not checked: the state root (the pre-state is partial), and
//! pre-Byzantium receipts roots (receipts embed intermediate state roots of the full state).
//! The commitment pipeline still runs on each block (its BAL sidecar, with `--bal-dir`, drives
//! the BAL-driven fold and the shadow check); the root of the partial post-state is reported
//! per block, so runs in different modes can be compared.
//! RPC blocks list ommers by hash only, so ommer rewards are not applied; rewards happen after
//! the last transaction and touch none of the checked fields.

use std::{path::PathBuf, sync::Arc};

use executor::{chain::ChainSpec, chainstore::ChainStore};

use super::{Exec, ReplayError, ReplayOptions};
use crate::{
    fixtures::{mainnet, sidecar},
    progress::Progress,
    report::{CaseError, Report},
};

pub(super) fn run(
    paths: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    let chain = ChainSpec::mainnet();
    if opts.exec == Exec::Parallel && opts.bal_dir.is_none() {
        return Err(ReplayError::Usage(
            "--exec parallel on mainnet recordings needs --bal-dir (see `harness bal --record`)"
                .into(),
        ));
    }
    report.note("mainnet: state root not checked (partial pre-state); receipts root checked from Byzantium on (each block's line says)");
    let dirs = block_dirs(paths)?;
    let progress = Progress::new(dirs.len() as u64, "blocks");
    for dir in dirs {
        let name = format!(
            "mainnet/{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let result = replay_one(&chain, &dir, opts, report);
        report.record(name, result);
        progress.inc(1);
    }
    Ok(())
}

fn replay_one(
    chain: &ChainSpec,
    dir: &std::path::Path,
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), CaseError> {
    let rec = mainnet::load(dir)?;
    let header = &rec.block.header;
    // The sidecar drives parallel execution and the BAL-driven fold alike.
    let listed = match &opts.bal_dir {
        Some(dir) => Some(Arc::new(sidecar::load(
            dir,
            header.number,
            header.hash_slow(),
        )?)),
        None => None,
    };
    // The same stage as every chain, at the recording's partial pre-state: one store (and
    // calculator) per recording, the root of the partial post-state committed and reported.
    let parent_number = header.number.saturating_sub(1);
    let mut store = ChainStore::recorded(
        chain.clone(),
        header.parent_hash,
        parent_number,
        rec.world,
        rec.block_hashes,
    )
    .with_retained_states(0)
    .with_commitment(opts.commitment)
    .with_exec(opts.exec.into())
    .with_tier(opts.tier);
    let imported = store
        .import_with_access_list(&rec.block, listed.as_ref())
        .map_err(|e| e.to_string())?;
    let lane = report.lane(opts.commitment, opts.tier);
    report.record_import(&lane, format!("mainnet/{}", header.number), &imported);
    report.add_commitment(opts.commitment, &store.metrics());
    Ok(())
}

/// A mainnet recording directory, or the recording directories inside one, in block order.
pub fn block_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReplayError> {
    let mut dirs = Vec::new();
    for path in paths {
        if path.join("block.json").is_file() {
            dirs.push(path.clone());
        } else {
            let entries =
                std::fs::read_dir(path).map_err(|source| crate::fixtures::FixtureError::Io {
                    path: path.clone(),
                    source,
                })?;
            let mut found: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("block.json").is_file())
                .collect();
            // Numeric order: block directories are named by block number.
            found.sort_by_key(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(u64::MAX)
            });
            dirs.extend(found);
        }
    }
    Ok(dirs)
}
