//! Differential fuzzing of the compiled tier: random and mutated bytecode with calldata runs on
//! revm's interpreter and as a compiled submodule; status (down to the halt reason), gas,
//! output, logs and every state write must agree. Input: byte 0 is the calldata length, then
//! calldata, then the code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use submodule::testing::{BothTiers, SpecId, TARGET, World};

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let (calldata, code) = rest.split_at((len as usize).min(rest.len()));
    let world = World::new(&[(TARGET, code)]);
    let both = BothTiers::run(&world, SpecId::PRAGUE, calldata, 3_000_000);
    both.assert_same(&format!("code {}", alloy_primitives::hex::encode(code)));
});
