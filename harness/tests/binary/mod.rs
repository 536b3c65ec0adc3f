//! Running the `harness` binary from a test, written once for every test that drives the CLI.
#![allow(dead_code)] // each test binary uses its own part

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Runs `harness` with `args` to the end.
pub fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .expect("harness runs")
}

/// The last line of its stdout: the closing `N passed, N failed, N skipped`.
pub fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A fresh, empty temporary directory for test `test`'s case `name`.
pub fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("harness-{test}-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}
