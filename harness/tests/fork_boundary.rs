//! EIP-161 at its fork block, on a chain built here: Spurious Dragon activates at block
//! [`FORK`], and the blocks before, at and after it touch accounts that exist empty
//! (transactions to them, zero-value calls, precompiles, SELFDESTRUCT beneficiaries), read
//! them, create empty accounts, and destroy contracts that hold storage. Every flag
//! combination of the commitment pipeline must commit the header's root for every block with
//! the access lists recorded while sealing; shadow mode must never diverge.
//!
//! The chain is before Byzantium throughout, so each import also checks receipts that carry
//! the state root after their transaction, which the builder computed on its own path.

use std::{collections::BTreeMap, sync::Arc};

use alloy_consensus::{Header, TxEnvelope};
use alloy_genesis::{ChainConfig, Genesis, GenesisAccount};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use bal::BlockAccessList;
use commitment::Config;
use executor::{
    WorldState,
    block::{Block, BlockError, OutcomeError, ReceiptsCheck},
    chain::ChainSpec,
    chainstore::{BlockInput, ChainStore},
};
use harness::demo::builder::{BlockBuilder, Wallet};

/// The Spurious Dragon block.
const FORK: u64 = 2;
/// Blocks `1..=TOUCHING` touch accounts, one way per chain; the one after only moves value.
const TOUCHING: u64 = 3;
const GAS_PRICE: u128 = 1_000_000_000;
const COINBASE: Address = Address::repeat_byte(0xcb);
/// Calls the address in its calldata with no value (an EIP-161 touch).
const TOUCHER: Address = Address::repeat_byte(0x70);
/// Reads the balance of the address in its calldata (not a touch).
const READER: Address = Address::repeat_byte(0x71);

/// `CALL(gas, calldata[0], 0, 0, 0, 0, 0); STOP`
const TOUCHER_CODE: &[u8] = &[
    0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x35, 0x5a, 0xf1, 0x50, 0x00,
];
/// `BALANCE(calldata[0]); STOP`
const READER_CODE: &[u8] = &[0x60, 0, 0x35, 0x31, 0x50, 0x00];
/// `SELFDESTRUCT(calldata[0])`
const DOOMED_CODE: &[u8] = &[0x60, 0, 0x35, 0xff];

/// What an address of block `block` is for.
#[derive(Clone, Copy)]
enum Role {
    /// Exists empty; a transaction sends it nothing.
    TxTarget,
    /// Exists empty; TOUCHER calls it with no value.
    CallTarget,
    /// Exists empty; READER reads its balance.
    Read,
    /// Exists empty; an unfunded contract self-destructs to it.
    Beneficiary,
    /// Exists empty; a funded contract self-destructs to it.
    FundedBeneficiary,
    /// Does not exist; a transaction sends it nothing (creates it, empty, before EIP-161).
    Absent,
    /// A contract with storage and no balance that self-destructs.
    Doomed,
    /// A contract with storage and a balance that self-destructs, then receives value again.
    FundedDoomed,
}

fn address(block: u64, role: Role) -> Address {
    Address::from_word(keccak256(
        [
            b"fork-boundary".as_slice(),
            &block.to_be_bytes(),
            &[role as u8],
        ]
        .concat(),
    ))
}

fn word(address: Address) -> Bytes {
    Bytes::copy_from_slice(B256::left_padding_from(address.as_slice()).as_slice())
}

fn genesis(wallets: &[Wallet]) -> Genesis {
    let mut alloc = BTreeMap::new();
    for w in wallets {
        alloc.insert(
            w.address,
            GenesisAccount::default().with_balance(U256::from(10u128.pow(21))),
        );
    }
    // The precompiles exist, empty, as on mainnet before Spurious Dragon.
    for p in 1..=4u8 {
        alloc.insert(Address::with_last_byte(p), GenesisAccount::default());
    }
    let code = |c: &[u8]| Some(Bytes::copy_from_slice(c));
    alloc.insert(
        TOUCHER,
        GenesisAccount::default().with_code(code(TOUCHER_CODE)),
    );
    alloc.insert(
        READER,
        GenesisAccount::default().with_code(code(READER_CODE)),
    );
    let storage = Some(BTreeMap::from([
        (B256::with_last_byte(1), B256::with_last_byte(1)),
        (B256::with_last_byte(2), B256::with_last_byte(2)),
    ]));
    for b in 1..=TOUCHING {
        for role in [
            Role::TxTarget,
            Role::CallTarget,
            Role::Read,
            Role::Beneficiary,
            Role::FundedBeneficiary,
        ] {
            alloc.insert(address(b, role), GenesisAccount::default());
        }
        let doomed = GenesisAccount::default()
            .with_code(code(DOOMED_CODE))
            .with_storage(storage.clone());
        alloc.insert(address(b, Role::Doomed), doomed.clone());
        alloc.insert(
            address(b, Role::FundedDoomed),
            doomed.with_balance(U256::from(1)),
        );
    }
    Genesis {
        config: ChainConfig {
            chain_id: 1,
            homestead_block: Some(0),
            eip150_block: Some(0),
            eip158_block: Some(FORK),
            ..Default::default()
        },
        gas_limit: 8_000_000,
        difficulty: U256::from(0x20000),
        alloc,
        ..Default::default()
    }
}

/// One way a block deals with an empty or doomed account.
#[derive(Clone, Copy, Debug)]
enum Touch {
    /// A transaction sends an empty account nothing.
    Transaction,
    /// A transaction calls an empty precompile with no value.
    Precompile,
    /// A contract calls an empty account with no value.
    ZeroValueCall,
    /// A contract reads an empty account's balance (not a touch).
    BalanceRead,
    /// An unfunded contract with storage self-destructs to an empty account.
    SelfDestruct,
    /// A funded contract with storage self-destructs to an empty account, then receives
    /// value again.
    SelfDestructRevived,
    /// A transaction sends an absent account nothing.
    ZeroValueCreate,
}

const TOUCHES: [Touch; 7] = [
    Touch::Transaction,
    Touch::Precompile,
    Touch::ZeroValueCall,
    Touch::BalanceRead,
    Touch::SelfDestruct,
    Touch::SelfDestructRevived,
    Touch::ZeroValueCreate,
];

/// Block `b`'s transactions for `touch`.
fn transactions(b: u64, touch: Touch, wallets: &mut [Wallet]) -> Vec<TxEnvelope> {
    let (first, rest) = wallets.split_at_mut(1);
    let (w, funder) = (&mut first[0], &mut rest[0]);
    let mut call = |to, input| w.legacy_call(to, U256::ZERO, input, 100_000, GAS_PRICE);
    match touch {
        Touch::Transaction => vec![call(address(b, Role::TxTarget), Bytes::new())],
        Touch::Precompile => vec![call(Address::with_last_byte(b as u8), Bytes::new())],
        Touch::ZeroValueCall => vec![call(TOUCHER, word(address(b, Role::CallTarget)))],
        Touch::BalanceRead => vec![call(READER, word(address(b, Role::Read)))],
        Touch::SelfDestruct => vec![call(
            address(b, Role::Doomed),
            word(address(b, Role::Beneficiary)),
        )],
        Touch::SelfDestructRevived => vec![
            call(
                address(b, Role::FundedDoomed),
                word(address(b, Role::FundedBeneficiary)),
            ),
            funder.legacy_call(
                address(b, Role::FundedDoomed),
                U256::from(5),
                Bytes::new(),
                21_000,
                GAS_PRICE,
            ),
        ],
        Touch::ZeroValueCreate => vec![call(address(b, Role::Absent), Bytes::new())],
    }
}

struct Chain {
    spec: Genesis,
    chain: ChainSpec,
    genesis: Header,
    world: WorldState,
    blocks: Vec<Block>,
    lists: Vec<Arc<BlockAccessList>>,
}

/// Blocks `1..=TOUCHING` (either side of and at the fork) each do `touch`; the block after
/// them only moves value between the wallets.
fn build(touch: Touch) -> Chain {
    let mut wallets: Vec<Wallet> = (0..2).map(Wallet::derive).collect();
    let spec = genesis(&wallets);
    let (chain, world, genesis) = executor::genesis::from_genesis(&spec);
    let mut builder = BlockBuilder::new(chain.clone(), genesis.clone(), world.clone());
    let (mut blocks, mut lists) = (Vec::new(), Vec::new());
    for b in 1..=TOUCHING + 1 {
        let txs = if b <= TOUCHING {
            transactions(b, touch, &mut wallets)
        } else {
            let to = wallets[1].address;
            vec![wallets[0].legacy_call(to, U256::from(7), Bytes::new(), 21_000, GAS_PRICE)]
        };
        let (block, list) = builder.seal(txs, COINBASE).expect("the chain seals");
        blocks.push(block);
        lists.push(Arc::new(list));
    }
    Chain {
        spec,
        chain,
        genesis,
        world,
        blocks,
        lists,
    }
}

fn store(c: &Chain, config: Config) -> ChainStore {
    ChainStore::new(c.chain.clone(), c.genesis.clone(), c.world.clone())
        .expect("the genesis hashes to its root")
        .with_commitment(config)
}

fn inputs(c: &Chain) -> Vec<BlockInput<'_>> {
    c.blocks
        .iter()
        .zip(&c.lists)
        .map(|(block, list)| BlockInput {
            block,
            access_list: Some(list),
            hash: None,
        })
        .collect()
}

#[test]
fn every_flag_combination_commits_the_header_roots_across_eip161() {
    for touch in TOUCHES {
        let c = build(touch);
        for config in Config::ALL {
            let mut store = store(&c, config);
            for (block, result) in c.blocks.iter().zip(store.import_batch(&inputs(&c))) {
                let number = block.header.number;
                let done =
                    result.unwrap_or_else(|e| panic!("{touch:?} [{config}] block {number}: {e}"));
                assert_eq!(done.state_root, block.header.state_root);
                assert_eq!(done.outcome.receipts_check, ReceiptsCheck::PostState);
            }
            let metrics = store.metrics();
            assert_eq!(metrics.divergences, 0, "{touch:?} [{config}]");
            if config.bal_driven {
                // At least the block that only moves value folds from its BAL.
                assert!(metrics.bal_folds >= 1, "{touch:?} [{config}] {metrics:?}");
            }
        }
    }
}

/// The chains do what their names say: before the fork touched empty accounts stay (and a
/// zero-value transaction creates one), from it on they are gone, a read keeps them, and a
/// destroyed contract's storage never comes back.
#[test]
fn the_chains_exercise_eip161_on_both_sides() {
    for touch in TOUCHES {
        let c = build(touch);
        let mut store = store(&c, Config::default());
        for result in store.import_batch(&inputs(&c)) {
            result.expect("imports");
        }
        let world = store
            .state_at(store.head())
            .expect("the head keeps its state");
        for b in 1..=TOUCHING {
            let exists = |address| world.account(&address).is_some();
            let before = b < FORK;
            let at = |role| address(b, role);
            match touch {
                Touch::Transaction => assert_eq!(exists(at(Role::TxTarget)), before),
                Touch::Precompile => {
                    assert_eq!(exists(Address::with_last_byte(b as u8)), before)
                }
                Touch::ZeroValueCall => assert_eq!(exists(at(Role::CallTarget)), before),
                Touch::BalanceRead => assert!(exists(at(Role::Read))),
                Touch::SelfDestruct => {
                    assert!(!exists(at(Role::Doomed)));
                    assert_eq!(exists(at(Role::Beneficiary)), before);
                }
                Touch::SelfDestructRevived => {
                    assert!(exists(at(Role::FundedBeneficiary)));
                    let revived = world.account(&at(Role::FundedDoomed)).expect("funded");
                    assert!(revived.storage.is_empty(), "block {b}: storage survived");
                }
                Touch::ZeroValueCreate => assert_eq!(exists(at(Role::Absent)), before),
            }
        }
    }
}

/// Receipts before Byzantium commit to the state root after each transaction, so their root
/// is checked like every other execution commitment: a wrong one is rejected.
#[test]
fn pre_byzantium_receipts_roots_are_checked() {
    let c = build(Touch::SelfDestructRevived);
    let block = &c.blocks[0];
    let mut tampered = block.clone();
    tampered.header.receipts_root = keccak256(block.header.receipts_root);
    let mut store = store(&c, Config::default());
    let err = store
        .import(&tampered)
        .expect_err("a wrong receipts root is rejected");
    assert!(
        matches!(err, BlockError::Outcome(OutcomeError::ReceiptsRoot { .. })),
        "{err}"
    );
    // The untouched block still imports on the same store: the failure left nothing behind.
    let done = store.import(block).expect("the real block imports");
    assert_eq!(done.outcome.receipts_check, ReceiptsCheck::PostState);
}

/// The same chains as a geth export (`genesis.json` + `chain.rlp`) through the CLI: every block
/// passes, and the report says each receipts root was checked with post-state roots.
#[test]
fn a_geth_export_before_byzantium_verifies_its_receipts() {
    let dir = std::env::temp_dir().join(format!("fork-boundary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = build(Touch::SelfDestructRevived);
    let genesis = dir.join("genesis.json");
    std::fs::write(&genesis, serde_json::to_vec(&c.spec).unwrap()).unwrap();
    let mut rlp = Vec::new();
    for block in &c.blocks {
        alloy_rlp::Encodable::encode(block, &mut rlp);
    }
    let chain = dir.join("chain.rlp");
    std::fs::write(&chain, rlp).unwrap();
    let report = dir.join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["replay", "--format", "geth", "--genesis"])
        .args([&genesis, &chain])
        .arg("--json")
        .arg(&report)
        .output()
        .expect("harness runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let blocks = report["blocks"].as_array().expect("per-block lines");
    assert_eq!(blocks.len(), c.blocks.len());
    for line in blocks {
        assert_eq!(line["receipts"], "post-state roots", "{line}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
