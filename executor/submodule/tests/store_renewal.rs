//! A thread's Store keeps every instance it made, and wasmer frees their memory only with the
//! Store: past [`MEMORY_LIMIT`] of held memory the runtime replaces it. Alone in its binary, so
//! the process's resident memory is this test's.

use submodule::runtime::{MEMORY_LIMIT, frame_counts};
use submodule::testing::*;

const MIB: u64 = 1 << 20;
/// EVM memory each contract expands to.
const EXPANSION: u64 = 4 * MIB;

/// Resident memory of this process, from `/proc/self/status`.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// Code of its own for each `i` (so each gets its own module and instance) that writes the
/// last word of [`EXPANSION`] bytes of memory.
fn memory_hungry(i: u16) -> Vec<u8> {
    let [hi, lo] = i.to_be_bytes();
    let last = (EXPANSION - 32).to_be_bytes();
    vec![
        0x61, hi, lo, 0x50, // push2 i, pop
        0x60, 0x01, 0x62, last[5], last[6], last[7], 0x52, // mstore(EXPANSION - 32, 1)
        0x00,
    ]
}

#[test]
fn held_memory_is_bounded_by_replacing_the_store() {
    // Enough contracts to hold twice the limit if nothing were ever freed.
    let contracts = (2 * MEMORY_LIMIT / EXPANSION) as u16 + 8;
    let stores = frame_counts().stores;
    let baseline = resident();
    let mut peak = baseline;
    for i in 0..contracts {
        let world = World::new(&[(TARGET, &memory_hungry(i))]);
        let done = same_on_both_tiers(&world, &[], GAS);
        assert!(done.result.is_success(), "{:?}", done.result);
        peak = peak.max(resident());
    }
    let renewals = frame_counts().stores - stores;
    let grown = peak.saturating_sub(baseline);
    eprintln!(
        "{contracts} contracts of {} MiB: {renewals} Stores, resident grew {} MiB at most",
        EXPANSION / MIB,
        grown / MIB
    );
    // The first Store, and one more each time the instances' memory passed the limit.
    assert!(renewals >= 3, "{renewals} Stores");
    // The limit, the instance that crosses it, and the compiled modules and the interpreter's
    // memory beside them; never the whole `contracts * EXPANSION`.
    assert!(grown < MEMORY_LIMIT + 64 * MIB, "grew {} MiB", grown / MIB);
}
