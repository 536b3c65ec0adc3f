//! The demo replays its chain in every commitment mode on both tiers: one row per (mode, tier)
//! in the returned runs and in the JSON report's `runs`, and every row commits the same root.

use commitment::Config;
use executor::submodule::Tier;
use harness::{
    demo::{self, DemoOptions, Mix},
    report::Report,
};

#[test]
fn every_mode_on_both_tiers_commits_the_same_roots() {
    let mut report = Report::new("demo");
    let runs = demo::run(
        &DemoOptions {
            mix: Mix::Compute,
            modes: Config::ALL.to_vec(),
            tiers: vec![Tier::Interpret, Tier::Compile],
            ..DemoOptions::new(3, 20)
        },
        &mut report,
    )
    .expect("the demo runs");

    assert_eq!(runs.len(), 8, "four modes on two tiers");
    for tier in [Tier::Interpret, Tier::Compile] {
        let modes: Vec<Config> = runs
            .iter()
            .filter(|r| r.tier == tier)
            .map(|r| r.config)
            .collect();
        assert_eq!(modes, Config::ALL.to_vec(), "{tier:?}");
    }
    let genesis_root = demo::build(&DemoOptions {
        mix: Mix::Compute,
        ..DemoOptions::new(0, 20)
    })
    .unwrap()
    .genesis
    .state_root;
    for run in &runs {
        assert_eq!((run.blocks, run.failed), (3, 0), "{run:?}");
        assert_eq!(run.state_root, runs[0].state_root, "{run:?}");
        assert_eq!(run.divergences, 0, "{run:?}");
    }
    assert_ne!(
        runs[0].state_root, genesis_root,
        "the chain changed the state"
    );
    assert_eq!((report.passed, report.failed), (24, 0));

    // The JSON report keeps its keys and lists the rows under `runs`.
    let json = serde_json::to_value(&report).unwrap();
    for key in ["passed", "blocks", "commitment", "timing"] {
        assert!(json.get(key).is_some(), "report lost `{key}`");
    }
    let rows = json["runs"].as_array().expect("runs in the JSON report");
    assert_eq!(rows.len(), 8);
    let compiled = rows.iter().filter(|r| r["tier"] == "compile").count();
    assert_eq!(compiled, 4);
    assert!(rows.iter().all(|r| r["bal_driven"].is_boolean()));
}
