//! The host side of a submodule's `op` import: state and environment opcodes run as revm's own
//! instructions on the frame's interpreter, with the operands copied across.
//!
//! While compiled code runs, the frame's revm interpreter holds an empty stack and a memory that
//! is only brought up to date around opcodes that read or write it. At a CALL/CREATE the whole
//! live stack and memory move into the interpreter, which is exactly what revm needs to run the
//! callee and hand the result back; on resume they move back into the submodule.

use revm::{
    bytecode::opcode::{self, OPCODE_INFO},
    interpreter::{
        Host, InstructionContext, InstructionResult, Interpreter, InterpreterAction,
        instructions::InstructionTable,
        interpreter::EthInterpreter,
        interpreter_types::{InputsTr, Jumps, LoopControl},
    },
    primitives::{Address, U256},
};

use std::ops::Range;

use crate::abi::{self, Exit};

/// The submodule's linear memory as the host sees it during one `op` call.
pub trait Linear {
    /// The whole linear memory (the ABI's control block, stack and EVM memory); valid until
    /// the next [`Linear::ensure`] that grows it.
    fn bytes(&mut self) -> &mut [u8];
    /// Grows the memory so `len` bytes are addressable; false if it cannot.
    fn ensure(&mut self, len: usize) -> bool;
}

/// What the `op` import calls into: one frame's interpreter and revm's host context.
pub trait FrameOps {
    /// Runs `opcode` at `pc` with its operands taken from, and results written back to, the
    /// canonical stack in `mem`; returns [`Exit::Continue`] or the exit `run` must take.
    fn op(&mut self, mem: &mut dyn Linear, opcode: u8, pc: u32) -> Exit;
}

/// A frame of a context `H` being run by compiled code.
pub struct Dispatch<'a, H: Host + ?Sized> {
    /// The frame's interpreter: operands are staged on its stack and its gas is synced
    /// around each operation.
    pub interp: &'a mut Interpreter<EthInterpreter>,
    /// revm's context: state, journal and environment.
    pub host: &'a mut H,
    /// revm's instruction table, so each opcode runs exactly as the interpreter runs it.
    pub table: &'a InstructionTable<EthInterpreter, H>,
    /// Operations run so far.
    pub ops: u64,
}

/// The EVM memory an opcode reads and writes, from its operands (top first). Ranges that do
/// not fit in memory are left to revm, which fails the opcode before touching memory.
#[derive(Debug, Default)]
struct Touched {
    reads: Option<Range<usize>>,
    writes: Option<Range<usize>>,
    /// CALL*/CREATE*: the frame may yield, and its whole memory moves into the interpreter.
    whole: bool,
}

fn range(offset: &U256, len: &U256) -> Option<Range<usize>> {
    let len = usize::try_from(*len).ok().filter(|&l| l > 0)?;
    let offset = usize::try_from(*offset).ok()?;
    Some(offset..offset.checked_add(len)?)
}

fn touched(op: u8, inputs: &[U256]) -> Option<Touched> {
    use opcode::*;
    // Operand `i` from the top.
    let at = |i: usize| &inputs[inputs.len() - 1 - i];
    Some(match op {
        LOG0..=LOG4 | RETURN | REVERT => Touched {
            reads: range(at(0), at(1)),
            ..Default::default()
        },
        CALLDATACOPY | CODECOPY | RETURNDATACOPY => Touched {
            writes: range(at(0), at(2)),
            ..Default::default()
        },
        EXTCODECOPY => Touched {
            writes: range(at(1), at(3)),
            ..Default::default()
        },
        MCOPY => Touched {
            reads: range(at(1), at(2)),
            writes: range(at(0), at(2)),
            whole: false,
        },
        CALL | CALLCODE | DELEGATECALL | STATICCALL | CREATE | CREATE2 => Touched {
            whole: true,
            ..Default::default()
        },
        _ => return None,
    })
}

fn read_u64(mem: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(mem[at..at + 8].try_into().expect("8 bytes"))
}

fn read_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(mem[at..at + 4].try_into().expect("4 bytes"))
}

fn write_u64(mem: &mut [u8], at: usize, v: u64) {
    mem[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn read_word(mem: &[u8], at: usize) -> U256 {
    U256::from_limbs(std::array::from_fn(|i| read_u64(mem, at + 8 * i)))
}

fn write_word(mem: &mut [u8], at: usize, v: &U256) {
    for (i, limb) in v.as_limbs().iter().enumerate() {
        write_u64(mem, at + 8 * i, *limb);
    }
}

/// Stack items DUPN, SWAPN and EXCHANGE can reach (EIP-8024: DUPN 235, SWAPN 236, EXCHANGE 30),
/// so a loop of them on a deep stack copies a bounded part of it per step.
const IMMEDIATE_REACH: usize = 236;

/// The counters compiled code keeps in its control block.
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    /// Regular gas remaining ([`abi::GAS`]).
    pub gas: u64,
    /// Byte address of the topmost stack item ([`abi::TOP`]); [`abi::STACK_TOP`] when empty.
    pub top: u32,
    /// EVM memory size in bytes, a multiple of 32 ([`abi::MSIZE`]).
    pub msize: u64,
    /// Memory expansion gas already paid for `msize` ([`abi::MEM_COST`]).
    pub mem_cost: u64,
}

impl Counters {
    /// Reads the counters from the control block at the start of `mem` (at least the
    /// control block's bytes long).
    pub fn read(mem: &[u8]) -> Self {
        Self {
            gas: read_u64(mem, abi::GAS as usize),
            top: read_u32(mem, abi::TOP as usize),
            msize: read_u64(mem, abi::MSIZE as usize),
            mem_cost: read_u64(mem, abi::MEM_COST as usize),
        }
    }

    /// Writes the counters into the control block at the start of `mem`.
    pub fn write(&self, mem: &mut [u8]) {
        write_u64(mem, abi::GAS as usize, self.gas);
        mem[abi::TOP as usize..][..4].copy_from_slice(&self.top.to_le_bytes());
        write_u64(mem, abi::MSIZE as usize, self.msize);
        write_u64(mem, abi::MEM_COST as usize, self.mem_cost);
    }

    fn height(&self) -> usize {
        ((abi::STACK_TOP - self.top) / 32) as usize
    }
}

/// Moves the interpreter's stack and memory into the submodule (a fresh frame has neither), so
/// compiled code continues where the interpreter state says. False if memory cannot hold it.
pub fn enter(interp: &mut Interpreter<EthInterpreter>, mem: &mut dyn Linear) -> bool {
    let msize = interp.memory.len();
    if !mem.ensure(abi::MEM_BASE as usize + msize) {
        return false;
    }
    let bytes = mem.bytes();
    let stack = interp.stack.data_mut();
    let top = abi::STACK_TOP as usize - 32 * stack.len();
    for (depth, word) in stack.iter().rev().enumerate() {
        write_word(bytes, top + 32 * depth, word);
    }
    stack.clear();
    let base = abi::MEM_BASE as usize;
    bytes[base..base + msize].copy_from_slice(&interp.memory.context_memory());
    new_cache_epoch(bytes);
    frame_constants(interp, bytes);
    write_u64(bytes, abi::MEM_CAPACITY as usize, bytes.len() as u64);
    Counters {
        gas: interp.gas.remaining(),
        top: top as u32,
        msize: msize as u64,
        mem_cost: interp.gas.memory().expansion_cost,
    }
    .write(bytes);
    true
}

/// Lays out what compiled code reads of the frame without the host (see [`abi::FRAME`]).
fn frame_constants(interp: &Interpreter<EthInterpreter>, bytes: &mut [u8]) {
    let input = &interp.input;
    let word = |address: Address| U256::from_be_bytes(address.into_word().0);
    write_word(bytes, abi::ADDRESS as usize, &word(input.target_address()));
    write_word(bytes, abi::CALLER as usize, &word(input.caller_address()));
    write_word(bytes, abi::CALLVALUE as usize, &input.call_value());
    let calldata = input.input();
    let len = calldata.len();
    write_u64(bytes, abi::CALLDATASIZE as usize, len as u64);
    if len <= abi::CALLDATA_WINDOW as usize {
        let window = &mut bytes[abi::CALLDATA as usize..][..len + 32];
        let (data, padding) = window.split_at_mut(len);
        // Empty calldata is not looked up: a call passes it as the range `usize::MAX..` of its
        // caller's memory, which slicing rejects (revm never slices it either).
        if len > 0 {
            data.copy_from_slice(&calldata.as_bytes_memory(&interp.memory));
        }
        padding.fill(0);
    }
}

/// Brings the interpreter's memory size and memory gas up to the submodule's, and the bytes
/// in `reads`, so an opcode costs what it touches, not the whole memory.
fn memory_out(
    interp: &mut Interpreter<EthInterpreter>,
    bytes: &[u8],
    c: &Counters,
    reads: Option<Range<usize>>,
) {
    let msize = c.msize as usize;
    let base = abi::MEM_BASE as usize;
    let memory = &mut interp.memory;
    memory.resize(msize);
    if let Some(r) = reads {
        let r = r.start.min(msize)..r.end.min(msize);
        memory.set(r.start, &bytes[base + r.start..base + r.end]);
    }
    let gas_memory = interp.gas.memory_mut();
    gas_memory.words_num = msize / 32;
    gas_memory.expansion_cost = c.mem_cost;
}

/// Pushes the canonical stack's items at `depths` below its top onto the interpreter's
/// stack, deepest first.
fn stack_out(
    interp: &mut Interpreter<EthInterpreter>,
    bytes: &[u8],
    c: &Counters,
    depths: Range<usize>,
) {
    let stack = interp.stack.data_mut();
    for depth in depths.rev() {
        stack.push(read_word(bytes, c.top as usize + 32 * depth));
    }
}

/// Gives the frame to the interpreter where compiled code handed it over ([`Exit::Interpret`]):
/// its whole stack and memory, its counters and the pc to continue at.
pub fn leave(interp: &mut Interpreter<EthInterpreter>, mem: &mut dyn Linear) {
    let bytes = mem.bytes();
    let c = Counters::read(bytes);
    debug_assert!(
        interp.stack.data().is_empty(),
        "compiled code owns the stack"
    );
    stack_out(interp, bytes, &c, 0..c.height());
    memory_out(interp, bytes, &c, Some(0..c.msize as usize));
    interp.gas.set_remaining(c.gas);
    interp.bytecode.absolute_jump(handover_pc(bytes) as usize);
}

/// The pc compiled code left at, for the interpreter or the host to go on from.
pub fn handover_pc(bytes: &[u8]) -> u32 {
    read_u32(bytes, abi::HANDOVER_PC as usize)
}

/// Empties the storage cache: whatever ran since compiled code last ran may have written
/// storage. An epoch counter makes that one store; only when it wraps is the table cleared.
fn new_cache_epoch(bytes: &mut [u8]) {
    let at = abi::CACHE_EPOCH as usize;
    let epoch = read_u32(bytes, at).wrapping_add(1);
    let epoch = if epoch == 0 {
        let table = abi::STORAGE_CACHE as usize;
        bytes[table..table + (abi::CACHE_ENTRIES * abi::CACHE_ENTRY) as usize].fill(0);
        1
    } else {
        epoch
    };
    bytes[at..at + 4].copy_from_slice(&epoch.to_le_bytes());
}

/// Records that storage slot `key` of the running frame holds `value` (see
/// [`abi::STORAGE_CACHE`]).
fn cache_slot(bytes: &mut [u8], key: &U256, value: &U256) {
    let entry =
        (abi::STORAGE_CACHE + abi::CACHE_ENTRY * abi::cache_index(*key.as_limbs())) as usize;
    write_word(bytes, entry, key);
    write_word(bytes, entry + abi::CACHE_VALUE as usize, value);
    let epoch = read_u32(bytes, abi::CACHE_EPOCH as usize);
    let at = entry + abi::CACHE_ENTRY_EPOCH as usize;
    bytes[at..at + 4].copy_from_slice(&epoch.to_le_bytes());
}

impl<H: Host + ?Sized> Dispatch<'_, H> {
    /// Brings back what the opcode grew and wrote. Memory it exposed is zero on both sides.
    fn memory_in(&mut self, mem: &mut dyn Linear, c: &mut Counters, touched: &Touched) -> bool {
        let (old, new) = (c.msize as usize, self.interp.memory.len());
        if !mem.ensure(abi::MEM_BASE as usize + new) {
            return false;
        }
        let base = abi::MEM_BASE as usize;
        let bytes = mem.bytes();
        if new > old {
            bytes[base + old..base + new].fill(0);
        }
        if let Some(w) = &touched.writes {
            let w = w.start.min(new)..w.end.min(new);
            let source = self.interp.memory.context_memory();
            bytes[base + w.start..base + w.end].copy_from_slice(&source[w.clone()]);
        }
        c.msize = new as u64;
        c.mem_cost = self.interp.gas.memory().expansion_cost;
        true
    }
}

impl<H: Host + ?Sized> FrameOps for Dispatch<'_, H> {
    fn op(&mut self, mem: &mut dyn Linear, opcode: u8, pc: u32) -> Exit {
        self.ops += 1;
        let bytes = mem.bytes();
        let mut c = Counters::read(bytes);
        let height = c.height();
        // The immediate-carrying stack opcodes see as much of the stack as their immediate can
        // reach (all of a full stack, for DUPN's overflow check); the others their operands.
        let whole = matches!(opcode, opcode::DUPN | opcode::SWAPN | opcode::EXCHANGE);
        let inputs = match OPCODE_INFO[opcode as usize] {
            _ if whole && height < abi::STACK_LIMIT as usize => height.min(IMMEDIATE_REACH),
            _ if whole => height,
            Some(info) => info.inputs() as usize,
            None => 0,
        };
        debug_assert!(
            inputs <= height,
            "sections check the stack before host operations"
        );
        self.interp.stack.data_mut().clear();
        stack_out(self.interp, bytes, &c, 0..inputs);
        let touched = touched(opcode, self.interp.stack.data());
        // SLOAD's key; SSTORE's key and value.
        let slot = match (opcode, self.interp.stack.data().as_slice()) {
            (opcode::SLOAD, [key]) => Some((*key, None)),
            (opcode::SSTORE, [value, key]) => Some((*key, Some(*value))),
            _ => None,
        };
        if let Some(touched) = &touched {
            let reads = if touched.whole {
                Some(0..c.msize as usize)
            } else {
                touched.reads.clone()
            };
            memory_out(self.interp, bytes, &c, reads);
        }
        self.interp.gas.set_remaining(c.gas);
        // revm's step moves past the opcode before running it; instructions that read an
        // immediate or the pc see the same position as in the interpreter.
        self.interp.bytecode.absolute_jump(pc as usize + 1);

        let ran = self.table[opcode as usize].execute(InstructionContext {
            interpreter: self.interp,
            host: self.host,
        });
        if let Err(result) = ran {
            if self.interp.bytecode.action().is_none() {
                self.interp.halt(result);
            }
            let calls = matches!(
                self.interp.bytecode.action(),
                Some(InterpreterAction::NewFrame(_))
            );
            if !calls {
                return Exit::HostDone;
            }
            // Park everything below the call's operands in the interpreter; revm pushes the
            // call's result on top of it when the callee returns.
            debug_assert!(
                self.interp.stack.data().is_empty(),
                "the call consumed its operands"
            );
            stack_out(self.interp, mem.bytes(), &c, inputs..height);
            return Exit::Yield;
        }

        c.gas = self.interp.gas.remaining();
        if let Some(touched) = &touched
            && !self.memory_in(mem, &mut c, touched)
        {
            self.interp.halt(InstructionResult::MemoryOOG);
            return Exit::HostDone;
        }
        let bytes = mem.bytes();
        let outputs = self.interp.stack.data();
        if let Some((key, value)) = slot
            && let Some(value) = value.or_else(|| outputs.first().copied())
        {
            cache_slot(bytes, &key, &value);
        }
        c.top = abi::STACK_TOP - 32 * (height - inputs + outputs.len()) as u32;
        for (depth, word) in outputs.iter().rev().enumerate() {
            write_word(bytes, c.top as usize + 32 * depth, word);
        }
        c.write(bytes);
        self.interp.stack.data_mut().clear();
        Exit::Continue
    }
}
