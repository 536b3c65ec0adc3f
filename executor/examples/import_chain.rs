//! A node's first program: import a geth chain export (`genesis.json` + `chain.rlp`) through the
//! execution stage, with the BAL-driven fold and its shadow check on, and print each block's
//! state root and the calculator's counters.
//!
//! `cargo run --release --example import_chain -p executor -- genesis.json chain.rlp`

use executor::{
    chainfile::{ChainFile, read_genesis},
    chainstore::ChainStore,
    commitment::Config,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [genesis, chain] = args.as_slice() else {
        return Err("usage: import_chain GENESIS.json CHAIN.rlp".into());
    };
    let genesis = read_genesis(genesis.as_ref())?;
    let config = Config::default().with_bal_driven(true).with_shadow(true);
    let mut store = ChainStore::from_genesis(&genesis).with_commitment(config);
    for block in ChainFile::open(chain.as_ref())? {
        let imported = store.import(&block?)?;
        let mode = imported.verdict.mode;
        println!(
            "block {} root {} ({mode:?})",
            imported.number, imported.state_root
        );
    }
    println!("{:?}", store.metrics());
    Ok(())
}
