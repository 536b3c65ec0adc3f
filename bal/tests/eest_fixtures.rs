//! execution-spec-tests EIP-7928 fixtures: every valid block's BAL decodes from JSON,
//! validates, round-trips through RLP and hashes to the header's `blockAccessListHash`; the
//! structurally invalid ones are rejected by validation and the forged hash by the hash check.
//! BALs that lie about values (INVALID_BLOCK_ACCESS_LIST) are well-formed: only execution or
//! the executionless root exposes them, so they are checked elsewhere.

use std::path::PathBuf;

use alloy_primitives::B256;
use bal::{BalError, compute_block_access_list_hash, decode_rlp, encode_rlp, from_json, validate};
use serde_json::Value;

fn fixture_files() -> Vec<PathBuf> {
    let base = std::env::var_os("FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    let dir = base.join("eest-bal");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn u64_of(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// (name, header, transaction count, BAL JSON, expected exception) of every block.
fn blocks() -> Vec<(String, Value, usize, Value, Option<String>)> {
    let mut out = Vec::new();
    for file in fixture_files() {
        let tests: serde_json::Map<String, Value> =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for (name, test) in tests {
            for (i, block) in test["blocks"].as_array().unwrap().iter().enumerate() {
                let source = if block.get("blockAccessList").is_some() {
                    block
                } else {
                    &block["rlp_decoded"]
                };
                let txs = source["transactions"].as_array().map_or(0, Vec::len);
                out.push((
                    format!(
                        "{}::{name}#{i}",
                        file.file_stem().unwrap().to_string_lossy()
                    ),
                    source["blockHeader"].clone(),
                    txs,
                    source["blockAccessList"].clone(),
                    block["expectException"].as_str().map(str::to_string),
                ));
            }
        }
    }
    out
}

#[test]
fn valid_blocks_decode_validate_and_hash_to_the_header() {
    let mut checked = 0;
    for (name, header, txs, json, exception) in blocks() {
        if exception.is_some() {
            continue;
        }
        let bal = from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        validate(&bal, txs, u64_of(&header["gasLimit"])).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            decode_rlp(&encode_rlp(&bal)).unwrap(),
            bal,
            "{name}: RLP round trip"
        );
        let expected: B256 = serde_json::from_value(header["blockAccessListHash"].clone()).unwrap();
        assert_eq!(compute_block_access_list_hash(&bal), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 18, "only {checked} valid blocks found");
}

#[test]
fn malformed_bals_are_rejected_for_the_right_reason() {
    let mut checked = 0;
    for (name, header, txs, json, exception) in blocks() {
        let Some(exception) = exception else { continue };
        let bal = from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        if exception.contains("INCORRECT_BLOCK_FORMAT") {
            assert!(
                matches!(
                    validate(&bal, txs, u64_of(&header["gasLimit"])),
                    Err(BalError::Structure(_))
                ),
                "{name}: structural error not caught"
            );
            checked += 1;
        } else if exception.contains("INVALID_BAL_HASH") {
            let expected: B256 =
                serde_json::from_value(header["blockAccessListHash"].clone()).unwrap();
            assert_ne!(
                compute_block_access_list_hash(&bal),
                expected,
                "{name}: forged hash matched"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} malformed BALs found");
}

#[test]
fn truncated_rlp_is_an_error_not_a_panic() {
    let (_, _, _, json, _) = blocks().into_iter().find(|b| b.4.is_none()).unwrap();
    let rlp = encode_rlp(&from_json(&json).unwrap());
    for cut in [0, 1, rlp.len() / 2, rlp.len() - 1] {
        assert!(
            matches!(decode_rlp(&rlp[..cut]), Err(BalError::Rlp(_))),
            "cut at {cut}"
        );
    }
    let mut trailing = rlp.clone();
    trailing.push(0x80);
    assert!(matches!(decode_rlp(&trailing), Err(BalError::Rlp(_))));
}
