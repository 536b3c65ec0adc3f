//! The ordered byte key-value seam under the chain database.
//!
//! Everything above this module speaks in typed rows ([`crate::codec`]); everything below it
//! is a set of named tables of byte keys in byte order, read through snapshots and written in
//! one atomic transaction. That is all redb offers and all MDBX offers, so an MDBX backend is
//! one more implementation of these three traits.

mod redb;

use std::ops::Bound;

pub use self::redb::RedbBackend;

/// The tables of the chain database. Keys are fixed-width and big-endian, so byte order is
/// numeric order and a block's or an account's rows are one contiguous range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// address -> account fields.
    Accounts,
    /// address ++ slot -> value; non-zero values only.
    Storage,
    /// code hash -> bytecode.
    Code,
    /// block number -> RLP header (canonical chain only).
    Headers,
    /// block number -> block hash; number 0 holds the genesis hash, the database's chain id.
    CanonicalHashes,
    /// block hash -> block number.
    HeaderNumbers,
    /// block number -> what the chain rules need of past blocks (total difficulty, ommers).
    BlockMeta,
    /// block number ++ address -> the account and the slots it touched, as before the block.
    AccountChanges,
    /// stage name -> the stage's checkpoint.
    Checkpoints,
    /// trie ++ nibble path -> RLP of the commitment trie's node there (see `trie_nodes.rs`).
    TrieNodes,
    /// name -> what the chain is, beyond its genesis hash (its fork rules, where the genesis
    /// came from), so a node restarts from the database alone.
    ChainInfo,
}

impl Table {
    /// Every table, so a backend can create them all up front.
    pub const ALL: [Table; 11] = [
        Table::Accounts,
        Table::Storage,
        Table::Code,
        Table::Headers,
        Table::CanonicalHashes,
        Table::HeaderNumbers,
        Table::BlockMeta,
        Table::AccountChanges,
        Table::Checkpoints,
        Table::TrieNodes,
        Table::ChainInfo,
    ];

    /// The table's name on disk.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Accounts => "plain_accounts",
            Table::Storage => "plain_storage",
            Table::Code => "code",
            Table::Headers => "headers",
            Table::CanonicalHashes => "canonical_hashes",
            Table::HeaderNumbers => "header_numbers",
            Table::BlockMeta => "block_meta",
            Table::AccountChanges => "account_changes",
            Table::Checkpoints => "checkpoints",
            Table::TrieNodes => "trie_nodes",
            Table::ChainInfo => "chain_info",
        }
    }
}

/// What a backend failed at, with the file's corruption told apart from everything else
/// (the CLI answers the first with "restore or re-sync", the rest with the cause).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The file is damaged: truncated, overwritten, or failing its checksums.
    #[error("database file is corrupted: {0}")]
    CorruptFile(String),
    /// Another process (or handle) holds the database open.
    #[error("database is already open elsewhere")]
    InUse,
    /// Any other failure of the backend (I/O, resources).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// A key-value pair read from a table.
pub type Row = (Vec<u8>, Vec<u8>);

/// A row to write: a key and its new value, or `None` to delete it.
pub type BatchRow<'a> = (Vec<u8>, Option<&'a [u8]>);

/// Rows of a range in key order.
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row, BackendError>> + Send + 'a>;

/// An ordered byte store with snapshot reads and atomic writes.
pub trait KvBackend: Send + Sync {
    /// A consistent snapshot; owns what it needs, so it can outlive the borrow that made it and
    /// be shared by the threads executing one block.
    type Read: KvRead + Send + Sync + 'static;
    /// The one write transaction; nothing it does is visible until [`KvWrite::commit`].
    type Write<'db>: KvWrite
    where
        Self: 'db;

    /// Opens a snapshot of the last committed state.
    fn read(&self) -> Result<Self::Read, BackendError>;
    /// Starts the write transaction.
    fn write(&self) -> Result<Self::Write<'_>, BackendError>;
}

/// Reads of one snapshot or transaction.
pub trait KvRead {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
    /// The rows with keys in `(start, end)`, in key order.
    fn range(
        &self,
        table: Table,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
    ) -> Result<Rows<'_>, BackendError>;

    /// The rows whose keys start with `prefix`, in key order.
    fn prefix(&self, table: Table, prefix: &[u8]) -> Result<Rows<'_>, BackendError> {
        let end = prefix_end(prefix);
        let end = match &end {
            Some(end) => Bound::Excluded(end.as_slice()),
            None => Bound::Unbounded,
        };
        self.range(table, Bound::Included(prefix), end)
    }
}

/// The write transaction: reads see its own writes.
pub trait KvWrite: KvRead {
    /// Inserts or replaces `key`.
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), BackendError>;
    /// Removes `key` (absent is fine).
    fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), BackendError>;
    /// Puts (`Some`) and deletes (`None`) many rows of one table, in order: what a backend
    /// pays per call to reach a table is paid once (a block writes thousands of trie nodes).
    fn write_rows(
        &mut self,
        table: Table,
        rows: &mut dyn Iterator<Item = BatchRow<'_>>,
    ) -> Result<(), BackendError> {
        for (key, value) in rows {
            match value {
                Some(value) => self.put(table, &key, value)?,
                None => self.delete(table, &key)?,
            }
        }
        Ok(())
    }
    /// Makes every write durable and visible at once; dropping instead discards them all.
    fn commit(self) -> Result<(), BackendError>;
}

/// The least key above every key starting with `prefix` (`None`: no bound, all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Table, prefix_end};

    /// Backends index per-table handles by discriminant.
    #[test]
    fn all_is_in_discriminant_order() {
        for (index, table) in Table::ALL.into_iter().enumerate() {
            assert_eq!(table as usize, index);
        }
    }

    #[test]
    fn prefix_end_carries_past_ff() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}
