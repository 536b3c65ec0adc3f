//! Code written to hurt: 1024-deep recursion, huge memory offsets, runaway and jump-dense
//! code, every gas limit around a section's checks, stacks at their limits, bytes that only
//! look like a delegation.

use alloy_primitives::U256;
use submodule::{runtime::frame_counts, testing::*};

use crate::word;

/// Calls itself with depth - 1 until depth is 0, counting the levels reached in slot 0.
fn recursion() -> Vec<u8> {
    let mut c = vec![
        0x60, 0x00, 0x35, // depth = calldataload(0)
        0x60, 0x00, 0x54, 0x60, 0x01, 0x01, 0x60, 0x00, 0x55, // sstore(0, sload(0) + 1)
        0x80, 0x15, 0x60, 0x2c, 0x57, // if depth == 0 jump to end
        0x60, 0x01, 0x90, 0x03, // depth - 1
        0x60, 0x00, 0x52, // mstore(0, depth - 1)
        0x60, 0x00, 0x60, 0x00, 0x60, 0x20, 0x60, 0x00, 0x60, 0x00, // ret, args, value
        0x30, 0x5a, 0xf1, 0x50, // call(gas, address, ...) and drop the flag
        0x00,
    ];
    c.resize(0x2c, 0x00);
    c.extend([0x5b, 0x00]);
    c
}

#[test]
fn recursion_1024_deep_matches_and_keeps_the_native_stack_flat() {
    let code = recursion();
    let world = World::new(&[(TARGET, &code)]);
    let before = frame_counts().compiled;
    let done = same_on_both_tiers(&world, &word(2000), GAS);
    assert!(done.result.is_success());
    // Each of the 1025 frames starts compiled and, but for the innermost, resumes compiled
    // after its call (the call at depth 1024 fails without a frame and resumes it too).
    assert_eq!(frame_counts().compiled - before, 2 * 1025);
    let depth = done.writes.slot(TARGET, U256::ZERO);
    // The top frame and 1024 nested calls each count once; the call at depth 1024 fails.
    assert_eq!(depth, Some(U256::from(1025)));
}

#[test]
fn memory_expansion_limits_match() {
    let offsets: [&[u8]; 5] = [
        &[0x63, 0x00, 0xa0, 0x00, 0x00],       // 10 MiB: paid and allocated
        &[0x64, 0x01, 0x00, 0x00, 0x00, 0x00], // 4 GiB
        &[0x67, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // u64::MAX
        &[0x68, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], // 2^64
        &[
            0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    ];
    for push in offsets {
        for tail in [
            &[0x51, 0x00][..],
            &[0x60, 0x01, 0x90, 0x52, 0x00],
            &[0x59, 0x60, 0x00, 0x37, 0x00],
        ] {
            // MLOAD / MSTORE / CALLDATACOPY(offset, 0, msize) at the offset.
            let code = [push, tail].concat();
            let world = World::new(&[(TARGET, &code)]);
            same_on_both_tiers(&world, &[], 1 << 30);
        }
    }
}

#[test]
fn runaway_jump_loops_run_out_of_gas_alike() {
    // JUMPDEST PUSH1 0 JUMP: a tight loop; and a jump onto a 0x5b byte inside push data.
    for code in [
        &[0x5b, 0x60, 0x00, 0x56][..],
        &[0x60, 0x04, 0x56, 0x60, 0x5b, 0x00],
    ] {
        let world = World::new(&[(TARGET, code)]);
        let done = same_on_both_tiers(&world, &[], 1_000_000);
        assert!(!done.result.is_success());
    }
}

#[test]
fn jump_dense_code_runs_alike() {
    // 24 KiB of JUMPDESTs; 24 KiB of PUSH1 0 JUMP (the first jump is invalid); a walk over
    // 1500 PUSH2/JUMP/JUMPDEST steps.
    let mut dests = vec![0x5b; 24 * 1024];
    dests.push(0x00);
    let pairs = [0x60, 0x00, 0x56].repeat(8 * 1024);
    let mut walk = Vec::new();
    for i in 0..1500usize {
        let next = (i + 1) * 5;
        walk.extend([0x61, (next >> 8) as u8, next as u8, 0x56, 0x5b]);
    }
    walk.push(0x00);
    // A forward jump over a dead segment that ends with values still on the stack.
    let over = vec![
        0x60, 0x20, 0x80, 0x61, 0x00, 0x0c, 0x56, 0x00, 0x5b, 0x60, 0x01, 0x00, 0x5b, 0x60, 0x00,
        0xf3,
    ];
    for code in [dests, pairs, walk, over] {
        let world = World::new(&[(TARGET, &code)]);
        same_on_both_tiers(&world, &[], 10_000_000);
    }
}

#[test]
fn every_gas_limit_fails_where_and_as_the_interpreter_does() {
    // One section with each kind of cost charged inside it (memory expansion, a cold SLOAD
    // through the host, KECCAK256's words, EXP's exponent bytes) before instructions the
    // section charged for on entry; a section whose stack runs short halfway; and a hash
    // whose memory expansion is short of gas after its word gas is paid.
    let costs = [
        0x61, 0x04, 0x00, 0x51, // mload(0x400)
        0x60, 0x00, 0x54, // sload(0)
        0x60, 0x40, 0x60, 0x00, 0x20, // keccak256(0, 0x40)
        0x61, 0xff, 0xff, 0x60, 0x03, 0x0a, // exp(3, 0xffff)
        0x01, 0x01, 0x01, // add add add
        0x60, 0x00, 0x52, // mstore(0, sum)
        0x60, 0x20, 0x60, 0x00, 0xf3, // return(0, 32)
    ];
    let short_stack = [0x60, 0x01, 0x60, 0x02, 0x01, 0x01, 0x00];
    // KECCAK256 whose word gas is paid but whose memory expansion then is not.
    let hash_expanding = [0x61, 0x08, 0x00, 0x60, 0x00, 0x20, 0x00];
    let before = frame_counts().handed_over;
    for code in [&costs[..], &short_stack, &hash_expanding] {
        let world = World::new(&[(TARGET, code)]);
        for gas in 21_000..=24_000 {
            same_on_both_tiers(&world, &[], gas);
        }
    }
    let world = World::new(&[(TARGET, &costs)]);
    assert!(same_on_both_tiers(&world, &[], 24_000).result.is_success());
    assert!(frame_counts().handed_over > before, "no check handed over");
}

#[test]
fn deep_stack_opcodes_reach_as_far_as_in_the_interpreter() {
    // EIP-8024 on 300 items: DUPN 235, SWAPN 235, EXCHANGE (9, 16), then the top three
    // returned; and DUPN on a full stack, which overflows.
    let mut code = Vec::new();
    for i in 0..300u16 {
        code.push(0x61);
        code.extend(i.to_be_bytes());
    }
    code.extend([0xe6, 90, 0xe7, 90, 0xe8, 0x00]);
    for at in [0u8, 32, 64] {
        code.extend([0x60, at, 0x52]); // mstore(at, top)
    }
    code.extend([0x60, 96, 0x60, 0, 0xf3]);
    let world_deep = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers_at(SpecId::AMSTERDAM, &world_deep, &[], 10_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);

    let mut full = vec![0x5f; 1024];
    full.extend([0xe6, 90, 0x00]);
    let world_full = World::new(&[(TARGET, &full)]);
    let done = same_on_both_tiers_at(SpecId::AMSTERDAM, &world_full, &[], 10_000_000);
    assert!(!done.result.is_success(), "{:?}", done.result);
}

#[test]
fn code_that_looks_like_a_broken_delegation_runs_as_legacy_code() {
    // Found by the fuzzer: 0xEF01 followed by too few bytes is no EIP-7702 designator.
    let world = World::new(&[(TARGET, &[0xef, 0x01, 0x01])]);
    let done = same_on_both_tiers(&world, &[], 100_000);
    assert!(!done.result.is_success());
}
