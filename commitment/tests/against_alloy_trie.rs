//! Differential property tests: the incremental root after every step equals a root built from
//! scratch and alloy-trie's `HashBuilder` over the same sorted leaves.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{HashBuilder, Nibbles, root::state_root_unhashed};
use commitment::{AccountUpdate, EMPTY_ROOT, StateTrie, Trie, TrieAccount};
use proptest::prelude::*;

fn alloy_root(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut hb = HashBuilder::default();
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root()
}

fn fresh_root(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut trie = Trie::new();
    for (k, v) in leaves {
        trie.insert(k.as_slice(), v.clone());
    }
    trie.root()
}

#[derive(Clone, Debug)]
enum Step {
    Put(u8, Vec<u8>),
    Delete(u8),
}

/// Keys come from a small pool so updates and deletes hit existing keys; the pool's 32-byte
/// keys share prefixes often enough to exercise branch and extension collapse.
fn key(pool: u8) -> B256 {
    let mut k = keccak256([pool % 16]);
    k.0[0] = pool / 16; // force shared leading nibbles between some keys
    k
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..80)).prop_map(|(k, v)| Step::Put(k, v)),
        1 => any::<u8>().prop_map(Step::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_root_matches_rebuild_and_alloy(steps in proptest::collection::vec(step(), 1..120)) {
        let mut trie = Trie::new();
        let mut model = BTreeMap::new();
        for s in steps {
            match s {
                Step::Put(k, v) => {
                    trie.insert(key(k).as_slice(), v.clone());
                    model.insert(key(k), v);
                }
                Step::Delete(k) => {
                    trie.remove(key(k).as_slice());
                    model.remove(&key(k));
                }
            }
            let root = trie.root();
            prop_assert_eq!(root, trie.root_serial());
            prop_assert_eq!(root, fresh_root(&model));
            prop_assert_eq!(root, Trie::from_leaves(&model.iter().collect::<Vec<_>>()).root());
            prop_assert_eq!(root, alloy_root(&model));
            prop_assert_eq!(trie.len(), model.len());
        }
        for (k, v) in &model {
            prop_assert_eq!(trie.get(k.as_slice()), Some(v.as_slice()));
        }
    }

    #[test]
    fn random_key_sets_match_alloy(leaves in proptest::collection::btree_map(any::<[u8; 32]>().prop_map(B256::from), proptest::collection::vec(any::<u8>(), 1..100), 0..300)) {
        prop_assert_eq!(fresh_root(&leaves), alloy_root(&leaves));
    }

    #[test]
    fn state_trie_matches_alloy(
        accounts in proptest::collection::btree_map(
            any::<[u8; 20]>().prop_map(Address::from),
            (any::<u64>(), any::<u128>(), proptest::collection::btree_map(0u64..50, 0u64..4, 0..8)),
            0..40,
        ),
        removed in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut trie = StateTrie::new();
        let updates: Vec<AccountUpdate> = accounts.iter().map(|(a, (nonce, balance, storage))| AccountUpdate {
            address: *a,
            info: Some(TrieAccount { nonce: *nonce, balance: U256::from(*balance), code_hash: keccak256(a) }),
            wipe_storage: false,
            storage: storage.iter().map(|(k, v)| (U256::from(*k), U256::from(*v))).collect(),
        }).collect();
        trie.apply(&updates);
        let _ = trie.root();

        let mut live = accounts.clone();
        let keys: Vec<Address> = accounts.keys().copied().collect();
        let mut deletions = Vec::new();
        if !keys.is_empty() {
            for ix in removed {
                let a = keys[ix.index(keys.len())];
                live.remove(&a);
                deletions.push(AccountUpdate { address: a, info: None, wipe_storage: true, storage: vec![] });
            }
        }
        trie.apply(&deletions);
        let bulk_root = StateTrie::from_accounts(&live.iter().map(|(a, (nonce, balance, storage))| AccountUpdate {
            address: *a,
            info: Some(TrieAccount { nonce: *nonce, balance: U256::from(*balance), code_hash: keccak256(a) }),
            wipe_storage: false,
            storage: storage.iter().map(|(k, v)| (U256::from(*k), U256::from(*v))).collect(),
        }).collect::<Vec<_>>()).root();

        let expected = state_root_unhashed(live.iter().map(|(a, (nonce, balance, storage))| {
            let slots = storage.iter().filter(|(_, v)| **v != 0).map(|(k, v)| (B256::from(U256::from(*k)), U256::from(*v)));
            let account = alloy_trie::TrieAccount {
                nonce: *nonce,
                balance: U256::from(*balance),
                storage_root: alloy_trie::root::storage_root_unhashed(slots),
                code_hash: keccak256(a),
            };
            (*a, account)
        }));
        prop_assert_eq!(trie.root(), expected);
        prop_assert_eq!(bulk_root, expected);
    }

    /// Arbitrary byte keys, some prefixes of others: bulk build equals insertion in any order.
    #[test]
    fn bulk_build_matches_insertion(leaves in proptest::collection::vec((proptest::collection::vec(0u8..4, 0..6), proptest::collection::vec(any::<u8>(), 0..40)), 0..60)) {
        let mut trie = Trie::new();
        for (k, v) in &leaves {
            trie.insert(k, v.clone());
        }
        prop_assert_eq!(Trie::from_leaves(&leaves).root(), trie.root());
    }
}

/// Large enough for the parallel bulk path; then updated and shrunk incrementally.
#[test]
fn parallel_bulk_build_then_incremental_updates() {
    let mut model: BTreeMap<B256, Vec<u8>> = (0u64..20_000)
        .map(|i| (keccak256(i.to_be_bytes()), i.to_be_bytes().repeat(4)))
        .collect();
    let mut trie = Trie::from_leaves(&model.iter().collect::<Vec<_>>());
    assert_eq!(trie.len(), model.len());
    assert_eq!(trie.root(), alloy_root(&model));
    for i in (0u64..20_000).step_by(3) {
        let k = keccak256(i.to_be_bytes());
        if i % 2 == 0 {
            trie.remove(k.as_slice());
            model.remove(&k);
        } else {
            trie.insert(k.as_slice(), vec![1, 2, 3]);
            model.insert(k, vec![1, 2, 3]);
        }
    }
    assert_eq!(trie.root(), alloy_root(&model));
    assert_eq!(trie.root_serial(), alloy_root(&model));
}

/// Rewriting values with new lengths and deleting keys leaves dead bytes in the node arena;
/// compaction must reclaim them without changing a single root.
#[test]
fn arena_compaction_under_churn_keeps_roots_and_bounds_memory() {
    let mut trie = Trie::new();
    let mut model = BTreeMap::new();
    for round in 0u64..12 {
        for i in 0u64..3_000 {
            let k = keccak256((i * 7 + round).to_be_bytes());
            let len = 1 + ((i + round) % 90) as usize;
            let v = vec![(i ^ round) as u8 | 1; len];
            if (i + round) % 5 == 0 {
                trie.remove(k.as_slice());
                model.remove(&k);
            } else {
                trie.insert(k.as_slice(), &v);
                model.insert(k, v);
            }
        }
        assert_eq!(trie.root(), alloy_root(&model), "round {round}");
        assert_eq!(trie.len(), model.len());
    }
    for (k, v) in &model {
        assert_eq!(trie.get(k.as_slice()), Some(v.as_slice()));
    }
    let rebuilt = Trie::from_leaves(&model.iter().collect::<Vec<_>>());
    assert!(
        trie.heap_bytes() < 3 * rebuilt.heap_bytes() + (1 << 18),
        "churned trie holds {} bytes, a rebuild {}",
        trie.heap_bytes(),
        rebuilt.heap_bytes()
    );
}

#[test]
fn empty_trie_root_is_the_empty_root() {
    assert_eq!(Trie::new().root(), EMPTY_ROOT);
    assert_eq!(StateTrie::new().root(), EMPTY_ROOT);
}

#[test]
fn wiped_storage_is_forgotten() {
    let address = Address::repeat_byte(7);
    let info = Some(TrieAccount {
        nonce: 1,
        balance: U256::from(5),
        code_hash: keccak256([]),
    });
    let mut trie = StateTrie::new();
    trie.apply(&[AccountUpdate {
        address,
        info,
        wipe_storage: false,
        storage: vec![(U256::from(1), U256::from(9))],
    }]);
    let with_storage = trie.root();
    trie.apply(&[AccountUpdate {
        address,
        info,
        wipe_storage: true,
        storage: vec![],
    }]);
    assert_ne!(trie.root(), with_storage);
    assert_eq!(trie.storage_root(&address), EMPTY_ROOT);
}

/// The memory figure counts at least the data the trie must hold (a 64-nibble path and a value
/// per leaf), and is printed so runs can be compared (`--nocapture`).
#[test]
fn memory_figure_covers_the_leaves() {
    let accounts: Vec<AccountUpdate> = (0u64..20_000)
        .map(|i| AccountUpdate {
            address: Address::from_word(keccak256(i.to_be_bytes())),
            info: Some(TrieAccount {
                nonce: i,
                balance: U256::from(i),
                code_hash: keccak256([]),
            }),
            wipe_storage: false,
            storage: vec![
                (U256::from(1), U256::from(i + 1)),
                (U256::from(2), U256::from(7)),
            ],
        })
        .collect();
    let figure = StateTrie::from_accounts(&accounts).memory();
    assert_eq!(figure.account_leaves, 20_000);
    assert_eq!(figure.storage_leaves, 40_000);
    let floor = 20_000 * (64 + 70) + 40_000 * (64 + 2);
    assert!(
        figure.bytes >= floor,
        "{figure:?} below the {floor} bytes of raw leaves"
    );
    println!("{figure:?}: {:.0} bytes per leaf", figure.bytes_per_leaf());
}

/// The default account is the empty account alloy-trie hashes: no code is KECCAK256_EMPTY, not
/// a zero hash (the derived default put zero into the leaf).
#[test]
fn the_default_account_is_the_empty_one() {
    let account = TrieAccount::default();
    assert!(account.is_empty());
    let address = Address::with_last_byte(7);
    let mut trie = StateTrie::new();
    trie.apply(&[AccountUpdate {
        address,
        info: Some(account),
        wipe_storage: false,
        storage: vec![],
    }]);
    let expected = state_root_unhashed([(address, alloy_trie::TrieAccount::default())]);
    assert_eq!(trie.root(), expected);
}
