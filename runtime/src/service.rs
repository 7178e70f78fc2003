//! One tool call from start to finish, shared by the MCP server and the
//! direct command line: check the arguments, open the capture, run the
//! analyzer in the sandbox, and turn every failure into a [`ToolError`] that
//! says what went wrong and what to do.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::input::{CaptureInputs, CountingReader, InputError, ReadProgress};
use crate::registry::{CAPTURE_PARAM, Registry};
use crate::sandbox::limits::{LimitKind, LimitSettings};
use crate::sandbox::{CallError, RunError, RunRequest, Sandbox};

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
    /// Machine-readable class: `unknown_tool`, `bad_params`, an input error
    /// kind, `unsupported_format`, `malformed_capture`, `limit_exceeded`,
    /// `analyzer_crashed`, `internal`.
    pub kind: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ToolError {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        ToolError { kind, message: message.into() }
    }

    /// The JSON body of an error result.
    pub fn to_json(&self) -> Value {
        json!({ "error": { "kind": self.kind, "message": self.message } })
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

impl ToolService {
    /// Runs tool `name` with `arguments` (a JSON object with `pcap_file`).
    pub async fn call(self: &Arc<Self>, name: &str, arguments: Map<String, Value>) -> Result<Value, ToolError> {
        self.call_observed(name, arguments, &CallObserver::default()).await
    }

    /// Like [`ToolService::call`], reporting the capture size and the bytes
    /// streamed into the analyzer through `observer` as the call runs.
    pub async fn call_observed(
        self: &Arc<Self>,
        name: &str,
        arguments: Map<String, Value>,
        observer: &CallObserver,
    ) -> Result<Value, ToolError> {
        let Some(tool) = self.registry.tool(name) else {
            let known: Vec<&str> = self.registry.tools().map(|t| t.name.as_str()).collect();
            return Err(ToolError::new("unknown_tool", format!("no tool named `{name}`; tools: {}", known.join(", "))));
        };
        let mut params = arguments;
        let capture = match params.remove(CAPTURE_PARAM) {
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(ToolError::new(
                    "bad_params",
                    format!("`{CAPTURE_PARAM}` must be a string (a path or URL), got {other}"),
                ));
            }
            None => {
                return Err(ToolError::new(
                    "bad_params",
                    format!("`{CAPTURE_PARAM}` is required: the path or http(s) URL of the capture"),
                ));
            }
        };
        let params_json = Value::Object(params).to_string();
        // Checked before anything reaches the guest: a string larger than its
        // memory would trap inside the guest's allocator, looking like a bug.
        if params_json.len() > MAX_PARAMS_BYTES {
            return Err(ToolError::new(
                "bad_params",
                format!(
                    "the parameters take {} bytes of JSON; at most {MAX_PARAMS_BYTES} are accepted",
                    params_json.len()
                ),
            ));
        }
        // Over the limit, say so at once rather than queue: a client that
        // waits for an answer it cannot get is worse off than one told to retry.
        let _running = self.running.try_acquire().map_err(|_| {
            ToolError::new(
                "busy",
                "pcapsule is already running as many analyses as it allows at once (--max-concurrent-calls): \
                 retry in a moment",
            )
        })?;
        let analyzer = self.registry.analyzers[tool.analyzer].clone();
        let limits = self.limits.for_analyzer(&analyzer.info.name);
        let opened = self.inputs.open(&capture).await?;
        let request = RunRequest {
            tool: name.to_string(),
            params_json,
            capture_name: opened.name.clone(),
            capture_size: Some(opened.size),
            max_packets: self.max_packets,
        };
        observer.total.set(opened.size).ok();
        let capture_stream = CountingReader::new(tokio::fs::File::from_std(opened.file), observer.progress.clone());
        let outcome = self.sandbox.run(&analyzer, request, capture_stream, limits).await;
        let json = outcome.map_err(|e| call_error(e, &analyzer.info.name, &capture))?;
        serde_json::from_str(&json).map_err(|e| {
            ToolError::new("internal", format!("the {} analyzer returned invalid JSON: {e}", analyzer.info.name))
        })
    }
}

fn call_error(error: CallError, analyzer: &str, capture: &str) -> ToolError {
    match error {
        CallError::Analyzer(RunError::BadParams(m)) => ToolError::new("bad_params", m),
        CallError::Analyzer(RunError::UnsupportedFormat(m)) => ToolError::new(
            "unsupported_format",
            format!("{capture} is not a capture pcapsule can read: {m}. Give a pcap or pcapng file."),
        ),
        CallError::Analyzer(RunError::MalformedCapture(m)) => {
            ToolError::new("malformed_capture", format!("{capture} is damaged at byte {}: {}", m.offset, m.message))
        }
        CallError::Analyzer(RunError::Internal(m)) => {
            ToolError::new("internal", format!("the {analyzer} analyzer failed: {m}"))
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
            ToolError::new(
                "limit_exceeded",
                format!(
                    "the {analyzer} analyzer hit its {kind} ({current}) on {capture}: {remedy} with \
                     --limit {analyzer}.{setting}=N or in the config file's [limits.{analyzer}]",
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
                "analyzer_crashed",
                format!(
                    "the {analyzer} analyzer crashed on {capture} (the sandbox contained it): {detail}{log}. \
                     This is a bug in the analyzer: please report it with the capture"
                ),
            )
        }
    }
}
