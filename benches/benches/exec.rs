//! Block execution: sequential against BAL-parallel and optimistic on the same blocks, with the
//! BAL recorded by a sequential run beforehand (as a node receiving it with the block would have
//! it; optimistic execution does not use it). `transfers` and `erc20` are synthetic blocks of
//! independent transactions, `one_sender` one of transfers all from one wallet (each depends on
//! the one before it: optimistic execution's worst case); `mainnet` replays the recorded
//! mainnet blocks (needs the fixtures).

use std::{collections::HashMap, hint::black_box};

use alloy_primitives::B256;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use executor::{
    StateView, WorldState,
    block::{self, Block, ExecMode, ExecOptions},
    chain::ChainSpec,
};
use harness::{
    demo::{self, Mix},
    fixtures::{self, mainnet},
};

struct Case {
    chain: ChainSpec,
    world: WorldState,
    hashes: HashMap<u64, B256>,
    block: Block,
    bal: bal::BlockAccessList,
}

impl Case {
    /// A case whose access list is recorded here by a sequential run.
    fn recorded(
        chain: ChainSpec,
        world: WorldState,
        hashes: HashMap<u64, B256>,
        block: Block,
    ) -> Self {
        let view = StateView {
            world: &world,
            hashes: &hashes,
        };
        let bal = block::execute(&chain, &block, &view, ExecOptions::default().recording())
            .expect("block executes")
            .access_list
            .unwrap();
        Self {
            chain,
            world,
            hashes,
            block,
            bal,
        }
    }

    fn view(&self) -> StateView<'_> {
        StateView {
            world: &self.world,
            hashes: &self.hashes,
        }
    }
}

fn cases() -> Vec<(&'static str, Vec<Case>)> {
    let synthetic = |mix| {
        let single = demo::single_block(mix, 1000).expect("synthetic block builds");
        vec![Case {
            chain: single.chain,
            world: single.world,
            hashes: HashMap::new(),
            block: single.block,
            bal: single.access_list,
        }]
    };
    let mut out = vec![
        ("transfers", synthetic(Mix::Transfers)),
        ("erc20", synthetic(Mix::Erc20)),
        ("one_sender", synthetic(Mix::OneSender)),
    ];
    let dir = fixtures::fixtures_dir().join("mainnet-blocks");
    if let Ok(dirs) = harness::replay::mainnet::block_dirs(&[dir]) {
        let blocks = dirs
            .iter()
            .filter_map(|d| mainnet::load(d).ok())
            .map(|rec| Case::recorded(ChainSpec::mainnet(), rec.world, rec.block_hashes, rec.block))
            .collect();
        out.push(("mainnet", blocks));
    } else {
        eprintln!(
            "mainnet fixtures missing: the `mainnet` parameter is skipped (set FIXTURES_DIR)"
        );
    }
    out
}

fn block_exec(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_exec");
    group.sample_size(10);
    for (name, cases) in cases() {
        for (function, mode) in [
            ("sequential", ExecMode::Sequential),
            ("bal_parallel", ExecMode::Parallel),
            ("optimistic", ExecMode::Optimistic),
        ] {
            group.bench_with_input(BenchmarkId::new(function, name), &cases, |b, cases| {
                b.iter(|| {
                    for case in cases {
                        let options = ExecOptions::default()
                            .with_mode(mode)
                            .with_access_list((mode == ExecMode::Parallel).then_some(&case.bal));
                        black_box(
                            block::execute(&case.chain, &case.block, &case.view(), options)
                                .unwrap(),
                        );
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, block_exec);
criterion_main!(benches);
