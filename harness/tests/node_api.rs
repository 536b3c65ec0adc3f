//! Work a node does not ask for stays undone: a chain started from a `genesis.json` builds its
//! genesis trie once, a sealed block's hash is taken as given, and a chain resumed from its
//! database opens the stored trie instead of rebuilding it, keeping only its budget resident.

use std::collections::BTreeMap;
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use alloy_primitives::B256;
use commitment::Config;
use executor::chainstore::{BlockInput, ChainStore};
use harness::demo::{self, DemoChain, DemoOptions};
use tracing_subscriber::{Layer, layer::SubscriberExt};

fn demo_chain() -> DemoChain {
    demo_of(2, 50)
}

fn demo_of(blocks: u64, accounts: usize) -> DemoChain {
    demo::build(&DemoOptions {
        accounts,
        ..DemoOptions::new(blocks, 10)
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

/// Runs `f` and counts the whole-state trie builds it made on this thread.
fn counting_trie_builds<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let builds = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(TrieBuilds(builds.clone()));
    let value = tracing::subscriber::with_default(subscriber, f);
    (value, builds.load(Ordering::Relaxed))
}

#[test]
fn the_genesis_trie_is_built_once() {
    let demo = demo_chain();
    let (mut store, builds) = counting_trie_builds(|| ChainStore::from_genesis(&demo.spec));
    assert_eq!(
        builds, 1,
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

fn db_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("node-api-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("chain.redb")
}

#[test]
fn a_resumed_database_opens_its_stored_trie_without_a_rebuild() {
    let demo = demo_of(6, 50);
    let path = db_path("resume");
    let mut store = ChainStore::open(&demo.spec, &path, 1 << 20).expect("creates");
    for block in &demo.blocks[..3] {
        store.import(block).expect("imports");
    }
    drop(store);
    let (store, builds) = counting_trie_builds(|| ChainStore::open(&demo.spec, &path, 1 << 20));
    let mut store = store.expect("resumes");
    // The genesis header's root is computed from the alloc; the head's trie is not rebuilt.
    assert_eq!(builds, 1, "only the genesis alloc is hashed on resume");
    for block in &demo.blocks[3..] {
        let imported = store.import(block).expect("imports on the stored trie");
        assert_eq!(imported.state_root, block.header.state_root);
    }
    let check = store.store().db().check().expect("the database checks");
    assert_eq!(
        check.trie_nodes.map(|c| c.number),
        Some(6),
        "trie nodes current"
    );
}

#[test]
fn a_database_resumes_from_what_it_stores_without_its_genesis() {
    let demo = demo_of(6, 50);
    let path = db_path("resume-alone");
    assert!(
        ChainStore::resume(&path, 1 << 20).is_err(),
        "no database there"
    );
    let mut store = ChainStore::open(&demo.spec, &path, 1 << 20).expect("creates");
    for block in &demo.blocks[..2] {
        store.import(block).expect("imports");
    }
    drop(store);
    let (store, builds) = counting_trie_builds(|| ChainStore::resume(&path, 1 << 20));
    let mut store = store.expect("resumes from the stored fork rules and head");
    assert_eq!(builds, 0, "nothing of the genesis is hashed again");
    for block in &demo.blocks[2..] {
        let imported = store.import(block).expect("imports");
        assert_eq!(imported.state_root, block.header.state_root);
    }
    // A fixture's database records no fork rules: it reopens with its genesis only.
    let fixture = db_path("resume-fixture");
    let store = ChainStore::open_with(
        demo.chain.clone(),
        demo.genesis.clone(),
        demo.world.clone(),
        &fixture,
        1 << 20,
    )
    .expect("creates");
    drop(store);
    let refused = ChainStore::resume(&fixture, 1 << 20)
        .err()
        .expect("refused");
    assert!(
        matches!(refused, executor::chainstore::OpenError::NoChainConfig),
        "{refused}"
    );
}

#[test]
fn the_resident_trie_stays_within_its_budget_and_commits_the_header_roots() {
    // 3,000 extra accounts with four slots each: a trie of megabytes against a budget of
    // 32 KiB (a quarter of the store's 128 KiB).
    let demo = demo_of(8, 3_000);
    const CACHE: u64 = 128 << 10;
    for config in [Config::default(), Config::new(true, true)] {
        let path = db_path(&format!("budget-{config}").replace([' ', ','], "-"));
        let mut store = ChainStore::open(&demo.spec, &path, CACHE)
            .expect("creates")
            .with_commitment(config);
        for block in &demo.blocks {
            let imported = store.import(block).expect("imports");
            assert_eq!(imported.state_root, block.header.state_root, "{config}");
        }
        let resident = store.metrics().trie_resident_bytes;
        assert!(
            resident > 0 && resident <= CACHE / 4,
            "{config}: {resident} bytes resident"
        );
    }
    let whole = demo.world.state_trie().memory();
    assert!(
        whole.bytes as u64 >= 16 * (CACHE / 4),
        "the state is far larger than the budget: {whole:?}"
    );
}

#[test]
fn unwinding_the_stage_and_executing_again_gives_the_same_roots_and_state() {
    let demo = demo_of(6, 50);
    let path = db_path("unwind");
    let on_disk = ChainStore::open(&demo.spec, &path, 1 << 20).expect("creates");
    let in_memory = ChainStore::from_genesis(&demo.spec);
    fn run<S: executor::chainstore::StateStore>(
        mut store: ChainStore<S>,
        demo: &DemoChain,
    ) -> ChainStore<S> {
        for block in &demo.blocks {
            store.import(block).expect("imports");
        }
        let target = demo.blocks[2].header.hash_slow();
        store.unwind_to(target).expect("unwinds");
        let at = store.checkpoint();
        assert_eq!((at.number, at.hash), (3, target));
        assert_eq!(at.state_root, demo.blocks[2].header.state_root);
        for block in &demo.blocks[3..] {
            let imported = store.import(block).expect("executes again");
            assert_eq!(imported.state_root, block.header.state_root);
        }
        assert_eq!(store.checkpoint().number, 6);
        store
    }
    let on_disk = run(on_disk, &demo);
    let check = on_disk.store().db().check().expect("the database checks");
    assert_eq!(check.head.number, 6);
    assert_eq!(check.trie_nodes.map(|c| c.number), Some(6));
    let mut in_memory = run(in_memory, &demo);
    let head = in_memory.head();
    let world = in_memory.state_at(head).expect("the head's state");
    let mut whole = ChainStore::from_genesis(&demo.spec);
    for block in &demo.blocks {
        whole.import(block).expect("imports");
    }
    let canonical = |world: executor::WorldState| {
        world
            .trie_updates()
            .into_iter()
            .map(|u| {
                (
                    u.address,
                    (u.info, u.storage.into_iter().collect::<BTreeMap<_, _>>()),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        canonical(whole.state_at(head).expect("the head's state")),
        canonical(world),
        "the state unwound and executed again is the uninterrupted one"
    );
}
