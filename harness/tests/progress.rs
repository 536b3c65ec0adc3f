//! The progress bar is drawn only on a terminal: a BlockchainTests replay under a
//! pseudo-terminal (util-linux `script`) shows it on stderr, the same replay with stderr piped
//! writes nothing there, and both end with the same closing line.

use std::{
    path::PathBuf,
    process::{Command, Output},
};

use harness::fixtures::{fixtures_dir, json_files};

/// A small BlockchainTests folder: a few files, well under a second to replay.
fn suite() -> PathBuf {
    let path = fixtures_dir().join("ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559");
    assert!(
        path.is_dir(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        path.display()
    );
    path
}

fn replay_args(suite: &std::path::Path) -> Vec<String> {
    vec!["replay".into(), suite.display().to_string()]
}

/// The closing `N passed, N failed, N skipped` line: the last line of `text` once the bar's
/// carriage returns and erase-line sequences are taken away.
fn closing_line(text: &str) -> String {
    let last = text.lines().map(|l| l.trim_end_matches('\r')).next_back();
    let last = last.unwrap_or_default();
    // Everything up to the last erase-line sequence is bar (and its clearing).
    last.rsplit("\x1b[2K")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_terminal_gets_a_bar_a_pipe_does_not() {
    let suite = suite();
    let files = json_files(std::slice::from_ref(&suite)).unwrap().len();
    let args = replay_args(&suite);

    // stderr a pipe: nothing there, stdout as always.
    let piped = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(&args)
        .env_remove("RUST_LOG")
        .output()
        .expect("harness runs");
    ok(&piped);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(stderr.is_empty(), "stderr of a piped run: {stderr:?}");
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert!(
        !stdout.contains('\r') && !stdout.contains('\x1b') && !stdout.contains("files/s"),
        "bar characters in a piped run's stdout: {stdout:?}"
    );
    let closing = closing_line(&stdout);
    assert_eq!(closing, format!("{files} passed, 0 failed, 0 skipped"));

    // stdout and stderr a terminal: `script` runs the command under a pseudo-terminal and
    // copies everything the terminal shows to its own stdout.
    let command = std::iter::once(env!("CARGO_BIN_EXE_harness").to_string())
        .chain(args)
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let shown = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("RUST_LOG")
        .output()
        .expect("`script` (util-linux) runs");
    ok(&shown);
    let screen = String::from_utf8_lossy(&shown.stdout);
    for part in [format!("/{files} files"), "files/s".into(), "ETA".into()] {
        assert!(
            screen.contains(&part),
            "no {part:?} on the terminal: {screen:?}"
        );
    }
    assert_eq!(closing_line(&screen), closing);
}
