//! One tool call from start to finish, shared by the MCP server and the
//! direct command line: check the arguments, open the capture, run the
//! analyzer in the sandbox, and turn every failure into a [`ToolError`] that
//! says what went wrong and what to do.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::io::AsyncRead;
use wasmtime_wasi::cli::{AsyncStdinStream, StdinStream};

use crate::error_kind::ErrorKind;
use crate::input::{CaptureInputs, InputError, ReadProgress};
use crate::registry::{CAPTURE_PARAM, Registry};
use crate::sandbox::limits::{LimitKind, LimitSettings, Limits, MemoryBudget};
use crate::sandbox::{Call, CallError, CaptureFacts, CaptureStdin, LoadedAnalyzer, RunError, Sandbox};

/// Largest parameter object passed to an analyzer, as JSON text.
const MAX_PARAMS_BYTES: usize = 64 * 1024;

/// Everything a tool call needs; cheap to share.
pub struct ToolService {
    /// The wasmtime sandbox.
    pub sandbox: Sandbox,
    /// Loaded analyzers.
    pub registry: Registry,
    /// Where captures may come from.
    pub inputs: CaptureInputs,
    /// Limits per analyzer.
    pub limits: LimitSettings,
    /// Server-wide packet cap (`--max-packets`).
    pub max_packets: Option<u64>,
    /// Permits for analyses running at once (`--max-concurrent-calls`).
    pub running: tokio::sync::Semaphore,
}

/// What a caller can watch while a call runs.
#[derive(Default)]
pub struct CallObserver {
    /// Capture bytes delivered to the analyzer.
    pub progress: ReadProgress,
    /// The capture's size, once it is open.
    pub total: std::sync::OnceLock<u64>,
}

/// A failed tool call, as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    /// Machine-readable class (README.md, "Tool errors").
    pub kind: ErrorKind,
    /// What went wrong and what to do.
    pub message: String,
}

impl ToolError {
    /// An error of `kind` (a stable, machine-readable word) saying `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ToolError { kind, message: message.into() }
    }

    /// The JSON body of an error result.
    pub fn to_json(&self) -> Value {
        json!({ "error": { "kind": self.kind.as_str(), "message": self.message } })
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.kind)
    }
}

impl From<InputError> for ToolError {
    fn from(e: InputError) -> Self {
        ToolError { kind: e.kind, message: e.message }
    }
}

/// One tool of a call, checked and ready to run.
struct PreparedTool {
    analyzer: Arc<LoadedAnalyzer>,
    tool: String,
    params_json: String,
    limits: Limits,
}

/// What [`ToolService::call_many`] returns: each tool's own outcome, in the
/// order asked.
pub type ToolOutcomes = Vec<(String, Result<Value, ToolError>)>;

/// Capture bytes handed to each analyzer at a time in a one-pass run.
const FAN_OUT_CHUNK: usize = 256 * 1024;

impl ToolService {
    /// Runs tool `name` with `arguments` (a JSON object with `pcap_file`),
    /// reporting the capture size and the bytes streamed into the analyzer
    /// through `observer` as the call runs.
    pub async fn call_observed(
        self: &Arc<Self>,
        name: &str,
        arguments: Map<String, Value>,
        observer: &CallObserver,
    ) -> Result<Value, ToolError> {
        let (capture, prepared) = self.prepare(name, arguments)?;
        let (_running, opened) = self.open_then_admit(&capture).await?;
        observer.total.set(opened.size).ok();
        let stdin = CaptureStdin::new(opened.file, opened.size, observer.progress.clone());
        let memory = MemoryBudget::new(prepared.limits.memory_bytes);
        let mut outcomes = self.run_prepared(vec![prepared], &opened.name, opened.size, stdin, &capture, memory).await;
        outcomes.pop().expect("one outcome per tool")
    }

    /// Runs several tools over one read of `capture`: the file is read once
    /// and each chunk is handed to every analyzer, which run side by side.
    /// `tools` pairs tool names with their parameters (without `pcap_file`).
    /// A tool that fails does not stop the others.
    pub async fn call_many(
        self: &Arc<Self>,
        capture: &str,
        tools: Vec<(String, Map<String, Value>)>,
        observer: &CallObserver,
    ) -> Result<ToolOutcomes, ToolError> {
        if tools.is_empty() {
            return Err(ToolError::new(ErrorKind::BadParams, "name at least one tool to run"));
        }
        let mut prepared = Vec::new();
        for (name, mut params) in tools {
            if prepared.iter().any(|p: &PreparedTool| p.tool == name) {
                return Err(ToolError::new(
                    ErrorKind::BadParams,
                    format!("`{name}` is named twice: name each tool once"),
                ));
            }
            params.insert(CAPTURE_PARAM.into(), Value::String(capture.to_string()));
            let (_, tool) =
                self.prepare(&name, params).map_err(|e| ToolError::new(e.kind, format!("{name}: {}", e.message)))?;
            prepared.push(tool);
        }
        // One capture read, one permit: the analyzers share the read and
        // mostly wait on each other's pace, and one memory budget, the
        // largest of their limits, so the call holds no more memory than a
        // single analysis may.
        let memory = MemoryBudget::shared(prepared.iter().map(|p| p.limits.memory_bytes).max().unwrap_or(0));
        let (_running, opened) = self.open_then_admit(capture).await?;
        observer.total.set(opened.size).ok();
        let source = CaptureStdin::new(opened.file, opened.size, observer.progress.clone());
        // Tools of a one-pass analyzer share one instance (and its tables);
        // every other tool gets an instance of its own.
        let mut groups: Vec<Vec<(usize, PreparedTool)>> = Vec::new();
        for (index, tool) in prepared.into_iter().enumerate() {
            let joins = groups
                .iter_mut()
                .find(|group| tool.analyzer.info.one_pass && Arc::ptr_eq(&group[0].1.analyzer, &tool.analyzer));
            match joins {
                Some(group) => group.push((index, tool)),
                None => groups.push(vec![(index, tool)]),
            }
        }
        let mut writers = Vec::new();
        // Dropping the set (a cancelled call) aborts every analyzer and the pump.
        let mut tasks = tokio::task::JoinSet::new();
        for group in groups {
            let (reader, writer) = tokio::io::duplex(FAN_OUT_CHUNK);
            writers.push(writer);
            let service = self.clone();
            let name = opened.name.clone();
            let size = opened.size;
            let spec = capture.to_string();
            let memory = memory.clone();
            tasks.spawn(async move {
                let (indices, tools): (Vec<usize>, Vec<PreparedTool>) = group.into_iter().unzip();
                let names: Vec<String> = tools.iter().map(|t| t.tool.clone()).collect();
                let stdin = AsyncStdinStream::new(reader);
                let outcomes = service.run_prepared(tools, &name, size, stdin, &spec, memory).await;
                indices.into_iter().zip(names).zip(outcomes).map(|((i, n), o)| (i, n, o)).collect()
            });
        }
        tasks.spawn(async move {
            fan_out(source, writers).await;
            Vec::new()
        });
        let mut outcomes: Vec<Option<(String, Result<Value, ToolError>)>> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let finished =
                joined.map_err(|e| ToolError::new(ErrorKind::Internal, format!("a one-pass task failed: {e}")))?;
            for (index, name, outcome) in finished {
                if outcomes.len() <= index {
                    outcomes.resize_with(index + 1, || None);
                }
                outcomes[index] = Some((name, outcome));
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Checks the tool name and the arguments (against the tool's JSON
    /// Schema, before any guest sees them); returns the capture spec.
    fn prepare(&self, name: &str, arguments: Map<String, Value>) -> Result<(String, PreparedTool), ToolError> {
        let Some(tool) = self.registry.tool(name) else {
            let known: Vec<&str> = self.registry.tools().map(|t| t.name.as_str()).collect();
            return Err(ToolError::new(
                ErrorKind::UnknownTool,
                format!("no tool named `{name}`; tools: {}", known.join(", ")),
            ));
        };
        match arguments.get(CAPTURE_PARAM) {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(ToolError::new(
                    ErrorKind::BadParams,
                    format!("`{CAPTURE_PARAM}` must be a string (a path or URL), got {other}"),
                ));
            }
            None => {
                return Err(ToolError::new(
                    ErrorKind::BadParams,
                    format!("`{CAPTURE_PARAM}` is required: the path or http(s) URL of the capture"),
                ));
            }
        }
        let arguments = Value::Object(arguments);
        tool.check_arguments(&arguments).map_err(|problems| ToolError::new(ErrorKind::BadParams, problems))?;
        let Value::Object(mut params) = arguments else { unreachable!("built from a map above") };
        let Some(Value::String(capture)) = params.remove(CAPTURE_PARAM) else { unreachable!("checked above") };
        // Serialized once, without the capture (it travels apart, as stdin).
        // The size is checked before anything reaches the guest: a string
        // larger than its memory would trap inside the guest's allocator,
        // looking like a bug.
        let params_json = serde_json::to_string(&params).expect("a JSON map always serializes");
        if params_json.len() > MAX_PARAMS_BYTES {
            return Err(ToolError::new(
                ErrorKind::BadParams,
                format!(
                    "the parameters take {} bytes of JSON; at most {MAX_PARAMS_BYTES} are accepted",
                    params_json.len()
                ),
            ));
        }
        let analyzer = self.registry.analyzers[tool.analyzer].clone();
        let limits = self.limits.for_analyzer(&analyzer.info.name);
        Ok((capture, PreparedTool { analyzer, tool: name.to_string(), params_json, limits }))
    }

    /// Opens the capture (downloading a URL under the downloads' own bound),
    /// then takes a permit to analyze it: a slow download holds no analysis
    /// slot. When every slot is taken already, `busy` comes before the
    /// download, not after it.
    async fn open_then_admit(
        &self,
        capture: &str,
    ) -> Result<(tokio::sync::SemaphorePermit<'_>, crate::input::OpenedCapture), ToolError> {
        if self.running.available_permits() == 0 {
            return Err(busy());
        }
        let opened = self.inputs.open(capture).await?;
        Ok((self.admit()?, opened))
    }

    /// A permit to run, or `busy` at once: a client that waits for an answer
    /// it cannot get is worse off than one told to retry.
    fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ToolError> {
        self.running.try_acquire().map_err(|_| busy())
    }

    /// Runs `tools`, all of one analyzer and more than one only when it is
    /// a one-pass analyzer, in one instance with `stdin` as the capture.
    async fn run_prepared(
        &self,
        tools: Vec<PreparedTool>,
        capture_name: &str,
        capture_size: u64,
        stdin: impl StdinStream + 'static,
        spec: &str,
        memory: Arc<MemoryBudget>,
    ) -> Vec<Result<Value, ToolError>> {
        let analyzer = tools[0].analyzer.clone();
        let limits = tools[0].limits;
        let calls: Vec<Call> =
            tools.into_iter().map(|PreparedTool { tool, params_json, .. }| Call { tool, params_json }).collect();
        let capture =
            CaptureFacts { name: capture_name.to_string(), size: Some(capture_size), max_packets: self.max_packets };
        let shared_memory = memory.shared;
        self.sandbox
            .run(&analyzer, capture, calls, stdin, limits, memory)
            .await
            .into_iter()
            .map(|outcome| {
                let guest = outcome.map_err(|e| call_error(e, &analyzer.info.name, spec, shared_memory))?;
                let mut result: Value = serde_json::from_str(&guest.json).map_err(|e| {
                    ToolError::new(
                        ErrorKind::Internal,
                        format!("the {} analyzer returned invalid JSON: {e}", analyzer.info.name),
                    )
                })?;
                if let Some(kind) = guest.stopped_early {
                    mark_stopped_early(&mut result, kind, &analyzer.info.name, limits);
                }
                Ok(result)
            })
            .collect()
    }
}

/// Marks a result whose capture was ended early because `kind` was nearly
/// reached: `truncated`, and a warning saying why and what to do. Only the
/// envelope's own fields are used, so the result still fits its schema.
fn mark_stopped_early(result: &mut Value, kind: LimitKind, analyzer: &str, limits: Limits) {
    let Some(object) = result.as_object_mut() else { return };
    let limit = match kind {
        LimitKind::Fuel => format!("fuel limit ({} units)", limits.fuel),
        _ => format!("wall-clock limit ({:.0} s)", limits.wall_clock.as_secs_f64()),
    };
    let warning = format!(
        "the analysis stopped reading the capture early because its {limit} was nearly reached: the result covers \
         the packets read until then (packets_analyzed), and the capture looks cut short there. Analyze fewer \
         packets with `max_packets`, or raise the limit with --limit {analyzer}.{setting}=N",
        setting = kind.setting()
    );
    object.insert("truncated".into(), Value::Bool(true));
    match object.get_mut("warnings").and_then(Value::as_array_mut) {
        Some(warnings) => warnings.insert(0, Value::String(warning)),
        None => {
            object.insert("warnings".into(), Value::Array(vec![Value::String(warning)]));
        }
    }
}

/// Every analysis slot is taken.
fn busy() -> ToolError {
    ToolError::new(
        ErrorKind::Busy,
        "pcapsule is already running as many analyses as it allows at once (--max-concurrent-calls): \
         retry in a moment",
    )
}

/// Reads `source` once and writes every chunk to each writer; a writer whose
/// analyzer has finished (or stopped reading) is dropped, the rest go on.
async fn fan_out(mut source: impl AsyncRead + Unpin, mut writers: Vec<tokio::io::DuplexStream>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut chunk = vec![0u8; FAN_OUT_CHUNK];
    while !writers.is_empty() {
        let n = match source.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                // Each analyzer sees its stream end early and says so.
                tracing::warn!("reading the capture for a one-pass run failed: {e}");
                break;
            }
        };
        let mut alive = Vec::with_capacity(writers.len());
        for mut writer in writers {
            if writer.write_all(&chunk[..n]).await.is_ok() {
                alive.push(writer);
            }
        }
        writers = alive;
    }
    for mut writer in writers {
        let _ = writer.shutdown().await;
    }
}

/// `shared_memory`: the analyzer drew on a memory budget shared with the
/// other analyzers of its call, which a memory error must say.
fn call_error(error: CallError, analyzer: &str, capture: &str, shared_memory: bool) -> ToolError {
    match error {
        CallError::Analyzer(RunError::BadParams(m)) => ToolError::new(ErrorKind::BadParams, m),
        CallError::Analyzer(RunError::UnsupportedFormat(m)) => ToolError::new(
            ErrorKind::UnsupportedFormat,
            format!("{capture} is not a capture pcapsule can read: {m}. Give a pcap or pcapng file."),
        ),
        CallError::Analyzer(RunError::MalformedCapture(m)) => ToolError::new(
            ErrorKind::MalformedCapture,
            format!("{capture} is damaged at byte {}: {}", m.offset, m.message),
        ),
        CallError::Analyzer(RunError::Internal(m)) => {
            ToolError::new(ErrorKind::Internal, format!("the {analyzer} analyzer failed: {m}"))
        }
        CallError::Limit { kind, limits } => {
            let current = match kind {
                LimitKind::Fuel => format!("{} units", limits.fuel),
                LimitKind::Memory => format!("{} MiB", limits.memory_bytes >> 20),
                LimitKind::WallClock => format!("{:.0} s", limits.wall_clock.as_secs_f64()),
                LimitKind::ResultSize => format!("{} KiB", limits.result_bytes >> 10),
            };
            let remedy = if kind == LimitKind::ResultSize {
                "ask for less (smaller `limit`, or `max_packets`), or raise it".to_string()
            } else {
                "analyze fewer packets with `max_packets`, or raise it".to_string()
            };
            let sharing = if kind == LimitKind::Memory && shared_memory {
                " (in analyze_many the analyzers share one memory budget, the largest of their limits: run fewer \
                 tools at once, or raise the limit)"
            } else {
                ""
            };
            ToolError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the {analyzer} analyzer hit its {kind} ({current}) on {capture}: {remedy} with \
                     --limit {analyzer}.{setting}=N or in the config file's [limits.{analyzer}]{sharing}",
                    setting = kind.setting()
                ),
            )
        }
        CallError::Crashed { detail, guest_log } => {
            // The guest's stderr holds the panic message; Rust's hint about
            // RUST_BACKTRACE means nothing to a client.
            let words: Vec<&str> = guest_log
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
                .collect();
            let log = if words.is_empty() { String::new() } else { format!(" ({})", words.join(" ")) };
            ToolError::new(
                ErrorKind::AnalyzerCrashed,
                format!(
                    "the {analyzer} analyzer crashed on {capture} (the sandbox contained it): {detail}{log}. \
                     This is a bug in the analyzer: please report it with the capture"
                ),
            )
        }
    }
}
