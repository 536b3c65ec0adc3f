//! Compiled contracts shared by every thread: one wasmer engine per generation and the modules
//! it compiled, keyed by code hash and spec. Threads instantiate from here into Stores of their
//! own (see the parent module).

use std::sync::{Arc, Mutex, OnceLock};

use revm::primitives::{B256, hardfork::SpecId, map::HashMap};
use wasmer::{
    Engine, Module,
    sys::{CompilerConfig, Cranelift, EngineBuilder, Features},
};

use crate::compiler::{self, Compiled};

/// Estimated bytes of compiled modules a generation holds; past it the cache starts a new
/// generation with a new engine. A wasmer engine keeps the machine code of every module it
/// ever compiled until the engine itself goes, so dropping modules alone frees nothing. (A
/// cache evicting by use, with counters, is its own piece of work.)
const MODULE_BUDGET: usize = 256 << 20;
/// Estimated resident bytes per byte of Wasm, and at least per module (code memory is
/// allocated in whole pages, with trampolines and metadata beside it).
const MODULE_BYTES_PER_WASM_BYTE: usize = 4;
const MODULE_BYTES_MIN: usize = 64 << 10;
/// Why a frame could not run compiled.
#[derive(Debug, thiserror::Error)]
pub enum SubmoduleError {
    /// The compiler refused the code (too large): it runs interpreted.
    #[error(transparent)]
    Compile(#[from] compiler::CompileError),
    /// wasmer failed to compile or instantiate the generated module: a compiler bug or a
    /// resource limit; the frame runs interpreted.
    #[error("wasmer rejected the generated module: {0}")]
    Wasmer(String),
}

impl SubmoduleError {
    pub(super) fn wasmer(e: impl std::fmt::Display) -> Self {
        Self::Wasmer(e.to_string())
    }
}

/// A compiled contract ready to instantiate, with the engine that owns its machine code (a
/// Module does not keep its Engine alive).
pub struct CachedModule {
    pub(super) module: Module,
    pub(super) compiled: Compiled,
    pub(super) engine: Engine,
    /// The helpers module of the same engine, which `module` imports its arithmetic from.
    pub(super) helpers: Module,
    pub(super) generation: u64,
}

/// A Cranelift engine with the Wasm features compiled code uses: wide arithmetic
/// (`i64.mul_wide_u`, `i64.add128`) gives the 256-bit helpers the native 64x64->128 multiply
/// and add-with-carry that MVP Wasm lacks. With `SUBMODULE_PERFMAP` set, compiled functions
/// are listed in `/tmp/perf-<pid>.map` so `perf report` names them.
pub fn engine() -> Engine {
    let mut features = Features::default();
    features.wide_arithmetic(true);
    let mut compiler = Cranelift::new();
    if std::env::var_os("SUBMODULE_PERFMAP").is_some() {
        compiler.enable_perfmap();
    }
    EngineBuilder::new(compiler)
        .set_features(Some(features))
        .engine()
        .into()
}

/// One engine and the modules it compiled.
struct Generation {
    id: u64,
    engine: Engine,
    /// The 256-bit helpers, compiled once for every contract of this engine (an error only if
    /// wasmer rejects them, and then nothing runs compiled).
    helpers: Result<Module, String>,
    by_key: HashMap<(B256, SpecId), Arc<CachedModule>>,
    /// Estimated resident bytes of `by_key`.
    bytes: usize,
}

impl Generation {
    fn new(id: u64) -> Self {
        let engine = engine();
        let helpers = Module::new(&engine, compiler::helpers_module()).map_err(|e| e.to_string());
        Self {
            id,
            engine,
            helpers,
            by_key: HashMap::default(),
            bytes: 0,
        }
    }
}

/// The current engine and the modules it compiled, keyed by code hash and spec.
pub struct ModuleCache {
    current: Mutex<Generation>,
}

impl ModuleCache {
    fn new() -> Self {
        Self {
            current: Mutex::new(Generation::new(0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generation> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The process-wide cache.
    pub fn global() -> &'static ModuleCache {
        static CACHE: OnceLock<ModuleCache> = OnceLock::new();
        CACHE.get_or_init(ModuleCache::new)
    }

    /// Compiles `code` to a wasmer module without caching it, returning the Wasm size: what a
    /// cache miss costs, for measuring compile time (the helpers module is compiled once per
    /// engine, not per contract, so it is not part of it).
    pub fn compile_uncached(&self, code: &[u8], spec: SpecId) -> Result<usize, SubmoduleError> {
        let compiled = compiler::compile(code, spec)?;
        // A throwaway engine, so measuring does not pile code into the shared one.
        let engine = engine();
        Module::new(&engine, &compiled.wasm).map_err(SubmoduleError::wasmer)?;
        Ok(compiled.wasm.len())
    }

    /// The module for `code` under `spec` if it is compiled already; never compiles.
    pub fn cached(&self, hash: B256, spec: SpecId) -> Option<Arc<CachedModule>> {
        self.lock().by_key.get(&(hash, spec)).cloned()
    }

    /// The module for `code` under `spec`, compiled on first use. Compiling happens outside the
    /// lock, so two threads may race to compile the same code; the first insert wins.
    pub fn get(
        &self,
        hash: B256,
        code: &[u8],
        spec: SpecId,
    ) -> Result<Arc<CachedModule>, SubmoduleError> {
        let key = (hash, spec);
        let (engine, helpers, generation) = {
            let mut current = self.lock();
            if let Some(hit) = current.by_key.get(&key) {
                return Ok(hit.clone());
            }
            if current.bytes > MODULE_BUDGET {
                let next = current.id + 1;
                *current = Generation::new(next);
            }
            let helpers = current.helpers.clone().map_err(SubmoduleError::Wasmer)?;
            (current.engine.clone(), helpers, current.id)
        };
        let mut compiled = compiler::compile(code, spec)?;
        let module = Module::new(&engine, &compiled.wasm).map_err(SubmoduleError::wasmer)?;
        let size = (compiled.wasm.len() * MODULE_BYTES_PER_WASM_BYTE).max(MODULE_BYTES_MIN);
        // The machine code is in the module; the Wasm is no longer needed.
        compiled.wasm = Vec::new();
        let cached = Arc::new(CachedModule {
            module,
            compiled,
            engine,
            helpers,
            generation,
        });
        let mut current = self.lock();
        if current.id != generation {
            // A new generation started meanwhile; this module lives only as long as its users.
            return Ok(cached);
        }
        current.bytes += size;
        Ok(current.by_key.entry(key).or_insert(cached).clone())
    }
}
