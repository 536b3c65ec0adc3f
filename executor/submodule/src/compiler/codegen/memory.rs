//! EVM memory inside the submodule's linear memory: expansion with its exact quadratic gas,
//! and the big-endian word loads and stores of MLOAD/MSTORE/MSTORE8.

use wasm_encoder::{Function, InstructionSink, MemArg, ValType};

use super::{GasRules, mem_arg_at};

use crate::abi::{MEM_BASE, MEM_CAPACITY, MEM_COST, MEMORY_GROWN, PAGE};

/// `expand(gas, msize, end) -> (gas, msize)`: grows EVM memory to cover `end` bytes, charging
/// the difference of the quadratic cost, growing the Wasm memory if needed and zeroing the newly
/// exposed bytes (an instance is reused across frames, so old contents must never show).
/// Returns `msize = -1` when gas or memory runs out.
pub(crate) fn expand_function(gas_rule: GasRules) -> Function {
    // params: 0 gas, 1 msize, 2 end; locals: 3 words, 4 new_cost, 5 cost, 6 new_msize,
    // 7 pages, 8 needed
    let mut f = Function::new([(4, ValType::I64), (2, ValType::I32)]);
    let (gas, msize, end, words, new_cost, cost, new_msize) = (0, 1, 2, 3, 4, 5, 6);
    let (pages, needed) = (7, 8);
    let mut ins = f.instructions();
    ins.local_get(end)
        .i64_const(31)
        .i64_add()
        .i64_const(5)
        .i64_shr_u()
        .local_set(words);
    ins.local_get(words)
        .i64_const(gas_rule.memory_linear as i64)
        .i64_mul();
    ins.local_get(words).local_get(words).i64_mul();
    ins.i64_const(gas_rule.memory_quadratic_reduction as i64)
        .i64_div_u()
        .i64_add()
        .local_tee(new_cost);
    ins.i32_const(0)
        .i64_load(super::ctrl(MEM_COST, 3))
        .i64_sub()
        .local_set(cost);
    ins.local_get(gas)
        .local_get(cost)
        .i64_lt_u()
        .if_(wasm_encoder::BlockType::Empty);
    ins.local_get(gas).i64_const(-1).return_().end();
    ins.local_get(words)
        .i64_const(5)
        .i64_shl()
        .local_set(new_msize);
    // Linear memory known to be there covers most expansions; past it, the pages needed for
    // MEM_BASE + new_msize bytes minus the pages present are grown, and what is there noted.
    ins.local_get(new_msize)
        .i64_const(MEM_BASE as i64)
        .i64_add()
        .i32_const(0)
        .i64_load(super::ctrl(MEM_CAPACITY, 3))
        .i64_gt_u()
        .if_(wasm_encoder::BlockType::Empty);
    ins.local_get(new_msize)
        .i64_const(MEM_BASE as i64 + PAGE as i64 - 1)
        .i64_add();
    ins.i64_const(16)
        .i64_shr_u()
        .i32_wrap_i64()
        .local_tee(needed)
        .memory_size(0)
        .i32_sub()
        .local_tee(pages);
    ins.i32_const(0)
        .i32_gt_s()
        .if_(wasm_encoder::BlockType::Empty);
    ins.local_get(pages).memory_grow(0).i32_const(-1).i32_eq();
    ins.if_(wasm_encoder::BlockType::Empty);
    ins.local_get(gas).i64_const(-1).return_().end();
    ins.i32_const(0)
        .i32_const(1)
        .i32_store(super::ctrl(MEMORY_GROWN, 2));
    ins.end();
    // Present now: the pages needed, or more if the pages were there already.
    ins.i32_const(0)
        .local_get(needed)
        .i32_const(0)
        .local_get(pages)
        .local_get(pages)
        .i32_const(0)
        .i32_gt_s()
        .select()
        .i32_sub()
        .i64_extend_i32_u()
        .i64_const(16)
        .i64_shl()
        .i64_store(super::ctrl(MEM_CAPACITY, 3));
    ins.end();
    ins.local_get(msize)
        .i32_wrap_i64()
        .i32_const(MEM_BASE as i32)
        .i32_add();
    ins.i32_const(0);
    ins.local_get(new_msize)
        .local_get(msize)
        .i64_sub()
        .i32_wrap_i64();
    ins.memory_fill(0);
    ins.i32_const(0)
        .local_get(new_cost)
        .i64_store(super::ctrl(MEM_COST, 3));
    ins.local_get(gas)
        .local_get(cost)
        .i64_sub()
        .local_get(new_msize);
    ins.end();
    f
}

/// Lane order that reverses the 16 bytes of a v128: EVM memory is big-endian, limbs are
/// little-endian, and Wasm has no scalar byte swap.
pub(crate) const REVERSE: [u8; 16] = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

/// Memory argument for the 8 bytes at `MEM_BASE + address + at`.
pub(crate) fn mem_arg(at: u64, align: u32) -> MemArg {
    mem_arg_at(MEM_BASE as u64 + at, align)
}

/// Loads the 32 big-endian bytes at the address `base` pushes (plus the offset in `arg(0)`)
/// into the limbs `limb(0..4)`, by way of the v128 local `wide`: each 16-byte half,
/// byte-reversed, holds two limbs (bytes 0..16 are limbs 3 and 2).
pub(crate) fn load_word(
    ins: &mut InstructionSink<'_>,
    base: impl Fn(&mut InstructionSink<'_>),
    arg: impl Fn(u64) -> MemArg,
    wide: u32,
    limb: impl Fn(usize) -> u32,
) {
    for half in 0..2 {
        base(ins);
        ins.v128_load(arg(16 * half as u64));
        ins.local_tee(wide)
            .local_get(wide)
            .i8x16_shuffle(REVERSE)
            .local_tee(wide);
        ins.i64x2_extract_lane(0).local_set(limb(2 - 2 * half));
        ins.local_get(wide).i64x2_extract_lane(1);
        ins.local_set(limb(3 - 2 * half));
    }
}
