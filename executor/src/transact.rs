//! Running one transaction against a world state under an explicit environment: the unit the
//! state tests check, and the seam where the execution tier (interpreter or compiled code) is
//! chosen.

pub use alloy_evm::EvmEnv;
use alloy_evm::{Evm, EvmFactory};
use revm::{
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
    },
    database::{OriginalValuesKnown, State, states::bundle_state::BundleRetention},
};

use crate::{
    chain::ChainSpec,
    provider::StateProvider,
    submodule::{Tier, TieredEvmFactory},
    world::BlockWrites,
};

/// The transaction could not be included: revm rejected it before execution.
#[derive(Debug, thiserror::Error)]
pub enum TransactError {
    /// The transaction breaks a validity rule (nonce, balance for the gas, intrinsic gas,
    /// fork-gated type, blob count...): a state test's expected exception.
    #[error("invalid transaction: {0}")]
    Invalid(#[from] InvalidTransaction),
    /// The block environment is unusable for the fork (e.g. no blob fee or randomness where
    /// the fork needs one).
    #[error("invalid header environment: {0}")]
    Header(String),
    /// Anything else revm reports, a failed state read included: not a verdict on the
    /// transaction.
    #[error("{0}")]
    Other(String),
}

/// A transaction that executed (successfully, reverted or halted) and what it wrote.
#[derive(Debug)]
pub struct Transacted {
    /// Success, revert or halt, with gas used and logs.
    pub result: ExecutionResult<HaltReason>,
    /// The state changes (sender's fee and nonce included), to apply for the post-state.
    pub writes: BlockWrites,
}

/// The environment a single transaction runs in: the fork and blob limits of `chain` at the
/// block's number and timestamp.
pub fn env(chain: &ChainSpec, block: BlockEnv) -> EvmEnv {
    let timestamp = block.timestamp.saturating_to();
    let mut cfg = CfgEnv::new_with_spec(chain.spec_at(block.number.saturating_to(), timestamp));
    cfg.chain_id = chain.chain_id;
    if let Some(params) = chain.blob_params_at(timestamp) {
        cfg.set_max_blobs_per_tx(params.max_blobs_per_tx);
    }
    EvmEnv::new(cfg, block)
}

/// Executes `tx` against `state` with contract code on `tier`, and returns its result and
/// writes; `state` is not modified.
pub fn transact<S: StateProvider>(
    state: &S,
    env: EvmEnv,
    tx: TxEnv,
    tier: Tier,
) -> Result<Transacted, TransactError> {
    let state = State::builder()
        .with_database_ref(state)
        .with_bundle_update()
        .build();
    let mut evm = TieredEvmFactory::new(tier).create_evm(state, env);
    let result = evm.transact_commit(tx).map_err(|e| match e {
        EVMError::Transaction(invalid) => TransactError::Invalid(invalid),
        EVMError::Header(h) => TransactError::Header(h.to_string()),
        other => TransactError::Other(other.to_string()),
    })?;
    let (mut state, _) = evm.finish();
    state.merge_transitions(BundleRetention::PlainState);
    let writes =
        BlockWrites::from_changeset(state.take_bundle().to_plain_state(OriginalValuesKnown::Yes));
    Ok(Transacted { result, writes })
}
