//! What compiled code reads of its frame without calling the host: the frame's constants
//! (ADDRESS, CALLER, CALLVALUE, the calldata), which the runtime lays out on every entry, and
//! storage slots the frame has already touched, from the storage cache. A host call costs a
//! switch off the Wasm stack and a round trip of operands; these opcodes are most of the host
//! calls of token and exchange contracts.

use revm::bytecode::opcode;
use wasm_encoder::InstructionSink;

use super::{
    ADDR, Emitter, Frame, T, TOP, WIDE, mem_arg_at, memory,
    stack::{self, Val},
    word,
};
use crate::abi;

impl Emitter<'_> {
    /// Pushes the word the runtime left at `at` (a frame constant).
    pub(super) fn frame_word(&mut self, at: u32) {
        let r = self.slots.alloc();
        for l in 0..4 {
            let local = self.slots.local(r, l);
            self.ins()
                .i32_const(0)
                .i64_load(mem_arg_at(at as u64 + 8 * l as u64, 3))
                .local_set(local);
        }
        self.vs.items.push(Val::Word(r));
    }

    pub(super) fn calldatasize(&mut self) {
        let r = self.slots.alloc();
        let local = self.slots.local(r, 0);
        self.ins()
            .i32_const(0)
            .i64_load(mem_arg_at(abi::CALLDATASIZE as u64, 3))
            .local_set(local);
        self.vs.items.push(Val::Small(r));
    }

    /// CALLDATALOAD: from the calldata window when the calldata fits it, else through the
    /// host. An offset at or past the length reads zero; one below it reads the 32 bytes
    /// there, the zeros after the calldata padding the word.
    pub(super) fn calldataload(&mut self, pc: u32, next: u32) {
        let offset = self.pop();
        self.flush();
        let r = self.slots.alloc();
        let mut ins = InstructionSink::new(&mut self.body);
        ins.i32_const(0)
            .i64_load(mem_arg_at(abi::CALLDATASIZE as u64, 3))
            .local_tee(T)
            .i64_const(abi::CALLDATA_WINDOW as i64)
            .i64_le_u();
        self.open(Frame::If);
        let mut ins = InstructionSink::new(&mut self.body);
        word::below(&mut ins, &self.slots, offset, |ins| {
            ins.local_get(T);
        });
        self.open(Frame::If);
        // Below the length, so below the window: the offset fits an address.
        let mut ins = InstructionSink::new(&mut self.body);
        stack::limb(&mut ins, &self.slots, offset, 0);
        ins.i32_wrap_i64().local_set(ADDR);
        let slots = &self.slots;
        memory::load_word(
            &mut ins,
            |ins| {
                ins.local_get(ADDR);
            },
            |plus| mem_arg_at(abi::CALLDATA as u64 + plus, 0),
            WIDE,
            |l| slots.local(r, l),
        );
        ins.else_();
        for l in 0..4 {
            ins.i64_const(0).local_set(self.slots.local(r, l));
        }
        self.close();
        self.ins().else_();
        self.host_value(opcode::CALLDATALOAD, pc, next, offset, r);
        self.close();
        self.slots.release(offset);
        self.vs.items.push(Val::Word(r));
    }

    /// SLOAD: from the storage cache when the slot is there (warm, so the section's static
    /// gas is all it costs), else through the host, which fills the entry.
    pub(super) fn sload(&mut self, pc: u32, next: u32) {
        let key = self.pop();
        // Both ways continue with the canonical stack below the key.
        self.flush();
        let mut ins = InstructionSink::new(&mut self.body);
        let slots = &self.slots;
        stack::limb(&mut ins, slots, key, 0);
        for (l, turn) in [(1, 16), (2, 32), (3, 48)] {
            stack::limb(&mut ins, slots, key, l);
            ins.i64_const(turn).i64_rotl().i64_xor();
        }
        ins.i64_const(abi::CACHE_HASH as i64)
            .i64_mul()
            .i64_const(64 - abi::CACHE_BITS as i64)
            .i64_shr_u()
            .i32_wrap_i64()
            .i32_const(abi::CACHE_ENTRY as i32)
            .i32_mul()
            .local_set(ADDR);
        let table = abi::STORAGE_CACHE as u64;
        ins.local_get(ADDR)
            .i32_load(mem_arg_at(table + abi::CACHE_ENTRY_EPOCH as u64, 2))
            .i32_const(0)
            .i32_load(mem_arg_at(abi::CACHE_EPOCH as u64, 2))
            .i32_eq();
        for l in 0..4 {
            ins.local_get(ADDR)
                .i64_load(mem_arg_at(table + 8 * l as u64, 3));
            stack::limb(&mut ins, slots, key, l);
            ins.i64_eq().i32_and();
        }
        let r = self.slots.alloc();
        self.open(Frame::If);
        for l in 0..4 {
            let value = mem_arg_at(table + abi::CACHE_VALUE as u64 + 8 * l as u64, 3);
            let local = self.slots.local(r, l);
            self.ins().local_get(ADDR).i64_load(value).local_set(local);
        }
        self.ins().else_();
        self.host_value(opcode::SLOAD, pc, next, key, r);
        self.close();
        self.slots.release(key);
        self.vs.items.push(Val::Word(r));
    }

    /// Runs a one-operand, one-result `opcode` through the host on a flushed stack and takes
    /// its result into slot `r`: the slow way of an opcode compiled code mostly answers itself.
    fn host_value(&mut self, opcode: u8, pc: u32, next: u32, operand: Val, r: u32) {
        self.slots.retain(operand);
        self.vs.items.push(operand);
        self.host(opcode, pc, next);
        for l in 0..4 {
            let local = self.slots.local(r, l);
            self.ins()
                .local_get(TOP)
                .i64_load(stack::stack_arg(0, l))
                .local_set(local);
        }
        self.ins()
            .local_get(TOP)
            .i32_const(32)
            .i32_add()
            .local_set(TOP);
    }
}
