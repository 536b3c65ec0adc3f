//! Lowering of the instructions that address EVM memory themselves (MLOAD, MSTORE, MSTORE8,
//! KECCAK256): offsets checked and memory expanded inline with the exact gas, and the
//! interpreter taking over where only it can decide the outcome.

use revm::primitives::U256;
use wasm_encoder::InstructionSink;

use super::{
    ADDR, C, C2, END, EXPAND, Emitter, Frame, GAS, KECCAK, MSIZE, T, WIDE,
    memory::{self, REVERSE, mem_arg},
    stack::{self, Val},
};

use crate::abi;

impl Emitter<'_> {
    /// Validates a memory offset and expands memory to `offset + len`, returning where the
    /// bytes are. The interpreter takes over where an offset is huge or the gas runs short (a
    /// constant huge offset leaves the point unreachable).
    fn memory_access(&mut self, offset: Val, len: Len) -> At {
        let at = match offset {
            Val::Const(c) => {
                let Some(at) = u64::try_from(c).ok().filter(|&at| at <= abi::MEM_LIMIT) else {
                    self.redo();
                    self.reachable = false;
                    return At::Const(0);
                };
                self.ins().i64_const(at as i64);
                At::Const(at)
            }
            _ => {
                self.memory_operand(offset);
                self.ins().local_tee(T).i32_wrap_i64().local_set(ADDR);
                self.ins().local_get(T);
                At::Addr
            }
        };
        match len {
            Len::Const(len) => self.ins().i64_const(len as i64),
            Len::Local(len) => self.ins().local_get(len),
        };
        self.ins().i64_add().local_set(END);
        self.expand_to_end();
        at
    }

    /// Hands over to the interpreter unless the word `v` is a memory offset or length revm
    /// would accept, leaving its low limb on the operand stack: above `MEM_LIMIT` no gas limit
    /// pays for the memory.
    fn memory_operand(&mut self, v: Val) {
        let mut ins = InstructionSink::new(&mut self.body);
        stack::limb(&mut ins, &self.slots, v, 1);
        stack::limb(&mut ins, &self.slots, v, 2);
        ins.i64_or();
        stack::limb(&mut ins, &self.slots, v, 3);
        ins.i64_or().i64_const(0).i64_ne();
        stack::limb(&mut ins, &self.slots, v, 0);
        ins.i64_const(abi::MEM_LIMIT as i64).i64_gt_u().i32_or();
        self.redo_if();
        let mut ins = InstructionSink::new(&mut self.body);
        stack::limb(&mut ins, &self.slots, v, 0);
    }

    /// KECCAK256 as revm runs it: the length is checked and its word gas charged first; an
    /// empty input hashes to the constant without looking at the offset; otherwise memory is
    /// expanded over the input and the import hashes it in place.
    pub(super) fn keccak(&mut self) {
        let offset = self.pop();
        let len = self.pop();
        self.memory_operand(len);
        self.ins().local_set(C);
        // The word gas is charged first, as revm charges it; a failing expansion then hands
        // over with it given back.
        let per_word = self.gas_rules.keccak_word as i64;
        self.ins()
            .local_get(C)
            .i64_const(31)
            .i64_add()
            .i64_const(5)
            .i64_shr_u()
            .i64_const(per_word)
            .i64_mul()
            .local_set(C2);
        self.charge_local(C2);
        self.redo.refund = Some(C2);
        let r = self.slots.alloc();
        self.ins().local_get(C).i64_eqz();
        self.open(Frame::If);
        let empty = U256::from_be_bytes(revm::primitives::KECCAK_EMPTY.0);
        for (i, limb) in empty.as_limbs().iter().enumerate() {
            let local = self.slots.local(r, i);
            self.ins().i64_const(*limb as i64).local_set(local);
        }
        self.ins().else_();
        let at = self.memory_access(offset, Len::Local(C));
        if self.reachable {
            let mut ins = InstructionSink::new(&mut self.body);
            at.address(&mut ins);
            ins.local_get(C).i32_wrap_i64().call(KECCAK);
            for i in (0..4).rev() {
                ins.local_set(self.slots.local(r, i));
            }
        }
        self.close();
        // A constant offset too large ends the non-empty branch only.
        self.reachable = true;
        self.slots.release(offset);
        self.slots.release(len);
        self.vs.items.push(Val::Word(r));
    }

    /// Calls the expansion helper when `END` is beyond the current memory size.
    fn expand_to_end(&mut self) {
        self.ins().local_get(END).local_get(MSIZE).i64_gt_u();
        self.open(Frame::If);
        self.ins()
            .local_get(GAS)
            .local_get(MSIZE)
            .local_get(END)
            .call(EXPAND);
        // On failure the size comes back as -1 and the gas as it was: the interpreter must
        // see the old size.
        self.ins().local_set(T).local_set(GAS);
        self.ins().local_get(T).i64_const(-1).i64_eq();
        self.redo_if();
        self.ins().local_get(T).local_set(MSIZE);
        self.close();
    }

    pub(super) fn mload(&mut self) {
        let offset = self.pop();
        let at = self.memory_access(offset, Len::Const(32));
        self.slots.release(offset);
        if !self.reachable {
            return;
        }
        let r = self.slots.alloc();
        let mut ins = InstructionSink::new(&mut self.body);
        let slots = &self.slots;
        memory::load_word(
            &mut ins,
            |ins| at.base(ins),
            |plus| at.arg(plus),
            WIDE,
            |l| slots.local(r, l),
        );
        self.vs.items.push(Val::Word(r));
    }

    pub(super) fn mstore(&mut self, single_byte: bool) {
        let offset = self.pop();
        let value = self.pop();
        let at = self.memory_access(offset, Len::Const(if single_byte { 1 } else { 32 }));
        self.slots.release(offset);
        if self.reachable {
            let mut ins = InstructionSink::new(&mut self.body);
            if single_byte {
                at.base(&mut ins);
                stack::limb(&mut ins, &self.slots, value, 0);
                ins.i64_store8(at.arg(0));
            }
            for half in (0..2).filter(|_| !single_byte) {
                at.base(&mut ins);
                stack::limb(&mut ins, &self.slots, value, 2 - 2 * half);
                ins.i64x2_splat();
                stack::limb(&mut ins, &self.slots, value, 3 - 2 * half);
                ins.i64x2_replace_lane(1);
                ins.local_tee(WIDE).local_get(WIDE).i8x16_shuffle(REVERSE);
                ins.v128_store(at.arg(16 * half as u64));
            }
        }
        self.slots.release(value);
    }
}

/// How many bytes a memory access covers: known at compile time, or in an i64 local.
#[derive(Clone, Copy)]
enum Len {
    Const(u64),
    Local(u32),
}

/// Where the bytes of a memory access are: at a constant offset, or at the offset in `ADDR`.
#[derive(Clone, Copy)]
enum At {
    Const(u64),
    Addr,
}

impl At {
    /// Pushes the dynamic part of the address.
    fn base(self, ins: &mut InstructionSink<'_>) {
        match self {
            At::Const(_) => ins.i32_const(0),
            At::Addr => ins.local_get(ADDR),
        };
    }

    /// Pushes the linear-memory address of the access's first byte.
    fn address(self, ins: &mut InstructionSink<'_>) {
        match self {
            At::Const(at) => ins.i32_const((abi::MEM_BASE as u64 + at) as i32),
            At::Addr => ins
                .local_get(ADDR)
                .i32_const(abi::MEM_BASE as i32)
                .i32_add(),
        };
    }

    /// The memory immediate for the byte `plus` past the access's start.
    fn arg(self, plus: u64) -> wasm_encoder::MemArg {
        let at = match self {
            At::Const(at) => at,
            At::Addr => 0,
        };
        mem_arg(at + plus, 0)
    }
}
