//! The report every subcommand produces: counts, failures with one-line reasons, gas and timing,
//! printed as a summary and optionally written as JSON (`--json FILE`).

use std::{path::Path, time::Instant};

use serde::Serialize;

/// One failed case: its name and a one-line reason.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub name: String,
    pub reason: String,
}

/// A skipped case and the reason it is skipped.
#[derive(Clone, Debug, Serialize)]
pub struct Skip {
    pub name: String,
    pub reason: String,
}

/// Wall-clock split of a run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timing {
    pub exec_ms: f64,
    pub commit_ms: f64,
    pub wall_ms: f64,
}

/// The outcome of one subcommand run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub failures: Vec<Failure>,
    pub skips: Vec<Skip>,
    /// Gas executed across all cases.
    pub gas: u64,
    pub timing: Timing,
    /// State-root divergences between commitment paths (shadow mode); 0 on the serial path.
    pub divergences: u64,
    /// Free-form notes (e.g. what a format cannot check).
    pub notes: Vec<String>,
    #[serde(skip)]
    started: Option<Instant>,
}

impl Report {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_string(),
            total: 0,
            passed: 0,
            failed: 0,
            skipped: 0,
            failures: Vec::new(),
            skips: Vec::new(),
            gas: 0,
            timing: Timing::default(),
            divergences: 0,
            notes: Vec::new(),
            started: Some(Instant::now()),
        }
    }

    pub fn pass(&mut self) {
        self.total += 1;
        self.passed += 1;
    }

    pub fn fail(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.total += 1;
        self.failed += 1;
        // Reasons are one line by contract; nested error chains are joined.
        let reason: String = reason.into().lines().collect::<Vec<_>>().join(" | ");
        self.failures.push(Failure {
            name: name.into(),
            reason,
        });
    }

    pub fn skip(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.total += 1;
        self.skipped += 1;
        self.skips.push(Skip {
            name: name.into(),
            reason: reason.into(),
        });
    }

    /// Adds executed gas; saturates because suites of gas-limit tests sum past u64.
    pub fn add_gas(&mut self, gas: u64) {
        self.gas = self.gas.saturating_add(gas);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Stamps wall time, prints failures and the contract's last line, writes JSON if asked.
    pub fn finish(&mut self, json: Option<&Path>) -> std::io::Result<()> {
        if let Some(start) = self.started {
            self.timing.wall_ms = start.elapsed().as_secs_f64() * 1e3;
        }
        for f in self.failures.iter().take(50) {
            println!("FAIL {}: {}", f.name, f.reason);
        }
        if self.failures.len() > 50 {
            println!(
                "... and {} more failures (see --json)",
                self.failures.len() - 50
            );
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        println!(
            "gas {}  exec {:.1} ms  commit {:.1} ms  wall {:.1} ms  divergences {}",
            self.gas,
            self.timing.exec_ms,
            self.timing.commit_ms,
            self.timing.wall_ms,
            self.divergences
        );
        if let Some(path) = json {
            std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        }
        println!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        Ok(())
    }

    /// Exit code by contract: 0 all passed, 1 some failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed > 0)
    }
}
