//! `harness statetest`: GeneralStateTests-format files, one case per (fork, data, gas, value)
//! entry, checking the post-state root and the logs hash, and that transactions the test marks
//! invalid are rejected without touching the state.

use std::{path::PathBuf, time::Instant};

use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use executor::{
    BlockHashes, StateView, WorldState,
    chain::ChainSpec,
    revm::context::{BlockEnv, TxEnv},
    revm::context_interface::block::BlobExcessGasAndPrice,
    submodule::Tier,
    transact,
};

use crate::{
    fixtures::{
        self, decode_hex,
        state_test::{Env, Indexes, PostEntry, StateTest, TxTemplate},
    },
    replay::ReplayError,
    report::Report,
    skips,
};

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
    let caller = match sender(&test.transaction) {
        Ok(c) => c,
        Err(reason) => return report.fail(case, reason),
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
pub fn transaction(test: &StateTest, entry: &PostEntry) -> Result<TxEnv, String> {
    build_tx(&test.transaction, entry.indexes, sender(&test.transaction)?)
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
    let tx = match build_tx(&test.transaction, entry.indexes, caller) {
        Ok(tx) => tx,
        // A field that does not fit its type cannot be encoded: the transaction is invalid.
        Err(reason) if entry.expect_exception.is_some() => {
            return check_unchanged(world, entry, reason);
        }
        Err(reason) => return Err(reason),
    };

    let started = Instant::now();
    let view = StateView {
        world,
        hashes: &TestBlockHashes,
    };
    let outcome = transact::transact(view, env, tx, tier);
    report.timing.exec_ms += started.elapsed().as_secs_f64() * 1e3;
    let done = match (outcome, &entry.expect_exception) {
        (Err(e), Some(_)) => return check_unchanged(world, entry, e.to_string()),
        (Err(e), None) => return Err(e.to_string()),
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

/// An invalid transaction must leave the pre-state, whose root the entry names.
fn check_unchanged(world: &WorldState, entry: &PostEntry, why: String) -> Result<(), String> {
    let root = world.state_root();
    if root != entry.hash {
        return Err(format!(
            "rejected ({why}) but expected root {} != pre-state root {root}",
            entry.hash
        ));
    }
    Ok(())
}

/// `sender`, or the address of `secretKey`.
fn sender(tx: &TxTemplate) -> Result<Address, String> {
    if let Some(sender) = tx.sender {
        return Ok(sender);
    }
    let key = tx
        .secret_key
        .ok_or("transaction has neither sender nor secretKey")?;
    let key = k256::ecdsa::SigningKey::from_slice(key.as_slice())
        .map_err(|e| format!("bad secretKey: {e}"))?;
    Ok(Address::from_public_key(key.verifying_key()))
}

fn build_tx(t: &TxTemplate, ix: Indexes, caller: Address) -> Result<TxEnv, String> {
    let pick = |list: &[String], i: usize, what: &str| -> Result<String, String> {
        list.get(i)
            .cloned()
            .ok_or_else(|| format!("{what} index {i} out of range"))
    };
    let data: Bytes = decode_hex(&strip_label(&pick(&t.data, ix.data, "data")?))?.into();
    let gas_limit = u64_hex(&pick(&t.gas_limit, ix.gas, "gas")?)?;
    let value = u256_hex(&pick(&t.value, ix.value, "value")?)?;
    let access_list = t
        .access_lists
        .as_ref()
        .and_then(|l| l.get(ix.data).cloned().flatten());
    let mut tx = TxEnv {
        caller,
        gas_limit,
        value,
        data,
        nonce: u64_hex(&t.nonce)?,
        chain_id: Some(1),
        kind: if t.to.is_empty() {
            TxKind::Create
        } else {
            TxKind::Call(t.to.parse().map_err(|e| format!("bad `to`: {e}"))?)
        },
        ..Default::default()
    };
    tx.gas_price = match (&t.gas_price, &t.max_fee_per_gas) {
        (Some(p), _) | (None, Some(p)) => u128_hex(p)?,
        (None, None) => 0,
    };
    if let Some(access_list) = access_list {
        tx.access_list = access_list;
        tx.tx_type = 1;
    }
    if let Some(tip) = &t.max_priority_fee_per_gas {
        tx.gas_priority_fee = Some(u128_hex(tip)?);
        tx.tx_type = 2;
    }
    if let Some(hashes) = &t.blob_versioned_hashes {
        if tx.kind.is_create() {
            return Err(
                "a blob transaction cannot create a contract (EIP-4844 `to` is mandatory)".into(),
            );
        }
        tx.blob_hashes = hashes.clone();
        tx.max_fee_per_blob_gas = t
            .max_fee_per_blob_gas
            .as_deref()
            .map(u128_hex)
            .transpose()?
            .unwrap_or_default();
        tx.tx_type = 3;
    }
    Ok(tx)
}

/// Data entries may carry a `:label ` prefix in filled tests; the hex follows it.
fn strip_label(s: &str) -> String {
    match s.rsplit_once(' ') {
        Some((label, hex)) if label.starts_with(":label") => hex.to_string(),
        _ => s.to_string(),
    }
}

fn u256_hex(s: &str) -> Result<U256, String> {
    U256::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| format!("`{s}`: {e}"))
}

fn u64_hex(s: &str) -> Result<u64, String> {
    u256_hex(s).and_then(u64_of)
}

fn u128_hex(s: &str) -> Result<u128, String> {
    u256_hex(s).and_then(|v| u128::try_from(v).map_err(|_| format!("`{s}` exceeds 128 bits")))
}

fn u64_of(v: U256) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("{v} exceeds 64 bits"))
}
