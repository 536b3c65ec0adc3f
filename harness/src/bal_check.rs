//! `harness bal`: checks the Block Access Lists of EIP-7928 fixtures without executing a
//! transaction. Per block: decode the BAL, validate it, compare its hash with the header, fold
//! it into the parent state and compare the executionless root with the header's state root.
//! Blocks the fixture marks invalid must fail one of those checks.

use std::path::PathBuf;

use commitment::{Inexpressible, StateTrie};
use executor::WorldState;

use crate::{
    fixtures::{
        self,
        eest::{BlockFields, EestTest},
    },
    replay::ReplayError,
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
    fixtures::for_each_test::<EestTest>(
        paths,
        skips::BAL_FIXTURES,
        report,
        |case, test, report| match check_test(test) {
            Ok(None) => report.pass(),
            Ok(Some(why)) => report.skip(case, why),
            Err(reason) => report.fail(case, reason),
        },
    )?;
    Ok(())
}

/// `Ok(Some(reason))` when a block's BAL cannot express its post-state, so the rest of the
/// chain cannot be checked without execution.
fn check_test(test: &EestTest) -> Result<Option<String>, String> {
    let world = WorldState::from_alloc(&test.pre);
    let mut trie = StateTrie::from_accounts(&world.trie_updates());
    let genesis_root = trie.root();
    if genesis_root != test.genesis_block_header.state_root {
        return Err(format!(
            "genesis root {genesis_root}, header says {}",
            test.genesis_block_header.state_root
        ));
    }
    for (i, block) in test.blocks.iter().enumerate() {
        let fields = block
            .fields()
            .ok_or_else(|| format!("block {i}: no header"))?;
        match (check_block(&trie, fields), &block.expect_exception) {
            (Verdict::Consistent(next), None) => trie = *next,
            (Verdict::Rejected(broken, reason), Some(expected)) => {
                if !broken.expected_by(expected) {
                    return Err(format!(
                        "block {i}: rejected as {broken:?} ({reason}), expected {expected}"
                    ));
                }
            }
            (Verdict::Rejected(_, reason), None) => return Err(format!("block {i}: {reason}")),
            (Verdict::Consistent(_), Some(expected)) => {
                return Err(format!("block {i}: BAL accepted, expected {expected}"));
            }
            (Verdict::Inexpressible(why), _) => return Ok(Some(format!("block {i}: {why}"))),
        }
    }
    Ok(None)
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
    for dir in crate::replay::mainnet::block_dirs(paths)? {
        let name = format!("record/{}", dir.display());
        let recorded = fixtures::mainnet::load(&dir)
            .map_err(CaseError::from)
            .and_then(|rec| {
                let view = executor::StateView {
                    world: &rec.world,
                    hashes: &rec.block_hashes,
                };
                let outcome = executor::block::execute_recording(&chain, &rec.block, view)
                    .map_err(|e| e.to_string())?;
                let header = &rec.block.header;
                let list = outcome.access_list.unwrap_or_default();
                fixtures::sidecar::write(out, header.number, header.hash_slow(), &list)
                    .map_err(|e| CaseError::Failed(e.to_string()))
            });
        report.record(name, recorded);
    }
    Ok(())
}
