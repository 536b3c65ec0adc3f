//! Compiled code's own control flow (loops, computed jumps) and what it folds at compile time
//! (arithmetic by a constant power of two).

use alloy_primitives::U256;
use revm::primitives::hardfork::SpecId;
use submodule::compiler::analysis::{Analysis, REGION_OPS};
use submodule::testing::*;

use crate::{Kept, push32, word};

#[test]
fn backward_loops_keep_their_stack() {
    // i = 10; do { i = i - 1; sum += i } while i != 0; sstore(0, sum)
    let code = [
        0x60, 0x0a, 0x60, 0x00, // i, sum
        0x5b, // loop (pc 4)
        0x90, 0x60, 0x01, 0x90, 0x03, // sum, i - 1
        0x80, 0x91, 0x01, // i - 1, sum + i - 1
        0x81, 0x60, 0x04, 0x57, // if i != 0 jump loop
        0x60, 0x00, 0x55, 0x00,
    ];
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[], 1_000_000);
    assert!(done.result.is_success());
}

#[test]
fn computed_jumps_return_like_functions() {
    // A "function" at 0x19 doubling its argument, called twice through a pushed return pc.
    let mut code = vec![0x60, 0x09, 0x60, 0x07, 0x60, 0x19, 0x56, 0x00, 0x00]; // call fn(7)
    code.extend([0x5b, 0x60, 0x14, 0x90, 0x60, 0x19, 0x56]); // pc 9: call fn(result)
    code.resize(0x14, 0x00);
    code.extend([0x5b, 0x60, 0x00, 0x55, 0x00]); // pc 0x14: sstore(0, result)
    code.extend([0x5b, 0x80, 0x01, 0x90, 0x56]); // pc 0x19: [ret, x] -> [2x], jump ret
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[], 1_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
}

#[test]
fn a_computed_jump_lands_on_its_jumpdest() {
    // jump(calldataload(0)); the JUMPDEST at 6 stores 1.
    let code = [
        0x60, 0x00, 0x35, 0x56, 0x00, 0x00, 0x5b, 0x60, 0x01, 0x60, 0x00, 0x55, 0x00,
    ];
    let world = World::new(&[(TARGET, &code)]);
    for dest in [6, 5, 7, 1000] {
        let done = same_on_both_tiers(&world, &word(dest), 100_000);
        assert_eq!(
            done.result.is_success(),
            dest == 6,
            "{dest}: {:?}",
            done.result
        );
    }
}

#[test]
fn arithmetic_by_a_constant_power_of_two_matches() {
    // Shifts by constant amounts and DIV/MOD/ADDMOD/MULMOD by constant powers of two, on two
    // words from calldata (so nothing folds), all results returned. The constant is pushed
    // right before its opcode, as compilers do, so it is still known there.
    let mut code = vec![0x60, 0x20, 0x35, 0x5f, 0x35]; // y = calldataload(32), x on top
    let mut out = Kept::default();
    for bits in [0u64, 1, 31, 63, 64, 65, 127, 128, 200, 255, 256, 300] {
        for shift in [0x1b, 0x1c] {
            code.push(0x80); // x
            code.extend(push32(U256::from(bits)));
            code.push(shift);
            out.keep(&mut code);
        }
    }
    for bits in [0usize, 1, 32, 63, 64, 65, 128, 255] {
        let power = push32(U256::from(1) << bits);
        for op in [0x04, 0x06] {
            code.extend(&power);
            code.extend([0x81, op]); // op(x, power)
            out.keep(&mut code);
        }
        for op in [0x08, 0x09] {
            code.extend(&power);
            code.extend([0x82, 0x82, op]); // op(x, y, power)
            out.keep(&mut code);
        }
    }
    out.return_all(&mut code);
    let world = World::new(&[(TARGET, &code)]);
    let words = [
        (U256::MAX, U256::MAX),
        (U256::from_be_bytes([0xa5; 32]), U256::from(u64::MAX)),
        (U256::from(1) << 255, U256::from(3)),
        (U256::from(0x1234_5678_9abc_def0u64), U256::ZERO),
    ];
    for (a, b) in words {
        let data = [a.to_be_bytes::<32>(), b.to_be_bytes::<32>()].concat();
        let done = same_on_both_tiers(&world, &data, 10_000_000);
        assert!(done.result.is_success(), "{:?}", done.result);
    }
}

/// Code laid out over several regions (Wasm functions of about `REGION_OPS` instructions):
/// forward and backward static jumps, a computed jump and a fall-through each cross a region
/// boundary, and a call resumes inside a middle region, on a loop run three times.
#[test]
fn jumps_between_regions_match() {
    let pad = |code: &mut Vec<u8>| code.extend(std::iter::repeat_n(0x5b, REGION_OPS + 7));
    let push2 = |code: &mut Vec<u8>, v: usize| code.extend([0x61, (v >> 8) as u8, v as u8]);
    // Patched once the labels' pcs are known: (position of a PUSH2's immediate, label).
    let mut fixups: Vec<(usize, usize)> = Vec::new();
    let mut labels = [0usize; 4];
    let (looped, far, computed, done) = (0, 1, 2, 3);
    let mut code = vec![0x60, 0x03]; // n = 3
    code.extend([0x60, 0x00]); // acc = 0: stack [acc, n]
    fixups.push((code.len() + 1, far));
    push2(&mut code, 0);
    code.push(0x56);
    // loop: acc += n; n -= 1; exit when n == 0
    labels[looped] = code.len();
    code.extend([0x5b, 0x81, 0x01, 0x90, 0x60, 0x01, 0x90, 0x03, 0x90]);
    code.extend([0x81, 0x15]);
    fixups.push((code.len() + 1, done));
    push2(&mut code, 0);
    code.push(0x57);
    pad(&mut code); // falls through into the next region
    // staticcall(gas, identity, 0, 32, 0, 32) inside a middle region; its result is dropped.
    code.extend([
        0x60, 0x20, 0x5f, 0x60, 0x20, 0x5f, 0x60, 0x04, 0x5a, 0xfa, 0x50,
    ]);
    pad(&mut code);
    code.extend([0x5f, 0x35, 0x56]); // jump(calldataload(0)): to `computed`
    labels[far] = code.len();
    code.push(0x5b);
    pad(&mut code);
    fixups.push((code.len() + 1, looped));
    push2(&mut code, 0);
    code.push(0x56); // backward, two regions back
    labels[computed] = code.len();
    code.push(0x5b);
    fixups.push((code.len() + 1, looped));
    push2(&mut code, 0);
    code.push(0x56);
    labels[done] = code.len();
    code.extend([0x5b, 0x50, 0x5f, 0x55, 0x00]); // sstore(0, acc)
    for (at, label) in fixups {
        code[at..at + 2].copy_from_slice(&(labels[label] as u16).to_be_bytes());
    }
    let regions = Analysis::new(&code, SpecId::CANCUN).regions.len();
    assert!(regions >= 4, "{regions} regions");
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &word(labels[computed] as u64), 10_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
    // A computed jump to a JUMPDEST of another region that is not the intended one still lands.
    let elsewhere = word(labels[far] as u64 + 3);
    same_on_both_tiers(&world, &elsewhere, 10_000_000);
}

/// Straight-line code with thousands of branches and no JUMPDEST is cut into regions at
/// section boundaries; GAS in every section checks the counters survive each cut.
#[test]
fn branch_dense_code_without_jumpdests_matches() {
    let mut code = Vec::new();
    for _ in 0..3 * REGION_OPS / 4 {
        // if 0 jump 0; gas; pop
        code.extend([0x5f, 0x5f, 0x57, 0x5a, 0x50]);
    }
    code.extend([0x5a, 0x5f, 0x55, 0x00]); // sstore(0, gas)
    assert!(Analysis::new(&code, SpecId::CANCUN).regions.len() >= 2);
    let world = World::new(&[(TARGET, &code)]);
    let done = same_on_both_tiers(&world, &[], 10_000_000);
    assert!(done.result.is_success(), "{:?}", done.result);
}
