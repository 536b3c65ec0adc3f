//! The tiered EVM: revm's mainnet EVM whose frame loop runs each frame either in revm's
//! interpreter or as a compiled submodule. Everything else (frame creation, call semantics,
//! returns, precompiles, journaling) stays revm's own.

use alloy_evm::{
    Database, Evm, EvmEnv, EvmFactory, eth::EthEvmBuilder, precompiles::PrecompilesMap,
};
use revm::{
    Inspector,
    context::{
        BlockEnv, CfgEnv, Context, ContextSetters, ContextTr, Evm as RevmEvm, FrameStack, TxEnv,
        result::{EVMError, HaltReason, ResultAndState},
    },
    context_interface::{JournalTr, result::ExecutionResult},
    handler::{
        EthFrame, EvmTr, FrameResult, Handler, MainnetHandler, SystemCallTx,
        evm::{ContextDbError, FrameInitResult},
        instructions::EthInstructions,
    },
    inspector::{InspectEvm, NoOpInspector},
    interpreter::{interpreter::EthInterpreter, interpreter_action::FrameInit},
    primitives::{Address, Bytes, hardfork::SpecId},
};

use super::{
    Tier,
    runtime::{self, FrameRun, Instances, OnMiss, RunConfig, TierUp},
};

type Context_<DB> = Context<BlockEnv, TxEnv, CfgEnv, DB>;
type Inner<DB, I> = RevmEvm<
    Context_<DB>,
    I,
    EthInstructions<EthInterpreter, Context_<DB>>,
    PrecompilesMap,
    EthFrame<EthInterpreter>,
>;

/// revm's mainnet EVM with the frame loop choosing the tier.
pub struct TieredEvm<DB: Database, I = NoOpInspector> {
    inner: Inner<DB, I>,
    tier: Tier,
    instances: Instances,
    inspect: bool,
}

impl<DB: Database, I> EvmTr for TieredEvm<DB, I> {
    type Context = Context_<DB>;
    type Instructions = EthInstructions<EthInterpreter, Context_<DB>>;
    type Precompiles = PrecompilesMap;
    type Frame = EthFrame<EthInterpreter>;

    fn all(
        &self,
    ) -> (
        &Self::Context,
        &Self::Instructions,
        &Self::Precompiles,
        &FrameStack<Self::Frame>,
    ) {
        self.inner.all()
    }

    fn all_mut(
        &mut self,
    ) -> (
        &mut Self::Context,
        &mut Self::Instructions,
        &mut Self::Precompiles,
        &mut FrameStack<Self::Frame>,
    ) {
        self.inner.all_mut()
    }

    fn frame_init(
        &mut self,
        frame_input: FrameInit,
    ) -> Result<FrameInitResult<'_, Self::Frame>, ContextDbError<Self::Context>> {
        self.inner.frame_init(frame_input)
    }

    fn frame_run(
        &mut self,
    ) -> Result<revm::handler::FrameInitOrResult<Self::Frame>, ContextDbError<Self::Context>> {
        let on_miss = match self.tier {
            Tier::Interpret => return self.inner.frame_run(),
            Tier::Compile => OnMiss::Compile,
            Tier::Auto => OnMiss::Interpret,
        };
        let spec = self.inner.ctx.cfg.spec;
        let frame = self.inner.frame_stack.get();
        let ctx = &mut self.inner.ctx;
        let instructions = &self.inner.instruction;
        let table = instructions.instruction_table();
        let interp = &mut frame.interpreter;
        let tier_up = (on_miss == OnMiss::Interpret).then(TierUp::global);
        let hash = tier_up.map(|_| interp.bytecode.get_or_calculate_hash());
        let ready = match (tier_up, hash) {
            (Some(tier_up), Some(hash)) => tier_up.is_ready(hash, spec),
            _ => true,
        };
        let run = match ready {
            true => {
                let config = RunConfig {
                    on_miss,
                    instances: self.instances,
                };
                runtime::run_frame(interp, ctx, table, spec, config)
            }
            false => FrameRun::NotCompiled,
        };
        let compiled = !matches!(run, FrameRun::NotCompiled);
        let action = match run {
            FrameRun::Done(action) => action,
            FrameRun::HandedOver => interp.run_plain(table, instructions.gas_table(), ctx),
            FrameRun::NotCompiled => {
                let before = interp.gas.remaining();
                let action = interp.run_plain(table, instructions.gas_table(), ctx);
                if let (Some(tier_up), Some(hash)) = (tier_up, hash) {
                    if ready {
                        // Marked ready, but the cache has dropped it since.
                        tier_up.missing(hash, spec);
                    }
                    let spent = before.saturating_sub(interp.gas.remaining());
                    tier_up.spent(hash, spec, spent, || interp.bytecode.original_bytes());
                }
                action
            }
        };
        if let Some(tier_up) = tier_up {
            tier_up.ran(compiled);
        }
        frame.process_next_action(ctx, action).inspect(|next| {
            if next.is_result() {
                frame.set_finished(true);
            }
        })
    }

    fn frame_return_result(
        &mut self,
        result: FrameResult,
    ) -> Result<Option<FrameResult>, ContextDbError<Self::Context>> {
        self.inner.frame_return_result(result)
    }
}

impl<DB, I> TieredEvm<DB, I>
where
    DB: Database,
    I: Inspector<Context_<DB>>,
{
    fn finish_run(
        &mut self,
        result: Result<ExecutionResult<HaltReason>, EVMError<DB::Error>>,
    ) -> Result<ResultAndState<HaltReason>, EVMError<DB::Error>> {
        let state = self.inner.ctx.journal_mut().finalize();
        Ok(ResultAndState::new(result?, state))
    }
}

impl<DB, I> Evm for TieredEvm<DB, I>
where
    DB: Database,
    I: Inspector<Context_<DB>>,
{
    type DB = DB;
    type Tx = TxEnv;
    type Error = EVMError<DB::Error>;
    type HaltReason = HaltReason;
    type Spec = SpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;
    type Inspector = I;

    fn block(&self) -> &BlockEnv {
        &self.inner.ctx.block
    }

    fn cfg_env(&self) -> &CfgEnv<SpecId> {
        &self.inner.ctx.cfg
    }

    fn chain_id(&self) -> u64 {
        self.inner.ctx.cfg.chain_id
    }

    fn transact_raw(&mut self, tx: TxEnv) -> Result<ResultAndState<HaltReason>, Self::Error> {
        if self.inspect {
            // Inspection observes every interpreter step, so inspected runs are interpreted.
            return self.inner.inspect_tx(tx);
        }
        self.inner.ctx.set_tx(tx);
        let result = MainnetHandler::<_, EVMError<DB::Error>, _>::default().run(self);
        self.finish_run(result)
    }

    fn transact_system_call(
        &mut self,
        caller: Address,
        contract: Address,
        data: Bytes,
    ) -> Result<ResultAndState<HaltReason>, Self::Error> {
        self.inner
            .ctx
            .set_tx(TxEnv::new_system_tx_with_caller(caller, contract, data));
        let result = MainnetHandler::<_, EVMError<DB::Error>, _>::default().run_system_call(self);
        self.finish_run(result)
    }

    fn finish(self) -> (DB, EvmEnv<SpecId>) {
        let Context {
            block: block_env,
            cfg: cfg_env,
            journaled_state,
            ..
        } = self.inner.ctx;
        (journaled_state.database, EvmEnv { block_env, cfg_env })
    }

    fn set_inspector_enabled(&mut self, enabled: bool) {
        self.inspect = enabled;
    }

    fn components(&self) -> (&DB, &I, &PrecompilesMap) {
        (
            &self.inner.ctx.journaled_state.database,
            &self.inner.inspector,
            &self.inner.precompiles,
        )
    }

    fn components_mut(&mut self) -> (&mut DB, &mut I, &mut PrecompilesMap) {
        (
            &mut self.inner.ctx.journaled_state.database,
            &mut self.inner.inspector,
            &mut self.inner.precompiles,
        )
    }
}

/// Builds [`TieredEvm`]s running contract code on one tier.
#[derive(Debug, Default, Clone, Copy)]
pub struct TieredEvmFactory {
    /// Where the contract code of every EVM it builds runs.
    pub tier: Tier,
    /// Whether compiled frames reuse their thread's instance of the code.
    pub instances: Instances,
}

impl TieredEvmFactory {
    /// A factory for EVMs on `tier`, reusing instances.
    pub fn new(tier: Tier) -> Self {
        Self {
            tier,
            instances: Instances::default(),
        }
    }

    /// The same factory with compiled frames instantiating as `instances` says.
    pub fn with_instances(self, instances: Instances) -> Self {
        Self { instances, ..self }
    }
}

impl EvmFactory for TieredEvmFactory {
    type Evm<DB: Database, I: Inspector<Context_<DB>>> = TieredEvm<DB, I>;
    type Context<DB: Database> = Context_<DB>;
    type Tx = TxEnv;
    type Error<DBError: revm::database_interface::DBErrorMarker> = EVMError<DBError>;
    type HaltReason = HaltReason;
    type Spec = SpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;

    fn create_evm<DB: Database>(&self, db: DB, input: EvmEnv) -> TieredEvm<DB, NoOpInspector> {
        let inner = EthEvmBuilder::new(db, input).build().into_inner();
        TieredEvm {
            inner,
            tier: self.tier,
            instances: self.instances,
            inspect: false,
        }
    }

    fn create_evm_with_inspector<DB: Database, I: Inspector<Context_<DB>>>(
        &self,
        db: DB,
        input: EvmEnv,
        inspector: I,
    ) -> TieredEvm<DB, I> {
        let inner = EthEvmBuilder::new(db, input)
            .activate_inspector(inspector)
            .build()
            .into_inner();
        TieredEvm {
            inner,
            tier: self.tier,
            instances: self.instances,
            inspect: true,
        }
    }
}
