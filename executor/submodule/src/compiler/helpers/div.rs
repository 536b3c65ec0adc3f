//! Unsigned division (Knuth algorithm D over 64-bit limbs) and the helpers
//! built on it: Div, Mod, Sdiv, Smod, AddMod, MulMod and the internal DivMod.

use std::ops::RangeInclusive;

use wasm_encoder::{Function, Instruction as I};

use super::asm::{Asm, L, Src, W, ZERO};
use super::{Helper, barrett};

const M32: i64 = 0xffff_ffff;

/// `(q, r) = (u1:u0) / v` for a normalised `v` (top bit set) and `u1 < v`,
/// so `q` fits in 64 bits. Wasm only divides 64 by 64 bits, so this is two
/// 64/32 steps on 32-bit half digits (Hacker's Delight `divlu`), each with
/// at most two corrections of the estimated half digit. `q`/`r` may alias
/// the inputs.
fn div_word(a: &mut Asm, u1: L, u0: L, v: L, q: L, r: L) {
    let s = a.scratch("div_word", 8);
    let [vh, vl, uh, ul, q1, q0, rh, t] = [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]];
    a.get(v).k(32).shr_u().set(vh).get(v).k(M32).and().set(vl);
    a.get(u0).k(32).shr_u().set(uh).get(u0).k(M32).and().set(ul);
    // high half digit: (u1 : uh) / v
    a.get(u1).get(vh).div_u().set(q1);
    a.get(u1).get(q1).get(vh).mul().sub().set(rh);
    correct_half(a, q1, rh, uh, vh, vl);
    a.get(u1).k(32).shl().get(uh).or().get(q1).get(v).mul();
    a.sub().set(t);
    // low half digit: (t : ul) / v
    a.get(t).get(vh).div_u().set(q0);
    a.get(t).get(q0).get(vh).mul().sub().set(rh);
    correct_half(a, q0, rh, ul, vh, vl);
    a.get(t).k(32).shl().get(ul).or().get(q0).get(v).mul();
    a.sub().set(r);
    a.get(q1).k(32).shl().get(q0).or().set(q);
}

/// `inv = floor((B^2 - 1) / d) - B` for a normalised `d` (B = 2^64): the
/// reciprocal used by [`div_word_inv`]. It is `(!d : !0) / d`, one
/// `div_word`, paid once per division instead of once per quotient digit.
fn reciprocal(a: &mut Asm, d: L, inv: L) {
    let s = a.scratch("reciprocal", 3);
    a.get(d).k(-1).xor().set(s[0]).k(-1).set(s[1]);
    div_word(a, s[0], s[1], d, inv, s[2]);
}

/// `(q, r) = (u1:u0) / d` for a normalised `d` with `u1 < d`, given
/// `inv = reciprocal(d)`: Möller & Granlund, "Improved division by invariant
/// integers" (2011), Algorithm 4. One 64x64->128 product replaces the two
/// hardware divisions of [`div_word`]. `q`/`r` may alias the inputs.
fn div_word_inv(a: &mut Asm, u1: L, u0: L, d: L, inv: L, q: L, r: L) {
    let s = a.scratch("div_word_inv", 4);
    let [lo, hi, q1, rr] = [s[0], s[1], s[2], s[3]];
    // (q1:lo) = inv * u1 + (u1:u0), then q1 += 1
    a.mul_wide(inv, u1, lo, hi);
    a.get(lo).get(u0).add().tee(lo).get(u0).lt_u().extend();
    a.get(hi).add().get(u1).add().k(1).add().set(q1);
    // rr = u0 - q1 * d; if rr > lo (about half the time, so branch-free):
    // q1 -= 1, rr += d
    a.get(u0).get(q1).get(d).mul().sub().set(rr);
    a.k(0).get(rr).get(lo).gt_u().extend().sub().tee(lo);
    a.get(q1).add().set(q1);
    a.get(rr).get(d).get(lo).and().add().set(rr);
    // rarely rr >= d still: one more correction
    a.get(rr).get(d).ge_u().if_();
    a.get(q1).k(1).add().set(q1).get(rr).get(d).sub().set(rr);
    a.end();
    a.mov(r, rr.into()).mov(q, q1.into());
}

/// [`div_word_inv`] when a reciprocal is at hand, else [`div_word`].
fn div_2by1(a: &mut Asm, u1: L, u0: L, d: L, inv: Option<L>, q: L, r: L) {
    match inv {
        Some(inv) => div_word_inv(a, u1, u0, d, inv, q, r),
        None => div_word(a, u1, u0, d, q, r),
    }
}

/// While `qd >= 2^32 || qd*vl > (rh:ud)`: `qd -= 1; rh += vh`, stopping once
/// `rh >= 2^32` (then the test can no longer succeed). Runs at most twice.
fn correct_half(a: &mut Asm, qd: L, rh: L, ud: L, vh: L, vl: L) {
    a.block().loop_();
    a.get(qd).k(M32).gt_u();
    a.get(qd).get(vl).mul().get(rh).k(32).shl().get(ud).or();
    a.gt_u().or32().eqz32().br_if(1);
    a.get(qd).k(1).sub().set(qd);
    a.get(rh).get(vh).add().tee(rh).k(M32).le_u().br_if(0);
    a.end().end();
}

/// Emit `if v[k-1] == 0 { <shorter> } else { case(k) }` down to `k == min`,
/// so `case(n)` runs with `n` = the number of significant limbs of `v`, which
/// the caller knows to be at least `min`.
fn by_len(a: &mut Asm, v: W, min: usize, k: usize, case: &mut dyn FnMut(&mut Asm, usize)) {
    if k == min {
        return case(a, k);
    }
    a.get(v[k - 1]).eqz().if_();
    by_len(a, v, min, k - 1, case);
    a.else_();
    case(a, k);
    a.end();
}

/// Knuth's algorithm D (TAOCP 4.3.1) for a dividend `u` of `u.len()` limbs
/// and a divisor `v` of `lens` significant limbs (so nonzero): writes
/// `u mod v` to `r` and, if asked, the quotient (which must fit in `q.len()`
/// limbs) to `q`. Only the lengths in `lens` get code.
///
/// Wasm locals cannot be indexed, so the code is specialised on `n`, the
/// limb length of `v`, and each specialisation runs a loop over the quotient
/// digits with the normalised dividend `un` kept as a shift register: every
/// step works on the fixed window `un[d-n ..= d]`, then everything moves up
/// one limb to bring in the next dividend limb. The quotient is shifted in
/// from the bottom the same way.
pub(super) fn divmod_core(
    a: &mut Asm,
    u: &[L],
    v: W,
    lens: RangeInclusive<usize>,
    q: Option<&[L]>,
    r: W,
) {
    let d = u.len();
    let un = a.l64s(d + 1);
    let vn = a.word();
    let [s, sc, inv, qh, rh, plo, phi, cy, t] = [0; 9].map(|_| a.l64());
    let (rovf, cnt) = (a.l32(), a.l32());
    if let Some(q) = q {
        for &l in q {
            a.mov(l, ZERO);
        }
    }
    // `x << s` with the top bits of the limb below: `(lower >> 1) >> (63 - s)`
    // (a plain `>> (64 - s)` would not shift at all for `s == 0`).
    let shl_limb = |a: &mut Asm, dst: L, x: Option<L>, lower: Option<L>| {
        match x {
            Some(x) => a.get(x).get(s).shl(),
            None => a.k(0),
        };
        if let Some(lower) = lower {
            a.get(lower).k(1).shr_u().get(sc).shr_u().or();
        }
        a.set(dst);
    };
    by_len(a, v, *lens.start(), *lens.end(), &mut |a, n| {
        // D1: normalise so that the top divisor limb has its top bit set.
        a.get(v[n - 1]).op(I::I64Clz).tee(s).k(63).xor().set(sc);
        for i in 0..n {
            shl_limb(a, vn[i], Some(v[i]), i.checked_sub(1).map(|j| v[j]));
        }
        shl_limb(a, un[d], None, Some(u[d - 1]));
        for i in 0..d {
            shl_limb(a, un[i], Some(u[i]), i.checked_sub(1).map(|j| u[j]));
        }
        let steps = d + 1 - n;
        // The reciprocal costs one `div_word`; it pays off from 3 digits on.
        let inv = (steps >= 3).then(|| {
            reciprocal(a, vn[n - 1], inv);
            inv
        });
        if steps > 1 {
            a.op(I::I32Const(steps as i32)).set(cnt);
            a.block().loop_();
        }
        if n == 1 {
            // Short division (the remainder limb un[d] is always < vn[0]),
            // skipping the leading zero digits of a short dividend.
            a.mov(qh, ZERO).block();
            a.get(un[d])
                .eqz()
                .get(un[d - 1])
                .get(vn[0])
                .lt_u()
                .and32()
                .br_if(0);
            div_2by1(a, un[d], un[d - 1], vn[0], inv, qh, un[d - 1]);
            a.end();
        } else {
            step(a, &un, &vn[..n], inv, [qh, rh, plo, phi, cy, t], rovf);
        }
        if let Some(q) = q {
            for i in (1..q.len()).rev() {
                a.mov(q[i], q[i - 1].into());
            }
            a.mov(q[0], qh.into());
        }
        if steps > 1 {
            a.get(cnt).op(I::I32Const(1)).op(I::I32Sub).tee(cnt);
            a.eqz32().br_if(1);
            // `un[d]` is 0 after every step; the value shifted into un[0] is
            // never read (only d - n shifts happen).
            for i in (1..=d).rev() {
                a.mov(un[i], un[i - 1].into());
            }
            a.br(0).end().end();
        }
        // D8: the remainder is un[d-n .. d] >> s.
        for i in 0..4 {
            if i + 1 < n {
                a.get(un[d - n + i]).get(s).shr_u();
                a.get(un[d - n + i + 1]).k(1).shl().get(sc).shl().or();
                a.set(r[i]);
            } else if i + 1 == n {
                a.get(un[d - 1]).get(s).shr_u().set(r[i]);
            } else {
                a.mov(r[i], ZERO);
            }
        }
    });
}

/// One quotient digit of algorithm D for `n = vn.len() >= 2` on the window
/// `un[d-n ..= d]`; leaves the digit in `qh` and the partial remainder in
/// `un[d-n .. d]` (`un[d]` is then zero and is not written).
fn step(a: &mut Asm, un: &[L], vn: &[L], inv: Option<L>, tmp: [L; 6], rovf: L) {
    let [qh, rh, plo, phi, cy, t] = tmp;
    let (d, n) = (un.len() - 1, vn.len());
    let (vt, v2) = (vn[n - 1], vn[n - 2]);
    a.block();
    // Fast skip: a window below `vt * B^(n-1)` gives digit 0. This is the
    // common case for the leading digits of a short dividend.
    a.mov(qh, ZERO);
    a.get(un[d]).eqz().get(un[d - 1]).get(vt).lt_u();
    a.and32().br_if(0);
    // D3: estimate qh = (un[d]:un[d-1]) / vt. un[d] <= vt always holds; on
    // equality the estimate is B-1 and rh = un[d-1] + vt may overflow.
    a.get(un[d]).get(vt).ge_u().if_();
    a.k(-1).set(qh);
    a.get(un[d - 1]).get(vt).add().tee(rh);
    a.get(vt).lt_u().set(rovf);
    a.else_();
    div_2by1(a, un[d], un[d - 1], vt, inv, qh, rh);
    a.op(I::I32Const(0)).set(rovf);
    a.end();
    // ... then refine with the second divisor limb: while qh*v2 > (rh:un[d-2])
    // (and rh < B), qh -= 1. After this qh is exact or one too large.
    a.block().loop_();
    a.get(rovf).br_if(1);
    a.mul_wide(qh, v2, plo, phi);
    a.get(phi).get(rh).gt_u();
    a.get(phi).get(rh).eq();
    a.get(plo).get(un[d - 2]).gt_u().and32();
    a.or32().eqz32().br_if(1);
    a.get(qh).k(1).sub().set(qh);
    a.get(rh).get(vt).add().tee(rh).get(vt).lt_u().set(rovf);
    a.br(0).end().end();
    // D4: un[d-n ..= d] -= qh * vn. `cy` carries the high product limb plus
    // the borrow; it cannot overflow since qh*vn[i] + cy < B^2 - B.
    for (i, &vi) in vn.iter().enumerate() {
        let k = d - n + i;
        a.mul_wide(qh, vi, plo, phi);
        if i > 0 {
            a.add_c(plo, cy.into(), phi);
        }
        a.get(phi).get(un[k]).get(plo).lt_u().extend().add().set(cy);
        a.get(un[k]).get(plo).sub().set(un[k]);
    }
    // D5/D6: a borrow out of the top limb means qh was one too large (rare,
    // probability ~2/2^64 on random inputs): add vn back once.
    a.get(un[d]).get(cy).lt_u().if_();
    a.get(qh).k(1).sub().set(qh).mov(cy, ZERO);
    for (i, &vi) in vn.iter().enumerate() {
        let k = d - n + i;
        a.mov(t, ZERO).add_c(un[k], vi.into(), t);
        if i > 0 {
            a.add_c(un[k], cy.into(), t);
        }
        a.mov(cy, t.into());
    }
    a.end();
    a.end();
}

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
