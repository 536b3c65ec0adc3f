//! A world of contracts and one transaction against it, run on either tier or on both and
//! compared: the setup the crate's tests and the tier fuzz target share (feature `testing`).
//!
//! ```text
//! World (sender + contracts, revm's in-memory DB) ─► one call to TARGET ─► TieredEvm on a tier
//!                                                      └─► Ran { result, writes }
//! BothTiers: the call on the interpreter and compiled, with the frames the compiled run took
//! ```
//!
//! It panics where a test wants it to (a divergence, an invalid transaction), which is why it
//! sits behind a feature instead of in the crate's API.

use std::{
    collections::{BTreeMap, BTreeSet},
    convert::Infallible,
};

use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use revm::{
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, HaltReason},
    },
    database::{
        CacheDB, EmptyDB, OriginalValuesKnown, State, states::bundle_state::BundleRetention,
    },
    database_interface::bal::EvmDatabaseError,
    state::{AccountInfo, Bytecode},
};

/// The fork a call runs under.
pub use revm::primitives::hardfork::SpecId;

use crate::{
    Outcome, Tier, TieredEvmFactory,
    runtime::{FrameCounts, frame_counts},
};

/// The account that sends every transaction, funded for any gas price of zero and any value.
pub const SENDER: Address = address!("0x00000000000000000000000000000000000000aa");
/// The account every transaction calls.
pub const TARGET: Address = address!("0x00000000000000000000000000000000000000cc");
/// The block gas limit: room for any transaction's gas limit.
pub const GAS: u64 = 1 << 40;
/// The block a transaction runs in: far enough from genesis that BLOCKHASH reads the 256
/// hashes before it (the empty database's, distinct per number).
const NUMBER: u64 = 300;

/// Why revm refused the transaction (the in-memory database itself never fails).
pub type RunError = EVMError<EvmDatabaseError<Infallible>>;

/// Accounts before the transaction: [`SENDER`] and contracts.
#[derive(Debug, Clone)]
pub struct World(CacheDB<EmptyDB>);

/// A transaction that executed (successfully, reverted or halted) and what it wrote.
#[derive(Debug)]
pub struct Ran {
    /// Success, revert or halt, with gas used and logs.
    pub result: ExecutionResult<HaltReason>,
    /// The state it changed.
    pub writes: Writes,
}

/// What a transaction changed in the world, ordered so two runs compare equal.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Writes {
    /// Every account whose balance, nonce or code hash changed: its new info (code left out),
    /// `None` when it is gone.
    pub accounts: BTreeMap<Address, Option<AccountInfo>>,
    /// Accounts whose storage was wiped (destroyed) before their new slots below.
    pub wiped: BTreeSet<Address>,
    /// Every changed slot's new value, by account.
    pub storage: BTreeMap<Address, BTreeMap<U256, U256>>,
}

impl Writes {
    /// The value the transaction left in `address`'s `slot`, if it changed it.
    pub fn slot(&self, address: Address, slot: U256) -> Option<U256> {
        self.storage.get(&address)?.get(&slot).copied()
    }

    /// Every value the transaction stored, in all accounts.
    pub fn stored(&self) -> impl Iterator<Item = U256> + '_ {
        self.storage
            .values()
            .flat_map(|slots| slots.values().copied())
    }
}

impl World {
    /// [`SENDER`] with plenty of ether, and each of `contracts` with its code and a little
    /// ether, so its calls can send value.
    pub fn new(contracts: &[(Address, &[u8])]) -> Self {
        let mut db = CacheDB::new(EmptyDB::new());
        let sender = AccountInfo::from_balance(U256::from(1u128 << 100));
        db.insert_account_info(SENDER, sender);
        for (address, code) in contracts {
            // As a chain's state holds it: a delegation when it decodes as one, else legacy
            // code (a broken delegation included).
            let raw = Bytes::copy_from_slice(code);
            let code = Bytecode::new_raw_checked(raw.clone())
                .unwrap_or_else(|_| Bytecode::new_legacy(raw));
            let info = AccountInfo::from_balance(U256::from(1000)).with_code(code);
            db.insert_account_info(*address, info);
        }
        Self(db)
    }

    /// Calls [`TARGET`] from [`SENDER`] with `data` and a gas limit of `gas` under `spec`,
    /// with contract code on `tier`; the world is not modified.
    pub fn run(&self, spec: SpecId, data: &[u8], gas: u64, tier: Tier) -> Result<Ran, RunError> {
        self.run_on(TieredEvmFactory::new(tier), spec, data, gas)
    }

    /// [`run`](Self::run) on EVMs built by `factory`.
    pub fn run_on(
        &self,
        factory: TieredEvmFactory,
        spec: SpecId,
        data: &[u8],
        gas: u64,
    ) -> Result<Ran, RunError> {
        let block = BlockEnv {
            number: U256::from(NUMBER),
            gas_limit: GAS,
            ..Default::default()
        };
        let cfg = CfgEnv::new_with_spec(spec);
        let tx = TxEnv {
            caller: SENDER,
            kind: TxKind::Call(TARGET),
            data: Bytes::copy_from_slice(data),
            gas_limit: gas,
            gas_price: 0,
            chain_id: Some(cfg.chain_id),
            ..Default::default()
        };
        let state = State::builder()
            .with_database_ref(&self.0)
            .with_bundle_update()
            .build();
        let mut evm = factory.create_evm(state, EvmEnv::new(cfg, block));
        let result = evm.transact_commit(tx)?;
        let (mut state, _) = evm.finish();
        state.merge_transitions(BundleRetention::PlainState);
        let changes = state.take_bundle().to_plain_state(OriginalValuesKnown::Yes);
        let mut writes = Writes {
            accounts: changes.accounts.into_iter().collect(),
            ..Writes::default()
        };
        for changed in changes.storage {
            if changed.wipe_storage {
                writes.wiped.insert(changed.address);
            }
            let slots = writes.storage.entry(changed.address).or_default();
            slots.extend(changed.storage);
        }
        Ok(Ran { result, writes })
    }
}

/// One call run on the interpreter, then compiled.
#[derive(Debug)]
pub struct BothTiers {
    /// The run on revm's interpreter.
    pub interpreted: Ran,
    /// The run with every contract compiled.
    pub compiled: Ran,
    /// What the compiled run's frames did (this thread's counts during it).
    pub frames: FrameCounts,
}

impl BothTiers {
    /// Runs the call of [`World::run`] on both tiers; panics on an invalid transaction.
    pub fn run(world: &World, spec: SpecId, data: &[u8], gas: u64) -> Self {
        let interpreted = world
            .run(spec, data, gas, Tier::Interpret)
            .expect("valid transaction");
        let before = frame_counts();
        let compiled = world
            .run(spec, data, gas, Tier::Compile)
            .expect("valid transaction");
        let after = frame_counts();
        let frames = FrameCounts {
            compiled: after.compiled - before.compiled,
            handed_over: after.handed_over - before.handed_over,
            interpreted: after.interpreted - before.interpreted,
            host_ops: after.host_ops - before.host_ops,
            instantiated: after.instantiated - before.instantiated,
            stores: after.stores - before.stores,
        };
        Self {
            interpreted,
            compiled,
            frames,
        }
    }

    /// Panics, naming `what`, unless both runs agree on the result (down to the halt reason),
    /// gas, output, logs and writes, and no compiled frame fell back to the interpreter for
    /// want of a module (code the compiler or wasmer rejects would hide any divergence; handing
    /// over at a failing check is compiled code's own doing).
    pub fn assert_same(&self, what: &str) {
        assert_eq!(
            self.frames.interpreted, 0,
            "a frame fell back to the interpreter: {what}"
        );
        assert_eq!(
            Outcome::of(&self.compiled.result),
            Outcome::of(&self.interpreted.result),
            "{what}: {:?}",
            self.compiled.result
        );
        assert_eq!(self.compiled.writes, self.interpreted.writes, "{what}");
    }
}

/// Runs the call under Cancun on both tiers and requires the same result, writes and a frame
/// that ran compiled ([`same_on_both_tiers_at`]); returns the compiled run.
pub fn same_on_both_tiers(world: &World, data: &[u8], gas: u64) -> Ran {
    same_on_both_tiers_at(SpecId::CANCUN, world, data, gas)
}

/// [`BothTiers::assert_same`] under `spec`, and at least one frame ran compiled; returns the
/// compiled run.
pub fn same_on_both_tiers_at(spec: SpecId, world: &World, data: &[u8], gas: u64) -> Ran {
    let both = BothTiers::run(world, spec, data, gas);
    assert!(both.frames.compiled > 0, "no frame ran compiled");
    both.assert_same("tiers differ");
    both.compiled
}
