//! `harness bal` on a block only execution can reject: a valid EIP-7928 fixture block whose BAL
//! drops an account the block accessed without changing it, with the header's
//! `blockAccessListHash` (JSON and RLP) recomputed for the shorter list. The executionless
//! check cannot tell (the root folds the same, the hash matches), so the fixture, marked
//! invalid, passes only if `harness bal` executes the block and sees it rejected.

use std::process::Command;

use alloy_primitives::B256;
use harness::fixtures::{self, decode_hex};
use serde_json::Value;

/// An account entry that records an access and no change.
fn is_access_only(entry: &Value) -> bool {
    [
        "nonceChanges",
        "balanceChanges",
        "codeChanges",
        "storageChanges",
    ]
    .iter()
    .all(|k| entry[k].as_array().is_some_and(Vec::is_empty))
}

/// The first single-block valid fixture test whose BAL lists an access-only account, turned
/// into one whose BAL omits it; with the dropped address.
fn omitted_account_case() -> (Value, String) {
    let dir = fixtures::fixtures_dir().join("eest-bal");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    for file in fixtures::json_files(&[dir]).unwrap() {
        let mut tests: serde_json::Map<String, Value> = fixtures::read_json(&file).unwrap();
        for (name, mut test) in std::mem::take(&mut tests) {
            if test["blocks"].as_array().map(Vec::len) != Some(1)
                || test["blocks"][0].get("expectException").is_some()
            {
                continue;
            }
            let block = &mut test["blocks"][0];
            let list = block["blockAccessList"].as_array_mut().unwrap();
            let Some(at) = list.iter().position(is_access_only) else {
                continue;
            };
            let dropped = list.remove(at)["address"].as_str().unwrap().to_string();
            let bal = bal::from_json(&block["blockAccessList"]).unwrap();
            let hash: B256 = bal::compute_block_access_list_hash(&bal);
            block["blockHeader"]["blockAccessListHash"] = Value::String(hash.to_string());
            let rlp = decode_hex(block["rlp"].as_str().unwrap()).unwrap();
            let mut decoded = executor::block::decode_block(&rlp).unwrap();
            decoded.header.block_access_list_hash = Some(hash);
            let rlp = alloy_rlp::encode(&decoded);
            block["rlp"] = Value::String(alloy_primitives::hex::encode_prefixed(rlp));
            block["expectException"] = "BlockException.INVALID_BLOCK_ACCESS_LIST".into();
            // The invalid block leaves the chain at genesis.
            test["lastblockhash"] = test["genesisBlockHeader"]["hash"].clone();
            test["postState"] = test["pre"].clone();
            let mut file = serde_json::Map::new();
            file.insert(name, test);
            return (Value::Object(file), dropped);
        }
    }
    panic!("no eest-bal fixture lists an account it accessed without a change");
}

#[test]
fn a_bal_omitting_an_accessed_account_is_rejected_by_execution() {
    let (fixture, dropped) = omitted_account_case();
    let dir = std::env::temp_dir().join(format!("harness-bal-omitted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("omitted_account.json");
    std::fs::write(&file, serde_json::to_vec(&fixture).unwrap()).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["bal", file.to_str().unwrap()])
        .output()
        .expect("harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        stdout.lines().last(),
        Some("1 passed, 0 failed, 0 skipped"),
        "dropped {dropped}:\n{stdout}"
    );
    assert_eq!(out.status.code(), Some(0));
    // The case line gives both verdicts: the checker's acceptance and execution's rejection.
    assert!(
        stdout.contains("BAL check: accepted; execution: "),
        "{stdout}"
    );
}
