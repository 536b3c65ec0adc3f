//! `db check`: is the database what its checkpoints say? Each checkpoint must name a stored
//! canonical block with the same hash and root, and the plain state must hash to that root.

use commitment::{AccountUpdate, StateTrie};

use crate::{
    ChainDb,
    backend::KvBackend,
    chain_rows,
    error::StorageError,
    rows::{Checkpoint, Stage},
};

/// What a passing check saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The execution checkpoint, whose root the plain state hashes to.
    pub head: Checkpoint,
    /// Accounts in the plain state.
    pub accounts: u64,
    /// Non-zero storage slots in the plain state.
    pub slots: u64,
}

impl<B: KvBackend> ChainDb<B> {
    /// Recomputes the state root from plain state (a full trie build, so memory grows with the
    /// state) and checks it and every stage checkpoint against the stored chain.
    pub fn check(&self) -> Result<CheckReport, StorageError> {
        let snapshot = self.state()?;
        let read = snapshot.reader();
        for stage in [Stage::Execution, Stage::Commitment] {
            let checkpoint = chain_rows::checkpoint(read, stage)?.ok_or(StorageError::NoGenesis)?;
            let ahead = |reason| StorageError::CheckpointAhead {
                stage,
                number: checkpoint.number,
                reason,
            };
            let header =
                chain_rows::header(read, checkpoint.number)?.ok_or_else(|| ahead("no header"))?;
            if chain_rows::canonical_hash(read, checkpoint.number)? != Some(checkpoint.hash)
                || header.hash_slow() != checkpoint.hash
            {
                return Err(ahead("the stored block has another hash"));
            }
            if header.state_root != checkpoint.state_root {
                return Err(ahead("the stored header has another state root"));
            }
        }
        let head = snapshot.head();
        let (mut accounts, mut slots) = (0, 0);
        let updates = snapshot
            .accounts()?
            .map(|account| {
                let account = account?;
                accounts += 1;
                slots += account.storage.len() as u64;
                Ok(AccountUpdate {
                    address: account.address,
                    info: Some(account.info),
                    wipe_storage: false,
                    storage: account.storage,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let computed = StateTrie::from_accounts(&updates).root();
        if computed != head.state_root {
            return Err(StorageError::StateRootMismatch {
                number: head.number,
                computed,
                stored: head.state_root,
            });
        }
        Ok(CheckReport {
            head,
            accounts,
            slots,
        })
    }
}
