//! Replays a `geth export` chain on top of its `genesis.json`, checking every header's
//! commitments including the state root.

use std::path::{Path, PathBuf};

use executor::{
    chainstore::{BlockInput, ChainStore},
    genesis,
};

use super::{ReplayError, ReplayOptions};
use crate::{fixtures::geth as files, progress::Progress, report::Report};

pub(super) fn run(
    genesis_path: &Path,
    chains: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    let genesis = files::load_genesis(genesis_path)?;
    let (chain, world, header) = genesis::from_genesis(&genesis);
    let mut store = ChainStore::new(chain, header, world)
        .map(|s| {
            s.with_retained_states(0)
                .with_tier(opts.tier)
                .with_commitment(opts.commitment)
        })
        .map_err(|e| ReplayError::Usage(e.to_string()))?;
    let lane = report.lane(opts.commitment, opts.tier);
    let total = chains.iter().map(|path| files::count_blocks(path)).sum();
    let progress = Progress::new(total, "blocks");
    for path in chains {
        let blocks = match files::load_chain(path) {
            Ok(blocks) => blocks,
            Err(e) => {
                report.record(path.display().to_string(), Err(e.into()));
                continue;
            }
        };
        let inputs: Vec<BlockInput> = blocks
            .iter()
            .map(|block| BlockInput {
                block,
                access_list: None,
            })
            .collect();
        tracing::debug!(chain = %path.display(), blocks = blocks.len(), "chain export");
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
                    break;
                }
            }
        }
    }
    report.add_commitment(opts.commitment, &store.metrics());
    Ok(())
}
