//! The one execution entry point: senders handed in by a recovery stage, and a state provider
//! that fails, on every schedule.

use std::collections::HashMap;

use alloy_consensus::transaction::SignerRecoverable;
use alloy_primitives::{Address, B256, U256};
use executor::{
    StateView,
    block::{self, BlockError, ExecMode, ExecOptions},
    revm::{
        bytecode::Bytecode,
        database_interface::{DBErrorMarker, DatabaseRef},
        state::AccountInfo,
    },
};
use harness::demo::{Mix, SingleBlock, single_block};

const MODES: [ExecMode; 3] = [
    ExecMode::Sequential,
    ExecMode::Parallel,
    ExecMode::Optimistic,
];

fn options(single: &SingleBlock, mode: ExecMode) -> ExecOptions<'_> {
    ExecOptions::verified()
        .with_mode(mode)
        .with_access_list(Some(&single.access_list))
}

#[test]
fn senders_from_a_recovery_stage_give_the_recovered_outcome() {
    let single = single_block(Mix::Mixed, 12).unwrap();
    let hashes = HashMap::new();
    let view = StateView {
        world: &single.world,
        hashes: &hashes,
    };
    let senders: Vec<Address> = single
        .block
        .body
        .transactions
        .iter()
        .map(|tx| tx.recover_signer().unwrap())
        .collect();
    for mode in MODES {
        let recovered = block::execute(&single.chain, &single.block, &view, options(&single, mode))
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let given = options(&single, mode).with_senders(Some(&senders));
        let given = block::execute(&single.chain, &single.block, &view, given).unwrap();
        assert_eq!(given.writes, recovered.writes, "{mode:?}");
        assert_eq!(given.receipts_root(), recovered.receipts_root(), "{mode:?}");

        let short = options(&single, mode).with_senders(Some(&senders[1..]));
        let error = block::execute(&single.chain, &single.block, &view, short).unwrap_err();
        assert!(
            matches!(
                error,
                BlockError::SenderCount {
                    transactions: 12,
                    senders: 11
                }
            ),
            "{mode:?}: {error}"
        );
    }
}

/// A store whose reads of one account fail, as a disk read might.
#[derive(Debug)]
struct FailingReads<'a> {
    inner: StateView<'a>,
    broken: Address,
}

#[derive(Debug, thiserror::Error)]
#[error("disk read failed")]
struct DiskError;

impl DBErrorMarker for DiskError {}

impl DatabaseRef for FailingReads<'_> {
    type Error = DiskError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, DiskError> {
        if address == self.broken {
            return Err(DiskError);
        }
        Ok(self.inner.basic_ref(address).unwrap())
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, DiskError> {
        Ok(self.inner.code_by_hash_ref(code_hash).unwrap())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, DiskError> {
        Ok(self.inner.storage_ref(address, index).unwrap())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, DiskError> {
        Ok(self.inner.block_hash_ref(number).unwrap())
    }
}

/// A failed read is the store's fault, not the block's: it must not read as an invalid block,
/// or a node would mark a good block bad for its own I/O.
#[test]
fn a_failing_state_read_is_an_internal_error_not_an_invalid_block() {
    let single = single_block(Mix::Transfers, 4).unwrap();
    let hashes = HashMap::new();
    let sender = single.block.body.transactions[2].recover_signer().unwrap();
    let failing = FailingReads {
        inner: StateView {
            world: &single.world,
            hashes: &hashes,
        },
        broken: sender,
    };
    for mode in MODES {
        let error = block::execute(
            &single.chain,
            &single.block,
            &failing,
            options(&single, mode),
        )
        .unwrap_err();
        assert!(
            matches!(&error, BlockError::Internal(reason) if reason.contains("disk read failed")),
            "{mode:?}: {error:?}"
        );
    }
}
