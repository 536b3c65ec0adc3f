//! What compiled code asks the host for, and what it answers itself: KECCAK256, storage reads
//! through the frame's cache, CREATE refused without a frame, calls without calldata.

use alloy_primitives::U256;
use submodule::{abi, runtime::frame_counts, testing::*};

use crate::{push32, word};

#[test]
fn keccak_checks_length_before_offset_and_hashes_alike() {
    let values = [
        U256::ZERO,
        U256::from(1),
        U256::from(31),
        U256::from(33),
        U256::from(10 << 20),
        U256::from(1u64 << 32),
        U256::from(u64::MAX),
        U256::from(1) << 64,
        U256::MAX,
    ];
    let mut outcomes = Vec::new();
    for len in values {
        for offset in values {
            // Calldata to memory, KECCAK256(offset, len), then return the hash and CODESIZE.
            let code = [
                vec![0x60, 0x08, 0x60, 0x00, 0x60, 0x00, 0x37],
                push32(len),
                push32(offset),
                vec![0x20, 0x60, 0x00, 0x52, 0x38, 0x60, 0x20, 0x52],
                vec![0x60, 0x40, 0x60, 0x00, 0xf3],
            ]
            .concat();
            let world = World::new(&[(TARGET, &code)]);
            for gas in [1 << 30, 30_000] {
                let done = same_on_both_tiers(&world, b"calldata", gas);
                outcomes.push(((len, offset, gas), done.result.is_success()));
            }
        }
    }
    // Both the hashing and the failing paths ran: empty input at any offset, real input at a
    // small offset, a length no memory holds.
    let succeeded = |case| outcomes.iter().any(|&(c, ok)| c == case && ok);
    assert!(succeeded((U256::ZERO, U256::MAX, 30_000)));
    assert!(succeeded((U256::from(33), U256::from(31), 30_000)));
    assert!(!succeeded((U256::from(1u64 << 32), U256::ZERO, 1 << 30)));
}

#[test]
fn storage_reads_see_the_frames_own_writes_and_a_reentrant_calls() {
    // With calldata: read slot 0, write 7 to it, copy it to slot 1, call self without
    // calldata (which writes 9 to slot 0), then copy slot 0 to slot 2.
    let code = [
        0x36, 0x15, 0x60, 0x25, 0x57, // if calldatasize == 0 jump to the inner part
        0x60, 0x00, 0x54, 0x50, // sload(0)
        0x60, 0x07, 0x60, 0x00, 0x55, // sstore(0, 7)
        0x60, 0x00, 0x54, 0x60, 0x01, 0x55, // sstore(1, sload(0))
        0x60, 0x00, 0x80, 0x80, 0x80, 0x80, 0x30, 0x5a, 0xf1, 0x50, // call(gas, self, ..)
        0x60, 0x00, 0x54, 0x60, 0x02, 0x55, // sstore(2, sload(0))
        0x00, 0x5b, 0x60, 0x09, 0x60, 0x00, 0x55, 0x00, // inner: sstore(0, 9)
    ];
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[1], 1_000_000);
    let slot = |n: u64| done.writes.slot(TARGET, U256::from(n));
    assert_eq!(
        (slot(0), slot(1), slot(2)),
        (
            Some(U256::from(9)),
            Some(U256::from(7)),
            Some(U256::from(9))
        )
    );
}

#[test]
fn repeated_storage_reads_are_answered_by_the_cache() {
    // Eight reads of each of two keys, one small and one using every limb: only the first
    // read of each reaches the host (the compiled lookup finds what the host filled in).
    let wide = U256::from_be_bytes([0x5a; 32]);
    let keys = [U256::from(3), wide];
    assert_ne!(
        abi::cache_index(*keys[0].as_limbs()),
        abi::cache_index(*keys[1].as_limbs())
    );
    let mut code = Vec::new();
    for _ in 0..8 {
        for key in keys {
            code.extend(push32(key));
            code.extend([0x54, 0x50]); // SLOAD POP
        }
    }
    code.push(0x00);
    let world = World::new(&[(TARGET, &code)]);
    let before = frame_counts().host_ops;
    same_on_both_tiers(&world, &[], 1_000_000);
    assert_eq!(frame_counts().host_ops - before, 2);
}

#[test]
fn a_create_the_host_refuses_at_once_goes_on_compiled() {
    // On Amsterdam a CREATE whose endowment is more than the balance pushes 0 without a new
    // frame, so compiled code resumes after it in the same run: store the result plus one,
    // then a second CREATE that does run, and return both addresses.
    let mut code = Vec::new();
    code.extend(push32(U256::from(1_000_000)));
    code.extend([0x5f, 0x5f, 0x82, 0xf0]); // create(1e6, 0, 0) with the value kept below
    code.extend([0x60, 0x01, 0x01, 0x5f, 0x55]); // sstore(0, address + 1)
    code.extend([0x5f, 0x5f, 0x5f, 0xf0]); // create(0, 0, 0)
    code.extend([0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]); // return it
    let world = World::new(&[(TARGET, &code)]);
    let before = frame_counts();
    let done = same_on_both_tiers_at(SpecId::AMSTERDAM, &world, &[], 10_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
    let output = done.result.output().expect("returned");
    assert_ne!(output[..], word(0), "the second create ran");
    assert_eq!(frame_counts().handed_over, before.handed_over);
}

#[test]
fn a_call_without_calldata_from_far_in_memory_reads_none() {
    // A call without calldata (revm passes it as the empty range at usize::MAX of the caller's
    // memory): the callee's CALLDATASIZE and CALLDATALOAD see nothing. Looking that range up
    // fails revm's slice check in a debug build (found by the fuzz target, which has debug
    // assertions on) and is undefined behaviour in a release build. The callee returns the
    // sum of what it sees over a marker the caller left in memory, and the caller returns it.
    let mut code = vec![0x36, 0x15, 0x60, 0x00, 0x57]; // if calldatasize == 0 jump to inner
    code.extend([0x60, 0xee, 0x5f, 0x52]); // mstore(0, 0xee)
    code.extend([0x60, 0x20, 0x5f, 0x5f]); // ret 0..32, args length 0
    code.extend(push32(U256::MAX)); // args offset far out
    code.extend([0x30, 0x5a, 0xfa, 0x5f, 0x55]); // sstore(0, staticcall(..))
    code.extend([0x60, 0x20, 0x5f, 0xf3]); // return(0, 32)
    let inner = code.len() as u8;
    code[3] = inner;
    // inner: return(0, 32) of mstore(0, calldatasize + calldataload(0))
    code.extend([
        0x5b, 0x36, 0x5f, 0x35, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ]);
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[1], 1_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
    assert_eq!(done.result.output().expect("returned")[..], word(0));
    let slot0 = done.writes.slot(TARGET, U256::ZERO);
    assert_eq!(slot0, Some(U256::from(1)), "the call succeeded");
}
