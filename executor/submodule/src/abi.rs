//! The contract between compiled code and the runtime that hosts it: where the EVM stack,
//! memory and counters live in a submodule's linear memory, and what `run` returns.
//!
//! Both sides are compiled from these constants, so the layout cannot drift between the
//! compiler and the runtime.

use revm::interpreter::InstructionResult;

/// Offset of the gas counter (i64, regular gas remaining) in the control block. Compiled code
/// keeps gas in a local and writes it here only around host calls and on exit.
pub const GAS: u32 = 0;
/// Offset of the stack top address (i32): the byte address of the topmost stack item.
pub const TOP: u32 = 8;
/// Offset of the EVM memory size in bytes (i64), always a multiple of 32.
pub const MSIZE: u32 = 16;
/// Offset of the memory expansion cost already paid for `MSIZE` (i64).
pub const MEM_COST: u32 = 24;
/// Offset of the pc the interpreter continues at after [`Exit::Interpret`], or of the opcode
/// the host runs after [`Exit::Host`] (i32).
pub const HANDOVER_PC: u32 = 32;
/// Offset of the storage cache's epoch (i32): entries of another epoch are empty. The runtime
/// starts a new one on every entry into compiled code.
pub const CACHE_EPOCH: u32 = 36;
/// Offset of a flag (i32) compiled code sets when it grows the Wasm memory: the host keeps the
/// memory's address and size between its calls and looks them up again only then.
pub const MEMORY_GROWN: u32 = 40;
/// Offset of a lower bound (i64) of the linear memory's size in bytes: memory expansion below
/// it needs no `memory.size`, which wasmer runs as a call out of compiled code. The runtime
/// sets it on entry; compiled code raises it when it grows the memory.
pub const MEM_CAPACITY: u32 = 48;

/// The jump table: one u32 per pc of the code (and one past it), the dense dispatch index of
/// the JUMPDEST there or 0 (invalid). Filled by the module's data segment at instantiation.
pub const JUMP_TABLE: u32 = 64;
/// Largest code the jump table covers, hence the largest code compiled. Deployed code is at
/// most 24 KiB and init code 48 KiB since Shanghai.
pub const MAX_CODE: u32 = 1 << 16;

/// The storage cache: what SLOAD reads without calling the host. A direct-mapped table of
/// [`CACHE_ENTRIES`] entries of [`CACHE_ENTRY`] bytes: the key's limbs, the value's limbs,
/// then the epoch (i32) the entry belongs to. The host fills an entry whenever SLOAD or SSTORE
/// runs through it, so an entry of the current epoch is a slot this frame has read or written
/// since it was last entered: warm, and unchanged but by the frame itself (anything else that
/// writes storage runs in another frame, and the frame is entered again after it).
pub const STORAGE_CACHE: u32 = (JUMP_TABLE + 4 * (MAX_CODE + 1)).next_multiple_of(8);
/// Number of entries of the storage cache (4096): collisions only cost a host call.
pub const CACHE_ENTRIES: u32 = 1 << CACHE_BITS;
/// Bits of [`cache_index`]'s result: log2 of [`CACHE_ENTRIES`].
pub const CACHE_BITS: u32 = 12;
/// Bytes per storage cache entry: key (32), value (32), epoch (4), padded to 8.
pub const CACHE_ENTRY: u32 = 72;
/// Offset of an entry's value (four limbs) within the entry.
pub const CACHE_VALUE: u32 = 32;
/// Offset of an entry's epoch (i32) within the entry.
pub const CACHE_ENTRY_EPOCH: u32 = 64;

/// The entry of the storage cache that `key` maps to: the top byte of its limbs, folded and
/// multiplied (storage keys are hashes or small sequential integers, and both spread).
pub fn cache_index(key: [u64; 4]) -> u32 {
    let folded = key[0] ^ key[1].rotate_left(16) ^ key[2].rotate_left(32) ^ key[3].rotate_left(48);
    (folded.wrapping_mul(CACHE_HASH) >> (64 - CACHE_BITS)) as u32
}
/// The multiplier of [`cache_index`] (2^64 over the golden ratio).
pub const CACHE_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

/// The frame's constants, written by the runtime on every entry (an instance serves every frame
/// of its code, a reentrant one included): what ADDRESS, CALLER, CALLVALUE, CALLDATASIZE and
/// CALLDATALOAD read without calling the host. Words are stored as stack items are.
pub const FRAME: u32 = STORAGE_CACHE + CACHE_ENTRIES * CACHE_ENTRY;
/// The executing account's address, as a word (ADDRESS).
pub const ADDRESS: u32 = FRAME;
/// The frame's caller, as a word (CALLER).
pub const CALLER: u32 = FRAME + 32;
/// The value sent with the call, in wei (CALLVALUE).
pub const CALLVALUE: u32 = FRAME + 64;
/// The calldata's length (i64).
pub const CALLDATASIZE: u32 = FRAME + 96;
/// The calldata itself when it is at most [`CALLDATA_WINDOW`] bytes, followed by 32 zero bytes
/// so a word read at any offset below the length is padded as the EVM pads it. Longer
/// calldata is left to the host.
pub const CALLDATA: u32 = FRAME + 128;
/// Longest calldata copied into linear memory on entry; a frame with more asks the host.
pub const CALLDATA_WINDOW: u32 = 4096;

/// Maximum EVM stack height.
pub const STACK_LIMIT: u32 = 1024;
/// The stack grows downwards from here: item `d` below the top lives at `top + 32 * d`, so every
/// access within a section is a non-negative constant offset from one address.
pub const STACK_TOP: u32 = CALLDATA + CALLDATA_WINDOW + 32 + 32 * STACK_LIMIT;
/// Start of EVM memory; byte `i` of EVM memory is at `MEM_BASE + i`.
pub const MEM_BASE: u32 = STACK_TOP;
/// The largest EVM memory a submodule can address. Reaching it would cost ~3.5e13 gas under the
/// quadratic memory rule, far above any gas limit, so hitting it is reported as memory
/// out-of-gas exactly where revm would fail to pay for (or allocate) the expansion.
pub const MEM_LIMIT: u64 = (1 << 32) - MEM_BASE as u64 - (1 << 16);

/// Wasm page size.
pub const PAGE: u64 = 1 << 16;

/// Name of the exported entry point: `run(entry: i32) -> i32`.
pub const RUN: &str = "run";
/// Name of the exported linear memory.
pub const MEMORY: &str = "memory";
/// Import module and name of the host operation: `op(opcode: i32, pc: i32) -> i32`, returning
/// [`Exit::Continue`] or the exit `run` must take at once.
pub const HOST_MODULE: &str = "evm";
/// Import name of the host operation in [`HOST_MODULE`].
pub const HOST_OP: &str = "op";
/// Import name of KECCAK256's hash: `keccak(addr: i32, len: i32) -> (i64, i64, i64, i64)`, the
/// hash of linear memory `addr..addr + len` as a word, least significant limb first. Compiled
/// code does the opcode's checks, gas and memory expansion itself; only the hashing is native.
pub const KECCAK: &str = "keccak";
/// Import module of the 256-bit arithmetic helpers, exported by the helpers module
/// ([`helpers_module`](crate::compiler::helpers_module)) under their names.
pub const HELPERS_MODULE: &str = "helpers";

/// Why `run` returned, or (for [`Exit::Continue`], from a host operation) that it goes on.
///
/// On the wire: `0` continue, `1` host done, `2` yield, `3` interpret, `4` host,
/// `HALT_BASE + i` the halt `HALTS[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Only from a host operation: the operation ran and compiled code goes on after it.
    Continue,
    /// The host ended the frame (RETURN, REVERT, SELFDESTRUCT or a failing host operation) and
    /// has set the interpreter's action.
    HostDone,
    /// A CALL or CREATE: the host saved the live stack and memory into the interpreter and set
    /// the new-frame action; the frame resumes after the call.
    Yield,
    /// The interpreter takes the frame over at [`HANDOVER_PC`]: a check failed whose exact
    /// outcome only running instruction by instruction decides (a section's gas or stack
    /// bound, or a dynamic cost or operand). Compiled code left the canonical stack and the
    /// counters as they are before the instruction at that pc, with the gas the interpreter
    /// would have there.
    Interpret,
    /// The opcode at [`HANDOVER_PC`] is the host's and ends or suspends the run (RETURN,
    /// REVERT, SELFDESTRUCT, CALL*, CREATE*): compiled code left the canonical stack and the
    /// counters as they are before it, and the runtime runs it once out of Wasm. Calling the
    /// host from inside would cost a second crossing for nothing compiled code does after it.
    Host,
    /// Compiled code ended the frame itself (STOP, an invalid jump or opcode), with the gas
    /// left in the control block.
    Halt(InstructionResult),
}

/// The halts compiled code reports itself: each is decided by its instruction alone, which the
/// section's checks have let run. Every other halt is the interpreter's or the host's.
const HALTS: [InstructionResult; 5] = [
    InstructionResult::Stop,
    InstructionResult::InvalidJump,
    InstructionResult::InvalidFEOpcode,
    InstructionResult::OpcodeNotFound,
    InstructionResult::NotActivated,
];
const HALT_BASE: i32 = 5;

impl Exit {
    /// The `i32` this exit is on the wire. Panics on a halt outside `HALTS`: compiled code
    /// never reports one, so that is a bug in the caller, not bad input.
    pub fn to_raw(self) -> i32 {
        match self {
            Exit::Continue => 0,
            Exit::HostDone => 1,
            Exit::Yield => 2,
            Exit::Interpret => 3,
            Exit::Host => 4,
            Exit::Halt(result) => {
                let i = HALTS.iter().position(|&h| h == result);
                HALT_BASE + i.expect("compiled code only reports the halts it lists") as i32
            }
        }
    }

    /// The exit `raw` encodes; `None` for a value compiled code never returns, which the
    /// runtime reports as a fatal error of the frame, as it does a trap.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            0 => Exit::Continue,
            1 => Exit::HostDone,
            2 => Exit::Yield,
            3 => Exit::Interpret,
            4 => Exit::Host,
            _ => Exit::Halt(*HALTS.get(usize::try_from(raw - HALT_BASE).ok()?)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_survives_the_wire() {
        let exits = [
            Exit::Continue,
            Exit::HostDone,
            Exit::Yield,
            Exit::Interpret,
            Exit::Host,
        ];
        for exit in exits.into_iter().chain(HALTS.map(Exit::Halt)) {
            assert_eq!(Exit::from_raw(exit.to_raw()), Some(exit));
        }
        assert_eq!(Exit::from_raw(HALT_BASE + HALTS.len() as i32), None);
        assert_eq!(Exit::from_raw(-1), None);
    }
}
