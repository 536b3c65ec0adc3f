//! The calculator thread against a reference trie: every flag combination gives the same
//! roots, lying BALs and failed executions fail exactly their block, and nothing hangs.

use std::{
    sync::{Arc, mpsc},
    time::Duration,
};

use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256, keccak256};
use bal::{
    AccountChanges, BalanceChange, BlockAccessIndex, BlockAccessList, NonceChange, SlotChanges,
    StorageChange,
};
use commitment::{
    AccountUpdate, BlockRequest, BlockResult, Calculator, CancelToken, CommitError, Config,
    Divergence, ExecEvent, FoldMode, FoldRules, Inexpressible, StateTrie, TrieAccount, Verdict,
    pipeline::AccountField,
};

/// A block as the tests feed it: the executor's writes and the BAL that describes them.
struct TestBlock {
    request: BlockRequest,
    updates: Vec<AccountUpdate>,
}

fn account(nonce: u64, balance: u64) -> TrieAccount {
    TrieAccount {
        nonce,
        balance: U256::from(balance),
        code_hash: KECCAK256_EMPTY,
    }
}

fn genesis_accounts() -> Vec<AccountUpdate> {
    (1..=50u8)
        .map(|i| AccountUpdate {
            address: Address::repeat_byte(i),
            info: Some(account(1, 1_000 * u64::from(i))),
            wipe_storage: false,
            storage: (0..5).map(|s| (U256::from(s), U256::from(s + 1))).collect(),
        })
        .collect()
}

/// Block `n` pays `n` wei from account `n` to a fresh account and writes a slot of account
/// `n + 1`; `reference` is moved to the block's post-state to give its header root.
fn block(n: u8, parent: B256, reference: &mut StateTrie) -> TestBlock {
    let from = Address::repeat_byte(n);
    let to = Address::repeat_byte(200 + n);
    let store = Address::repeat_byte(n + 1);
    let sender = reference.account(&from).unwrap();
    let stored = reference.account(&store).unwrap();
    let updates = vec![
        AccountUpdate {
            address: from,
            info: Some(account(sender.nonce + 1, 0)),
            wipe_storage: false,
            storage: vec![],
        },
        AccountUpdate {
            address: to,
            info: Some(TrieAccount {
                balance: sender.balance,
                ..account(0, 0)
            }),
            wipe_storage: false,
            storage: vec![],
        },
        AccountUpdate {
            address: store,
            info: Some(stored),
            wipe_storage: false,
            storage: vec![(U256::from(7), U256::from(n)), (U256::from(0), U256::ZERO)],
        },
    ];
    let at = BlockAccessIndex::new(1);
    let bal: BlockAccessList = vec![
        AccountChanges::new(from)
            .with_balance_change(BalanceChange::new(at, U256::ZERO))
            .with_nonce_change(NonceChange::new(at, sender.nonce + 1)),
        AccountChanges::new(to).with_balance_change(BalanceChange::new(at, sender.balance)),
        AccountChanges::new(store)
            .with_storage_change(SlotChanges {
                slot: U256::from(0),
                changes: vec![StorageChange::new(at, U256::ZERO)],
            })
            .with_storage_change(SlotChanges {
                slot: U256::from(7),
                changes: vec![StorageChange::new(at, U256::from(n))],
            }),
    ];
    reference.apply(&updates);
    let root = reference.root();
    TestBlock {
        request: BlockRequest {
            number: u64::from(n),
            hash: keccak256([n]),
            parent_hash: parent,
            access_list: Some(Arc::new(bal)),
            expected_root: Some(root),
            tx_count: 1,
            rules: FoldRules::default(),
            cancel: CancelToken::new(),
        },
        updates,
    }
}

fn chain(len: u8) -> (B256, Vec<TestBlock>) {
    let mut reference = StateTrie::from_accounts(&genesis_accounts());
    let genesis_hash = keccak256(b"genesis");
    let mut parent = genesis_hash;
    let blocks = (1..=len)
        .map(|n| {
            let b = block(n, parent, &mut reference);
            parent = b.request.hash;
            b
        })
        .collect();
    (genesis_hash, blocks)
}

fn calculator(config: Config, at: B256) -> Calculator {
    Calculator::spawn(StateTrie::from_accounts(&genesis_accounts()), at, config)
}

/// Runs `f` on another thread and fails the test if it does not finish in time.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || done.send(f()).unwrap());
    wait.recv_timeout(Duration::from_secs(30))
        .expect("the pipeline hung")
}

fn execute(calc: &Calculator, block: &TestBlock) -> Verdict {
    calc.report(ExecEvent::Tx {
        hash: block.request.hash,
        index: 0,
    })
    .unwrap();
    calc.report(ExecEvent::Block(BlockResult {
        hash: block.request.hash,
        updates: block.updates.clone(),
        recorded: None,
    }))
    .unwrap();
    calc.verdict().unwrap()
}

#[test]
fn every_flag_combination_commits_the_same_roots() {
    for config in Config::ALL {
        let (genesis, blocks) = chain(20);
        let calc = calculator(config, genesis);
        // Every request at arrival, before anything executes.
        for b in &blocks {
            calc.announce(b.request.clone()).unwrap();
        }
        for b in &blocks {
            let verdict = execute(&calc, b);
            assert_eq!(verdict.hash, b.request.hash, "{config}");
            assert_eq!(
                verdict.outcome,
                Ok(b.request.expected_root.unwrap()),
                "{config}"
            );
            assert_eq!(verdict.txs_executed, 1);
            let mode = if config.bal_driven {
                FoldMode::BalDriven
            } else {
                FoldMode::Incremental
            };
            assert_eq!(verdict.mode, mode, "{config}");
        }
        let m = calc.metrics();
        assert_eq!(m.divergences, 0, "{config}");
        assert_eq!(m.fallbacks, 0, "{config}");
        let bal = if config.bal_driven { 20 } else { 0 };
        assert_eq!(
            (m.bal_folds, m.incremental_folds),
            (bal, 20 - bal),
            "{config}"
        );
    }
}

#[test]
fn bal_driven_folds_ahead_of_the_result() {
    let (genesis, blocks) = chain(1);
    let calc = calculator(Config::new(true, false), genesis);
    calc.announce(blocks[0].request.clone()).unwrap();
    // Execution "takes" a while; the fold runs meanwhile.
    std::thread::sleep(Duration::from_millis(50));
    let verdict = execute(&calc, &blocks[0]);
    assert!(verdict.is_ok());
    // The root was ready before the result arrived (no timing bound: the machine is shared).
    assert_eq!(verdict.mode, FoldMode::BalDriven);
    assert!(
        verdict.fold_ahead > Duration::ZERO,
        "{:?}",
        verdict.fold_ahead
    );
    assert_eq!(calc.metrics().fold_ahead, verdict.fold_ahead);
}

/// The BAL of block 3 lies about one storage value; its header root is the honest one.
fn lying_chain() -> (B256, Vec<TestBlock>) {
    let (genesis, mut blocks) = chain(4);
    let lie = &mut blocks[2].request;
    let mut list = (*lie.access_list.take().unwrap()).clone();
    list[2].storage_changes[1].changes[0].new_value = U256::from(999);
    lie.access_list = Some(Arc::new(list));
    (genesis, blocks)
}

#[test]
fn a_lying_bal_fails_its_block_early_and_cancels_execution() {
    let (genesis, blocks) = lying_chain();
    let calc = calculator(Config::new(true, false), genesis);
    for b in &blocks {
        calc.announce(b.request.clone()).unwrap();
    }
    for b in &blocks[..2] {
        assert!(execute(&calc, b).is_ok());
    }
    // Block 3's verdict comes without its execution result.
    let verdict = calc.verdict().unwrap();
    assert_eq!(verdict.hash, blocks[2].request.hash);
    assert!(matches!(
        verdict.outcome,
        Err(CommitError::RootMismatch { .. })
    ));
    assert!(blocks[2].request.cancel.is_cancelled());
    assert_eq!(calc.metrics().early_failures, 1);
    // The executor, cancelled, reports the failure; no second verdict follows.
    calc.report(ExecEvent::Failed {
        hash: blocks[2].request.hash,
        reason: "cancelled".into(),
    })
    .unwrap();
    // Block 4 builds on block 3, which never committed.
    let verdict = execute(&calc, &blocks[3]);
    assert_eq!(
        verdict.outcome,
        Err(CommitError::MissingParent(blocks[2].request.hash))
    );
    assert!(!blocks[3].request.cancel.is_cancelled());
}

#[test]
fn shadow_mode_names_the_divergent_slot() {
    let (genesis, blocks) = lying_chain();
    let calc = calculator(Config::new(true, true), genesis);
    for b in &blocks[..3] {
        calc.announce(b.request.clone()).unwrap();
    }
    for b in &blocks[..2] {
        assert!(execute(&calc, b).is_ok());
    }
    let verdict = execute(&calc, &blocks[2]);
    let Err(CommitError::Divergence(divergence)) = verdict.outcome else {
        panic!("{:?}", verdict.outcome);
    };
    assert_eq!(
        *divergence,
        Divergence::Slot {
            address: Address::repeat_byte(4),
            slot: U256::from(7),
            path: keccak256(U256::from(7).to_be_bytes::<32>()),
            bal: U256::from(999),
            executed: U256::from(3),
        }
    );
    assert_eq!(calc.metrics().divergences, 1);
    // Nothing of block 3 stayed: block 3 again, honestly, commits on block 2.
    let mut honest = block_again(&blocks[2]);
    honest.request.hash = keccak256(b"honest 3");
    calc.announce(honest.request.clone()).unwrap();
    assert_eq!(
        execute(&calc, &honest).outcome,
        Ok(blocks[2].request.expected_root.unwrap())
    );
}

/// The same block with its BAL replaced by one matching its writes.
fn block_again(b: &TestBlock) -> TestBlock {
    let (_, honest) = chain(3);
    let mut request = b.request.clone();
    request.access_list = honest[2].request.access_list.clone();
    TestBlock {
        request,
        updates: b.updates.clone(),
    }
}

#[test]
fn shadow_names_a_divergent_account_field() {
    let (genesis, mut blocks) = chain(1);
    let lie = &mut blocks[0].request;
    let mut list = (*lie.access_list.take().unwrap()).clone();
    list[1].balance_changes[0].post_balance = U256::from(5);
    lie.access_list = Some(Arc::new(list));
    let calc = calculator(Config::new(true, true), genesis);
    calc.announce(blocks[0].request.clone()).unwrap();
    let verdict = execute(&calc, &blocks[0]);
    let Err(CommitError::Divergence(divergence)) = verdict.outcome else {
        panic!("{:?}", verdict.outcome);
    };
    let to = Address::repeat_byte(201);
    assert_eq!(
        *divergence,
        Divergence::Account {
            address: to,
            path: keccak256(to),
            field: AccountField::Balance {
                bal: U256::from(5),
                executed: U256::from(1_000),
            },
        }
    );
}

#[test]
fn an_inexpressible_bal_falls_back_to_the_incremental_fold() {
    let (genesis, mut blocks) = chain(2);
    // Account 2 ends empty: EIP-161 would remove it, which a BAL cannot say.
    let emptied = Address::repeat_byte(2);
    let mut list = (*blocks[1].request.access_list.take().unwrap()).clone();
    list[0] = AccountChanges::new(emptied)
        .with_balance_change(BalanceChange::new(BlockAccessIndex::new(1), U256::ZERO))
        .with_nonce_change(NonceChange::new(BlockAccessIndex::new(1), 0));
    blocks[1].request.access_list = Some(Arc::new(list));
    for config in [Config::new(true, false), Config::new(true, true)] {
        let calc = calculator(config, genesis);
        for b in &blocks {
            calc.announce(b.request.clone()).unwrap();
        }
        assert_eq!(execute(&calc, &blocks[0]).mode, FoldMode::BalDriven);
        let verdict = execute(&calc, &blocks[1]);
        assert_eq!(verdict.mode, FoldMode::Incremental);
        assert_eq!(
            verdict.fallback,
            Some(Inexpressible::EmptyAccountRemoval(emptied))
        );
        assert!(verdict.is_ok(), "{:?}", verdict.outcome);
        assert_eq!(calc.metrics().fallbacks, 1);
    }
}

#[test]
fn a_failed_execution_commits_nothing_and_the_calculator_exits() {
    for config in Config::ALL {
        within(move || {
            let (genesis, blocks) = chain(3);
            let calc = calculator(config, genesis);
            for b in &blocks {
                calc.announce(b.request.clone()).unwrap();
            }
            assert!(execute(&calc, &blocks[0]).is_ok());
            calc.report(ExecEvent::Failed {
                hash: blocks[1].request.hash,
                reason: "invalid transaction".into(),
            })
            .unwrap();
            let verdict = calc.verdict().unwrap();
            assert_eq!(
                verdict.outcome,
                Err(CommitError::Execution("invalid transaction".into()))
            );
            // The stage stops with block 3 announced and never run: dropping the handle
            // joins the thread and cancels what still waited.
            drop(calc);
            assert!(blocks[2].request.cancel.is_cancelled());
        });
    }
}

#[test]
fn a_side_chain_rebases_the_trie() {
    for config in Config::ALL {
        let (genesis, blocks) = chain(2);
        let calc = calculator(config, genesis);
        calc.announce(blocks[0].request.clone()).unwrap();
        assert!(execute(&calc, &blocks[0]).is_ok());
        // A sibling of block 1, built on genesis again.
        let mut reference = StateTrie::from_accounts(&genesis_accounts());
        let mut sibling = block(1, genesis, &mut reference);
        sibling.request.hash = keccak256(b"sibling");
        calc.announce(sibling.request.clone()).unwrap();
        calc.rebase(genesis, StateTrie::from_accounts(&genesis_accounts()))
            .unwrap();
        let verdict = execute(&calc, &sibling);
        assert_eq!(
            verdict.outcome,
            Ok(blocks[0].request.expected_root.unwrap())
        );
        assert_eq!(calc.metrics().rebases, 1);
    }
}

#[test]
fn dropping_the_calculator_cancels_the_blocks_still_waiting() {
    let (genesis, blocks) = chain(1);
    let calc = calculator(Config::default(), genesis);
    calc.announce(blocks[0].request.clone()).unwrap();
    drop(calc);
    assert!(blocks[0].request.cancel.is_cancelled());
}
