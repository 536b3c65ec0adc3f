//! `harness root` must agree with `genesisBlockHeader.stateRoot` for every BlockchainTests
//! genesis: the alloc is written to a file and read back through the same path the CLI uses.

use std::path::PathBuf;

use alloy_primitives::B256;
use harness::{fixtures, root};

#[test]
fn root_matches_every_blockchain_test_genesis() {
    let dir = fixtures::fixtures_dir().join("ethereum-tests/BlockchainTests");
    assert!(
        dir.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        dir.display()
    );
    let scratch = std::env::temp_dir().join(format!("genesis-roots-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let alloc_file: PathBuf = scratch.join("alloc.json");
    let mut checked = 0;
    for file in fixtures::json_files(&[dir]).unwrap() {
        let tests: serde_json::Map<String, serde_json::Value> = fixtures::read_json(&file).unwrap();
        for (name, test) in tests {
            let expected: B256 =
                serde_json::from_value(test["genesisBlockHeader"]["stateRoot"].clone()).unwrap();
            std::fs::write(&alloc_file, serde_json::to_vec(&test["pre"]).unwrap()).unwrap();
            let got = root::state_root(&alloc_file).unwrap();
            assert_eq!(got, expected, "{}::{name}", file.display());
            checked += 1;
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    assert!(checked > 500, "only {checked} genesis blocks found");
}
