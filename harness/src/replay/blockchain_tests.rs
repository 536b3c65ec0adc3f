//! Replays ethereum/tests BlockchainTests: genesis from `pre` (checked against the genesis
//! header), every block imported through the [`ChainStore`], `expectException` blocks required
//! to fail, and the final state compared with `postState` / `postStateHash`.

use std::path::PathBuf;

use alloy_primitives::B256;
use executor::{
    WorldState,
    block::{BlockError, OutcomeError, decode_block},
    chain::ChainSpec,
    chainstore::ChainStore,
};

use super::{Exec, ReplayError};
use crate::{
    fixtures::{
        self,
        blockchain_test::{BlockchainTest, TestBlock},
        decode_hex,
    },
    report::Report,
    skips,
    state_diff::first_difference,
};

pub(super) fn run(paths: &[PathBuf], exec: Exec, report: &mut Report) -> Result<(), ReplayError> {
    fixtures::for_each_test::<BlockchainTest>(
        paths,
        skips::BLOCKCHAIN_TESTS,
        report,
        |case, test, report| match run_test(test, exec, report) {
            Ok(()) => report.pass(),
            Err(reason) => report.fail(case, reason),
        },
    )?;
    Ok(())
}

fn run_test(test: &BlockchainTest, exec: Exec, report: &mut Report) -> Result<(), String> {
    let chain = ChainSpec::from_test_network(&test.network).map_err(|e| e.to_string())?;
    let genesis = decode_block(&test.genesis_rlp).map_err(|e| format!("genesis: {e}"))?;
    let world = WorldState::from_alloc(&test.pre);
    let mut store = ChainStore::new(chain, genesis.header, world).map_err(|e| e.to_string())?;

    for (i, tb) in test.blocks.iter().enumerate() {
        let imported = decode_hex(&tb.rlp)
            .map_err(executor::block::BlockError::Decode)
            .and_then(|rlp| decode_block(&rlp))
            .and_then(|block| {
                // The fixture's access list drives parallel execution; a malformed one is a
                // rejected block like any other lie.
                let listed = match (exec, &tb.block_access_list) {
                    (Exec::Parallel, Some(json)) => Some(
                        bal::from_json(json)
                            .map_err(|e| BlockError::Execution(format!("fixture BAL: {e}")))?,
                    ),
                    _ => None,
                };
                store.import_with_access_list(&block, listed.as_ref())
            });
        match (imported, &tb.expect_exception) {
            (Ok(done), None) => {
                report.add_gas(done.gas_used);
                report.timing.exec_ms += done.exec.as_secs_f64() * 1e3;
                report.timing.commit_ms += done.commit.as_secs_f64() * 1e3;
            }
            (Err(_), Some(_)) => {}
            (Ok(_), Some(expected)) => {
                return Err(format!("block {i}: imported, but expected {expected}"));
            }
            (Err(e), None) => return Err(format!("block {i}: {e}{}", bal_difference(&e, tb))),
        }
    }

    let last = store
        .world(&test.lastblockhash)
        .ok_or_else(|| format!("lastblockhash {} was not imported", test.lastblockhash))?;
    if let Some(post) = &test.post_state {
        let expected = WorldState::from_alloc(post);
        if let Some(diff) = first_difference(&expected, last) {
            return Err(format!("post state: {diff}"));
        }
    }
    if let Some(hash) = test.post_state_hash {
        let root: B256 = last.state_root();
        if root != hash {
            return Err(format!("post state root {root}, expected {hash}"));
        }
    }
    Ok(())
}

/// For a block-access-list mismatch on a fixture that carries the expected list: the first
/// difference between what execution recorded and the fixture.
fn bal_difference(error: &BlockError, block: &TestBlock) -> String {
    let BlockError::Outcome(OutcomeError::AccessListHash { recorded, .. }) = error else {
        return String::new();
    };
    let (Some(recorded), Some(json)) = (recorded.as_ref(), &block.block_access_list) else {
        return String::new();
    };
    match bal::from_json(json) {
        Ok(expected) => format!(
            "; recorded vs fixture: {}",
            bal::first_bal_divergence(recorded, &expected)
        ),
        Err(e) => format!("; fixture BAL unreadable: {e}"),
    }
}
