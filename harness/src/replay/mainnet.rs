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

use std::{path::PathBuf, sync::Arc, time::Instant};

use alloy_consensus::proofs::calculate_transaction_root;
use commitment::{BlockResult, Calculator, ExecEvent, StateTrie, TimeSpan};
use executor::{
    StateView,
    block::{self, ExecOptions, Watch},
    chain::ChainSpec,
    chainstore::block_request,
};

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
    let tx_root = calculate_transaction_root(&rec.block.body.transactions);
    if tx_root != header.transactions_root {
        return Err(CaseError::Failed(format!(
            "transactions root {tx_root}, header says {}",
            header.transactions_root
        )));
    }
    // The sidecar drives parallel execution and the BAL-driven fold alike.
    let listed = match &opts.bal_dir {
        Some(dir) => Some(Arc::new(sidecar::load(
            dir,
            header.number,
            header.hash_slow(),
        )?)),
        None => None,
    };
    let view = StateView {
        world: &rec.world,
        hashes: &rec.block_hashes,
    };
    // One calculator per recording: each block has its own partial pre-state. No header root
    // applies to it, so the calculator folds without one and the report keeps the root.
    let trie = StateTrie::from_accounts(&rec.world.trie_updates());
    let calculator = Calculator::spawn(trie, header.parent_hash, opts.commitment);
    let hash = header.hash_slow();
    let request = block_request(chain, &rec.block, hash, listed.clone(), None);
    let cancel = request.cancel.clone();
    calculator.announce(request).map_err(|e| e.to_string())?;
    let on_tx = |index| {
        let _ = calculator.report(ExecEvent::Tx { hash, index });
    };
    let watch = Watch {
        cancel: Some(&cancel),
        on_tx: Some(&on_tx),
    };
    let started = Instant::now();
    let options = ExecOptions {
        record_bal: opts.commitment.bal_driven,
        ..ExecOptions::verified()
    }
    .with_access_list(listed.as_deref())
    .with_mode(opts.exec.into())
    .with_tier(opts.tier)
    .with_watch(watch);
    let executed = block::execute(chain, &rec.block, &view, options);
    let exec = TimeSpan::since(started);
    let event = match &executed {
        Ok(outcome) => ExecEvent::Block(BlockResult {
            hash,
            updates: rec.world.updates_for(&outcome.writes),
            recorded: match listed {
                None => outcome.access_list.clone().map(Arc::new),
                Some(_) => None,
            },
        }),
        Err(e) => ExecEvent::Failed {
            hash,
            reason: e.to_string(),
        },
    };
    calculator.report(event).map_err(|e| e.to_string())?;
    let verdict = calculator.verdict().map_err(|e| e.to_string())?;
    let outcome = executed.map_err(|e| e.to_string())?;
    verdict.outcome.as_ref().map_err(|e| e.to_string())?;
    report.add_gas(outcome.gas_used);
    let lane = report.lane(opts.commitment, opts.tier);
    report.record_fold(
        &lane,
        format!("mainnet/{}", header.number),
        header.number,
        exec,
        &verdict,
        outcome.receipts_check,
    );
    report.add_commitment(opts.commitment, &calculator.metrics());
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
