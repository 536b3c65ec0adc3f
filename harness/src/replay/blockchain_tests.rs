//! Replays ethereum/tests BlockchainTests: genesis from `pre` (checked against the genesis
//! header), every block imported through the [`ChainStore`], `expectException` blocks required
//! to fail, and the final state compared with `postState` / `postStateHash`.

use std::{path::PathBuf, sync::Arc};

use alloy_primitives::B256;
use bal::BlockAccessList;
use executor::{
    WorldState,
    block::{Block, BlockError, OutcomeError, decode_block},
    chain::ChainSpec,
    chainstore::{BlockInput, ChainStore, Imported},
};

use super::{ReplayError, ReplayOptions};
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

pub(super) fn run(
    paths: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    fixtures::for_each_test::<BlockchainTest>(
        paths,
        skips::BLOCKCHAIN_TESTS,
        report,
        |case, test, report| match run_test(case, test, opts, report) {
            Ok(()) => report.pass(),
            Err(reason) => report.fail(case, reason),
        },
    )?;
    Ok(())
}

/// A fixture block ready to import: decoded, with its access list when the fixture has one.
type Input = (Block, Option<Arc<BlockAccessList>>);

fn decode(block: &TestBlock) -> Result<Input, String> {
    let rlp = decode_hex(&block.rlp).map_err(|e| BlockError::Decode(e).to_string())?;
    let decoded = decode_block(&rlp).map_err(|e| e.to_string())?;
    // A malformed fixture list is a rejected block like any other lie.
    let list = match &block.block_access_list {
        Some(json) => Some(Arc::new(
            bal::from_json(json).map_err(|e| format!("fixture BAL: {e}"))?,
        )),
        None => None,
    };
    Ok((decoded, list))
}

/// Imports every block of `test`, in order, into a fresh chain from its genesis, as a node
/// receiving them would: per block, the import or why the block was rejected (an undecodable
/// block is rejected as such). The store holds the resulting chain.
pub(crate) fn import_test(
    test: &BlockchainTest,
    opts: &ReplayOptions,
) -> Result<(ChainStore, Vec<Result<Imported, String>>), String> {
    let chain = ChainSpec::from_test_network(&test.network).map_err(|e| e.to_string())?;
    let genesis = decode_block(&test.genesis_rlp).map_err(|e| format!("genesis: {e}"))?;
    let world = WorldState::from_alloc(&test.pre);
    let mut store = ChainStore::new(chain, genesis.header, world)
        .map_err(|e| e.to_string())?
        .with_exec(opts.exec.into())
        .with_tier(opts.tier)
        .with_commitment(opts.commitment);

    let inputs: Vec<Result<Input, String>> = test.blocks.iter().map(decode).collect();
    let batch: Vec<BlockInput> = inputs
        .iter()
        .flatten()
        .map(|(block, access_list)| BlockInput {
            block,
            access_list: access_list.as_ref(),
        })
        .collect();
    let mut imported = store.import_batch(&batch).into_iter();
    let results = test
        .blocks
        .iter()
        .zip(inputs)
        .map(|(tb, input)| {
            input.and_then(|_| {
                let result = imported.next().expect("one result per decoded block");
                result.map_err(|e| format!("{e}{}", bal_difference(&e, tb)))
            })
        })
        .collect();
    Ok((store, results))
}

fn run_test(
    case: &str,
    test: &BlockchainTest,
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), String> {
    let (mut store, results) = import_test(test, opts)?;
    let lane = report.lane(opts.commitment, opts.tier);
    let checked = test
        .blocks
        .iter()
        .zip(results)
        .enumerate()
        .try_for_each(|(i, (tb, result))| match (result, &tb.expect_exception) {
            (Ok(done), None) => {
                report.record_import(&lane, format!("{case}#{i}"), &done);
                Ok(())
            }
            (Err(_), Some(_)) => Ok(()),
            (Ok(_), Some(expected)) => Err(format!("block {i}: imported, but expected {expected}")),
            (Err(e), None) => Err(format!("block {i}: {e}")),
        });
    report.add_commitment(opts.commitment, &store.metrics());
    checked?;

    if store.header(&test.lastblockhash).is_none() {
        return Err(format!(
            "lastblockhash {} was not imported",
            test.lastblockhash
        ));
    }
    let last = &store
        .state_at(test.lastblockhash)
        .map_err(|e| format!("state of lastblockhash {}: {e}", test.lastblockhash))?;
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
