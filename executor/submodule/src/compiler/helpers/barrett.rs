//! Barrett reduction (Menezes et al., Handbook of Applied Cryptography,
//! algorithm 14.42) of MulMod's 512-bit product by a modulus of four limbs.
//!
//! Elliptic-curve code (weierstrudel, pairing precompiles written in EVM)
//! reduces thousands of products by one prime. Algorithm D pays five
//! quotient-digit steps per product, each waiting on the last; Barrett pays
//! two multiplications, by `mu = floor((B^8 - 1) / m)` (B = 2^64) and by `m`,
//! and `mu` depends on the modulus alone. So `mu` is computed once and kept,
//! with the modulus it belongs to, in the helpers module's globals: the one
//! state a helper has, and it never changes a result, only whether `mu` is
//! divided out again.

use wasm_encoder::{ConstExpr, GlobalSection, GlobalType, Instruction as I, ValType};

use super::asm::{Asm, L, Src, W, ZERO};
use super::long_division::divmod_core;

/// The memo's globals: the modulus (4 limbs), then its `mu` (5 limbs).
const MODULUS: u32 = 0;
const MU: u32 = MODULUS + 4;
const GLOBALS: u32 = MU + 5;

/// Declares the memo's globals, the first of the module, zero at start: no
/// modulus reaching [`reduce`] is zero, so the first call computes `mu`.
pub(crate) fn globals() -> GlobalSection {
    let mut section = GlobalSection::new();
    for _ in 0..GLOBALS {
        let ty = GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        };
        section.global(ty, &ConstExpr::i64_const(0));
    }
    section
}

/// `r = p mod m` for an 8-limb `p` and a modulus with `m[3] != 0`.
pub(crate) fn reduce(a: &mut Asm, p: &[L], m: W, r: W) {
    let mu = a.l64s(5);
    // A new modulus: mu = (B^8 - 1) / m, at most B^5 - 1 since m >= B^3. It
    // is mu_exact or mu_exact - 1 (only for m dividing B^8), which can only
    // underestimate the quotient below, never overestimate it.
    for (i, &l) in m.iter().enumerate() {
        a.get(l).op(I::GlobalGet(MODULUS + i as u32)).ne();
        if i > 0 {
            a.or32();
        }
    }
    a.if_();
    let ones = a.l64s(8);
    for &l in &ones {
        a.k(-1).set(l);
    }
    divmod_core(a, &ones, m, 4..=4, Some(&mu), r);
    for (i, &l) in m.iter().chain(&mu).enumerate() {
        a.get(l).op(I::GlobalSet(MODULUS + i as u32));
    }
    a.else_();
    for (i, &l) in mu.iter().enumerate() {
        a.op(I::GlobalGet(MU + i as u32)).set(l);
    }
    a.end();
    // q = floor(S / B^5), S being (p / B^3) * mu without its partial products
    // below limb 3, underestimates p / m by at most 3. In real terms p / m - S / B^5
    // is below 1 (the dropped low limbs of p: under B^3 / m <= 1) plus 1 (mu
    // falls short of B^8 / m by at most 1, times (p / B^3) / B^5 < 1) plus 3 / B
    // (the dropped partial products: under 3 * B^4 in all); floors add at most 1.
    // So p - q*m, below 4m < B^5, fits the low five limbs.
    let q2 = a.l64s(10);
    a.mul_from(&p[3..8], &mu, &q2, 3);
    let qm = a.l64s(5);
    a.mul_into(&q2[5..10], &m, &qm);
    let rem = a.l64s(5);
    let qm: Vec<Src> = qm.iter().map(|&l| l.into()).collect();
    a.sub_limbs(&p[..5], &qm, &rem);
    // Three conditional subtractions of m finish the job. Unrolled: a loop
    // would spin for ever on a wrong constant rather than give a wrong word.
    // Branches, not selects: the estimate is almost always exact, so they
    // predict well and keep the subtraction off the critical path (selects
    // made weierstrudel 30% slower).
    let m5 = [m[0].into(), m[1].into(), m[2].into(), m[3].into(), ZERO];
    for _ in 0..3 {
        a.get(rem[4]).eqz().lt(&rem[..4], &m).and32().eqz32().if_();
        a.sub_limbs(&rem, &m5, &rem);
        a.end();
    }
    for i in 0..4 {
        a.mov(r[i], rem[i].into());
    }
}
