//! Replays a `geth export` chain on top of its `genesis.json`, checking every header's
//! commitments including the state root.

use std::path::{Path, PathBuf};

use executor::{chainstore::ChainStore, genesis};

use super::ReplayError;
use crate::{fixtures::geth as files, report::Report};

pub(super) fn run(
    genesis_path: &Path,
    chains: &[PathBuf],
    report: &mut Report,
) -> Result<(), ReplayError> {
    let genesis = files::load_genesis(genesis_path)?;
    let (chain, world, header) = genesis::from_genesis(&genesis);
    let mut store = ChainStore::new(chain, header, world)
        .map(|s| s.with_retained_states(0))
        .map_err(|e| ReplayError::Usage(e.to_string()))?;
    for path in chains {
        let blocks = files::load_chain(path)?;
        for block in &blocks {
            let name = format!("{}#{}", path.display(), block.header.number);
            match store.import(block) {
                Ok(done) => {
                    report.add_gas(done.gas_used);
                    report.timing.exec_ms += done.exec.as_secs_f64() * 1e3;
                    report.timing.commit_ms += done.commit.as_secs_f64() * 1e3;
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
    Ok(())
}
