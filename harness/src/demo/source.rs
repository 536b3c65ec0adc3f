//! The demo chain as a stream: a genesis, and a source that seals the next blocks on demand,
//! so a run of any length holds only the chunk it is replaying.

use std::sync::Arc;

use alloy_genesis::Genesis;
use bal::BlockAccessList;
use executor::{WorldState, block::Block, chain::ChainSpec};

use super::{
    COINBASE, DemoError, DemoOptions, Mix,
    builder::{BlockBuilder, Wallet},
    genesis, workload,
};

/// Where the demo chain starts: the genesis as geth describes it, and the chain spec, header
/// and state it yields.
pub struct DemoGenesis {
    pub spec: Genesis,
    pub chain: ChainSpec,
    pub genesis: alloy_consensus::Header,
    pub world: WorldState,
}

/// A sealed block with the access list recorded while sealing it (the chain is
/// pre-Amsterdam, so the list travels beside the block, as a sidecar would).
pub struct SealedBlock {
    pub block: Block,
    pub access_list: Arc<BlockAccessList>,
}

/// Seals the demo chain's blocks in order, on top of the builder's running state.
pub struct BlockSource {
    builder: BlockBuilder,
    wallets: Vec<Wallet>,
    txs_per_block: usize,
    mix: Mix,
    /// The number of the next block to seal.
    next: u64,
    last: u64,
}

impl BlockSource {
    /// The genesis `opts` describes and a source of its `opts.blocks` blocks.
    pub fn new(opts: &DemoOptions) -> (DemoGenesis, Self) {
        let wallets: Vec<Wallet> = (0..opts.txs_per_block.max(2) as u64)
            .map(Wallet::derive)
            .collect();
        let spec = genesis(&wallets, opts.accounts);
        let (chain, world, header) = executor::genesis::from_genesis(&spec);
        let builder = BlockBuilder::new(chain.clone(), header.clone(), world.clone());
        let start = DemoGenesis {
            spec,
            chain,
            genesis: header,
            world,
        };
        let source = Self {
            builder,
            wallets,
            txs_per_block: opts.txs_per_block,
            mix: opts.mix,
            next: 1,
            last: opts.blocks,
        };
        (start, source)
    }

    /// How many blocks are still to be sealed.
    pub fn remaining(&self) -> u64 {
        (self.last + 1).saturating_sub(self.next)
    }

    /// Seals up to `max` next blocks; empty once the chain is complete.
    pub fn next_chunk(&mut self, max: u64) -> Result<Vec<SealedBlock>, DemoError> {
        let count = self.remaining().min(max);
        let mut chunk = Vec::with_capacity(count as usize);
        for number in self.next..self.next + count {
            let txs = workload(
                number,
                self.txs_per_block,
                &mut self.wallets,
                self.builder.chain.chain_id,
                self.builder.next_base_fee(),
                self.mix,
            );
            let (block, access_list) = self
                .builder
                .seal(txs, COINBASE)
                .map_err(|source| DemoError::Build { number, source })?;
            chunk.push(SealedBlock {
                block,
                access_list: Arc::new(access_list),
            });
        }
        self.next += count;
        Ok(chunk)
    }
}
