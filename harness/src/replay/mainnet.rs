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

use super::ReplayError;
use crate::{fixtures::mainnet, report::Report};

pub(super) fn run(paths: &[PathBuf], report: &mut Report) -> Result<(), ReplayError> {
    let chain = ChainSpec::mainnet();
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
    report.note("mainnet: state root not checked (partial pre-state); receipts root checked from Byzantium on");
    for dir in dirs {
        let name = format!(
            "mainnet/{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        match replay_one(&chain, &dir, report) {
            Ok(()) => report.pass(),
            Err(reason) => report.fail(name, reason),
        }
    }
    Ok(())
}

fn replay_one(chain: &ChainSpec, dir: &std::path::Path, report: &mut Report) -> Result<(), String> {
    let rec = mainnet::load(dir).map_err(|e| e.to_string())?;
    let header = &rec.block.header;
    let tx_root = calculate_transaction_root(&rec.block.body.transactions);
    if tx_root != header.transactions_root {
        return Err(format!(
            "transactions root {tx_root}, header says {}",
            header.transactions_root
        ));
    }
    let started = Instant::now();
    let outcome = block::execute(
        chain,
        &rec.block,
        StateView {
            world: &rec.world,
            hashes: &rec.block_hashes,
        },
    )
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
