//! A tiny assembler over `wasm_encoder` plus the limb-level building blocks
//! shared by the helper bodies (64x64->128 multiply, add/sub with carry,
//! comparisons, dynamic shifts and selects).
//!
//! Everything works on locals: a 256-bit word is a `[u32; 4]` of local indices
//! (limb 0 least significant). Instructions are chained, e.g.
//! `a.get(x).k(32).shr_u().set(t)`. Control flow only uses
//! `BlockType::Empty` blocks, so the bodies never need a type index of the
//! module they end up in.

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

/// A local index.
pub(crate) type L = u32;
/// A 256-bit word held in four i64 locals, least significant limb first.
pub(crate) type W = [L; 4];

/// An instruction operand: a local or an i64 constant.
#[derive(Clone, Copy)]
pub(crate) enum Src {
    Local(L),
    Const(i64),
}
pub(crate) const ZERO: Src = Src::Const(0);

impl From<L> for Src {
    fn from(l: L) -> Self {
        Src::Local(l)
    }
}

/// Chainable one-instruction methods, e.g. `add => I64Add`.
macro_rules! i64_ops {
    ($($name:ident => $ins:ident,)*) => {
        $(pub(crate) fn $name(&mut self) -> &mut Self {
            self.op(I::$ins)
        })*
    };
}

/// Body under construction: the instruction list and the declared locals.
pub(crate) struct Asm {
    nparams: u32,
    locals: Vec<ValType>,
    code: Vec<I<'static>>,
    /// Scratch locals of the leaf emitters, allocated once per body.
    scratch: HashMap<&'static str, Vec<L>>,
}

impl Asm {
    pub(crate) fn new(nparams: usize) -> Self {
        Asm {
            nparams: nparams as u32,
            locals: Vec::new(),
            code: Vec::new(),
            scratch: HashMap::new(),
        }
    }

    /// The i64 params `4*i .. 4*i+4` as a word.
    pub(crate) fn param_word(i: u32) -> W {
        [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]
    }

    fn local(&mut self, ty: ValType) -> L {
        self.locals.push(ty);
        self.nparams + self.locals.len() as u32 - 1
    }
    pub(crate) fn l64(&mut self) -> L {
        self.local(ValType::I64)
    }
    pub(crate) fn l32(&mut self) -> L {
        self.local(ValType::I32)
    }
    pub(crate) fn word(&mut self) -> W {
        [self.l64(), self.l64(), self.l64(), self.l64()]
    }
    pub(crate) fn l64s(&mut self, n: usize) -> Vec<L> {
        (0..n).map(|_| self.l64()).collect()
    }
    /// `n` i64 scratch locals reserved under `key` (shared by every use of `key`).
    pub(crate) fn scratch(&mut self, key: &'static str, n: usize) -> Vec<L> {
        if let Some(v) = self.scratch.get(key) {
            return v.clone();
        }
        let v = self.l64s(n);
        self.scratch.insert(key, v.clone());
        v
    }

    pub(crate) fn op(&mut self, i: I<'static>) -> &mut Self {
        self.code.push(i);
        self
    }
    // Operators, named after the Wasm instructions (i64 unless suffixed 32).
    i64_ops! {
        add => I64Add,
        sub => I64Sub,
        mul => I64Mul,
        and => I64And,
        or => I64Or,
        xor => I64Xor,
        shl => I64Shl,
        shr_u => I64ShrU,
        shr_s => I64ShrS,
        lt_u => I64LtU,
        le_u => I64LeU,
        gt_u => I64GtU,
        ge_u => I64GeU,
        eq => I64Eq,
        ne => I64Ne,
        eqz => I64Eqz,
        div_u => I64DivU,
        extend => I64ExtendI32U,
        wrap => I32WrapI64,
        and32 => I32And,
        or32 => I32Or,
        eqz32 => I32Eqz,
        select => Select,
    }
    pub(crate) fn br(&mut self, depth: u32) -> &mut Self {
        self.op(I::Br(depth))
    }
    pub(crate) fn br_if(&mut self, depth: u32) -> &mut Self {
        self.op(I::BrIf(depth))
    }
    pub(crate) fn get(&mut self, l: L) -> &mut Self {
        self.op(I::LocalGet(l))
    }
    pub(crate) fn set(&mut self, l: L) -> &mut Self {
        self.op(I::LocalSet(l))
    }
    pub(crate) fn tee(&mut self, l: L) -> &mut Self {
        self.op(I::LocalTee(l))
    }
    pub(crate) fn k(&mut self, v: i64) -> &mut Self {
        self.op(I::I64Const(v))
    }
    pub(crate) fn push(&mut self, s: Src) -> &mut Self {
        match s {
            Src::Local(l) => self.get(l),
            Src::Const(v) => self.k(v),
        }
    }
    /// `dst = src`
    pub(crate) fn mov(&mut self, dst: L, src: Src) -> &mut Self {
        self.push(src).set(dst)
    }
    pub(crate) fn if_(&mut self) -> &mut Self {
        self.op(I::If(BlockType::Empty))
    }
    pub(crate) fn block(&mut self) -> &mut Self {
        self.op(I::Block(BlockType::Empty))
    }
    pub(crate) fn loop_(&mut self) -> &mut Self {
        self.op(I::Loop(BlockType::Empty))
    }
    pub(crate) fn else_(&mut self) -> &mut Self {
        self.op(I::Else)
    }
    pub(crate) fn end(&mut self) -> &mut Self {
        self.op(I::End)
    }
    /// Push `vals` and return them from the function.
    pub(crate) fn ret(&mut self, vals: &[Src]) -> &mut Self {
        for &v in vals {
            self.push(v);
        }
        self.op(I::Return)
    }
    /// Pop `dst.len()` values from the stack into `dst` (last one on top).
    pub(crate) fn pop(&mut self, dst: &[L]) -> &mut Self {
        for &l in dst.iter().rev() {
            self.set(l);
        }
        self
    }
    pub(crate) fn call(&mut self, f: u32, args: &[L]) -> &mut Self {
        for &l in args {
            self.get(l);
        }
        self.op(I::Call(f))
    }
    /// Finish the body, leaving `results` on the stack.
    pub(crate) fn finish(mut self, results: &[Src]) -> Function {
        for &r in results {
            self.push(r);
        }
        self.op(I::End);
        let mut f = Function::new_with_locals_types(self.locals);
        for i in &self.code {
            f.instruction(i);
        }
        f
    }

    /// Push the i32 condition `x == 0` (all limbs of `x`).
    pub(crate) fn is_zero(&mut self, x: &[L]) -> &mut Self {
        self.get(x[0]);
        for &l in &x[1..] {
            self.get(l).or();
        }
        self.eqz()
    }
    /// Push the i32 condition `x < y` (unsigned, same limb count). Built
    /// branch-free from the low limb up: `lt = x_i < y_i | (x_i == y_i & lt)`.
    pub(crate) fn lt(&mut self, x: &[L], y: &[L]) -> &mut Self {
        self.get(x[0]).get(y[0]).lt_u();
        for i in 1..x.len() {
            self.get(x[i]).get(y[i]).eq().and32();
            self.get(x[i]).get(y[i]).lt_u().or32();
        }
        self
    }
    /// Push the i32 condition "the word `x` is >= `limit`" for a small `limit`.
    pub(crate) fn ge_small(&mut self, x: W, limit: i64) -> &mut Self {
        self.get(x[1]).get(x[2]).or().get(x[3]).or().k(0).ne();
        self.get(x[0]).k(limit).ge_u().or32()
    }

    /// Push the i32 condition `x != 0` for one limb.
    pub(crate) fn nz(&mut self, x: L) -> &mut Self {
        self.get(x).k(0).ne()
    }
    /// Push the i64 population count of a word.
    pub(crate) fn popcnt(&mut self, x: W) -> &mut Self {
        self.get(x[0]).op(I::I64Popcnt);
        for &l in &x[1..] {
            self.get(l).op(I::I64Popcnt).add();
        }
        self
    }
    /// Push `vals[idx]` for an i64 `idx < vals.len()`, as a nest of selects.
    pub(crate) fn pick(&mut self, vals: &[L], idx: L) -> &mut Self {
        for &v in vals {
            self.get(v);
        }
        for k in (0..vals.len() - 1).rev() {
            self.get(idx).k(k as i64).eq().select();
        }
        self
    }
    /// Push the i64 count of leading (or trailing) zero bits of a word; 256 for 0.
    /// Limb counts are combined with selects: `clz(0) == 64` makes the last
    /// candidate right for the all-zero word too.
    pub(crate) fn count_zeros(&mut self, x: W, leading: bool) -> &mut Self {
        let (order, op) = if leading {
            ([x[3], x[2], x[1], x[0]], I::I64Clz)
        } else {
            ([x[0], x[1], x[2], x[3]], I::I64Ctz)
        };
        for (k, &l) in order.iter().enumerate() {
            self.get(l).op(op.clone());
            if k > 0 {
                self.k(64 * k as i64).add();
            }
        }
        for &l in order[..3].iter().rev() {
            self.nz(l).select();
        }
        self
    }

    /// `carry:acc += x` as one 128-bit add (`i64.add128`): an add whose carry out is
    /// accumulated in `carry`.
    pub(crate) fn add_c(&mut self, acc: L, x: Src, carry: L) -> &mut Self {
        self.get(acc).get(carry).push(x).k(0).op(I::I64Add128);
        self.set(carry).set(acc)
    }
    /// `out = x + y`; returns a new local holding the carry out (0 or 1).
    /// `out` may be `x`. As in [`Self::sub_limbs`], each limb is one 128-bit
    /// add (`i64.add128`, an add/adc pair) whose high half is the carry, and
    /// the previous carry is added as a second 128-bit value: a limb sum of
    /// `2^64 - 1` and a carry in never carry twice.
    pub(crate) fn add_word(&mut self, x: W, y: W, out: W) -> L {
        let c = self.l64();
        for i in 0..4 {
            self.get(x[i]).k(0).get(y[i]).k(0).op(I::I64Add128);
            if i > 0 {
                self.get(c).k(0).op(I::I64Add128);
            }
            self.set(c).set(out[i]);
        }
        c
    }
    /// `out = x - y` (mod 2^256); the borrow out is dropped. `out` may be `x`.
    pub(crate) fn sub_word(&mut self, x: W, y: [Src; 4], out: W) -> &mut Self {
        self.sub_limbs(&x, &y, &out)
    }
    /// `out = x - y` modulo `2^(64 * x.len())` (same limb counts); the borrow
    /// out is dropped. `out` may be `x`. Each limb is one 128-bit subtract
    /// (`i64.sub128`, a sub/sbb pair) whose high half, 0 or -1, is the borrow;
    /// the previous borrow is added as that same 128-bit value. The sum stays
    /// within one borrow: a limb difference of 0 never borrows itself.
    pub(crate) fn sub_limbs(&mut self, x: &[L], y: &[Src], out: &[L]) -> &mut Self {
        let borrow = self.scratch("sub_word", 1)[0];
        for i in 0..x.len() {
            self.get(x[i]).k(0).push(y[i]).k(0).op(I::I64Sub128);
            if i > 0 {
                self.get(borrow).get(borrow).op(I::I64Add128);
            }
            self.set(borrow).set(out[i]);
        }
        self
    }
    /// Two's complement negation of `x` in place when `mask` is all ones
    /// (leave it when 0): `x = (x ^ mask) - mask`, the subtraction borrowing
    /// through [`Self::sub_limbs`] with `mask` as every limb of the word `-1`.
    pub(crate) fn neg_if(&mut self, x: W, mask: L) -> &mut Self {
        for &l in &x {
            self.get(l).get(mask).xor().set(l);
        }
        self.sub_limbs(&x, &[mask.into(); 4], &x)
    }

    /// `(lo, hi) = x * y` as a full 128-bit product (wide-arithmetic's `i64.mul_wide_u`, one
    /// native multiply). `lo`/`hi` may alias `x`/`y`: the inputs are read first.
    pub(crate) fn mul_wide(&mut self, x: L, y: L, lo: L, hi: L) -> &mut Self {
        self.get(x).get(y).op(I::I64MulWideU).set(hi).set(lo)
    }
    /// `out = x * y` truncated to `out.len()` limbs (schoolbook, one row per
    /// limb of `x`). The top output limb only needs the low half of its
    /// products, so it uses a plain `i64.mul`. `out` must not alias `x`/`y`.
    pub(crate) fn mul_into(&mut self, x: &[L], y: &[L], out: &[L]) -> &mut Self {
        self.mul_from(x, y, out, 0)
    }
    /// [`Self::mul_into`] without the partial products below limb `from`, for
    /// a caller that wants only the top limbs and can absorb a small shortfall:
    /// `out[from..]`, read as a number times `B^from`, falls short of the
    /// product by less than `(from + 1) * B^(from + 1)`. `out[..from]` are left
    /// as they were. `from` must be below `y.len()`.
    pub(crate) fn mul_from(&mut self, x: &[L], y: &[L], out: &[L], from: usize) -> &mut Self {
        debug_assert!(from < y.len());
        let s = self.scratch("mul_into", 3);
        let (lo, hi, cy) = (s[0], s[1], s[2]);
        let top = out.len() - 1;
        for (i, &xi) in x.iter().enumerate() {
            let j0 = from.saturating_sub(i);
            for (j, &yj) in y.iter().enumerate().skip(j0) {
                let k = i + j;
                if k > top {
                    break;
                }
                if k == top {
                    self.get(xi).get(yj).mul();
                    if i > 0 {
                        self.get(out[k]).add();
                    }
                    if j > j0 {
                        self.get(cy).add();
                    }
                    self.set(out[k]);
                    continue;
                }
                self.mul_wide(xi, yj, lo, hi);
                if i > 0 {
                    self.add_c(lo, out[k].into(), hi);
                }
                if j > j0 {
                    self.add_c(lo, cy.into(), hi);
                }
                self.mov(out[k], lo.into()).mov(cy, hi.into());
            }
            if i + y.len() <= top {
                self.mov(out[i + y.len()], cy.into());
            }
        }
        self
    }

    /// Emit a `br_table` dispatch on the i32 local `sel` (must be `< n`):
    /// `case(asm, k)` is emitted for each `k` and control continues after the
    /// whole switch.
    pub(crate) fn switch(&mut self, sel: L, n: usize, case: &mut dyn FnMut(&mut Asm, usize)) {
        for _ in 0..=n {
            self.op(I::Block(BlockType::Empty));
        }
        let targets: Vec<u32> = (0..n as u32).collect();
        self.get(sel).op(I::BrTable(targets.into(), n as u32 - 1));
        for k in 0..n {
            self.end();
            case(self, k);
            if k + 1 < n {
                self.op(I::Br((n - 1 - k) as u32));
            }
        }
        self.end();
    }
    /// Split a shift amount `s < 256` into the limb count (i32 local, returned
    /// first) and the bit shift `rb = s & 63` and `rc = 63 - rb` (i64 locals).
    fn shift_parts(&mut self, s: L) -> (L, L, L) {
        let q = self.l32();
        let p = self.scratch("shift", 2);
        self.get(s).k(6).shr_u().wrap().set(q);
        self.get(s).k(63).and().tee(p[0]).k(63).xor().set(p[1]);
        (q, p[0], p[1])
    }
    /// `out = x >> s` for `s < 256`, shifting in copies of `fill` (0 for a
    /// logical shift, the sign mask for an arithmetic one). The bits that
    /// cross a limb boundary are `(next << 1) << (63 - rb)`: shifting by
    /// `64 - rb` directly would be a no-op shift by 64 when `rb == 0`.
    pub(crate) fn shr_word(&mut self, x: W, s: L, fill: Src, out: W) {
        let (q, rb, rc) = self.shift_parts(s);
        self.switch(q, 4, &mut |a, k| {
            for (i, &o) in out.iter().enumerate() {
                let j = i + k;
                if j >= 4 {
                    a.mov(o, fill);
                    continue;
                }
                a.get(x[j]).get(rb).shr_u();
                let next = if j == 3 { fill } else { Src::Local(x[j + 1]) };
                if !matches!(next, Src::Const(0)) {
                    a.push(next).k(1).shl().get(rc).shl().or();
                }
                a.set(o);
            }
        });
    }
    /// `out = x << s` for `s < 256` (see [`Asm::shr_word`] for the carry trick).
    pub(crate) fn shl_word(&mut self, x: W, s: L, out: W) {
        let (q, rb, rc) = self.shift_parts(s);
        self.switch(q, 4, &mut |a, k| {
            for (i, &o) in out.iter().enumerate() {
                if i < k {
                    a.mov(o, ZERO);
                    continue;
                }
                let j = i - k;
                a.get(x[j]).get(rb).shl();
                if j > 0 {
                    a.get(x[j - 1]).k(1).shr_u().get(rc).shr_u().or();
                }
                a.set(o);
            }
        });
    }
}
