//! Compiled contracts shared by every thread: one wasmer engine per generation and the modules
//! it compiled, keyed by code hash and spec. Threads instantiate from here into Stores of their
//! own (see the parent module).
//!
//! The cache is bounded in bytes. A wasmer engine keeps the machine code of every module it
//! ever compiled until the engine itself goes, so evicting one module would free nothing: when
//! the next module would take the estimate past the budget, the cache starts a new generation
//! (a new engine) and lets the old one go with its last user (PolkaVM's reset: no per-module
//! bookkeeping on the hot path). A thread's Store of an old generation is replaced at its next
//! frame.

use std::{
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

use revm::primitives::{B256, hardfork::SpecId, map::HashMap};
use wasmer::{
    Engine, Module,
    sys::{CompilerConfig, Cranelift, EngineBuilder, Features},
};

use crate::compiler::{self, Compiled};

/// The default budget: estimated bytes of compiled modules a generation holds.
pub const DEFAULT_BUDGET: usize = 256 << 20;
/// Estimated resident bytes per byte of Wasm, and at least per module: wasmer's serialized
/// artifact (machine code, trampolines, metadata) measured 3.6 to 4.0 times the Wasm on the
/// benchmark corpora and the hostile cases, and code memory is allocated in whole pages.
const MODULE_BYTES_PER_WASM_BYTE: usize = 4;
const MODULE_BYTES_MIN: usize = 64 << 10;

/// Estimated resident bytes of a module of `wasm` bytes.
fn resident(wasm: usize) -> usize {
    (wasm * MODULE_BYTES_PER_WASM_BYTE).max(MODULE_BYTES_MIN)
}

/// Estimated resident bytes of the module of `code` under `spec`, before compiling it with
/// wasmer: our own code generation is cheap (about 0.2 ms per KiB), so the estimate is of the
/// Wasm itself.
pub fn estimate(code: &[u8], spec: SpecId) -> Result<usize, compiler::CompileError> {
    Ok(resident(compiler::compile(code, spec)?.wasm.len()))
}

/// The estimate of the largest module the compiler lets through: code of
/// [`compiler::MAX_CODE`] bytes at its whole compile budget.
pub fn largest_module() -> usize {
    resident(compiler::wasm_budget(compiler::MAX_CODE))
}

/// A budget the cache cannot work with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a module cache budget of {budget} bytes is below the largest module ({largest} bytes)")]
pub struct BudgetTooSmall {
    /// The budget refused.
    pub budget: usize,
    /// The estimate of the largest module ([`largest_module`]).
    pub largest: usize,
}

/// What the cache has done since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups that found the module.
    pub hits: u64,
    /// Lookups that did not (a compile follows where the caller asked for one).
    pub misses: u64,
    /// Modules compiled.
    pub compiles: u64,
    /// Time spent compiling (our code generation and wasmer's), in microseconds.
    pub compile_us: u64,
    /// Modules dropped from the cache when a generation was replaced.
    pub evictions: u64,
    /// Generations replaced.
    pub resets: u64,
    /// Estimated resident bytes of the current generation's modules.
    pub resident_bytes: u64,
    /// The budget.
    pub budget: u64,
}

impl CacheStats {
    /// The counters between `earlier` and `self`, with `self`'s resident bytes and budget.
    pub fn since(&self, earlier: &CacheStats) -> CacheStats {
        CacheStats {
            hits: self.hits - earlier.hits,
            misses: self.misses - earlier.misses,
            compiles: self.compiles - earlier.compiles,
            compile_us: self.compile_us - earlier.compile_us,
            evictions: self.evictions - earlier.evictions,
            resets: self.resets - earlier.resets,
            ..*self
        }
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    compiles: AtomicU64,
    compile_us: AtomicU64,
    evictions: AtomicU64,
    resets: AtomicU64,
}

/// Why a frame could not run compiled.
#[derive(Debug, thiserror::Error)]
pub enum SubmoduleError {
    /// The compiler refused the code (too large, or over its compile budget): it runs
    /// interpreted.
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

static CACHE: OnceLock<ModuleCache> = OnceLock::new();

/// The current engine and the modules it compiled, keyed by code hash and spec.
pub struct ModuleCache {
    current: Mutex<Generation>,
    budget: AtomicUsize,
    counters: Counters,
}

impl ModuleCache {
    fn new() -> Self {
        Self {
            current: Mutex::new(Generation::new(0)),
            budget: AtomicUsize::new(DEFAULT_BUDGET),
            counters: Counters::default(),
        }
    }

    /// Bounds the estimated bytes of compiled modules the cache holds. A budget below the
    /// largest module ([`largest_module`]) is refused: such a module would reset the cache on
    /// every compile and never stay in it. A budget below what the cache holds now takes effect
    /// at the next compile.
    pub fn set_budget(&self, bytes: usize) -> Result<(), BudgetTooSmall> {
        let largest = largest_module();
        if bytes < largest {
            return Err(BudgetTooSmall {
                budget: bytes,
                largest,
            });
        }
        self.budget.store(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            compiles: get(&c.compiles),
            compile_us: get(&c.compile_us),
            evictions: get(&c.evictions),
            resets: get(&c.resets),
            resident_bytes: self.lock().bytes as u64,
            budget: self.budget.load(Ordering::Relaxed) as u64,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generation> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The process-wide cache.
    pub fn global() -> &'static ModuleCache {
        CACHE.get_or_init(ModuleCache::new)
    }

    /// The process-wide cache's counters, if anything compiled or looked up a module.
    pub fn global_stats() -> Option<CacheStats> {
        CACHE.get().map(ModuleCache::stats)
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
        let found = self.lock().by_key.get(&(hash, spec)).cloned();
        let counter = match found {
            Some(_) => &self.counters.hits,
            None => &self.counters.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
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
            let current = self.lock();
            if let Some(hit) = current.by_key.get(&key) {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.clone());
            }
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            let helpers = current.helpers.clone().map_err(SubmoduleError::Wasmer)?;
            (current.engine.clone(), helpers, current.id)
        };
        let started = Instant::now();
        let mut compiled = compiler::compile(code, spec)?;
        let module = Module::new(&engine, &compiled.wasm).map_err(SubmoduleError::wasmer)?;
        let took = started.elapsed().as_micros() as u64;
        self.counters.compiles.fetch_add(1, Ordering::Relaxed);
        self.counters.compile_us.fetch_add(took, Ordering::Relaxed);
        let size = resident(compiled.wasm.len());
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
        if current.bytes + size > self.budget.load(Ordering::Relaxed) {
            // This module stays out (its engine goes with the old generation once its users
            // are done); the next compile is into the new engine.
            let evicted = current.by_key.len() as u64;
            self.counters
                .evictions
                .fetch_add(evicted, Ordering::Relaxed);
            self.counters.resets.fetch_add(1, Ordering::Relaxed);
            let next = current.id + 1;
            *current = Generation::new(next);
            return Ok(cached);
        }
        current.bytes += size;
        Ok(current.by_key.entry(key).or_insert(cached).clone())
    }
}
