//! Work a node does not ask for stays undone: a chain started from a `genesis.json` builds its
//! genesis trie once, and a sealed block's hash is taken as given.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use alloy_primitives::B256;
use commitment::Config;
use executor::{
    block::ExecMode,
    chainstore::{BlockInput, ChainStore},
    submodule::Tier,
};
use harness::demo::{self, DemoChain, DemoOptions, Mix};
use tracing_subscriber::{Layer, layer::SubscriberExt};

fn demo_chain() -> DemoChain {
    demo::build(&DemoOptions {
        blocks: 2,
        txs_per_block: 5,
        accounts: 50,
        export: None,
        exec: ExecMode::Sequential,
        mix: Mix::Mixed,
        modes: vec![Config::default()],
        primary: Config::default(),
        tiers: vec![Tier::Interpret],
        db: None,
    })
    .expect("the demo chain builds")
}

/// Counts the whole-state trie builds the commitment crate logs.
struct TrieBuilds(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for TrieBuilds {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "commitment::trie" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn the_genesis_trie_is_built_once() {
    let demo = demo_chain();
    let builds = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(TrieBuilds(builds.clone()));
    let mut store =
        tracing::subscriber::with_default(subscriber, || ChainStore::from_genesis(&demo.spec));
    assert_eq!(
        builds.load(Ordering::Relaxed),
        1,
        "the genesis root and the calculator's trie come from one build"
    );
    assert_eq!(store.header(&store.head()), Some(&demo.genesis));
    for block in &demo.blocks {
        let imported = store.import(block).expect("imports on the genesis trie");
        assert_eq!(imported.state_root, block.header.state_root);
    }
}

/// Debug builds check a given hash against the header (a debug assertion), so this runs in
/// release, as CI's test command does.
#[cfg(not(debug_assertions))]
#[test]
fn a_sealed_block_is_filed_under_its_given_hash_without_rehashing() {
    let demo = demo_chain();
    let mut store = ChainStore::from_genesis(&demo.spec);
    // Not the header's hash: had the stage hashed the header again, it would file the block
    // under the real one.
    let sealed = B256::repeat_byte(0x5e);
    let input = BlockInput {
        block: &demo.blocks[0],
        access_list: None,
        hash: Some(sealed),
    };
    let imported = store
        .import_batch(&[input])
        .pop()
        .unwrap()
        .expect("imports");
    assert_eq!(imported.hash, sealed);
    assert_eq!(store.head(), sealed);
    assert_eq!(store.header(&sealed), Some(&demo.blocks[0].header));
}
