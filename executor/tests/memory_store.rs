//! The in-memory store walks back exactly: after any sequence of blocks of writes (accounts
//! created, changed and removed, slots set and cleared, storage wiped), unwinding them one by
//! one by their change sets gives back every earlier state, account for account.

use std::collections::BTreeMap;

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256};
use commitment::TrieAccount;
use executor::{
    AccountWrite, BlockWrites, InfoChange, WorldAccount, WorldState,
    chainstore::{BlockRecord, MemoryStore, StateStore},
};
use proptest::prelude::*;

/// A world as a comparable map.
fn snapshot(world: &WorldState) -> BTreeMap<Address, (u64, U256, B256, BTreeMap<U256, U256>)> {
    world
        .accounts()
        .map(|(a, acc)| {
            let storage = acc.storage.iter().map(|(k, v)| (*k, *v)).collect();
            (*a, (acc.nonce, acc.balance, acc.code_hash, storage))
        })
        .collect()
}

/// Few addresses and slots, so writes collide with earlier blocks' writes.
fn write() -> impl Strategy<Value = AccountWrite> {
    let info = prop_oneof![
        Just(InfoChange::Unchanged),
        Just(InfoChange::Removed),
        (0u64..4, 0u64..4).prop_map(|(nonce, balance)| InfoChange::Set(TrieAccount {
            nonce,
            balance: U256::from(balance),
            code_hash: KECCAK256_EMPTY,
        })),
    ];
    let slots = prop::collection::vec((0u64..6, 0u64..3), 0..5);
    (0u8..5, info, any::<bool>(), slots).prop_map(|(a, info, wipe_storage, slots)| {
        let mut storage: Vec<(U256, U256)> = slots
            .into_iter()
            .map(|(k, v)| (U256::from(k), U256::from(v)))
            .collect();
        storage.sort_by_key(|(k, _)| *k);
        storage.dedup_by_key(|(k, _)| *k);
        AccountWrite {
            address: Address::repeat_byte(a + 1),
            info,
            wipe_storage,
            storage,
        }
    })
}

fn block() -> impl Strategy<Value = BlockWrites> {
    prop::collection::vec(write(), 0..6).prop_map(|mut accounts| {
        accounts.sort_by_key(|w| w.address);
        accounts.dedup_by_key(|w| w.address);
        BlockWrites {
            accounts,
            codes: Vec::new(),
        }
    })
}

fn genesis() -> WorldState {
    let mut world = WorldState::default();
    for a in 1..=3u8 {
        let account = WorldAccount {
            nonce: 1,
            balance: U256::from(a),
            storage: [
                (U256::from(1), U256::from(a)),
                (U256::from(2), U256::from(7)),
            ]
            .into(),
            ..WorldAccount::default()
        };
        world.insert_account(Address::repeat_byte(a), account);
    }
    world
}

proptest! {
    #[test]
    fn unwinding_restores_every_earlier_state(blocks in prop::collection::vec(block(), 1..8)) {
        let mut store = MemoryStore::new(B256::ZERO, genesis(), 16);
        let mut states = vec![snapshot(store.world())];
        let mut parent = B256::ZERO;
        for (n, writes) in blocks.iter().enumerate() {
            let header = Header { number: n as u64 + 1, parent_hash: parent, ..Header::default() };
            let hash = B256::with_last_byte(n as u8 + 1);
            let record = BlockRecord { header: &header, hash, total_difficulty: U256::ZERO, ommers: &[], trie: None };
            store.advance(record, writes).unwrap();
            states.push(snapshot(store.world()));
            parent = hash;
        }
        while let Some(expected) = states.pop() {
            prop_assert_eq!(&snapshot(store.world()), &expected);
            if states.is_empty() {
                break;
            }
            prop_assert!(store.unwind().unwrap().is_some());
        }
        prop_assert_eq!(store.head(), B256::ZERO);
        prop_assert!(store.unwind().unwrap().is_none(), "nothing below the first block");
    }
}
