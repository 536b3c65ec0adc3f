//! A rejected block leaves the chain exactly as it was: same head, same state, and the honest
//! block still imports afterwards.

use alloy_primitives::B256;
use executor::{
    WorldState,
    block::{BlockError, OutcomeError, decode_block},
    chain::ChainSpec,
    chainstore::ChainStore,
};
use harness::fixtures::{self, blockchain_test::BlockchainTestFile};

fn example() -> (ChainStore, Vec<u8>) {
    let file = fixtures::fixtures_dir()
        .join("ethereum-tests/BlockchainTests/ValidBlocks/bcExample/shanghaiExample.json");
    assert!(
        file.is_file(),
        "fixtures missing: {} (set FIXTURES_DIR)",
        file.display()
    );
    let tests: BlockchainTestFile = fixtures::read_json(&file).unwrap();
    let test = tests.values().next().unwrap();
    let chain = ChainSpec::from_test_network(&test.network).unwrap();
    let genesis = decode_block(&test.genesis_rlp).unwrap();
    let store = ChainStore::new(chain, genesis.header, WorldState::from_alloc(&test.pre)).unwrap();
    (store, fixtures::decode_hex(&test.blocks[0].rlp).unwrap())
}

#[test]
fn wrong_state_root_is_rejected_without_side_effects() {
    let (mut store, rlp) = example();
    let head = store.head();
    let root_before = store.state_at(head).unwrap().state_root();

    let honest = decode_block(&rlp).unwrap();
    let mut forged = honest.clone();
    forged.header.state_root = B256::repeat_byte(0x11);
    match store.import(&forged) {
        Err(BlockError::Outcome(OutcomeError::StateRoot { .. })) => {}
        other => panic!("expected a state-root rejection, got {other:?}"),
    }
    assert_eq!(store.head(), head);
    assert_eq!(store.state_at(head).unwrap().state_root(), root_before);
    assert!(store.header(&forged.header.hash_slow()).is_none());
    assert!(matches!(
        store.state_at(forged.header.hash_slow()),
        Err(BlockError::ParentStatePruned(_))
    ));

    let imported = store
        .import(&honest)
        .expect("the honest block imports after the forged one");
    assert_eq!(imported.state_root, honest.header.state_root);
}

#[test]
fn garbled_rlp_is_a_decode_error() {
    let (_, rlp) = example();
    for cut in [0, 1, rlp.len() / 2, rlp.len() - 1] {
        assert!(
            matches!(decode_block(&rlp[..cut]), Err(BlockError::Decode(_))),
            "cut at {cut}"
        );
    }
    let mut trailing = rlp.clone();
    trailing.push(0);
    assert!(matches!(
        decode_block(&trailing),
        Err(BlockError::Decode(_))
    ));
}

#[test]
fn unknown_parent_is_rejected() {
    let (mut store, rlp) = example();
    let mut orphan = decode_block(&rlp).unwrap();
    orphan.header.parent_hash = B256::repeat_byte(0x22);
    assert!(matches!(
        store.import(&orphan),
        Err(BlockError::UnknownParent(_))
    ));
}
