//! Submodules: contract code compiled to WebAssembly and run under wasmer as revm's frames, the
//! `compile` tier of execution.
//!
//! ```text
//! contract code ─► compiler (pure: bytecode, spec ─► Wasm bytes) ─► ModuleCache ─► wasmer Module
//!                                                                         │
//! revm frame loop ─► TieredEvm::frame_run ─► per-thread Store: Instance ─► run(entry) ─► host op
//!       ▲                                                        │          ─► revm instruction
//!       └── CALL/CREATE: stack + memory saved, yield; the callee runs, then resume here
//! ```
//!
//! [`compiler`] turns bytecode into Wasm and knows nothing of the runtime (no wasmer); [`abi`]
//! is the contract between the two; [`runtime`] hosts compiled code (engine, module cache,
//! instances, host); [`evm`] puts it into revm's frame loop, the seam `executor` builds its
//! EVMs through ([`TieredEvmFactory`]).

#![warn(missing_docs, unreachable_pub)]

pub mod abi;
pub mod compiler;
pub mod evm;
mod outcome;
pub mod runtime;
#[cfg(feature = "testing")]
pub mod testing;

pub use evm::{TieredEvm, TieredEvmFactory};
pub use outcome::{Outcome, Status};

/// Where contract code runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// revm's interpreter alone.
    #[default]
    Interpret,
    /// Every contract compiled to a submodule (code the compiler refuses, such as init code over
    /// its size limit, is interpreted).
    Compile,
    /// Code starts interpreted; code whose interpreted frames spend more gas than a threshold is
    /// compiled in the background ([`runtime::TierUp`]), and runs compiled from its next frame
    /// once its module is ready. Execution never waits for a compile.
    Auto,
}
