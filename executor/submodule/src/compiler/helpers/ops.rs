//! Multiplication, exponentiation and the bit-level helpers.

use wasm_encoder::{Function, Instruction as I};

use super::Helper;
use super::asm::{Asm, Src, W, ZERO};

fn word(w: W) -> [Src; 4] {
    w.map(Src::from)
}

/// Push the i32 condition "the high three limbs of `x` are zero".
fn fits64(a: &mut Asm, x: W) -> &mut Asm {
    a.is_zero(&x[1..])
}

/// Mul: `a * b mod 2^256`. Fast paths: both factors below 2^64 (one 64x64
/// product), one factor below 2^64 (a single row: 3 wide products instead
/// of 6, e.g. scaling by 10^18 or by a power of two).
pub(super) fn mul() -> Function {
    let mut a = Asm::new(8);
    let (x, y) = (Asm::param_word(0), Asm::param_word(1));
    let r = a.word();
    fits64(&mut a, x).if_();
    fits64(&mut a, y).if_();
    a.mul_wide(x[0], y[0], r[0], r[1])
        .ret(&[r[0].into(), r[1].into(), ZERO, ZERO]);
    a.end();
    a.mul_into(&x[..1], &y, &r).ret(&word(r)).end();
    fits64(&mut a, y).if_();
    a.mul_into(&y[..1], &x, &r).ret(&word(r)).end();
    a.mul_into(&x, &y, &r);
    a.finish(&word(r))
}

/// Exp: `a ** b mod 2^256`, left-to-right square-and-multiply over the bits
/// of `b` (multiplying by the original base keeps Mul on its one-limb fast
/// path for small bases such as 10). A power-of-two base `2^k` (2**x, 256**x
/// in Solidity) is a single shift: `2^(k*b)`, 0 once `k*b >= 256`.
pub(super) fn exp(idx: &dyn Fn(Helper) -> u32) -> Function {
    let mut a = Asm::new(8);
    let (base, e) = (Asm::param_word(0), Asm::param_word(1));
    let r = a.word();
    let (sh, bits, n) = (a.l64(), a.l64(), a.l64());
    let started = a.l32();
    a.popcnt(base).k(1).eq().if_();
    a.ge_small(e, 256).if_();
    // e >= 256: 1 ** e == 1, (2^k)**e == 0 for k >= 1.
    a.k(0).k(256).count_zeros(base, false);
    a.eqz().select().set(sh);
    a.else_();
    a.count_zeros(base, false).get(e[0]).mul().set(sh);
    a.end();
    for (i, &ri) in r.iter().enumerate() {
        a.k(1).get(sh).shl().k(0);
        a.get(sh).k(6).shr_u().k(i as i64).eq().select().set(ri);
    }
    a.ret(&word(r)).end();
    // General case: r = 1, then for each exponent bit from the top:
    // r = r*r, and r = r*base if the bit is set. Leading zero bits are
    // skipped by normalising the first nonzero limb with clz.
    a.k(1).set(r[0]);
    let mul = idx(Helper::Mul);
    for &limb in e.iter().rev() {
        a.get(limb).set(bits);
        a.get(started).eqz32().if_();
        a.k(64).get(bits).op(I::I64Clz).tee(n).sub();
        a.get(bits).get(n).shl().set(bits).set(n);
        a.else_().k(64).set(n).end();
        a.get(n).eqz().eqz32().if_();
        a.op(I::I32Const(1)).set(started);
        a.loop_();
        a.call(mul, &[r, r].concat()).pop(&r);
        a.get(bits).k(0).op(I::I64LtS).if_();
        a.call(mul, &[r, base].concat()).pop(&r).end();
        a.get(bits).k(1).shl().set(bits);
        a.get(n).k(1).sub().tee(n).eqz().eqz32().br_if(0);
        a.end().end();
    }
    a.finish(&word(r))
}

/// SignExtend: `a` = byte index k, `b` = value. For k < 31 the bit
/// t = 8k+7 is copied to all higher bits: limbs below t's limb are kept,
/// t's limb is sign-extended with a shift pair, limbs above get its sign.
pub(super) fn signextend() -> Function {
    let mut a = Asm::new(8);
    let (k, x) = (Asm::param_word(0), Asm::param_word(1));
    a.ge_small(k, 31).if_().ret(&word(x)).end();
    let (li, sh, ext, fill) = (a.l64(), a.l64(), a.l64(), a.l64());
    let r = a.word();
    // t = 8k + 7: limb li = t / 64, shift sh = 63 - t % 64
    a.get(k[0]).k(3).shl().k(7).or().tee(sh);
    a.k(6).shr_u().set(li);
    a.get(sh).k(63).and().k(63).xor().set(sh);
    a.pick(&x, li).get(sh).shl().get(sh).shr_s().tee(ext);
    a.k(63).shr_s().set(fill);
    for i in 0..4 {
        if i < 3 {
            a.get(x[i]);
        }
        a.get(ext).get(fill).get(li).k(i as i64).eq().select();
        if i < 3 {
            a.get(li).k(i as i64).gt_u().select();
        }
        a.set(r[i]);
    }
    a.finish(&word(r))
}

/// The three shifts: `a` = amount, `b` = value; amounts >= 256 give 0
/// (or the sign fill for Sar).
pub(super) fn shift(h: Helper) -> Function {
    let mut a = Asm::new(8);
    let (s, x) = (Asm::param_word(0), Asm::param_word(1));
    let r = a.word();
    let fill = if h == Helper::Sar {
        let f = a.l64();
        a.get(x[3]).k(63).shr_s().set(f);
        Src::Local(f)
    } else {
        ZERO
    };
    a.ge_small(s, 256).if_().ret(&[fill; 4]).end();
    if h == Helper::Shl {
        a.shl_word(x, s[0], r);
    } else {
        a.shr_word(x, s[0], fill, r);
    }
    a.finish(&word(r))
}

/// Byte: `a` = index i, `b` = value; byte i counted from the most
/// significant end, 0 for i >= 32.
pub(super) fn byte() -> Function {
    let mut a = Asm::new(8);
    let (i, x) = (Asm::param_word(0), Asm::param_word(1));
    a.ge_small(i, 32).if_().ret(&[ZERO; 4]).end();
    let (li, r) = (a.l64(), a.l64());
    a.k(3).get(i[0]).k(3).shr_u().sub().set(li);
    a.pick(&x, li).k(56).get(i[0]).k(7).and().k(3).shl().sub();
    a.shr_u().k(0xff).and().set(r);
    a.finish(&[r.into(), ZERO, ZERO, ZERO])
}

/// Clz: leading zero bits of `a` (256 for 0).
pub(super) fn clz() -> Function {
    let mut a = Asm::new(4);
    let r = a.l64();
    a.count_zeros(Asm::param_word(0), true).set(r);
    a.finish(&[r.into(), ZERO, ZERO, ZERO])
}
