//! `harness demo`: a synthetic Cancun chain built in memory and replayed through the same
//! import path as recorded chains. No downloaded data is needed.
//!
//! Each block mixes plain transfers, token transfers (a contract assembled in [`contracts`])
//! and compute-heavy calls, from a pool of funded wallets.

mod asm;
mod builder;
mod contracts;

use std::{collections::BTreeMap, time::Instant};

use alloy_consensus::Header;
use alloy_genesis::GenesisAccount;
use alloy_primitives::{Address, B256, Bytes, U256, address};
use builder::{BlockBuilder, Wallet};
use executor::{WorldState, block::Block, chain::ChainSpec, chainstore::ChainStore};

use crate::report::Report;

const TOKEN: Address = address!("0x00000000000000000000000000000000000070c0");
const HASHER: Address = address!("0x0000000000000000000000000000000000000ba5");
const COINBASE: Address = address!("0x000000000000000000000000000000000000c0de");

/// Size of the synthetic chain.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub blocks: u64,
    pub txs_per_block: usize,
}

/// Why the demo chain could not be built (a bug, not a failed replay).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("building block {number}: {source}")]
    Build { number: u64, source: executor::block::BlockError },
    #[error("genesis: {0}")]
    Genesis(#[from] executor::chainstore::GenesisMismatch),
}

/// Builds the chain, replays it block by block, and records one case per block.
pub fn run(opts: &DemoOptions, report: &mut Report) -> Result<(), DemoError> {
    let chain = ChainSpec::from_test_network("Cancun").expect("Cancun is a known network");
    let mut wallets: Vec<Wallet> = (0..opts.txs_per_block.max(2) as u64).map(Wallet::derive).collect();
    let (world, genesis) = genesis(&chain, &wallets);
    println!(
        "demo: {} blocks x {} txs, {} wallets, genesis root {}",
        opts.blocks,
        opts.txs_per_block,
        wallets.len(),
        genesis.state_root
    );

    let build_started = Instant::now();
    let mut builder = BlockBuilder::new(chain.clone(), genesis.clone(), world.clone());
    let mut blocks: Vec<Block> = Vec::new();
    for number in 1..=opts.blocks {
        let txs = workload(number, opts.txs_per_block, &mut wallets, chain.chain_id, builder.next_base_fee());
        let block = builder.seal(txs, COINBASE).map_err(|source| DemoError::Build { number, source })?;
        blocks.push(block);
    }
    println!("demo: built {} blocks in {:.1} ms", blocks.len(), build_started.elapsed().as_secs_f64() * 1e3);

    let mut store = ChainStore::new(chain, genesis, world)?;
    for block in &blocks {
        match store.import(block) {
            Ok(done) => {
                report.gas += done.gas_used;
                report.timing.exec_ms += done.exec.as_secs_f64() * 1e3;
                report.timing.commit_ms += done.commit.as_secs_f64() * 1e3;
                report.pass();
            }
            Err(e) => report.fail(format!("demo block {}", block.header.number), e.to_string()),
        }
    }
    let mgas = report.gas as f64 / 1e6;
    let secs = (report.timing.exec_ms + report.timing.commit_ms) / 1e3;
    println!(
        "demo: replayed {} blocks, {:.1} Mgas, {:.1} Mgas/s (exec {:.1} ms, commit {:.1} ms), head root {}",
        blocks.len(),
        mgas,
        if secs > 0.0 { mgas / secs } else { 0.0 },
        report.timing.exec_ms,
        report.timing.commit_ms,
        blocks.last().map(|b| b.header.state_root).unwrap_or_default()
    );
    Ok(())
}

/// Funded wallets, the token (every wallet holds 1e9 units) and the hasher.
fn genesis(chain: &ChainSpec, wallets: &[Wallet]) -> (WorldState, Header) {
    let mut alloc = BTreeMap::new();
    let mut token_storage = BTreeMap::new();
    for w in wallets {
        alloc.insert(w.address, GenesisAccount::default().with_balance(U256::from(10u128.pow(24))));
        token_storage.insert(B256::left_padding_from(w.address.as_slice()), B256::from(U256::from(1_000_000_000u64)));
    }
    alloc.insert(TOKEN, GenesisAccount::default().with_code(Some(contracts::token())).with_storage(Some(token_storage)));
    alloc.insert(HASHER, GenesisAccount::default().with_code(Some(contracts::hasher())));
    let world = WorldState::from_alloc(&alloc);
    let header = Header {
        gas_limit: 60_000_000,
        base_fee_per_gas: Some(1_000_000_000),
        withdrawals_root: Some(alloy_consensus::EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        state_root: world.state_root(),
        ..Default::default()
    };
    debug_assert!(chain.blob_params_at(0).is_some());
    (world, header)
}

/// One block's transactions: 60% ETH transfers, 30% token transfers, 10% hashing loops.
fn workload(number: u64, count: usize, wallets: &mut [Wallet], chain_id: u64, base_fee: u64) -> Vec<alloy_consensus::TxEnvelope> {
    let n = wallets.len();
    let max_fee = u128::from(base_fee) * 2 + 1_000_000_000;
    (0..count)
        .map(|i| {
            let to_index = (i + number as usize * 7 + 1) % n;
            let to = wallets[to_index].address;
            let from = &mut wallets[i % n];
            match i % 10 {
                0..=5 => from.call(chain_id, to, U256::from(1_000 + i), Bytes::new(), 21_000, max_fee),
                6..=8 => {
                    let mut input = [0u8; 64];
                    input[12..32].copy_from_slice(to.as_slice());
                    input[56..64].copy_from_slice(&(1 + i as u64).to_be_bytes());
                    from.call(chain_id, TOKEN, U256::ZERO, Bytes::copy_from_slice(&input), 80_000, max_fee)
                }
                _ => {
                    let mut input = [0u8; 32];
                    input[24..].copy_from_slice(&200u64.to_be_bytes());
                    from.call(chain_id, HASHER, U256::ZERO, Bytes::copy_from_slice(&input), 200_000, max_fee)
                }
            }
        })
        .collect()
}
