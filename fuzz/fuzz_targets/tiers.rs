//! Differential fuzzing of the compiled tiers: random and mutated bytecode with calldata runs on
//! revm's interpreter, as a compiled submodule, and on the `auto` tier (twice: interpreted while
//! its compile runs in the background, then compiled); status (down to the halt reason), gas,
//! output, logs and every state write must agree. Input: byte 0 is the calldata length, then
//! calldata, then the code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use submodule::{
    Outcome, Tier,
    runtime::{TierUp, TierUpConfig},
    testing::{BothTiers, SpecId, TARGET, World},
};

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let (calldata, code) = rest.split_at((len as usize).min(rest.len()));
    let world = World::new(&[(TARGET, code)]);
    let what = || format!("code {}", alloy_primitives::hex::encode(code));
    let both = BothTiers::run(&world, SpecId::PRAGUE, calldata, 3_000_000);
    both.assert_same(&what());
    // Any gas makes code hot, so the second run finds its module ready.
    let tier_up = TierUp::global_with(TierUpConfig {
        threshold_gas: 1,
        workers: 1,
        queue: 1024,
    });
    for _ in 0..2 {
        let auto = world.run(SpecId::PRAGUE, calldata, 3_000_000, Tier::Auto);
        let auto = auto.expect("valid transaction");
        let interpreted = &both.interpreted;
        assert_eq!(
            Outcome::of(&auto.result),
            Outcome::of(&interpreted.result),
            "auto: {}",
            what()
        );
        assert_eq!(auto.writes, interpreted.writes, "auto: {}", what());
        tier_up.wait_idle();
    }
});
