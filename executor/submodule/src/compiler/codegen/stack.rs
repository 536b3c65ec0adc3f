//! The virtual stack of a section: values live in Wasm locals (or are compile-time constants)
//! and reach the canonical stack in linear memory only when the section hands control to
//! something that reads it (a jump target, the host, the end of the section).

use revm::primitives::U256;
use wasm_encoder::{InstructionSink, MemArg};

use super::mem_arg_at;

/// A 256-bit value during code generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// Known at compile time (PUSH, PC, folded arithmetic).
    Const(U256),
    /// Four i64 locals, limb 0 least significant.
    Word(u32),
    /// One i64 local in limb 0 of the slot, the other limbs zero (comparisons, GAS, MSIZE).
    Small(u32),
}

impl Val {
    fn slot(self) -> Option<u32> {
        match self {
            Val::Word(s) | Val::Small(s) => Some(s),
            Val::Const(_) => None,
        }
    }
}

/// Word-sized groups of i64 locals, reference counted so DUP shares a value instead of copying
/// it and a dead value's locals are reused (the local count stays bounded by the live values).
#[derive(Debug)]
pub(crate) struct Slots {
    first_local: u32,
    refs: Vec<u32>,
    /// Memory depth (below the section's stack top) the value was loaded from and still equals.
    origin: Vec<Option<u32>>,
    free: Vec<u32>,
}

impl Slots {
    pub(crate) fn new(first_local: u32) -> Self {
        Self {
            first_local,
            refs: Vec::new(),
            origin: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Locals to declare: four per slot ever allocated.
    pub(crate) fn local_count(&self) -> u32 {
        self.refs.len() as u32 * 4
    }

    pub(crate) fn local(&self, slot: u32, limb: usize) -> u32 {
        self.first_local + slot * 4 + limb as u32
    }

    pub(crate) fn alloc(&mut self) -> u32 {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.refs.push(0);
            self.origin.push(None);
            self.refs.len() as u32 - 1
        });
        self.refs[slot as usize] = 1;
        self.origin[slot as usize] = None;
        slot
    }

    pub(crate) fn retain(&mut self, v: Val) {
        if let Some(s) = v.slot() {
            self.refs[s as usize] += 1;
        }
    }

    pub(crate) fn release(&mut self, v: Val) {
        if let Some(s) = v.slot() {
            let r = &mut self.refs[s as usize];
            *r -= 1;
            if *r == 0 {
                self.free.push(s);
            }
        }
    }
}

/// The section's view of the stack: `items` sit on top of the canonical stack whose top `pulled`
/// items have already been taken into locals.
#[derive(Clone, Debug, Default)]
pub(crate) struct VStack {
    pub items: Vec<Val>,
    pub pulled: u32,
}

/// Byte offset of limb `limb` of the item `depth` below the stack top.
pub(crate) fn stack_arg(depth: u32, limb: usize) -> MemArg {
    mem_arg_at((depth * 32 + limb as u32 * 8) as u64, 3)
}

impl VStack {
    pub(crate) fn new() -> Self {
        Self {
            items: Vec::new(),
            pulled: 0,
        }
    }

    pub(crate) fn is_clean(&self) -> bool {
        self.items.is_empty() && self.pulled == 0
    }
}

/// Emits the loads of the item `depth` below the current stack top into a fresh slot.
pub(crate) fn load(
    ins: &mut InstructionSink<'_>,
    slots: &mut Slots,
    top_local: u32,
    depth: u32,
) -> Val {
    let slot = slots.alloc();
    for limb in 0..4 {
        ins.local_get(top_local)
            .i64_load(stack_arg(depth, limb))
            .local_set(slots.local(slot, limb));
    }
    slots.origin[slot as usize] = Some(depth);
    Val::Word(slot)
}

/// Pushes limb `limb` of `v` onto the Wasm operand stack.
pub(crate) fn limb(ins: &mut InstructionSink<'_>, slots: &Slots, v: Val, limb: usize) {
    match v {
        Val::Const(c) => {
            ins.i64_const(c.as_limbs()[limb] as i64);
        }
        Val::Word(s) => {
            ins.local_get(slots.local(s, limb));
        }
        Val::Small(s) if limb == 0 => {
            ins.local_get(slots.local(s, 0));
        }
        Val::Small(_) => {
            ins.i64_const(0);
        }
    }
}

/// Emits what puts the virtual stack on the canonical stack in linear memory and moves the
/// stack top local to match; `vs` itself is left as it is (a branch that leaves the function
/// writes a stack the straight-line code goes on holding in locals). Values loaded from the
/// very slot they are written back to are skipped.
pub(crate) fn write_back(
    ins: &mut InstructionSink<'_>,
    slots: &Slots,
    vs: &VStack,
    top_local: u32,
) {
    if vs.is_clean() {
        return;
    }
    // Items of the new top, in depths below the old one (negative where the stack grew).
    let shift = vs.pulled as i64 - vs.items.len() as i64;
    if shift != 0 {
        // Move the top first: every store is then a non-negative offset from it.
        ins.local_get(top_local)
            .i32_const((shift * 32) as i32)
            .i32_add()
            .local_set(top_local);
    }
    for (j, v) in vs.items.iter().rev().enumerate() {
        if let Some(s) = v.slot()
            && slots.origin[s as usize].map(i64::from) == Some(shift + j as i64)
        {
            continue;
        }
        for l in 0..4 {
            ins.local_get(top_local);
            limb(ins, slots, *v, l);
            ins.i64_store(stack_arg(j as u32, l));
        }
    }
}

/// Writes the virtual stack back (see [`write_back`]) and empties it.
pub(crate) fn flush(
    ins: &mut InstructionSink<'_>,
    slots: &mut Slots,
    vs: &mut VStack,
    top_local: u32,
) {
    write_back(ins, slots, vs, top_local);
    for v in vs.items.drain(..) {
        slots.release(v);
    }
    vs.pulled = 0;
}
