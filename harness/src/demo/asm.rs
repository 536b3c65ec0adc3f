//! A minimal EVM assembler with labels, so the demo's contracts are written here as readable
//! opcode lists instead of opaque hex. Jump targets are always `PUSH2`, which keeps it one pass
//! plus a patch step.

use std::collections::HashMap;

use alloy_primitives::Bytes;

/// One assembly item.
#[derive(Clone, Debug)]
pub enum Op {
    /// A plain opcode byte.
    Code(u8),
    /// `PUSHn` of the minimal width for these big-endian bytes (1..=32 bytes).
    Push(Vec<u8>),
    /// `PUSH2 <offset of label>`.
    PushLabel(&'static str),
    /// `JUMPDEST` marking `label`.
    Label(&'static str),
}

pub const STOP: u8 = 0x00;
pub const ADD: u8 = 0x01;
pub const MUL: u8 = 0x02;
pub const SUB: u8 = 0x03;
pub const LT: u8 = 0x10;
pub const ISZERO: u8 = 0x15;
pub const KECCAK256: u8 = 0x20;
pub const CALLER: u8 = 0x33;
pub const CALLDATALOAD: u8 = 0x35;
pub const POP: u8 = 0x50;
pub const MLOAD: u8 = 0x51;
pub const MSTORE: u8 = 0x52;
pub const SLOAD: u8 = 0x54;
pub const SSTORE: u8 = 0x55;
pub const JUMP: u8 = 0x56;
pub const JUMPI: u8 = 0x57;
pub const JUMPDEST: u8 = 0x5b;
pub const DUP1: u8 = 0x80;
pub const DUP2: u8 = 0x81;
pub const DUP3: u8 = 0x82;
pub const SWAP1: u8 = 0x90;
pub const LOG3: u8 = 0xa3;
pub const RETURN: u8 = 0xf3;
pub const REVERT: u8 = 0xfd;

/// `PUSH` of a small number.
pub fn push(v: u64) -> Op {
    let bytes = v.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    Op::Push(bytes[first..].to_vec())
}

/// Assembles `ops`; an unknown label is a programming error in the demo and reported as such.
pub fn assemble(ops: &[Op]) -> Result<Bytes, String> {
    let mut code = Vec::new();
    let mut labels = HashMap::new();
    let mut patches = Vec::new();
    for op in ops {
        match op {
            Op::Code(c) => code.push(*c),
            Op::Push(bytes) => {
                if bytes.is_empty() || bytes.len() > 32 {
                    return Err(format!("push of {} bytes", bytes.len()));
                }
                code.push(0x5f + bytes.len() as u8);
                code.extend_from_slice(bytes);
            }
            Op::PushLabel(label) => {
                code.push(0x61);
                patches.push((code.len(), *label));
                code.extend_from_slice(&[0, 0]);
            }
            Op::Label(label) => {
                labels.insert(*label, code.len() as u16);
                code.push(JUMPDEST);
            }
        }
    }
    for (at, label) in patches {
        let target = labels
            .get(label)
            .ok_or_else(|| format!("unknown label {label}"))?;
        code[at..at + 2].copy_from_slice(&target.to_be_bytes());
    }
    Ok(code.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_to_their_jumpdest() {
        let code = assemble(&[
            Op::PushLabel("end"),
            Op::Code(JUMP),
            Op::Label("end"),
            Op::Code(STOP),
        ])
        .unwrap();
        assert_eq!(code.as_ref(), &[0x61, 0x00, 0x04, JUMP, JUMPDEST, STOP]);
    }

    #[test]
    fn unknown_labels_are_errors() {
        assert!(assemble(&[Op::PushLabel("nowhere")]).is_err());
    }
}
