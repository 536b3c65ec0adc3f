//! Seals blocks for the synthetic chain: executes signed transactions on the parent state, then
//! fills the header's commitments (gas, receipts, bloom, state root) from the result, the way a
//! block producer would. The chain is then replayed from scratch by the ordinary import path.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{
    BlockBody, EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, TxEip1559, TxEnvelope, TxLegacy,
    proofs::{calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip2930::AccessList,
};
use alloy_evm::FromRecoveredTx;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use bal::BlockAccessList;
use commitment::StateTrie;
use executor::{
    StateView, WorldState,
    block::{self, Block, ExecOptions},
    chain::ChainSpec,
    revm::context::{BlockEnv, TxEnv},
    submodule::Tier,
    transact,
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
        self.sign(TxEip1559 {
            chain_id,
            nonce: self.nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            value,
            access_list: AccessList::default(),
            input,
        })
    }

    /// Signs a legacy call without a chain id (valid from Frontier on, before EIP-155 as
    /// after it) and bumps the nonce.
    pub fn legacy_call(
        &mut self,
        to: Address,
        value: U256,
        input: Bytes,
        gas_limit: u64,
        gas_price: u128,
    ) -> TxEnvelope {
        self.sign(TxLegacy {
            chain_id: None,
            nonce: self.nonce,
            gas_price,
            gas_limit,
            to: TxKind::Call(to),
            value,
            input,
        })
    }

    fn sign<T>(&mut self, tx: T) -> TxEnvelope
    where
        T: SignableTransaction<Signature>,
        alloy_consensus::Signed<T>: Into<TxEnvelope>,
    {
        self.nonce += 1;
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(tx.signature_hash().as_slice())
            .expect("signing a 32-byte prehash cannot fail");
        tx.into_signed(Signature::from((sig, recid))).into()
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
        let trie = world.state_trie();
        Self {
            chain,
            parent: genesis,
            world,
            trie,
        }
    }

    /// The base fee the next block must carry (the initial one at the London block, zero
    /// before London).
    pub fn next_base_fee(&self) -> u64 {
        let number = self.parent.number + 1;
        if !self.chain.is_london_active_at_block(number) {
            0
        } else if !self.chain.is_london_active_at_block(self.parent.number) {
            INITIAL_BASE_FEE
        } else {
            self.parent
                .next_block_base_fee(BaseFeeParams::ethereum())
                .unwrap_or_default()
        }
    }

    /// Executes `transactions` on the current state and returns the sealed block with the
    /// access list recorded while executing it (a sidecar, as the chain is pre-Amsterdam).
    pub fn seal(
        &mut self,
        transactions: Vec<TxEnvelope>,
        beneficiary: Address,
    ) -> Result<(Block, BlockAccessList), block::BlockError> {
        let parent = &self.parent;
        let number = parent.number + 1;
        let timestamp = parent.timestamp + 12;
        let blob_params = self.chain.blob_params_at(timestamp);
        let merged = self.chain.is_paris_active_at_block(number);
        let withdrawals = self
            .chain
            .is_shanghai_active_at_timestamp(timestamp)
            .then(Vec::new);
        let mut header = Header {
            parent_hash: parent.hash_slow(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary,
            transactions_root: calculate_transaction_root(&transactions),
            difficulty: if merged {
                U256::ZERO
            } else {
                block::difficulty::expected_difficulty(&self.chain, parent, timestamp)
            },
            number,
            gas_limit: parent.gas_limit,
            timestamp,
            mix_hash: keccak256(parent.number.to_be_bytes()),
            base_fee_per_gas: self
                .chain
                .is_london_active_at_block(number)
                .then(|| self.next_base_fee()),
            withdrawals_root: withdrawals.as_deref().map(calculate_withdrawals_root),
            blob_gas_used: blob_params.map(|_| 0),
            excess_blob_gas: blob_params.and_then(|p| parent.next_block_excess_blob_gas(p)),
            parent_beacon_block_root: blob_params
                .map(|_| keccak256(parent.timestamp.to_be_bytes())),
            ..Default::default()
        };
        let body = BlockBody {
            transactions,
            ommers: vec![],
            withdrawals: withdrawals.map(Into::into),
        };
        let mut block = Block {
            header: header.clone(),
            body,
        };
        let hashes: HashMap<u64, B256> = HashMap::from([(parent.number, header.parent_hash)]);
        let view = StateView {
            world: &self.world,
            hashes: &hashes,
        };
        let outcome = block::execute(
            &self.chain,
            &block,
            &view,
            ExecOptions::default().recording(),
        )?;
        let mut outcome = outcome;
        if !block::receipts_have_status(&self.chain, number) {
            let roots = self.roots_after_each_transaction(
                &block.header,
                &block.body.transactions,
                &hashes,
            )?;
            block::set_post_state_roots(&mut outcome.receipts, &roots)?;
        }
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

impl BlockBuilder {
    /// The state root after each of `transactions`, for receipts before Byzantium: each run
    /// alone on the state the one before left, as a block producer of that era did, and the
    /// root of the whole state hashed afresh. An oracle apart from the importer's, which folds
    /// the writes a block execution took per transaction into one trie.
    fn roots_after_each_transaction(
        &self,
        header: &Header,
        transactions: &[TxEnvelope],
        hashes: &HashMap<u64, B256>,
    ) -> Result<Vec<B256>, block::BlockError> {
        let env = transact::env(
            &self.chain,
            BlockEnv {
                number: U256::from(header.number),
                beneficiary: header.beneficiary,
                timestamp: U256::from(header.timestamp),
                gas_limit: header.gas_limit,
                basefee: header.base_fee_per_gas.unwrap_or_default(),
                difficulty: header.difficulty,
                ..Default::default()
            },
        );
        let mut world = self.world.clone();
        transactions
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                let signer = tx.recover_signer().map_err(|e| block::BlockError::Sender {
                    index,
                    reason: e.to_string(),
                })?;
                let view = StateView {
                    world: &world,
                    hashes,
                };
                let done = transact::transact(
                    &view,
                    env.clone(),
                    TxEnv::from_recovered_tx(tx, signer),
                    Tier::Interpret,
                )
                .map_err(|e| block::BlockError::Execution(e.to_string()))?;
                world.apply(&done.writes);
                Ok(world.state_root())
            })
            .collect()
    }
}
