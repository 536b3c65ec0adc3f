//! The chain database under the worst a node sees: SIGKILL at any point of an import, a
//! database of another chain, a damaged file. Every kill resumes at the last committed block
//! with its exact state (`db check` passes after each), and the finished chain has the roots of
//! an uninterrupted in-memory import.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

mod binary;

use binary::{arg as path, harness};

fn scratch(name: &str) -> PathBuf {
    binary::scratch("db-resume", name)
}

/// A demo chain of `blocks` blocks exported as genesis.json + chain.rlp into `dir`.
fn export(dir: &Path, blocks: u64) -> (PathBuf, PathBuf) {
    let out = harness(&[
        "demo",
        "--blocks",
        &blocks.to_string(),
        "--txs",
        "8",
        "--modes",
        "env",
        "--tiers",
        "interpret",
        "--export",
        path(dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    (dir.join("genesis.json"), dir.join("chain.rlp"))
}

/// The state root of every block a replay report lists, in order.
fn roots(report: &Path) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    json["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["state_root"].as_str().unwrap().to_string())
        .collect()
}

fn replay_args<'a>(genesis: &'a Path, chain: &'a Path, db: &'a Path) -> Vec<&'a str> {
    vec![
        "replay",
        "--format",
        "geth",
        "--genesis",
        path(genesis),
        path(chain),
        "--db",
        path(db),
    ]
}

/// The `db check` line of a database: its head and root.
fn checked(db: &Path) -> String {
    let out = harness(&["db", "check", path(db)]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "db check: {stdout} {out:?}");
    stdout.lines().next().unwrap_or_default().to_string()
}

/// A small deterministic generator: the kill points differ run to run of the loop, not
/// between test runs.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

#[test]
fn sigkill_at_fifty_points_resumes_to_the_uninterrupted_roots() {
    let dir = scratch("kill");
    let (genesis, chain) = export(&dir, 200);
    let memory = dir.join("memory.json");
    let out = harness(&[
        "replay",
        "--format",
        "geth",
        "--genesis",
        path(&genesis),
        path(&chain),
        "--json",
        path(&memory),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let expected = roots(&memory);
    assert_eq!(expected.len(), 200);

    // Kill points: past a resume's start-up (open, rebuild the trie, skip what is done) by a
    // random few blocks' worth of commits, so the 50 kills walk the whole chain.
    let db = dir.join("db");
    let started = Instant::now();
    let out = harness(&replay_args(&genesis, &chain, &db));
    assert_eq!(out.status.code(), Some(0));
    let full = started.elapsed();
    let started = Instant::now();
    let out = harness(&replay_args(&genesis, &chain, &db));
    assert_eq!(
        out.status.code(),
        Some(0),
        "a finished database resumes to nothing"
    );
    let startup = started.elapsed();
    let per_block = full.saturating_sub(startup) / 200;
    std::fs::remove_dir_all(&db).unwrap();

    let mut lcg = Lcg(0x5eed);
    let mut heads = Vec::new();
    for _ in 0..50 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(replay_args(&genesis, &chain, &db))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let at = startup * 3 / 4 + per_block * lcg.below(10) as u32;
        std::thread::sleep(at);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if db.join("chain.redb").exists() {
            heads.push(checked(&db));
        }
    }
    let finished = dir.join("finished.json");
    let mut args = replay_args(&genesis, &chain, &db);
    args.extend(["--json", path(&finished)]);
    let out = harness(&args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let resumed = roots(&finished);
    assert!(
        expected.ends_with(&resumed),
        "the resumed blocks' roots are the uninterrupted ones"
    );
    let last = checked(&db);
    assert!(last.starts_with("block 200 "), "{last}");
    assert!(last.contains(expected.last().unwrap()), "{last}");
    // The kills landed at different blocks, not all before the first commit.
    heads.sort();
    heads.dedup();
    assert!(
        heads.len() >= 10,
        "kill points reached {} heads",
        heads.len()
    );
}

#[test]
fn another_chains_or_a_damaged_database_is_refused_untouched() {
    let dir = scratch("bad");
    let (genesis, chain) = export(&dir, 3);
    let db = dir.join("db");
    assert_eq!(
        harness(&replay_args(&genesis, &chain, &db)).status.code(),
        Some(0)
    );
    let file = db.join("chain.redb");
    let head = checked(&db);

    // Another chain: a genesis with one more account.
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&genesis).unwrap()).unwrap();
    json["alloc"]["0x00000000000000000000000000000000000000aa"] =
        serde_json::json!({ "balance": "0x1" });
    let other = other_dir.join("genesis.json");
    std::fs::write(&other, serde_json::to_vec(&json).unwrap()).unwrap();
    let out = harness(&replay_args(&other, &chain, &db));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("genesis"), "{stderr}");
    assert_eq!(checked(&db), head, "the database still holds its own chain");
    let before = std::fs::read(&file).unwrap();

    // Truncated, and then overwritten in the middle: half the file, so live pages are hit
    // wherever the allocator put them (a damaged free page is no damage: redb verifies the
    // committed trees, and such a file opens).
    for damage in [
        before[..before.len() / 2].to_vec(),
        before
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (before.len() / 4..before.len() * 3 / 4).contains(&i) {
                    0xa5
                } else {
                    *b
                }
            })
            .collect(),
    ] {
        std::fs::write(&file, &damage).unwrap();
        for args in [
            replay_args(&genesis, &chain, &db),
            vec!["db", "check", path(&db)],
        ] {
            let out = harness(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
            assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
        }
        assert!(
            std::fs::read(&file).unwrap() == damage,
            "nothing overwritten"
        );
    }
}

/// `demo --db` runs the chain through a database beside the same run in memory: one more row,
/// the same root, and a database `db check` accepts at the last block.
#[test]
fn the_demo_runs_through_the_database_beside_memory() {
    let dir = scratch("demo");
    let db = dir.join("db");
    let json = dir.join("demo.json");
    let out = harness(&[
        "demo",
        "--blocks",
        "6",
        "--txs",
        "10",
        "--modes",
        "env",
        "--tiers",
        "interpret",
        "--db",
        path(&db),
        "--json",
        path(&json),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let runs = report["runs"].as_array().unwrap();
    let stores: Vec<&str> = runs.iter().map(|r| r["store"].as_str().unwrap()).collect();
    assert_eq!(stores, ["redb", "memory"]);
    assert_eq!(runs[0]["state_root"], runs[1]["state_root"]);
    assert_eq!(runs[0]["blocks"], 6);
    assert_eq!(runs[0]["failed"], 0);
    let root = runs[0]["state_root"].as_str().unwrap();
    let head = checked(&db);
    assert!(
        head.starts_with("block 6 ") && head.contains(root),
        "{head}"
    );
}
