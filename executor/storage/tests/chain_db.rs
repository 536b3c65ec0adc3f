//! The chain database on a real redb file: commits, reads, reopening, refusals.

mod model;

use alloy_primitives::{Address, B256, U256, keccak256};
use commitment::TrieAccount;
use model::{Chain, child, genesis_header, meta, stored};
use revm::{bytecode::Bytecode, database_interface::DatabaseRef};
use storage::{AccountWrite, BlockWrites, ChainDb, InfoChange, Stage, StorageError};

fn addr(n: u8) -> Address {
    Address::with_last_byte(n)
}

fn account(nonce: u64, balance: u64) -> TrieAccount {
    TrieAccount {
        nonce,
        balance: U256::from(balance),
        ..model::EMPTY
    }
}

fn write(n: u8, info: InfoChange, storage: &[(u64, u64)]) -> AccountWrite {
    AccountWrite {
        address: addr(n),
        info,
        wipe_storage: false,
        storage: storage
            .iter()
            .map(|&(k, v)| (U256::from(k), U256::from(v)))
            .collect(),
    }
}

fn contract() -> (B256, Bytecode) {
    let code = Bytecode::new_legacy(vec![0x60, 0x01, 0x60, 0x00, 0x55].into());
    (keccak256(code.original_byte_slice()), code)
}

fn alloc() -> BlockWrites {
    BlockWrites {
        accounts: vec![
            write(1, InfoChange::Set(account(0, 1_000)), &[]),
            write(2, InfoChange::Set(account(1, 5)), &[(1, 11), (2, 22)]),
        ],
        codes: vec![],
    }
}

/// Three blocks: a transfer with a new contract, a storage change, a removal.
fn blocks() -> Vec<BlockWrites> {
    let (hash, code) = contract();
    let deployed = TrieAccount {
        code_hash: hash,
        ..account(1, 0)
    };
    vec![
        BlockWrites {
            accounts: vec![
                write(1, InfoChange::Set(account(1, 900)), &[]),
                write(3, InfoChange::Set(deployed), &[(7, 70)]),
            ],
            codes: vec![(hash, code)],
        },
        BlockWrites {
            accounts: vec![write(2, InfoChange::Unchanged, &[(1, 0), (3, 33)])],
            codes: vec![],
        },
        BlockWrites {
            accounts: vec![write(3, InfoChange::Removed, &[])],
            codes: vec![],
        },
    ]
}

#[test]
fn commits_read_back_through_the_snapshot_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let mut chain = Chain::create(&path, 1 << 20, &alloc());
    let blocks = blocks();
    chain.commit(&blocks[0]);
    chain.commit(&blocks[1]);

    let state = chain.db.state().unwrap();
    let (hash, code) = contract();
    let info = state.basic_ref(addr(3)).unwrap().unwrap();
    assert_eq!((info.nonce, info.code_hash), (1, hash));
    assert_eq!(info.code.unwrap(), code);
    assert_eq!(state.basic_ref(addr(9)).unwrap(), None);
    assert_eq!(
        state.storage_ref(addr(2), U256::from(1)).unwrap(),
        U256::ZERO
    );
    assert_eq!(
        state.storage_ref(addr(2), U256::from(2)).unwrap(),
        U256::from(22)
    );
    assert_eq!(
        state.storage_ref(addr(2), U256::from(3)).unwrap(),
        U256::from(33)
    );
    assert_eq!(state.code_by_hash_ref(hash).unwrap(), code);
    assert_eq!(
        state.block_hash_ref(1).unwrap(),
        chain.headers[1].hash_slow()
    );
    assert_eq!(state.block_hash_ref(9).unwrap(), B256::ZERO);
    assert_eq!(stored(&chain.db), chain.model.plain());

    let expected = chain.model.clone();
    let headers = chain.headers.clone();
    drop(state);
    drop(chain);
    let db = ChainDb::open(&path, 1 << 20).unwrap();
    assert_eq!(stored(&db), expected.plain());
    for (number, header) in headers.iter().enumerate() {
        let number = number as u64;
        assert_eq!(db.header(number).unwrap().as_ref(), Some(header));
        assert_eq!(db.canonical_hash(number).unwrap(), Some(header.hash_slow()));
        assert_eq!(db.block_number(header.hash_slow()).unwrap(), Some(number));
    }
    assert_eq!(db.block_meta(2).unwrap(), Some(meta(&headers[2])));
    for stage in [Stage::Execution, Stage::Commitment] {
        let checkpoint = db.checkpoint(stage).unwrap().unwrap();
        assert_eq!(checkpoint.number, 2);
        assert_eq!(checkpoint.hash, headers[2].hash_slow());
        assert_eq!(checkpoint.state_root, expected.root());
    }
    assert_eq!(db.check().unwrap().accounts, 3);
}

#[test]
fn the_reverse_diff_rebases_a_trie_of_the_head_onto_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::create(&dir.path().join("chain.redb"), 1 << 20, &alloc());
    let at_genesis = chain.model.clone();
    for block in blocks() {
        chain.commit(&block);
    }
    let mut trie = chain.model.trie();
    let reverse = chain.db.unwind_to(0).unwrap();
    trie.apply(&reverse.updates_with(|a| trie.account(a)));
    assert_eq!(trie.root(), at_genesis.root());
    assert_eq!(stored(&chain.db), at_genesis.plain());
    assert_eq!(chain.db.header(1).unwrap(), None);
    assert_eq!(
        chain
            .db
            .checkpoint(Stage::Execution)
            .unwrap()
            .unwrap()
            .number,
        0
    );
    chain.db.check().unwrap();
}

#[test]
fn a_block_that_does_not_extend_the_head_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::create(&dir.path().join("chain.redb"), 1 << 20, &alloc());
    chain.commit(&blocks()[0]);
    let before = stored(&chain.db);
    let head = chain.db.checkpoint(Stage::Execution).unwrap();
    let writes = &blocks()[1];

    // A sibling of the head, a grandchild, and a child numbered wrong.
    let sibling = child(&chain.headers[0], B256::ZERO, 1);
    let grandchild = child(&child(chain.head(), B256::ZERO, 0), B256::ZERO, 0);
    let misnumbered = alloy_consensus::Header {
        number: 5,
        ..child(chain.head(), B256::ZERO, 0)
    };
    for header in [sibling, grandchild, misnumbered] {
        let result = chain.db.commit_block(
            &header,
            header.hash_slow(),
            &meta(&header),
            writes,
            header.state_root,
            None,
        );
        assert!(
            matches!(result, Err(StorageError::NotChild { .. })),
            "{result:?}"
        );
    }
    let header = child(chain.head(), B256::ZERO, 0);
    let wrong_hash = chain.db.commit_block(
        &header,
        B256::ZERO,
        &meta(&header),
        writes,
        B256::ZERO,
        None,
    );
    assert!(matches!(wrong_hash, Err(StorageError::HashMismatch { .. })));
    let wrong_root = chain.db.commit_block(
        &header,
        header.hash_slow(),
        &meta(&header),
        writes,
        B256::with_last_byte(1),
        None,
    );
    assert!(matches!(wrong_root, Err(StorageError::RootMismatch { .. })));

    assert_eq!(stored(&chain.db), before);
    assert_eq!(chain.db.checkpoint(Stage::Execution).unwrap(), head);
    assert_eq!(chain.db.header(2).unwrap(), None);
    chain.db.check().unwrap();
}

#[test]
fn another_chains_genesis_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let mut chain = Chain::create(&path, 1 << 20, &alloc());
    chain.commit(&blocks()[0]);
    let before = stored(&chain.db);
    let genesis = chain.headers[0].clone();
    drop(chain);

    let mut db = ChainDb::open(&path, 1 << 20).unwrap();
    let other = genesis_header(B256::repeat_byte(7));
    let result = db.init_genesis(&other, &BlockWrites::default(), None);
    assert!(
        matches!(result, Err(StorageError::GenesisMismatch { stored, given })
            if stored == genesis.hash_slow() && given == other.hash_slow()),
        "{result:?}"
    );
    assert_eq!(stored(&db), before);
    // The same genesis again resumes at the head.
    let head = db.init_genesis(&genesis, &alloc(), None).unwrap();
    assert_eq!(head.number, 1);
    assert_eq!(stored(&db), before);
}

#[test]
fn an_empty_database_refuses_blocks_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ChainDb::open(dir.path().join("chain.redb"), 0).unwrap();
    assert!(matches!(db.state(), Err(StorageError::NoGenesis)));
    let header = child(&genesis_header(B256::ZERO), B256::ZERO, 0);
    let result = db.commit_block(
        &header,
        header.hash_slow(),
        &meta(&header),
        &blocks()[0],
        B256::ZERO,
        None,
    );
    assert!(matches!(result, Err(StorageError::NoGenesis)));
    assert!(matches!(db.unwind_to(0), Err(StorageError::NoGenesis)));
    let result = db.init_genesis(&header, &alloc(), None);
    assert!(
        matches!(result, Err(StorageError::NotGenesis(1))),
        "{result:?}"
    );
    assert!(matches!(db.state(), Err(StorageError::NoGenesis)));
}

#[test]
fn unwinding_above_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::create(&dir.path().join("chain.redb"), 1 << 20, &alloc());
    chain.commit(&blocks()[0]);
    let result = chain.db.unwind_to(2);
    assert!(matches!(
        result,
        Err(StorageError::UnwindAhead { target: 2, head: 1 })
    ));
    assert_eq!(chain.db.unwind_to(1).unwrap(), BlockWrites::default());
    assert_eq!(stored(&chain.db), chain.model.plain());
}

#[test]
fn snapshots_are_send_and_sync() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<storage::StateSnapshot<storage::RedbBackend>>();
    shared::<ChainDb>();
}

#[test]
fn stored_trie_nodes_follow_commits_go_stale_on_unwind_and_are_rebuilt() {
    use commitment::StateTrie;
    let dir = tempfile::tempdir().unwrap();
    let mut db = ChainDb::open(dir.path().join("chain.redb"), 1 << 20).unwrap();
    let mut model = model::Model::default();
    model.apply(&alloc());
    let mut whole = model.trie();
    whole.track_changes();
    let genesis = genesis_header(model.root());
    db.init_genesis(&genesis, &alloc(), Some(&whole.take_changes()))
        .unwrap();
    // The trie a node resumes with: opened at the stored root, read as blocks reach it.
    let mut opened = StateTrie::open(genesis.state_root, db.trie_source());
    let mut head = genesis;
    for writes in blocks() {
        let current: Vec<_> = writes
            .accounts
            .iter()
            .map(|w| (w.address, opened.read_account(&w.address).unwrap()))
            .collect();
        let lookup = |a: &Address| current.iter().find(|(b, _)| b == a).and_then(|(_, i)| *i);
        opened.apply(&writes.updates_with(lookup));
        model.apply(&writes);
        let root = opened.try_root().unwrap();
        assert_eq!(root, model.root());
        let header = child(&head, root, 0);
        let changes = opened.take_changes();
        db.commit_block(
            &header,
            header.hash_slow(),
            &meta(&header),
            &writes,
            root,
            Some(&changes),
        )
        .unwrap();
        // Everything it may give back goes: the next block reads the committed nodes.
        opened.retain(0);
        let check = db.check().unwrap();
        assert_eq!(check.trie_nodes.map(|c| c.number), Some(header.number));
        head = header;
    }
    db.unwind_to(1).unwrap();
    assert_eq!(
        db.check().unwrap().trie_nodes,
        None,
        "stale after an unwind"
    );
    let rebuilt = db.rebuild_trie().unwrap();
    assert_eq!(rebuilt.number, 1);
    assert_eq!(db.check().unwrap().trie_nodes, Some(rebuilt));
    let reopened = StateTrie::open(rebuilt.state_root, db.trie_source()).try_root();
    assert_eq!(reopened.unwrap(), rebuilt.state_root);
}
