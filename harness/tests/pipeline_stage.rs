//! The execution stage driving the commitment calculator, end to end on the demo chain (whose
//! blocks carry the access lists recorded while sealing): every flag combination and schedule
//! commits the same roots, a lying sidecar fails exactly its block, cancellation stops
//! execution within one transaction, and a failing stage never hangs.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use alloy_primitives::U256;
use commitment::{CancelToken, Config, FoldMode};
use executor::{
    StateView,
    block::{self, BlockError, ExecMode, ExecOptions, Watch},
    chainstore::{BlockInput, ChainStore},
};
use harness::demo::{self, DemoChain, DemoOptions};

fn demo_chain(blocks: u64, txs: usize) -> DemoChain {
    demo::build(&DemoOptions {
        accounts: 50,
        modes: Config::ALL.to_vec(),
        ..DemoOptions::new(blocks, txs)
    })
    .expect("the demo chain builds")
}

fn store(demo: &DemoChain, config: Config, exec: ExecMode) -> ChainStore {
    ChainStore::new(demo.chain.clone(), demo.genesis.clone(), demo.world.clone())
        .unwrap()
        .with_commitment(config)
        .with_exec(exec)
}

fn inputs(demo: &DemoChain) -> Vec<BlockInput<'_>> {
    demo.blocks
        .iter()
        .zip(&demo.access_lists)
        .map(|(block, list)| BlockInput {
            block,
            access_list: Some(list),
            hash: None,
        })
        .collect()
}

/// Runs `f` on another thread and fails the test if it does not finish in time.
fn within(f: impl FnOnce() + Send + 'static) {
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        done.send(()).unwrap();
    });
    wait.recv_timeout(Duration::from_secs(120))
        .expect("the stage hung (or panicked)")
}

#[test]
fn every_mode_and_schedule_commits_the_header_roots() {
    let demo = demo_chain(6, 40);
    for exec in [
        ExecMode::Sequential,
        ExecMode::Parallel,
        ExecMode::Optimistic,
    ] {
        for config in Config::ALL {
            let mut store = store(&demo, config, exec);
            for (block, result) in demo.blocks.iter().zip(store.import_batch(&inputs(&demo))) {
                let done = result.unwrap_or_else(|e| panic!("{config} {exec:?}: {e}"));
                assert_eq!(done.state_root, block.header.state_root);
                let mode = if config.bal_driven {
                    FoldMode::BalDriven
                } else {
                    FoldMode::Incremental
                };
                assert_eq!(done.verdict.mode, mode, "{config}");
            }
            let m = store.metrics();
            assert_eq!(m.divergences, 0, "{config} {exec:?}");
            assert_eq!(m.fallbacks, 0, "{config} {exec:?}");
            let bal = if config.bal_driven { 6 } else { 0 };
            assert_eq!((m.bal_folds, m.incremental_folds), (bal, 6 - bal));
        }
    }
}

#[test]
fn a_lying_sidecar_fails_its_block_and_commits_nothing_of_it() {
    let demo = demo_chain(4, 20);
    // A structurally valid list with one wrong value: the beneficiary's final balance.
    let mut lists = demo.access_lists.clone();
    let mut lie = (*lists[2]).clone();
    let coinbase = demo.blocks[2].header.beneficiary;
    let account = lie.iter_mut().find(|a| a.address == coinbase).unwrap();
    let last = account.balance_changes.last_mut().unwrap();
    last.post_balance += U256::from(1);
    lists[2] = Arc::new(lie);
    for exec in [
        ExecMode::Sequential,
        ExecMode::Parallel,
        ExecMode::Optimistic,
    ] {
        for config in Config::ALL {
            let mut store = store(&demo, config, exec);
            let batch: Vec<BlockInput> = demo
                .blocks
                .iter()
                .zip(&lists)
                .map(|(block, list)| BlockInput {
                    block,
                    access_list: Some(list),
                    hash: None,
                })
                .collect();
            let results = store.import_batch(&batch);
            assert!(
                results[0].is_ok() && results[1].is_ok(),
                "{config} {exec:?}"
            );
            match &results[2] {
                Err(BlockError::LyingBal(_) | BlockError::Outcome(_)) => {}
                other => panic!("{config} {exec:?}: block 3 {other:?}"),
            }
            assert!(matches!(results[3], Err(BlockError::UnknownParent(_))));
            // Block 2 is the head, with exactly its own state.
            let head = demo.blocks[1].header.hash_slow();
            assert_eq!(store.head(), head);
            let root = store.state_at(head).unwrap().state_root();
            assert_eq!(root, demo.blocks[1].header.state_root);
            assert_eq!(store.metrics().divergences, 0);
            // The honest block 3 still imports on top.
            let honest = BlockInput {
                block: &demo.blocks[2],
                access_list: Some(&demo.access_lists[2]),
                hash: None,
            };
            assert!(
                store.import_batch(&[honest])[0].is_ok(),
                "{config} {exec:?}"
            );
        }
    }
}

#[test]
fn cancellation_stops_execution_within_one_transaction() {
    let demo = demo_chain(1, 30);
    let block = &demo.blocks[0];
    let hashes = HashMap::from([(0, demo.genesis.hash_slow())]);
    let list = &demo.access_lists[0];
    for mode in [
        ExecMode::Sequential,
        ExecMode::Parallel,
        ExecMode::Optimistic,
    ] {
        let cancel = CancelToken::new();
        let executed = AtomicUsize::new(0);
        let on_tx = |index: usize| {
            executed.fetch_add(1, Ordering::SeqCst);
            if index == 3 {
                cancel.cancel(); // as the calculator would, from its own thread
            }
        };
        let watch = Watch {
            cancel: Some(&cancel),
            on_tx: Some(&on_tx),
        };
        let view = StateView {
            world: &demo.world,
            hashes: &hashes,
        };
        let options = ExecOptions::default()
            .with_mode(mode)
            .with_access_list(Some(list))
            .with_watch(watch);
        let result = block::execute(&demo.chain, block, &view, options);
        assert!(matches!(result, Err(BlockError::Cancelled)), "{mode:?}");
        assert_eq!(executed.load(Ordering::SeqCst), 4, "{mode:?}");
    }
}

#[test]
fn a_failing_stage_releases_the_calculator() {
    for config in Config::ALL {
        within(move || {
            let demo = demo_chain(3, 10);
            let mut store = store(&demo, config, ExecMode::Sequential);
            let mut forged = demo.blocks[1].clone();
            forged.header.gas_used += 1;
            let batch = [
                BlockInput {
                    block: &demo.blocks[0],
                    access_list: Some(&demo.access_lists[0]),
                    hash: None,
                },
                BlockInput {
                    block: &forged,
                    access_list: Some(&demo.access_lists[1]),
                    hash: None,
                },
                BlockInput {
                    block: &demo.blocks[2],
                    access_list: Some(&demo.access_lists[2]),
                    hash: None,
                },
            ];
            let results = store.import_batch(&batch);
            assert!(results[0].is_ok());
            assert!(results[1].is_err());
            assert!(results[2].is_err());
            assert_eq!(store.head(), demo.blocks[0].header.hash_slow());
            // Dropping the stage joins the calculator thread.
            drop(store);
        });
    }
}

/// A chain without access lists (every chain before Amsterdam) under the BAL-driven fold: each
/// block's list is recorded while it executes and its root folded from it, checked against the
/// writes by the shadow fold, and the counters say so; before, the flag silently did nothing.
#[test]
fn bal_driven_commitment_folds_recorded_lists_when_blocks_come_without_one() {
    let demo = demo_chain(4, 20);
    for config in [Config::new(true, false), Config::new(true, true)] {
        let mut store = store(&demo, config, ExecMode::Sequential);
        for block in &demo.blocks {
            let imported = store.import(block).expect("imports");
            assert_eq!(imported.state_root, block.header.state_root);
            assert_eq!(imported.verdict.mode, FoldMode::BalDriven, "{config}");
        }
        let m = store.metrics();
        assert_eq!((m.bal_folds, m.recorded_bals), (4, 4), "{config}: {m:?}");
        assert_eq!(
            (m.incremental_folds, m.without_bal, m.divergences),
            (0, 0, 0)
        );
    }
    let mut serial = store(&demo, Config::default(), ExecMode::Sequential);
    for block in &demo.blocks {
        serial.import(block).expect("imports");
    }
    assert_eq!(
        serial.metrics().recorded_bals,
        0,
        "nothing recorded with the flag off"
    );
}
