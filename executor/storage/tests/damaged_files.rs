//! Damaged databases give typed errors, never panics: a file cut in half, a file with bytes
//! overwritten in the middle, a checkpoint whose block is missing, a row that does not decode.

mod model;

use std::{
    fs::{self, OpenOptions},
    io::{Seek, SeekFrom, Write},
    path::Path,
};

use alloy_primitives::{Address, U256};
use commitment::TrieAccount;
use model::Chain;
use revm::database_interface::DatabaseRef;
use storage::{
    AccountWrite, BackendError, BlockWrites, ChainDb, InfoChange, KvBackend, KvWrite, RedbBackend,
    Stage, StorageError, Table,
};

/// A database of a few hundred accounts over 20 blocks, closed.
fn build(path: &Path) {
    let account = |n: u64| AccountWrite {
        address: Address::left_padding_from(&n.to_be_bytes()),
        info: InfoChange::Set(TrieAccount {
            nonce: n,
            balance: U256::from(n * 1000),
            ..model::EMPTY
        }),
        wipe_storage: false,
        storage: (1..4).map(|s| (U256::from(s), U256::from(n + s))).collect(),
    };
    let mut chain = Chain::create(path, 1 << 20, &BlockWrites::default());
    for block in 0..20u64 {
        chain.commit(&BlockWrites {
            accounts: (block * 20..block * 20 + 20).map(account).collect(),
            codes: vec![],
        });
    }
}

/// Opening `path` fails with a corrupt-file error and leaves the file as it was.
fn assert_refused_untouched(path: &Path) {
    let before = fs::read(path).unwrap();
    let error = match ChainDb::open(path, 1 << 20) {
        Ok(db) => panic!("opened, check says {:?}", db.check()),
        Err(error) => error,
    };
    assert!(
        matches!(error, StorageError::Backend(BackendError::CorruptFile(_))),
        "{error:?}"
    );
    assert!(
        fs::read(path).unwrap() == before,
        "a refused file is left as it was"
    );
}

#[test]
fn a_file_cut_in_half_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    build(&path);
    let len = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_refused_untouched(&path);
}

#[test]
fn a_file_overwritten_in_the_middle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    build(&path);
    let len = fs::metadata(&path).unwrap().len();
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(len / 2)).unwrap();
    file.write_all(&[0x55; 4096]).unwrap();
    drop(file);
    assert_refused_untouched(&path);
}

#[test]
fn a_checkpoint_ahead_of_the_stored_blocks_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    build(&path);
    let backend = RedbBackend::open(&path, 1 << 20).unwrap();
    let mut txn = backend.write().unwrap();
    txn.delete(Table::Headers, &20u64.to_be_bytes()).unwrap();
    txn.commit().unwrap();
    let db = ChainDb::with_backend(backend, 1 << 20);
    let error = db.check().unwrap_err();
    assert!(
        matches!(
            error,
            StorageError::CheckpointAhead {
                stage: Stage::Execution,
                number: 20,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_row_that_does_not_decode_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    build(&path);
    let backend = RedbBackend::open(&path, 1 << 20).unwrap();
    let address = Address::left_padding_from(&7u64.to_be_bytes());
    let mut txn = backend.write().unwrap();
    txn.put(Table::Accounts, address.as_slice(), &[0xc5, 1])
        .unwrap();
    txn.commit().unwrap();
    let db = ChainDb::with_backend(backend, 1 << 20);
    let error = db.state().unwrap().basic_ref(address).unwrap_err();
    assert!(
        matches!(
            error,
            StorageError::Corrupt {
                table: Table::Accounts,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(matches!(db.check(), Err(StorageError::Corrupt { .. })));
}
