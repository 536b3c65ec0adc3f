//! A proof-of-work chain built here (Frontier, Homestead from block 2, Byzantium from 4,
//! London from 12), imported through the chain store: the valid chain with one and two
//! ommers is accepted, and for each rule a PoW header must satisfy without its seal
//! (difficulty per fork, gas-limit bounds, the ommer rules) a block breaking only that rule
//! is rejected with the rule's error, leaving the head where it was. Two chains of their own
//! cover the DAO fork's extra data (EIP-779) and a merge found by terminal total difficulty.

use std::collections::HashMap;

use alloy_consensus::{
    BlockBody, EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, proofs::calculate_ommers_root,
};
use alloy_eips::eip1559::{BaseFeeParams, INITIAL_BASE_FEE};
use alloy_genesis::{ChainConfig, Genesis};
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256, Bytes, U256};
use executor::{
    StateView,
    block::{self, Block, BlockError, BodyError, HeaderError, difficulty::expected_difficulty},
    chain::ChainSpec,
    chainstore::ChainStore,
    genesis::from_genesis,
};

/// The genesis difficulty, 2^20: one adjustment step is 512.
const GENESIS_DIFFICULTY: u64 = 1 << 20;
/// The smallest limit any block may have, so that a child one below it is within the
/// 1/1024 bound and breaks only the minimum.
const GAS_LIMIT: u64 = 5000;
const MINER: Address = Address::repeat_byte(0xcb);

/// Frontier from genesis, Homestead at 2, Byzantium (with the forks before it) at 4, London
/// (with Constantinople to Berlin) at 12; never merged.
fn pow_chain() -> ChainStore {
    store_of(ChainConfig {
        chain_id: 1,
        homestead_block: Some(2),
        eip150_block: Some(4),
        eip155_block: Some(4),
        eip158_block: Some(4),
        byzantium_block: Some(4),
        constantinople_block: Some(12),
        petersburg_block: Some(12),
        istanbul_block: Some(12),
        muir_glacier_block: Some(12),
        berlin_block: Some(12),
        london_block: Some(12),
        ..Default::default()
    })
}

/// A chain store from genesis under `config`.
fn store_of(config: ChainConfig) -> ChainStore {
    let genesis = Genesis {
        config,
        difficulty: U256::from(GENESIS_DIFFICULTY),
        gas_limit: GAS_LIMIT,
        ..Default::default()
    };
    let (chain, world, header) = from_genesis(&genesis);
    ChainStore::new(chain, header, world).expect("genesis root")
}

/// A child header of `parent`, `elapsed` seconds later, with the difficulty, gas limit and
/// base fee the rules require; `tag` (extra data) tells siblings apart.
fn child(chain: &ChainSpec, parent: &Header, elapsed: u64, tag: u8) -> Header {
    let number = parent.number + 1;
    let timestamp = parent.timestamp + elapsed;
    let london_starts =
        chain.is_london_active_at_block(number) && !chain.is_london_active_at_block(parent.number);
    let base_fee = if london_starts {
        Some(INITIAL_BASE_FEE)
    } else {
        parent.next_block_base_fee(BaseFeeParams::ethereum())
    };
    Header {
        parent_hash: parent.hash_slow(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: MINER,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        difficulty: expected_difficulty(chain, parent, timestamp),
        number,
        gas_limit: if london_starts {
            parent.gas_limit * 2
        } else {
            parent.gas_limit
        },
        timestamp,
        extra_data: Bytes::from(vec![tag]),
        base_fee_per_gas: base_fee,
        ..Default::default()
    }
}

/// `header` as an empty block with `ommers`, its state root that of executing it (the block
/// and ommer rewards) on its parent's state, so that only what a test breaks is wrong.
fn seal(store: &mut ChainStore, header: Header, ommers: Vec<Header>) -> Block {
    let chain = store.chain().clone();
    seal_on(&chain, store, header, ommers)
}

/// [`seal`], executing under `chain` (which may know more of the chain than `store` yet).
fn seal_on(
    chain: &ChainSpec,
    store: &mut ChainStore,
    mut header: Header,
    ommers: Vec<Header>,
) -> Block {
    header.ommers_hash = calculate_ommers_root(&ommers);
    let mut block = Block {
        header,
        body: BlockBody {
            transactions: Vec::new(),
            ommers,
            withdrawals: None,
        },
    };
    let parent = &store
        .state_at(block.header.parent_hash)
        .expect("parent state");
    let hashes: HashMap<u64, B256> = HashMap::new();
    let view = StateView {
        world: parent,
        hashes: &hashes,
    };
    let outcome =
        block::execute(chain, &block, &view, Default::default()).expect("an empty block executes");
    let mut world = parent.clone();
    world.apply(&outcome.writes);
    block.header.state_root = world.state_root();
    block
}

/// The head's header.
fn head(store: &ChainStore) -> Header {
    store.header(&store.head()).expect("head").clone()
}

/// Imports a child of the head, `elapsed` seconds later, with `ommers`.
fn extend(store: &mut ChainStore, elapsed: u64, ommers: Vec<Header>) -> Header {
    let header = child(store.chain(), &head(store), elapsed, 0);
    let block = seal(store, header, ommers);
    store.import(&block).expect("valid block");
    block.header
}

/// Imports `block`, which must fail with `expected`, and leaves the head where it was.
fn rejects(store: &mut ChainStore, block: Block, expected: BlockError) {
    let before = store.head();
    let error = store.import(&block).expect_err("a block breaking a rule");
    match (&error, &expected) {
        (BlockError::Header(got), BlockError::Header(want)) => assert_eq!(got, want),
        (BlockError::Body(got), BlockError::Body(want)) => assert_eq!(got, want),
        _ => panic!("rejected with `{error}`, expected `{expected}`"),
    }
    assert_eq!(store.head(), before);
}

/// A child of the head `elapsed` seconds later, changed by `edit`, with `ommers`, sealed.
fn child_of_head(
    store: &mut ChainStore,
    elapsed: u64,
    ommers: Vec<Header>,
    edit: impl FnOnce(&mut Header),
) -> Block {
    let mut header = child(store.chain(), &head(store), elapsed, 0);
    edit(&mut header);
    seal(store, header, ommers)
}

/// Blocks 1 to 8 of the chain: across Frontier, Homestead and Byzantium, a block with one
/// ommer (6) and one with two (8), and each fork's formula checked where it starts.
/// Returns every header by number and the side headers the later tests use as ommers.
fn build(store: &mut ChainStore) -> (Vec<Header>, HashMap<&'static str, Header>) {
    let chain = store.chain().clone();
    let mut line = vec![head(store)];
    let mut side = HashMap::new();
    // Frontier, 12 s: within 13 s, one step (512) up.
    line.push(extend(store, 12, vec![]));
    // Homestead's first block, 12 s: 12 // 10 = 1, no change; Frontier's rule would add
    // a step.
    let frontier_rule = child_of_head(store, 12, vec![], |h| h.difficulty += U256::from(512));
    rejects(
        store,
        frontier_rule,
        HeaderError::Difficulty {
            expected: U256::from(1_049_088),
            got: U256::from(1_049_600),
        }
        .into(),
    );
    line.push(extend(store, 12, vec![]));
    line.push(extend(store, 9, vec![]));
    // Byzantium's first block, 9 s: 1 - 9 // 9 = 0, no change; Homestead's rule would add a
    // step.
    let homestead_rule = child_of_head(store, 9, vec![], |h| h.difficulty += U256::from(512));
    rejects(
        store,
        homestead_rule,
        HeaderError::Difficulty {
            expected: U256::from(1_049_600),
            got: U256::from(1_050_112),
        }
        .into(),
    );
    line.push(extend(store, 9, vec![]));
    line.push(extend(store, 15, vec![]));
    // Block 6 includes a sibling of its parent.
    side.insert("5a", child(&chain, &line[4], 14, 0x5a));
    line.push(extend(store, 9, vec![side["5a"].clone()]));
    // Block 7, 9 s after a parent with ommers: 2 - 1 = one step up (EIP-100).
    let ommers_ignored = child_of_head(store, 9, vec![], |h| h.difficulty -= U256::from(512));
    rejects(
        store,
        ommers_ignored,
        HeaderError::Difficulty {
            expected: U256::from(1_050_112),
            got: U256::from(1_049_600),
        }
        .into(),
    );
    line.push(extend(store, 9, vec![]));
    // Block 8 includes two: the oldest allowed (number 2 = 8 - 6) and its parent's sibling.
    side.insert("2a", child(&chain, &line[1], 20, 0x2a));
    side.insert("7a", child(&chain, &line[6], 11, 0x7a));
    line.push(extend(
        store,
        9,
        vec![side["2a"].clone(), side["7a"].clone()],
    ));
    let difficulties: Vec<u64> = line.iter().map(|h| h.difficulty.to::<u64>()).collect();
    assert_eq!(
        difficulties,
        [
            1_048_576, 1_049_088, 1_049_088, 1_049_600, 1_049_600, 1_049_600, 1_049_600, 1_050_112,
            1_050_112
        ]
    );
    side.insert("2b", child(&chain, &line[1], 30, 0x2b));
    side.insert("8a", child(&chain, &line[7], 10, 0x8a));
    side.insert("8b", child(&chain, &line[7], 12, 0x8b));
    side.insert("6a", child(&chain, &side["5a"], 10, 0x6a));
    (line, side)
}

#[test]
fn a_pow_chain_with_ommers_across_forks_is_accepted() {
    let mut store = pow_chain();
    let (line, _) = build(&mut store);
    assert_eq!(store.head(), line[8].hash_slow());
    // Through London's first block (12), whose limit doubles.
    for _ in 9..=12 {
        extend(&mut store, 13, vec![]);
    }
    assert_eq!(head(&store).gas_limit, 2 * GAS_LIMIT);
}

#[test]
fn each_header_rule_rejects_a_block_breaking_it() {
    let mut store = pow_chain();
    build(&mut store);
    let expected = child(store.chain(), &head(&store), 9, 0).difficulty;
    for wrong in [expected + U256::from(1), expected - U256::from(1)] {
        let block = child_of_head(&mut store, 9, vec![], |h| h.difficulty = wrong);
        let error = HeaderError::Difficulty {
            expected,
            got: wrong,
        };
        rejects(&mut store, block, error.into());
    }
    // 5000 / 1024 = 4: the limit may move by 3 at most.
    let too_far = child_of_head(&mut store, 9, vec![], |h| h.gas_limit = GAS_LIMIT + 4);
    let error = HeaderError::GasLimit {
        parent: GAS_LIMIT,
        got: GAS_LIMIT + 4,
    };
    rejects(&mut store, too_far, error.into());
    let too_small = child_of_head(&mut store, 9, vec![], |h| h.gas_limit = GAS_LIMIT - 1);
    rejects(
        &mut store,
        too_small,
        HeaderError::GasLimitBelowMinimum(GAS_LIMIT - 1).into(),
    );
    let within = child_of_head(&mut store, 9, vec![], |h| h.gas_limit = GAS_LIMIT + 3);
    store.import(&within).expect("within the bound");
    // London's first block: the parent's limit counts double.
    for _ in 10..12 {
        extend(&mut store, 13, vec![]);
    }
    let parent_limit = head(&store).gas_limit;
    let undoubled = child_of_head(&mut store, 9, vec![], |h| h.gas_limit = parent_limit);
    let error = HeaderError::GasLimit {
        parent: 2 * parent_limit,
        got: parent_limit,
    };
    rejects(&mut store, undoubled, error.into());
}

#[test]
fn each_ommer_rule_rejects_a_block_breaking_it() {
    let mut store = pow_chain();
    let (line, side) = build(&mut store);
    let chain = store.chain().clone();
    // The block under test is number 9: ommers may be numbered 3 to 8.
    let cases: Vec<(Vec<Header>, BodyError)> = vec![
        (
            vec![side["8a"].clone(), side["8b"].clone(), side["6a"].clone()],
            BodyError::TooManyOmmers(3),
        ),
        (
            vec![side["8a"].clone(), side["8a"].clone()],
            BodyError::DuplicateOmmer(side["8a"].hash_slow()),
        ),
        (
            vec![line[7].clone()],
            BodyError::OmmerIsAncestor(line[7].hash_slow()),
        ),
        (
            vec![side["5a"].clone()],
            BodyError::OmmerAlreadyIncluded(side["5a"].hash_slow()),
        ),
        (
            vec![side["2b"].clone()],
            BodyError::OmmerNumber {
                hash: side["2b"].hash_slow(),
                number: 2,
                block: 9,
            },
        ),
        (
            vec![child(&chain, &line[8], 10, 0x9a)],
            BodyError::OmmerNumber {
                hash: child(&chain, &line[8], 10, 0x9a).hash_slow(),
                number: 9,
                block: 9,
            },
        ),
        (
            vec![side["6a"].clone()],
            BodyError::OmmerParentNotAncestor {
                hash: side["6a"].hash_slow(),
                parent: side["5a"].hash_slow(),
            },
        ),
    ];
    for (ommers, error) in cases {
        let block = child_of_head(&mut store, 9, ommers, |_| {});
        rejects(&mut store, block, error.into());
    }

    // An ommer held to the header rules against its own parent (block 7).
    let mut wrong_difficulty = side["8a"].clone();
    wrong_difficulty.difficulty += U256::from(1);
    let mut gas_too_far = side["8a"].clone();
    gas_too_far.gas_limit = GAS_LIMIT + 4;
    let cases = [
        (
            wrong_difficulty.clone(),
            HeaderError::Difficulty {
                expected: side["8a"].difficulty,
                got: wrong_difficulty.difficulty,
            },
        ),
        (
            gas_too_far.clone(),
            HeaderError::GasLimit {
                parent: GAS_LIMIT,
                got: GAS_LIMIT + 4,
            },
        ),
    ];
    for (ommer, error) in cases {
        let hash = ommer.hash_slow();
        let block = child_of_head(&mut store, 9, vec![ommer], |_| {});
        rejects(
            &mut store,
            block,
            BodyError::OmmerHeader { hash, error }.into(),
        );
    }
    // The same block with valid ommers is accepted.
    let block = child_of_head(
        &mut store,
        9,
        vec![side["8a"].clone(), side["8b"].clone()],
        |_| {},
    );
    store.import(&block).expect("two valid ommers");
}

/// A chain configured by its terminal total difficulty alone (as mainnet's `genesis.json`):
/// proof-of-work until a parent's total difficulty reaches it, proof-of-stake from the next
/// block on (EIP-3675). Before that block a header without difficulty is rejected, from it on
/// a header with one is.
#[test]
fn the_merge_comes_where_the_total_difficulty_reaches_the_terminal() {
    // Genesis and two blocks of about GENESIS_DIFFICULTY each: block 3 is the first whose
    // parent reaches three times it.
    let terminal = U256::from(3 * GENESIS_DIFFICULTY);
    let mut store = store_of(ChainConfig {
        chain_id: 1,
        homestead_block: Some(0),
        eip150_block: Some(0),
        eip155_block: Some(0),
        eip158_block: Some(0),
        byzantium_block: Some(0),
        constantinople_block: Some(0),
        petersburg_block: Some(0),
        istanbul_block: Some(0),
        berlin_block: Some(0),
        london_block: Some(0),
        terminal_total_difficulty: Some(terminal),
        terminal_total_difficulty_passed: true,
        ..Default::default()
    });
    assert_eq!(store.chain().pending_merge(), Some(terminal));
    extend(&mut store, 1, vec![]);
    let stake = |h: &mut Header| {
        h.difficulty = U256::ZERO;
        h.mix_hash = B256::repeat_byte(7);
    };
    let early = child_of_head(&mut store, 1, vec![], stake);
    let expected = child(store.chain(), &head(&store), 1, 0).difficulty;
    rejects(
        &mut store,
        early,
        BlockError::Header(HeaderError::Difficulty {
            expected,
            got: U256::ZERO,
        }),
    );
    extend(&mut store, 1, vec![]);
    assert!(!store.chain().is_paris_active_at_block(2));

    let work = child_of_head(&mut store, 1, vec![], |_| {});
    let difficulty = work.header.difficulty;
    rejects(
        &mut store,
        work,
        BlockError::Header(HeaderError::DifficultyAfterMerge(difficulty)),
    );
    let mut merged = store.chain().clone();
    merged.merge_at(3);
    let mut header = child(&merged, &head(&store), 1, 0);
    stake(&mut header);
    let first_pos = seal_on(&merged, &mut store, header, vec![]);
    store
        .import(&first_pos)
        .expect("the first proof-of-stake block");
    assert!(store.chain().is_paris_active_at_block(3));
    assert_eq!(store.chain().pending_merge(), None);
}

/// EIP-779: the DAO fork block and the nine after it carry `dao-hard-fork` as extra data, on
/// a chain that supports the fork; the blocks before and after them are free.
#[test]
fn dao_fork_blocks_must_say_so() {
    const DAO: u64 = 2;
    let mut store = store_of(ChainConfig {
        chain_id: 1,
        homestead_block: Some(0),
        dao_fork_block: Some(DAO),
        dao_fork_support: true,
        ..Default::default()
    });
    let say = |h: &mut Header| h.extra_data = Bytes::from_static(b"dao-hard-fork");
    let first = child_of_head(&mut store, 10, vec![], |_| {});
    store.import(&first).expect("block 1 is before the fork");
    for number in DAO..DAO + 10 {
        let silent = child_of_head(&mut store, 10, vec![], |_| {});
        rejects(
            &mut store,
            silent,
            BlockError::Header(HeaderError::DaoForkExtraData),
        );
        let block = child_of_head(&mut store, 10, vec![], say);
        assert_eq!(block.header.number, number);
        store.import(&block).expect("a DAO fork block saying so");
    }
    let eleventh = child_of_head(&mut store, 10, vec![], |_| {});
    store.import(&eleventh).expect("the eleventh block is free");
}
