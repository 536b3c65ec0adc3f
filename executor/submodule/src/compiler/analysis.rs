//! Bytecode analysis: decode instructions, find the places control can enter, and cut the code
//! into gas sections whose static gas and stack bounds are checked once (evmone's basic-block
//! scheme).

use revm::{
    bytecode::{
        Bytecode,
        opcode::{self, OPCODE_INFO},
    },
    interpreter::instructions::gas_table_spec,
    primitives::{U256, hardfork::SpecId},
};

/// One decoded instruction.
#[derive(Clone, Debug)]
pub struct Op {
    /// Byte offset of the opcode in the code.
    pub pc: u32,
    /// The opcode byte.
    pub opcode: u8,
    /// The PUSH immediate (zero-padded past the end of the code, as revm pads it).
    pub imm: U256,
    /// Static gas, charged with the rest of its section on entry.
    pub gas: u64,
}

/// A run of instructions entered only at its first one, so its static gas and stack needs can be
/// checked once on entry.
#[derive(Clone, Debug)]
pub struct Section {
    /// Index of the first instruction in [`Analysis::ops`].
    pub start: usize,
    /// One past the last instruction.
    pub end: usize,
    /// Sum of the static gas of its instructions.
    pub gas: u64,
    /// Stack height the section needs on entry.
    pub needs: u32,
    /// Largest height above the entry height reached inside it.
    pub grows: u32,
}

/// The decoded program.
#[derive(Debug)]
pub struct Analysis {
    /// Instructions in code order; the last one is an implicit STOP at `code.len()`.
    pub ops: Vec<Op>,
    /// The gas sections, in code order, covering every instruction once.
    pub sections: Vec<Section>,
    /// Instruction indices control can enter from outside straight-line flow: the start, every
    /// valid JUMPDEST, every resume point after a CALL/CREATE, and the fall-through of the
    /// immediate-carrying stack opcodes. Sorted, unique.
    pub targets: Vec<usize>,
    /// Index into [`targets`](Self::targets) of the first target of each region: the targets
    /// compiled into one Wasm function. Regions are consecutive and cover every target.
    pub regions: Vec<usize>,
    /// `(pc, instruction index)` of each resume point, sorted by pc.
    pub resumes: Vec<(u32, usize)>,
    /// Instruction index of the valid JUMPDEST at each pc (`None` elsewhere).
    pub jumpdests: Vec<Option<usize>>,
    /// Length of the code in bytes (the pc of the implicit STOP).
    pub code_len: u32,
}

/// CALL*/CREATE*: run by the host, which may yield to a new frame; the code resumes after it.
pub fn is_call(op: u8) -> bool {
    use opcode::*;
    matches!(
        op,
        CALL | CALLCODE | DELEGATECALL | STATICCALL | CREATE | CREATE2
    )
}

/// DUPN/SWAPN/EXCHANGE: run by the host on the whole stack (their depth is in an immediate
/// byte the decoding does not skip, as revm's jump analysis does not); execution continues
/// two bytes on.
pub fn carries_immediate(op: u8) -> bool {
    matches!(op, opcode::DUPN | opcode::SWAPN | opcode::EXCHANGE)
}

/// Whether the section must end after `op`: control leaves, or the next instruction needs the
/// exact gas left (GAS, SSTORE's stipend check, the 63/64 rule of calls) or a fresh stack check.
fn ends_section(op: u8) -> bool {
    use opcode::*;
    matches!(
        op,
        STOP | JUMP | JUMPI | RETURN | REVERT | INVALID | SELFDESTRUCT | GAS | SSTORE
    ) || is_call(op)
        || carries_immediate(op)
        || OPCODE_INFO[op as usize].is_none()
}

/// Stack inputs and outputs of `op` as the section check sees them. The whole-stack opcodes
/// check their own depth inside revm.
fn stack_io(op: u8) -> (u32, u32) {
    match OPCODE_INFO[op as usize] {
        Some(info) if !carries_immediate(op) => (info.inputs() as u32, info.outputs() as u32),
        _ => (0, 0),
    }
}

impl Analysis {
    /// Analyses `code` (at most [`abi::MAX_CODE`](crate::abi::MAX_CODE) bytes).
    pub fn new(code: &[u8], spec: SpecId) -> Self {
        let gas_table = gas_table_spec(spec);
        // revm's own analysis decides which JUMPDESTs are valid, so both tiers agree on every
        // jump, including into bytes that follow immediate-carrying opcodes.
        let analysed = Bytecode::new_legacy(code.to_vec().into());
        let jump_table = analysed
            .legacy_jump_table()
            .expect("legacy bytecode has a jump table");

        let mut ops = Vec::with_capacity(code.len() + 1);
        let mut pc = 0usize;
        while pc < code.len() {
            let opcode = code[pc];
            let width = match opcode {
                opcode::PUSH1..=opcode::PUSH32 => (opcode - opcode::PUSH0) as usize,
                _ => 0,
            };
            let mut bytes = [0u8; 32];
            let available = code.len().saturating_sub(pc + 1).min(width);
            bytes[32 - width..32 - width + available].copy_from_slice(&code[pc + 1..][..available]);
            ops.push(Op {
                pc: pc as u32,
                opcode,
                imm: U256::from_be_bytes(bytes),
                gas: gas_table[opcode as usize] as u64,
            });
            pc += 1 + width;
        }
        ops.push(Op {
            pc: code.len().max(pc) as u32,
            opcode: opcode::STOP,
            imm: U256::ZERO,
            gas: gas_table[opcode::STOP as usize] as u64,
        });

        let mut jumpdests = vec![None; code.len()];
        let mut targets = vec![0];
        let mut resumes = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if op.opcode == opcode::JUMPDEST && jump_table.is_valid(op.pc as usize) {
                jumpdests[op.pc as usize] = Some(i);
                targets.push(i);
            }
            if is_call(op.opcode) {
                resumes.push((ops[i + 1].pc, i + 1));
                targets.push(i + 1);
            }
            if let Some(next) = skip_immediate(&ops, i) {
                targets.push(next);
            }
        }
        targets.sort_unstable();
        targets.dedup();
        let targets = bound_spans(&ops, targets);

        let sections = cut_sections(&ops, &targets);
        let regions = cut_regions(&ops, &targets);
        Self {
            ops,
            sections,
            targets,
            regions,
            resumes,
            jumpdests,
            code_len: code.len() as u32,
        }
    }

    /// Where execution continues after the immediate-carrying opcode at `index`, if it can.
    pub fn skip_immediate(&self, index: usize) -> Option<usize> {
        skip_immediate(&self.ops, index)
    }
}

/// The instruction two bytes after the immediate-carrying opcode at `index`. The byte between
/// decodes as a one-byte instruction whenever the opcode succeeds (revm rejects every PUSH and
/// JUMPDEST byte as an immediate), so that instruction is `index + 2`; `None` past the end.
/// Instructions a region spans at most (plus the rest of a section it reaches into): the bound
/// on the size of a Wasm function, so a code generator whose passes grow faster than linearly
/// with a function's size (Cranelift's register allocator, its e-graph) stays linear in the size
/// of the contract.
pub const REGION_OPS: usize = 512;

/// `targets` with a target added at the first section boundary after every [`REGION_OPS`]
/// instructions without one, so that straight-line code with many branches (JUMPI without
/// JUMPDESTs) is cut into regions too. A section boundary is a safe entry: the virtual stack is
/// flushed there, and every entry into a target takes the counters from the control block.
fn bound_spans(ops: &[Op], targets: Vec<usize>) -> Vec<usize> {
    let mut bounded = Vec::with_capacity(targets.len());
    let mut next = targets.iter().copied().peekable();
    let mut last = 0;
    for i in 0..ops.len() {
        let given = next.next_if_eq(&i).is_some();
        if given || (i - last >= REGION_OPS && falls_into_next_section(ops[i - 1].opcode)) {
            bounded.push(i);
            last = i;
        }
    }
    bounded
}

/// Whether control goes on to the next section after `op` ends one (code after a JUMP or a halt
/// is entered only at a target, so a target added there would compile dead code).
fn falls_into_next_section(op: u8) -> bool {
    use opcode::*;
    let halts = matches!(op, STOP | JUMP | RETURN | REVERT | INVALID | SELFDESTRUCT);
    ends_section(op) && !halts && OPCODE_INFO[op as usize].is_some()
}

/// Groups consecutive targets into regions of at most about [`REGION_OPS`] instructions.
fn cut_regions(ops: &[Op], targets: &[usize]) -> Vec<usize> {
    let mut regions = vec![0];
    let mut first = 0;
    for (j, &t) in targets.iter().enumerate().skip(1) {
        if t - first >= REGION_OPS {
            regions.push(j);
            first = t;
        }
    }
    debug_assert!(targets.last().is_none_or(|&t| t < ops.len()));
    regions
}

fn skip_immediate(ops: &[Op], index: usize) -> Option<usize> {
    let pc = ops[index].pc + 2;
    let next = ops.get(index + 2).filter(|o| o.pc == pc);
    next.filter(|_| carries_immediate(ops[index].opcode))
        .map(|_| index + 2)
}

fn cut_sections(ops: &[Op], targets: &[usize]) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut is_target = vec![false; ops.len()];
    for &t in targets {
        is_target[t] = true;
    }
    let mut start = 0;
    while start < ops.len() {
        let (mut gas, mut height, mut needs, mut grows) = (0u64, 0i64, 0i64, 0i64);
        let mut end = start;
        while end < ops.len() {
            if end > start && is_target[end] {
                break;
            }
            let op = ops[end].opcode;
            gas += ops[end].gas;
            let (inputs, outputs) = stack_io(op);
            needs = needs.max(inputs as i64 - height);
            height += outputs as i64 - inputs as i64;
            grows = grows.max(height);
            end += 1;
            if ends_section(op) {
                break;
            }
        }
        sections.push(Section {
            start,
            end,
            gas,
            needs: needs as u32,
            grows: grows as u32,
        });
        start = end;
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_at_jumpdests_and_gas_readers() {
        // PUSH1 1 PUSH1 2 ADD GAS JUMPDEST POP STOP
        let code = [0x60, 1, 0x60, 2, 0x01, 0x5a, 0x5b, 0x50, 0x00];
        let a = Analysis::new(&code, SpecId::CANCUN);
        let spans: Vec<_> = a.sections.iter().map(|s| (s.start, s.end, s.gas)).collect();
        // [PUSH PUSH ADD GAS] [JUMPDEST POP STOP] [implicit STOP]
        assert_eq!(spans, vec![(0, 4, 11), (4, 7, 3), (7, 8, 0)]);
        assert_eq!((a.sections[0].needs, a.sections[0].grows), (0, 2));
        assert_eq!((a.sections[1].needs, a.sections[1].grows), (1, 0));
        assert_eq!(a.jumpdests[6], Some(4));
    }

    #[test]
    fn a_jumpdest_inside_push_data_is_not_a_target() {
        let code = [0x61, 0x5b, 0x5b, 0x56];
        let a = Analysis::new(&code, SpecId::CANCUN);
        assert!(a.jumpdests.iter().all(Option::is_none));
        assert_eq!(a.ops[0].imm, U256::from(0x5b5b));
    }

    #[test]
    fn truncated_push_reads_zeros() {
        let a = Analysis::new(&[0x62, 0xaa], SpecId::CANCUN);
        assert_eq!(a.ops[0].imm, U256::from(0xaa0000));
        assert_eq!(a.ops.last().unwrap().pc, 4);
    }
}
