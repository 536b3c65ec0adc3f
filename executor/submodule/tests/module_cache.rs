//! The module cache's byte budget, measured as the process's resident memory: wasmer frees
//! machine code only with its engine, so an estimate that holds on paper could still leak. Its
//! own test binary: the budget is process-wide.

use revm::primitives::U256;
use submodule::{
    Tier,
    runtime::{BudgetTooSmall, ModuleCache, estimate, largest_module},
    testing::*,
};

const BUDGET: usize = 64 << 20;

/// Resident memory of this process, in bytes.
fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A small contract of its own for each `k`: stores `k` and a little arithmetic on it.
fn contract(k: u32) -> Vec<u8> {
    let mut code = vec![0x63];
    code.extend(k.to_be_bytes()); // PUSH4 k
    code.extend([0x80, 0x80, 0x02, 0x01, 0x5f, 0x55, 0x00]); // sstore(0, k * k + k)
    code
}

#[test]
fn a_budget_below_the_largest_module_is_refused() {
    let cache = ModuleCache::global();
    let largest = largest_module();
    assert_eq!(
        cache.set_budget(largest - 1),
        Err(BudgetTooSmall {
            budget: largest - 1,
            largest
        })
    );
    assert!(estimate(&contract(7), SpecId::CANCUN).unwrap() <= largest);
}

#[test]
fn ten_thousand_contracts_stay_within_the_budget() {
    let cache = ModuleCache::global();
    cache.set_budget(BUDGET).expect("above the largest module");
    let run = |k: u32| {
        let world = World::new(&[(TARGET, &contract(k))]);
        let ran = world
            .run(SpecId::CANCUN, &[], 1_000_000, Tier::Compile)
            .expect("valid transaction");
        assert!(ran.result.is_success());
        let k = U256::from(k);
        assert_eq!(ran.writes.slot(TARGET, U256::ZERO), Some(k * k + k));
    };
    // The first calls build the engine, the helpers and the thread's Store.
    run(u32::MAX);
    let before = resident();
    let stats_before = cache.stats();
    let mut peak = before;
    for k in 1..=10_000 {
        run(k);
        if k % 50 == 0 {
            peak = peak.max(resident());
        }
    }
    let stats = cache.stats();
    let growth = peak.saturating_sub(before);
    println!(
        "resident growth {} MiB (budget {} MiB, largest module {} MiB); {:?}",
        growth >> 20,
        BUDGET >> 20,
        largest_module() >> 20,
        stats
    );
    assert_eq!(stats.compiles - stats_before.compiles, 10_000);
    assert!(stats.evictions > stats_before.evictions, "{stats:?}");
    assert!(stats.resident_bytes as usize <= BUDGET);
    assert!(growth < BUDGET + largest_module(), "grew {growth} bytes");
}
