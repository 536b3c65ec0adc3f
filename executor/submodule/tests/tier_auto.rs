//! The `auto` tier: code runs interpreted until its interpreted frames have spent the threshold,
//! is compiled in the background meanwhile, and runs compiled once ready, with the results of
//! the interpreter throughout. Its own test binary: the process-wide [`TierUp`] is configured
//! here once, with a threshold small enough for a test.

use std::time::{Duration, Instant};

use revm::primitives::{B256, Bytes, U256};
use submodule::{
    Outcome, Tier,
    runtime::{TierUp, TierUpConfig},
    testing::*,
};

const THRESHOLD: u64 = 200_000;

fn tier_up() -> &'static TierUp {
    TierUp::global_with(TierUpConfig {
        threshold_gas: THRESHOLD,
        workers: 1,
        queue: 8,
    })
}

/// sum = 0; for i in n..0 { sum += i }; sstore(0, sum), with n from calldata: 38 gas an
/// iteration.
fn counting_loop() -> Vec<u8> {
    vec![
        0x5f, 0x35, 0x5f, // n, sum = 0
        0x5b, // loop (pc 3)
        0x81, 0x01, // sum += n
        0x90, 0x60, 0x01, 0x90, 0x03, 0x90, // n -= 1
        0x81, 0x60, 0x03, 0x57, // if n != 0 jump loop
        0x5f, 0x55, 0x50, 0x00, // sstore(0, sum)
    ]
}

fn assert_same_as_interpreted(world: &World, data: &[u8], auto: &Ran) {
    let interpreted = world
        .run(SpecId::CANCUN, data, 10_000_000, Tier::Interpret)
        .expect("valid transaction");
    assert_eq!(Outcome::of(&auto.result), Outcome::of(&interpreted.result));
    assert_eq!(auto.writes, interpreted.writes);
}

#[test]
fn hot_code_runs_compiled_once_its_background_compile_is_ready() {
    let tier_up = tier_up();
    let world = World::new(&[(TARGET, &counting_loop())]);
    let data = U256::from(1_000).to_be_bytes::<32>();
    let auto = |what: &str| {
        let before = tier_up.counts();
        let ran = world
            .run(SpecId::CANCUN, &data, 10_000_000, Tier::Auto)
            .expect("valid transaction");
        assert_same_as_interpreted(&world, &data, &ran);
        let done = tier_up.counts().since(&before);
        println!("{what}: {done:?}");
        done
    };
    // About 60,000 gas a call: cold for the first few calls.
    let first = auto("first call");
    assert_eq!((first.requests, first.compiled_frames), (0, 0));
    assert_eq!(first.interpreted_frames, 1);
    let mut calls = 1;
    while tier_up.counts().requests == 0 {
        auto("warming up");
        calls += 1;
        assert!(calls < 20, "never sent to be compiled");
    }
    tier_up.wait_idle();
    let hot = auto("hot");
    assert_eq!((hot.compiled_frames, hot.interpreted_frames), (1, 0));
    assert_eq!(tier_up.counts().compiles, 1);
}

#[test]
fn a_full_queue_drops_requests_without_waiting() {
    // Its own instance: one slow worker and room for one request.
    let tier_up = TierUp::start(TierUpConfig {
        threshold_gas: 1,
        workers: 1,
        queue: 1,
    });
    let started = Instant::now();
    for k in 0..50u8 {
        // 24 KiB of distinct code, so a compile takes longer than the loop.
        let mut code = vec![0x5b; 24 * 1024];
        code[0] = k;
        let hash = B256::repeat_byte(k);
        tier_up.spent(hash, SpecId::CANCUN, 10, || Bytes::from(code));
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    let counts = tier_up.counts();
    assert!(counts.dropped > 0, "{counts:?}");
    assert_eq!(counts.requests + counts.dropped, 50, "{counts:?}");
}
