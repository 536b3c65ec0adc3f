//! The CLI contract: exit codes 0/1/2, the closing `N passed, N failed, N skipped` line, and
//! one-line reasons instead of panics on bad input.

use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .expect("harness runs")
}

fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("harness-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit 0 and the closing line `expected`.
fn assert_passed(out: &Output, expected: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(last_line(out), expected);
}

fn assert_no_panic(out: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("panicked"), "panic in output:\n{all}");
}

#[test]
fn missing_paths_exit_2() {
    for args in [
        &["replay", "/no/such/path"][..],
        &["statetest", "/no/such/path"],
        &["root", "/no/such/file"],
    ] {
        let out = harness(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_no_panic(&out);
    }
}

#[test]
fn bad_usage_exits_2() {
    let out = harness(&["replay", "--format", "nonsense", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_of_the_wrong_shape_is_a_failed_case() {
    let dir = scratch("shape");
    let file = dir.join("bad.json");
    std::fs::write(&file, br#"{"test": {"env": 42}}"#).unwrap();
    for cmd in ["statetest", "replay"] {
        let out = harness(&[cmd, file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert_eq!(last_line(&out), "0 passed, 1 failed, 0 skipped", "{cmd}");
        assert_no_panic(&out);
    }
    std::fs::write(&file, b"{ not json").unwrap();
    let out = harness(&["replay", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_no_panic(&out);
}

#[test]
fn demo_export_replays_as_a_geth_chain() {
    let dir = scratch("geth");
    let out = harness(&[
        "demo",
        "--blocks",
        "4",
        "--txs",
        "30",
        "--export",
        dir.to_str().unwrap(),
    ]);
    // Four blocks, replayed in each of the four commitment modes.
    assert_passed(&out, "16 passed, 0 failed, 0 skipped");

    let genesis = dir.join("genesis.json");
    let chain = dir.join("chain.rlp");
    let json = dir.join("report.json");
    let out = harness(&[
        "replay",
        "--format",
        "geth",
        "--genesis",
        genesis.to_str().unwrap(),
        chain.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_passed(&out, "4 passed, 0 failed, 0 skipped");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "total",
        "passed",
        "failed",
        "skipped",
        "failures",
        "gas",
        "timing",
        "divergences",
        "blocks",
        "commitment",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    assert!(report["gas"].as_u64().unwrap() > 0);
    // One line per block with its fold mode and timings.
    let blocks = report["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 4);
    assert!(
        blocks
            .iter()
            .all(|b| b["mode"].is_string() && b["exec_ms"].is_f64())
    );

    // `root` of the exported genesis is the genesis header's state root the replay accepted.
    let out = harness(&["root", genesis.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(last_line(&out).starts_with("0x") && last_line(&out).len() == 66);

    // A truncated export is unreadable input, reported in one line.
    let bytes = std::fs::read(&chain).unwrap();
    std::fs::write(&chain, &bytes[..bytes.len() - 5]).unwrap();
    let out = harness(&[
        "replay",
        "--genesis",
        genesis.to_str().unwrap(),
        chain.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_no_panic(&out);
    std::fs::remove_dir_all(&dir).ok();
}
