//! A world of contracts and one transaction against it, run on either tier or on both and
//! compared: what the test binaries of the compiled tier share.

use std::collections::BTreeMap;

use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use executor::{
    BlockHashes, StateView, WorldState,
    chain::ChainSpec,
    revm::context::{BlockEnv, TxEnv},
    submodule::{Outcome, Tier, runtime::frame_counts},
    transact::{self, Transacted},
};

const SENDER: Address = address!("0x00000000000000000000000000000000000000aa");
pub const TARGET: Address = address!("0x00000000000000000000000000000000000000cc");
pub const GAS: u64 = 1 << 40;

struct NoHashes;

impl BlockHashes for NoHashes {
    fn block_hash(&self, _: u64) -> Option<B256> {
        None
    }
}

pub fn world(contracts: &[(Address, &[u8])]) -> WorldState {
    let mut alloc = BTreeMap::new();
    alloc.insert(
        SENDER,
        GenesisAccount::default().with_balance(U256::from(1u128 << 100)),
    );
    // Contracts hold a little ether, so their calls can send value.
    for (address, code) in contracts {
        let account = GenesisAccount::default()
            .with_code(Some(Bytes::copy_from_slice(code)))
            .with_balance(U256::from(1000));
        alloc.insert(*address, account);
    }
    WorldState::from_alloc(&alloc)
}

fn run_at(fork: &str, world: &WorldState, data: &[u8], gas: u64, tier: Tier) -> Transacted {
    let chain = ChainSpec::from_test_network(fork).expect("known fork");
    let block = BlockEnv {
        gas_limit: GAS,
        ..Default::default()
    };
    let tx = TxEnv {
        caller: SENDER,
        kind: TxKind::Call(TARGET),
        data: Bytes::copy_from_slice(data),
        gas_limit: gas,
        gas_price: 0,
        chain_id: Some(chain.chain_id),
        ..Default::default()
    };
    let view = StateView {
        world,
        hashes: &NoHashes,
    };
    transact::transact(&view, transact::env(&chain, block), tx, tier).expect("valid transaction")
}

/// Runs the transaction on both tiers and requires the same result (down to the halt reason),
/// gas, output, logs and writes, and that the compiled run did run compiled (no frame fell back
/// to the interpreter for want of a module; handing over at a failing check is compiled code's
/// own doing); returns the compiled run.
pub fn same_on_both_tiers(world: &WorldState, data: &[u8], gas: u64) -> Transacted {
    same_on_both_tiers_at("Cancun", world, data, gas)
}

pub fn same_on_both_tiers_at(fork: &str, world: &WorldState, data: &[u8], gas: u64) -> Transacted {
    let interpreted = run_at(fork, world, data, gas, Tier::Interpret);
    let before = frame_counts();
    let compiled = run_at(fork, world, data, gas, Tier::Compile);
    let after = frame_counts();
    assert!(after.compiled > before.compiled, "no frame ran compiled");
    assert_eq!(
        after.interpreted, before.interpreted,
        "a frame fell back to the interpreter"
    );
    assert_eq!(
        Outcome::of(&compiled.result),
        Outcome::of(&interpreted.result),
        "{:?}",
        compiled.result
    );
    assert_eq!(compiled.writes, interpreted.writes);
    compiled
}
