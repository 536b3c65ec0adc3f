//! When each phase of an imported block ran, as a report records it: milliseconds since the
//! start of the run, so a timeline can be drawn from the JSON report alone (`harness report`).
//!
//! The instants come from where the work happens (the stage loop times execution, the
//! calculator its folds and its verdict); a [`Lane`] turns them into milliseconds on one
//! commitment mode's clock.

use std::time::{Duration, Instant};

use commitment::{Config, TimeSpan, Verdict};
use executor::submodule::Tier;
use serde::{Deserialize, Serialize};

/// A phase's start and end, in milliseconds on its lane's clock.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub start_ms: f64,
    pub end_ms: f64,
}

/// When one block's phases ran. A phase the block did not go through is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// Execution and its checks, on the stage thread.
    pub exec: Interval,
    /// The fold from the BAL: before `exec` ends when it ran ahead, after it otherwise.
    pub bal_fold: Option<Interval>,
    /// The fold from the executed writes that committed the block (incremental path).
    pub writes_fold: Option<Interval>,
    /// The fold from the executed writes that checked the BAL-driven root (shadow mode).
    pub shadow_fold: Option<Interval>,
    /// When the calculator sent its verdict.
    pub verdict_ms: f64,
}

/// One run of a chain: the commitment configuration and tier its blocks were imported with,
/// and the clock their times are read on. A replay's clock starts with the run; a demo run's
/// clock runs only while that run imports (the demo's runs take turns), so each run's
/// timeline starts at 0 and the runs compare side by side.
#[derive(Clone, Copy, Debug)]
pub struct Lane {
    pub config: Config,
    pub tier: Tier,
    /// The instant that reads as `offset` on this clock.
    origin: Instant,
    offset: Duration,
}

impl Lane {
    /// A clock reading 0 at `origin`.
    pub fn starting(config: Config, tier: Tier, origin: Instant) -> Self {
        Self::resumed(config, tier, origin, Duration::ZERO)
    }

    /// A clock that already ran for `ran` and resumes at `at`.
    pub fn resumed(config: Config, tier: Tier, at: Instant, ran: Duration) -> Self {
        Self {
            config,
            tier,
            origin: at,
            offset: ran,
        }
    }

    /// `at` on this clock, in milliseconds (an instant before the origin reads as the origin).
    pub fn ms(&self, at: Instant) -> f64 {
        (self.offset + at.saturating_duration_since(self.origin)).as_secs_f64() * 1e3
    }

    pub fn interval(&self, span: TimeSpan) -> Interval {
        Interval {
            start_ms: self.ms(span.start),
            end_ms: self.ms(span.end),
        }
    }

    /// A block's phases: its execution, and the folds and verdict the calculator reported.
    pub fn phases(&self, exec: TimeSpan, verdict: &Verdict) -> PhaseTimes {
        let times = &verdict.times;
        PhaseTimes {
            exec: self.interval(exec),
            bal_fold: times.bal.map(|s| self.interval(s)),
            writes_fold: times.writes.map(|s| self.interval(s)),
            shadow_fold: times.shadow.map(|s| self.interval(s)),
            verdict_ms: self.ms(times.decided),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_clock_continues_where_it_stopped() {
        let at = Instant::now();
        let lane = Lane::resumed(
            Config::default(),
            Tier::Interpret,
            at,
            Duration::from_millis(40),
        );
        assert_eq!(lane.ms(at), 40.0);
        assert_eq!(lane.ms(at + Duration::from_millis(5)), 45.0);
        // Before the origin: clamped, never negative or before the time already run.
        let before = at
            .checked_sub(Duration::from_millis(1))
            .expect("the clock runs since boot");
        assert_eq!(lane.ms(before), 40.0);
    }
}
