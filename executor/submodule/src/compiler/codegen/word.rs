//! Inline 256-bit arithmetic on limbs: the cheap operations that are a handful of i64
//! instructions each, so a call would cost more than the work.

use revm::primitives::U256;
use wasm_encoder::InstructionSink;

use super::stack::{Slots, Val, limb};

/// Scratch i64 locals the inline operations use for carries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scratch {
    pub t: u32,
    pub c: u32,
    pub c2: u32,
}

/// `r = a + b` (mod 2^256).
pub(crate) fn add(
    ins: &mut InstructionSink<'_>,
    slots: &Slots,
    s: Scratch,
    a: Val,
    b: Val,
    r: u32,
) {
    limb(ins, slots, a, 0);
    limb(ins, slots, b, 0);
    ins.i64_add().local_tee(slots.local(r, 0));
    limb(ins, slots, a, 0);
    ins.i64_lt_u().i64_extend_i32_u().local_set(s.c);
    for i in 1..3 {
        limb(ins, slots, a, i);
        limb(ins, slots, b, i);
        ins.i64_add().local_tee(s.t);
        limb(ins, slots, a, i);
        ins.i64_lt_u().i64_extend_i32_u().local_set(s.c2);
        ins.local_get(s.t)
            .local_get(s.c)
            .i64_add()
            .local_tee(slots.local(r, i));
        ins.local_get(s.t)
            .i64_lt_u()
            .i64_extend_i32_u()
            .local_get(s.c2)
            .i64_or()
            .local_set(s.c);
    }
    limb(ins, slots, a, 3);
    limb(ins, slots, b, 3);
    ins.i64_add()
        .local_get(s.c)
        .i64_add()
        .local_set(slots.local(r, 3));
}

/// `r = a - b` (mod 2^256).
pub(crate) fn sub(
    ins: &mut InstructionSink<'_>,
    slots: &Slots,
    s: Scratch,
    a: Val,
    b: Val,
    r: u32,
) {
    limb(ins, slots, a, 0);
    limb(ins, slots, b, 0);
    ins.i64_sub().local_set(slots.local(r, 0));
    limb(ins, slots, a, 0);
    limb(ins, slots, b, 0);
    ins.i64_lt_u().i64_extend_i32_u().local_set(s.c);
    for i in 1..3 {
        limb(ins, slots, a, i);
        limb(ins, slots, b, i);
        ins.i64_sub().local_set(s.t);
        limb(ins, slots, a, i);
        limb(ins, slots, b, i);
        ins.i64_lt_u().i64_extend_i32_u().local_set(s.c2);
        ins.local_get(s.t)
            .local_get(s.c)
            .i64_sub()
            .local_set(slots.local(r, i));
        ins.local_get(s.t)
            .local_get(s.c)
            .i64_lt_u()
            .i64_extend_i32_u();
        ins.local_get(s.c2).i64_or().local_set(s.c);
    }
    limb(ins, slots, a, 3);
    limb(ins, slots, b, 3);
    ins.i64_sub()
        .local_get(s.c)
        .i64_sub()
        .local_set(slots.local(r, 3));
}

/// Leaves `x < y` (i32) on the operand stack; the top limb is compared signed for SLT.
pub(crate) fn less(ins: &mut InstructionSink<'_>, slots: &Slots, x: Val, y: Val, signed: bool) {
    limb(ins, slots, x, 0);
    limb(ins, slots, y, 0);
    ins.i64_lt_u();
    for i in 1..4 {
        limb(ins, slots, x, i);
        limb(ins, slots, y, i);
        ins.i64_eq().i32_and();
        limb(ins, slots, x, i);
        limb(ins, slots, y, i);
        if signed && i == 3 {
            ins.i64_lt_s();
        } else {
            ins.i64_lt_u();
        }
        ins.i32_or();
    }
}

/// Leaves `a == b` (i32) on the operand stack.
pub(crate) fn equal(ins: &mut InstructionSink<'_>, slots: &Slots, a: Val, b: Val) {
    for i in 0..4 {
        limb(ins, slots, a, i);
        limb(ins, slots, b, i);
        ins.i64_eq();
        if i > 0 {
            ins.i32_and();
        }
    }
}

/// Leaves `v < bound` (i32) on the operand stack, for a `bound` below 2^64 that `bound` pushes
/// as an i64: the high limbs are zero and the low one is below it.
pub(crate) fn below(
    ins: &mut InstructionSink<'_>,
    slots: &Slots,
    v: Val,
    bound: impl FnOnce(&mut InstructionSink<'_>),
) {
    limb(ins, slots, v, 1);
    limb(ins, slots, v, 2);
    ins.i64_or();
    limb(ins, slots, v, 3);
    ins.i64_or().i64_eqz();
    limb(ins, slots, v, 0);
    bound(ins);
    ins.i64_lt_u().i32_and();
}

/// Leaves `v == 0` (i32) on the operand stack.
pub(crate) fn is_zero(ins: &mut InstructionSink<'_>, slots: &Slots, v: Val) {
    limb(ins, slots, v, 0);
    for i in 1..4 {
        limb(ins, slots, v, i);
        ins.i64_or();
    }
    ins.i64_eqz();
}

/// Bitwise AND/OR/XOR limb by limb.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Bitwise {
    And,
    Or,
    Xor,
}

/// `r = a op b` over the low `limbs` limbs (1 when both fit 64 bits).
pub(crate) fn bitwise(
    ins: &mut InstructionSink<'_>,
    slots: &Slots,
    op: Bitwise,
    a: Val,
    b: Val,
    r: u32,
    limbs: usize,
) {
    for i in 0..limbs {
        limb(ins, slots, a, i);
        limb(ins, slots, b, i);
        match op {
            Bitwise::And => ins.i64_and(),
            Bitwise::Or => ins.i64_or(),
            Bitwise::Xor => ins.i64_xor(),
        };
        ins.local_set(slots.local(r, i));
    }
}

pub(crate) fn not(ins: &mut InstructionSink<'_>, slots: &Slots, a: Val, r: u32) {
    for i in 0..4 {
        limb(ins, slots, a, i);
        ins.i64_const(-1).i64_xor().local_set(slots.local(r, i));
    }
}

/// Folds an operation on two constants at compile time, as the interpreter would compute it.
pub(crate) fn fold(opcode: u8, a: U256, b: U256) -> Option<U256> {
    use revm::bytecode::opcode::*;
    let bool_word = |x: bool| U256::from(x as u8);
    Some(match opcode {
        ADD => a.wrapping_add(b),
        SUB => a.wrapping_sub(b),
        MUL => a.wrapping_mul(b),
        DIV => a.checked_div(b).unwrap_or_default(),
        MOD => a.checked_rem(b).unwrap_or_default(),
        AND => a & b,
        OR => a | b,
        XOR => a ^ b,
        EQ => bool_word(a == b),
        LT => bool_word(a < b),
        GT => bool_word(a > b),
        SHL => {
            if a < U256::from(256) {
                b << a.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        SHR => {
            if a < U256::from(256) {
                b >> a.to::<usize>()
            } else {
                U256::ZERO
            }
        }
        _ => return None,
    })
}
