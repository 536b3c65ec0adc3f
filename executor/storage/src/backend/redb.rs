//! The redb implementation of the byte store: one redb table per [`Table`], `&[u8]` keys and
//! values, immediate durability (a committed block survives a crash).

use std::{ops::Bound, path::Path};

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};

use super::{BackendError, BatchRow, KvBackend, KvRead, KvWrite, Rows, Table};

type Bytes<'a> = &'a [u8];

fn definition(table: Table) -> TableDefinition<'static, Bytes<'static>, Bytes<'static>> {
    TableDefinition::new(table.name())
}

/// Sorts redb's errors into the three kinds callers act on.
fn backend_error(error: impl Into<redb::Error>) -> BackendError {
    match error.into() {
        redb::Error::Corrupted(reason) => BackendError::CorruptFile(reason),
        redb::Error::DatabaseAlreadyOpen => BackendError::InUse,
        other => BackendError::Other(Box::new(other)),
    }
}

/// A redb database file.
#[derive(Debug)]
pub struct RedbBackend {
    db: Database,
}

impl RedbBackend {
    /// Creates the file or opens it with redb's integrity check on open: every page checksum
    /// of the committed trees is verified, so a damaged file is refused here (redb's own
    /// warning: a plain open of an altered file may panic) rather than when a damaged page is
    /// first read mid-import. A file left by a crash is rolled back to its last commit, which
    /// is the crash contract. Missing tables are created so snapshots find them all. redb
    /// caches at most `cache_bytes` of pages (its default is a gigabyte).
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, BackendError> {
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(backend_error)?;
        // Written only when a table is missing (a new file, or one from before a table was
        // added): opening a database to read it must not write to it.
        let read = db.begin_read().map_err(backend_error)?;
        let complete = Table::ALL
            .iter()
            .all(|&table| read.open_table(definition(table)).is_ok());
        drop(read);
        if !complete {
            let txn = db.begin_write().map_err(backend_error)?;
            for table in Table::ALL {
                txn.open_table(definition(table)).map_err(backend_error)?;
            }
            txn.commit().map_err(backend_error)?;
        }
        Ok(Self { db })
    }
}

impl KvBackend for RedbBackend {
    type Read = RedbRead;
    type Write<'db> = RedbWrite;

    fn read(&self) -> Result<RedbRead, BackendError> {
        let txn = self.db.begin_read().map_err(backend_error)?;
        // Opened once per snapshot: a table handle owns its transaction guard, so the snapshot
        // needs no borrow of the database and each get skips the table lookup.
        let tables = Table::ALL
            .iter()
            .map(|&table| txn.open_table(definition(table)).map_err(backend_error))
            .collect::<Result<_, _>>()?;
        Ok(RedbRead { tables })
    }

    fn write(&self) -> Result<RedbWrite, BackendError> {
        let txn = self.db.begin_write().map_err(backend_error)?;
        Ok(RedbWrite { txn })
    }
}

/// A redb read transaction with every table open.
pub struct RedbRead {
    /// In [`Table::ALL`] order.
    tables: Vec<ReadOnlyTable<Bytes<'static>, Bytes<'static>>>,
}

impl RedbRead {
    fn table(&self, table: Table) -> &ReadOnlyTable<Bytes<'static>, Bytes<'static>> {
        &self.tables[table as usize]
    }
}

impl KvRead for RedbRead {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let value = self.table(table).get(key).map_err(backend_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn range(
        &self,
        table: Table,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
    ) -> Result<Rows<'_>, BackendError> {
        let rows = self
            .table(table)
            .range::<&[u8]>((start, end))
            .map_err(backend_error)?;
        Ok(Box::new(rows.map(|row| {
            let (k, v) = row.map_err(backend_error)?;
            Ok((k.value().to_vec(), v.value().to_vec()))
        })))
    }
}

/// A redb write transaction. Tables are opened per call: a write table borrows the
/// transaction, so holding them open would make this type self-referential.
pub struct RedbWrite {
    txn: redb::WriteTransaction,
}

impl KvRead for RedbWrite {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let table = self
            .txn
            .open_table(definition(table))
            .map_err(backend_error)?;
        let value = table.get(key).map_err(backend_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Collected before returning, for the same borrow reason as the tables.
    fn range(
        &self,
        table: Table,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
    ) -> Result<Rows<'_>, BackendError> {
        let table = self
            .txn
            .open_table(definition(table))
            .map_err(backend_error)?;
        let rows = table
            .range::<&[u8]>((start, end))
            .map_err(backend_error)?
            .map(|row| {
                let (k, v) = row.map_err(backend_error)?;
                Ok((k.value().to_vec(), v.value().to_vec()))
            })
            .collect::<Vec<_>>();
        Ok(Box::new(rows.into_iter()))
    }
}

impl KvWrite for RedbWrite {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), BackendError> {
        let mut table = self
            .txn
            .open_table(definition(table))
            .map_err(backend_error)?;
        table.insert(key, value).map_err(backend_error)?;
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<(), BackendError> {
        let mut table = self
            .txn
            .open_table(definition(table))
            .map_err(backend_error)?;
        table.remove(key).map_err(backend_error)?;
        Ok(())
    }

    fn write_rows(
        &mut self,
        table: Table,
        rows: &mut dyn Iterator<Item = BatchRow<'_>>,
    ) -> Result<(), BackendError> {
        let mut table = self
            .txn
            .open_table(definition(table))
            .map_err(backend_error)?;
        for (key, value) in rows {
            match value {
                Some(value) => table.insert(key.as_slice(), value).map(drop),
                None => table.remove(key.as_slice()).map(drop),
            }
            .map_err(backend_error)?;
        }
        Ok(())
    }

    fn commit(self) -> Result<(), BackendError> {
        self.txn.commit().map_err(backend_error)
    }
}
