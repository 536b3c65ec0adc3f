//! Submodules: contract code compiled to WebAssembly and run under wasmer as revm's frames.
//!
//! ```text
//! frame_run ─► ModuleCache (code hash, spec) ─► compile ─► wasmer Module
//!     │                                                     │
//!     └─► per-thread Store: Instance ─► run(entry) ─► host op ─► revm instruction
//!                                          │ CALL/CREATE: save stack + memory, yield
//!                                          ▼
//!                         revm frame loop runs the callee, then resumes here
//! ```
//!
//! [`compiler`] turns bytecode into Wasm and knows nothing of the runtime; [`abi`] is the
//! contract between the two; [`runtime`] hosts compiled code; [`evm`] puts it into revm's frame
//! loop.

pub mod abi;
pub mod compiler;
pub mod evm;
mod outcome;
pub mod runtime;

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
}
