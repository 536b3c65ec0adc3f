//! Contract execution: revm's interpreter against compiled submodules on the same transaction,
//! and what compiling costs. Cases are the named benchmark state tests of
//! `$FIXTURES_DIR/evm-benchmarks` (revmc's and ipsilon's), each run as its first post entry;
//! `evm_compile` also compiles hostile code (24 KiB of JUMPDESTs, of PUSH1/JUMP pairs).

use std::{collections::BTreeMap, hint::black_box, path::PathBuf};

use alloy_primitives::{B256, TxKind};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use executor::{
    BlockHashes, StateView, WorldState,
    revm::{context::TxEnv, primitives::hardfork::SpecId},
    submodule::{Tier, runtime::ModuleCache},
    transact::{self, EvmEnv},
};
use harness::{
    fixtures::{self, state_test::StateTest},
    statetest,
};

const CASES: &[(&str, &str)] = &[
    ("snailtracer", "revmc/snailtracer.json"),
    ("fibonacci-calldata", "revmc/fibonacci-calldata.json"),
    ("hash_10k", "revmc/hash_10k.json"),
    ("erc20_transfer", "revmc/erc20_transfer.json"),
    ("weth", "revmc/weth.json"),
    ("uniswap_v2_pair", "revmc/uniswap_v2_pair.json"),
    ("sha1_divs", "ipsilon/benchmarks/main/sha1_divs.json"),
    (
        "blake2b_shifts",
        "ipsilon/benchmarks/main/blake2b_shifts.json",
    ),
    ("weierstrudel", "ipsilon/benchmarks/main/weierstrudel.json"),
];

struct NoHashes;

impl BlockHashes for NoHashes {
    fn block_hash(&self, _: u64) -> Option<B256> {
        None
    }
}

struct Case {
    name: &'static str,
    world: WorldState,
    env: EvmEnv,
    tx: TxEnv,
    /// The code the transaction runs first: the callee's, or the init code.
    code: Vec<u8>,
}

impl Case {
    fn load(name: &'static str, file: &str) -> Option<Self> {
        let path: PathBuf = fixtures::fixtures_dir().join("evm-benchmarks").join(file);
        let text = std::fs::read_to_string(&path).ok()?;
        let tests: BTreeMap<String, StateTest> = serde_json::from_str(&text).ok()?;
        let test = tests.into_values().next()?;
        let (fork, entries) = test.post.iter().next()?;
        let entry = entries.first()?;
        let env = statetest::environment(&test, fork).ok()?;
        let tx = statetest::transaction(&test, entry).ok()?;
        let world = WorldState::from_alloc(&test.pre);
        let code = match tx.kind {
            TxKind::Call(to) => test.pre.get(&to)?.code.clone()?.to_vec(),
            TxKind::Create => tx.data.to_vec(),
        };
        Some(Self {
            name,
            world,
            env,
            tx,
            code,
        })
    }

    fn run(&self, tier: Tier) {
        let view = StateView {
            world: &self.world,
            hashes: &NoHashes,
        };
        let done = transact::transact(view, self.env.clone(), self.tx.clone(), tier)
            .expect("benchmark transaction is valid");
        black_box(done);
    }

    fn spec(&self) -> SpecId {
        self.env.cfg_env.spec
    }
}

fn cases() -> Vec<Case> {
    let cases: Vec<Case> = CASES
        .iter()
        .filter_map(|(name, file)| Case::load(name, file))
        .collect();
    if cases.is_empty() {
        eprintln!(
            "evm: no benchmark fixtures under {}",
            fixtures::fixtures_dir().display()
        );
    }
    cases
}

fn evm_exec(c: &mut Criterion) {
    let mut group = c.benchmark_group("evm_exec");
    group.sample_size(10);
    for case in cases() {
        // The first compiled run fills the module cache; measured runs execute only.
        case.run(Tier::Compile);
        group.bench_function(BenchmarkId::new("interpret", case.name), |b| {
            b.iter(|| case.run(Tier::Interpret))
        });
        group.bench_function(BenchmarkId::new("compiled", case.name), |b| {
            b.iter(|| case.run(Tier::Compile))
        });
    }
    group.finish();
}

fn evm_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("evm_compile");
    group.sample_size(10);
    let cache = ModuleCache::global();
    let mut inputs: Vec<(String, Vec<u8>, SpecId)> = cases()
        .into_iter()
        .map(|c| (c.name.to_string(), c.code.clone(), c.spec()))
        .collect();
    inputs.push((
        "jumpdests_24k".into(),
        vec![0x5b; 24 * 1024],
        SpecId::CANCUN,
    ));
    inputs.push((
        "push_jump_24k".into(),
        [0x60, 0x00, 0x56].repeat(8 * 1024),
        SpecId::CANCUN,
    ));
    for (name, code, spec) in inputs {
        group.bench_function(BenchmarkId::new("compile", &name), |b| {
            b.iter(|| black_box(cache.compile_uncached(&code, spec).expect("compiles")))
        });
    }
    group.finish();
}

criterion_group!(benches, evm_exec, evm_compile);
criterion_main!(benches);
