//! BAL-parallel execution against sequential execution on every valid BlockchainTests block:
//! the BAL recorded sequentially drives the parallel run, which must give the same gas,
//! receipts, logs bloom, BAL and state writes. The multi-transaction blocks are then executed
//! again, many at once from inside the rayon pool that also runs their transactions: a block
//! waiting for its runs must keep that pool working.

use std::collections::HashMap;

use alloy_primitives::B256;
use executor::{
    StateView, WorldState,
    block::{self, ExecMode, ExecOptions, decode_block},
    chain::ChainSpec,
};
use harness::fixtures::{self, blockchain_test::BlockchainTest, decode_hex};
use rayon::prelude::*;

#[test]
fn parallel_matches_sequential_on_blockchain_tests() {
    let dir = fixtures::fixtures_dir().join("ethereum-tests/BlockchainTests/ValidBlocks");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    let mut blocks_checked = 0;
    let mut txs_checked = 0;
    let mut nested = Vec::new();
    for file in fixtures::json_files(&[dir]).unwrap() {
        let tests: std::collections::BTreeMap<String, BlockchainTest> =
            fixtures::read_json(&file).unwrap();
        for (name, test) in tests {
            let chain = ChainSpec::from_test_network(&test.network).unwrap();
            let genesis = decode_block(&test.genesis_rlp).unwrap();
            let mut world = WorldState::from_alloc(&test.pre);
            let mut hashes: HashMap<u64, B256> = HashMap::from([(0, genesis.header.hash_slow())]);
            let mut parent = genesis.header.hash_slow();
            for tb in &test.blocks {
                let Ok(block) = decode_block(&decode_hex(&tb.rlp).unwrap()) else {
                    continue;
                };
                // Linear chains only: side-chain blocks need a different parent state.
                if block.header.parent_hash != parent {
                    break;
                }
                let view = StateView {
                    world: &world,
                    hashes: &hashes,
                };
                let Ok(seq) =
                    block::execute(&chain, &block, &view, ExecOptions::default().recording())
                else {
                    break;
                };
                let bal = seq.access_list.clone().expect("recording is on");
                let par = block::execute(&chain, &block, &view, parallel(&bal))
                    .unwrap_or_else(|e| panic!("{name} block {}: {e}", block.header.number));
                let at = format!("{name} block {}", block.header.number);
                assert_eq!(par.gas_used, seq.gas_used, "{at}: gas");
                assert_eq!(par.receipts_root(), seq.receipts_root(), "{at}: receipts");
                assert_eq!(par.logs_bloom(), seq.logs_bloom(), "{at}: bloom");
                assert_eq!(par.access_list, seq.access_list, "{at}: BAL");
                assert_eq!(
                    world.updates_for(&par.writes),
                    world.updates_for(&seq.writes),
                    "{at}: writes"
                );
                if block.body.transactions.len() > 1 && nested.len() < 32 {
                    let hashes = hashes.clone();
                    nested.push((
                        chain.clone(),
                        world.clone(),
                        hashes,
                        block.clone(),
                        bal,
                        par,
                    ));
                }
                world.apply(&seq.writes);
                parent = block.header.hash_slow();
                hashes.insert(block.header.number, parent);
                blocks_checked += 1;
                txs_checked += block.body.transactions.len();
            }
        }
    }
    println!("{blocks_checked} blocks, {txs_checked} transactions: parallel == sequential");
    assert!(blocks_checked > 500, "only {blocks_checked} blocks checked");

    assert!(
        nested.len() > 4,
        "only {} multi-transaction blocks",
        nested.len()
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        nested
            .par_iter()
            .for_each(|(chain, world, hashes, block, bal, expected)| {
                let view = StateView { world, hashes };
                let again = block::execute(chain, block, &view, parallel(bal)).unwrap();
                assert_eq!(again.receipts_root(), expected.receipts_root());
                assert_eq!(again.access_list, expected.access_list);
            })
    });
}

/// A transaction run ahead of its turn skips alloy-evm's block-gas admission check, so the
/// committing side makes it: two transfers in a block whose gas limit fits only the first are
/// rejected by parallel execution with the same error sequential execution gives.
#[test]
fn a_transaction_over_the_blocks_remaining_gas_is_rejected_as_sequentially() {
    let harness::demo::SingleBlock {
        chain,
        world,
        mut block,
        access_list: bal,
    } = harness::demo::single_block(harness::demo::Mix::Transfers, 2).unwrap();
    let hashes = HashMap::new();
    let view = StateView {
        world: &world,
        hashes: &hashes,
    };
    let gas: Vec<u64> = block
        .body
        .transactions
        .iter()
        .map(alloy_consensus::Transaction::gas_limit)
        .collect();
    // Room for the first transaction's limit, and less than the second's after the first.
    block.header.gas_limit = gas[0] + gas[1] - 1;
    let sequential = block::execute(&chain, &block, &view, ExecOptions::default()).unwrap_err();
    let parallel = block::execute(&chain, &block, &view, parallel(&bal)).unwrap_err();
    assert!(
        sequential.to_string().contains("gas limit"),
        "sequential: {sequential}"
    );
    assert_eq!(parallel.to_string(), sequential.to_string());
}

/// BAL-parallel execution on revm's interpreter.
fn parallel(bal: &bal::BlockAccessList) -> ExecOptions<'_> {
    ExecOptions::default()
        .with_mode(ExecMode::Parallel)
        .with_access_list(Some(bal))
}
