//! `harness bal`: checks the Block Access Lists of EIP-7928 fixtures without executing a
//! transaction. Per block: decode the BAL, validate it, compare its hash with the header, fold
//! it into the parent state and compare the executionless root with the header's state root.
//! Blocks the fixture marks invalid are also executed and must be rejected.

use std::path::PathBuf;

use commitment::{Inexpressible, StateTrie};
use executor::{WorldState, submodule::Tier};
use serde::Deserialize;

use crate::{
    fixtures::{
        self,
        blockchain_test::BlockchainTest,
        eest::{BlockFields, EestTest},
    },
    replay::{Exec, Format, ReplayError, ReplayOptions, blockchain_tests},
    report::{CaseError, Report},
    skips,
};

/// Which rule a rejected BAL broke, in the fixtures' exception vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Broken {
    /// Encoding or structure (`INCORRECT_BLOCK_FORMAT`).
    Format,
    /// The header's `blockAccessListHash` (`INVALID_BAL_HASH`).
    Hash,
    /// Well-formed but untrue: its post-state is not the header's (`INVALID_BLOCK_ACCESS_LIST`).
    Content,
}

impl Broken {
    /// Whether a fixture's `expectException` (alternatives joined by `|`) names this rule.
    fn expected_by(self, exception: &str) -> bool {
        let name = match self {
            Broken::Format => "INCORRECT_BLOCK_FORMAT",
            Broken::Hash => "INVALID_BAL_HASH",
            Broken::Content => "INVALID_BLOCK_ACCESS_LIST",
        };
        exception.split('|').any(|e| e.ends_with(name))
    }
}

/// How one block's BAL check ended.
enum Verdict {
    /// The BAL is consistent with the header; the trie is at the block's post-state.
    Consistent(Box<StateTrie>),
    /// The BAL (or its header commitments) is wrong.
    Rejected(Broken, String),
    /// The BAL cannot express this block's post-state; execution must decide.
    Inexpressible(Inexpressible),
}

pub fn run(paths: &[PathBuf], report: &mut Report) -> Result<(), ReplayError> {
    fixtures::for_each_test::<serde_json::Value>(
        paths,
        skips::BAL_FIXTURES,
        report,
        |case, test, report| {
            let mut notes = Vec::new();
            match check_test(test, &mut notes) {
                Ok(None) => report.pass(),
                Ok(Some(why)) => report.skip(case, why),
                Err(reason) => report.fail(case, reason),
            }
            for note in notes {
                report.note(format!("{case}: {note}"));
            }
        },
    )?;
    Ok(())
}

/// `Ok(Some(reason))` when a block's BAL cannot express its post-state, so the rest of the
/// chain cannot be checked without execution. A block the fixture expects to be invalid is
/// also executed, as `replay --format eest` does: a BAL that omits an account the block only
/// read folds to the header's root and hashes to the header's commitment, so only execution
/// can reject it. Such a block passes only when rejected; where the checker's reason is not
/// the fixture's, `notes` gets both.
fn check_test(json: &serde_json::Value, notes: &mut Vec<String>) -> Result<Option<String>, String> {
    let test = EestTest::deserialize(json).map_err(|e| format!("not an EEST fixture: {e}"))?;
    let world = WorldState::from_alloc(&test.pre);
    let mut trie = world.state_trie();
    let genesis_root = trie.root();
    if genesis_root != test.genesis_block_header.state_root {
        return Err(format!(
            "genesis root {genesis_root}, header says {}",
            test.genesis_block_header.state_root
        ));
    }
    let executed = if test.blocks.iter().any(|b| b.expect_exception.is_some()) {
        execute(json)?
    } else {
        Vec::new()
    };
    for (i, block) in test.blocks.iter().enumerate() {
        let fields = block
            .fields()
            .ok_or_else(|| format!("block {i}: no header"))?;
        let verdict = check_block(&trie, fields);
        let Some(expected) = &block.expect_exception else {
            match verdict {
                Verdict::Consistent(next) => trie = *next,
                Verdict::Rejected(_, reason) => return Err(format!("block {i}: {reason}")),
                Verdict::Inexpressible(why) => return Ok(Some(format!("block {i}: {why}"))),
            }
            continue;
        };
        // An invalid block leaves the chain at its parent: the trie stays.
        match &executed[i] {
            Ok(()) => {
                return Err(format!(
                    "block {i}: imported by execution, expected {expected} (BAL check: {verdict})"
                ));
            }
            Err(rejected) => {
                if !matches!(verdict, Verdict::Rejected(broken, _) if broken.expected_by(expected))
                {
                    notes.push(format!(
                        "block {i} rejected, expected {expected}; BAL check: {verdict}; execution: {rejected}"
                    ));
                }
            }
        }
    }
    Ok(None)
}

/// Every block of the fixture through execution, as `replay --format eest` imports them: per
/// block, imported or the reason it was rejected.
fn execute(json: &serde_json::Value) -> Result<Vec<Result<(), String>>, String> {
    let test = BlockchainTest::deserialize(json)
        .map_err(|e| format!("not a blockchain test, cannot execute: {e}"))?;
    let opts = ReplayOptions {
        format: Format::Eest,
        genesis: None,
        exec: Exec::Sequential,
        tier: Tier::Interpret,
        bal_dir: None,
        commitment: commitment::Config::default(),
        db: None,
        cache_mb: 0,
    };
    let (_, results) = blockchain_tests::import_test(&test, &opts)?;
    Ok(results.into_iter().map(|r| r.map(drop)).collect())
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Consistent(_) => f.write_str("accepted"),
            Self::Rejected(broken, reason) => write!(f, "rejected as {broken:?} ({reason})"),
            Self::Inexpressible(why) => write!(f, "cannot tell ({why})"),
        }
    }
}

fn check_block(parent: &StateTrie, fields: &BlockFields) -> Verdict {
    let header = &fields.block_header;
    let Some(json) = &fields.block_access_list else {
        return Verdict::Rejected(Broken::Format, "block carries no blockAccessList".into());
    };
    let bal = match bal::from_json(json) {
        Ok(b) => b,
        Err(e) => return Verdict::Rejected(Broken::Format, e.to_string()),
    };
    let gas_limit = header.gas_limit.saturating_to::<u64>();
    if let Err(e) = bal::validate(&bal, fields.transactions.len(), gas_limit) {
        // A surplus system caller is well-formed but untrue.
        let broken = if e == bal::BalError::SurplusSystemAddress {
            Broken::Content
        } else {
            Broken::Format
        };
        return Verdict::Rejected(broken, e.to_string());
    }
    let hash = bal::compute_block_access_list_hash(&bal);
    if Some(hash) != header.block_access_list_hash {
        let reason = format!(
            "BAL hash {hash}, header says {:?}",
            header.block_access_list_hash
        );
        return Verdict::Rejected(Broken::Hash, reason);
    }
    let mut next = parent.clone();
    match commitment::fold_bal(&mut next, &bal, commitment::FoldRules::default()) {
        Err(why) => Verdict::Inexpressible(why),
        Ok(root) if root == header.state_root => Verdict::Consistent(Box::new(next)),
        Ok(root) => {
            let reason = format!(
                "executionless root {root}, header says {}",
                header.state_root
            );
            Verdict::Rejected(Broken::Content, reason)
        }
    }
}

/// `harness bal --record`: executes mainnet recordings sequentially and writes each block's
/// BAL as a sidecar into `out`.
pub fn record(
    paths: &[PathBuf],
    out: &std::path::Path,
    report: &mut Report,
) -> Result<(), ReplayError> {
    let chain = executor::chain::ChainSpec::mainnet();
    let dirs = crate::replay::mainnet::block_dirs(paths)?;
    let progress = crate::progress::Progress::new(dirs.len() as u64, "blocks");
    for dir in dirs {
        let name = format!("record/{}", dir.display());
        let recorded = fixtures::mainnet::load(&dir)
            .map_err(CaseError::from)
            .and_then(|rec| {
                let view = executor::StateView {
                    world: &rec.world,
                    hashes: &rec.block_hashes,
                };
                let options = executor::block::ExecOptions::default().recording();
                let outcome = executor::block::execute(&chain, &rec.block, &view, options)
                    .map_err(|e| e.to_string())?;
                let header = &rec.block.header;
                let list = outcome.access_list.unwrap_or_default();
                fixtures::sidecar::write(out, header.number, header.hash_slow(), &list)
                    .map_err(|e| CaseError::Failed(e.to_string()))
            });
        report.record(name, recorded);
        progress.inc(1);
    }
    Ok(())
}
