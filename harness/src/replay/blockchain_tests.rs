//! Replays ethereum/tests BlockchainTests: genesis from `pre` (checked against the genesis
//! header), every block imported through the [`ChainStore`], `expectException` blocks required
//! to fail, and the final state compared with `postState` / `postStateHash`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use alloy_consensus::Header;

use alloy_primitives::B256;
use bal::BlockAccessList;
use executor::{
    WorldState,
    block::{Block, BlockError, OutcomeError, decode_block},
    chain::ChainSpec,
    chainstore::{BlockInput, ChainStore, DbStore, Imported, MemoryStore, StateStore},
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
    if let Some(dir) = &opts.db {
        std::fs::create_dir_all(dir)
            .map_err(|e| ReplayError::Usage(format!("--db {}: {e}", dir.display())))?;
    }
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
) -> Result<ImportedTest<MemoryStore>, String> {
    let (chain, genesis, world) = genesis(test)?;
    let store = ChainStore::new(chain, genesis, world).map_err(|e| e.to_string())?;
    Ok(import_blocks(store, test, opts))
}

/// A test's chain after its blocks, with each block's import or why it was rejected.
pub(crate) type ImportedTest<S> = (ChainStore<S>, Vec<Result<Imported, String>>);

/// The chain rules, genesis header and genesis state of `test`.
fn genesis(test: &BlockchainTest) -> Result<(ChainSpec, Header, WorldState), String> {
    let chain = ChainSpec::from_test_network(&test.network).map_err(|e| e.to_string())?;
    let genesis = decode_block(&test.genesis_rlp).map_err(|e| format!("genesis: {e}"))?;
    Ok((chain, genesis.header, WorldState::from_alloc(&test.pre)))
}

/// [`import_test`] into a fresh database in `dir` (one file per case: each test is a chain
/// of its own).
fn import_test_into_db(
    case: &str,
    test: &BlockchainTest,
    dir: &Path,
    opts: &ReplayOptions,
) -> Result<ImportedTest<DbStore>, String> {
    let (chain, genesis, world) = genesis(test)?;
    let name = alloy_primitives::keccak256(case.as_bytes());
    let path = dir.join(format!(
        "{}.redb",
        alloy_primitives::hex::encode(&name[..10])
    ));
    // A fresh database per run: a case replays its whole chain, not a resumed one.
    let _ = std::fs::remove_file(&path);
    let store = ChainStore::open_with(chain, genesis, world, &path, opts.cache_mb << 20)
        .map_err(|e| format!("--db {}: {e}", path.display()))?;
    Ok(import_blocks(store, test, opts))
}

/// Imports every block of `test` into `store`, which holds its genesis.
fn import_blocks<S: StateStore>(
    store: ChainStore<S>,
    test: &BlockchainTest,
    opts: &ReplayOptions,
) -> ImportedTest<S> {
    let mut store = store
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
            hash: None,
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
    (store, results)
}

fn run_test(
    case: &str,
    test: &BlockchainTest,
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), String> {
    match &opts.db {
        None => check_test(case, test, opts, report, import_test(test, opts)?),
        Some(dir) => {
            let imported = import_test_into_db(case, test, dir, opts)?;
            check_test(case, test, opts, report, imported)
        }
    }
}

/// Each block did what the fixture expects, and the state after `lastblockhash` is the
/// fixture's post-state.
fn check_test<S: StateStore>(
    case: &str,
    test: &BlockchainTest,
    opts: &ReplayOptions,
    report: &mut Report,
    (mut store, results): ImportedTest<S>,
) -> Result<(), String> {
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
