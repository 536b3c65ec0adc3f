//! Compiled tier against revm's interpreter on code written to hurt: deep recursion, huge
//! memory, jump-dense code, memory an instance saw in an earlier dispatch, and more instances
//! than a thread keeps.
//!
//! One test binary (`--test submodule`), one module per concern; the two-tier runner is
//! `submodule::testing`, shared with `store_renewal` and the tier fuzz target.

use alloy_primitives::U256;

mod control_flow;
mod host;
mod hostile;
mod instances;

/// Words a test program stores one after another in memory, to return them all at the end.
#[derive(Default)]
struct Kept(u16);

impl Kept {
    /// Appends code that stores the top of the stack as the next word.
    fn keep(&mut self, code: &mut Vec<u8>) {
        code.push(0x61);
        code.extend(self.0.to_be_bytes());
        code.push(0x52);
        self.0 += 32;
    }

    /// Appends code that returns the words kept.
    fn return_all(&self, code: &mut Vec<u8>) {
        code.push(0x61);
        code.extend(self.0.to_be_bytes());
        code.extend([0x5f, 0xf3]);
    }
}

fn word(n: u64) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

fn push32(v: U256) -> Vec<u8> {
    [&[0x7f][..], &v.to_be_bytes::<32>()].concat()
}
