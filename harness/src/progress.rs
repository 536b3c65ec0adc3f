//! Progress of a long run on stderr: items done of a total counted before the run starts,
//! their rate and the time left. Drawn only when stderr is a terminal, so stdout, the JSON
//! report and CI logs stay byte for byte what they are without it.
//!
//! Log lines (`tracing`, see [`LogWriter`]) share stderr with the bar: they are written with
//! the bar lifted, so neither overwrites the other.

use std::{
    io::{IsTerminal, Write},
    sync::Mutex,
};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// The bar being drawn, if any, for [`LogWriter`] to lift while it writes.
static DRAWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A progress bar over `total` items of one kind (`files`, `blocks`); cleared when dropped,
/// so an early return leaves no half-drawn bar above the summary.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Counts `total` `unit`s (e.g. `"files"`); hidden unless stderr is a terminal.
    pub fn new(total: u64, unit: &str) -> Self {
        tracing::info!(total, unit, "starting");
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: ProgressBar::hidden(),
            };
        }
        let template =
            format!("{{bar:40}} {{human_pos}}/{{human_len}} {unit}  {{rate}}  ETA {{eta}}");
        let unit = unit.to_string();
        let style = ProgressStyle::with_template(&template)
            .expect("the template is valid")
            .with_key(
                "rate",
                move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} {unit}/s", state.per_sec());
                },
            );
        let bar = ProgressBar::new(total).with_style(style);
        // Drawn at once, not at the first item done: a slow first file must not look like a hang.
        bar.tick();
        *drawn() = Some(bar.clone());
        Self { bar }
    }

    /// `n` more items done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drawn().take();
        self.bar.finish_and_clear();
    }
}

fn drawn() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    // A poisoned lock only means a panic elsewhere; the bar handle is still usable.
    DRAWN.lock().unwrap_or_else(|e| e.into_inner())
}

/// stderr for log lines: writes with the current bar (if any) lifted and redrawn after.
/// `tracing_subscriber::fmt().with_writer(|| LogWriter)` in the binary.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = drawn().clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
