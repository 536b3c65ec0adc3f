//! The CLI contract: exit codes 0/1/2, the closing `N passed, N failed, N skipped` line, and
//! one-line reasons instead of panics on bad input.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use harness::fixtures::fixtures_dir;

mod binary;

use binary::{harness, last_line};

/// A fresh, empty temporary directory.
fn scratch(name: &str) -> PathBuf {
    binary::scratch("cli", name)
}

/// A path under `$FIXTURES_DIR`, which must exist.
fn fixture(relative: &str) -> PathBuf {
    let path = fixtures_dir().join(relative);
    assert!(
        path.exists(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        path.display()
    );
    path
}

/// Writes the first half of `from` to `to`: a file cut off mid-write.
fn truncated_copy(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap();
    std::fs::write(to, &bytes[..bytes.len() / 2]).unwrap();
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Exit 2 with one line on stderr naming `what`, and no panic.
fn assert_usage_error(out: &Output, what: &str) {
    assert_no_panic(out);
    assert_eq!(out.status.code(), Some(2), "{:?}", stderr_lines(out));
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(what), "{lines:?} should name {what}");
}

/// Exit 2, one stderr line per name in `unreadable` (and no other), the closing line
/// `closing`: the readable cases ran, the unreadable ones were listed.
fn assert_unreadable(out: &Output, unreadable: &[&str], closing: &str) {
    assert_no_panic(out);
    let lines = stderr_lines(out);
    assert_eq!(out.status.code(), Some(2), "{lines:?}");
    assert_eq!(lines.len(), unreadable.len(), "{lines:?}");
    for name in unreadable {
        assert!(
            lines.iter().any(|l| l.contains(name)),
            "{lines:?} should name {name}"
        );
    }
    assert_eq!(last_line(out), closing);
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
}

#[test]
fn a_folder_without_cases_is_a_usage_error() {
    let empty = scratch("empty");
    let no_tests = scratch("no-tests");
    std::fs::write(no_tests.join("none.json"), b"{}").unwrap();
    let out = scratch("empty-out");
    let out = out.to_str().unwrap();
    for dir in [&empty, &no_tests] {
        let dir = dir.to_str().unwrap();
        for args in [
            &["replay", dir][..],
            &["replay", "--format", "blockchain-tests", dir],
            &["replay", "--format", "eest", dir],
            &["replay", "--format", "mainnet", dir],
            &["statetest", dir],
            &["bal", dir],
            &["bal", "--record", "--out", out, dir],
        ] {
            let output = harness(args);
            assert_usage_error(&output, dir);
            assert!(output.stdout.is_empty(), "{args:?} printed a report");
        }
    }
    // A demo of no blocks: clap's usage error (with its usual hint line).
    let out = harness(&["demo", "--blocks", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_lines(&out)[0].contains("--blocks"));
}

#[test]
fn a_bal_dir_that_is_no_directory_stops_before_running() {
    let file = scratch("bal-dir-file").join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let block = fixture("mainnet-blocks/46147");
    for dir in [Path::new("/no/such/dir"), &file] {
        for exec in ["sequential", "parallel"] {
            let out = harness(&[
                "replay",
                "--format",
                "mainnet",
                "--exec",
                exec,
                "--bal-dir",
                dir.to_str().unwrap(),
                block.to_str().unwrap(),
            ]);
            assert_usage_error(&out, "--bal-dir");
            assert!(out.stdout.is_empty(), "ran before rejecting --bal-dir");
        }
    }
}

#[test]
fn unreadable_fixture_files_are_listed_and_the_rest_still_run() {
    for (cmd, good) in [
        (
            "statetest",
            "ethereum-tests/GeneralStateTests/stTransactionTest/EmptyTransaction3.json",
        ),
        (
            "replay",
            "ethereum-tests/BlockchainTests/ValidBlocks/bcValidBlockTest/SimpleTx.json",
        ),
        (
            "bal",
            "eest-bal/eip7928_block_level_access_lists/test_bal_empty_block_no_coinbase.json",
        ),
    ] {
        let good = fixture(good);
        let alone = harness(&[cmd, good.to_str().unwrap()]);
        assert_eq!(alone.status.code(), Some(0), "{cmd} on {}", good.display());

        let dir = scratch(&format!("unreadable-{cmd}"));
        std::fs::copy(&good, dir.join("a_good.json")).unwrap();
        truncated_copy(&good, &dir.join("b_truncated.json"));
        std::fs::write(dir.join("c_garbled.json"), b"{ not json").unwrap();
        let out = harness(&[cmd, dir.to_str().unwrap()]);
        assert_unreadable(
            &out,
            &["b_truncated.json", "c_garbled.json"],
            &last_line(&alone),
        );
        assert!(stderr_lines(&out)[0].contains("EOF while parsing"));
    }
}

#[test]
fn unreadable_mainnet_recordings_and_sidecars_are_listed() {
    let source = fixture("mainnet-blocks/46147");
    let dir = scratch("mainnet-unreadable");
    // Recording 1 is intact; 2, 3 and 4 each have one file cut off.
    for (name, cut) in [
        ("1", None),
        ("2", Some("block.json")),
        ("3", Some("pre_state.json")),
        ("4", Some("bytecodes.json")),
    ] {
        std::fs::create_dir(dir.join(name)).unwrap();
        for file in ["block.json", "pre_state.json", "bytecodes.json"] {
            let (from, to) = (source.join(file), dir.join(name).join(file));
            match cut {
                Some(c) if c == file => truncated_copy(&from, &to),
                _ => drop(std::fs::copy(&from, &to).unwrap()),
            }
        }
    }
    let cut = ["2/block.json", "3/pre_state.json", "4/bytecodes.json"];
    let out = harness(&["replay", "--format", "mainnet", dir.to_str().unwrap()]);
    assert_unreadable(&out, &cut, "1 passed, 0 failed, 0 skipped");

    let sidecars = scratch("mainnet-sidecars");
    let out = harness(&[
        "bal",
        "--record",
        "--out",
        sidecars.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert_unreadable(&out, &cut, "1 passed, 0 failed, 0 skipped");

    // A missing sidecar, then a truncated one: unreadable, not a failed block.
    let sidecar = sidecars.join("46147.bal.json");
    let intact = std::fs::read(&sidecar).unwrap();
    let replay = |bal_dir: &Path| {
        harness(&[
            "replay",
            "--format",
            "mainnet",
            "--bal-dir",
            bal_dir.to_str().unwrap(),
            dir.join("1").to_str().unwrap(),
        ])
    };
    assert_passed(&replay(&sidecars), "1 passed, 0 failed, 0 skipped");
    let none = scratch("mainnet-no-sidecars");
    let closing = "0 passed, 0 failed, 0 skipped";
    assert_unreadable(&replay(&none), &["46147.bal.json"], closing);
    std::fs::write(&sidecar, &intact[..intact.len() / 2]).unwrap();
    assert_unreadable(&replay(&sidecars), &["46147.bal.json"], closing);
}

#[test]
fn demo_export_replays_as_a_geth_chain() {
    let dir = scratch("geth");
    // More blocks than the demo seals and imports at a time, so chunks follow one another.
    let out = harness(&[
        "demo",
        "--blocks",
        "40",
        "--txs",
        "10",
        "--export",
        dir.to_str().unwrap(),
    ]);
    // Forty blocks, replayed in each of the four commitment modes on both tiers.
    assert_passed(&out, "320 passed, 0 failed, 0 skipped");
    // No progress bar off a terminal: stderr stays clean for logs.
    assert!(out.stderr.is_empty(), "{:?}", stderr_lines(&out));

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
    assert_passed(&out, "40 passed, 0 failed, 0 skipped");
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
    assert_eq!(blocks.len(), 40);
    assert!(
        blocks
            .iter()
            .all(|b| b["mode"].is_string() && b["exec_ms"].is_f64())
    );

    // `root` of the exported genesis is the genesis header's state root the replay accepted.
    let out = harness(&["root", genesis.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(last_line(&out).starts_with("0x") && last_line(&out).len() == 66);

    // A truncated export is unreadable input, reported in one line; the blocks before the
    // cut are read as they stream and import (as `geth import` does), the cut one is not.
    let bytes = std::fs::read(&chain).unwrap();
    std::fs::write(&chain, &bytes[..bytes.len() - 5]).unwrap();
    let out = harness(&[
        "replay",
        "--genesis",
        genesis.to_str().unwrap(),
        chain.to_str().unwrap(),
    ]);
    assert_unreadable(&out, &["chain.rlp"], "39 passed, 0 failed, 0 skipped");
    // An empty export holds no blocks: nothing to replay.
    std::fs::write(&chain, b"").unwrap();
    let out = harness(&[
        "replay",
        "--genesis",
        genesis.to_str().unwrap(),
        chain.to_str().unwrap(),
    ]);
    assert_usage_error(&out, "chain.rlp");
    std::fs::remove_dir_all(&dir).ok();
}

/// A reader that stops after the first line (`| head -n 1`) ends the harness by SIGPIPE, as
/// any Unix tool, not by a panic while printing.
#[test]
fn a_closed_stdout_is_no_panic() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["demo", "--blocks", "2", "--txs", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The pipe's reading end is dropped here, with most of the table still to print.
    let out = child.wait_with_output().unwrap();
    assert!(!first.is_empty());
    assert_no_panic(&out);
}
