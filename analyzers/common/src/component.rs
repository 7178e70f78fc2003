//! What an analyzer implements ([`Analyzer`]) and the glue that turns it into
//! a component: the WIT exports and a WASI command `main`, both running the
//! same code so the CLI prints exactly what the MCP tool returns.

use std::io::Read;

use serde_json::Value;

use crate::bindings::exports::pcapsule::analyzer::analyzer as wit;
use crate::{CaptureError, RunError};

/// The version of `wit/analyzer.wit` this library implements.
pub const INTERFACE_VERSION: &str = "0.2.0";

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

    /// Whether [`Analyzer::run_many`] runs several tools in one pass (the WIT
    /// `one-pass`): worth it when the tools share decoding or state, as the
    /// TCP tools share their connection table.
    const ONE_PASS: bool = false;

    /// Runs several tools, each `(tool, params)` once, over one read of
    /// `capture`; one result per call, in order. The host calls it only when
    /// [`Analyzer::ONE_PASS`] is true; the default runs a single call.
    fn run_many(calls: Vec<(&str, Value)>, capture: &mut dyn Read, ctx: &RunContext) -> Vec<Result<Value, RunError>> {
        match <[_; 1]>::try_from(calls) {
            Ok([(tool, params)]) => vec![Self::run(tool, params, capture, ctx)],
            Err(calls) => calls
                .iter()
                .map(|_| Err(RunError::BadParams("this analyzer runs one tool per read of the capture".into())))
                .collect(),
        }
    }
}

/// Deserializes a tool's parameters, naming the offending field on error.
pub fn parse_params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RunError> {
    // serde's own message for a wrong type ("invalid type: string, expected
    // u64") does not say which parameter; the path does.
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner();
        RunError::BadParams(if path == "." {
            format!("invalid parameters: {error}")
        } else {
            format!("invalid parameters: `{path}`: {error}")
        })
    })
}

/// Runs a tool, first checking the tool name and that params is an object.
fn run_checked<A: Analyzer>(
    tool: &str,
    params: &str,
    capture: &mut dyn Read,
    ctx: &RunContext,
) -> Result<Value, RunError> {
    let params = checked_params::<A>(tool, params)?;
    A::run(tool, params, capture, ctx)
}

/// The parameters of a call as JSON, once the tool name is known to be one
/// of `A`'s and the text is a JSON object.
fn checked_params<A: Analyzer>(tool: &str, params: &str) -> Result<Value, RunError> {
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
    Ok(params)
}

/// The WIT `describe` export.
pub fn describe_wit<A: Analyzer>() -> wit::AnalyzerInfo {
    let d = A::describe();
    wit::AnalyzerInfo {
        name: d.name.into(),
        version: d.version.into(),
        description: d.summary.into(),
        interface_version: INTERFACE_VERSION.into(),
        one_pass: A::ONE_PASS,
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
    let ctx = context(&request);
    let mut stdin = std::io::stdin().lock();
    to_wit(run_checked::<A>(&request.tool, &request.params_json, &mut stdin, &ctx))
}

/// The WIT `run-many` export: calls with a wrong tool name or parameters get
/// their error, the others run together over stdin.
pub fn run_many_wit<A: Analyzer>(requests: Vec<wit::RunRequest>) -> Vec<Result<String, wit::RunError>> {
    let Some(first) = requests.first() else { return Vec::new() };
    let ctx = context(first);
    let checked: Vec<Result<Value, RunError>> =
        requests.iter().map(|r| checked_params::<A>(&r.tool, &r.params_json)).collect();
    let calls: Vec<(&str, Value)> = requests
        .iter()
        .zip(&checked)
        .filter_map(|(r, p)| p.as_ref().ok().map(|p| (r.tool.as_str(), p.clone())))
        .collect();
    let mut ran = if calls.is_empty() {
        Vec::new()
    } else {
        let expected = calls.len();
        let ran = A::run_many(calls, &mut std::io::stdin().lock(), &ctx);
        if ran.len() != expected {
            let bug = format!("run_many returned {} results for {expected} calls", ran.len());
            return requests.iter().map(|_| Err(wit::RunError::Internal(bug.clone()))).collect();
        }
        ran
    }
    .into_iter();
    checked.into_iter().map(|p| to_wit(p.and_then(|_| ran.next().expect("one result per valid call")))).collect()
}

fn context(request: &wit::RunRequest) -> RunContext {
    RunContext {
        capture_name: request.capture_name.clone(),
        capture_size: request.capture_size,
        max_packets: request.max_packets,
    }
}

fn to_wit(outcome: Result<Value, RunError>) -> Result<String, wit::RunError> {
    outcome.map(|v| v.to_string()).map_err(|e| match e {
        RunError::BadParams(m) => wit::RunError::BadParams(m),
        RunError::UnsupportedFormat(m) => wit::RunError::UnsupportedFormat(m),
        RunError::Malformed { offset, message } => wit::RunError::MalformedCapture(wit::Malformed { offset, message }),
        RunError::Internal(m) => wit::RunError::Internal(m),
    })
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
                "interface_version": info.interface_version, "one_pass": info.one_pass,
                "tools": tools, "prompts": prompts,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrong value names its parameter, as an assistant needs to fix the call.
    #[test]
    fn a_bad_parameter_is_named() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Params {
            limit: Option<u64>,
            detailed: Option<bool>,
        }
        let message = |params| match parse_params::<Params>(params) {
            Err(RunError::BadParams(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(message(serde_json::json!({"limit": "ten"})).contains("`limit`: invalid type"));
        assert!(message(serde_json::json!({"detailed": 1})).contains("`detailed`"));
        assert!(message(serde_json::json!({"limits": 1})).contains("unknown field `limits`"));
        assert!(parse_params::<Params>(serde_json::json!({"limit": 3})).is_ok());
    }

    /// Two tools that count the capture's bytes; not a one-pass analyzer.
    struct Counter;

    impl Analyzer for Counter {
        fn describe() -> Description {
            let tool = |name| ToolSpec {
                name,
                title: "t",
                description: "d",
                params_schema: serde_json::json!({"type": "object"}),
                result_schema: serde_json::json!({}),
            };
            Description {
                name: "counter",
                version: "0",
                summary: "s",
                tools: vec![tool("a"), tool("b")],
                prompts: vec![],
            }
        }

        fn run(tool: &str, _: Value, capture: &mut dyn Read, _: &RunContext) -> Result<Value, RunError> {
            let mut bytes = Vec::new();
            capture.read_to_end(&mut bytes).map_err(|e| RunError::Internal(e.to_string()))?;
            Ok(serde_json::json!({"tool": tool, "bytes": bytes.len()}))
        }
    }

    fn request(tool: &str, params: &str) -> wit::RunRequest {
        wit::RunRequest {
            tool: tool.into(),
            params_json: params.into(),
            capture_name: "x".into(),
            capture_size: None,
            max_packets: None,
        }
    }

    #[test]
    fn the_default_run_many_takes_one_call_and_refuses_several() {
        let ctx = RunContext::default();
        let one = Counter::run_many(vec![("a", Value::Null)], &mut &b"12345"[..], &ctx);
        assert_eq!(one, vec![Ok(serde_json::json!({"tool": "a", "bytes": 5}))]);
        let two = Counter::run_many(vec![("a", Value::Null), ("b", Value::Null)], &mut &b"12345"[..], &ctx);
        assert_eq!(two.len(), 2);
        assert!(two.iter().all(|r| matches!(r, Err(RunError::BadParams(m)) if m.contains("one tool per read"))));
        assert!(!describe_wit::<Counter>().one_pass);
    }

    #[test]
    fn run_many_answers_bad_calls_without_reading_the_capture() {
        // Every call is wrong, so stdin (the test runner's) is never read.
        let out = run_many_wit::<Counter>(vec![request("nope", "{}"), request("a", "[1]"), request("b", "{")]);
        assert_eq!(out.len(), 3);
        assert!(matches!(&out[0], Err(wit::RunError::BadParams(m)) if m.contains("unknown tool `nope`")), "{out:?}");
        assert!(matches!(&out[1], Err(wit::RunError::BadParams(m)) if m.contains("JSON object")), "{out:?}");
        assert!(matches!(&out[2], Err(wit::RunError::BadParams(m)) if m.contains("not valid JSON")), "{out:?}");
        assert!(run_many_wit::<Counter>(Vec::new()).is_empty());
    }
}
