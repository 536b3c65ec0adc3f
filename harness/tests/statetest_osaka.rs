//! Osaka and Prague edges of `harness statetest`, from the EIPs: EIP-7825's transaction gas
//! limit cap, EIP-7702's set-code transactions (the authorization list, its intrinsic cost)
//! and EIP-7939's CLZ run through a delegated account.
//!
//! Each test writes state tests in the fixture format to a temporary file and runs them
//! through the runner `harness statetest` uses, on both tiers. The expected post-states are
//! written out by hand from the EIPs' rules and hashed into the entries' roots, so an entry
//! passes only if the transaction was accepted or rejected as the EIP says and did exactly
//! what it says.

use std::{collections::BTreeMap, path::PathBuf};

use alloy_eips::eip7702::Authorization;
use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, U256, address, b256, keccak256};
use executor::{WorldState, submodule::Tier};
use harness::{
    report::Report,
    statetest::{self, StatetestOptions},
};
use serde_json::{Value, json};

type Alloc = BTreeMap<Address, GenesisAccount>;

/// EIP-7825: `MAX_GAS_LIMIT = 2**24`.
const CAP: u64 = 1 << 24;
/// EIP-7702: `PER_EMPTY_ACCOUNT_COST`, charged per tuple in the intrinsic cost.
const PER_EMPTY_ACCOUNT_COST: u64 = 25_000;
const TX_BASE: u64 = 21_000;

const SENDER_KEY: B256 =
    b256!("0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8");
const AUTHORITY_KEYS: [B256; 2] = [
    b256!("0x00000000000000000000000000000000000000000000000000000000000a11ce"),
    b256!("0x0000000000000000000000000000000000000000000000000000000000000b0b"),
];
const COINBASE: Address = address!("0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba");
const CONTRACT: Address = address!("0x00000000000000000000000000000000000c0de0");
const DELEGATE: Address = address!("0x000000000000000000000000000000000000de1e");
/// A destination without code: a transaction to it spends exactly its intrinsic gas.
const NOBODY: Address = address!("0x000000000000000000000000000000000000dead");

const BALANCE: u128 = 1_000_000_000_000_000_000;
const BASE_FEE: u64 = 7;
const MAX_FEE: u64 = 10;
const TIP: u64 = 1;

fn key_address(key: B256) -> Address {
    let key = k256::ecdsa::SigningKey::from_slice(key.as_slice()).expect("valid key");
    Address::from_public_key(key.verifying_key())
}

fn sender() -> Address {
    key_address(SENDER_KEY)
}

/// An authorization tuple signed by `key`, in the fixture format (`v`, `yParity` or both).
fn authorize(key: B256, chain_id: u64, address: Address, nonce: u64, parity: &str) -> Value {
    let auth = Authorization {
        chain_id: U256::from(chain_id),
        address,
        nonce,
    };
    let signing = k256::ecdsa::SigningKey::from_slice(key.as_slice()).expect("valid key");
    let (sig, recid) = signing
        .sign_prehash_recoverable(auth.signature_hash().as_slice())
        .expect("signs");
    let bytes = sig.to_bytes();
    let y = format!("0x{:02x}", u8::from(recid.is_y_odd()));
    let mut tuple = json!({
        "chainId": format!("0x{chain_id:x}"),
        "address": address,
        "nonce": format!("0x{nonce:x}"),
        "r": format!("0x{}", alloy_primitives::hex::encode(&bytes[..32])),
        "s": format!("0x{}", alloy_primitives::hex::encode(&bytes[32..])),
        "signer": key_address(key),
    });
    for field in parity.split('+') {
        tuple[field] = json!(y);
    }
    tuple
}

fn account(balance: u128, nonce: u64, code: &[u8]) -> GenesisAccount {
    GenesisAccount::default()
        .with_balance(U256::from(balance))
        .with_nonce(Some(nonce))
        .with_code((!code.is_empty()).then(|| Bytes::copy_from_slice(code)))
}

/// EIP-7702's delegation indicator `0xef0100 || address`.
fn delegation(to: Address) -> Vec<u8> {
    [&[0xef, 0x01, 0x00][..], to.as_slice()].concat()
}

fn with_storage(mut account: GenesisAccount, slots: &[(u64, u64)]) -> GenesisAccount {
    let storage = slots
        .iter()
        .map(|&(k, v)| (B256::from(U256::from(k)), B256::from(U256::from(v))))
        .collect();
    account.storage = Some(storage);
    account
}

/// One post entry: under `fork`, the transaction with gas limit `gas` and data `data` either
/// leaves `post` or is rejected with `expect` (then the post-state is the pre-state).
struct Entry {
    fork: &'static str,
    gas: u64,
    data: usize,
    expect: Option<&'static str>,
    post: Alloc,
}

fn entry(
    fork: &'static str,
    gas: u64,
    data: usize,
    expect: Option<&'static str>,
    post: Alloc,
) -> Entry {
    Entry {
        fork,
        gas,
        data,
        expect,
        post,
    }
}

fn state_root(alloc: &Alloc) -> B256 {
    WorldState::from_alloc(alloc).state_root()
}

/// The block the transactions run in: its gas limit and base fee.
#[derive(Clone, Copy)]
struct Block {
    gas_limit: u64,
    base_fee: u64,
}

const BLOCK: Block = Block {
    gas_limit: 1 << 27,
    base_fee: BASE_FEE,
};

/// One state test per entry, in the fixture format, all sharing `pre` and the transaction
/// template `tx` (whose `gasLimit` is filled in per entry).
fn tests(block: Block, pre: &Alloc, tx: &Value, entries: Vec<Entry>) -> Value {
    // keccak256(rlp([])): no logs.
    let no_logs = keccak256([0xc0]);
    let mut file = serde_json::Map::new();
    for (i, e) in entries.into_iter().enumerate() {
        let mut tx = tx.clone();
        tx["gasLimit"] = json!([format!("0x{:x}", e.gas)]);
        tx["secretKey"] = json!(SENDER_KEY);
        let mut entry = json!({
            "indexes": {"data": e.data, "gas": 0, "value": 0},
            "hash": state_root(&e.post),
            "logs": no_logs,
        });
        if let Some(expect) = e.expect {
            entry["expectException"] = json!(expect);
        }
        let test = json!({
            "env": {
                "currentCoinbase": COINBASE,
                "currentGasLimit": format!("0x{:x}", block.gas_limit),
                "currentNumber": "0x01",
                "currentTimestamp": "0x03e8",
                "currentBaseFee": format!("0x{:x}", block.base_fee),
                "currentRandom": B256::ZERO,
                "currentExcessBlobGas": "0x00",
            },
            "pre": pre,
            "transaction": tx,
            "post": {e.fork: [entry]},
        });
        file.insert(format!("case{i}_{}_gas{}", e.fork, e.gas), test);
    }
    Value::Object(file)
}

/// Runs `tests` on `tier` as `harness statetest` does.
fn run_on(name: &str, tests: &Value, tier: Tier) -> Report {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "statetest-osaka-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(tests).unwrap()).unwrap();
    let mut report = Report::new("statetest");
    let result = statetest::run(
        std::slice::from_ref(&path),
        &StatetestOptions { tier },
        &mut report,
    );
    std::fs::remove_file(&path).ok();
    result.expect("the file is readable");
    report
}

/// Every entry passes on both tiers.
fn assert_all_pass(name: &str, tests: &Value) {
    let count = tests.as_object().unwrap().len();
    for tier in [Tier::Interpret, Tier::Compile] {
        let report = run_on(name, tests, tier);
        assert!(
            report.failures.is_empty(),
            "{name} on {tier:?}: {:#?}",
            report.failures
        );
        assert_eq!(report.passed, count, "{name} on {tier:?}");
    }
}

/// `SSTORE(0, 1)`: a transaction that ran leaves slot 0 set.
const STORE_ONE: [u8; 6] = [0x60, 0x01, 0x60, 0x00, 0x55, 0x00];

fn cap_pre() -> Alloc {
    Alloc::from([
        (sender(), account(BALANCE, 0, &[])),
        (COINBASE, account(1, 0, &[])),
        (CONTRACT, account(0, 0, &STORE_ONE)),
    ])
}

/// After a legacy transaction at the base fee that ran `STORE_ONE` using `gas_used`: the
/// sender paid `gas_used * BASE_FEE`, all burnt.
fn cap_post(gas_used: u64) -> Alloc {
    let mut post = cap_pre();
    let paid = u128::from(gas_used * BASE_FEE);
    post.insert(sender(), account(BALANCE - paid, 1, &[]));
    post.insert(CONTRACT, with_storage(account(0, 0, &STORE_ONE), &[(0, 1)]));
    post
}

fn legacy_to(to: Address) -> Value {
    json!({
        "data": ["0x"],
        "value": ["0x00"],
        "nonce": "0x00",
        "gasPrice": format!("0x{BASE_FEE:x}"),
        "to": to,
    })
}

/// EIP-7825: "Transactions specifying gas limits higher than 16,777,216 gas will be
/// rejected", "regardless of the block gas limit"; Prague has no cap.
#[test]
fn eip7825_caps_the_transaction_gas_limit_from_osaka() {
    let pre = cap_pre();
    // 21000 + two PUSH1 (3 each) + SSTORE of a fresh slot (22100).
    let used = TX_BASE + 6 + 22_100;
    let exceeds = "TransactionException.GAS_LIMIT_EXCEEDS_MAXIMUM";
    let entries = vec![
        entry("Osaka", CAP, 0, None, cap_post(used)),
        entry("Osaka", CAP + 1, 0, Some(exceeds), pre.clone()),
        entry("Prague", CAP + 1, 0, None, cap_post(used)),
        entry("Prague", 1 << 26, 0, None, cap_post(used)),
    ];
    assert_all_pass("cap", &tests(BLOCK, &pre, &legacy_to(CONTRACT), entries));

    // Above both the cap and the block's gas limit: the cap is the reason at Osaka (the
    // specs validate the transaction before checking the block's gas), the block at Prague.
    let entries = vec![
        entry("Osaka", CAP + 1, 0, Some(exceeds), pre.clone()),
        entry(
            "Prague",
            CAP + 1,
            0,
            Some("TransactionException.GAS_ALLOWANCE_EXCEEDED"),
            pre.clone(),
        ),
    ];
    assert_all_pass(
        "cap_and_block",
        &tests(
            Block {
                gas_limit: CAP,
                ..BLOCK
            },
            &pre,
            &legacy_to(CONTRACT),
            entries,
        ),
    );
}

/// A transaction rejected for another reason than the entry's `expectException` fails the
/// entry: the check the fixture was written for did not happen.
#[test]
fn a_rejection_for_another_reason_fails_the_entry() {
    let pre = cap_pre();
    let entries = vec![
        entry(
            "Osaka",
            CAP + 1,
            0,
            Some("TransactionException.INTRINSIC_GAS_TOO_LOW"),
            pre.clone(),
        ),
        entry(
            "Prague",
            CAP + 1,
            0,
            Some("TransactionException.GAS_LIMIT_EXCEEDS_MAXIMUM"),
            pre.clone(),
        ),
    ];
    let tests = tests(
        Block {
            gas_limit: CAP,
            ..BLOCK
        },
        &pre,
        &legacy_to(CONTRACT),
        entries,
    );
    for tier in [Tier::Interpret, Tier::Compile] {
        let report = run_on("wrong_reason", &tests, tier);
        assert_eq!(report.passed, 0, "{tier:?}: {:#?}", report.failures);
        assert_eq!(report.failed, 2, "{tier:?}");
        for failure in &report.failures {
            assert!(failure.reason.contains("expected"), "{}", failure.reason);
        }
    }
}

/// A set-code transaction to `to` from the sender, at `MAX_FEE` with tip `TIP`.
fn set_code_to(to: Address, data: &[&str], authorizations: Vec<Value>) -> Value {
    json!({
        "data": data,
        "value": ["0x00"],
        "nonce": "0x00",
        "maxFeePerGas": format!("0x{MAX_FEE:x}"),
        "maxPriorityFeePerGas": format!("0x{TIP:x}"),
        "accessLists": [[], []],
        "authorizationList": authorizations,
        "to": to,
    })
}

/// The pre-state of the set-code tests: the sender, the coinbase and the delegate's code;
/// the authorities do not exist yet.
fn set_code_pre(delegate_code: &[u8]) -> Alloc {
    Alloc::from([
        (sender(), account(BALANCE, 0, &[])),
        (COINBASE, account(1, 0, &[])),
        (DELEGATE, account(0, 0, delegate_code)),
    ])
}

/// After a set-code transaction that used `gas_used` and delegated each of `authorities`
/// (absent before) to `DELEGATE`: each is empty but for nonce 1 and the indicator, so no
/// refund. The sender pays `BASE_FEE + TIP` per gas, the coinbase gets `TIP`.
fn delegated(pre: &Alloc, gas_used: u64, authorities: &[Address]) -> Alloc {
    let mut post = pre.clone();
    let paid = u128::from(gas_used * (BASE_FEE + TIP));
    post.insert(sender(), account(BALANCE - paid, 1, &[]));
    post.insert(COINBASE, account(1 + u128::from(gas_used * TIP), 0, &[]));
    for authority in authorities {
        post.insert(*authority, account(0, 1, &delegation(DELEGATE)));
    }
    post
}

/// EIP-7702's intrinsic cost: EIP-2930's (`21000 + 16 * non-zero calldata bytes + 4 * zero
/// calldata bytes`) "plus `PER_EMPTY_ACCOUNT_COST * authorization list length`", paid "for
/// all authorization tuples, regardless of validity". One gas below it the transaction is
/// invalid (INTRINSIC_GAS_TOO_LOW); at exactly it, it runs and delegates.
#[test]
fn eip7702_intrinsic_gas_counts_every_authorization() {
    let pre = set_code_pre(&[0x00]);
    let [alice, bob] = AUTHORITY_KEYS.map(key_address);
    // Chain id 1 and 0 ("0 or the ID of the current chain") both apply; the third tuple's
    // signature recovers to nothing (r = 0) and is skipped, but still paid for.
    let mut invalid = authorize(AUTHORITY_KEYS[0], 1, NOBODY, 1, "v");
    invalid["r"] = json!("0x00");
    let authorizations = vec![
        authorize(AUTHORITY_KEYS[0], 1, DELEGATE, 0, "v+yParity"),
        authorize(AUTHORITY_KEYS[1], 0, DELEGATE, 0, "v"),
        invalid,
    ];
    // Data 0 is empty; data 1 is three non-zero bytes and one zero byte.
    let tx = set_code_to(NOBODY, &["0x", "0x01020300"], authorizations);
    let intrinsic = |calldata: u64| TX_BASE + 3 * PER_EMPTY_ACCOUNT_COST + calldata;
    let too_low = Some("TransactionException.INTRINSIC_GAS_TOO_LOW");
    let mut entries = Vec::new();
    for fork in ["Prague", "Osaka"] {
        for (data, calldata) in [(0, 0), (1, 3 * 16 + 4)] {
            let gas = intrinsic(calldata);
            let post = delegated(&pre, gas, &[alice, bob]);
            entries.push(entry(fork, gas, data, None, post));
            let post = pre.clone();
            entries.push(entry(fork, gas - 1, data, too_low, post));
        }
    }
    assert_all_pass("intrinsic", &tests(BLOCK, &pre, &tx, entries));
}

/// A set-code transaction is capped like any other at Osaka (EIP-7825): at 2^24 it runs
/// (and spends only its intrinsic gas), one above is invalid; at Prague both run.
#[test]
fn eip7702_transaction_at_the_cap() {
    let pre = set_code_pre(&[0x00]);
    let alice = key_address(AUTHORITY_KEYS[0]);
    let tx = set_code_to(
        NOBODY,
        &["0x"],
        vec![authorize(AUTHORITY_KEYS[0], 1, DELEGATE, 0, "yParity")],
    );
    let used = TX_BASE + PER_EMPTY_ACCOUNT_COST;
    let post = delegated(&pre, used, &[alice]);
    let exceeds = Some("TransactionException.GAS_LIMIT_EXCEEDS_MAXIMUM");
    let entries = vec![
        entry("Osaka", CAP, 0, None, post.clone()),
        entry("Osaka", CAP + 1, 0, exceeds, pre.clone()),
        entry("Prague", CAP, 0, None, post.clone()),
        entry("Prague", CAP + 1, 0, None, post),
    ];
    assert_all_pass("set_code_cap", &tests(BLOCK, &pre, &tx, entries));
}

/// EIP-7939's test cases: CLZ(0) = 256, CLZ(1) = 255, CLZ(2^255) = 0.
const CLZ_CASES: [(U256, u64); 3] = [
    (U256::ZERO, 256),
    (U256::from_limbs([1, 0, 0, 0]), 255),
    (U256::from_limbs([0, 0, 0, 1 << 63]), 0),
];
/// Gas between two GAS readings around `SWAP1 CLZ GAS`: 3 + CLZ's 5 + 2.
const CLZ_WINDOW_GAS: u64 = 3 + 5 + 2;

/// Code storing CLZ(x) at slot i and the gas its window took at slot 16 + i, for each case.
fn clz_code() -> Vec<u8> {
    let mut code = Vec::new();
    for (i, (x, _)) in CLZ_CASES.iter().enumerate() {
        code.push(0x7f); // PUSH32 x
        code.extend_from_slice(&x.to_be_bytes::<32>());
        // GAS SWAP1 CLZ GAS SWAP1 PUSH1 i SSTORE: slot i = CLZ(x); the two readings stay.
        code.extend_from_slice(&[0x5a, 0x90, 0x1e, 0x5a, 0x90, 0x60, i as u8, 0x55]);
        // SWAP1 SUB PUSH1 16+i SSTORE: slot 16+i = first reading - second.
        code.extend_from_slice(&[0x90, 0x03, 0x60, 16 + i as u8, 0x55]);
    }
    code.push(0x00);
    code
}

fn clz_storage() -> Vec<(u64, u64)> {
    let results = (0..).zip(CLZ_CASES.iter()).map(|(i, (_, clz))| (i, *clz));
    let gas = (16..).zip([CLZ_WINDOW_GAS; 3]);
    results.chain(gas).collect()
}

/// EIP-7939's CLZ reached through an EIP-7702 delegation runs the delegate's code under the
/// transaction's fork: at Osaka it gives the EIP's results at 5 gas, in the delegating
/// account's storage; at Prague 0x1e is undefined, the call fails and nothing is stored.
/// The delegation is either in the pre-state or set by the transaction itself.
#[test]
fn eip7939_clz_through_a_delegated_account() {
    let alice = key_address(AUTHORITY_KEYS[0]);
    let code = clz_code();
    let mut delegated_before = set_code_pre(&code);
    delegated_before.insert(alice, account(0, 1, &delegation(DELEGATE)));
    let legacy = json!({
        "data": ["0x"],
        "value": ["0x00"],
        "nonce": "0x00",
        "gasPrice": "0x00",
        "to": alice,
    });
    // After the call, whichever way alice was delegated: the sender's nonce bumped and the
    // results in alice's storage.
    let ran = |storage: &[(u64, u64)]| {
        let mut post = delegated_before.clone();
        post.insert(sender(), account(BALANCE, 1, &[]));
        let alice_account = account(0, 1, &delegation(DELEGATE));
        post.insert(alice, with_storage(alice_account, storage));
        post
    };
    let free = Block {
        base_fee: 0,
        ..BLOCK
    };
    let gas = 1_000_000;
    let entries = vec![
        entry("Osaka", gas, 0, None, ran(&clz_storage())),
        entry("Prague", gas, 0, None, ran(&[])),
    ];
    let pre = &delegated_before;
    assert_all_pass("clz_delegated", &tests(free, pre, &legacy, entries));

    // The same code reached through a delegation the transaction itself sets, at price 0
    // too: the storage is what is checked.
    let not_yet = set_code_pre(&code);
    let mut tx = set_code_to(
        alice,
        &["0x"],
        vec![authorize(AUTHORITY_KEYS[0], 1, DELEGATE, 0, "v+yParity")],
    );
    tx["maxFeePerGas"] = json!("0x00");
    tx["maxPriorityFeePerGas"] = json!("0x00");
    let entries = vec![entry("Osaka", gas, 0, None, ran(&clz_storage()))];
    assert_all_pass("clz_set_now", &tests(free, &not_yet, &tx, entries));
}
