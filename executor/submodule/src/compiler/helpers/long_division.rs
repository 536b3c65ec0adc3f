//! Long division of words by words: Knuth's algorithm D (TAOCP 4.3.1) over 64-bit limbs and
//! the two-by-one digit divisions under it. DivMod and Barrett's reduction (for its constant)
//! both divide with it, so it sits below them both.

use std::ops::RangeInclusive;

use wasm_encoder::Instruction as I;

use super::asm::{Asm, L, W, ZERO};

const M32: i64 = 0xffff_ffff;

/// `(q, r) = (u1:u0) / v` for a normalised `v` (top bit set) and `u1 < v`,
/// so `q` fits in 64 bits. Wasm only divides 64 by 64 bits, so this is two
/// 64/32 steps on 32-bit half digits (Hacker's Delight `divlu`), each with
/// at most two corrections of the estimated half digit. `q`/`r` may alias
/// the inputs.
pub(super) fn div_word(a: &mut Asm, u1: L, u0: L, v: L, q: L, r: L) {
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
