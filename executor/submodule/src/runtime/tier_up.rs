//! The `auto` tier's decision: code starts interpreted, and code whose interpreted frames have
//! spent more gas than a threshold is compiled on background threads. Execution never waits for
//! a compile: a frame of code that is not ready runs interpreted, and the first frame (or resume
//! point) of that code after its module is ready runs compiled.
//!
//! ```text
//! interpreted frame ─► TierUp::spent(code, gas) ─► over threshold ─► bounded queue ─► worker:
//!                                                       (full: dropped)    ModuleCache::get (compile)
//! next frame ─► TierUp::is_ready ─► compiled run ◄──────────────────────── Heat::Ready
//! ```
//!
//! The heat of a code hash is the gas its interpreted runs spent, calls out of them included
//! (the interpreter charges a call's forwarded gas to the caller until the callee returns it).
//! Nothing here changes what a transaction computes: only where its frames run.

use std::{
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use revm::primitives::{B256, Bytes, hardfork::SpecId, map::HashMap};

use super::ModuleCache;

/// How the `auto` tier decides and compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierUpConfig {
    /// Gas a code hash's interpreted frames spend before it is sent to be compiled.
    pub threshold_gas: u64,
    /// Background compile threads.
    pub workers: usize,
    /// Requests waiting for a worker; a request beyond it is dropped (the code stays
    /// interpreted and may ask again once it has spent the threshold once more).
    pub queue: usize,
}

impl Default for TierUpConfig {
    /// A threshold of 1,000,000 gas: the interpreter spends that in about 5 to 20 ms on
    /// contract code (the `evm_exec` benches), about what Cranelift takes to compile an average
    /// contract of a few KiB (`evm_compile`), so a compile is only paid for code that has
    /// already cost as much to interpret. One worker leaves the other core to execution.
    fn default() -> Self {
        Self {
            threshold_gas: 1_000_000,
            workers: 1,
            queue: 64,
        }
    }
}

/// Where one code hash (under one spec) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Heat {
    /// Interpreted, having spent this much gas since it last asked to be compiled.
    Cold(u64),
    /// Waiting for or being compiled.
    Queued,
    /// In the module cache (until the cache drops it).
    Ready,
    /// The compiler refused it (too large, or a module wasmer rejects): interpreted for good.
    Refused,
}

/// What the `auto` tier has done, for reports; counted since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TierUpCounts {
    /// Code hashes sent to be compiled.
    pub requests: u64,
    /// Requests dropped because the queue was full.
    pub dropped: u64,
    /// Modules compiled in the background.
    pub compiles: u64,
    /// Code the compiler refused.
    pub refused: u64,
    /// Time the workers spent compiling, in microseconds.
    pub compile_us: u64,
    /// Frame runs (entries and resumes) of the `auto` tier run compiled.
    pub compiled_frames: u64,
    /// Frame runs of the `auto` tier run interpreted.
    pub interpreted_frames: u64,
}

impl TierUpCounts {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &TierUpCounts) -> TierUpCounts {
        TierUpCounts {
            requests: self.requests - earlier.requests,
            dropped: self.dropped - earlier.dropped,
            compiles: self.compiles - earlier.compiles,
            refused: self.refused - earlier.refused,
            compile_us: self.compile_us - earlier.compile_us,
            compiled_frames: self.compiled_frames - earlier.compiled_frames,
            interpreted_frames: self.interpreted_frames - earlier.interpreted_frames,
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    dropped: AtomicU64,
    compiles: AtomicU64,
    refused: AtomicU64,
    compile_us: AtomicU64,
    compiled_frames: AtomicU64,
    interpreted_frames: AtomicU64,
}

/// A code hash to compile.
struct Request {
    key: (B256, SpecId),
    code: Bytes,
}

/// Shards of the heat map, so threads executing in parallel rarely meet on one lock.
const SHARDS: usize = 32;

/// What the executing threads and the workers share.
struct Shared {
    shards: [Mutex<HashMap<(B256, SpecId), Heat>>; SHARDS],
    counters: Counters,
}

impl Shared {
    fn shard(&self, key: &(B256, SpecId)) -> MutexGuard<'_, HashMap<(B256, SpecId), Heat>> {
        // A code hash is uniformly distributed: its first byte picks the shard.
        let shard = &self.shards[key.0[0] as usize % SHARDS];
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, key: (B256, SpecId), heat: Heat) {
        self.shard(&key).insert(key, heat);
    }
}

static TIER_UP: OnceLock<TierUp> = OnceLock::new();

/// The heat of every code hash met and the pool compiling the hot ones.
pub struct TierUp {
    config: TierUpConfig,
    shared: Arc<Shared>,
    queue: Sender<Request>,
}

impl TierUp {
    /// The process-wide instance the `auto` tier uses, started with `config` on first use (a
    /// later `config` is ignored).
    pub fn global_with(config: TierUpConfig) -> &'static TierUp {
        TIER_UP.get_or_init(|| TierUp::start(config))
    }

    /// The process-wide instance's counts, if the `auto` tier ran at all.
    pub fn global_counts() -> Option<TierUpCounts> {
        TIER_UP.get().map(TierUp::counts)
    }

    /// The process-wide instance, with the default configuration unless
    /// [`global_with`](Self::global_with) started it first.
    pub fn global() -> &'static TierUp {
        Self::global_with(TierUpConfig::default())
    }

    /// An instance with workers of its own (the workers end when it is dropped).
    pub fn start(config: TierUpConfig) -> Self {
        let (queue, requests) = crossbeam_channel::bounded(config.queue);
        let shared = Arc::new(Shared {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::default())),
            counters: Counters::default(),
        });
        for k in 0..config.workers.max(1) {
            let requests = requests.clone();
            let shared = shared.clone();
            // A worker that cannot be spawned leaves its share of requests queued: code stays
            // interpreted, which is always correct.
            let _ = std::thread::Builder::new()
                .name(format!("tier-up-{k}"))
                .spawn(move || work(requests, &shared));
        }
        Self {
            config,
            shared,
            queue,
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> TierUpConfig {
        self.config
    }

    /// Whether the code's module is compiled (as far as this knows: the cache may have dropped
    /// it since, see [`missing`](Self::missing)).
    pub fn is_ready(&self, hash: B256, spec: SpecId) -> bool {
        self.shared.shard(&(hash, spec)).get(&(hash, spec)) == Some(&Heat::Ready)
    }

    /// The module of a code marked ready was not in the cache (dropped with an old engine
    /// generation): the code starts cold again.
    pub fn missing(&self, hash: B256, spec: SpecId) {
        self.shared.set((hash, spec), Heat::Cold(0));
    }

    /// Counts `gas` spent by an interpreted run of `code`, and sends the code to be compiled
    /// once it has spent the threshold.
    pub fn spent(&self, hash: B256, spec: SpecId, gas: u64, code: impl FnOnce() -> Bytes) {
        let key = (hash, spec);
        {
            let mut shard = self.shared.shard(&key);
            let heat = shard.entry(key).or_insert(Heat::Cold(0));
            match heat {
                Heat::Cold(spent) if spent.saturating_add(gas) >= self.config.threshold_gas => {
                    *heat = Heat::Queued;
                }
                Heat::Cold(spent) => {
                    *spent += gas;
                    return;
                }
                Heat::Queued | Heat::Ready | Heat::Refused => return,
            }
        }
        let request = Request { key, code: code() };
        match self.queue.try_send(request) {
            Ok(()) => {
                self.shared
                    .counters
                    .requests
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.set(key, Heat::Cold(0));
            }
        }
    }

    /// Counts a frame run of the `auto` tier.
    pub fn ran(&self, compiled: bool) {
        let counters = &self.shared.counters;
        let counter = match compiled {
            true => &counters.compiled_frames,
            false => &counters.interpreted_frames,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn counts(&self) -> TierUpCounts {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TierUpCounts {
            requests: get(&c.requests),
            dropped: get(&c.dropped),
            compiles: get(&c.compiles),
            refused: get(&c.refused),
            compile_us: get(&c.compile_us),
            compiled_frames: get(&c.compiled_frames),
            interpreted_frames: get(&c.interpreted_frames),
        }
    }

    /// Blocks until every request queued so far is compiled: for tests and benches that
    /// measure the compiled state, never for execution.
    pub fn wait_idle(&self) {
        while self.shared.shards.iter().any(|shard| {
            let shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.values().any(|heat| *heat == Heat::Queued)
        }) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// A compile worker: compiles what it is sent into the shared module cache.
fn work(requests: Receiver<Request>, shared: &Shared) {
    let counters = &shared.counters;
    for Request { key, code } in requests {
        let started = Instant::now();
        let compiled = ModuleCache::global().get(key.0, &code, key.1);
        let took = started.elapsed().as_micros() as u64;
        counters.compile_us.fetch_add(took, Ordering::Relaxed);
        let heat = match compiled {
            Ok(_) => {
                counters.compiles.fetch_add(1, Ordering::Relaxed);
                Heat::Ready
            }
            Err(_) => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                Heat::Refused
            }
        };
        shared.set(key, heat);
    }
}
