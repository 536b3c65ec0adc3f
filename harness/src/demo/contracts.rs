//! The demo's contracts, assembled from opcodes.

use alloy_primitives::{Bytes, keccak256};

use super::asm::{self, Op::*, push};

/// A minimal token: any call is `transfer(to = word 0, amount = word 1)`. Balances live at
/// slot = holder address. Reverts on insufficient balance; emits an ERC20 `Transfer` log.
pub fn token() -> Bytes {
    let transfer_topic = keccak256("Transfer(address,address,uint256)");
    let ops = vec![
        push(0x20),
        Code(asm::CALLDATALOAD), // amount
        push(0x00),
        Code(asm::CALLDATALOAD), // to, amount
        Code(asm::CALLER),
        Code(asm::SLOAD), // bal, to, amount
        Code(asm::DUP3),
        Code(asm::DUP2),
        Code(asm::LT), // bal < amount, bal, to, amount
        PushLabel("fail"),
        Code(asm::JUMPI),
        Code(asm::DUP3),
        Code(asm::SWAP1),
        Code(asm::SUB), // bal - amount, to, amount
        Code(asm::CALLER),
        Code(asm::SSTORE), // to, amount
        Code(asm::DUP1),
        Code(asm::SLOAD),
        Code(asm::DUP3),
        Code(asm::ADD), // to_bal + amount, to, amount
        Code(asm::DUP2),
        Code(asm::SSTORE), // to, amount
        Code(asm::SWAP1),
        push(0),
        Code(asm::MSTORE), // to
        Code(asm::CALLER),
        Push(transfer_topic.to_vec()),
        push(0x20),
        push(0),
        Code(asm::LOG3),
        push(1),
        push(0),
        Code(asm::MSTORE),
        push(0x20),
        push(0),
        Code(asm::RETURN),
        Label("fail"),
        push(0),
        Code(asm::DUP1),
        Code(asm::REVERT),
    ];
    asm::assemble(&ops).expect("demo token assembles")
}

/// Compute-heavy: `n = word 0` rounds, each hashing the word at memory 0 and mixing the
/// digest with `m = word 1` multiply-adds (`h = h * h + 7`) before storing it back; the last
/// word is then stored. With `m = 0` the loop is KECCAK256 alone, which costs about as much
/// compiled as interpreted (the hash dominates); the multiply-adds are where compiled code
/// saves the interpreter's per-instruction dispatch.
pub fn hasher() -> Bytes {
    let ops = vec![
        push(0x20),
        Code(asm::CALLDATALOAD), // m
        push(0),
        Code(asm::CALLDATALOAD), // n, m
        Label("loop"),
        Code(asm::DUP1),
        Code(asm::ISZERO),
        PushLabel("end"),
        Code(asm::JUMPI),
        push(0x20),
        push(0),
        Code(asm::KECCAK256), // h, n, m
        Code(asm::DUP3),      // j = m, h, n, m
        Label("mix"),
        Code(asm::DUP1),
        Code(asm::ISZERO),
        PushLabel("mixed"),
        Code(asm::JUMPI),
        Code(asm::SWAP1),
        Code(asm::DUP1),
        Code(asm::MUL),
        push(7),
        Code(asm::ADD),
        Code(asm::SWAP1), // j, h * h + 7, n, m
        push(1),
        Code(asm::SWAP1),
        Code(asm::SUB), // j - 1, h, n, m
        PushLabel("mix"),
        Code(asm::JUMP),
        Label("mixed"),
        Code(asm::POP), // h, n, m
        push(0),
        Code(asm::MSTORE), // n, m
        push(1),
        Code(asm::SWAP1),
        Code(asm::SUB), // n - 1, m
        PushLabel("loop"),
        Code(asm::JUMP),
        Label("end"),
        push(0),
        Code(asm::MLOAD),
        push(0),
        Code(asm::SSTORE),
        Code(asm::STOP),
    ];
    asm::assemble(&ops).expect("demo hasher assembles")
}

/// Storage-heavy: writes `n = word 0` consecutive slots from `base = word 1` (each holding its
/// own key), so a call costs little to execute and much to commit.
pub fn filler() -> Bytes {
    let ops = vec![
        push(0),
        Code(asm::CALLDATALOAD), // n
        push(0x20),
        Code(asm::CALLDATALOAD), // base, n
        Label("loop"),
        Code(asm::DUP2),
        Code(asm::ISZERO),
        PushLabel("end"),
        Code(asm::JUMPI),
        Code(asm::DUP1),
        Code(asm::DUP1),
        Code(asm::SSTORE), // base, n
        push(1),
        Code(asm::ADD), // base + 1, n
        Code(asm::SWAP1),
        push(1),
        Code(asm::SWAP1),
        Code(asm::SUB),
        Code(asm::SWAP1), // base + 1, n - 1
        PushLabel("loop"),
        Code(asm::JUMP),
        Label("end"),
        Code(asm::STOP),
    ];
    asm::assemble(&ops).expect("demo filler assembles")
}
