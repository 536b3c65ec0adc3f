//! The compiler: a pure function from (bytecode, spec) to Wasm bytes. It has no runtime
//! dependency, so it is tested and fuzzed alone.

pub mod analysis;
mod codegen;
mod helpers;

use revm::{
    context_interface::cfg::{GasId, GasParams},
    primitives::hardfork::SpecId,
};

use analysis::Analysis;
pub use codegen::GasRules;

/// Bumped whenever generated code changes meaning, so cached artifacts of an older compiler
/// are never reused.
pub const COMPILER_VERSION: u32 = 1;

/// Largest code the compiler accepts. Deployed code is capped at 24 KiB and init code at
/// 48 KiB since Shanghai; older forks allow larger init code, which runs interpreted.
pub const MAX_CODE: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    #[error("code of {len} bytes is over the compiler's limit of {MAX_CODE}")]
    TooLarge { len: usize },
}

/// A compiled contract: the module and what the runtime needs to enter it.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub wasm: Vec<u8>,
    /// Pcs execution resumes at after each CALL/CREATE, sorted; resume point `k` is entered
    /// with `entry = code_len + 1 + k`.
    pub resumes: Vec<u32>,
    pub code_len: u32,
}

impl Compiled {
    /// Entry index of the start of the code.
    pub fn start_entry(&self) -> i32 {
        self.code_len as i32
    }

    /// Entry index that resumes at `pc`, if a call returns there.
    pub fn resume_entry(&self, pc: u32) -> Option<i32> {
        let k = self.resumes.binary_search(&pc).ok()?;
        Some((self.code_len as usize + 1 + k) as i32)
    }
}

/// The dynamic gas rules of `spec` that compiled code applies itself.
pub fn gas_rules(spec: SpecId) -> GasRules {
    let params = GasParams::new_spec(spec);
    GasRules {
        memory_linear: params.get(GasId::memory_linear_cost()),
        memory_quadratic_reduction: params.get(GasId::memory_quadratic_reduction()),
        exp_byte: params.get(GasId::exp_byte_gas()),
    }
}

/// Compiles `code` for `spec`.
pub fn compile(code: &[u8], spec: SpecId) -> Result<Compiled, CompileError> {
    if code.len() > MAX_CODE {
        return Err(CompileError::TooLarge { len: code.len() });
    }
    let analysis = Analysis::new(code, spec);
    let wasm = codegen::generate(&analysis, spec, gas_rules(spec));
    Ok(Compiled {
        wasm,
        resumes: analysis.resumes.iter().map(|&(pc, _)| pc).collect(),
        code_len: analysis.code_len,
    })
}
