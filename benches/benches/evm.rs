//! Contract execution: revm's interpreter against compiled submodules on the same transaction,
//! and what compiling costs. Cases are the named benchmark state tests of
//! `$FIXTURES_DIR/evm-benchmarks` (revmc's and ipsilon's), each run as its first post entry;
//! `evm_compile` also compiles hostile code (24 KiB of JUMPDESTs, of PUSH1/JUMP pairs).

use std::{
    collections::{BTreeMap, HashMap},
    hint::black_box,
    path::PathBuf,
};

use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use executor::{
    StateView, WorldState,
    revm::{
        context::TxEnv, context_interface::block::BlobExcessGasAndPrice,
        primitives::hardfork::SpecId,
    },
    submodule::{
        Tier, TieredEvmFactory,
        runtime::{Instances, ModuleCache},
        testing::{TARGET, World},
    },
    transact::{self, EvmEnv},
};
use harness::{
    fixtures::{
        self,
        state_test::{Env, StateTest},
    },
    statetest,
};
use serde::Deserialize;

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

struct Case {
    name: &'static str,
    world: WorldState,
    env: EvmEnv,
    tx: TxEnv,
    /// The code the transaction runs first: the callee's, or the init code.
    code: Vec<u8>,
}

/// revmc's benchmark files: a state test's environment and pre-state with concrete
/// transactions instead of templates and post entries.
#[derive(Deserialize)]
struct RevmcBench {
    env: Env,
    pre: BTreeMap<Address, GenesisAccount>,
    transaction: Vec<RevmcTx>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevmcTx {
    data: Bytes,
    gas_limit: U256,
    sender: Address,
    to: Address,
    value: U256,
}

/// Pads odd-length hex strings (`0xf4240`, as some of revmc's files write storage values) to
/// whole bytes.
fn even_hex(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.starts_with("0x") && s.len() % 2 == 1 => {
            s.insert(2, '0');
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(even_hex),
        serde_json::Value::Object(map) => map.values_mut().for_each(even_hex),
        _ => {}
    }
}

impl Case {
    fn load(name: &'static str, file: &str) -> Option<Self> {
        let path: PathBuf = fixtures::fixtures_dir().join("evm-benchmarks").join(file);
        let text = std::fs::read_to_string(&path).ok()?;
        let (world, env, tx, pre) = if file.starts_with("revmc/") {
            let mut json: serde_json::Value = serde_json::from_str(&text).ok()?;
            even_hex(&mut json);
            let benches: BTreeMap<String, RevmcBench> = serde_json::from_value(json)
                .map_err(|e| eprintln!("evm: {file}: {e}"))
                .ok()?;
            let bench = benches.into_values().next()?;
            let t = bench.transaction.first()?;
            let tx = TxEnv {
                caller: t.sender,
                kind: TxKind::Call(t.to),
                data: t.data.clone(),
                gas_limit: t.gas_limit.saturating_to(),
                value: t.value,
                chain_id: Some(1),
                ..Default::default()
            };
            let mut env = statetest::environment(&bench.env, "Cancun").ok()?;
            // Post-merge blocks need a randomness beacon value; these files omit it.
            env.block_env.prevrandao.get_or_insert(B256::ZERO);
            env.block_env
                .blob_excess_gas_and_price
                .get_or_insert(BlobExcessGasAndPrice::new_with_spec(0, env.cfg_env.spec));
            (WorldState::from_alloc(&bench.pre), env, tx, bench.pre)
        } else {
            let tests: BTreeMap<String, StateTest> = serde_json::from_str(&text).ok()?;
            let test = tests.into_values().next()?;
            let (fork, entries) = test.post.iter().next()?;
            let env = statetest::environment(&test.env, fork).ok()?;
            let tx = statetest::transaction(&test, entries.first()?).ok()?;
            (WorldState::from_alloc(&test.pre), env, tx, test.pre)
        };
        let code = match tx.kind {
            TxKind::Call(to) => pre.get(&to)?.code.clone()?.to_vec(),
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
        // No ancestors known, as in a state test: BLOCKHASH reads zero.
        let view = StateView {
            world: &self.world,
            hashes: &HashMap::<u64, B256>::new(),
        };
        let done = transact::transact(&view, self.env.clone(), self.tx.clone(), tier)
            .expect("benchmark transaction is valid");
        black_box(done);
    }

    fn spec(&self) -> SpecId {
        self.env.cfg_env.spec
    }
}

fn cases() -> Vec<Case> {
    CASES
        .iter()
        .filter_map(|(name, file)| {
            let case = Case::load(name, file);
            if case.is_none() {
                let dir = fixtures::fixtures_dir();
                eprintln!("evm: cannot load {file} under {}", dir.display());
            }
            case
        })
        .collect()
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
    // Hostile code at three sizes, so the growth of compile time with size shows.
    for kib in [6, 12, 24] {
        let dests = vec![0x5b; kib * 1024];
        inputs.push((format!("jumpdests_{kib}k"), dests, SpecId::CANCUN));
        let pairs = [0x60, 0x00, 0x56].repeat(kib * 1024 / 3);
        inputs.push((format!("push_jump_{kib}k"), pairs, SpecId::CANCUN));
    }
    for (name, code, spec) in inputs {
        group.bench_function(BenchmarkId::new("compile", &name), |b| {
            b.iter(|| black_box(cache.compile_uncached(&code, spec).expect("compiles")))
        });
    }
    group.finish();
}

/// Gear's question: what consecutive dispatches of one contract cost with a fresh instance each
/// (`fresh`) against the thread's instance reused (`reused`), per number of dispatches in a
/// row. One transaction per iteration: a caller CALLs the contract `n` times, so the
/// transaction's own cost spreads over the dispatches.
fn dispatch(c: &mut Criterion) {
    const CALLEE: Address = Address::repeat_byte(0xdd);
    // The callee: mstore(0, calldatasize + 1); return(0, 32), on compiled code.
    let callee = [0x36, 0x60, 0x01, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];
    // The caller: n = calldataload(0); do { call(gas, CALLEE, 0, 0, 0, 0, 0); n -= 1 } while n
    let mut caller = vec![0x5f, 0x35, 0x5b]; // n, loop at pc 2
    caller.extend([0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x73]);
    caller.extend(CALLEE.0);
    caller.extend([0x5a, 0xf1, 0x50]); // call, pop its status
    caller.extend([0x60, 0x01, 0x90, 0x03, 0x80, 0x60, 0x02, 0x57, 0x00]);
    let world = World::new(&[(TARGET, &caller), (CALLEE, &callee)]);
    let check = U256::from(3).to_be_bytes::<32>();
    let ran = world.run(SpecId::CANCUN, &check, 1_000_000, Tier::Compile);
    let ran = ran.expect("valid transaction");
    assert!(ran.result.is_success(), "{:?}", ran.result);
    let mut group = c.benchmark_group("dispatch");
    group.sample_size(20);
    for n in [1u64, 2, 5, 10, 20, 50, 100] {
        let data = U256::from(n).to_be_bytes::<32>();
        for (name, instances) in [("fresh", Instances::Fresh), ("reused", Instances::Reused)] {
            let factory = TieredEvmFactory::new(Tier::Compile).with_instances(instances);
            group.bench_with_input(BenchmarkId::new(name, n), &data, |b, data| {
                b.iter(|| {
                    let ran = world.run_on(factory, SpecId::CANCUN, data, 10_000_000);
                    black_box(ran.expect("valid transaction"))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, evm_exec, evm_compile, dispatch);
criterion_main!(benches);
