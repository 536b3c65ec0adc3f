//! `harness statetest`: GeneralStateTests-format files, one case per (fork, data, gas, value)
//! entry, checking the post-state root and the logs hash, and that transactions the test marks
//! invalid are rejected, for one of the reasons its `expectException` names, without touching
//! the state. `transaction` builds the entry's transaction (set-code authorizations
//! included); [`exception`] matches a rejection against the names.

use std::{path::PathBuf, time::Instant};

use alloy_primitives::{Address, B256, U256, keccak256};
use executor::{
    BlockHashes, StateView, WorldState,
    chain::ChainSpec,
    revm::context::{BlockEnv, TxEnv},
    revm::context_interface::block::BlobExcessGasAndPrice,
    submodule::Tier,
    transact::{self, TransactError},
};

use crate::{
    fixtures::{
        self,
        state_test::{Env, Indexes, PostEntry, StateTest},
    },
    replay::ReplayError,
    report::Report,
    skips,
};

pub mod exception;
pub mod transaction;

use exception::Rejection;
use transaction::TxBuildError;

/// Options of `harness statetest`.
#[derive(Clone, Debug, Default)]
pub struct StatetestOptions {
    /// Where contract code runs.
    pub tier: Tier,
}

/// State tests resolve BLOCKHASH(n) to keccak256 of the decimal number, as their generator does.
struct TestBlockHashes;

impl BlockHashes for TestBlockHashes {
    fn block_hash(&self, number: u64) -> Option<B256> {
        Some(keccak256(number.to_string().as_bytes()))
    }
}

/// Runs every state test found under `paths`.
pub fn run(
    paths: &[PathBuf],
    opts: &StatetestOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    fixtures::for_each_test::<StateTest>(
        paths,
        skips::STATE_TESTS,
        report,
        |case, test, report| run_test(case, test, opts.tier, report),
    )?;
    Ok(())
}

fn run_test(case: &str, test: &StateTest, tier: Tier, report: &mut Report) {
    let world = WorldState::from_alloc(&test.pre);
    let caller = match transaction::sender(&test.transaction) {
        Ok(c) => c,
        Err(reason) => return report.fail(case, reason.to_string()),
    };
    for (fork, entries) in &test.post {
        for entry in entries {
            let Indexes { data, gas, value } = entry.indexes;
            let name = format!("{case}::{fork}::d{data}g{gas}v{value}");
            match run_entry(test, fork, entry, caller, &world, tier, report) {
                Ok(()) => report.pass(),
                Err(reason) => report.fail(name, reason),
            }
        }
    }
}

/// The environment a state test's transaction runs in under `fork`.
pub fn environment(env: &Env, fork: &str) -> Result<transact::EvmEnv, String> {
    let chain = ChainSpec::from_test_network(fork).map_err(|e| e.to_string())?;
    let number = u64_of(env.current_number)?;
    let timestamp = u64_of(env.current_timestamp)?;
    let spec = chain.spec_at(number, timestamp);
    let block = BlockEnv {
        number: env.current_number,
        beneficiary: env.current_coinbase,
        timestamp: env.current_timestamp,
        gas_limit: u64_of(env.current_gas_limit)?,
        basefee: env
            .current_base_fee
            .map(u64_of)
            .transpose()?
            .unwrap_or_default(),
        difficulty: env.current_difficulty,
        prevrandao: env.current_random,
        blob_excess_gas_and_price: env
            .current_excess_blob_gas
            .map(u64_of)
            .transpose()?
            .map(|excess| BlobExcessGasAndPrice::new_with_spec(excess, spec)),
        ..Default::default()
    };
    Ok(transact::env(&chain, block))
}

/// The transaction of one post entry.
pub fn transaction(test: &StateTest, entry: &PostEntry) -> Result<TxEnv, TxBuildError> {
    let caller = transaction::sender(&test.transaction)?;
    transaction::build(&test.transaction, entry.indexes, caller)
}

fn run_entry(
    test: &StateTest,
    fork: &str,
    entry: &PostEntry,
    caller: Address,
    world: &WorldState,
    tier: Tier,
    report: &mut Report,
) -> Result<(), String> {
    let env = environment(&test.env, fork)?;
    let tx = match transaction::build(&test.transaction, entry.indexes, caller) {
        Ok(tx) => tx,
        Err(e) => return rejected(world, entry, &Rejection::Build(&e), e.to_string()),
    };

    let started = Instant::now();
    let view = StateView {
        world,
        hashes: &TestBlockHashes,
    };
    let outcome = transact::transact(&view, env, tx, tier);
    report.timing.exec_ms += started.elapsed().as_secs_f64() * 1e3;
    let done = match (outcome, &entry.expect_exception) {
        (Err(e), _) => {
            let rejection = match &e {
                TransactError::Invalid(invalid) => Rejection::Invalid(invalid),
                _ => Rejection::Other,
            };
            return rejected(world, entry, &rejection, e.to_string());
        }
        (Ok(_), Some(expected)) => {
            return Err(format!("transaction executed, expected {expected}"));
        }
        (Ok(done), None) => done,
    };
    report.add_gas(done.result.tx_gas_used());

    let started = Instant::now();
    let mut post = world.clone();
    post.apply(&done.writes);
    let root = post.state_root();
    report.timing.commit_ms += started.elapsed().as_secs_f64() * 1e3;
    let logs_hash = keccak256(alloy_rlp::encode(done.result.logs().to_vec()));
    if logs_hash != entry.logs {
        return Err(format!("logs hash {logs_hash}, expected {}", entry.logs));
    }
    if root != entry.hash {
        return Err(format!(
            "state root {root}, expected {} ({:?})",
            entry.hash, done.result
        ));
    }
    Ok(())
}

/// A transaction that was not executed passes only if the entry expects one of the
/// exceptions it was rejected for, and names the pre-state's root (nothing was touched).
fn rejected(
    world: &WorldState,
    entry: &PostEntry,
    rejection: &Rejection<'_>,
    why: String,
) -> Result<(), String> {
    let Some(expected) = &entry.expect_exception else {
        return Err(why);
    };
    if !exception::matches(expected, rejection).map_err(|e| format!("{e} (rejected: {why})"))? {
        return Err(format!("rejected ({why}), expected {expected}"));
    }
    let root = world.state_root();
    if root != entry.hash {
        return Err(format!(
            "rejected ({why}) but expected root {} != pre-state root {root}",
            entry.hash
        ));
    }
    Ok(())
}

fn u64_of(v: U256) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("{v} exceeds 64 bits"))
}
