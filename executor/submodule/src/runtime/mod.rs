//! Hosting compiled contracts under wasmer: one engine and module cache per process, one Store
//! with its instances per thread (a Store is not Send), and the frame entry that moves a revm
//! interpreter's state in and out of a submodule.

mod frame_counts;
pub mod host;
mod module_cache;
mod tier_up;

use frame_counts::count;
pub use frame_counts::{FrameCounts, frame_counts};
pub use module_cache::{
    BudgetTooSmall, CacheStats, CachedModule, DEFAULT_BUDGET, ModuleCache, SubmoduleError, engine,
    estimate, largest_module,
};
pub use tier_up::{TierUp, TierUpConfig, TierUpCounts};

use std::{cell::RefCell, ptr::NonNull, sync::Arc};

use revm::{
    interpreter::{
        Host, InstructionResult, Interpreter, InterpreterAction, instructions::InstructionTable,
        interpreter::EthInterpreter, interpreter_types::Jumps,
    },
    primitives::{
        B256, U256,
        hardfork::SpecId,
        keccak256,
        map::{Entry, HashMap},
    },
};
use wasmer::{
    AsStoreMut, Function, FunctionEnv, FunctionEnvMut, Imports, Instance, Memory, RuntimeError,
    Store, StoreMut, TypedFunction, imports,
};

use crate::abi::{self, Exit};
use host::{Counters, Dispatch, FrameOps, Linear};

/// Instances a thread keeps before it drops its Store: wasmer frees nothing a Store owns until
/// the Store itself goes.
pub const INSTANCE_LIMIT: usize = 256;
/// Linear memory a thread's Store may hold before it is replaced. A Wasm memory never shrinks
/// and wasmer frees it only with its Store, so dropping an instance would free nothing: every
/// instance is kept, and its memory serves the next dispatch of its code (compiled code zeroes
/// what it exposes, so the old contents never show), which spares a memory-hungry contract
/// fresh pages, and their faults, on every call.
pub const MEMORY_LIMIT: u64 = 256 << 20;

/// What the `op` import reaches: the memory of the running instance and the frame it serves.
struct HostEnv {
    memory: Option<Memory>,
    /// The memory's address and size as a host call last saw them during this run.
    known: Option<(*mut u8, usize)>,
    frame: Option<NonNull<dyn FrameOps>>,
}

// SAFETY: a HostEnv lives in a thread-local Store and is only touched from that thread; the
// frame pointer is set for the duration of one `run` call on that thread and cleared after.
unsafe impl Send for HostEnv {}

struct WasmMemory<'a> {
    memory: Memory,
    store: StoreMut<'a>,
    /// The memory's address and size, looked up only when unknown (a wasmer view asks the
    /// memory for its size through two trait objects) and forgotten when it grows.
    bytes: Option<(*mut u8, usize)>,
}

impl<'a> WasmMemory<'a> {
    fn new(memory: Memory, store: StoreMut<'a>) -> Self {
        Self::resume(memory, store, None)
    }

    /// The memory as an earlier host call of the same run saw it, unless compiled code has
    /// grown it since (which it flags in the control block). Only the size can be stale: wasmer
    /// 7 gives every memory the static style, which reserves the whole 4 GiB address space up
    /// front and grows in place, so the base address never moves.
    fn resume(memory: Memory, store: StoreMut<'a>, known: Option<(*mut u8, usize)>) -> Self {
        let bytes = known.filter(|&(ptr, _)| {
            // SAFETY: the control block lies in the memory's first page, which every instance
            // has, and nothing else accesses it during the host call.
            let grown = unsafe {
                ptr.add(abi::MEMORY_GROWN as usize)
                    .cast::<u32>()
                    .read_unaligned()
            };
            grown == 0
        });
        Self {
            memory,
            store,
            bytes,
        }
    }
}

impl Linear for WasmMemory<'_> {
    fn bytes(&mut self) -> &mut [u8] {
        let (ptr, len) = *self.bytes.get_or_insert_with(|| {
            let view = self.memory.view(&self.store);
            let ptr = view.data_ptr();
            // SAFETY: as in `resume`; looked up afresh, the memory counts as not grown.
            unsafe {
                ptr.add(abi::MEMORY_GROWN as usize)
                    .cast::<u32>()
                    .write_unaligned(0)
            };
            (ptr, view.data_size() as usize)
        });
        // SAFETY: nothing else reads or writes this memory while the host operation runs (the
        // submodule is suspended in the import call), and the pointer is dropped on any grow.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    fn ensure(&mut self, len: usize) -> bool {
        let have = self.bytes().len();
        if len <= have {
            return true;
        }
        self.bytes = None;
        let pages = (len - have).div_ceil(abi::PAGE as usize) as u32;
        self.memory.grow(&mut self.store, pages).is_ok()
    }
}

fn host_op(mut env: FunctionEnvMut<HostEnv>, opcode: i32, pc: i32) -> i32 {
    let (data, store) = env.data_and_store_mut();
    let (Some(memory), Some(mut frame)) = (data.memory.clone(), data.frame) else {
        // Not reachable while `run_frame` drives the call; an unknown exit ends the frame as
        // a fatal error rather than guessing.
        return -1;
    };
    let mut linear = WasmMemory::resume(memory, store, data.known);
    // SAFETY: `frame` points at the Dispatch on the stack of `run_frame`, which outlives the
    // wasm call this import is part of; no other reference to it is live meanwhile.
    let frame = unsafe { frame.as_mut() };
    let exit = frame.op(&mut linear, opcode as u8, pc as u32).to_raw();
    data.known = linear.bytes;
    exit
}

/// KECCAK256's hash of `len` bytes of linear memory at `addr`, as a word's limbs (least
/// significant first). Compiled code has expanded memory over the input already; a range
/// outside memory is a bug in it and traps.
fn keccak_op(
    mut env: FunctionEnvMut<HostEnv>,
    addr: i32,
    len: i32,
) -> Result<(i64, i64, i64, i64), RuntimeError> {
    let (data, store) = env.data_and_store_mut();
    let memory =
        (data.memory.clone()).ok_or_else(|| RuntimeError::new("keccak outside a frame"))?;
    let mut linear = WasmMemory::resume(memory, store, data.known);
    let (addr, len) = (addr as u32 as usize, len as u32 as usize);
    let hash = linear.bytes().get(addr..addr + len).map(keccak256);
    data.known = linear.bytes;
    let hash = hash.ok_or_else(|| RuntimeError::new("keccak input outside memory"))?;
    let limbs = *U256::from_be_bytes(hash.0).as_limbs();
    Ok((
        limbs[0] as i64,
        limbs[1] as i64,
        limbs[2] as i64,
        limbs[3] as i64,
    ))
}

struct Ready {
    module: Arc<CachedModule>,
    /// Kept alive with its exports.
    _instance: Instance,
    memory: Memory,
    run: TypedFunction<i32, i32>,
    /// The memory's size after the last dispatch, as counted in `held_memory`.
    memory_bytes: u64,
}

/// A thread's Store and the instances living in it.
struct ThreadRuntime {
    /// The module generation whose engine made `store`.
    generation: u64,
    store: Store,
    env: FunctionEnv<HostEnv>,
    /// What every contract module imports: the host functions and the helpers module's
    /// exports, built once per Store.
    imports: Imports,
    /// The helpers module's instance in this Store, kept alive with its exports.
    _helpers: Instance,
    instances: HashMap<(B256, SpecId), Ready>,
    /// Bytes of linear memory the instances hold, as of their last dispatch.
    held_memory: u64,
}

impl ThreadRuntime {
    fn new(module: &CachedModule) -> Result<Self, SubmoduleError> {
        let mut store = Store::new(module.engine.clone());
        let helpers = Instance::new(&mut store, &module.helpers, &imports! {})
            .map_err(SubmoduleError::wasmer)?;
        let env = FunctionEnv::new(
            &mut store,
            HostEnv {
                memory: None,
                known: None,
                frame: None,
            },
        );
        let mut imports = imports! {
            abi::HOST_MODULE => {
                abi::HOST_OP => Function::new_typed_with_env(&mut store, &env, host_op),
                abi::KECCAK => Function::new_typed_with_env(&mut store, &env, keccak_op),
            }
        };
        imports.register_namespace(abi::HELPERS_MODULE, helpers.exports.clone());
        Ok(Self {
            generation: module.generation,
            store,
            env,
            imports,
            _helpers: helpers,
            instances: HashMap::default(),
            held_memory: 0,
        })
    }

    fn instance(
        &mut self,
        key: (B256, SpecId),
        module: Arc<CachedModule>,
    ) -> Result<&Ready, SubmoduleError> {
        match self.instances.entry(key) {
            Entry::Occupied(ready) => Ok(ready.into_mut()),
            Entry::Vacant(slot) => {
                let instance = Instance::new(&mut self.store, &module.module, &self.imports)
                    .map_err(SubmoduleError::wasmer)?;
                count(|c| c.instantiated += 1);
                let exports = &instance.exports;
                let memory = exports
                    .get_memory(abi::MEMORY)
                    .map_err(SubmoduleError::wasmer)?;
                let memory = memory.clone();
                let run = exports
                    .get_typed_function(&self.store, abi::RUN)
                    .map_err(SubmoduleError::wasmer)?;
                Ok(slot.insert(Ready {
                    module,
                    _instance: instance,
                    memory,
                    run,
                    memory_bytes: 0,
                }))
            }
        }
    }
}

thread_local! {
    static THREAD: RefCell<Option<ThreadRuntime>> = const { RefCell::new(None) };
}

/// What a frame's run does when its code has no compiled module yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMiss {
    /// Compile it now, and run compiled (the `compile` tier).
    Compile,
    /// Leave it to the interpreter (the `auto` tier, which compiles in the background).
    Interpret,
}

/// Whether a frame entry reuses the instance its thread already has of the code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Instances {
    /// Reuse it, memory included (compiled code zeroes what it exposes, so nothing of an earlier
    /// dispatch shows): the default.
    #[default]
    Reused,
    /// Instantiate the module afresh at every frame entry: what a runtime without reuse pays,
    /// kept for measuring against (criterion group `dispatch`).
    Fresh,
}

/// How a frame's run on the compiled tier goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunConfig {
    /// A code without a module.
    pub on_miss: OnMiss,
    /// A code with an instance on this thread.
    pub instances: Instances,
}

/// How a frame ran, for [`run_frame`]'s caller.
pub enum FrameRun {
    /// It ended or called out: the action for revm's frame loop.
    Done(InterpreterAction),
    /// Compiled code ran and handed the frame to the interpreter, which continues from the
    /// state it holds.
    HandedOver,
    /// Nothing ran: the code has no module (or cannot be compiled, instantiated or resumed at
    /// its pc); the interpreter runs the frame.
    NotCompiled,
}

/// How a frame's run on the compiled tier went.
enum Run {
    /// It ended or called out: the action for revm's frame loop.
    Done(InterpreterAction),
    /// Compiled code handed it to the interpreter, which continues from its state.
    HandedOver,
    /// Its code cannot run compiled; nothing ran.
    NotCompiled,
}

fn count_frame(run: &Run) {
    count(|c| match run {
        Run::Done(_) => c.compiled += 1,
        Run::HandedOver => {
            c.compiled += 1;
            c.handed_over += 1;
        }
        Run::NotCompiled => c.interpreted += 1,
    });
}

/// Runs the frame of `interp` compiled until it ends or calls out. Where the frame did not end
/// or call out, the interpreter is to run it on from the state it holds.
pub fn run_frame<H: Host + ?Sized>(
    interp: &mut Interpreter<EthInterpreter>,
    host: &mut H,
    table: &InstructionTable<EthInterpreter, H>,
    spec: SpecId,
    config: RunConfig,
) -> FrameRun {
    let run = THREAD
        .with_borrow_mut(|slot| run_on_thread(slot, interp, host, table, spec, config))
        .unwrap_or(Run::NotCompiled);
    count_frame(&run);
    match run {
        Run::Done(action) => FrameRun::Done(action),
        Run::HandedOver => FrameRun::HandedOver,
        Run::NotCompiled => FrameRun::NotCompiled,
    }
}

/// One call of a submodule's `run`, with the frame's host operations reachable from its `op`
/// import for the duration; `None` for a trap or an exit compiled code never returns.
fn call_run(
    rt: &mut ThreadRuntime,
    run: &TypedFunction<i32, i32>,
    memory: &Memory,
    dispatch: &mut dyn FrameOps,
    entry: i32,
) -> Option<Exit> {
    let frame: NonNull<dyn FrameOps + '_> = NonNull::from(dispatch);
    // SAFETY: the pointer is erased to 'static only to sit in the env during this call; it is
    // cleared below, before the borrow it came from ends.
    let frame: NonNull<dyn FrameOps> = unsafe { std::mem::transmute(frame) };
    let env = rt.env.as_mut(&mut rt.store);
    env.memory = Some(memory.clone());
    env.known = None;
    env.frame = Some(frame);
    let raw = run.call(&mut rt.store, entry);
    let env = rt.env.as_mut(&mut rt.store);
    env.frame = None;
    env.memory = None;
    env.known = None;
    raw.ok().and_then(Exit::from_raw)
}

fn run_on_thread<H: Host + ?Sized>(
    slot: &mut Option<ThreadRuntime>,
    interp: &mut Interpreter<EthInterpreter>,
    host: &mut H,
    table: &InstructionTable<EthInterpreter, H>,
    spec: SpecId,
    config: RunConfig,
) -> Option<Run> {
    let key = (interp.bytecode.get_or_calculate_hash(), spec);
    // The thread's own instance first: a call or resume of code this thread runs costs no
    // trip through the shared cache's lock.
    let known = slot.as_ref().and_then(|rt| rt.instances.get(&key));
    let module = match known {
        Some(ready) => ready.module.clone(),
        None => match config.on_miss {
            OnMiss::Compile => {
                let code = interp.bytecode.original_byte_slice();
                ModuleCache::global().get(key.0, code, spec).ok()?
            }
            OnMiss::Interpret => ModuleCache::global().cached(key.0, spec)?,
        },
    };
    let entry = match interp.bytecode.pc() {
        0 => module.compiled.start,
        pc => module.compiled.resume_entry(pc as u32)?,
    };

    let renew = slot.as_ref().is_none_or(|rt| {
        let full = rt.instances.len() >= INSTANCE_LIMIT && !rt.instances.contains_key(&key);
        // A Store instantiates only modules of its own engine; a new generation means a new
        // Store (and lets the old engine, with all its code, go).
        let stale = rt.generation != module.generation;
        full || stale || rt.held_memory > MEMORY_LIMIT
    });
    if renew {
        *slot = Some(ThreadRuntime::new(&module).ok()?);
        count(|c| c.stores += 1);
    }
    let rt = slot.as_mut()?;
    if config.instances == Instances::Fresh && interp.bytecode.pc() == 0 {
        rt.instances.remove(&key);
    }
    let ready = rt.instance(key, module).ok()?;
    let (memory, run) = (ready.memory.clone(), ready.run.clone());

    let entered = host::enter(
        interp,
        &mut WasmMemory::new(memory.clone(), rt.store.as_store_mut()),
    );
    if !entered {
        interp.halt(InstructionResult::MemoryOOG);
        return Some(Run::Done(interp.take_next_action()));
    }

    let mut dispatch = Dispatch {
        interp: &mut *interp,
        host,
        table,
        ops: 0,
    };
    let mut entry = entry;
    let outcome = loop {
        let exit = call_run(rt, &run, &memory, &mut dispatch, entry);
        if exit != Some(Exit::Host) {
            break exit;
        }
        // The opcode compiled code stopped before, run here rather than from inside Wasm.
        let mut linear = WasmMemory::new(memory.clone(), rt.store.as_store_mut());
        let pc = host::handover_pc(linear.bytes());
        let opcode = dispatch.interp.bytecode.original_byte_slice()[pc as usize];
        match dispatch.op(&mut linear, opcode, pc) {
            // A call or create that finished without a frame: compiled code goes on after it.
            Exit::Continue => {
                let ready = rt.instances.get(&key);
                match ready.and_then(|r| r.module.compiled.resume_entry(pc + 1)) {
                    Some(resume) => entry = resume,
                    None => break None,
                }
            }
            exit => break Some(exit),
        }
    };
    count(|c| c.host_ops += dispatch.ops);

    // From here the frame has run: it ends here, or the interpreter takes it over where
    // compiled code says.
    let view = memory.view(&rt.store);
    let mut control = [0u8; 32];
    let read = view.read(0, &mut control);
    let size = view.data_size();
    if let Some(ready) = rt.instances.get_mut(&key) {
        rt.held_memory += size - ready.memory_bytes;
        ready.memory_bytes = size;
    }
    match (read, outcome) {
        (_, Some(Exit::HostDone | Exit::Yield)) => {}
        (_, Some(Exit::Interpret)) => {
            host::leave(
                interp,
                &mut WasmMemory::new(memory, rt.store.as_store_mut()),
            );
            return Some(Run::HandedOver);
        }
        (Ok(()), Some(Exit::Halt(result))) => {
            // Compiled code writes its counters back only on a successful halt; any other
            // spends the frame's gas whole, as revm's frame result does.
            if result.is_ok() {
                interp.gas.set_remaining(Counters::read(&control).gas);
            } else {
                interp.gas.spend_all();
            }
            interp.halt(result);
        }
        // A trap or an exit compiled code never returns: a bug, reported as such.
        _ => interp.halt_fatal(),
    }
    Some(Run::Done(interp.take_next_action()))
}
