//! What an analyzer implements ([`Analyzer`], and [`OnePass`] when its tools
//! can share a read) and the glue that turns it into a component: the WIT
//! exports (see [`analyzer_component!`](crate::analyzer_component)) and a
//! WASI command `main`, both running the same code so the CLI prints exactly
//! what the MCP tool returns. Nothing here names a WIT version: the bindings
//! are generated in the analyzer's crate by the macro, from `wit/v0.3.0`.

use std::io::Read;

use serde_json::Value;

use crate::conventions::PacketBudget;
use crate::selection::Selection;
use crate::{CaptureError, RunError};

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

/// Facts about the input that only the host (or the CLI) knows: the WIT
/// `capture` record.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// The capture's name as given (path or URL).
    pub capture_name: String,
    /// Its size in bytes, when known.
    pub capture_size: Option<u64>,
    /// Server-wide packet cap.
    pub max_packets: Option<u64>,
    /// The call's `time_from`, `time_to` and `filter` (taken out of its
    /// parameters before the analyzer reads them).
    pub selection: Selection,
}

impl RunContext {
    /// The packet budget of a call: its `max_packets` under the server's
    /// cap, and its selection. Every analyzer's run starts here, so every
    /// tool applies the selection parameters the same way.
    pub fn budget(&self, max_packets: Option<u64>) -> Result<PacketBudget, RunError> {
        Ok(PacketBudget::new(max_packets, self.max_packets)?.selecting(self.selection.clone()))
    }
}

/// One call of a one-pass run ([`OnePass::run_many`]).
pub struct Call<'a> {
    /// The tool.
    pub tool: &'a str,
    /// Its parameters, the selection taken out.
    pub params: Value,
    /// The context, with the call's selection.
    pub ctx: RunContext,
}

/// An analyzer: describes its tools and runs one over a capture stream.
pub trait Analyzer {
    /// Name, tools and prompts.
    fn describe() -> Description;

    /// Runs `tool` with `params` (a JSON object) over `capture`.
    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError>;
}

/// An analyzer whose tools can run together over one read of the capture
/// (the WIT `one-pass` interface): worth it when they share decoding or
/// state, as the TCP tools share their connection table. Export it with
/// `analyzer_component!(Type, one_pass)`.
pub trait OnePass: Analyzer {
    /// Runs several distinct tools, each call once, over one read of
    /// `capture`; one result per call, in order.
    fn run_many(calls: Vec<Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>>;
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
pub(crate) fn run_checked<A: Analyzer>(
    tool: &str,
    params: &str,
    capture: &mut dyn Read,
    ctx: &RunContext,
) -> Result<Value, RunError> {
    let (params, selection) = checked_params::<A>(tool, params)?;
    A::run(tool, params, capture, &RunContext { selection, ..ctx.clone() })
}

/// The parameters of a call as JSON, once the tool name is known to be one
/// of `A`'s and the text is a JSON object, and its selection taken out.
fn checked_params<A: Analyzer>(tool: &str, params: &str) -> Result<(Value, Selection), RunError> {
    let known: Vec<&str> = A::describe().tools.iter().map(|t| t.name).collect();
    if !known.contains(&tool) {
        return Err(RunError::BadParams(format!("unknown tool `{tool}`: this analyzer provides {}", known.join(", "))));
    }
    let params: Value = if params.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(params).map_err(|e| RunError::BadParams(format!("parameters are not valid JSON: {e}")))?
    };
    let Value::Object(mut params) = params else {
        return Err(RunError::BadParams("parameters must be a JSON object".into()));
    };
    let selection = Selection::take_from(&mut params)?;
    Ok((Value::Object(params), selection))
}

/// The WIT `run`: one tool over the capture on stdin, as JSON text.
pub fn run_on_stdin<A: Analyzer>(ctx: &RunContext, tool: &str, params: &str) -> Result<String, RunError> {
    let mut stdin = std::io::stdin().lock();
    run_checked::<A>(tool, params, &mut stdin, ctx).map(|v| v.to_string())
}

/// The WIT `run-many`: calls with a wrong tool name or parameters get their
/// error, the others run together over one read of stdin.
pub fn run_many_on_stdin<A: OnePass>(ctx: &RunContext, calls: &[(&str, &str)]) -> Vec<Result<String, RunError>> {
    run_many_over::<A>(ctx, calls, &mut std::io::stdin().lock())
}

pub(crate) fn run_many_over<A: OnePass>(
    ctx: &RunContext,
    calls: &[(&str, &str)],
    capture: &mut dyn Read,
) -> Vec<Result<String, RunError>> {
    let checked: Vec<Result<(Value, Selection), RunError>> =
        calls.iter().map(|(tool, params)| checked_params::<A>(tool, params)).collect();
    let valid: Vec<Call<'_>> = calls
        .iter()
        .zip(&checked)
        .filter_map(|((tool, _), checked)| {
            let (params, selection) = checked.as_ref().ok()?;
            Some(Call { tool, params: params.clone(), ctx: RunContext { selection: selection.clone(), ..ctx.clone() } })
        })
        .collect();
    let mut ran = if valid.is_empty() {
        Vec::new()
    } else {
        let expected = valid.len();
        let ran = A::run_many(valid, capture);
        if ran.len() != expected {
            let bug = format!("run_many returned {} results for {expected} calls", ran.len());
            return calls.iter().map(|_| Err(RunError::Internal(bug.clone()))).collect();
        }
        ran
    }
    .into_iter();
    checked
        .into_iter()
        .map(|p| p.and_then(|_| ran.next().expect("one result per valid call")).map(|v| v.to_string()))
        .collect()
}

const USAGE: &str = "usage: ANALYZER.wasm CAPTURE|- [TOOL] [PARAMS_JSON]\n       ANALYZER.wasm --describe\n\
Runs TOOL (default: the first tool) over CAPTURE (a pcap or pcapng file; - reads stdin)\n\
and prints the same JSON as the MCP tool. Under wasmtime, grant the capture's folder:\n\
  wasmtime run --dir=. ANALYZER.wasm capture.pcap";

/// What `--describe` prints: the `describe` answer, with the schemas as JSON
/// and the optional WIT interfaces the component exports (`capabilities`).
fn describe_json(description: &Description, capabilities: &[&str]) -> Value {
    let tools: Vec<Value> = description
        .tools
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name, "title": t.title, "description": t.description,
                "params_schema": t.params_schema, "result_schema": t.result_schema,
            })
        })
        .collect();
    let prompts: Vec<Value> = description
        .prompts
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "title": p.title, "description": p.description, "text": p.text}))
        .collect();
    serde_json::json!({
        "name": description.name, "version": description.version, "description": description.summary,
        "capabilities": capabilities, "tools": tools, "prompts": prompts,
    })
}

/// `fn main` of every analyzer: the WASI command face of the component.
/// `capabilities`: the optional WIT interfaces it exports, for `--describe`.
pub fn command_main<A: Analyzer>(capabilities: &[&str]) -> std::process::ExitCode {
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
            print_json(&describe_json(&description, capabilities));
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
                    ..Default::default()
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

    /// Two tools that count the capture's bytes, together in one read.
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

        fn run(tool: &str, _: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
            Counter::run_many(vec![Call { tool, params: Value::Null, ctx: ctx.clone() }], capture).remove(0)
        }
    }

    impl OnePass for Counter {
        fn run_many(calls: Vec<Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>> {
            let mut bytes = Vec::new();
            let read = capture.read_to_end(&mut bytes).map_err(|e| RunError::Internal(e.to_string()));
            let tools: Vec<&str> = calls.iter().map(|call| call.tool).collect();
            calls
                .iter()
                .map(|call| {
                    let filter = call.ctx.selection.report(0).filter;
                    let with = &tools;
                    read.clone().map(|_| serde_json::json!({"tool": call.tool, "bytes": bytes.len(), "with": with, "filter": filter}))
                })
                .collect()
        }
    }

    #[test]
    fn run_many_answers_bad_calls_in_place_and_runs_the_rest_together() {
        let ctx = RunContext::default();
        let calls = [
            ("nope", "{}"),
            ("a", "[1]"),
            ("b", "{"),
            ("a", ""),
            ("b", r#"{"filter": "udp"}"#),
            ("a", r#"{"filter": "ud"}"#),
        ];
        let out = run_many_over::<Counter>(&ctx, &calls, &mut &b"12345"[..]);
        assert_eq!(out.len(), 6);
        assert!(matches!(&out[0], Err(RunError::BadParams(m)) if m.contains("unknown tool `nope`")), "{out:?}");
        assert!(matches!(&out[1], Err(RunError::BadParams(m)) if m.contains("JSON object")), "{out:?}");
        assert!(matches!(&out[2], Err(RunError::BadParams(m)) if m.contains("not valid JSON")), "{out:?}");
        assert_eq!(out[3].as_deref(), Ok(r#"{"tool":"a","bytes":5,"with":["a","b"],"filter":null}"#));
        assert_eq!(
            out[4].as_deref(),
            Ok(r#"{"tool":"b","bytes":5,"with":["a","b"],"filter":"udp"}"#),
            "each call its own selection"
        );
        assert!(matches!(&out[5], Err(RunError::BadParams(m)) if m.contains("`ud`")), "{out:?}");
        assert!(run_many_over::<Counter>(&ctx, &[], &mut &b""[..]).is_empty());
    }

    #[test]
    fn only_bad_calls_never_read_the_capture() {
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                panic!("the capture was read")
            }
        }
        let out = run_many_over::<Counter>(&RunContext::default(), &[("nope", "{}")], &mut Unreadable);
        assert!(matches!(&out[..], [Err(RunError::BadParams(_))]), "{out:?}");
    }

    #[test]
    fn describe_lists_the_capabilities_given() {
        let doc = describe_json(&Counter::describe(), &["one-pass"]);
        assert_eq!(doc["capabilities"], serde_json::json!(["one-pass"]));
        assert_eq!(doc["tools"][1]["name"], "b");
        assert_eq!(doc["tools"][0]["params_schema"], serde_json::json!({"type": "object"}));
    }
}
