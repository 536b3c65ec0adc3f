//! The compiler: a pure function from (bytecode, spec) to Wasm bytes. It has no runtime
//! dependency, so it is tested and fuzzed alone.

pub mod analysis;
mod codegen;
mod helpers;

pub use helpers::module as helpers_module;

use revm::{
    context_interface::cfg::{GasId, GasParams},
    primitives::hardfork::SpecId,
};

use analysis::Analysis;
pub use codegen::GasRules;

/// Largest code the compiler accepts (the jump table's reach). Deployed code is capped at
/// 24 KiB and init code at 48 KiB since Shanghai; larger init code of older forks runs
/// interpreted.
pub const MAX_CODE: usize = crate::abi::MAX_CODE as usize;

/// Code the compiler refuses; the runtime then interprets it, so this is never a failure of
/// the transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// The code is longer than [`MAX_CODE`] bytes.
    #[error("code of {len} bytes is over the compiler's limit of {MAX_CODE}")]
    TooLarge {
        /// The code's length in bytes.
        len: usize,
    },
    /// The module would exceed the compile budget ([`wasm_budget`]): compile time and the
    /// memory a module holds grow with the Wasm, and this bounds both by the code's length.
    #[error("code of {len} bytes compiles to {wasm} bytes of Wasm, over the budget of {budget}")]
    OverBudget {
        /// The code's length in bytes.
        len: usize,
        /// The Wasm it compiled to.
        wasm: usize,
        /// The budget for code of that length.
        budget: usize,
    },
}

/// Wasm bytes a contract may compile to, per byte of code: the densest code measured makes 78
/// (a JUMPDEST, 33; the benchmark corpora 20 to 53), so only code crafted to blow up the
/// generator goes over it.
pub const WASM_PER_CODE_BYTE: usize = 128;
/// Wasm bytes every module may have besides: the dispatch, the exits, the imports.
pub const WASM_BASE: usize = 16 << 10;

/// The compile budget of code of `len` bytes: the most Wasm it may compile to.
pub fn wasm_budget(len: usize) -> usize {
    WASM_BASE + WASM_PER_CODE_BYTE * len
}

/// A compiled contract: the module and what the runtime needs to enter it.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The contract's Wasm module; it imports the host operations and the helpers module.
    pub wasm: Vec<u8>,
    /// `(pc, dispatch index)` of each point execution resumes at after a CALL/CREATE, sorted.
    pub resumes: Vec<(u32, i32)>,
    /// Dispatch index of the start of the code.
    pub start: i32,
}

impl Compiled {
    /// Dispatch index that resumes at `pc`, if a call returns there.
    pub fn resume_entry(&self, pc: u32) -> Option<i32> {
        let k = self.resumes.binary_search_by_key(&pc, |&(p, _)| p).ok()?;
        Some(self.resumes[k].1)
    }
}

/// The dynamic gas rules of `spec` that compiled code applies itself.
pub fn gas_rules(spec: SpecId) -> GasRules {
    let params = GasParams::new_spec(spec);
    GasRules {
        memory_linear: params.get(GasId::memory_linear_cost()),
        memory_quadratic_reduction: params.get(GasId::memory_quadratic_reduction()),
        exp_byte: params.get(GasId::exp_byte_gas()),
        keccak_word: params.get(GasId::keccak256_per_word()),
    }
}

/// Compiles `code` (deployed or init code) for `spec`, whose gas table and opcodes are fixed
/// into the module. Any bytes compile, invalid opcodes included (they halt where the
/// interpreter would); only code over [`MAX_CODE`] bytes is refused.
pub fn compile(code: &[u8], spec: SpecId) -> Result<Compiled, CompileError> {
    if code.len() > MAX_CODE {
        return Err(CompileError::TooLarge { len: code.len() });
    }
    let analysis = Analysis::new(code, spec);
    let wasm = codegen::generate(&analysis, spec, gas_rules(spec));
    let budget = wasm_budget(code.len());
    if wasm.len() > budget {
        return Err(CompileError::OverBudget {
            len: code.len(),
            wasm: wasm.len(),
            budget,
        });
    }
    let index = codegen::dispatch_index(&analysis);
    Ok(Compiled {
        wasm,
        resumes: analysis
            .resumes
            .iter()
            .map(|&(pc, op)| (pc, index(op)))
            .collect(),
        start: index(0),
    })
}
