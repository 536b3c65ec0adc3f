//! `harness replay`: recorded blocks through the executor and the commitment, in one of the
//! supported recording formats.

pub(crate) mod blockchain_tests;
mod geth;
pub mod mainnet;

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::report::Report;

/// The recording formats `replay` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Decide per path: a directory holding `block.json` files is `mainnet`, JSON files are
    /// `blockchain-tests`, and `--genesis` means `geth`.
    Auto,
    /// ethereum/tests BlockchainTests JSON.
    BlockchainTests,
    /// execution-spec-tests blockchain fixtures: the same JSON plus each block's
    /// `blockAccessList`, which a mismatching recorded BAL is compared with.
    Eest,
    /// `--genesis genesis.json` plus a `chain.rlp` export.
    Geth,
    /// `<N>/{block,pre_state,bytecodes,block_hashes?}.json` mainnet recordings.
    Mainnet,
}

/// How transactions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Exec {
    /// One after another.
    Sequential,
    /// All at once where the block's access list is known (eest fixtures carry it; mainnet
    /// recordings take it from `--bal-dir` sidecars), verified against what each transaction
    /// does. Blocks without one run sequentially.
    Parallel,
    /// All at once speculatively, with or without an access list (Block-STM): a transaction
    /// that read what one before it wrote executes again; a block that keeps conflicting
    /// finishes sequentially (`reexecutions`, `fallbacks` in the report's block lines).
    Optimistic,
}

impl From<Exec> for executor::chainstore::ExecMode {
    fn from(exec: Exec) -> Self {
        match exec {
            Exec::Sequential => Self::Sequential,
            Exec::Parallel => Self::Parallel,
            Exec::Optimistic => Self::Optimistic,
        }
    }
}

/// `--tier`: where contract code runs.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TierArg {
    /// revm's interpreter alone.
    Interpret,
    /// Every contract compiled to a Wasm submodule under wasmer.
    Compile,
    /// Interpreted until a contract is hot, then compiled in the background.
    Auto,
}

impl From<TierArg> for executor::submodule::Tier {
    fn from(t: TierArg) -> Self {
        match t {
            TierArg::Interpret => Self::Interpret,
            TierArg::Compile => Self::Compile,
            TierArg::Auto => Self::Auto,
        }
    }
}

/// Options of `harness replay`.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub format: Format,
    pub genesis: Option<PathBuf>,
    pub exec: Exec,
    /// Where contract code runs.
    pub tier: executor::submodule::Tier,
    /// BAL sidecars written by `harness bal --record`.
    pub bal_dir: Option<PathBuf>,
    /// The commitment pipeline's flags (`Config::from_env()` in the binary).
    pub commitment: commitment::Config,
    /// A directory holding the chain database (created, or resumed at its checkpoint).
    pub db: Option<PathBuf>,
    /// The database's read cache, in MiB.
    pub cache_mb: u64,
}

/// The database file inside a `--db` directory.
pub fn db_file(dir: &Path) -> PathBuf {
    dir.join("chain.redb")
}

/// Why a replay could not start at all (exit code 2), as opposed to a failed case.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Fixture(#[from] crate::fixtures::FixtureError),
}

/// Replays `paths` in `opts.format`, recording every case in `report`.
pub fn run(
    paths: &[PathBuf],
    opts: &ReplayOptions,
    report: &mut Report,
) -> Result<(), ReplayError> {
    // Checked before anything runs: a missing sidecar folder would fail every block.
    if let Some(dir) = &opts.bal_dir
        && !dir.is_dir()
    {
        return Err(ReplayError::Usage(format!(
            "--bal-dir {}: not a directory",
            dir.display()
        )));
    }
    let format = match opts.format {
        Format::Auto if opts.genesis.is_some() => Format::Geth,
        Format::Auto if paths.iter().any(|p| is_mainnet_dir(p)) => Format::Mainnet,
        Format::Auto => Format::BlockchainTests,
        f => f,
    };
    match format {
        Format::BlockchainTests | Format::Eest => blockchain_tests::run(paths, opts, report),
        Format::Mainnet => mainnet::run(paths, opts, report),
        Format::Geth => {
            let genesis = opts.genesis.as_deref().ok_or_else(|| {
                ReplayError::Usage("--format geth needs --genesis genesis.json".into())
            })?;
            geth::run(genesis, paths, opts, report)
        }
        Format::Auto => unreachable!("resolved above"),
    }
}

/// A mainnet recording directory, or a directory of them.
fn is_mainnet_dir(path: &Path) -> bool {
    path.join("block.json").is_file()
        || std::fs::read_dir(path)
            .map(|mut d| d.any(|e| e.is_ok_and(|e| e.path().join("block.json").is_file())))
            .unwrap_or(false)
}
