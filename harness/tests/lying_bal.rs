//! A lying BAL is rejected by parallel execution with an error naming the lie: a dropped
//! write, an extra write, a wrong value, a wrong index, an undeclared read. The lies are
//! planted in a BAL recorded from a real BlockchainTests block whose first transaction is a
//! plain value transfer.

use std::collections::HashMap;

use alloy_consensus::{Transaction, transaction::SignerRecoverable};
use alloy_primitives::{Address, B256, U256};
use bal::{BalanceChange, BlockAccessIndex, BlockAccessList};
use executor::{
    StateView, WorldState,
    block::{
        self, Block, BlockError, ExecMode, ExecOptions, decode_block,
        parallel::{BalField, LyingBal},
    },
    chain::ChainSpec,
};
use harness::fixtures::{self, blockchain_test::BlockchainTest, decode_hex};

/// A first block whose tx 0 sends value to an account only it changes.
struct Case {
    chain: ChainSpec,
    world: WorldState,
    hashes: HashMap<u64, B256>,
    block: Block,
    bal: BlockAccessList,
    recipient: Address,
    sender: Address,
}

fn find_case() -> Case {
    let dir = fixtures::fixtures_dir().join("ethereum-tests/BlockchainTests/ValidBlocks");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    for file in fixtures::json_files(&[dir]).unwrap() {
        let tests: std::collections::BTreeMap<String, BlockchainTest> =
            fixtures::read_json(&file).unwrap();
        for test in tests.into_values() {
            let chain = ChainSpec::from_test_network(&test.network).unwrap();
            let genesis = decode_block(&test.genesis_rlp).unwrap();
            let Some(Ok(block)) = test
                .blocks
                .first()
                .map(|b| decode_block(&decode_hex(&b.rlp).unwrap()))
            else {
                continue;
            };
            let Some(tx) = block.body.transactions.first() else {
                continue;
            };
            let (Some(recipient), true) = (tx.to(), !tx.value().is_zero()) else {
                continue;
            };
            let sender = tx.recover_signer().unwrap();
            if recipient == sender || recipient == block.header.beneficiary {
                continue;
            }
            let world = WorldState::from_alloc(&test.pre);
            let hashes = HashMap::from([(0, genesis.header.hash_slow())]);
            let view = StateView {
                world: &world,
                hashes: &hashes,
            };
            let Ok(seq) = block::execute(&chain, &block, &view, ExecOptions::default().recording())
            else {
                continue;
            };
            let bal = seq.access_list.unwrap();
            let Some(r) = bal.iter().find(|a| a.address == recipient) else {
                continue;
            };
            let only_tx0 = r.balance_changes().len() == 1
                && r.balance_changes()[0].block_access_index == BlockAccessIndex::new(1)
                && r.nonce_changes().is_empty()
                && r.storage_changes().is_empty()
                && r.code_changes().is_empty();
            if only_tx0 && block.body.transactions.len() == 1 {
                return Case {
                    chain,
                    world,
                    hashes,
                    block,
                    bal,
                    recipient,
                    sender,
                };
            }
        }
    }
    panic!("no block with a plain first transfer found");
}

impl Case {
    fn run(&self, bal: &BlockAccessList) -> Result<(), BlockError> {
        let view = StateView {
            world: &self.world,
            hashes: &self.hashes,
        };
        let options = ExecOptions::default()
            .with_mode(ExecMode::Parallel)
            .with_access_list(Some(bal));
        block::execute(&self.chain, &self.block, &view, options).map(|_| ())
    }

    fn lie(&self, edit: impl FnOnce(&mut BlockAccessList)) -> LyingBal {
        let mut bal = self.bal.clone();
        edit(&mut bal);
        match self.run(&bal) {
            Err(BlockError::LyingBal(lie)) => *lie,
            other => panic!("expected a lying-BAL rejection, got {other:?}"),
        }
    }

    fn account(&self, bal: &mut BlockAccessList, address: Address) -> usize {
        bal.iter().position(|a| a.address == address).unwrap()
    }
}

#[test]
fn the_honest_bal_is_accepted() {
    let case = find_case();
    case.run(&case.bal).expect("the recorded BAL is true");
}

#[test]
fn each_lie_gets_its_own_error() {
    let case = find_case();
    let (r, sender) = (case.recipient, case.sender);

    let dropped = case.lie(|bal| {
        let i = case.account(bal, r);
        bal[i].balance_changes.clear();
    });
    assert_eq!(
        dropped,
        LyingBal::DroppedWrite {
            tx: 0,
            address: r,
            field: BalField::Balance
        }
    );

    let wrong_value = case.lie(|bal| {
        let i = case.account(bal, r);
        bal[i].balance_changes[0].post_balance += U256::from(1);
    });
    assert!(
        matches!(wrong_value, LyingBal::WrongValue { tx: 0, address, field: BalField::Balance, .. } if address == r)
    );

    let wrong_index = case.lie(|bal| {
        let i = case.account(bal, r);
        bal[i].balance_changes[0].block_access_index = BlockAccessIndex::new(2);
    });
    assert_eq!(
        wrong_index,
        LyingBal::WrongIndex {
            tx: 0,
            address: r,
            field: BalField::Balance,
            listed_at: 2
        }
    );

    let extra = case.lie(|bal| {
        let i = case.account(bal, sender);
        // The sender's nonce moves at tx 0; claim its code changed there too.
        bal[i].code_changes.push(bal::CodeChange::new(
            BlockAccessIndex::new(1),
            vec![0x00].into(),
        ));
    });
    assert_eq!(
        extra,
        LyingBal::ExtraWrite {
            tx: 0,
            address: sender,
            field: BalField::Code
        }
    );

    let undeclared = case.lie(|bal| bal.retain(|a| a.address != r));
    assert!(matches!(undeclared, LyingBal::UndeclaredRead { tx: 0, address, .. } if address == r));
}

#[test]
fn a_surplus_account_is_caught_by_the_recorded_bal() {
    let case = find_case();
    let ghost = Address::repeat_byte(0x77);
    let lie = case.lie(|bal| {
        let pos = bal.partition_point(|a| a.address < ghost);
        bal.insert(
            pos,
            bal::AccountChanges::new(ghost)
                .with_balance_change(BalanceChange::new(BlockAccessIndex::new(2), U256::from(5))),
        );
    });
    assert!(matches!(lie, LyingBal::Differs(_)), "{lie:?}");
}
