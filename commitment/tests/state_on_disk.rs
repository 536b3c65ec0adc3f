//! The state trie opened over stored nodes, differential against the in-memory state trie and
//! alloy-trie's state root: random blocks of account updates (creations, deletions, storage
//! wipes, slot writes and deletes), each after a speculative block that is applied, hashed
//! and reverted (as the calculator does with a BAL fold). After every block: equal roots,
//! equal reads, and the store fed each block's exported changes (both levels) holds exactly
//! the nodes of a state built from scratch.

use std::{collections::BTreeMap, sync::Arc};

use alloy_primitives::{Address, Bytes, U256, keccak256};
use commitment::{AccountUpdate, Owner, StateChanges, StateTrie, TrieAccount, TrieError};
use proptest::prelude::*;

mod oracle;

use oracle::{MapSource, StateModel as Model, alloy_state_root as alloy_root, apply_model};

fn address(i: u8) -> Address {
    Address::with_last_byte(i)
}

fn update() -> impl Strategy<Value = AccountUpdate> {
    let account = (0u64..3, 0u64..1000).prop_map(|(nonce, balance)| TrieAccount {
        nonce,
        balance: U256::from(balance),
        code_hash: keccak256([nonce as u8]),
    });
    let slots = proptest::collection::vec((0u64..6, 0u64..4), 0..5);
    (
        0u8..10,
        prop::option::weighted(0.8, account),
        any::<bool>(),
        slots,
    )
        .prop_map(|(a, info, wipe, slots)| AccountUpdate {
            address: address(a),
            info,
            wipe_storage: wipe && info.is_some(),
            storage: slots
                .into_iter()
                .map(|(k, v)| (U256::from(k), U256::from(v)))
                .collect(),
        })
}

fn block() -> impl Strategy<Value = Vec<AccountUpdate>> {
    proptest::collection::vec(update(), 0..8)
}

/// Every node a state holding `model` stores, exported from one built from scratch.
fn stored_nodes(model: &Model) -> BTreeMap<(Owner, Vec<u8>), Bytes> {
    let updates: Vec<AccountUpdate> = model
        .iter()
        .map(|(a, (info, storage))| AccountUpdate {
            address: *a,
            info: Some(*info),
            wipe_storage: false,
            storage: storage.iter().map(|(k, v)| (*k, *v)).collect(),
        })
        .collect();
    let mut state = StateTrie::from_accounts(&updates);
    state.track_changes();
    let store = MapSource::default();
    store.persist_state(state.take_changes());
    store.snapshot()
}

fn run(
    initial: Vec<AccountUpdate>,
    blocks: Vec<(Vec<AccountUpdate>, Vec<AccountUpdate>)>,
    budget: Option<usize>,
) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    apply_model(&mut model, &initial);
    let mut memory = StateTrie::new();
    memory.apply(&initial);
    memory.track_changes();
    let (mirror, source) = (MapSource::default(), Arc::new(MapSource::default()));
    let changes = memory.take_changes();
    mirror.persist_state(changes.clone());
    source.persist_state(changes);
    prop_assert_eq!(source.snapshot(), stored_nodes(&model));

    let mut opened = StateTrie::open(memory.root(), source.clone());
    for (i, (speculative, block)) in blocks.iter().enumerate() {
        for state in [&mut memory, &mut opened] {
            let undo = state.apply_reversible(speculative);
            state.root();
            state.revert(undo);
            state.apply(block);
        }
        apply_model(&mut model, block);
        let root = memory.root();
        prop_assert_eq!(root, alloy_root(&model));
        prop_assert_eq!(opened.try_root()?, root);
        mirror.persist_state(memory.take_changes());
        source.persist_state(opened.take_changes());
        let expected = stored_nodes(&model);
        prop_assert_eq!(
            &mirror.snapshot(),
            &expected,
            "in-memory state's changes, block {}",
            i
        );
        prop_assert_eq!(
            &source.snapshot(),
            &expected,
            "opened state's changes, block {}",
            i
        );

        for a in 0..10 {
            let a = address(a);
            let (info, storage) = model.get(&a).cloned().unzip();
            prop_assert_eq!(opened.read_account(&a)?, info);
            for slot in 0..6 {
                let slot = U256::from(slot);
                let want = storage
                    .as_ref()
                    .and_then(|s| s.get(&slot).copied())
                    .unwrap_or_default();
                prop_assert_eq!(opened.read_storage(&a, slot)?, want);
            }
        }
        if let Some(budget) = budget {
            opened.retain(budget);
            prop_assert_eq!(opened.len(), 0, "every account exported, none kept");
        }
        if i % 3 == 2 {
            opened = StateTrie::open(root, source.clone());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn opened_state_follows_the_in_memory_state(
        initial in block(),
        blocks in proptest::collection::vec((block(), block()), 1..8),
    ) {
        run(initial, blocks, None)?;
    }

    #[test]
    fn opened_state_follows_when_retained_to_nothing(
        initial in block(),
        blocks in proptest::collection::vec((block(), block()), 1..8),
    ) {
        run(initial, blocks, Some(0))?;
    }
}

/// An account leaf that is not an account is a typed error, from a read and from the root
/// after a write to that account.
#[test]
fn a_garbage_account_leaf_is_an_error() {
    let mut state = commitment::Trie::new();
    let a = address(1);
    state.insert(keccak256(a).as_slice(), b"not an account");
    state.track_changes();
    let source = MapSource::default();
    let changes = state.take_changes();
    source.persist_state(StateChanges {
        accounts: changes,
        ..Default::default()
    });
    let mut opened = StateTrie::open(state.root(), Arc::new(source));
    assert!(matches!(
        opened.read_account(&a),
        Err(TrieError::Decode { .. })
    ));
    opened.apply(&[AccountUpdate {
        address: a,
        info: None,
        wipe_storage: false,
        storage: vec![],
    }]);
    assert!(matches!(opened.try_root(), Err(TrieError::Decode { .. })));
}
