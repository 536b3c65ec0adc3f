//! The pictures the CLI draws: `harness demo --svg` and `harness report REPORT.json --svg`
//! write SVG documents that parse, with one mark per block per phase per run (the phases each
//! block's JSON line says it went through), a panel titled per run (commitment mode and tier),
//! axes in milliseconds; the demo's summary has one bar per mode and tier it ran, labelled with
//! that run's wall time; and the report's times are those of the pipeline (execution before the
//! folds from its writes, every fold before its verdict, blocks one after another).

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use commitment::Config;
use executor::submodule::Tier;
use harness::{
    fixtures::fixtures_dir,
    phases::Interval,
    pictures::{Phase, hex, summary::tier_color, summary_path, timeline::panel_label},
    report::BlockLine,
};

/// The demo's default tiers, in the order it runs them.
const TIERS: [Tier; 2] = [Tier::Interpret, Tier::Compile];

mod binary;

use binary::{arg, harness};

fn scratch(name: &str) -> PathBuf {
    binary::scratch("pictures", name)
}

fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn block_lines(json: &Path) -> Vec<BlockLine> {
    harness::pictures::read_block_lines(json).expect("a report with block lines")
}

/// Every `<text>`'s content.
fn texts(svg: &roxmltree::Document) -> Vec<String> {
    svg.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect()
}

/// Elements `tag` whose attribute `attr` is `color`.
fn count(svg: &roxmltree::Document, tag: &str, attr: &str, color: &str) -> usize {
    svg.descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute(attr) == Some(color))
        .count()
}

/// The timeline's marks of `phase`: filled rects, or the verdict's stroked ticks.
fn marks(svg: &roxmltree::Document, phase: Phase) -> usize {
    let color = hex(phase.color());
    match phase {
        Phase::Verdict => count(svg, "polyline", "stroke", &color),
        _ => count(svg, "rect", "fill", &color),
    }
}

/// Checks the timeline drawn from `lines`: one mark per block line per phase it went through
/// (plus the legend's swatch), a panel captioned with each mode, time axes in ms.
fn assert_timeline(svg_text: &str, lines: &[BlockLine]) {
    let svg = roxmltree::Document::parse(svg_text).expect("the timeline is XML");
    assert_eq!(svg.root_element().tag_name().name(), "svg");
    for phase in Phase::ALL {
        let expected = lines.iter().filter(|l| phase.interval(l).is_some()).count();
        assert_eq!(
            marks(&svg, phase),
            expected + 1,
            "{phase:?}: one mark per block + legend"
        );
    }
    let texts = texts(&svg);
    let lanes = lanes(lines);
    let modes = lanes.len();
    for label in lanes.iter().map(|l| panel_label(l[0])) {
        let caption = format!("{label}: ");
        let n = texts.iter().filter(|t| t.starts_with(&caption)).count();
        assert_eq!(n, 1, "one panel titled {label}: {texts:?}");
    }
    let axes = texts
        .iter()
        .filter(|t| *t == "ms since the start of the run");
    assert_eq!(axes.count(), modes, "a time axis per panel");
    for phase in Phase::ALL {
        assert!(
            texts.iter().any(|t| t == phase.label()),
            "legend: {phase:?}"
        );
    }
    // Tick labels are milliseconds, each distinct within a panel's axis.
    let ticks: Vec<f64> = texts.iter().filter_map(|t| t.parse::<f64>().ok()).collect();
    assert!(ticks.len() >= 2 * modes, "{texts:?}");
    let x_ticks: Vec<&String> = (texts.iter())
        .filter(|t| t.contains('.') && t.parse::<f64>().is_ok())
        .collect();
    let mut distinct = x_ticks.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len() * modes,
        x_ticks.len(),
        "repeated tick labels: {x_ticks:?}"
    );
}

/// The block lines of each run (commitment mode and tier), in import order.
fn lanes(lines: &[BlockLine]) -> Vec<Vec<&BlockLine>> {
    let mut lanes: Vec<Vec<&BlockLine>> = Vec::new();
    for line in lines {
        let run = (line.commitment, line.tier);
        match lanes
            .iter_mut()
            .find(|l| (l[0].commitment, l[0].tier) == run)
        {
            Some(lane) => lane.push(line),
            None => lanes.push(vec![line]),
        }
    }
    lanes
}

/// What the pipeline guarantees about the times in a lane of block lines.
fn assert_times_ordered(lines: &[BlockLine]) {
    let ends = |i: Interval| {
        assert!(i.start_ms <= i.end_ms, "{i:?}");
        i.end_ms
    };
    for lane in lanes(lines) {
        for (i, line) in lane.iter().enumerate() {
            let t = &line.times;
            let exec_end = ends(t.exec);
            for after_exec in [t.writes_fold, t.shadow_fold].into_iter().flatten() {
                assert!(after_exec.start_ms >= exec_end, "{}: {t:?}", line.name);
            }
            let last_fold = [t.bal_fold, t.writes_fold, t.shadow_fold]
                .into_iter()
                .flatten()
                .map(ends)
                .fold(0.0, f64::max);
            assert!(t.verdict_ms >= last_fold, "{}: {t:?}", line.name);
            assert!(t.verdict_ms >= exec_end, "{}: {t:?}", line.name);
            if let Some(next) = lane.get(i + 1) {
                assert!(next.times.exec.start_ms >= exec_end, "{}", line.name);
            }
        }
    }
}

#[test]
fn demo_draws_every_mode_and_the_wall_time_of_every_mode_and_tier() {
    let dir = scratch("demo");
    let (svg, json) = (dir.join("timeline.svg"), dir.join("report.json"));
    // More blocks than the demo imports at a time: the second chunk continues each run's clock.
    // The default tiers: interpret, then compile.
    let out = harness(&[
        "demo",
        "--blocks",
        "40",
        "--txs",
        "4",
        "--svg",
        arg(&svg),
        "--json",
        arg(&json),
    ]);
    assert_ok(&out);
    let lines = block_lines(&json);
    assert_eq!(
        lines.len(),
        2 * 4 * 40,
        "a line per block per mode and tier"
    );
    for tier in TIERS {
        for mode in Config::ALL {
            let lane: Vec<_> = (lines.iter())
                .filter(|l| l.commitment == mode && l.tier == tier)
                .collect();
            assert_eq!(lane.len(), 40, "{mode}, {tier:?}");
            // The demo's blocks all carry a BAL the fold can express.
            for line in lane {
                let t = &line.times;
                assert_eq!(t.bal_fold.is_some(), mode.bal_driven, "{}", line.name);
                assert_eq!(t.writes_fold.is_some(), !mode.bal_driven, "{}", line.name);
                let shadow = mode.bal_driven && mode.shadow;
                assert_eq!(t.shadow_fold.is_some(), shadow, "{}", line.name);
            }
        }
    }
    assert_times_ordered(&lines);
    // Each run's clock starts with its own imports, not with the runs before it.
    for lane in lanes(&lines) {
        let first = lane[0].times.exec.start_ms;
        assert!(first < 50.0, "{}: starts at {first} ms", lane[0].name);
    }
    // The demo's timeline: every mode on the first tier.
    let first_tier: Vec<BlockLine> = (lines.iter())
        .filter(|l| l.tier == TIERS[0])
        .cloned()
        .collect();
    assert_timeline(&std::fs::read_to_string(&svg).unwrap(), &first_tier);
    // The report's: every run the JSON holds.
    let all = dir.join("all.svg");
    assert_ok(&harness(&["report", arg(&json), "--svg", arg(&all)]));
    assert_timeline(&std::fs::read_to_string(&all).unwrap(), &lines);

    let summary = std::fs::read_to_string(summary_path(&svg)).expect("the summary is written");
    let summary = roxmltree::Document::parse(&summary).expect("the summary is XML");
    let texts = texts(&summary);
    for mode in Config::ALL {
        assert!(texts.contains(&mode.to_string()), "{mode}: {texts:?}");
    }
    assert!(texts.contains(&"wall time (ms)".to_string()));
    // One bar per mode in each tier's colour, and that tier's legend swatch and entry.
    for (t, tier) in ["interpret", "compile"].into_iter().enumerate() {
        assert!(texts.contains(&tier.to_string()), "{tier}'s legend entry");
        let bars = count(&summary, "rect", "fill", &hex(tier_color(t)));
        assert_eq!(bars, 4 + 1, "{tier}: a bar per mode + legend");
    }
    // Each bar is labelled with its run's wall time, as the JSON report's `runs` give it.
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut expected: Vec<String> = (report["runs"].as_array().expect("runs").iter())
        .map(|run| format!("{:.1} ms", run["wall_ms"].as_f64().unwrap()))
        .collect();
    let mut values: Vec<String> = texts.into_iter().filter(|t| t.ends_with(" ms")).collect();
    expected.sort();
    values.sort();
    assert_eq!(values.len(), 8, "four modes on two tiers: {values:?}");
    assert_eq!(values, expected, "each bar's wall time");
}

#[test]
fn report_draws_a_replay_and_refuses_what_is_not_a_report() {
    let dir = scratch("report");
    let (json, svg) = (dir.join("replay.json"), dir.join("replay.svg"));
    let suite = fixtures_dir().join("ethereum-tests/BlockchainTests/ValidBlocks/bcExample");
    assert!(suite.exists(), "fixtures missing: {}", suite.display());
    let out = harness(&["replay", arg(&suite), "--json", arg(&json)]);
    assert_ok(&out);
    let out = harness(&["report", arg(&json), "--svg", arg(&svg)]);
    assert_ok(&out);
    let lines = block_lines(&json);
    assert!(
        lines.len() >= 4,
        "bcExample imports blocks: {}",
        lines.len()
    );
    assert_times_ordered(&lines);
    assert_timeline(&std::fs::read_to_string(&svg).unwrap(), &lines);

    // Bad input: exit 2, one line on stderr, nothing written.
    let statetest = dir.join("statetest.json");
    std::fs::write(&statetest, br#"{"command": "statetest", "blocks": []}"#).unwrap();
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, b"{\"blocks\": [").unwrap();
    let missing = dir.join("missing.json");
    for (input, says) in [
        (&statetest, "no block lines"),
        (&not_json, "not a replay or demo report"),
        (&missing, "missing.json"),
    ] {
        let target = dir.join("refused.svg");
        let out = harness(&["report", arg(input), "--svg", arg(&target)]);
        assert_eq!(out.status.code(), Some(2), "{}", input.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!target.exists());
    }
}
