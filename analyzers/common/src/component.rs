//! What an analyzer implements ([`Analyzer`]) and the glue that turns it into
//! a component: the WIT exports and a WASI command `main`, both running the
//! same code so the CLI prints exactly what the MCP tool returns.

use std::io::Read;

use serde_json::Value;

use crate::bindings::exports::pcapsule::analyzer::analyzer as wit;
use crate::{CaptureError, RunError};

/// The version of `wit/analyzer.wit` this library implements.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// One MCP tool of an analyzer.
pub struct ToolSpec {
    /// Tool name, e.g. `analyze_capinfos`.
    pub name: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What it answers.
    pub description: &'static str,
    /// JSON Schema of the parameters (an object schema, without `pcap_file`).
    pub params_schema: Value,
    /// JSON Schema of the result.
    pub result_schema: Value,
}

/// One MCP prompt of an analyzer.
pub struct PromptSpec {
    /// Prompt name.
    pub name: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// The text given to the model.
    pub text: &'static str,
}

/// What an analyzer says about itself.
pub struct Description {
    /// Short name used in `--modules`, e.g. `capinfos`.
    pub name: &'static str,
    /// The analyzer's version.
    pub version: &'static str,
    /// One line on what it covers.
    pub summary: &'static str,
    /// Its tools.
    pub tools: Vec<ToolSpec>,
    /// Its prompts.
    pub prompts: Vec<PromptSpec>,
}

/// Facts about the input that only the host (or the CLI) knows.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// The capture's name as given (path or URL).
    pub capture_name: String,
    /// Its size in bytes, when known.
    pub capture_size: Option<u64>,
    /// Server-wide packet cap.
    pub max_packets: Option<u64>,
}

/// An analyzer: describes its tools and runs one over a capture stream.
pub trait Analyzer {
    /// Name, tools and prompts.
    fn describe() -> Description;

    /// Runs `tool` with `params` (a JSON object) over `capture`.
    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError>;
}

/// Deserializes a tool's parameters, naming the offending field on error.
pub fn parse_params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RunError> {
    serde_json::from_value(params).map_err(|e| RunError::BadParams(format!("invalid parameters: {e}")))
}

/// Runs a tool, first checking the tool name and that params is an object.
fn run_checked<A: Analyzer>(
    tool: &str,
    params: &str,
    capture: &mut dyn Read,
    ctx: &RunContext,
) -> Result<Value, RunError> {
    let known: Vec<&str> = A::describe().tools.iter().map(|t| t.name).collect();
    if !known.contains(&tool) {
        return Err(RunError::BadParams(format!("unknown tool `{tool}`: this analyzer provides {}", known.join(", "))));
    }
    let params: Value = if params.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(params).map_err(|e| RunError::BadParams(format!("parameters are not valid JSON: {e}")))?
    };
    if !params.is_object() {
        return Err(RunError::BadParams("parameters must be a JSON object".into()));
    }
    A::run(tool, params, capture, ctx)
}

/// The WIT `describe` export.
pub fn describe_wit<A: Analyzer>() -> wit::AnalyzerInfo {
    let d = A::describe();
    wit::AnalyzerInfo {
        name: d.name.into(),
        version: d.version.into(),
        description: d.summary.into(),
        interface_version: INTERFACE_VERSION.into(),
        tools: d
            .tools
            .into_iter()
            .map(|t| wit::Tool {
                name: t.name.into(),
                title: t.title.into(),
                description: t.description.into(),
                params_schema: t.params_schema.to_string(),
                result_schema: t.result_schema.to_string(),
            })
            .collect(),
        prompts: d
            .prompts
            .into_iter()
            .map(|p| wit::Prompt {
                name: p.name.into(),
                title: p.title.into(),
                description: p.description.into(),
                text: p.text.into(),
            })
            .collect(),
    }
}

/// The WIT `run` export: the capture is the component's stdin.
pub fn run_wit<A: Analyzer>(request: wit::RunRequest) -> Result<String, wit::RunError> {
    let ctx = RunContext {
        capture_name: request.capture_name,
        capture_size: request.capture_size,
        max_packets: request.max_packets,
    };
    let mut stdin = std::io::stdin().lock();
    run_checked::<A>(&request.tool, &request.params_json, &mut stdin, &ctx).map(|v| v.to_string()).map_err(
        |e| match e {
            RunError::BadParams(m) => wit::RunError::BadParams(m),
            RunError::UnsupportedFormat(m) => wit::RunError::UnsupportedFormat(m),
            RunError::Malformed { offset, message } => {
                wit::RunError::MalformedCapture(wit::Malformed { offset, message })
            }
            RunError::Internal(m) => wit::RunError::Internal(m),
        },
    )
}

const USAGE: &str = "usage: ANALYZER.wasm CAPTURE|- [TOOL] [PARAMS_JSON]\n       ANALYZER.wasm --describe\n\
Runs TOOL (default: the first tool) over CAPTURE (a pcap or pcapng file; - reads stdin)\n\
and prints the same JSON as the MCP tool. Under wasmtime, grant the capture's folder:\n\
  wasmtime run --dir=. ANALYZER.wasm capture.pcap";

/// `fn main` of every analyzer: the WASI command face of the component.
pub fn command_main<A: Analyzer>() -> std::process::ExitCode {
    use std::process::ExitCode;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let description = A::describe();
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help") => {
            eprintln!("{} {}: {}\n{USAGE}", description.name, description.version, description.summary);
            eprintln!("tools: {}", description.tools.iter().map(|t| t.name).collect::<Vec<_>>().join(", "));
            return if args.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
        Some("--describe") => {
            let info = describe_wit::<A>();
            let tools: Vec<Value> = info
                .tools
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "name": t.name, "title": t.title, "description": t.description,
                        "params_schema": serde_json::from_str::<Value>(&t.params_schema).unwrap_or(Value::Null),
                        "result_schema": serde_json::from_str::<Value>(&t.result_schema).unwrap_or(Value::Null),
                    })
                })
                .collect();
            let prompts: Vec<Value> = info
                .prompts
                .iter()
                .map(|p| serde_json::json!({"name": p.name, "title": p.title, "description": p.description, "text": p.text}))
                .collect();
            let doc = serde_json::json!({
                "name": info.name, "version": info.version, "description": info.description,
                "interface_version": info.interface_version, "tools": tools, "prompts": prompts,
            });
            print_json(&doc);
            return ExitCode::SUCCESS;
        }
        Some(_) => {}
    }
    let path = &args[0];
    let tool = args.get(1).map(String::as_str).unwrap_or(description.tools[0].name);
    let params = args.get(2).map(String::as_str).unwrap_or("{}");
    let result = if path == "-" {
        let ctx = RunContext { capture_name: "-".into(), ..Default::default() };
        run_checked::<A>(tool, params, &mut std::io::stdin().lock(), &ctx)
    } else {
        match std::fs::File::open(path) {
            Ok(mut file) => {
                let ctx = RunContext {
                    capture_name: path.clone(),
                    capture_size: file.metadata().ok().map(|m| m.len()),
                    max_packets: None,
                };
                run_checked::<A>(tool, params, &mut file, &ctx)
            }
            Err(e) => {
                eprintln!("error: cannot open {path}: {e} (under wasmtime, grant its folder with --dir=FOLDER)");
                return ExitCode::from(2);
            }
        }
    };
    match result {
        Ok(value) => {
            print_json(&value);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if matches!(e, RunError::BadParams(_)) { 2 } else { 1 })
        }
    }
}

/// Prints JSON to stdout; a closed pipe (`| head`) is not an error worth a
/// panic (which `println!` would raise).
fn print_json(value: &Value) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).expect("a JSON value serializes");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

impl From<CaptureError> for RunError {
    fn from(e: CaptureError) -> Self {
        match e {
            CaptureError::UnsupportedFormat(m) => RunError::UnsupportedFormat(m),
            CaptureError::Malformed { offset, message } => RunError::Malformed { offset, message },
            CaptureError::Io(m) => RunError::Internal(format!("reading the capture failed: {m}")),
        }
    }
}
