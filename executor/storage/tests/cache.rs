//! The read cache: bounded in bytes with a state many times its size, correct under eviction,
//! shared by threads, and never serving a newer head to an older snapshot.

mod model;

use alloy_primitives::{Address, U256};
use commitment::TrieAccount;
use model::Chain;
use revm::database_interface::DatabaseRef;
use storage::{AccountWrite, BlockWrites, InfoChange};

fn address(n: u64) -> Address {
    Address::left_padding_from(&n.to_be_bytes())
}

fn funded(n: u64, slots: u64) -> AccountWrite {
    AccountWrite {
        address: address(n),
        info: InfoChange::Set(TrieAccount {
            nonce: n,
            balance: U256::from(n + 1),
            ..model::EMPTY
        }),
        wipe_storage: false,
        storage: (0..slots)
            .map(|s| (U256::from(s), U256::from(n * 10 + s + 1)))
            .collect(),
    }
}

#[test]
fn a_tiny_cache_holds_its_bound_while_every_read_stays_correct() {
    const CAPACITY: u64 = 16 * 1024;
    let alloc = BlockWrites {
        accounts: (0..2_000).map(|n| funded(n, 2)).collect(),
        codes: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::create(&dir.path().join("chain.redb"), CAPACITY, &alloc);
    let state = chain.db.state().unwrap();
    for n in 0..2_000 {
        let info = state.basic_ref(address(n)).unwrap().unwrap();
        assert_eq!((info.nonce, info.balance), (n, U256::from(n + 1)));
        for s in 0..3 {
            let expected = if s < 2 { n * 10 + s + 1 } else { 0 };
            assert_eq!(
                state.storage_ref(address(n), U256::from(s)).unwrap(),
                U256::from(expected)
            );
        }
        let stats = chain.db.cache_stats();
        // Half the database's budget is the state cache's (the other half redb's pages).
        assert_eq!(stats.capacity_bytes, CAPACITY / 2);
        assert!(stats.resident_bytes <= stats.capacity_bytes, "{stats:?}");
    }
    let cold = chain.db.cache_stats();
    assert!(cold.misses >= 8_000, "{cold:?}");
    // About 2 MB of entries were read: the cache is a small fraction of the state.
    assert!(cold.resident_bytes > cold.capacity_bytes / 2, "{cold:?}");
    for _ in 0..10 {
        for n in 0..10 {
            state.basic_ref(address(n)).unwrap();
        }
    }
    let warm = chain.db.cache_stats();
    assert!(
        warm.hits >= cold.hits + 90,
        "a small working set is served from the cache: {warm:?}"
    );
}

#[test]
fn threads_share_one_snapshot() {
    let alloc = BlockWrites {
        accounts: (0..400).map(|n| funded(n, 1)).collect(),
        codes: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::create(&dir.path().join("chain.redb"), 8 * 1024, &alloc);
    let state = chain.db.state().unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let state = &state;
            scope.spawn(move || {
                for n in (t..400).step_by(3) {
                    let value = state.storage_ref(address(n), U256::ZERO).unwrap();
                    assert_eq!(value, U256::from(n * 10 + 1));
                }
            });
        }
    });
}

#[test]
fn a_snapshot_keeps_its_head_after_later_commits() {
    let alloc = BlockWrites {
        accounts: vec![funded(1, 1)],
        codes: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::create(&dir.path().join("chain.redb"), 1 << 20, &alloc);
    let old = chain.db.state().unwrap();
    assert_eq!(
        old.storage_ref(address(1), U256::ZERO).unwrap(),
        U256::from(11)
    );
    chain.commit(&BlockWrites {
        accounts: vec![AccountWrite {
            storage: vec![(U256::ZERO, U256::from(99))],
            ..funded(1, 0)
        }],
        codes: vec![],
    });
    let new = chain.db.state().unwrap();
    assert_eq!(
        new.storage_ref(address(1), U256::ZERO).unwrap(),
        U256::from(99)
    );
    // The cache now holds block 1's value; the genesis snapshot must not see it.
    assert_eq!(
        old.storage_ref(address(1), U256::ZERO).unwrap(),
        U256::from(11)
    );
    chain.db.unwind_to(0).unwrap();
    assert_eq!(
        new.storage_ref(address(1), U256::ZERO).unwrap(),
        U256::from(99)
    );
    let unwound = chain.db.state().unwrap();
    assert_eq!(
        unwound.storage_ref(address(1), U256::ZERO).unwrap(),
        U256::from(11)
    );
}
