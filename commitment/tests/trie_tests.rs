//! ethereum/tests TrieTests: every file our trie can express (all but `trietestnextprev.json`,
//! which tests ordered iteration, an API this trie does not offer).

use std::path::PathBuf;

use alloy_primitives::{B256, hex, keccak256};
use commitment::Trie;
use serde_json::Value;

fn trie_tests_dir() -> PathBuf {
    let base = std::env::var_os("FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    let dir = base.join("ethereum-tests/TrieTests");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    dir
}

/// Strings beginning with `0x` are hex; all others are raw bytes. `null` deletes.
fn bytes_of(v: &Value, hex_always: bool) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some(match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).expect("fixture hex"),
        None if hex_always => hex::decode(s).expect("fixture hex"),
        None => s.as_bytes().to_vec(),
    })
}

/// Runs one file; `secure` hashes keys, `hex_always` reads unprefixed strings as hex.
/// Returns how many tests ran.
fn run_file(name: &str, secure: bool, hex_always: bool) -> usize {
    let text = std::fs::read_to_string(trie_tests_dir().join(name)).unwrap();
    let tests: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    for (test, body) in &tests {
        let pairs: Vec<(Value, Value)> = match &body["in"] {
            Value::Array(list) => list.iter().map(|p| (p[0].clone(), p[1].clone())).collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                .collect(),
            other => panic!("{name}::{test}: unexpected `in` {other}"),
        };
        let expected: B256 = body["root"].as_str().unwrap().parse().unwrap();
        // Both layouts: small tries stay whole, big ones are sharded by first nibble.
        for (layout, mut trie) in [("whole", Trie::new()), ("sharded", Trie::sharded())] {
            for (k, v) in &pairs {
                let key = bytes_of(k, hex_always).unwrap();
                let key = if secure {
                    keccak256(&key).to_vec()
                } else {
                    key
                };
                match bytes_of(v, hex_always) {
                    Some(value) => trie.insert(&key, value),
                    None => trie.remove(&key),
                }
            }
            assert_eq!(trie.root(), expected, "{name}::{test} ({layout})");
        }
    }
    tests.len()
}

#[test]
fn trietest() {
    assert!(run_file("trietest.json", false, false) > 0);
}

#[test]
fn trieanyorder() {
    assert!(run_file("trieanyorder.json", false, false) > 0);
}

#[test]
fn trietest_secure() {
    assert!(run_file("trietest_secureTrie.json", true, false) > 0);
}

#[test]
fn trieanyorder_secure() {
    assert!(run_file("trieanyorder_secureTrie.json", true, false) > 0);
}

#[test]
fn hex_encoded_secure() {
    assert!(run_file("hex_encoded_securetrie_test.json", true, true) > 0);
}
