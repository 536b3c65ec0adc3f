//! `harness`: replay recorded Ethereum blocks and test suites through the executor and the
//! commitment trie, and report.
//!
//! Exit codes: 0 all cases passed, 1 some failed, 2 bad usage or unreadable input. The last
//! stdout line is always `N passed, N failed, N skipped` for case-running subcommands.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use executor::submodule::runtime::{DEFAULT_BUDGET, ModuleCache, TierUp, TierUpConfig};
use harness::{
    bal_check, demo, pictures,
    replay::{self, Exec, Format},
    report::Report,
    root, statetest,
};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Replay Ethereum blocks and test suites through a revm-based executor and its own state trie.",
    long_about = "Replay Ethereum blocks and test suites through a revm-based executor and its own \
Merkle Patricia Trie, checking every commitment the data allows (state root, receipts root, logs \
bloom, gas used).\n\nThe public suites live in $FIXTURES_DIR (default: ../shared/fixtures beside the \
repository):\n  harness replay $FIXTURES_DIR/ethereum-tests/BlockchainTests\n  harness statetest \
$FIXTURES_DIR/ethereum-tests/GeneralStateTests\n  harness replay --format mainnet \
$FIXTURES_DIR/mainnet-blocks\n  harness demo\n\nExit codes: 0 all passed, 1 some failed, 2 bad \
usage or unreadable input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    submodules: SubmoduleArgs,
}

/// How compiled contracts are managed (`--tier compile` and `auto`), on every subcommand.
#[derive(clap::Args)]
struct SubmoduleArgs {
    /// `--tier auto`: gas a contract's interpreted frames spend before it is compiled in the
    /// background.
    #[arg(long, global = true, default_value_t = TierUpConfig::default().threshold_gas)]
    tier_up_gas: u64,
    /// `--tier auto`: background compile threads.
    #[arg(long, global = true, default_value_t = TierUpConfig::default().workers)]
    tier_up_workers: usize,
    /// The compiled modules' cache budget, in MiB of estimated resident memory (at least the
    /// largest module's, 32 MiB).
    #[arg(long, global = true, default_value_t = (DEFAULT_BUDGET >> 20) as u64)]
    module_cache_mb: u64,
}

impl SubmoduleArgs {
    /// Configures the process-wide module cache and the `auto` tier's compile pool.
    fn apply(&self) -> anyhow::Result<()> {
        let budget = usize::try_from(self.module_cache_mb.saturating_mul(1 << 20))?;
        ModuleCache::global().set_budget(budget)?;
        let config = TierUpConfig {
            threshold_gas: self.tier_up_gas,
            workers: self.tier_up_workers,
            ..TierUpConfig::default()
        };
        TierUp::global_with(config);
        Ok(())
    }
}

#[derive(Subcommand)]
enum DbAction {
    /// Recompute the state root from the plain state and compare it with the checkpoint and
    /// the stored header.
    Check {
        dir: PathBuf,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Unwind to block N by the stored change sets (one transaction).
    Unwind {
        dir: PathBuf,
        #[arg(long)]
        to: u64,
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Replay recorded blocks (BlockchainTests JSON, a geth export, or mainnet recordings).
    Replay {
        /// Files or directories (searched recursively for .json).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Recording format; `auto` decides from the paths.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
        /// genesis.json for `--format geth` (the paths are then chain.rlp exports).
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Run transactions one by one, all at once from the block's access list, or all at
        /// once speculatively (optimistic, no access list needed).
        #[arg(long, value_enum, default_value_t = Exec::Sequential)]
        exec: Exec,
        /// Where contract code runs: revm's interpreter, or compiled to Wasm submodules.
        #[arg(long, value_enum, default_value_t = replay::TierArg::Interpret)]
        tier: replay::TierArg,
        /// BAL sidecars (from `harness bal --record`) for `--exec parallel` on mainnet recordings.
        #[arg(long, value_name = "DIR")]
        bal_dir: Option<PathBuf>,
        /// Keep the chain's state in a database in DIR, one atomic commit per block: a geth
        /// export's is created or resumed at its checkpoint; each BlockchainTests case gets a
        /// fresh one (DIR/<case hash>.redb).
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// The database's read cache, in MiB.
        #[arg(long, default_value_t = 256)]
        cache_mb: u64,
        /// Write the JSON report here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run GeneralStateTests-format files: state root and logs hash per post entry, and the
    /// rejection reason where the entry expects an exception.
    Statetest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Where contract code runs: revm's interpreter, or compiled to Wasm submodules.
        #[arg(long, value_enum, default_value_t = replay::TierArg::Interpret)]
        tier: replay::TierArg,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Check EIP-7928 fixtures' Block Access Lists without execution: decode, validate, hash
    /// vs header, and the executionless root (parent state + BAL) vs the header's state root.
    /// A block the fixture expects to be invalid is also executed and must be rejected.
    Bal {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Instead of checking: execute mainnet recordings sequentially and write each block's
        /// BAL as a sidecar into --out (for `replay --exec parallel --bal-dir`).
        #[arg(long, requires = "out")]
        record: bool,
        /// Sidecar directory for --record.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Print the state root (0x...) of a genesis.json or an alloc / pre JSON object.
    Root { file: PathBuf },
    /// Inspect or rewind the chain database of a `replay --db DIR`.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Build a synthetic chain in memory (transfers, an ERC20 token, hashing loops), replay it
    /// in every commitment mode on every tier, and report.
    Demo {
        /// Blocks in the synthetic chain (built and replayed in chunks, so any number fits in
        /// memory).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        blocks: u64,
        /// Transactions per block.
        #[arg(long, default_value_t = 200)]
        txs: usize,
        /// Extra idle accounts (with four storage slots each) in the genesis, to size the
        /// state every root is folded over.
        #[arg(long, default_value_t = 0)]
        accounts: usize,
        /// How transactions run (each block carries its recorded access list, which
        /// `optimistic` does not use).
        #[arg(long, value_enum, default_value_t = Exec::Sequential)]
        exec: Exec,
        /// Replay in all four commitment modes, or only in the one the environment selects
        /// (BAL_DRIVEN_COMMITMENT, BAL_SHADOW_COMPUTE). The report's timing is the latter's.
        #[arg(long, value_enum, default_value_t = DemoModes::All)]
        modes: DemoModes,
        /// What the transactions do: `mixed` (transfers, token transfers, hashing loops),
        /// `storage` (half transfers, half calls writing 20 fresh slots: commitment-heavy) or
        /// `compute` (mostly calls hashing 2000 times: execution-heavy).
        #[arg(long, value_enum, default_value_t = demo::Mix::Mixed)]
        mix: demo::Mix,
        /// Where contract code runs, each a set of rows beside the others (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [replay::TierArg::Interpret, replay::TierArg::Compile])]
        tiers: Vec<replay::TierArg>,
        /// Also write the chain as DIR/genesis.json + DIR/chain.rlp (replayable with
        /// `replay --format geth --genesis DIR/genesis.json DIR/chain.rlp`).
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        /// Also run the environment's mode on the first tier through a chain database in DIR
        /// (created afresh, one commit per block), a row beside the same run in memory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        #[arg(long)]
        json: Option<PathBuf>,
        /// Draw the timeline of every block's phases per mode on the first tier to FILE (SVG),
        /// and the wall time per mode and tier beside it (FILE with `-summary` before the
        /// extension).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Draw the timeline of a replay's or demo's JSON report (`--json`): per run (commitment
    /// mode and tier; a demo's report holds every tier), when each block executed, folded and
    /// got its verdict.
    Report {
        /// The JSON report.
        report: PathBuf,
        /// Where to write the timeline (SVG).
        #[arg(long, value_name = "FILE")]
        svg: PathBuf,
    },
}

/// Which commitment modes `demo` replays in.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DemoModes {
    All,
    Env,
}

fn main() -> ExitCode {
    restore_sigpipe();
    init_logs();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A reader that stops early (`harness db check DIR | head -n 1`) ends the process as it ends
/// every Unix tool, by SIGPIPE, instead of a panic in `println!` (Rust ignores the signal).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `RUST_LOG` (e.g. `harness=debug`) selects log lines on stderr; none without it.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::OFF.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| harness::progress::LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    cli.submodules.apply()?;
    // `inputs`: the paths searched for cases, named when none is found.
    let (mut report, json, inputs) = match cli.command {
        Command::Replay {
            paths,
            format,
            genesis,
            exec,
            tier,
            bal_dir,
            db,
            cache_mb,
            json,
        } => {
            let mut report = Report::new("replay");
            replay::run(
                &paths,
                &replay::ReplayOptions {
                    format,
                    genesis,
                    exec,
                    tier: tier.into(),
                    bal_dir,
                    commitment: commitment::Config::from_env(),
                    db,
                    cache_mb,
                },
                &mut report,
            )?;
            (report, json, paths)
        }
        Command::Statetest { paths, tier, json } => {
            let mut report = Report::new("statetest");
            let opts = statetest::StatetestOptions { tier: tier.into() };
            statetest::run(&paths, &opts, &mut report)?;
            (report, json, paths)
        }
        Command::Bal {
            paths,
            record,
            out,
            json,
        } => {
            let mut report = Report::new("bal");
            match out.filter(|_| record) {
                Some(out) => bal_check::record(&paths, &out, &mut report)?,
                None => bal_check::run(&paths, &mut report)?,
            }
            (report, json, paths)
        }
        Command::Db { action } => {
            let mut report = Report::new("db");
            let (dir, json) = match action {
                DbAction::Check { dir, json } => {
                    harness::db::check(&dir, &mut report)?;
                    (dir, json)
                }
                DbAction::Unwind { dir, to, json } => {
                    harness::db::unwind(&dir, to, &mut report)?;
                    (dir, json)
                }
            };
            (report, json, vec![dir])
        }
        Command::Root { file } => {
            println!("{}", root::state_root(&file)?);
            return Ok(0);
        }
        Command::Report { report, svg } => {
            let lines = pictures::read_block_lines(&report)?;
            write_timeline(&svg, &lines)?;
            return Ok(0);
        }
        Command::Demo {
            blocks,
            txs,
            accounts,
            exec,
            modes,
            mix,
            tiers,
            export,
            db,
            json,
            svg,
        } => {
            let mut report = Report::new("demo");
            let primary = commitment::Config::from_env();
            let runs = demo::run(
                &demo::DemoOptions {
                    blocks,
                    txs_per_block: txs,
                    accounts,
                    export,
                    exec: exec.into(),
                    mix,
                    modes: match modes {
                        DemoModes::All => commitment::Config::ALL.to_vec(),
                        DemoModes::Env => vec![primary],
                    },
                    primary,
                    tiers: tiers.into_iter().map(Into::into).collect(),
                    db,
                },
                &mut report,
            )?;
            if let Some(svg) = svg {
                write_demo_pictures(&svg, &report, &runs)?;
            }
            (report, json, Vec::new())
        }
    };
    if report.found_nothing() {
        let inputs: Vec<_> = inputs.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!("no cases found in {}", inputs.join(", "));
    }
    report.finish(json.as_deref())?;
    Ok(report.exit_code() as u8)
}

/// The demo's pictures: the timeline of every mode on the first tier at `svg`, and the wall
/// time of every run (mode and tier) beside it. The timeline leaves the other tiers out (the
/// JSON report keeps them, for `harness report`): eight panels of 20 blocks stood 3300 px tall
/// and repeated the same pipeline; the tiers differ in wall time, which the summary shows.
fn write_demo_pictures(svg: &Path, report: &Report, runs: &[demo::DemoRun]) -> anyhow::Result<()> {
    let first_tier = runs.first().map(|run| run.tier);
    let lines: Vec<_> = (report.blocks.iter())
        .filter(|line| Some(line.tier) == first_tier)
        .cloned()
        .collect();
    write_timeline(svg, &lines)?;
    let summary = pictures::summary_path(svg);
    let bars: Vec<_> = runs.iter().map(demo::DemoRun::summary_bar).collect();
    pictures::write(&summary, &pictures::summary_svg(&bars)?)?;
    println!("demo: wrote {} ({} bars)", summary.display(), bars.len());
    Ok(())
}

/// Draws `lines` as a timeline into `path`.
fn write_timeline(path: &Path, lines: &[harness::report::BlockLine]) -> anyhow::Result<()> {
    pictures::write(path, &pictures::timeline_svg(lines)?)?;
    println!("wrote {} ({} block lines)", path.display(), lines.len());
    Ok(())
}
