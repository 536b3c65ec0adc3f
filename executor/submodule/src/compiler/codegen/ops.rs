//! Lowering of each EVM instruction inside a section.

use revm::{
    bytecode::opcode,
    primitives::{U256, hardfork::SpecId},
};
use wasm_encoder::InstructionSink;

use super::{
    DISPATCH_FRAME, Emitter, Frame, GAS, HOST_OP, SCRATCH, STATUS, T, TARGET, TOP, goto,
    mem_arg_at,
    stack::{self, Val},
    word::{self, Bitwise},
};
use revm::interpreter::InstructionResult as Halt;

use crate::{
    abi::{self, Exit},
    compiler::analysis::{carries_immediate, is_call},
};

impl Emitter<'_> {
    pub(super) fn op(&mut self, i: usize) {
        let op = self.a.ops[i].clone();
        use opcode::*;
        match op.opcode {
            PUSH0 if !self.enabled(SpecId::SHANGHAI) => self.halt(Halt::NotActivated),
            PUSH0..=PUSH32 => self.vs.items.push(Val::Const(op.imm)),
            POP => {
                let v = self.pop();
                self.slots.release(v);
            }
            DUP1..=DUP16 => {
                let v = self.peek((op.opcode - DUP1) as u32);
                self.vs.items.push(v);
            }
            SWAP1..=SWAP16 => {
                let n = (op.opcode - SWAP1 + 1) as usize;
                self.pull_to(n + 1);
                let len = self.vs.items.len();
                self.vs.items.swap(len - 1, len - 1 - n);
            }
            JUMPDEST => {}
            PC => self.vs.items.push(Val::Const(U256::from(op.pc))),
            GAS => self.push_small(super::GAS),
            MSIZE => self.push_small(super::MSIZE),
            ADD | SUB | AND | OR | XOR | EQ | LT | GT | SLT | SGT => self.binary(op.opcode),
            ISZERO => {
                let a = self.pop();
                let r = self.slots.alloc();
                let mut ins = InstructionSink::new(&mut self.body);
                word::is_zero(&mut ins, &self.slots, a);
                ins.i64_extend_i32_u().local_set(self.slots.local(r, 0));
                self.slots.release(a);
                self.vs.items.push(Val::Small(r));
            }
            NOT => {
                let a = self.pop();
                let r = self.slots.alloc();
                let mut ins = InstructionSink::new(&mut self.body);
                word::not(&mut ins, &self.slots, a, r);
                self.slots.release(a);
                self.vs.items.push(Val::Word(r));
            }
            CODESIZE => self.vs.items.push(Val::Const(U256::from(self.a.code_len))),
            KECCAK256 => self.keccak(),
            MLOAD => self.mload(),
            MSTORE => self.mstore(false),
            MSTORE8 => self.mstore(true),
            JUMP => {
                let dest = self.pop();
                self.flush();
                self.jump(dest);
                self.slots.release(dest);
            }
            JUMPI => self.jumpi(),
            SLOAD => self.sload(op.pc, self.a.ops[i + 1].pc),
            ADDRESS => self.frame_word(abi::ADDRESS),
            CALLER => self.frame_word(abi::CALLER),
            CALLVALUE => self.frame_word(abi::CALLVALUE),
            CALLDATASIZE => self.calldatasize(),
            CALLDATALOAD => self.calldataload(op.pc, self.a.ops[i + 1].pc),
            _ if super::helper_for(op.opcode, self.spec).is_some() => self.helper(op.opcode),
            STOP => self.halt(Halt::Stop),
            INVALID => self.halt(Halt::InvalidFEOpcode),
            _ if OPCODE_INFO[op.opcode as usize].is_none() => self.halt(Halt::OpcodeNotFound),
            RETURN | REVERT | SELFDESTRUCT => self.host_exit(op.pc),
            _ if is_call(op.opcode) => self.host_exit(op.pc),
            _ => {
                // The implicit STOP ends the code, so a host opcode always has a next one.
                self.host(op.opcode, op.pc, self.a.ops[i + 1].pc);
                if carries_immediate(op.opcode) {
                    match self
                        .a
                        .skip_immediate(i)
                        .and_then(|next| self.target_of[next])
                    {
                        Some(j) => self.goto_target(j),
                        None => self.halt(Halt::Stop),
                    }
                }
            }
        }
    }

    pub(super) fn halt(&mut self, halt: Halt) {
        self.exit(halt);
        self.reachable = false;
    }

    pub(super) fn pop(&mut self) -> Val {
        if let Some(v) = self.vs.items.pop() {
            return v;
        }
        let depth = self.vs.pulled;
        self.vs.pulled += 1;
        let mut ins = InstructionSink::new(&mut self.body);
        stack::load(&mut ins, &mut self.slots, TOP, depth)
    }

    /// The item `n` below the top, retained for a second use.
    fn peek(&mut self, n: u32) -> Val {
        let len = self.vs.items.len() as u32;
        if n < len {
            let v = self.vs.items[(len - 1 - n) as usize];
            self.slots.retain(v);
            return v;
        }
        let depth = self.vs.pulled + (n - len);
        let mut ins = InstructionSink::new(&mut self.body);
        stack::load(&mut ins, &mut self.slots, TOP, depth)
    }

    /// Brings items from the canonical stack under the virtual one until it holds `n`.
    fn pull_to(&mut self, n: usize) {
        while self.vs.items.len() < n {
            let depth = self.vs.pulled;
            self.vs.pulled += 1;
            let mut ins = InstructionSink::new(&mut self.body);
            let v = stack::load(&mut ins, &mut self.slots, TOP, depth);
            self.vs.items.insert(0, v);
        }
    }

    fn push_small(&mut self, local: u32) {
        let r = self.slots.alloc();
        let target = self.slots.local(r, 0);
        self.ins().local_get(local).local_set(target);
        self.vs.items.push(Val::Small(r));
    }

    fn binary(&mut self, opcode: u8) {
        use opcode::*;
        let a = self.pop();
        let b = self.pop();
        if let (Val::Const(x), Val::Const(y)) = (a, b)
            && let Some(folded) = word::fold(opcode, x, y)
        {
            self.vs.items.push(Val::Const(folded));
            return;
        }
        // Results known to fit 64 bits live in one local.
        let small = |v: Val| match v {
            Val::Small(_) => true,
            Val::Const(c) => c < U256::from(u64::MAX) + U256::from(1),
            Val::Word(_) => false,
        };
        let fits = match opcode {
            ADD | SUB => false,
            AND => small(a) || small(b),
            OR | XOR => small(a) && small(b),
            _ => true,
        };
        let r = self.slots.alloc();
        let result = if fits { Val::Small(r) } else { Val::Word(r) };
        let limbs = if fits { 1 } else { 4 };
        let mut ins = InstructionSink::new(&mut self.body);
        let slots = &self.slots;
        match opcode {
            ADD => word::add(&mut ins, slots, SCRATCH, a, b, r),
            SUB => word::sub(&mut ins, slots, SCRATCH, a, b, r),
            AND => word::bitwise(&mut ins, slots, Bitwise::And, a, b, r, limbs),
            OR => word::bitwise(&mut ins, slots, Bitwise::Or, a, b, r, limbs),
            XOR => word::bitwise(&mut ins, slots, Bitwise::Xor, a, b, r, limbs),
            comparison => {
                match comparison {
                    LT => word::less(&mut ins, slots, a, b, false),
                    GT => word::less(&mut ins, slots, b, a, false),
                    SLT => word::less(&mut ins, slots, a, b, true),
                    SGT => word::less(&mut ins, slots, b, a, true),
                    _ => word::equal(&mut ins, slots, a, b),
                }
                ins.i64_extend_i32_u().local_set(slots.local(r, 0));
            }
        }
        self.slots.release(a);
        self.slots.release(b);
        self.vs.items.push(result);
    }

    /// An arithmetic opcode computed by an internal helper function (or folded when its
    /// operands are constants).
    fn helper(&mut self, opcode: u8) {
        let helper = super::helper_for(opcode, self.spec).expect("caller checked");
        let args: Vec<Val> = (0..helper.arity()).map(|_| self.pop()).collect();
        if let [Val::Const(a), Val::Const(b)] = args[..]
            && let Some(folded) = word::fold(opcode, a, b)
        {
            self.vs.items.push(Val::Const(folded));
            return;
        }
        if self.by_constant(opcode, &args) {
            return;
        }
        if opcode == opcode::EXP {
            self.charge_exp(args[1]);
        }
        if self.reachable {
            let index = super::helper_index(helper);
            let r = self.slots.alloc();
            let mut ins = InstructionSink::new(&mut self.body);
            for &v in &args {
                for l in 0..4 {
                    stack::limb(&mut ins, &self.slots, v, l);
                }
            }
            ins.call(index);
            for l in (0..4).rev() {
                ins.local_set(self.slots.local(r, l));
            }
            self.vs.items.push(Val::Word(r));
        }
        for v in args {
            self.slots.release(v);
        }
    }

    /// EXP's dynamic gas: a fixed cost per byte of the exponent.
    fn charge_exp(&mut self, exponent: Val) {
        let per_byte = self.gas_rules.exp_byte;
        if let Val::Const(e) = exponent {
            let cost = per_byte.saturating_mul(e.byte_len() as u64);
            if cost > 0 {
                self.charge(cost);
            }
            return;
        }
        let mut ins = InstructionSink::new(&mut self.body);
        // Byte length of the highest non-zero limb i: 8 * i + (71 - clz(limb)) / 8.
        for i in (0..4).rev() {
            ins.i64_const(71);
            stack::limb(&mut ins, &self.slots, exponent, i);
            ins.i64_clz().i64_sub().i64_const(3).i64_shr_u();
            ins.i64_const(8 * i as i64).i64_add();
        }
        for i in 1..4 {
            stack::limb(&mut ins, &self.slots, exponent, i);
            ins.i64_const(0).i64_ne().select();
        }
        ins.i64_const(per_byte as i64).i64_mul().local_set(T);
        self.charge_local(T);
    }

    /// Charges a cost known at compile time, halting out of gas if it is more than is left.
    pub(super) fn charge(&mut self, cost: u64) {
        self.ins().i64_const(cost as i64).local_set(T);
        self.charge_local(T);
    }

    /// Charges the cost in local `cost`, handing the instruction to the interpreter unless the
    /// gas left pays it: gas short of it may still be enough for revm, which has not yet
    /// charged the rest of the section.
    pub(super) fn charge_local(&mut self, cost: u32) {
        self.ins().local_get(GAS).local_get(cost).i64_lt_u();
        self.redo_if();
        self.ins()
            .local_get(GAS)
            .local_get(cost)
            .i64_sub()
            .local_set(GAS);
    }

    /// Continues at target `j`: a later target of the region by a direct branch, an earlier
    /// one through the region's dispatch table, one of another region through `run` (with the
    /// counters in the control block).
    fn goto_target(&mut self, j: usize) {
        if !self.region.contains(&j) {
            self.sync_out();
            self.ins().i32_const(goto(j as i32 + 1)).return_();
        } else if j > self.segment {
            let frame = self.target_frame(j);
            self.br_frame(frame);
        } else {
            self.ins().i32_const(j as i32 + 1).local_set(TARGET);
            self.br_frame(DISPATCH_FRAME);
        }
        self.reachable = false;
    }

    /// Jumps to `dest` with the stack flushed; nothing after it is reached.
    fn jump(&mut self, dest: Val) {
        match dest {
            Val::Const(pc) => {
                let target = usize::try_from(pc)
                    .ok()
                    .and_then(|pc| self.a.jumpdests.get(pc).copied().flatten())
                    .and_then(|op| self.target_of[op]);
                match target {
                    Some(j) => self.goto_target(j),
                    None => self.halt(Halt::InvalidJump),
                }
            }
            _ => {
                // The jump table entry of pc if it is below the code length, else of the
                // entry past the end, which is the invalid-jump exit.
                let code_len = self.a.code_len as i64;
                let mut ins = InstructionSink::new(&mut self.body);
                let slots = &self.slots;
                stack::limb(&mut ins, slots, dest, 0);
                ins.i32_wrap_i64().i32_const(code_len as i32);
                word::below(&mut ins, slots, dest, |ins| {
                    ins.i64_const(code_len);
                });
                ins.select().i32_const(2).i32_shl();
                ins.i32_load(mem_arg_at(abi::JUMP_TABLE as u64, 2))
                    .local_set(TARGET);
                self.br_frame(DISPATCH_FRAME);
                self.reachable = false;
            }
        }
    }

    fn jumpi(&mut self) {
        let dest = self.pop();
        let cond = self.pop();
        self.flush();
        match cond {
            Val::Const(c) if c.is_zero() => {}
            Val::Const(_) => self.jump(dest),
            _ => {
                let mut ins = InstructionSink::new(&mut self.body);
                word::is_zero(&mut ins, &self.slots, cond);
                ins.i32_eqz();
                self.open(Frame::If);
                self.jump(dest);
                self.close();
                // The branch above may have marked the point unreachable; the fall-through is.
                self.reachable = true;
            }
        }
        self.slots.release(dest);
        self.slots.release(cond);
    }

    /// Leaves Wasm for the host to run the opcode at `pc`, which ends or suspends the run
    /// ([`Exit::Host`]); a call the host finishes at once re-enters at its resume point.
    fn host_exit(&mut self, pc: u32) {
        // Such an opcode ends its section, so nothing after it is charged yet.
        debug_assert_eq!(self.gas_after, 0);
        self.flush();
        self.sync_out();
        self.leave_at(pc, Exit::Host);
        self.reachable = false;
    }

    /// Runs `opcode` in revm through the host, with the stack flushed and the counters synced.
    /// revm sees the gas it would have there: the rest of the section is not yet charged for.
    /// Where what the opcode leaves does not pay for that rest, the interpreter continues at
    /// `next` (the opcode's own failures are revm's already).
    pub(super) fn host(&mut self, opcode: u8, pc: u32, next: u32) {
        let after = self.gas_after;
        self.flush();
        if after > 0 {
            self.ins()
                .local_get(GAS)
                .i64_const(after as i64)
                .i64_add()
                .local_set(GAS);
        }
        self.sync_out();
        self.ins()
            .i32_const(opcode as i32)
            .i32_const(pc as i32)
            .call(HOST_OP)
            .local_set(STATUS);
        self.sync_in();
        // The host left the counters in memory; the exit status is all that goes back.
        self.ins().local_get(STATUS);
        self.open(Frame::If);
        self.ins().local_get(STATUS).return_();
        self.close();
        if after > 0 {
            // The control block holds what the host left: the interpreter takes it as it is.
            self.ins().local_get(GAS).i64_const(after as i64).i64_lt_u();
            self.open(Frame::If);
            self.leave_for_interpreter(next);
            self.close();
            self.ins()
                .local_get(GAS)
                .i64_const(after as i64)
                .i64_sub()
                .local_set(GAS);
        }
    }
}
