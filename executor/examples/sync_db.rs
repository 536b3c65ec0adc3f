//! A node driving the stage over its database: open (or create) the chain database of a geth
//! `genesis.json`, import `chain.rlp` past its checkpoint (run it again after a kill and it
//! resumes there), optionally unwind the last UNWIND blocks and execute them again, and print
//! the checkpoints.
//!
//! `cargo run --release --example sync_db -p executor -- genesis.json chain.rlp DIR [UNWIND]`

use std::path::Path;

use executor::{
    block::Block,
    chainfile::{ChainFile, read_genesis},
    chainstore::{ChainStore, DbStore},
};

/// Imports the blocks of `chain` above the store's checkpoint.
fn sync(store: &mut ChainStore<DbStore>, chain: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for block in ChainFile::open(chain)? {
        let block: Block = block?;
        if block.header.number > store.checkpoint().number {
            store.import(&block)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (genesis, chain, dir, unwind) = match args.as_slice() {
        [g, c, d] => (g, Path::new(c), Path::new(d), 0),
        [g, c, d, n] => (g, Path::new(c), Path::new(d), n.parse()?),
        _ => return Err("usage: sync_db GENESIS.json CHAIN.rlp DIR [UNWIND]".into()),
    };
    std::fs::create_dir_all(dir)?;
    let genesis = read_genesis(genesis.as_ref())?;
    let mut store = ChainStore::open(&genesis, &dir.join("chain.redb"), 64 << 20)?;
    println!("opened at block {}", store.checkpoint().number);
    sync(&mut store, chain)?;
    if unwind > 0 {
        let target = store.checkpoint().number.saturating_sub(unwind);
        let hash = store
            .store()
            .db()
            .canonical_hash(target)?
            .ok_or("no such block")?;
        store.unwind_to(hash)?;
        println!("unwound to block {target}");
        sync(&mut store, chain)?;
    }
    let head = store.checkpoint();
    println!("head: block {} root {}", head.number, head.state_root);
    Ok(())
}
