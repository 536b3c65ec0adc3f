//! A trie opened over stored nodes, differential against the in-memory trie and alloy-trie's
//! `HashBuilder`: the same random batches go to both, and after every batch the roots and
//! reads agree, and the store the exported changes were applied to holds exactly the nodes
//! of a trie built from scratch (nothing missing, nothing stale). The store is a map behind
//! the `NodeSource` trait, standing in for the database.

use std::{collections::BTreeMap, sync::Arc};

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_trie::{HashBuilder, Nibbles};
use commitment::{
    EMPTY_ROOT, NodeSource, Owner, SHARD_MIN_LEAVES, SourceError, Trie, TrieChanges, TrieError,
};
use proptest::prelude::*;

mod oracle;

use oracle::MapSource;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every node a trie holding `model` stores, from a whole trie built on its own (a trie
/// opened over an empty source is never re-laid out in shards, whatever its size).
fn stored_nodes(model: &Model) -> BTreeMap<Vec<u8>, Bytes> {
    let mut trie = Trie::open(EMPTY_ROOT, Arc::new(MapSource::default()), Owner::Account);
    for (k, v) in model {
        trie.insert(k, v);
    }
    trie.take_changes().written
}

fn alloy_root(model: &Model) -> B256 {
    let mut hb = HashBuilder::default();
    for (k, v) in model {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    hb.root()
}

/// The root of `model` built from scratch, and alloy's where it applies (`HashBuilder` takes
/// no key that is a prefix of another).
fn expected_root(model: &Model) -> B256 {
    let root = Trie::from_leaves(&model.iter().collect::<Vec<_>>()).root();
    if model.keys().all(|k| k.len() == 32) {
        assert_eq!(root, alloy_root(model));
    }
    root
}

#[derive(Clone, Debug)]
enum Step {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// 32-byte keys from a small pool: some share their first byte, some all but their last
/// (a deep extension over a branch of short, inline leaves).
fn long_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..8, 0u8..16).prop_map(|(head, tail)| {
            let mut k = keccak256([tail]);
            k.0[0] = head;
            k.to_vec()
        }),
        (0u8..16).prop_map(|last| {
            let mut k = [0xab; 32];
            k[31] = last;
            k.to_vec()
        }),
    ]
}

/// Short keys over a few nibbles, some prefixes of others (branch values, inline nodes).
fn short_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..4, 0..4)
}

fn steps(key: BoxedStrategy<Vec<u8>>) -> impl Strategy<Value = Vec<Vec<Step>>> {
    let value = proptest::collection::vec(any::<u8>(), 1..48);
    let step = prop_oneof![
        3 => (key.clone(), value).prop_map(|(k, v)| Step::Put(k, v)),
        2 => key.prop_map(Step::Delete),
    ];
    proptest::collection::vec(proptest::collection::vec(step, 1..16), 1..10)
}

fn apply(trie: &mut Trie, step: &Step) {
    match step {
        Step::Put(k, v) => trie.insert(k, v),
        Step::Delete(k) => trie.remove(k),
    }
}

/// Builds a trie of `initial`, persists it, opens a second one over the store, then applies
/// `batches` to both. After each batch: equal roots (and alloy's), equal reads, and both
/// stores (one fed by the in-memory trie's changes, one by the opened trie's) hold exactly the
/// nodes of a trie built from scratch. `budget`: retain the opened trie to it after each batch.
/// Every third batch the opened trie is dropped and opened again from its root.
fn differential(
    initial: Vec<Step>,
    batches: Vec<Vec<Step>>,
    budget: Option<usize>,
) -> Result<(), TestCaseError> {
    let owner = Owner::Storage(keccak256("owner"));
    let mut model = Model::new();
    let mut memory = Trie::new();
    for step in &initial {
        apply(&mut memory, step);
        match step {
            Step::Put(k, v) => model.insert(k.clone(), v.clone()),
            Step::Delete(k) => model.remove(k),
        };
    }
    memory.track_changes();
    let (mirror, source) = (MapSource::default(), Arc::new(MapSource::default()));
    let changes = memory.take_changes();
    mirror.persist(owner, changes.clone());
    source.persist(owner, changes);
    prop_assert_eq!(source.nodes(owner), stored_nodes(&model));

    let mut opened = Trie::open(memory.root(), source.clone(), owner);
    for (i, batch) in batches.iter().enumerate() {
        for step in batch {
            apply(&mut memory, step);
            apply(&mut opened, step);
            match step {
                Step::Put(k, v) => model.insert(k.clone(), v.clone()),
                Step::Delete(k) => model.remove(k),
            };
        }
        let root = memory.root();
        prop_assert_eq!(root, expected_root(&model));
        prop_assert_eq!(opened.try_root()?, root);
        mirror.persist(owner, memory.take_changes());
        source.persist(owner, opened.take_changes());
        let expected = stored_nodes(&model);
        prop_assert_eq!(
            &mirror.nodes(owner),
            &expected,
            "in-memory trie's changes, batch {}",
            i
        );
        prop_assert_eq!(
            &source.nodes(owner),
            &expected,
            "opened trie's changes, batch {}",
            i
        );
        prop_assert!(
            opened.take_changes().is_empty(),
            "nothing changed since the last take"
        );

        for step in batch {
            let (Step::Put(k, _) | Step::Delete(k)) = step;
            prop_assert_eq!(opened.read(k)?, model.get(k).map(Vec::as_slice));
        }
        if let Some(budget) = budget {
            let resident = opened.retain(budget);
            prop_assert!(resident <= budget.max(2048), "{} bytes resident", resident);
        }
        if i % 3 == 2 {
            opened = Trie::open(root, source.clone(), owner);
        }
    }
    for (k, v) in &model {
        prop_assert_eq!(opened.read(k)?, Some(v.as_slice()));
    }
    prop_assert_eq!(opened.try_root()?, expected_root(&model));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn opened_trie_follows_the_in_memory_trie(initial in steps(long_key().boxed()), batches in steps(long_key().boxed())) {
        differential(initial.concat(), batches, None)?;
    }

    #[test]
    fn opened_trie_follows_with_prefix_keys(initial in steps(short_key().boxed()), batches in steps(short_key().boxed())) {
        differential(initial.concat(), batches, None)?;
    }

    /// Between batches the opened trie gives back all it can (budget 0: root only), so every
    /// batch re-reveals its paths from the store.
    #[test]
    fn opened_trie_follows_when_retained_to_nothing(initial in steps(long_key().boxed()), batches in steps(long_key().boxed())) {
        differential(initial.concat(), batches, Some(0))?;
    }

    #[test]
    fn retained_prefix_keys_follow_too(initial in steps(short_key().boxed()), batches in steps(short_key().boxed())) {
        differential(initial.concat(), batches, Some(0))?;
    }
}

/// A trie past `SHARD_MIN_LEAVES` is re-laid out in shards while tracked: its exports still
/// leave the store holding exactly its nodes, through the re-layout, deletions, and the
/// root moving into and out of a lone shard (whose top node is then the root).
#[test]
fn sharded_trie_exports_exactly_its_nodes() {
    let owner = Owner::Account;
    let key = |i: u64| keccak256(i.to_be_bytes()).to_vec();
    let mut model: Model = (0..1000).map(|i| (key(i), key(i << 32))).collect();
    let mut trie = Trie::new();
    for (k, v) in &model {
        trie.insert(k, v);
    }
    trie.track_changes();
    let store = MapSource::default();
    let check = |trie: &mut Trie, model: &Model, what: &str| {
        store.persist(owner, trie.take_changes());
        assert_eq!(trie.root(), alloy_root(model), "{what}");
        assert_eq!(store.nodes(owner), stored_nodes(model), "{what}");
    };
    check(&mut trie, &model, "whole");
    // Some removals before the re-layout: their positions must still be deleted after it.
    for i in 0..100 {
        trie.remove(&key(i));
        model.remove(&key(i));
    }
    for i in 1000..(SHARD_MIN_LEAVES as u64 + 200) {
        trie.insert(&key(i), key(i));
        model.insert(key(i), key(i));
    }
    check(&mut trie, &model, "re-laid out in shards");
    // Empty every shard but the one of nibble 3, then refill one other: the root is the lone
    // shard's top node, then a branch again.
    let (lone, other): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
        model.keys().cloned().partition(|k| k[0] >> 4 == 3);
    for k in &other {
        trie.remove(k);
        model.remove(k);
    }
    for k in lone.iter().skip(1) {
        trie.remove(k);
        model.remove(k);
    }
    check(
        &mut trie,
        &model,
        "one shard with one leaf: the root is that leaf",
    );
    trie.insert(&other[0], b"back");
    model.insert(other[0].clone(), b"back".to_vec());
    check(&mut trie, &model, "two shards again");
}

/// A source that fails, a node that is missing, and bytes that are not the node: each is a
/// typed error from a read and from `try_root` after a write, never a panic.
#[test]
fn bad_sources_give_typed_errors() {
    struct Failing;
    impl NodeSource for Failing {
        fn node(&self, _: Owner, _: &[u8]) -> Result<Option<Bytes>, SourceError> {
            Err(SourceError::new(std::io::Error::other("disk on fire")))
        }
    }
    let model: Model = (0u8..40)
        .map(|i| (keccak256([i]).to_vec(), vec![i; 40]))
        .collect();
    let root = alloy_root(&model);
    let k = model.keys().next().unwrap();

    let mut trie = Trie::open(root, Arc::new(Failing), Owner::Account);
    assert!(matches!(trie.read(k), Err(TrieError::Source { .. })));
    trie.insert(k, b"new");
    assert!(matches!(trie.try_root(), Err(TrieError::Source { path, .. }) if path.is_empty()));

    let mut trie = Trie::open(root, Arc::new(MapSource::default()), Owner::Account);
    assert!(matches!(trie.read(k), Err(TrieError::MissingNode { .. })));

    let wrong = MapSource::default();
    wrong.put(Owner::Account, vec![], Bytes::from_static(&[0xc0]));
    let mut trie = Trie::open(root, Arc::new(wrong), Owner::Account);
    trie.remove(k);
    assert!(matches!(
        trie.try_root(),
        Err(TrieError::HashMismatch { .. })
    ));

    // The whole store but one node deep down: a read that needs it fails, others succeed.
    let source = MapSource::default();
    source.persist(
        Owner::Account,
        TrieChanges {
            written: stored_nodes(&model),
            ..Default::default()
        },
    );
    let deepest = source
        .nodes(Owner::Account)
        .into_keys()
        .max_by_key(Vec::len)
        .unwrap();
    source.take(Owner::Account, &deepest);
    let mut trie = Trie::open(root, Arc::new(source), Owner::Account);
    let mut failed = 0;
    for (k, v) in &model {
        match trie.read(k) {
            Ok(value) => assert_eq!(value, Some(v.as_slice())),
            Err(TrieError::MissingNode { path, .. }) => {
                assert_eq!(path, deepest);
                failed += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(failed > 0);
}

/// A delete that collapses a branch needs the sibling it merges into; when the store has lost
/// it, `try_root` says so instead of a wrong root.
#[test]
fn a_collapse_whose_sibling_is_missing_is_an_error() {
    let model: Model = [(vec![0x10], vec![1; 40]), (vec![0x20], vec![2; 40])].into();
    let source = MapSource::default();
    source.persist(
        Owner::Account,
        TrieChanges {
            written: stored_nodes(&model),
            ..Default::default()
        },
    );
    assert!(source.take(Owner::Account, &[2]).is_some());
    let mut trie = Trie::open(alloy_root(&model), Arc::new(source), Owner::Account);
    trie.remove(&[0x10]);
    assert!(matches!(trie.try_root(), Err(TrieError::MissingNode { path, .. }) if path == [2]));
}

proptest! {
    /// Random bytes as the stored root (hashing to the root asked for, so they reach the
    /// decoder): reads and writes give a typed error or, for bytes that happen to be a node,
    /// work on it; nothing panics.
    #[test]
    fn garbage_nodes_never_panic(garbage in proptest::collection::vec(any::<u8>(), 0..80), key in short_key()) {
        let source = MapSource::default();
        source.put(Owner::Account, vec![], garbage.clone().into());
        let mut trie = Trie::open(keccak256(&garbage), Arc::new(source), Owner::Account);
        let read = trie.read(&key).map(|v| v.map(<[u8]>::to_vec));
        trie.insert(&key, b"value");
        trie.remove(&[key.as_slice(), &[1]].concat());
        let root = trie.try_root();
        if let Err(TrieError::Decode { .. }) = read {
            prop_assert!(matches!(root, Err(TrieError::Decode { .. })), "{:?}", root);
        }
    }
}

/// A source that counts its reads.
struct Counting(MapSource, std::sync::atomic::AtomicUsize);

impl NodeSource for Counting {
    fn node(&self, owner: Owner, path: &[u8]) -> Result<Option<Bytes>, SourceError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.node(owner, path)
    }
}

/// `retain` holds the resident bytes to the budget (down to the root and one slot per
/// child of it), and what it gave back is read again from the source, with the same values
/// and root.
#[test]
fn retain_gives_memory_back_and_reveals_it_again() {
    let model: Model = (0u64..2000)
        .map(|i| {
            (
                keccak256(i.to_be_bytes()).to_vec(),
                vec![i as u8; 1 + (i % 50) as usize],
            )
        })
        .collect();
    let root = alloy_root(&model);
    let source = Arc::new(Counting(MapSource::default(), Default::default()));
    source.0.persist(
        Owner::Account,
        TrieChanges {
            written: stored_nodes(&model),
            ..Default::default()
        },
    );
    let reads = || source.1.load(std::sync::atomic::Ordering::Relaxed);
    let mut trie = Trie::open(root, source.clone(), Owner::Account);
    let read_all = |trie: &mut Trie| {
        for (k, v) in &model {
            assert_eq!(trie.read(k).unwrap(), Some(v.as_slice()));
        }
    };
    read_all(&mut trie);
    let full = trie.resident_bytes();
    assert_eq!(
        reads(),
        source.0.nodes(Owner::Account).len(),
        "each stored node read once"
    );

    for budget in [full / 4, 0] {
        let resident = trie.retain(budget);
        assert!(
            resident <= budget.max(17 * 80 + 64),
            "{resident} bytes for a budget of {budget}"
        );
        let before = reads();
        read_all(&mut trie);
        assert!(reads() > before, "collapsed nodes are read again");
        assert_eq!(trie.resident_bytes(), full);
        assert_eq!(trie.try_root().unwrap(), root);
    }
    // Nodes changed since the last export stay: they are not in the source yet.
    let (k, _) = model.iter().next().unwrap();
    trie.insert(k, b"changed");
    let changed_root = trie.root();
    trie.retain(0);
    assert_eq!(trie.read(k).unwrap(), Some(&b"changed"[..]));
    assert_eq!(trie.try_root().unwrap(), changed_root);
}
