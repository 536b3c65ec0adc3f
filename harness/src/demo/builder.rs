//! Seals blocks for the synthetic chain: executes signed transactions on the parent state, then
//! fills the header's commitments (gas, receipts, bloom, state root) from the result, the way a
//! block producer would. The chain is then replayed from scratch by the ordinary import path.

use alloy_consensus::{
    BlockBody, EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, TxEip1559, TxEnvelope,
    proofs::{calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{eip1559::BaseFeeParams, eip2930::AccessList};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use bal::BlockAccessList;
use commitment::StateTrie;
use executor::{
    StateView, WorldState,
    block::{self, Block},
    chain::ChainSpec,
};
use k256::ecdsa::SigningKey;
use std::collections::HashMap;

/// A funded demo account.
pub struct Wallet {
    key: SigningKey,
    pub address: Address,
    pub nonce: u64,
}

impl Wallet {
    /// Deterministic key `keccak("demo-wallet" || index)`.
    pub fn derive(index: u64) -> Self {
        let seed = keccak256([b"demo-wallet".as_slice(), &index.to_be_bytes()].concat());
        let key = SigningKey::from_slice(seed.as_slice())
            .expect("keccak output is a valid secp256k1 scalar");
        let address = Address::from_public_key(key.verifying_key());
        Self {
            key,
            address,
            nonce: 0,
        }
    }

    /// Signs an EIP-1559 call and bumps the nonce.
    pub fn call(
        &mut self,
        chain_id: u64,
        to: Address,
        value: U256,
        input: Bytes,
        gas_limit: u64,
        max_fee: u128,
    ) -> TxEnvelope {
        let tx = TxEip1559 {
            chain_id,
            nonce: self.nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            value,
            access_list: AccessList::default(),
            input,
        };
        self.nonce += 1;
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(tx.signature_hash().as_slice())
            .expect("signing a 32-byte prehash cannot fail");
        let signature = Signature::from((sig, recid));
        tx.into_signed(signature).into()
    }
}

/// Produces sealed blocks on top of a running state.
pub struct BlockBuilder {
    pub chain: ChainSpec,
    pub parent: Header,
    pub world: WorldState,
    trie: StateTrie,
}

impl BlockBuilder {
    pub fn new(chain: ChainSpec, genesis: Header, world: WorldState) -> Self {
        let trie = StateTrie::from_accounts(&world.trie_updates());
        Self {
            chain,
            parent: genesis,
            world,
            trie,
        }
    }

    /// The base fee the next block must carry.
    pub fn next_base_fee(&self) -> u64 {
        self.parent
            .next_block_base_fee(BaseFeeParams::ethereum())
            .unwrap_or_default()
    }

    /// Executes `transactions` on the current state and returns the sealed block with the
    /// access list recorded while executing it (a sidecar, as the chain is pre-Amsterdam).
    pub fn seal(
        &mut self,
        transactions: Vec<TxEnvelope>,
        beneficiary: Address,
    ) -> Result<(Block, BlockAccessList), block::BlockError> {
        let parent = &self.parent;
        let blob_params = self.chain.blob_params_at(parent.timestamp + 12);
        let withdrawals = Vec::new();
        let mut header = Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary,
            transactions_root: calculate_transaction_root(&transactions),
            number: parent.number + 1,
            gas_limit: parent.gas_limit,
            timestamp: parent.timestamp + 12,
            mix_hash: keccak256(parent.number.to_be_bytes()),
            base_fee_per_gas: Some(self.next_base_fee()),
            withdrawals_root: Some(calculate_withdrawals_root(&withdrawals)),
            blob_gas_used: blob_params.map(|_| 0),
            excess_blob_gas: blob_params.and_then(|p| parent.next_block_excess_blob_gas(p)),
            parent_beacon_block_root: blob_params
                .map(|_| keccak256(parent.timestamp.to_be_bytes())),
            ..Default::default()
        };
        let body = BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: Some(withdrawals.into()),
        };
        let mut block = Block {
            header: header.clone(),
            body,
        };
        let hashes: HashMap<u64, B256> = HashMap::from([(parent.number, header.parent_hash)]);
        let outcome = block::execute_recording(
            &self.chain,
            &block,
            StateView {
                world: &self.world,
                hashes: &hashes,
            },
        )?;
        let updates = self.world.updates_for(&outcome.writes);
        self.world.apply(&outcome.writes);
        self.trie.apply(&updates);
        header.gas_used = outcome.gas_used;
        header.receipts_root = outcome.receipts_root();
        header.logs_bloom = outcome.logs_bloom();
        header.state_root = self.trie.root();
        block.header = header.clone();
        self.parent = header;
        Ok((block, outcome.access_list.unwrap_or_default()))
    }
}
