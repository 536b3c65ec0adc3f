//! The state one speculative run of transaction `i` reads: the parent state overlaid by the
//! multi-version memory (the latest write of a transaction below `i`), recording every read
//! with the version it saw, so the run can be validated afterwards.

use alloy_primitives::{Address, B256, U256};
use revm::{bytecode::Bytecode, database_interface::Database, state::AccountInfo};

use super::mv_memory::{Location, MvMemory, Value, Version};
use crate::provider::StateProvider;

/// How a run depended on a value it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dependence {
    /// The run may have used every field of the value.
    Full,
    /// The block's beneficiary, first loaded by revm to credit the transaction's fee, after the
    /// transaction itself ran: the run never saw its balance (only added to it), so a balance
    /// changed by transactions before it is no conflict. The fee lands as a delta when the
    /// transaction commits. Its existence, nonce and code still count.
    FeeCredit,
}

/// One value a run read: where, which write it saw (`None`: the parent state's), what it was.
#[derive(Clone, Debug)]
pub(super) struct Read {
    pub(super) location: Location,
    pub(super) origin: Option<Version>,
    pub(super) value: Value,
    pub(super) dependence: Dependence,
}

/// revm's [`Database`] for one speculative run of transaction `tx`.
#[derive(Debug)]
pub(super) struct SpeculativeDb<'a, S> {
    parent: &'a S,
    memory: &'a MvMemory,
    tx: usize,
    beneficiary: Address,
    /// Set by the speculative handler once the transaction has run and revm credits the
    /// beneficiary with its fee.
    pub(super) crediting_fee: bool,
    pub(super) reads: Vec<Read>,
}

impl<'a, S: StateProvider> SpeculativeDb<'a, S> {
    pub(super) fn new(
        parent: &'a S,
        memory: &'a MvMemory,
        tx: usize,
        beneficiary: Address,
    ) -> Self {
        Self {
            parent,
            memory,
            tx,
            beneficiary,
            crediting_fee: false,
            reads: Vec::new(),
        }
    }

    /// The value at `location` as transaction `tx` sees it, recorded as read.
    fn read(&mut self, location: Location) -> Result<Value, S::Error> {
        let (origin, value) = match self.memory.read(&location, self.tx) {
            Some((version, value)) => (Some(version), value),
            None => (
                None,
                match location {
                    Location::Account(address) => Value::Account(self.parent.basic_ref(address)?),
                    Location::Storage(address, slot) => {
                        Value::Storage(self.parent.storage_ref(address, slot)?)
                    }
                },
            ),
        };
        let dependence = match location {
            Location::Account(address) if address == self.beneficiary && self.crediting_fee => {
                Dependence::FeeCredit
            }
            _ => Dependence::Full,
        };
        self.reads.push(Read {
            location,
            origin,
            value: value.clone(),
            dependence,
        });
        Ok(value)
    }
}

impl<S: StateProvider> Database for SpeculativeDb<'_, S> {
    type Error = S::Error;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        match self.read(Location::Account(address))? {
            Value::Account(info) => Ok(info),
            Value::Storage(_) => unreachable!("an account location holds an account"),
        }
    }

    /// Code is keyed by its hash and never changes, so reading it is no dependence; code
    /// deployed in this block travels with its account's value instead.
    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.parent.code_by_hash_ref(code_hash)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        match self.read(Location::Storage(address, index))? {
            Value::Storage(value) => Ok(value),
            Value::Account(_) => unreachable!("a storage location holds a slot"),
        }
    }

    /// Block hashes are the parent chain's: no transaction of the block writes them.
    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.parent.block_hash_ref(number)
    }
}
