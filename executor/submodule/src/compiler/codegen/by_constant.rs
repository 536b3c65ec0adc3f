//! Arithmetic whose shape a constant operand fixes: shifts by a constant amount, and DIV, MOD,
//! ADDMOD and MULMOD by a constant power of two. Solidity and hand-written hash code (shifts,
//! `x / 2**k`, `addmod(a, b, 2**64)`) use them in their hottest loops, and as a few limb
//! instructions inline they cost less than the call to the general helper.

use revm::{bytecode::opcode, primitives::U256};
use wasm_encoder::InstructionSink;

use super::{
    Emitter,
    stack::{Val, limb},
    word::{self, Bitwise},
};

/// How an opcode with a constant operand is computed inline.
enum Shape {
    /// `value << bits` or `value >> bits` (bits < 256).
    Shift { left: bool, value: Val, bits: usize },
    /// `x mod 2^bits`.
    Mask { x: Val, bits: usize },
    /// `(a + b) mod 2^bits` or `(a * b) mod 2^bits`, bits <= 64: low limbs only.
    LowLimb {
        add: bool,
        a: Val,
        b: Val,
        bits: usize,
    },
}

/// `log2(c)` if the constant `c` is a power of two.
fn power_of_two(v: Val) -> Option<usize> {
    match v {
        Val::Const(c) if c.is_power_of_two() => Some(c.trailing_zeros()),
        _ => None,
    }
}

/// The inline shape of `opcode` on `args` (top first), if a constant operand gives it one.
fn shape(opcode: u8, args: &[Val]) -> Option<Shape> {
    use opcode::*;
    Some(match (opcode, args) {
        (SHL | SHR, &[Val::Const(shift), value]) => Shape::Shift {
            left: opcode == SHL,
            value,
            // 256 and more shift everything out, as a shift by 256 does.
            bits: shift.saturating_to::<usize>().min(256),
        },
        (DIV, &[x, d]) => Shape::Shift {
            left: false,
            value: x,
            bits: power_of_two(d)?,
        },
        (MOD, &[x, d]) => Shape::Mask {
            x,
            bits: power_of_two(d)?,
        },
        (ADDMOD | MULMOD, &[a, b, n]) => Shape::LowLimb {
            add: opcode == ADDMOD,
            a,
            b,
            bits: power_of_two(n).filter(|&bits| bits <= 64)?,
        },
        _ => return None,
    })
}

/// The mask of the low `bits` (< 64) bits of a limb, or all of it.
fn low_bits(bits: usize) -> i64 {
    if bits >= 64 { -1 } else { (1i64 << bits) - 1 }
}

impl Emitter<'_> {
    /// Computes `opcode` on `args` inline when a constant operand allows it, pushing the
    /// result; false (nothing emitted) otherwise.
    pub(super) fn by_constant(&mut self, opcode: u8, args: &[Val]) -> bool {
        let Some(shape) = shape(opcode, args) else {
            return false;
        };
        let r = self.slots.alloc();
        let mut ins = InstructionSink::new(&mut self.body);
        let slots = &self.slots;
        let result = match shape {
            Shape::Shift { left, value, bits } => {
                for i in 0..4 {
                    shifted_limb(&mut ins, |ins, j| limb(ins, slots, value, j), left, bits, i);
                    ins.local_set(slots.local(r, i));
                }
                Val::Word(r)
            }
            Shape::Mask { x, bits } => {
                let mask = Val::Const((U256::from(1) << bits) - U256::from(1));
                let small = bits < 64;
                let limbs = if small { 1 } else { 4 };
                word::bitwise(&mut ins, slots, Bitwise::And, x, mask, r, limbs);
                if small { Val::Small(r) } else { Val::Word(r) }
            }
            Shape::LowLimb { add, a, b, bits } => {
                limb(&mut ins, slots, a, 0);
                limb(&mut ins, slots, b, 0);
                if add {
                    ins.i64_add();
                } else {
                    ins.i64_mul();
                }
                ins.i64_const(low_bits(bits))
                    .i64_and()
                    .local_set(slots.local(r, 0));
                Val::Small(r)
            }
        };
        for &v in args {
            self.slots.release(v);
        }
        self.vs.items.push(result);
        true
    }
}

/// Pushes limb `i` of a word shifted by `bits` (< 256 shifts, 256 clears), reading the word's
/// limbs with `get`.
fn shifted_limb(
    ins: &mut InstructionSink<'_>,
    get: impl Fn(&mut InstructionSink<'_>, usize),
    left: bool,
    bits: usize,
    i: usize,
) {
    let (whole, part) = (bits / 64, (bits % 64) as i64);
    // The source limb whose bits land in limb i unshifted across limbs, and its neighbour
    // that fills the vacated part.
    let (main, fill) = if left {
        (i.checked_sub(whole), i.checked_sub(whole + 1))
    } else {
        let main = Some(i + whole).filter(|&j| j < 4);
        (main, Some(i + whole + 1).filter(|&j| j < 4))
    };
    let Some(main) = main else {
        ins.i64_const(0);
        return;
    };
    get(ins, main);
    if part > 0 {
        ins.i64_const(part);
        if left {
            ins.i64_shl()
        } else {
            ins.i64_shr_u()
        };
        if let Some(fill) = fill {
            get(ins, fill);
            ins.i64_const(64 - part);
            if left {
                ins.i64_shr_u()
            } else {
                ins.i64_shl()
            };
            ins.i64_or();
        }
    }
}
