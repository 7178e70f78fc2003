//! The WebAssembly sandbox: one wasmtime `Engine` and `Linker` for the
//! process, an `InstancePre` per analyzer, and a fresh, limited `Store` per
//! call (a trapped instance can never be entered again, and no state leaks
//! from one caller to the next).
//!
//! A call's guest sees only WASI: its stdin is the capture stream, stderr a
//! small bounded log; it has no files, no network, no environment, no args.

mod cache;
mod capture_stdin;
mod interface;
pub mod limits;
mod log_pipe;
mod soft_stop;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::cli::StdinStream;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

pub use cache::ComponentCache;
pub use capture_stdin::CaptureStdin;
use interface::Exports;
pub use interface::{AnalyzerInfo, Call, CaptureFacts, RunError};
use limits::{LimitKind, Limits, MemoryBudget, MemoryCap};
use log_pipe::LogPipe;
use soft_stop::{RESERVE_DIVISOR, SoftStop, StoppableStdin};

/// How often the epoch advances: the granularity of wall-clock deadlines and
/// of the guest yielding to other tasks on the same thread.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of a guest's stderr kept for error reports.
const GUEST_LOG_BYTES: usize = 8 * 1024;

/// Limits for `describe`, which reads no capture and must be cheap.
const DESCRIBE_LIMITS: Limits = Limits {
    fuel: 2_000_000_000,
    memory_bytes: 64 * 1024 * 1024,
    wall_clock: Duration::from_secs(10),
    result_bytes: 4 * 1024 * 1024,
};

/// A guest's result, and whether its capture was ended early because a
/// limit was near (then the result covers only the part read).
#[derive(Debug, Clone)]
pub struct GuestResult {
    /// The result, as JSON text.
    pub json: String,
    /// The limit that ended the capture early, if one did.
    pub stopped_early: Option<LimitKind>,
}

/// Per-store state: WASI context, resource table, memory cap.
struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The engine shared by all analyzers, with its epoch ticker.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<CallState>,
    cache: Option<ComponentCache>,
    ticker_stop: Arc<AtomicBool>,
}

/// An analyzer component ready to instantiate, with what it said about itself.
pub struct LoadedAnalyzer {
    pre: InstancePre<CallState>,
    exports: Exports,
    /// Its `describe` answer.
    pub info: AnalyzerInfo,
    /// Where it came from (`embedded` or a file path).
    pub origin: String,
}

/// Why a call produced no result.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The analyzer rejected the request or the capture.
    Analyzer(RunError),
    /// A limit stopped the call.
    Limit { kind: LimitKind, limits: Limits },
    /// The guest trapped (a bug or a panic in the analyzer).
    Crashed { detail: String, guest_log: String },
}

impl Sandbox {
    /// Creates the engine and linker, and starts the epoch ticker.
    /// `cache` is where compiled components are kept (`None`: compile each time).
    pub fn new(cache: Option<ComponentCache>) -> Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // Guests allocate as they need; limits come from `MemoryCap`.
        config.memory_guaranteed_dense_image_size(0);
        // For `perf record`: names the guest's functions in /tmp/perf-PID.map.
        if std::env::var_os("PCAPSULE_PERF_MAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.clone();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("pcapsule-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .context("starting the epoch ticker thread")?;
        Ok(Sandbox { engine, linker, cache, ticker_stop })
    }

    /// Compiles (or loads from the cache) a component, links it, and asks it
    /// to describe itself (or takes the answer it gave before, from the
    /// cache). `digest`: the SHA-256 of `wasm` in hex, when already known.
    pub async fn load(&self, wasm: &[u8], digest: Option<&str>, origin: &str) -> Result<LoadedAnalyzer> {
        let cached = self.cache.as_ref().map(|cache| (cache, ComponentCache::key(&self.engine, wasm, digest)));
        let component = match &cached {
            Some((cache, key)) => cache.load(&self.engine, wasm, key),
            None => Component::new(&self.engine, wasm).map_err(anyhow::Error::from),
        }
        .with_context(|| format!("compiling the component from {origin}"))?;
        let pre = self.linker.instantiate_pre(&component).map_err(anyhow::Error::from).with_context(|| {
            format!("linking the component from {origin}: an analyzer may import only WASI 0.2 interfaces")
        })?;
        let exports = Exports::find(&pre).with_context(|| {
            format!("{origin} is not a pcapsule analyzer (or one built for a newer pcapsule): rebuild it against wit/")
        })?;
        let info = match cached.as_ref().and_then(|(cache, key)| cache.describe(key)) {
            Some(info) => info,
            None => {
                let info = self.describe(&pre, &exports, origin).await?;
                if let Some((cache, key)) = &cached {
                    cache.store_describe(key, &info);
                }
                info
            }
        };
        if !matches!(exports, Exports::V0_3_0(_)) {
            tracing::info!("{origin} ({}) speaks the older analyzer interface {}", info.name, exports.version());
        }
        Ok(LoadedAnalyzer { pre, exports, info, origin: origin.to_string() })
    }

    /// Asks a fresh instance of the component what it offers.
    async fn describe(&self, pre: &InstancePre<CallState>, exports: &Exports, origin: &str) -> Result<AnalyzerInfo> {
        let budget = MemoryBudget::new(DESCRIBE_LIMITS.memory_bytes);
        let mut store = self.store(DESCRIBE_LIMITS, budget, None::<(CaptureStdin, LogPipe)>, None);
        async {
            let instance = pre.instantiate_async(&mut store).await?;
            exports.describe(&mut store, &instance).await
        }
        .await
        .map_err(|e| anyhow::anyhow!("{origin}: describe failed: {}", classify(e, &store)))
    }

    /// Runs `calls` in one instance of `analyzer` with `stdin` as its
    /// capture, under `limits` for them all: one call through the WIT `run`,
    /// several (only for a one-pass analyzer, `info.one_pass`) through
    /// `run-many`, over one read of the capture. One outcome per call, in
    /// order; a limit or a crash ends every one of them. When fuel or time
    /// runs low, the capture is ended early (see [`soft_stop`]) and the
    /// results say so.
    pub async fn run(
        &self,
        analyzer: &LoadedAnalyzer,
        capture: CaptureFacts,
        calls: Vec<Call>,
        stdin: impl StdinStream + 'static,
        limits: Limits,
        memory: Arc<MemoryBudget>,
    ) -> Vec<Result<GuestResult, CallError>> {
        let expected = calls.len();
        let log = LogPipe::new(GUEST_LOG_BYTES);
        let stop = SoftStop::default();
        let stdin = StoppableStdin::new(stdin, stop.clone());
        let mut store = self.store(limits, memory, Some((stdin, log.clone())), Some(stop.clone()));
        let call = async {
            let instance = analyzer.pre.instantiate_async(&mut store).await?;
            analyzer.exports.run(&mut store, &instance, &capture, &calls).await
        };
        // Epoch interruption cannot reach a guest blocked in a host call (a
        // read that never completes), so the deadline is enforced here too.
        let outcome = match tokio::time::timeout(limits.wall_clock + EPOCH_TICK * 10, call).await {
            Ok(outcome) => outcome,
            Err(_) => return vec![Err(CallError::Limit { kind: LimitKind::WallClock, limits }); expected],
        };
        tracing::debug!(
            analyzer = %analyzer.info.name,
            tools = %calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>().join(","),
            linear_memory_peak_kib = store.data().memory.peak_bytes / 1024,
            fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
            "call finished"
        );
        match outcome {
            Ok(results) if results.len() != expected => {
                let bug = format!("it returned {} results for {expected} tools", results.len());
                vec![Err(CallError::Analyzer(RunError::Internal(bug))); expected]
            }
            Ok(results) => results
                .into_iter()
                .map(|result| match result {
                    Ok(json) if json.len() as u64 > limits.result_bytes => {
                        Err(CallError::Limit { kind: LimitKind::ResultSize, limits })
                    }
                    Ok(json) => Ok(GuestResult { json, stopped_early: stop.reason() }),
                    Err(run_error) => Err(CallError::Analyzer(run_error)),
                })
                .collect(),
            Err(trap) => {
                let error = match classify(trap, &store) {
                    Classified::Limit(kind) => CallError::Limit { kind, limits },
                    Classified::Crash(detail) => CallError::Crashed { detail, guest_log: log.contents() },
                };
                vec![Err(error); expected]
            }
        }
    }

    fn store(
        &self,
        limits: Limits,
        memory: Arc<MemoryBudget>,
        io: Option<(impl StdinStream + 'static, LogPipe)>,
        stop: Option<SoftStop>,
    ) -> Store<CallState> {
        let mut wasi = WasiCtxBuilder::new();
        if let Some((stdin, log)) = io {
            wasi.stdin(stdin).stderr(log);
        }
        let state = CallState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            memory: MemoryCap {
                max_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
                budget: memory,
                taken: 0,
                refused: false,
                peak_bytes: 0,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store.set_fuel(limits.fuel).expect("fuel is enabled in the engine config");
        let started = Instant::now();
        let deadline = started + limits.wall_clock;
        let soft_deadline = started + limits.wall_clock.mul_f64(1.0 - 1.0 / RESERVE_DIVISOR as f64);
        let fuel_reserve = limits.fuel / RESERVE_DIVISOR;
        store.set_epoch_deadline(1);
        // Fuel left at the previous tick, and when: a fast guest spends the
        // reserve in less than a tick (capinfos burns 40 M units in ~4 ms),
        // so the stop is raised while the fuel left would not outlast two
        // more ticks at the guest's pace. The pace is per unit of time, so a
        // tick delayed on a busy machine does not stop a guest early.
        let mut last_tick = (limits.fuel, started);
        // Every tick the guest yields to the executor (so other calls and the
        // MCP transport keep running, and a dropped call stops here), until
        // the deadline passes; and once fuel or time runs low, its capture
        // is ended early.
        store.epoch_deadline_callback(move |context| {
            let now = Instant::now();
            if now >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            if let Some(stop) = &stop {
                let left = context.get_fuel().unwrap_or(0);
                let (fuel_then, then) = std::mem::replace(&mut last_tick, (left, now));
                let per_second =
                    fuel_then.saturating_sub(left) as f64 / now.duration_since(then).as_secs_f64().max(1e-3);
                let two_ticks = (per_second * 2.0 * EPOCH_TICK.as_secs_f64()) as u64;
                if now >= soft_deadline {
                    stop.raise(LimitKind::WallClock);
                } else if left < fuel_reserve.saturating_add(two_ticks) {
                    stop.raise(LimitKind::Fuel);
                }
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

enum Classified {
    Limit(LimitKind),
    Crash(String),
}

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Classified::Limit(kind) => write!(f, "{kind} reached"),
            Classified::Crash(detail) => f.write_str(detail),
        }
    }
}

/// Tells a tripped limit from a guest crash.
fn classify(error: wasmtime::Error, store: &Store<CallState>) -> Classified {
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => return Classified::Limit(LimitKind::Fuel),
        Some(Trap::Interrupt) => return Classified::Limit(LimitKind::WallClock),
        _ => {}
    }
    // A refused memory.grow surfaces as whatever the guest does next (Rust
    // aborts on allocation failure): the refusal is the cause.
    if store.data().memory.refused {
        return Classified::Limit(LimitKind::Memory);
    }
    // The trap alone: the wasm backtrace helps analyzer authors (it is
    // logged), not the client.
    tracing::debug!("guest trap: {error:?}");
    let detail = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => error.to_string().lines().next().unwrap_or("unknown failure").to_string(),
    };
    Classified::Crash(detail)
}
