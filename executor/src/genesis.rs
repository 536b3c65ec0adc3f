//! The genesis block of a chain described by a geth `genesis.json`: its state and its header,
//! with the fork-gated fields a client fills in at genesis.

use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header};
use alloy_eips::{eip1559::INITIAL_BASE_FEE, eip7685::EMPTY_REQUESTS_HASH};
use alloy_genesis::Genesis;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::B256;

use crate::{chain::ChainSpec, world::WorldState};

/// The genesis header for `genesis` under `chain`, with `state_root` of its alloc.
pub fn genesis_header(chain: &ChainSpec, genesis: &Genesis, state_root: B256) -> Header {
    let ts = genesis.timestamp;
    let london = chain.is_london_active_at_block(0);
    let cancun = chain.is_cancun_active_at_timestamp(ts);
    Header {
        parent_hash: genesis.parent_hash.unwrap_or_default(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: genesis.coinbase,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        difficulty: genesis.difficulty,
        number: genesis.number.unwrap_or_default(),
        gas_limit: genesis.gas_limit,
        gas_used: 0,
        timestamp: ts,
        extra_data: genesis.extra_data.clone(),
        mix_hash: genesis.mix_hash,
        nonce: genesis.nonce.into(),
        base_fee_per_gas: london.then(|| {
            genesis
                .base_fee_per_gas
                .map_or(INITIAL_BASE_FEE, |f| f as u64)
        }),
        withdrawals_root: chain
            .is_shanghai_active_at_timestamp(ts)
            .then_some(EMPTY_ROOT_HASH),
        blob_gas_used: cancun.then(|| genesis.blob_gas_used.unwrap_or_default()),
        excess_blob_gas: cancun.then(|| genesis.excess_blob_gas.unwrap_or_default()),
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: chain
            .is_prague_active_at_timestamp(ts)
            .then_some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

/// The chain, genesis state and header of a geth `genesis.json`.
pub fn from_genesis(genesis: &Genesis) -> (ChainSpec, WorldState, Header) {
    let chain = ChainSpec::from_genesis_config(&genesis.config);
    let world = WorldState::from_alloc(&genesis.alloc);
    let header = genesis_header(&chain, genesis, world.state_root());
    (chain, world, header)
}
