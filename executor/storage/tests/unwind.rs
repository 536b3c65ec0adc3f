//! Random blocks of writes committed one by one, then k of them unwound: the database must hold
//! exactly the state after block n-k (compared with a model built from the same writes), hand
//! back a reverse diff that takes the head's trie to that state's root, serve that state through
//! its cached reads, and reach the same head again when the same blocks are re-committed.

mod model;

use alloy_primitives::{Address, B256, U256};
use commitment::TrieAccount;
use model::{Chain, Model, stored};
use proptest::{collection::vec, prelude::*};
use revm::{bytecode::Bytecode, database_interface::DatabaseRef};
use storage::{AccountWrite, BlockWrites, ChainDb, InfoChange, Stage};

const ADDRESSES: u8 = 5;
const SLOTS: u64 = 6;

fn codes() -> [Bytecode; 2] {
    [
        Bytecode::new_legacy(vec![0x60, 0x00, 0x54].into()),
        Bytecode::new_legacy(vec![0x60, 0x01, 0x60, 0x00, 0x55].into()),
    ]
}

fn info() -> impl Strategy<Value = InfoChange> {
    prop_oneof![
        2 => Just(InfoChange::Unchanged),
        4 => (0u64..3, 0u64..4, prop::option::of(0usize..2)).prop_map(|(nonce, balance, code)| {
            InfoChange::Set(TrieAccount {
                nonce,
                balance: U256::from(balance),
                code_hash: code.map_or(model::EMPTY.code_hash, |c| codes()[c].hash_slow()),
            })
        }),
        1 => Just(InfoChange::Removed),
    ]
}

fn account_write() -> impl Strategy<Value = AccountWrite> {
    (
        1..=ADDRESSES,
        info(),
        prop::bool::weighted(0.2),
        vec((0..SLOTS, 0u64..3), 0..4),
    )
        .prop_map(|(address, info, wipe_storage, storage)| AccountWrite {
            address: Address::with_last_byte(address),
            info,
            wipe_storage,
            storage: storage
                .into_iter()
                .map(|(slot, value)| (U256::from(slot), U256::from(value)))
                .collect(),
        })
}

/// A block's writes with the code its accounts point at (addresses may repeat).
fn block() -> impl Strategy<Value = BlockWrites> {
    vec(account_write(), 0..5).prop_map(|accounts| {
        let codes = codes()
            .into_iter()
            .map(|code| (code.hash_slow(), code))
            .filter(|(hash, _)| {
                accounts
                    .iter()
                    .any(|a| matches!(a.info, InfoChange::Set(i) if i.code_hash == *hash))
            })
            .collect();
        BlockWrites { accounts, codes }
    })
}

/// Every account and slot of the pool (one address never written) read through revm's seam.
fn assert_reads_match(db: &ChainDb, model: &Model) {
    let state = db.state().unwrap();
    for address in (1..=ADDRESSES + 1).map(Address::with_last_byte) {
        let expected = model.accounts.get(&address);
        let info = state.basic_ref(address).unwrap();
        assert_eq!(
            info.as_ref().map(|i| (i.nonce, i.balance, i.code_hash)),
            expected.map(|(i, _)| (i.nonce, i.balance, i.code_hash)),
            "account {address}"
        );
        if let (Some(info), Some((fields, _))) = (info, expected) {
            assert_eq!(info.code.unwrap().hash_slow(), fields.code_hash);
        }
        for slot in (0..SLOTS).map(U256::from) {
            let value = expected.and_then(|(_, s)| s.get(&slot).copied());
            assert_eq!(
                state.storage_ref(address, slot).unwrap(),
                value.unwrap_or_default(),
                "slot {slot} of {address}"
            );
        }
    }
}

fn unwind_and_recommit(alloc: BlockWrites, blocks: Vec<BlockWrites>, k: usize, cache_bytes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::create(&dir.path().join("chain.redb"), cache_bytes, &alloc);
    let mut after = vec![chain.model.clone()];
    for block in &blocks {
        chain.commit(block);
        // Reading fills the cache with this head's values, which the next commit must update.
        assert_reads_match(&chain.db, &chain.model);
        after.push(chain.model.clone());
    }
    let (n, k) = (blocks.len(), k.min(blocks.len()));
    let target = &after[n - k];
    let headers = chain.headers.clone();

    let mut trie = chain.model.trie();
    let reverse = chain.db.unwind_to((n - k) as u64).unwrap();
    assert_eq!(stored(&chain.db), target.plain());
    assert_reads_match(&chain.db, target);
    trie.apply(&reverse.updates_with(|a| trie.account(a)));
    assert_eq!(
        trie.root(),
        target.root(),
        "the reverse diff rebases the trie"
    );
    let checkpoint = chain.db.checkpoint(Stage::Execution).unwrap().unwrap();
    assert_eq!(checkpoint.number, (n - k) as u64);
    assert_eq!(checkpoint.state_root, target.root());
    assert_eq!(chain.db.header((n - k + 1) as u64).unwrap(), None);
    chain.db.check().unwrap();

    chain.model = target.clone();
    chain.headers.truncate(n - k + 1);
    for block in &blocks[n - k..] {
        chain.commit(block);
    }
    assert_eq!(
        chain.headers, headers,
        "the same blocks give the same roots"
    );
    assert_eq!(stored(&chain.db), after[n].plain());
    assert_reads_match(&chain.db, &after[n]);
    assert_eq!(chain.db.check().unwrap().head.hash, headers[n].hash_slow());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn unwinding_k_blocks_restores_block_n_minus_k(
        alloc in block(),
        blocks in vec(block(), 1..7),
        k in 0usize..8,
    ) {
        unwind_and_recommit(alloc, blocks, k, 1 << 20);
    }

    /// The same with a cache of a few entries: eviction and write-through interleave.
    #[test]
    fn unwinding_through_a_tiny_cache_reads_the_same(
        alloc in block(),
        blocks in vec(block(), 1..5),
        k in 0usize..6,
    ) {
        unwind_and_recommit(alloc, blocks, k, 600);
    }
}

#[test]
fn a_zero_byte_cache_disables_caching() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::create(&dir.path().join("chain.redb"), 0, &BlockWrites::default());
    let state = chain.db.state().unwrap();
    assert_eq!(state.basic_ref(Address::ZERO).unwrap(), None);
    assert!(state.code_by_hash_ref(B256::ZERO).is_err());
    assert_eq!(chain.db.cache_stats().resident_bytes, 0);
}
