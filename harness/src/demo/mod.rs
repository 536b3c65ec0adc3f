//! `harness demo`: a synthetic Cancun chain built in memory and replayed through the same
//! import path as recorded chains, once per commitment mode and tier (interpreted or compiled
//! contracts). No downloaded data is needed.
//! The chain is streamed: sealed a chunk of blocks at a time, imported in every mode, then
//! dropped, so memory does not grow with its length.
//!
//! Each block mixes plain transfers, token transfers (a contract assembled in `contracts`)
//! and compute-heavy calls, from a pool of funded wallets. Sealing records each block's access
//! list, which the replays carry as a sidecar, so the BAL-driven fold has something to fold.

mod asm;
pub mod builder;
mod contracts;
mod export;
mod runs;
mod source;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use bal::BlockAccessList;

use alloy_genesis::{ChainConfig, Genesis, GenesisAccount};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use builder::{BlockBuilder, Wallet};
use executor::{WorldState, block::Block, chain::ChainSpec};
use export::ChainExport;
pub use runs::DemoRun;
pub use source::{BlockSource, DemoGenesis, SealedBlock};

use crate::report::Report;

const TOKEN: Address = address!("0x00000000000000000000000000000000000070c0");
const HASHER: Address = address!("0x0000000000000000000000000000000000000ba5");
const FILLER: Address = address!("0x00000000000000000000000000000000000f111e");
/// Fresh slots a storage-heavy call writes.
const FILLER_SLOTS: u64 = 20;
/// Hashing rounds of a `compute` call, and multiply-adds mixing each digest: enough that the
/// contract's own instructions, not the transaction around them, dominate its cost, and a
/// block of 200 stays within the gas limit.
const COMPUTE_ROUNDS: u64 = 200;
const COMPUTE_MIX_STEPS: u64 = 8;
/// Gas of one round of the hasher without mixing (87) and of one mixing step (59), rounded up.
const HASH_ROUND_GAS: u64 = 100;
const MIX_STEP_GAS: u64 = 60;
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0de");

/// Size of the synthetic chain and how to replay it.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub blocks: u64,
    pub txs_per_block: usize,
    /// Extra funded accounts, each with storage, in the genesis: a bigger state makes every
    /// root cost more, as on a real chain.
    pub accounts: usize,
    /// Also write the chain as `genesis.json` + `chain.rlp` here.
    pub export: Option<PathBuf>,
    pub exec: executor::chainstore::ExecMode,
    /// What the blocks' transactions do.
    pub mix: Mix,
    /// The commitment configurations to replay with; the report's `timing` is the run of
    /// `primary`.
    pub modes: Vec<commitment::Config>,
    pub primary: commitment::Config,
    /// Where contract code runs; every mode is replayed on each (the first is the report's).
    pub tiers: Vec<executor::submodule::Tier>,
    /// Also replay the primary mode on the first tier through a chain database in this
    /// directory (a fresh one each run), beside the same run in memory.
    pub db: Option<PathBuf>,
}

impl DemoOptions {
    /// `blocks` of `txs_per_block` mixed transactions between the wallets, replayed once
    /// (serial commitment, interpreted, sequential, in memory, nothing exported): what a test
    /// or a bench starts from and changes a field of.
    pub fn new(blocks: u64, txs_per_block: usize) -> Self {
        Self {
            blocks,
            txs_per_block,
            accounts: 0,
            export: None,
            exec: executor::chainstore::ExecMode::Sequential,
            mix: Mix::Mixed,
            modes: vec![commitment::Config::default()],
            primary: commitment::Config::default(),
            tiers: vec![executor::submodule::Tier::Interpret],
            db: None,
        }
    }
}

/// Why the demo chain could not be built (a bug, not a failed replay).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("building block {number}: {source}")]
    Build {
        number: u64,
        source: executor::block::BlockError,
    },
    #[error("writing {dir}: {source}")]
    Export {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("genesis: {0}")]
    Genesis(#[from] executor::chainstore::GenesisMismatch),
    #[error("--db {path}: {source}")]
    Database {
        path: PathBuf,
        source: executor::chainstore::OpenError,
    },
}

/// A synthetic chain held whole in memory: its genesis, its sealed blocks, and the access list
/// recorded while sealing each (for tests; `run` streams the chain instead).
pub struct DemoChain {
    pub spec: Genesis,
    pub chain: ChainSpec,
    pub genesis: alloy_consensus::Header,
    pub world: WorldState,
    pub blocks: Vec<Block>,
    pub access_lists: Vec<Arc<BlockAccessList>>,
}

/// Builds the whole chain `opts` describes (blocks, transactions, mix, extra accounts).
pub fn build(opts: &DemoOptions) -> Result<DemoChain, DemoError> {
    let (start, mut source) = BlockSource::new(opts);
    let (blocks, access_lists) = source
        .next_chunk(opts.blocks)?
        .into_iter()
        .map(|sealed| (sealed.block, sealed.access_list))
        .unzip();
    let DemoGenesis {
        spec,
        chain,
        genesis,
        world,
    } = start;
    Ok(DemoChain {
        spec,
        chain,
        genesis,
        world,
        blocks,
        access_lists,
    })
}

/// Builds the chain and replays it in each mode on each tier as it is built, a chunk of
/// blocks at a time, and records one case per block and run. Returns one row per run, also
/// kept in the report (`runs`).
pub fn run(opts: &DemoOptions, report: &mut Report) -> Result<Vec<DemoRun>, DemoError> {
    let (start, mut source) = BlockSource::new(opts);
    println!(
        "demo: {} blocks x {} txs ({:?}), {} extra accounts, genesis root {}",
        opts.blocks, opts.txs_per_block, opts.mix, opts.accounts, start.genesis.state_root,
    );
    let mut export = match &opts.export {
        Some(dir) => Some(ChainExport::create(dir, &start.spec)?),
        None => None,
    };
    let runs = runs::replay_all(opts, &start, &mut source, export.as_mut(), report)?;
    if let Some(export) = export {
        let dir = export.finish()?;
        println!("demo: wrote {}/genesis.json and chain.rlp", dir.display());
    }
    report.runs.clone_from(&runs);
    Ok(runs)
}

/// The demo chain as a geth `genesis.json` would describe it: every fork through Cancun
/// active at genesis, chain id 1, funded wallets, the token (every wallet holds 1e9 units),
/// the hasher, and `extra` idle accounts with four storage slots each.
pub fn genesis(wallets: &[Wallet], extra: usize) -> Genesis {
    let mut alloc = BTreeMap::new();
    for i in 0..extra as u64 {
        let address = Address::from_word(alloy_primitives::keccak256(i.to_be_bytes()));
        let storage = (1..=4u64)
            .map(|s| (B256::from(U256::from(s)), B256::from(U256::from(i + s))))
            .collect();
        alloc.insert(
            address,
            GenesisAccount::default()
                .with_balance(U256::from(i + 1))
                .with_nonce(Some(1))
                .with_storage(Some(storage)),
        );
    }
    let mut token_storage = BTreeMap::new();
    for w in wallets {
        alloc.insert(
            w.address,
            GenesisAccount::default().with_balance(U256::from(10u128.pow(24))),
        );
        token_storage.insert(
            B256::left_padding_from(w.address.as_slice()),
            B256::from(U256::from(1_000_000_000u64)),
        );
    }
    alloc.insert(
        TOKEN,
        GenesisAccount::default()
            .with_code(Some(contracts::token()))
            .with_storage(Some(token_storage)),
    );
    alloc.insert(
        HASHER,
        GenesisAccount::default().with_code(Some(contracts::hasher())),
    );
    alloc.insert(
        FILLER,
        GenesisAccount::default().with_code(Some(contracts::filler())),
    );
    let config = ChainConfig {
        chain_id: 1,
        homestead_block: Some(0),
        eip150_block: Some(0),
        eip155_block: Some(0),
        eip158_block: Some(0),
        byzantium_block: Some(0),
        constantinople_block: Some(0),
        petersburg_block: Some(0),
        istanbul_block: Some(0),
        berlin_block: Some(0),
        london_block: Some(0),
        terminal_total_difficulty: Some(U256::ZERO),
        terminal_total_difficulty_passed: true,
        shanghai_time: Some(0),
        cancun_time: Some(0),
        ..Default::default()
    };
    Genesis {
        config,
        gas_limit: 60_000_000,
        base_fee_per_gas: Some(1_000_000_000),
        alloc,
        ..Default::default()
    }
}

/// What a synthetic block's transactions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// The demo's mix: 60% ETH transfers, 30% token transfers, 10% hashing loops, between
    /// the wallets themselves.
    Mixed,
    /// Independent ETH transfers, each to a fresh address.
    Transfers,
    /// Independent token transfers, each to a fresh recipient.
    Erc20,
    /// ETH transfers all from one wallet, each to a fresh address: every transaction depends
    /// on the one before it (the sender's nonce and balance), the worst case for optimistic
    /// execution.
    OneSender,
    /// Half ETH transfers between the wallets, half calls writing 20 fresh storage slots
    /// each: cheap to execute, costly to commit.
    Storage,
    /// 90% calls hashing a word 200 times, each digest mixed by 8 multiply-adds before the
    /// next hash, 10% ETH transfers: execution-heavy, where compiled contracts pay off.
    Compute,
}

/// One sealed block of `txs` transactions of `mix` on top of the demo genesis (for benchmarks
/// and tests of block execution).
pub struct SingleBlock {
    pub chain: ChainSpec,
    /// The parent state.
    pub world: WorldState,
    pub block: Block,
    /// Recorded while sealing, as a sidecar would carry it.
    pub access_list: BlockAccessList,
}

pub fn single_block(mix: Mix, txs: usize) -> Result<SingleBlock, DemoError> {
    let mut wallets: Vec<Wallet> = (0..txs.max(2) as u64).map(Wallet::derive).collect();
    let (chain, world, genesis) = executor::genesis::from_genesis(&genesis(&wallets, 0));
    let mut builder = BlockBuilder::new(chain.clone(), genesis, world.clone());
    let list = workload(
        1,
        txs,
        &mut wallets,
        chain.chain_id,
        builder.next_base_fee(),
        mix,
    );
    let (block, access_list) = builder
        .seal(list, COINBASE)
        .map_err(|source| DemoError::Build { number: 1, source })?;
    Ok(SingleBlock {
        chain,
        world,
        block,
        access_list,
    })
}

/// One block's transactions, as `mix` describes them.
fn workload(
    number: u64,
    count: usize,
    wallets: &mut [Wallet],
    chain_id: u64,
    base_fee: u64,
    mix: Mix,
) -> Vec<alloy_consensus::TxEnvelope> {
    let n = wallets.len();
    let max_fee = u128::from(base_fee) * 2 + 1_000_000_000;
    (0..count)
        .map(|i| {
            // Mixed blocks pay other wallets; the benchmark mixes pay a fresh address each, so
            // no transaction depends on another.
            let to = match mix {
                Mix::Mixed | Mix::Storage | Mix::Compute => {
                    wallets[(i + number as usize * 7 + 1) % n].address
                }
                Mix::Transfers | Mix::Erc20 | Mix::OneSender => {
                    Address::from_word(alloy_primitives::keccak256(
                        [number.to_be_bytes(), (i as u64).to_be_bytes()].concat(),
                    ))
                }
            };
            let from = match mix {
                Mix::OneSender => &mut wallets[0],
                _ => &mut wallets[i % n],
            };
            let kind = match mix {
                Mix::Mixed => i % 10,
                Mix::Transfers | Mix::OneSender => 0,
                Mix::Erc20 => 6,
                Mix::Storage if i % 2 == 0 => 0,
                Mix::Storage => 10,
                Mix::Compute if i % 10 == 0 => 0,
                Mix::Compute => 11,
            };
            match kind {
                0..=5 => from.call(
                    chain_id,
                    to,
                    U256::from(1_000 + i),
                    Bytes::new(),
                    21_000,
                    max_fee,
                ),
                6..=8 => {
                    let mut input = [0u8; 64];
                    input[12..32].copy_from_slice(to.as_slice());
                    input[56..64].copy_from_slice(&(1 + i as u64).to_be_bytes());
                    from.call(
                        chain_id,
                        TOKEN,
                        U256::ZERO,
                        Bytes::copy_from_slice(&input),
                        80_000,
                        max_fee,
                    )
                }
                10 => {
                    // Slots number·2^32 + i·2^8 + 1.. are fresh in every transaction.
                    let base = (number << 32) | ((i as u64) << 8) | 1;
                    let mut input = [0u8; 64];
                    input[24..32].copy_from_slice(&FILLER_SLOTS.to_be_bytes());
                    input[56..64].copy_from_slice(&base.to_be_bytes());
                    from.call(
                        chain_id,
                        FILLER,
                        U256::ZERO,
                        Bytes::copy_from_slice(&input),
                        30_000 + FILLER_SLOTS * 23_000,
                        max_fee,
                    )
                }
                _ => {
                    let (rounds, steps, gas) = match mix {
                        Mix::Compute => (
                            COMPUTE_ROUNDS,
                            COMPUTE_MIX_STEPS,
                            COMPUTE_ROUNDS * (HASH_ROUND_GAS + COMPUTE_MIX_STEPS * MIX_STEP_GAS)
                                + 50_000,
                        ),
                        _ => (200, 0, 200_000),
                    };
                    let mut input = [0u8; 64];
                    input[24..32].copy_from_slice(&rounds.to_be_bytes());
                    input[56..].copy_from_slice(&steps.to_be_bytes());
                    from.call(
                        chain_id,
                        HASHER,
                        U256::ZERO,
                        Bytes::copy_from_slice(&input),
                        gas,
                        max_fee,
                    )
                }
            }
        })
        .collect()
}
