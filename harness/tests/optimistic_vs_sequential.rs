//! Optimistic execution against sequential execution on random blocks built to conflict: few
//! senders (each one's transactions chained by nonce and balance), one storage slot every
//! counter call reads and writes, and a beneficiary that is sometimes a sender, a recipient,
//! paid by a contract or read by one (`BALANCE(COINBASE)`), which must then not be credited
//! lazily. Receipts, gas, the post-state and the recorded access list must be the sequential
//! ones, in every one of several runs of each block (the runs interleave differently).

use std::collections::HashMap;

use alloy_consensus::TxEnvelope;
use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, Bytes, U256, address};
use executor::{
    StateView,
    block::{self, ExecMode, ExecOptions},
};
use harness::demo::{
    self,
    builder::{BlockBuilder, Wallet},
};
use proptest::prelude::*;

/// `slot0 += 1`, reading the slot, counting down from 8192, then writing it: every call reads
/// and writes the same slot, with time between for another run to do the same.
const COUNTER: Address = address!("0x000000000000000000000000000000000000c001");
/// `slot0 = BALANCE(COINBASE)`: reads the beneficiary's balance while the transaction runs.
const BENEFICIARY_READER: Address = address!("0x000000000000000000000000000000000000c002");
/// Forwards the call's value to the beneficiary.
const BENEFICIARY_PAYER: Address = address!("0x000000000000000000000000000000000000c003");
/// A beneficiary no transaction names.
const OUTSIDER: Address = address!("0x000000000000000000000000000000000000fee0");

const SENDERS: usize = 3;

/// One transaction of a random block.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// A value transfer to another sender (`to` modulo the senders) or, past them, to the
    /// beneficiary.
    Transfer {
        to: usize,
        value: u64,
    },
    Count,
    ReadBeneficiary,
    PayBeneficiary {
        value: u64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..=SENDERS, 1u64..1_000_000).prop_map(|(to, value)| Action::Transfer { to, value }),
        Just(Action::Count),
        Just(Action::ReadBeneficiary),
        (0u64..1_000).prop_map(|value| Action::PayBeneficiary { value }),
    ]
}

/// A block's transactions, each with its sender, and whether the beneficiary is sender 0.
fn block_spec() -> impl Strategy<Value = (Vec<(usize, Action)>, bool)> {
    (
        prop::collection::vec((0..SENDERS, action()), 1..40),
        any::<bool>(),
    )
}

/// A builder on the demo genesis with the three contracts above, and its funded senders.
fn builder() -> (BlockBuilder, Vec<Wallet>) {
    let wallets: Vec<Wallet> = (0..SENDERS as u64).map(Wallet::derive).collect();
    let mut genesis = demo::genesis(&wallets, 0);
    for (address, code) in [
        // PUSH0 SLOAD PUSH2 8192 (JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH1 5 JUMPI) POP
        // PUSH1 1 ADD PUSH0 SSTORE
        (COUNTER, "0x5f546120005b6001900380600557506001015f55"),
        // COINBASE BALANCE PUSH0 SSTORE
        (BENEFICIARY_READER, "0x41315f55"),
        // CALL(GAS, COINBASE, CALLVALUE, 0, 0, 0, 0) POP
        (BENEFICIARY_PAYER, "0x5f5f5f5f34415af150"),
    ] {
        let code: Bytes = code.parse().unwrap();
        genesis
            .alloc
            .insert(address, GenesisAccount::default().with_code(Some(code)));
    }
    let (chain, world, header) = executor::genesis::from_genesis(&genesis);
    (BlockBuilder::new(chain, header, world), wallets)
}

fn transactions(
    builder: &BlockBuilder,
    wallets: &mut [Wallet],
    spec: &[(usize, Action)],
    beneficiary: Address,
) -> Vec<TxEnvelope> {
    let chain_id = builder.chain.chain_id;
    let max_fee = u128::from(builder.next_base_fee()) * 2 + 1_000_000_000;
    let recipients: Vec<Address> = wallets.iter().map(|w| w.address).collect();
    spec.iter()
        .map(|&(from, action)| {
            let (to, value) = match action {
                Action::Transfer { to, value } => {
                    (recipients.get(to).copied().unwrap_or(beneficiary), value)
                }
                Action::Count => (COUNTER, 0),
                Action::ReadBeneficiary => (BENEFICIARY_READER, 0),
                Action::PayBeneficiary { value } => (BENEFICIARY_PAYER, value),
            };
            wallets[from].call(
                chain_id,
                to,
                U256::from(value),
                Bytes::new(),
                300_000,
                max_fee,
            )
        })
        .collect()
}

/// Four runners on a pool of its own, whatever the machine's cores: more runs at once than
/// cores, so the operating system interleaves them at arbitrary points.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn optimistic_equals_sequential_on_conflicting_blocks((spec, sender_is_beneficiary) in block_spec()) {
        let (mut builder, mut wallets) = builder();
        let beneficiary = if sender_is_beneficiary { wallets[0].address } else { OUTSIDER };
        let parent = builder.world.clone();
        let txs = transactions(&builder, &mut wallets, &spec, beneficiary);
        let (block, _) = builder.seal(txs, beneficiary).unwrap();
        let hashes = HashMap::from([(0, block.header.parent_hash)]);
        let view = StateView { world: &parent, hashes: &hashes };
        let sequential =
            block::execute(&builder.chain, &block, &view, ExecOptions::verified().recording())
                .unwrap();
        for _ in 0..4 {
            let optimistic = pool().install(|| {
                block::execute(
                    &builder.chain,
                    &block,
                    &view,
                    ExecOptions::verified().recording().with_mode(ExecMode::Optimistic),
                )
            })
            .unwrap();
            prop_assert_eq!(&optimistic.receipts, &sequential.receipts);
            prop_assert_eq!(optimistic.gas_used, sequential.gas_used);
            prop_assert_eq!(&optimistic.access_list, &sequential.access_list);
            prop_assert_eq!(
                parent.updates_for(&optimistic.writes),
                parent.updates_for(&sequential.writes)
            );
        }
    }
}
