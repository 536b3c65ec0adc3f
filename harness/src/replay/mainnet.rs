//! Replays real mainnet blocks recorded with only their touched pre-state.
//!
//! What is checked: the transactions root (our decoding), gas used, the logs bloom, and the
//! receipts root from Byzantium on. Not checked: the state root (the pre-state is partial), and
//! pre-Byzantium receipts roots (receipts embed intermediate state roots of the full state).
//! RPC blocks list ommers by hash only, so ommer rewards are not applied; rewards happen after
//! the last transaction and touch none of the checked fields.

use std::{path::PathBuf, time::Instant};

use alloy_consensus::proofs::calculate_transaction_root;
use executor::{StateView, block, chain::ChainSpec};

use super::{Exec, ReplayError, ReplayOptions};
use crate::{
    fixtures::{mainnet, sidecar},
    report::Report,
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
    report.note("mainnet: state root not checked (partial pre-state); receipts root checked from Byzantium on");
    for dir in block_dirs(paths)? {
        let name = format!(
            "mainnet/{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        match replay_one(&chain, &dir, opts, report) {
            Ok(()) => report.pass(),
            Err(reason) => report.fail(name, reason),
        }
    }
    Ok(())
}

fn replay_one(
    chain: &ChainSpec,
    dir: &std::path::Path,
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), String> {
    let rec = mainnet::load(dir).map_err(|e| e.to_string())?;
    let header = &rec.block.header;
    let tx_root = calculate_transaction_root(&rec.block.body.transactions);
    if tx_root != header.transactions_root {
        return Err(format!(
            "transactions root {tx_root}, header says {}",
            header.transactions_root
        ));
    }
    let view = StateView {
        world: &rec.world,
        hashes: &rec.block_hashes,
    };
    let started = Instant::now();
    let outcome = match (opts.exec, &opts.bal_dir) {
        (Exec::Parallel, Some(bal_dir)) => {
            let listed = sidecar::load(bal_dir, header.number, header.hash_slow())
                .map_err(|e| e.to_string())?;
            block::parallel::execute_parallel(chain, &rec.block, view, &listed)
        }
        _ => block::execute(chain, &rec.block, view),
    }
    .map_err(|e| e.to_string())?;
    report.timing.exec_ms += started.elapsed().as_secs_f64() * 1e3;
    report.add_gas(outcome.gas_used);
    outcome
        .verify(
            chain,
            header,
            block::receipts_have_status(chain, header.number),
        )
        .map_err(|e| e.to_string())
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
