//! Differential fuzzing of the compiled tier: random and mutated bytecode with calldata runs on
//! revm's interpreter and as a compiled submodule; status (down to the halt reason), gas,
//! output, logs and every state write must agree. Input: byte 0 is the calldata length, then
//! calldata, then the code.

#![no_main]

use std::collections::BTreeMap;

use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use executor::{
    BlockHashes, StateView, WorldState,
    chain::ChainSpec,
    revm::context::{BlockEnv, TxEnv},
    submodule::{Outcome, Tier, runtime::frame_counts},
    transact,
};
use libfuzzer_sys::fuzz_target;

const SENDER: Address = address!("0x00000000000000000000000000000000000000aa");
const TARGET: Address = address!("0x00000000000000000000000000000000000000cc");

struct NoHashes;

impl BlockHashes for NoHashes {
    fn block_hash(&self, number: u64) -> Option<B256> {
        Some(B256::with_last_byte(number as u8))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let (calldata, code) = rest.split_at((len as usize).min(rest.len()));
    let mut alloc = BTreeMap::new();
    alloc.insert(
        SENDER,
        GenesisAccount::default().with_balance(U256::from(1u128 << 80)),
    );
    let contract = GenesisAccount::default()
        .with_code(Some(Bytes::copy_from_slice(code)))
        .with_balance(U256::from(1000));
    alloc.insert(TARGET, contract);
    let world = WorldState::from_alloc(&alloc);
    let chain = ChainSpec::from_test_network("Prague").expect("known fork");
    let run = |tier| {
        let tx = TxEnv {
            caller: SENDER,
            kind: TxKind::Call(TARGET),
            data: Bytes::copy_from_slice(calldata),
            gas_limit: 3_000_000,
            gas_price: 0,
            chain_id: Some(chain.chain_id),
            ..Default::default()
        };
        let block = BlockEnv {
            gas_limit: 30_000_000,
            number: U256::from(300),
            ..Default::default()
        };
        let view = StateView {
            world: &world,
            hashes: &NoHashes,
        };
        transact::transact(&view, transact::env(&chain, block), tx, tier)
    };
    let interpreted = run(Tier::Interpret).expect("valid transaction");
    let before = frame_counts().interpreted;
    let compiled = run(Tier::Compile).expect("valid transaction");
    let code = alloy_primitives::hex::encode(code);
    // Code the compiler or wasmer rejects would run interpreted and hide any divergence.
    assert_eq!(frame_counts().interpreted, before, "code {code}");
    assert_eq!(
        Outcome::of(&compiled.result),
        Outcome::of(&interpreted.result),
        "code {code}"
    );
    assert_eq!(compiled.writes, interpreted.writes, "code {code}");
});
