//! Instances reused across dispatches: memory an earlier frame wrote never shows, frame
//! constants are laid out afresh, and a thread past its instance limit replaces its Store.

use alloy_primitives::U256;
use submodule::{
    runtime::{INSTANCE_LIMIT, frame_counts},
    testing::*,
};

use crate::{Kept, push32, word};

/// Every storage value the transaction leaves is zero: a frame stored only memory it never
/// wrote, which must read as zero.
fn assert_stores_only_zeros(done: &Ran) {
    let stored: Vec<_> = done.writes.stored().collect();
    assert!(stored.iter().all(|v| v.is_zero()), "{stored:?}");
}

#[test]
fn a_reused_instance_never_shows_an_earlier_frames_memory() {
    // With calldata: fill memory with 0xff.. and call self without calldata. Without calldata:
    // store MLOAD(0) and MLOAD(32) (never written in this frame) into slots 1 and 2.
    let mut code = vec![
        0x36, 0x15, 0x60, 0x20, 0x57, // if calldatasize == 0 jump to reader
        0x60, 0x00, 0x19, 0x60, 0x00, 0x52, // mstore(0, ~0)
        0x60, 0x00, 0x19, 0x60, 0x20, 0x52, // mstore(32, ~0)
        0x60, 0x00, 0x80, 0x80, 0x80, 0x80, 0x30, 0x5a, 0xf1,
        0x00, // call(gas, self, 0, 0, 0, 0, 0)
    ];
    code.resize(0x20, 0x00);
    code.extend([
        0x5b, 0x60, 0x00, 0x51, 0x60, 0x01, 0x55, 0x60, 0x20, 0x51, 0x60, 0x02, 0x55, 0x00,
    ]);
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[1], 1_000_000);
    // Both slots stay zero, so nothing is written to the contract's storage.
    assert_stores_only_zeros(&done);
    // A second transaction on the same thread reuses the instance and still reads zeros.
    let again = same_on_both_tiers(&world, &[], 1_000_000);
    assert!(again.result.is_success());
}

#[test]
fn a_memory_hungry_instance_is_reused_and_never_shows_its_memory() {
    // With calldata: mstore(2 MiB, ~0) and call self without calldata. Without calldata:
    // sstore(1, mload(2 MiB)), a word this frame never wrote.
    let mut code = vec![
        0x36, 0x15, 0x60, 0x20, 0x57, // if calldatasize == 0 jump to reader
        0x60, 0x00, 0x19, 0x62, 0x20, 0x00, 0x00, 0x52, // mstore(0x200000, ~0)
        0x60, 0x00, 0x80, 0x80, 0x80, 0x80, 0x30, 0x5a, 0xf1,
        0x00, // call(gas, self, 0, 0, 0, 0, 0)
    ];
    code.resize(0x20, 0x00);
    code.extend([0x5b, 0x62, 0x20, 0x00, 0x00, 0x51, 0x60, 0x01, 0x55, 0x00]);
    let world = World::new(&[(TARGET, &code)]);
    let gas = 100_000_000;
    for round in 0..2 {
        let before = frame_counts().instantiated;
        let done = same_on_both_tiers(&world, &[1], gas);
        assert!(done.result.is_success());
        assert_stores_only_zeros(&done);
        // The callee runs in its caller's instance (the same code), and the second
        // transaction in it again, 2 MiB of memory and all.
        assert_eq!(
            frame_counts().instantiated - before,
            1 - round,
            "round {round}"
        );
    }
}

#[test]
fn frame_constants_are_laid_out_afresh_on_every_entry() {
    // With calldata longer than one byte: CALLDATALOAD at offsets inside, across the end, at
    // the end and far past it, then CALLDATASIZE, CALLER, CALLVALUE and ADDRESS; a call to
    // itself with one byte of calldata and 3 wei (which stores what it sees); then the outer
    // frame's calldata, size and caller again, all returned.
    let mut code = vec![0x36, 0x60, 0x01, 0x14, 0x61, 0x00, 0x00, 0x57]; // inner at [5..7]
    let mut out = Kept::default();
    for offset in [
        U256::ZERO,
        U256::from(7),
        U256::from(37),
        U256::from(40),
        U256::MAX,
    ] {
        code.extend(push32(offset));
        code.push(0x35);
        out.keep(&mut code);
    }
    for constant in [0x36, 0x33, 0x34, 0x30] {
        code.push(constant);
        out.keep(&mut code);
    }
    // call(gas, self, 3, args 0xff..0x100 (one byte, 0x42), no return data)
    code.extend([0x60, 0x42, 0x60, 0xff, 0x53]);
    code.extend([
        0x5f, 0x5f, 0x60, 0x01, 0x60, 0xff, 0x60, 0x03, 0x30, 0x5a, 0xf1, 0x50,
    ]);
    code.extend([0x5f, 0x35]);
    out.keep(&mut code);
    code.push(0x36);
    out.keep(&mut code);
    code.push(0x33);
    out.keep(&mut code);
    out.return_all(&mut code);
    let inner = code.len() as u16;
    code[5..7].copy_from_slice(&inner.to_be_bytes());
    // inner: sstore(0, calldataload(0)) sstore(1, caller) sstore(2, calldatasize)
    // sstore(3, callvalue)
    code.extend([
        0x5b, 0x5f, 0x35, 0x5f, 0x55, 0x33, 0x60, 0x01, 0x55, 0x36, 0x60, 0x02,
    ]);
    code.extend([0x55, 0x34, 0x60, 0x03, 0x55, 0x00]);
    let world = World::new(&[(TARGET, &code)]);

    // Calldata in the window: only the call, RETURN and the inner frame's four SSTOREs reach
    // the host.
    let data: Vec<u8> = (1..=40).collect();
    let before = frame_counts().host_ops;
    let done = same_on_both_tiers(&world, &data, 1_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
    assert_eq!(frame_counts().host_ops - before, 6);
    let output = done.result.output().expect("returned");
    assert_eq!(output[..32], data[..32]);
    assert_eq!(output[2 * 32..2 * 32 + 3], data[37..]);
    assert_eq!(output[2 * 32 + 3..3 * 32], [0; 29]);
    assert_eq!(output[5 * 32..6 * 32], word(40));
    assert_eq!(output[9 * 32..10 * 32], output[..32]);

    // Calldata past the window: its CALLDATALOADs (six) are the host's.
    let long: Vec<u8> = (0..5000u32).map(|i| i as u8 | 1).collect();
    let before = frame_counts().host_ops;
    let done = same_on_both_tiers(&world, &long, 1_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
    assert_eq!(frame_counts().host_ops - before, 12);
}

#[test]
fn a_thread_past_its_instance_limit_replaces_its_store() {
    let stores = frame_counts().stores;
    let contracts: Vec<Vec<u8>> = (0..=INSTANCE_LIMIT as u16)
        .map(|i| {
            let [hi, lo] = i.to_be_bytes();
            vec![0x61, hi, lo, 0x60, 0x00, 0x55, 0x00] // sstore(0, i)
        })
        .collect();
    for code in &contracts {
        same_on_both_tiers(&World::new(&[(TARGET, code)]), &[], 100_000);
    }
    // The thread's first Store (each test runs on a thread of its own), and its replacement
    // when one instance more than it keeps was asked for.
    assert_eq!(frame_counts().stores - stores, 2);
    // The first contract's instance went with the old Store; running it again makes a new one.
    let before = frame_counts().instantiated;
    same_on_both_tiers(&World::new(&[(TARGET, &contracts[0])]), &[], 100_000);
    assert_eq!(frame_counts().instantiated - before, 1);
}

/// A dispatch that fails (REVERT, or an exceptional halt) leaves nothing for the next one of the
/// same instance: no byte of its memory shows.
#[test]
fn a_failed_dispatch_leaves_nothing_for_the_next() {
    for fail in [0xfd, 0xfe] {
        // With calldata: fill two words of memory with 0xff.. and fail. Without calldata:
        // store mload(0) and mload(32) (never written in this frame) into slots 1 and 2.
        let mut code = vec![
            0x36, 0x15, 0x60, 0x20, 0x57, // if calldatasize == 0 jump to reader
            0x5f, 0x19, 0x5f, 0x52, // mstore(0, ~0)
            0x5f, 0x19, 0x60, 0x20, 0x52, // mstore(32, ~0)
            0x60, 0x40, 0x5f, fail, // revert(0, 64), or INVALID
        ];
        code.resize(0x20, 0x00);
        code.extend([
            0x5b, 0x5f, 0x51, 0x60, 0x01, 0x55, 0x60, 0x20, 0x51, 0x60, 0x02, 0x55, 0x00,
        ]);
        let world = World::new(&[(TARGET, &code)]);
        let failed = same_on_both_tiers(&world, &[1], 1_000_000);
        assert!(!failed.result.is_success());
        let before = frame_counts().instantiated;
        let next = same_on_both_tiers(&world, &[], 1_000_000);
        assert!(next.result.is_success());
        assert_eq!(
            frame_counts().instantiated,
            before,
            "the instance is reused"
        );
        assert_stores_only_zeros(&next);
    }
}
