//! A component built against `wit/v0.2.0`, as analyzers were before 0.3.0,
//! so the host's adapter for that version is tested on a real component
//! built from source by the test build (never embedded in pcapsule; folders
//! named `test-*` are built for tests only). It uses the WIT bindings
//! directly, not the guest library, which speaks only the current version.
//!
//! Its two tools count the bytes of the capture; they are "one-pass", so the
//! host's `run-many` path through the adapter is exercised too.

use std::io::Read;

wit_bindgen::generate!({
    path: "../../wit/v0.2.0",
    world: "analyzer-component",
});

use exports::pcapsule::analyzer::analyzer::{AnalyzerInfo, Guest, Malformed, RunError, RunRequest, Tool};

struct Legacy;

const TOOLS: [&str; 2] = ["legacy_count_bytes", "legacy_first_bytes"];

impl Guest for Legacy {
    fn describe() -> AnalyzerInfo {
        let tool = |name: &str, description: &str| Tool {
            name: name.into(),
            title: name.into(),
            description: description.into(),
            params_schema: r#"{"type":"object","properties":{"fail":{"type":"boolean"}},"additionalProperties":false}"#
                .into(),
            result_schema: r#"{"type":"object"}"#.into(),
        };
        AnalyzerInfo {
            name: "test-wit-v0-2-0".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Counts the capture's bytes through WIT 0.2.0 (tests only).".into(),
            interface_version: "0.2.0".into(),
            tools: vec![
                tool(TOOLS[0], "The capture's size in bytes, and the facts the host gave."),
                tool(TOOLS[1], "The capture's first four bytes in hex."),
            ],
            prompts: vec![],
            one_pass: true,
        }
    }

    fn run(request: RunRequest) -> Result<String, RunError> {
        Self::run_many(vec![request]).remove(0)
    }

    fn run_many(requests: Vec<RunRequest>) -> Vec<Result<String, RunError>> {
        let mut capture = Vec::new();
        if let Err(e) = std::io::stdin().lock().read_to_end(&mut capture) {
            return requests.iter().map(|_| Err(RunError::Internal(e.to_string()))).collect();
        }
        let tools: Vec<&str> = requests.iter().map(|r| r.tool.as_str()).collect();
        requests.iter().map(|r| answer(r, &capture, &tools)).collect()
    }
}

fn answer(request: &RunRequest, capture: &[u8], tools: &[&str]) -> Result<String, RunError> {
    if request.params_json.contains("\"fail\":true") {
        return Err(RunError::MalformedCapture(Malformed { offset: 4, message: "asked to fail".into() }));
    }
    let result = match request.tool.as_str() {
        "legacy_count_bytes" => serde_json::json!({
            "file": request.capture_name,
            "bytes": capture.len(),
            "capture_size": request.capture_size,
            "max_packets": request.max_packets,
            "read_with": tools,
        }),
        "legacy_first_bytes" => serde_json::json!({
            "first_bytes": capture.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>(),
            "read_with": tools,
        }),
        other => return Err(RunError::BadParams(format!("unknown tool `{other}`: this analyzer provides {TOOLS:?}"))),
    };
    Ok(result.to_string())
}

export!(Legacy);

fn main() {
    eprintln!("a test component: load it into pcapsule with --analyzers-dir");
}
