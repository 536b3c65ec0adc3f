//! One speculative run of a transaction: revm's mainnet handler on the tiered EVM, over a
//! [`SpeculativeDb`], with one phase told apart, the beneficiary's fee credit (see
//! [`super::view::Dependence::FeeCredit`]).

use alloy_consensus::{Transaction, TxEnvelope, TxType};
use alloy_evm::{Evm, EvmEnv, EvmFactory, FromRecoveredTx, eth::EthTxResult};
use alloy_primitives::{Address, Bloom, logs_bloom};
use revm::{
    context::{
        ContextSetters, ContextTr, TxEnv,
        result::{EVMError, HaltReason, ResultAndState},
    },
    context_interface::JournalTr,
    handler::{EvmTr, FrameResult, Handler, post_execution},
};

use super::view::{Read, SpeculativeDb};
use crate::{
    provider::StateProvider,
    submodule::{Tier, TieredEvm, TieredEvmFactory},
};

/// A finished speculative run: what it read, and what it did unless it could not run on those
/// values.
pub(super) struct Run {
    pub(super) reads: Vec<Read>,
    /// `None` when revm refused the transaction on what it read (a nonce or balance a
    /// transaction below had not yet written) or a read failed: no verdict on the block, the
    /// committing thread meets either again, authoritatively, on the committed state.
    pub(super) executed: Option<Executed>,
}

/// What alloy-evm's block executor commits of a run, with the bloom of its logs (hashed here,
/// off the committing thread).
pub(super) struct Executed {
    pub(super) output: EthTxResult<HaltReason, TxType>,
    pub(super) bloom: Bloom,
}

/// The EVM a runner executes speculative runs on, reused across them with a fresh database.
pub(super) type SpeculativeEvm<'a, S> = TieredEvm<SpeculativeDb<'a, S>>;

/// revm's error for a run over `S`.
type RunError<S> = EVMError<<S as revm::database_interface::DatabaseRef>::Error>;

/// Runs `tx` (sent by `signer`) once over `db`, on `evm` (made on first use, in `env` on
/// `tier`).
pub(super) fn speculate<'a, S: StateProvider>(
    evm: &mut Option<SpeculativeEvm<'a, S>>,
    env: &EvmEnv,
    tier: Tier,
    db: SpeculativeDb<'a, S>,
    tx: &TxEnvelope,
    signer: Address,
) -> Run {
    let evm = match evm {
        Some(evm) => {
            *evm.db_mut() = db;
            evm
        }
        None => evm.insert(TieredEvmFactory::new(tier).create_evm(db, env.clone())),
    };
    EvmTr::ctx_mut(evm).set_tx(TxEnv::from_recovered_tx(tx, signer));
    let result = Speculative(std::marker::PhantomData).run(evm);
    let state = EvmTr::ctx_mut(evm).journal_mut().finalize();
    let executed = result.ok().map(|result| Executed {
        bloom: logs_bloom(result.logs()),
        output: EthTxResult {
            result: ResultAndState::new(result, state),
            blob_gas_used: tx.blob_gas_used().unwrap_or_default(),
            tx_type: tx.tx_type(),
        },
    });
    Run {
        reads: std::mem::take(&mut evm.db_mut().reads),
        executed,
    }
}

/// revm's mainnet handler, marking the database when the beneficiary's fee credit begins.
struct Speculative<'a, S>(std::marker::PhantomData<SpeculativeDb<'a, S>>);

impl<'a, S: StateProvider> Handler for Speculative<'a, S> {
    type Evm = SpeculativeEvm<'a, S>;
    type Error = RunError<S>;
    type HaltReason = HaltReason;

    /// revm's own credit, after which no code of the transaction runs: the beneficiary's
    /// account is loaded here only if the transaction never loaded it itself.
    fn reward_beneficiary(
        &self,
        evm: &mut Self::Evm,
        exec_result: &mut FrameResult,
    ) -> Result<(), Self::Error> {
        let ctx = EvmTr::ctx_mut(evm);
        ctx.db_mut().crediting_fee = true;
        post_execution::reward_beneficiary(ctx, exec_result.gas()).map_err(From::from)
    }
}
