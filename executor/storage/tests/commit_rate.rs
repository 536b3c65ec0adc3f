//! A quick number, not a benchmark in CI: commits per second of 200-write blocks on a real file
//! (`cargo test --release -p storage --test commit_rate -- --ignored --nocapture`).

mod model;

use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use commitment::TrieAccount;
use model::{child, genesis_header, meta};
use storage::{AccountWrite, BlockWrites, ChainDb, InfoChange};

const ACCOUNTS: u64 = 20_000;
const BLOCKS: u64 = 200;
const WRITES: u64 = 200;

fn write(n: u64, block: u64) -> AccountWrite {
    AccountWrite {
        address: Address::left_padding_from(&n.to_be_bytes()),
        info: InfoChange::Set(TrieAccount {
            nonce: block,
            balance: U256::from(n * 1_000 + block),
            ..model::EMPTY
        }),
        wipe_storage: false,
        storage: vec![(U256::from(block % 8), U256::from(block + 1))],
    }
}

#[test]
#[ignore = "timing; run by hand"]
fn commits_per_second_of_200_write_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let mut db = ChainDb::open(&path, 64 << 20).unwrap();
    let alloc = BlockWrites {
        accounts: (0..ACCOUNTS).map(|n| write(n, 0)).collect(),
        codes: vec![],
    };
    let mut header = genesis_header(B256::ZERO);
    db.init_genesis(&header, &alloc, None).unwrap();
    let blocks: Vec<BlockWrites> = (1..=BLOCKS)
        .map(|block| {
            // 200 accounts spread over the state, each with a balance change and one slot.
            let mut accounts: Vec<_> = (0..WRITES)
                .map(|i| write((block * 7919 + i * 97) % ACCOUNTS, block))
                .collect();
            accounts.sort_by_key(|a| a.address);
            accounts.dedup_by_key(|a| a.address);
            BlockWrites {
                accounts,
                codes: vec![],
            }
        })
        .collect();
    let start = Instant::now();
    for (block, writes) in blocks.iter().enumerate() {
        header = child(&header, B256::with_last_byte(block as u8), 0);
        db.commit_block(
            &header,
            header.hash_slow(),
            &meta(&header),
            writes,
            header.state_root,
            None,
        )
        .unwrap();
    }
    let commit = start.elapsed();
    // The floor: a block with no state writes is the header rows, checkpoints and the fsync.
    let start = Instant::now();
    for block in 0..20 {
        header = child(&header, B256::with_last_byte(block), 1);
        let empty = BlockWrites::default();
        db.commit_block(
            &header,
            header.hash_slow(),
            &meta(&header),
            &empty,
            header.state_root,
            None,
        )
        .unwrap();
    }
    let floor = start.elapsed() / 20;
    let start = Instant::now();
    db.unwind_to(BLOCKS / 2).unwrap();

    let unwind = start.elapsed();
    // Opening checks every page's checksum: its cost grows with the file.
    drop(db);
    let start = Instant::now();
    ChainDb::open(&path, 64 << 20).unwrap();
    let open = start.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "{BLOCKS} blocks of {WRITES} account writes (+1 slot each) over {ACCOUNTS} accounts: \
         {:.0} commits/s ({:.2} ms/block; an empty block {:.2} ms); unwinding {} blocks: \
         {:.2} ms/block; reopening the {:.1} MB file: {:.0} ms",
        BLOCKS as f64 / commit.as_secs_f64(),
        commit.as_secs_f64() * 1e3 / BLOCKS as f64,
        floor.as_secs_f64() * 1e3,
        BLOCKS / 2,
        unwind.as_secs_f64() * 1e3 / (BLOCKS / 2) as f64,
        size as f64 / 1e6,
        open.as_secs_f64() * 1e3,
    );
}
