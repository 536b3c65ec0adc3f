//! `harness db check|unwind DIR`: the chain database a `--db` replay keeps, inspected and
//! rewound from outside the import.

use std::path::Path;

use executor::storage::{self, ChainDb, Stage};

use crate::{replay::db_file, report::Report};

/// Why a database could not be opened at all (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DbError {
    path: String,
    source: storage::StorageError,
}

fn open(dir: &Path) -> Result<ChainDb, DbError> {
    let path = db_file(dir);
    if !path.is_file() {
        return Err(DbError {
            path: path.display().to_string(),
            source: storage::StorageError::NoGenesis,
        });
    }
    ChainDb::open(&path, 64 << 20).map_err(|source| DbError {
        path: path.display().to_string(),
        source,
    })
}

/// Recomputes the root from the plain state and checks it against the checkpoints and the
/// stored header: one case, passed or failed with the first inconsistency.
pub fn check(dir: &Path, report: &mut Report) -> Result<(), DbError> {
    let db = open(dir)?;
    match db.check() {
        Ok(seen) => {
            let nodes = match seen.trie_nodes {
                Some(_) => "current",
                None => "stale (rebuilt at the next open)",
            };
            println!(
                "block {} ({}): root {} from {} accounts, {} slots; trie nodes {nodes}",
                seen.head.number, seen.head.hash, seen.head.state_root, seen.accounts, seen.slots
            );
            report.pass();
        }
        Err(e) => report.fail(format!("check {}", dir.display()), e.to_string()),
    }
    Ok(())
}

/// Unwinds the database to block `to` in one transaction (nothing changes on error), then
/// rebuilds its trie nodes at the new head (a second transaction: killed in between, the next
/// open rebuilds them).
pub fn unwind(dir: &Path, to: u64, report: &mut Report) -> Result<(), DbError> {
    let mut db = open(dir)?;
    let name = format!("unwind {} to {to}", dir.display());
    let unwound = db.unwind_to(to).and_then(|restored| {
        db.rebuild_trie()?;
        let head = db.checkpoint(Stage::Execution)?;
        Ok((restored.accounts.len(), head))
    });
    match unwound {
        Ok((accounts, Some(head))) => {
            println!(
                "unwound to block {} ({}), root {}: {accounts} accounts restored",
                head.number, head.hash, head.state_root
            );
            report.pass();
        }
        Ok((_, None)) => report.fail(name, "no checkpoint after the unwind"),
        Err(e) => report.fail(name, e.to_string()),
    }
    Ok(())
}
