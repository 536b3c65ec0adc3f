//! A second, independent oracle: the yellow paper's trie function `c(I, i)` (Appendix D)
//! written as directly as possible over a sorted map, with no arena, no caching and no
//! incremental updates.
//!
//! alloy-trie's `HashBuilder` cannot take keys that are prefixes of one another, yet those are
//! exactly the cases that put values into branch nodes and make deletion collapse branches in
//! unusual ways. This oracle accepts any byte keys, so the incremental [`Trie`] is checked
//! against it after every step of random insert / update / delete sequences over a tiny key
//! alphabet that makes prefix keys, shared nibbles and inline (< 32-byte) nodes common.
//! A multi-block [`StateTrie`] sequence (wipes, deletions, re-creations) is checked against
//! alloy-trie's state-root helpers.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::{Encodable, Header};
use commitment::{AccountUpdate, EMPTY_ROOT, StateTrie, Trie, TrieAccount};
use proptest::prelude::*;

mod oracle;

use oracle::{StateModel, alloy_state_root, apply_model};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Hex-prefix encoding (Appendix C).
fn hp(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 } + (path.len() % 2) as u8;
    let mut out = Vec::new();
    let rest = if path.len() % 2 == 1 {
        out.push((flag << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    for pair in rest.chunks(2) {
        out.push((pair[0] << 4) | pair[1]);
    }
    out
}

fn rlp_str(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes.encode(&mut out);
    out
}

fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let payload: Vec<u8> = items.concat();
    let mut out = Vec::new();
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&payload);
    out
}

/// `n(I, i)`: how a parent embeds a node, inline if its RLP is shorter than 32 bytes.
fn embed(items: &[(Vec<u8>, &[u8])], i: usize) -> Vec<u8> {
    if items.is_empty() {
        return rlp_str(&[]);
    }
    let node = c(items, i);
    if node.len() < 32 {
        node
    } else {
        rlp_str(keccak256(&node).as_slice())
    }
}

/// `c(I, i)`: the RLP of the node for `items`, all of which share their first `i` nibbles.
fn c(items: &[(Vec<u8>, &[u8])], i: usize) -> Vec<u8> {
    if let [(key, value)] = items {
        return rlp_list(&[rlp_str(&hp(&key[i..], true)), rlp_str(value)]);
    }
    let shortest = items.iter().map(|(k, _)| k.len()).min().unwrap_or(i);
    let mut j = i;
    while j < shortest && items.iter().all(|(k, _)| k[j] == items[0].0[j]) {
        j += 1;
    }
    if j > i {
        return rlp_list(&[rlp_str(&hp(&items[0].0[i..j], false)), embed(items, j)]);
    }
    let mut fields = Vec::with_capacity(17);
    for nibble in 0..16u8 {
        let below: Vec<(Vec<u8>, &[u8])> = items
            .iter()
            .filter(|(k, _)| k.len() > i && k[i] == nibble)
            .cloned()
            .collect();
        fields.push(embed(&below, i + 1));
    }
    let value = items
        .iter()
        .find(|(k, _)| k.len() == i)
        .map_or(&[][..], |(_, v)| v);
    fields.push(rlp_str(value));
    rlp_list(&fields)
}

fn oracle_root(model: &Model) -> B256 {
    if model.is_empty() {
        return EMPTY_ROOT;
    }
    let items: Vec<(Vec<u8>, &[u8])> = model
        .iter()
        .map(|(k, v)| (nibbles(k), v.as_slice()))
        .collect();
    keccak256(c(&items, 0))
}

#[derive(Clone, Debug)]
enum Step {
    /// An empty value is a delete, as in the ethereum/tests.
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

/// Keys over a few bytes whose nibbles overlap, lengths 0..=4: the empty key, keys that are
/// prefixes of others and keys that diverge mid-byte all come up constantly.
fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, 0x10, 0x11, 0x1f, 0xf1]),
        0..=4,
    )
}

fn step() -> impl Strategy<Value = Step> {
    steps_over(key)
}

/// Keys longer than 32 bytes, sharing a 60-byte stem, mixed with short ones: hex-prefix
/// strings of 55 bytes and more (long RLP string headers in leaves and extensions), as a
/// generic byte-key trie must support.
fn long_key() -> impl Strategy<Value = Vec<u8>> {
    (prop::bool::weighted(0.8), key()).prop_map(|(long, suffix)| {
        let mut k = if long { vec![0xab; 60] } else { Vec::new() };
        k.extend(suffix);
        k
    })
}

fn steps_over<K: Strategy<Value = Vec<u8>>>(key: fn() -> K) -> impl Strategy<Value = Step> {
    // Values mostly short (inline nodes), sometimes past 55 and 255 bytes (long headers).
    let value = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => proptest::collection::vec(any::<u8>(), 50..300),
    ];
    prop_oneof![
        4 => (key(), value).prop_map(|(k, v)| Step::Insert(k, v)),
        2 => key().prop_map(Step::Remove),
    ]
}

/// Replays `steps` on `trie` (empty) and on the model, checking root, length and lookups each
/// step.
fn check_against_oracle(mut trie: Trie, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    for step in steps {
        let touched = match step {
            Step::Insert(k, v) => {
                trie.insert(k, v.clone());
                if v.is_empty() {
                    model.remove(k);
                } else {
                    model.insert(k.clone(), v.clone());
                }
                k
            }
            Step::Remove(k) => {
                trie.remove(k);
                model.remove(k);
                k
            }
        };
        prop_assert_eq!(trie.root(), oracle_root(&model), "after {:?}", step);
        prop_assert_eq!(trie.len(), model.len());
        prop_assert_eq!(trie.is_empty(), model.is_empty());
        prop_assert_eq!(trie.get(touched), model.get(touched).map(Vec::as_slice));
    }
    for (k, v) in &model {
        prop_assert_eq!(trie.get(k), Some(v.as_slice()));
    }
    let bulk: Vec<(&Vec<u8>, &Vec<u8>)> = model.iter().collect();
    prop_assert_eq!(Trie::from_leaves(&bulk).root(), oracle_root(&model));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prefix_keys_match_the_yellow_paper_oracle(steps in proptest::collection::vec(step(), 1..80)) {
        check_against_oracle(Trie::new(), &steps)?;
    }

    /// The sharded layout on few keys: the root value of the empty key, one live shard (its
    /// top node lifted to the root) and shards emptied again.
    #[test]
    fn sharded_tries_match_the_yellow_paper_oracle(steps in proptest::collection::vec(step(), 1..80)) {
        check_against_oracle(Trie::sharded(), &steps)?;
    }

    #[test]
    fn long_keys_match_the_yellow_paper_oracle(steps in proptest::collection::vec(steps_over(long_key), 1..60)) {
        check_against_oracle(Trie::new(), &steps)?;
        check_against_oracle(Trie::sharded(), &steps)?;
    }

    /// One batch ([`Trie::apply`]) ends where the same writes one at a time end, repeated
    /// keys included (the later write wins), in both layouts and on both sides of the
    /// parallel-batch threshold.
    #[test]
    fn a_batch_equals_its_writes_in_order(steps in proptest::collection::vec(step(), 1..400)) {
        let writes: Vec<(Vec<u8>, Vec<u8>)> = steps
            .iter()
            .map(|s| match s {
                Step::Insert(k, v) => (k.clone(), v.clone()),
                Step::Remove(k) => (k.clone(), Vec::new()),
            })
            .collect();
        let mut model = Model::new();
        for (k, v) in &writes {
            if v.is_empty() {
                model.remove(k);
            } else {
                model.insert(k.clone(), v.clone());
            }
        }
        for mut trie in [Trie::new(), Trie::sharded()] {
            trie.apply(&writes);
            prop_assert_eq!(trie.root(), oracle_root(&model));
            prop_assert_eq!(trie.len(), model.len());
        }
    }

    /// A clone evolves independently of its original (the arena is copied, not shared).
    #[test]
    fn clones_are_independent(first in proptest::collection::vec(step(), 0..30), second in proptest::collection::vec(step(), 0..30)) {
        let mut trie = Trie::new();
        let mut model = Model::new();
        for step in first.iter().chain(&second) {
            match step {
                Step::Insert(k, v) if !v.is_empty() => {
                    model.insert(k.clone(), v.clone());
                }
                Step::Insert(k, _) | Step::Remove(k) => {
                    model.remove(k);
                }
            }
        }
        for step in &first {
            match step {
                Step::Insert(k, v) => trie.insert(k, v.clone()),
                Step::Remove(k) => trie.remove(k),
            }
        }
        let before = trie.root();
        let mut copy = trie.clone();
        for step in &second {
            match step {
                Step::Insert(k, v) => copy.insert(k, v.clone()),
                Step::Remove(k) => copy.remove(k),
            }
        }
        prop_assert_eq!(copy.root(), oracle_root(&model));
        prop_assert_eq!(trie.root(), before);
    }
}

/// The oracle itself checked on a few ethereum/tests roots (trieanyorder.json), so that an
/// agreement between it and the trie means something.
#[test]
fn oracle_agrees_with_known_roots() {
    assert_eq!(oracle_root(&Model::new()), EMPTY_ROOT);
    let single = Model::from([(b"A".to_vec(), b"a".repeat(50))]);
    assert_eq!(
        oracle_root(&single),
        "0xd23786fb4a010da3ce639d66d5e904a11dbc02746d1ce25029e53290cabf28ab"
            .parse::<B256>()
            .unwrap()
    );
    let dogs = Model::from([
        (b"doe".to_vec(), b"reindeer".to_vec()),
        (b"dog".to_vec(), b"puppy".to_vec()),
        (b"dogglesworth".to_vec(), b"cat".to_vec()),
    ]);
    assert_eq!(
        oracle_root(&dogs),
        "0x8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"
            .parse::<B256>()
            .unwrap()
    );
}

/// No fixture has keys past 32 bytes and alloy-trie's `Nibbles` stops at 64 nibbles, so the
/// long-key case is pinned by hand: a leaf whose hex-prefix path is 61 bytes needs the long
/// RLP string header `0xb8 61` (RLP: strings of 56+ bytes), and the node a long list header.
#[test]
fn oracle_encodes_long_paths_by_the_rlp_rules() {
    let key = vec![0xab; 60];
    let mut leaf = vec![0xf8, 64, 0xb8, 61, 0x20];
    leaf.extend_from_slice(&key);
    leaf.push(0x01);
    let model = Model::from([(key.clone(), vec![0x01])]);
    assert_eq!(oracle_root(&model), keccak256(&leaf));

    // The trie under test, on the same single long-key leaf (arbitrary byte keys are part of
    // its contract, not only 32-byte hashes).
    let mut trie = Trie::new();
    trie.insert(&key, vec![0x01]);
    assert_eq!(trie.root(), keccak256(&leaf), "60-byte key");
}

/// A trie grown one key at a time is re-laid out in shards at `SHARD_MIN_LEAVES` keys; the
/// roots before, at and after the switch, and after shrinking below it, match the oracle.
#[test]
fn growing_past_the_shard_threshold_keeps_every_root() {
    let mut trie = Trie::new();
    let mut model = Model::new();
    let key = |i: u32| i.to_be_bytes()[1..].to_vec();
    for i in 0..(commitment::SHARD_MIN_LEAVES as u32 + 500) {
        trie.insert(&key(i), i.to_le_bytes());
        model.insert(key(i), i.to_le_bytes().to_vec());
        if i % 1000 == 999 || i as usize + 1 == commitment::SHARD_MIN_LEAVES {
            assert_eq!(trie.root(), oracle_root(&model), "{} keys", i + 1);
        }
    }
    for i in (0..(commitment::SHARD_MIN_LEAVES as u32 + 500)).filter(|i| i % 8 != 0) {
        trie.remove(&key(i));
        model.remove(&key(i));
    }
    assert_eq!(trie.len(), model.len());
    assert_eq!(trie.root(), oracle_root(&model));
    assert_eq!(trie.root_serial(), oracle_root(&model));
    for (k, v) in &model {
        assert_eq!(trie.get(k), Some(v.as_slice()));
    }
}

/// One batch that takes a whole trie past the shard threshold: the writes after the switch
/// (rewrites and deletions of keys written before it among them) go to the shards and end
/// where the same writes one at a time end.
#[test]
fn a_batch_crossing_the_shard_threshold_matches_the_oracle() {
    let key = |i: u32| i.to_be_bytes()[1..].to_vec();
    let grow = commitment::SHARD_MIN_LEAVES as u32 + 300;
    let mut writes: Vec<(Vec<u8>, Vec<u8>)> = (0..grow)
        .map(|i| (key(i), i.to_le_bytes().to_vec()))
        .collect();
    writes.extend((0..grow).step_by(7).map(|i| (key(i), Vec::new())));
    writes.extend((0..grow).step_by(5).map(|i| (key(i), vec![0xaa; 40])));
    let mut model = Model::new();
    let mut one_by_one = Trie::new();
    for (k, v) in &writes {
        one_by_one.insert(k, v);
        if v.is_empty() {
            model.remove(k);
        } else {
            model.insert(k.clone(), v.clone());
        }
    }
    let mut batched = Trie::new();
    batched.apply(&writes);
    assert_eq!(batched.len(), model.len());
    assert_eq!(batched.root(), oracle_root(&model));
    assert_eq!(batched.root(), one_by_one.root());
}

#[test]
fn removing_an_absent_key_changes_nothing() {
    let mut trie = Trie::new();
    trie.remove(b"nothing");
    assert_eq!(trie.root(), EMPTY_ROOT);
    trie.insert(b"do", b"verb");
    trie.insert(b"dog", b"puppy");
    let root = trie.root();
    for absent in [&b""[..], b"d", b"dogs", b"cat", b"doe"] {
        trie.remove(absent);
        assert_eq!(trie.root(), root);
        assert_eq!(trie.len(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// StateTrie over several blocks against alloy-trie.

fn update() -> impl Strategy<Value = AccountUpdate> {
    (
        0u8..12,
        prop::option::weighted(0.85, (any::<u64>(), any::<u64>(), any::<u8>())),
        prop::bool::weighted(0.15),
        proptest::collection::vec((0u64..20, prop_oneof![Just(0u64), 1u64..1000]), 0..6),
    )
        .prop_map(|(a, info, wipe_storage, storage)| AccountUpdate {
            address: Address::with_last_byte(a),
            info: info.map(|(nonce, balance, code)| TrieAccount {
                nonce,
                balance: U256::from(balance),
                code_hash: keccak256([code]),
            }),
            wipe_storage,
            storage: storage
                .into_iter()
                .map(|(k, v)| (U256::from(k), U256::from(v)))
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Several blocks in a row, a root after each: same accounts touched again, storage
    /// wiped, accounts removed and re-created, slots zeroed.
    #[test]
    fn state_trie_over_blocks_matches_alloy(blocks in proptest::collection::vec(proptest::collection::vec(update(), 0..10), 1..6)) {
        let mut trie = StateTrie::new();
        let mut model = StateModel::new();
        for block in &blocks {
            trie.apply(block);
            apply_model(&mut model, block);
            prop_assert_eq!(trie.root(), alloy_state_root(&model));
            for a in 0u8..12 {
                let address = Address::with_last_byte(a);
                let expected = model.get(&address);
                prop_assert_eq!(trie.account(&address), expected.map(|(info, _)| *info));
                let storage_root = expected.map_or(EMPTY_ROOT, |(_, s)| {
                    alloy_trie::root::storage_root_unhashed(s.iter().map(|(k, v)| (B256::from(*k), *v)))
                });
                prop_assert_eq!(trie.storage_root(&address), storage_root);
            }
        }
    }
}
