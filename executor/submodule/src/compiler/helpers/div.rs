//! The helpers that divide: Div, Mod, Sdiv, Smod, AddMod, MulMod and the internal DivMod,
//! short shapes inline and the rest by long division (`long_division.rs`).

use wasm_encoder::{Function, Instruction as I};

use super::Helper;
use super::asm::{Asm, Src, W, ZERO};
use super::barrett;
use super::long_division::{div_word, divmod_core};

/// `(q, r) = (x / y, x % y)` for the shapes that need no long division, else `long(a)`: a
/// nonzero divisor of one limb and a dividend of at most two (fixed-point code's `a * b / 10^18`
/// divides a product of two 64-bit values by a scale). One native division for 64 bits; for 128
/// the high digit natively and the low one by one 2-by-1 division on the normalised divisor.
/// `q` and `r` must not alias `x` or `y` (they are written before `x` is read).
fn short_or(a: &mut Asm, x: W, y: W, q: W, r: W, long: &mut dyn FnMut(&mut Asm)) {
    a.is_zero(&[x[2], x[3], y[1], y[2], y[3]])
        .nz(y[0])
        .and32()
        .if_();
    for &l in q[2..].iter().chain(&r[1..]) {
        a.mov(l, ZERO);
    }
    a.get(x[1]).eqz().if_();
    // One hardware division; the remainder by multiplying back, not by a second one.
    a.get(x[0]).get(y[0]).div_u().set(q[0]);
    a.get(x[0]).get(q[0]).get(y[0]).mul().sub().set(r[0]);
    a.mov(q[1], ZERO);
    a.else_();
    let s = a.scratch("short_or", 5);
    let [sh, sc, v, u1, u0] = [s[0], s[1], s[2], s[3], s[4]];
    a.get(x[1]).get(y[0]).div_u().set(q[1]);
    a.get(y[0]).op(I::I64Clz).tee(sh).k(63).xor().set(sc);
    a.get(y[0]).get(sh).shl().set(v);
    // The high digit's remainder, shifted, with the top of `x0`: `x0 >> (64 - sh)` as
    // `(x0 >> 1) >> (63 - sh)`, which is 0 for `sh == 0`.
    a.get(x[1]).get(q[1]).get(y[0]).mul().sub().get(sh).shl();
    a.get(x[0]).k(1).shr_u().get(sc).shr_u().or().set(u1);
    a.get(x[0]).get(sh).shl().set(u0);
    div_word(a, u1, u0, v, q[0], u1);
    a.get(u1).get(sh).shr_u().set(r[0]);
    a.end();
    a.else_();
    long(a);
    a.end();
}

/// DivMod (internal): `(a / b, a % b)` as 8 results, both 0 when `b == 0`. Its callers go
/// through [`call_divmod`], which has already taken the short shapes, so the body is long
/// division (any operands still give the right answer).
pub(super) fn divmod() -> Function {
    let mut a = Asm::new(8);
    let (x, y) = (Asm::param_word(0), Asm::param_word(1));
    let (q, r) = (a.word(), a.word());
    a.is_zero(&y).if_().ret(&[ZERO; 8]).end();
    // A power-of-two divisor (Solidity's shifts on old compilers, sha1_divs):
    // q = x >> log2(y), r = x & (y - 1).
    a.popcnt(y).k(1).eq().if_();
    let sh = a.l64();
    a.count_zeros(y, false).set(sh);
    a.shr_word(x, sh, ZERO, q);
    a.sub_word(y, [Src::Const(1), ZERO, ZERO, ZERO], r);
    for i in 0..4 {
        a.get(r[i]).get(x[i]).and().set(r[i]);
    }
    a.ret(&words(&[q, r])).end();
    // x < y: quotient 0 (common for Mod on reduced operands).
    let x_src = x.map(Src::from);
    a.lt(&x, &y).if_().ret(&[[ZERO; 4], x_src].concat()).end();
    divmod_core(&mut a, &x, y, 1..=4, Some(&q), r);
    a.finish(&words(&[q, r]))
}

/// The limbs of `ws` as operands, in order.
fn words(ws: &[W]) -> Vec<Src> {
    ws.iter().flatten().map(|&l| Src::Local(l)).collect()
}

/// `out = x % y` (`rem`) or `x / y`, 0 when `y == 0`: the short shapes inline, the rest by a
/// call to DivMod. Every helper that divides comes through here. `out` may alias `x` or `y`.
fn call_divmod(a: &mut Asm, idx: &dyn Fn(Helper) -> u32, x: W, y: W, rem: bool, out: W) {
    let s = a.scratch("call_divmod", 8);
    let q = [s[0], s[1], s[2], s[3]];
    let r = [s[4], s[5], s[6], s[7]];
    short_or(a, x, y, q, r, &mut |a| {
        a.call(idx(Helper::DivMod), &[x, y].concat())
            .pop(&r)
            .pop(&q);
    });
    for (&o, &k) in out.iter().zip(if rem { &r } else { &q }) {
        a.mov(o, k.into());
    }
}

/// Div / Mod: `a / b`, `a % b` (0 when `b == 0`).
pub(super) fn div_or_mod(idx: &dyn Fn(Helper) -> u32, rem: bool) -> Function {
    let mut a = Asm::new(8);
    let out = a.word();
    let (x, y) = (Asm::param_word(0), Asm::param_word(1));
    call_divmod(&mut a, idx, x, y, rem, out);
    a.finish(&words(&[out]))
}

/// Sdiv / Smod: divide the magnitudes, then fix the sign (the quotient is
/// negative iff the signs differ, the remainder takes the sign of `a`).
/// `MIN / -1` needs no special case: |MIN| / 1 = 2^255 = MIN again.
pub(super) fn signed(idx: &dyn Fn(Helper) -> u32, rem: bool) -> Function {
    let mut a = Asm::new(8);
    let (x, y) = (Asm::param_word(0), Asm::param_word(1));
    let (sx, sy, out) = (a.l64(), a.l64(), a.word());
    a.get(x[3]).k(63).shr_s().set(sx);
    a.get(y[3]).k(63).shr_s().set(sy);
    a.neg_if(x, sx).neg_if(y, sy);
    call_divmod(&mut a, idx, x, y, rem, out);
    if !rem {
        a.get(sx).get(sy).xor().set(sx);
    }
    a.neg_if(out, sx);
    a.finish(&words(&[out]))
}

/// AddMod: `(a + b) % c` over 257 bits. Operands are first reduced below `c`
/// (skipped when already reduced, the usual case); then `a + b < 2c` and one
/// conditional subtraction finishes the job.
pub(super) fn addmod(idx: &dyn Fn(Helper) -> u32) -> Function {
    let mut a = Asm::new(12);
    let (x, y, m) = (Asm::param_word(0), Asm::param_word(1), Asm::param_word(2));
    a.is_zero(&m).if_().ret(&[ZERO; 4]).end();
    for w in [x, y] {
        a.lt(&w, &m).eqz32().if_();
        call_divmod(&mut a, idx, w, m, true, w);
        a.end();
    }
    let s = a.word();
    let carry = a.add_word(x, y, s);
    a.get(carry).wrap().lt(&s, &m).eqz32().or32().if_();
    a.sub_word(s, m.map(Src::from), s);
    a.end();
    a.finish(&words(&[s]))
}

/// MulMod: `(a * b) % c` with the full 512-bit product. When both factors
/// fit in 128 bits the product fits in 256 and the 4-limb DivMod (fewer
/// quotient digits) is used; otherwise a modulus of four limbs (a curve's
/// prime) reduces by Barrett's method with a memoised constant, and a shorter
/// one by algorithm D on 8 limbs inline.
pub(super) fn mulmod(idx: &dyn Fn(Helper) -> u32) -> Function {
    let mut a = Asm::new(12);
    let (x, y, m) = (Asm::param_word(0), Asm::param_word(1), Asm::param_word(2));
    let r = a.word();
    a.is_zero(&m).if_().ret(&[ZERO; 4]).end();
    a.is_zero(&[x[2], x[3], y[2], y[3]]).if_();
    a.call(idx(Helper::Mul), &[x, y].concat()).pop(&r);
    call_divmod(&mut a, idx, r, m, true, r);
    a.ret(&words(&[r])).end();
    let p = a.l64s(8);
    a.mul_into(&x, &y, &p);
    a.get(m[3]).eqz().if_();
    divmod_core(&mut a, &p, m, 1..=3, None, r);
    a.else_();
    barrett::reduce(&mut a, &p, m, r);
    a.end();
    a.finish(&words(&[r]))
}
