//! Code generation: one Wasm function per region of the contract (consecutive entry targets of
//! about [`REGION_OPS`](super::analysis::REGION_OPS) instructions), and `run(entry)` that
//! dispatches between them. Bounded functions keep compile time linear in the size of the
//! contract: Cranelift's register allocator and e-graph grow faster than linearly with the size
//! of one function, and a single function of 24 KiB of JUMPDESTs took 1.5 s.
//!
//! Inside a region, control flow is a `loop` around nested blocks, one per target in code
//! order, so the code of target `j` follows the `end` of its block: falling through reaches the
//! next target, a forward jump is a direct `br`, and a backward or computed jump goes once
//! through the `br_table` at the loop head over the dense index `j + 1`. An index outside the
//! region (0 is the invalid-jump exit) returns `-1 - index` to `run`, whose own `br_table` calls
//! the region holding it. A computed jump finds the index of its pc in the jump table the data
//! segment lays out; the runtime enters `run` with the index of the start or of a resume point.
//!
//! ```text
//! region r:  loop $dispatch
//!              block T[hi-1] … block T[lo]  block $other  br_table  end  return -1 - index
//!              end <code of T[lo]> … end <code of T[hi-1]>  (return -1 - (hi + 1))
//!            end  unreachable
//! run:       loop  block R[n-1] … block R[0]  block $invalid  br_table  end  <invalid jump>
//!              end  call region 0, loop again on a negative result, else return it  …
//!            end  unreachable
//! ```
//!
//! Every exit is a `return` where it happens, never a branch to a shared exit block: such a
//! block would join the counters of every exit point in the function, and Cranelift's register
//! allocator turns that join into one live range over the whole function, which made compile
//! time quadratic in the number of JUMPDESTs.

mod by_constant;
mod frame;
mod memory;
mod memory_access;
mod ops;
mod stack;
mod word;

/// The dynamic gas rules of the spec being compiled for, fixed into the code.
#[derive(Clone, Copy, Debug)]
pub struct GasRules {
    /// Gas per 32-byte word of memory (3): the linear term of the expansion cost.
    pub memory_linear: u64,
    /// Divisor of the squared word count (512): the quadratic term of the expansion cost.
    pub memory_quadratic_reduction: u64,
    /// EXP's gas per byte of exponent (10, 50 from Spurious Dragon).
    pub exp_byte: u64,
    /// KECCAK256's gas per word hashed (6).
    pub keccak_word: u64,
}

use revm::primitives::hardfork::SpecId;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, ImportSection, InstructionSink, MemArg, MemorySection, MemoryType,
    Module, NameMap, NameSection, TypeSection, ValType,
};

use super::{
    analysis::{Analysis, Section},
    helpers::Helper,
};
use crate::abi::{self, Exit};
use revm::interpreter::InstructionResult as Halt;
use stack::{Slots, VStack};
use word::Scratch;

// Locals of `run`. Local 0 is the `entry` parameter.
const ENTRY: u32 = 0;
const TOP: u32 = 1;
const TARGET: u32 = 2;
const STATUS: u32 = 3;
const ADDR: u32 = 4;
const GAS: u32 = 5;
const MSIZE: u32 = 6;
const T: u32 = 7;
const C: u32 = 8;
const C2: u32 = 9;
const END: u32 = 10;
const WIDE: u32 = 11;
const FIRST_SLOT: u32 = 12;

const I32_LOCALS: u32 = 4;
const I64_LOCALS: u32 = 6;

// Function indices: the host imports, the helper imports, then the module's own functions
// (expand, run, and the regions from `REGIONS` on).
const HOST_OP: u32 = 0;
const KECCAK: u32 = 1;
const HELPERS: u32 = 2;
const EXPAND: u32 = HELPERS + Helper::PUBLIC.len() as u32;
const RUN: u32 = EXPAND + 1;
const REGIONS: u32 = RUN + 1;

// Locals of `run` besides `entry`.
const RESULT: u32 = 1;

// Type indices: the host op, expand, run, keccak, then one per public helper, in order.
const HOST_OP_TYPE: u32 = 0;
const EXPAND_TYPE: u32 = 1;
const RUN_TYPE: u32 = 2;
const KECCAK_TYPE: u32 = 3;
const HELPER_TYPES: u32 = 4;

// The control frames of a region that are always open: the block whose end hands the frame
// over to the interpreter at the pc in `STATUS`, and the dispatch loop inside it.
const HANDOVER_FRAME: u32 = 0;
const DISPATCH_FRAME: u32 = 1;

const SCRATCH: Scratch = Scratch { t: T, c: C, c2: C2 };

/// The helper an opcode is lowered to under `spec`, if any. Opcodes not active in `spec` go to
/// revm, which reports them exactly as the interpreter does.
pub(super) fn helper_for(opcode: u8, spec: SpecId) -> Option<Helper> {
    use revm::bytecode::opcode::*;
    Some(match opcode {
        MUL => Helper::Mul,
        DIV => Helper::Div,
        SDIV => Helper::Sdiv,
        MOD => Helper::Mod,
        SMOD => Helper::Smod,
        ADDMOD => Helper::AddMod,
        MULMOD => Helper::MulMod,
        EXP => Helper::Exp,
        SIGNEXTEND => Helper::SignExtend,
        BYTE => Helper::Byte,
        SHL | SHR | SAR if !spec.is_enabled_in(SpecId::PETERSBURG) => return None,
        SHL => Helper::Shl,
        SHR => Helper::Shr,
        SAR => Helper::Sar,
        CLZ if spec.is_enabled_in(SpecId::OSAKA) => Helper::Clz,
        _ => return None,
    })
}

/// Function index of the import of `helper` (the public helpers are imported in order).
fn helper_index(helper: Helper) -> u32 {
    let k = Helper::PUBLIC.iter().position(|&h| h == helper);
    HELPERS + k.expect("compiled code calls only public helpers") as u32
}

/// Builds the Wasm module for an analysed contract.
pub(crate) fn generate(a: &Analysis, spec: SpecId, gas_rules: GasRules) -> Vec<u8> {
    let mut emitter = Emitter::new(a, spec, gas_rules);
    let regions: Vec<Function> = region_spans(a)
        .map(|(lo, hi)| emitter.region(lo, hi))
        .collect();

    let mut types = TypeSection::new();
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I64; 3], [ValType::I64; 2]);
    types.ty().function([ValType::I32], [ValType::I32]);
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I64; 4]);
    for helper in Helper::PUBLIC {
        types.ty().function(helper.params(), helper.results());
    }

    let mut imports = ImportSection::new();
    imports.import(
        abi::HOST_MODULE,
        abi::HOST_OP,
        EntityType::Function(HOST_OP_TYPE),
    );
    imports.import(
        abi::HOST_MODULE,
        abi::KECCAK,
        EntityType::Function(KECCAK_TYPE),
    );
    for (k, helper) in (0..).zip(Helper::PUBLIC) {
        let ty = EntityType::Function(HELPER_TYPES + k);
        imports.import(abi::HELPERS_MODULE, helper.name(), ty);
    }

    let mut functions = FunctionSection::new();
    functions.function(EXPAND_TYPE);
    functions.function(RUN_TYPE);
    for _ in &regions {
        functions.function(RUN_TYPE);
    }

    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: (abi::MEM_BASE as u64).div_ceil(abi::PAGE),
        maximum: Some(1 << 16),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });

    let mut exports = ExportSection::new();
    exports.export(abi::RUN, ExportKind::Func, RUN);
    exports.export(abi::MEMORY, ExportKind::Memory, 0);

    let mut code = CodeSection::new();
    code.function(&memory::expand_function(gas_rules));
    code.function(&run(a));
    for region in &regions {
        code.function(region);
    }

    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(abi::JUMP_TABLE as i32),
        jump_table(a),
    );

    // Function names, so profiles and traps name the helper rather than an address.
    let mut names = NameMap::new();
    names.append(HOST_OP, abi::HOST_OP);
    names.append(KECCAK, abi::KECCAK);
    names.append(EXPAND, "expand");
    names.append(RUN, abi::RUN);
    for r in 0..regions.len() as u32 {
        names.append(REGIONS + r, &format!("region{r}"));
    }
    for (k, helper) in (0..).zip(Helper::PUBLIC) {
        names.append(HELPERS + k, helper.name());
    }
    let mut name_section = NameSection::new();
    name_section.functions(&names);

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data)
        .section(&name_section);
    module.finish()
}

/// The targets `lo..hi` of each region.
fn region_spans(a: &Analysis) -> impl Iterator<Item = (usize, usize)> + '_ {
    let ends = a.regions.iter().skip(1).copied().chain([a.targets.len()]);
    a.regions.iter().copied().zip(ends)
}

/// What a region returns to continue at dispatch index `index` outside it.
fn goto(index: i32) -> i32 {
    -1 - index
}

/// `run(entry)`: calls the region holding the dispatch index, again as long as regions hand
/// control on, and returns the first exit.
fn run(a: &Analysis) -> Function {
    let spans: Vec<(usize, usize)> = region_spans(a).collect();
    let n = spans.len() as u32;
    let mut body = Vec::new();
    let mut ins = InstructionSink::new(&mut body);
    ins.loop_(BlockType::Empty);
    for _ in 0..=n {
        ins.block(BlockType::Empty);
    }
    // Label 0 is the invalid jump, label r + 1 the call of region r.
    let labels: Vec<u32> = std::iter::once(0)
        .chain(
            spans
                .iter()
                .zip(1..)
                .flat_map(|(&(lo, hi), label)| (lo..hi).map(move |_| label)),
        )
        .collect();
    ins.local_get(ENTRY).br_table(labels, 0).end();
    ins.i32_const(Exit::Halt(Halt::InvalidJump).to_raw())
        .return_();
    for r in 0..n {
        ins.end();
        ins.local_get(ENTRY)
            .call(REGIONS + r)
            .local_tee(RESULT)
            .i32_const(0)
            .i32_lt_s()
            .if_(BlockType::Empty)
            .i32_const(-1)
            .local_get(RESULT)
            .i32_sub()
            .local_set(ENTRY)
            // Out of the `if` and the region blocks still open, to the loop.
            .br(n - r)
            .end()
            .local_get(RESULT)
            .return_();
    }
    ins.end().unreachable().end();
    let mut f = Function::new([(1, ValType::I32)]);
    f.raw(body);
    f
}

/// The dispatch index of each instruction that is a target: `j + 1` for target `j`.
pub(crate) fn dispatch_index(a: &Analysis) -> impl Fn(usize) -> i32 + '_ {
    |op| a.targets.binary_search(&op).map_or(0, |j| j as i32 + 1)
}

/// The jump table's bytes: the dispatch index of the valid JUMPDEST at each pc, 0 elsewhere,
/// and one 0 entry past the end that out-of-range jumps read.
fn jump_table(a: &Analysis) -> Vec<u8> {
    let index = dispatch_index(a);
    let mut bytes = Vec::with_capacity(4 * (a.jumpdests.len() + 1));
    for dest in a.jumpdests.iter().chain(std::iter::once(&None)) {
        bytes.extend_from_slice(&dest.map_or(0, &index).to_le_bytes());
    }
    bytes
}

/// Generation state of `run`.
struct Emitter<'a> {
    a: &'a Analysis,
    spec: SpecId,
    gas_rules: GasRules,
    body: Vec<u8>,
    /// Open control frames at the current emission point.
    depth: u32,
    slots: Slots,
    vs: VStack,
    /// Target index of each instruction that starts a target.
    target_of: Vec<Option<usize>>,
    /// Target whose code is being emitted.
    segment: usize,
    /// The targets of the region being emitted.
    region: std::ops::Range<usize>,
    /// Whether straight-line flow can reach the current point.
    reachable: bool,
    /// Where the interpreter would take over to redo the instruction being emitted.
    redo: Redo,
    /// Static gas of the rest of the section after the instruction being emitted, charged
    /// already on entry.
    gas_after: u64,
}

/// The state before an instruction, from which the interpreter can run it: its pc, the
/// virtual stack then, how much of the section's pre-charged gas the interpreter has not
/// spent by then (the instruction's own static gas and all after it), and the local holding
/// the dynamic gas the instruction has charged so far, if any.
#[derive(Default)]
struct Redo {
    pc: u32,
    stack: VStack,
    unspent: u64,
    refund: Option<u32>,
}

impl<'a> Emitter<'a> {
    fn new(a: &'a Analysis, spec: SpecId, gas_rules: GasRules) -> Self {
        let mut target_of = vec![None; a.ops.len()];
        for (j, &op) in a.targets.iter().enumerate() {
            target_of[op] = Some(j);
        }
        Self {
            a,
            spec,
            gas_rules,
            body: Vec::new(),
            depth: 0,
            slots: Slots::new(FIRST_SLOT),
            vs: VStack::new(),
            target_of,
            segment: 0,
            region: 0..0,
            reachable: true,
            redo: Redo::default(),
            gas_after: 0,
        }
    }

    fn ins(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(&mut self.body)
    }

    /// The function of the region of targets `lo..hi`.
    fn region(&mut self, lo: usize, hi: usize) -> Function {
        self.body = Vec::new();
        self.depth = 0;
        self.slots = Slots::new(FIRST_SLOT);
        self.vs = VStack::new();
        self.region = lo..hi;
        let n = (hi - lo) as u32;
        // The counters live in locals while control stays in the region, and go through the
        // control block only on the way in and out: a jump between two JUMPDESTs of a region
        // costs a branch, not three stores and three loads.
        self.sync_in();
        self.ins().local_get(ENTRY).local_set(TARGET);
        self.open(Frame::Block);
        self.open(Frame::Loop);
        for _ in 0..n {
            self.open(Frame::Block);
        }
        self.open(Frame::Block);
        // Target j's index j + 1 is label j + 1 - lo; any other goes back to `run`.
        self.ins()
            .local_get(TARGET)
            .i32_const(lo as i32)
            .i32_sub()
            .br_table(0..n + 1, 0);
        self.close();
        self.sync_out();
        self.ins()
            .i32_const(-1)
            .local_get(TARGET)
            .i32_sub()
            .return_();

        let a = self.a;
        let first = a.sections.partition_point(|s| s.start < a.targets[lo]);
        let mut sections = a.sections[first..].iter().peekable();
        self.reachable = true;
        for j in lo..hi {
            self.close();
            self.segment = j;
            self.reachable = true;
            let end = a.targets.get(j + 1).copied().unwrap_or(a.ops.len());
            while let Some(section) = sections.next_if(|s| s.start < end) {
                self.section(section);
            }
        }
        if self.reachable {
            // Falling through into the next region's first target.
            self.sync_out();
            self.ins().i32_const(goto(hi as i32 + 1)).return_();
        }
        self.close();
        // Every target's code ends in a jump or an exit (the code ends with an implicit STOP).
        self.ins().unreachable();
        self.close();
        // A section whose checks fail, with nothing of it run yet.
        self.sync_out();
        let mut ins = self.ins();
        ins.i32_const(0)
            .local_get(STATUS)
            .i32_store(ctrl(abi::HANDOVER_PC, 2))
            .i32_const(Exit::Interpret.to_raw())
            .return_()
            .end();

        let mut f = Function::new([
            (I32_LOCALS, ValType::I32),
            (I64_LOCALS, ValType::I64),
            (1, ValType::V128),
            (self.slots.local_count(), ValType::I64),
        ]);
        f.raw(std::mem::take(&mut self.body));
        f
    }

    fn section(&mut self, s: &Section) {
        if !self.reachable && self.target_of[s.start].is_none() {
            return;
        }
        self.reachable = true;
        // A section is entered with the canonical stack only: whatever the previous section
        // left in the virtual stack was flushed if control falls through, or is dead.
        for v in self.vs.items.drain(..) {
            self.slots.release(v);
        }
        self.vs.pulled = 0;
        // A failing check hands the section, uncharged, to the interpreter, which finds the
        // instruction that fails and how (a section fails as a whole, revm per instruction).
        self.redo = Redo {
            pc: self.a.ops[s.start].pc,
            ..Redo::default()
        };
        // One branch for the three checks: it is taken only to hand over, and each branch
        // with its exit costs Cranelift compile time in every section.
        let mut checks = 0;
        if s.needs > 0 {
            let floor = abi::STACK_TOP - 32 * s.needs;
            self.ins().local_get(TOP).i32_const(floor as i32).i32_gt_u();
            checks += 1;
        }
        if s.grows > 0 {
            let ceiling = abi::STACK_TOP - 32 * abi::STACK_LIMIT + 32 * s.grows;
            self.ins()
                .local_get(TOP)
                .i32_const(ceiling as i32)
                .i32_lt_u();
            checks += 1;
        }
        if s.gas > 0 {
            self.ins().local_get(GAS).i64_const(s.gas as i64).i64_lt_u();
            checks += 1;
        }
        for _ in 1..checks {
            self.ins().i32_or();
        }
        if checks > 0 {
            // The region's one handover exit: a few bytes here instead of an exit per section
            // (the exit is most of the code of a JUMPDEST).
            let pc = self.redo.pc as i32;
            self.open(Frame::If);
            self.ins().i32_const(pc).local_set(STATUS);
            self.br_frame(HANDOVER_FRAME);
            self.close();
        }
        if s.gas > 0 {
            self.ins()
                .local_get(GAS)
                .i64_const(s.gas as i64)
                .i64_sub()
                .local_set(GAS);
        }
        let mut gas_after = s.gas;
        for i in s.start..s.end {
            let op = &self.a.ops[i];
            gas_after -= op.gas;
            self.gas_after = gas_after;
            self.redo = Redo {
                pc: op.pc,
                stack: self.vs.clone(),
                unspent: gas_after + op.gas,
                refund: None,
            };
            self.op(i);
            if !self.reachable {
                return;
            }
        }
        self.flush();
    }

    fn open(&mut self, frame: Frame) {
        match frame {
            Frame::Block => self.ins().block(BlockType::Empty),
            Frame::Loop => self.ins().loop_(BlockType::Empty),
            Frame::If => self.ins().if_(BlockType::Empty),
        };
        self.depth += 1;
    }

    fn close(&mut self) {
        self.ins().end();
        self.depth -= 1;
    }

    fn br_frame(&mut self, frame: u32) {
        let relative = self.depth - 1 - frame;
        self.ins().br(relative);
    }

    /// Frame index of the block whose end starts target `j` of the region.
    fn target_frame(&self, j: usize) -> u32 {
        DISPATCH_FRAME + 1 + (self.region.end - 1 - j) as u32
    }

    /// Leaves the function, ending the frame with `halt`. Only a successful halt hands back
    /// its counters: on any other the frame's gas is spent whole and its stack and memory dropped.
    fn exit(&mut self, halt: Halt) {
        if halt.is_ok() {
            self.sync_out();
        }
        self.ins().i32_const(Exit::Halt(halt).to_raw()).return_();
    }

    /// Leaves for the interpreter to run from the instruction being emitted, as it was before
    /// it ([`Exit::Interpret`]): where a dynamic cost or operand fails, only the interpreter
    /// knows whether that instruction fails, or one after it, and how. The instruction must
    /// not have changed the counters or memory before this point.
    fn redo(&mut self) {
        let redo = std::mem::take(&mut self.redo);
        let mut ins = InstructionSink::new(&mut self.body);
        stack::write_back(&mut ins, &self.slots, &redo.stack, TOP);
        if redo.unspent > 0 {
            ins.local_get(GAS)
                .i64_const(redo.unspent as i64)
                .i64_add()
                .local_set(GAS);
        }
        if let Some(refund) = redo.refund {
            ins.local_get(GAS)
                .local_get(refund)
                .i64_add()
                .local_set(GAS);
        }
        self.sync_out();
        self.leave_for_interpreter(redo.pc);
        self.redo = redo;
    }

    /// [`redo`](Self::redo) if the i32 on the operand stack is non-zero.
    fn redo_if(&mut self) {
        self.open(Frame::If);
        self.redo();
        self.close();
    }

    /// Leaves for the interpreter to continue at `pc` with the counters in the control block.
    pub(super) fn leave_for_interpreter(&mut self, pc: u32) {
        self.leave_at(pc, Exit::Interpret);
    }

    /// Returns `exit`, which continues out of Wasm at `pc` ([`abi::HANDOVER_PC`]).
    pub(super) fn leave_at(&mut self, pc: u32, exit: Exit) {
        self.ins()
            .i32_const(0)
            .i32_const(pc as i32)
            .i32_store(ctrl(abi::HANDOVER_PC, 2))
            .i32_const(exit.to_raw())
            .return_();
    }

    /// Hands the gas, stack top and memory size to memory (for the host, a target or the exit).
    fn sync_out(&mut self) {
        let mut ins = self.ins();
        ins.i32_const(0).local_get(GAS).i64_store(ctrl(abi::GAS, 3));
        ins.i32_const(0).local_get(TOP).i32_store(ctrl(abi::TOP, 2));
        ins.i32_const(0)
            .local_get(MSIZE)
            .i64_store(ctrl(abi::MSIZE, 3));
    }

    /// Takes the gas, stack top and memory size back from memory.
    fn sync_in(&mut self) {
        let mut ins = self.ins();
        ins.i32_const(0).i64_load(ctrl(abi::GAS, 3)).local_set(GAS);
        ins.i32_const(0).i32_load(ctrl(abi::TOP, 2)).local_set(TOP);
        ins.i32_const(0)
            .i64_load(ctrl(abi::MSIZE, 3))
            .local_set(MSIZE);
    }

    fn flush(&mut self) {
        let mut ins = InstructionSink::new(&mut self.body);
        stack::flush(&mut ins, &mut self.slots, &mut self.vs, TOP);
    }

    fn enabled(&self, fork: SpecId) -> bool {
        self.spec.is_enabled_in(fork)
    }
}

#[derive(Clone, Copy)]
enum Frame {
    Block,
    Loop,
    If,
}

/// A field of the control block.
fn ctrl(offset: u32, align: u32) -> MemArg {
    mem_arg_at(offset as u64, align)
}

/// A memory immediate on the submodule's only memory.
pub(super) fn mem_arg_at(offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        target: Default::default(),
        ordering: None,
    }
}
