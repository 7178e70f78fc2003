//! Several tools over one read of a capture: the MCP tool `analyze_many`
//! and `pcapsule analyze all|TOOL,TOOL,...`. Built only from the registry, so
//! it covers any analyzer without knowing it.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error_kind::ErrorKind;
use crate::registry::{CAPTURE_PARAM, Registry, ToolEntry};
use crate::service::{CallObserver, ToolError, ToolOutcomes, ToolService};

/// The MCP tool's name.
pub const TOOL_NAME: &str = "analyze_many";

/// JSON bytes the whole result may take: the 40 KB (about 10,000 tokens)
/// every tool's result keeps to. Each tool that takes `max_result_bytes`
/// gets an equal share of what the combined result's own fields leave
/// (but at least [`MIN_SHARE_BYTES`]) unless the caller sets its own;
/// within it the tool cuts its page first, then its longest lists, and
/// says so.
pub const BYTE_BUDGET: u64 = 40_000;
/// The least share: a busy capture's summary beside one entry of its page
/// (the ICMP analyzer's measured 3.3 KB). With more than ten tools the
/// combined result grows past [`BYTE_BUDGET`] by what the floor adds (12
/// tools: 48 KB), still far under the 100 KB any result keeps to.
pub const MIN_SHARE_BYTES: u64 = 4_000;
/// The parameter every built-in tool takes to bound its result.
const RESULT_BYTES_PARAM: &str = "max_result_bytes";
/// The parameters every built-in tool takes to select packets, which
/// `analyze_many` also takes once for all its tools.
const SELECTION_PARAMS: [&str; 3] = ["time_from", "time_to", "filter"];

/// What to run: the capture, and each tool with its parameters.
pub struct ManyRequest {
    /// `pcap_file`.
    pub capture: String,
    /// Tools in the order they will be reported, with their parameters.
    pub tools: Vec<(String, Map<String, Value>)>,
    /// Each tool's share of [`BYTE_BUDGET`].
    pub share_bytes: u64,
}

impl ManyRequest {
    /// From `analyze_many`'s arguments: `pcap_file`, optional `tools` (names;
    /// default: every analysis tool that needs nothing but the capture) and optional
    /// `params` (an object of per-tool parameter objects).
    pub fn from_arguments(registry: &Registry, mut arguments: Map<String, Value>) -> Result<Self, ToolError> {
        let bad = |message: String| ToolError::new(ErrorKind::BadParams, message);
        let capture = match arguments.remove(CAPTURE_PARAM) {
            Some(Value::String(s)) => s,
            _ => return Err(bad(format!("`{CAPTURE_PARAM}` is required: the path or http(s) URL of the capture"))),
        };
        let names: Vec<String> = match arguments.remove("tools") {
            None | Some(Value::Null) => default_tools(registry).map(|t| t.name.clone()).collect(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(name) => Ok(name),
                    other => Err(bad(format!("`tools` must list tool names (strings), got {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(bad(format!("`tools` must be an array of tool names, got {other}"))),
        };
        // The selection given once for all tools; a tool's own params win.
        let shared: Vec<(&str, Value)> =
            SELECTION_PARAMS.iter().filter_map(|name| Some((*name, arguments.remove(*name)?))).collect();
        let mut per_tool = match arguments.remove("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(bad(format!("`params` must be an object keyed by tool name, got {other}"))),
        };
        if let Some(unknown) = arguments.keys().next() {
            return Err(bad(format!(
                "unknown argument `{unknown}`: {TOOL_NAME} takes pcap_file, tools, params, time_from, time_to and filter"
            )));
        }
        // The combined result's own fields: the capture's name, each tool's
        // name as a key, the braces and commas around them.
        let overhead = 100 + capture.len() as u64 + names.iter().map(|n| n.len() as u64 + 8).sum::<u64>();
        let share_bytes = (BYTE_BUDGET.saturating_sub(overhead) / names.len().max(1) as u64).max(MIN_SHARE_BYTES);
        let mut tools = Vec::new();
        for name in names {
            if name == TOOL_NAME {
                return Err(bad(format!("{TOOL_NAME} cannot run itself")));
            }
            let Some(entry) = registry.tool(&name) else {
                let known: Vec<&str> = registry.tools().map(|t| t.name.as_str()).collect();
                return Err(ToolError::new(
                    ErrorKind::UnknownTool,
                    format!("no tool named `{name}`; tools: {}", known.join(", ")),
                ));
            };
            let mut params = match per_tool.remove(&name) {
                None => Map::new(),
                Some(Value::Object(map)) => map,
                Some(other) => return Err(bad(format!("`params.{name}` must be an object, got {other}"))),
            };
            if accepts(entry, RESULT_BYTES_PARAM) && !params.contains_key(RESULT_BYTES_PARAM) {
                params.insert(RESULT_BYTES_PARAM.into(), json!(share_bytes));
            }
            for (param, value) in shared.iter().filter(|(param, _)| accepts(entry, param)) {
                params.entry(param.to_string()).or_insert_with(|| value.clone());
            }
            tools.push((name, params));
        }
        if let Some(stray) = per_tool.keys().find(|k| !tools.iter().any(|(name, _)| name == *k)) {
            return Err(bad(format!("`params` names `{stray}`, which is not among the tools to run")));
        }
        Ok(ManyRequest { capture, tools, share_bytes })
    }

    /// Runs it.
    pub async fn run(self, service: &Arc<ToolService>, observer: &CallObserver) -> Result<Value, ToolError> {
        let outcomes = service.call_many(&self.capture, self.tools, observer).await?;
        Ok(combine(&self.capture, self.share_bytes, outcomes))
    }
}

/// The analysis tools (`analyze_*`) that need nothing but the capture
/// (`analyze_traffic_flow`, which needs a server address, is left out
/// unless named, and so are lookups such as `get_packets`, which show
/// packets rather than sum them up).
fn default_tools(registry: &Registry) -> impl Iterator<Item = &ToolEntry> {
    registry.tools().filter(|t| {
        t.name.starts_with("analyze_")
            && t.input_schema
                .get("required")
                .and_then(Value::as_array)
                .is_none_or(|required| required.iter().all(|r| r == CAPTURE_PARAM))
    })
}

fn accepts(tool: &ToolEntry, param: &str) -> bool {
    tool.input_schema.get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key(param))
}

/// One result object: each tool's result under `results`, each failure
/// under `errors`, both keyed by tool name, and the byte share each tool
/// was given.
fn combine(capture: &str, share_bytes: u64, outcomes: ToolOutcomes) -> Value {
    let mut results = Map::new();
    let mut errors = Map::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(value) => {
                results.insert(name, value);
            }
            Err(error) => {
                errors.insert(name, error.to_json()["error"].clone());
            }
        }
    }
    json!({ "file": capture, "result_bytes_per_tool": share_bytes, "results": results, "errors": errors })
}

/// `analyze_many`'s input schema, listing the tools this server has.
pub fn input_schema(registry: &Registry) -> Map<String, Value> {
    let names: Vec<&str> = registry.tools().map(|t| t.name.as_str()).collect();
    let defaults: Vec<&str> = default_tools(registry).map(|t| t.name.as_str()).collect();
    let schema = json!({
        "type": "object",
        "properties": {
            CAPTURE_PARAM: {
                "type": "string",
                "description": "The capture to analyze (pcap or pcapng): a path inside the server's allowed \
                                directories, or an http(s) URL to download."
            },
            "tools": {
                "type": "array",
                "items": {"type": "string", "enum": names},
                "uniqueItems": true,
                "minItems": 1,
                "description": format!("Tools to run over the one read of the capture (default: {}).", defaults.join(", "))
            },
            "params": {
                "type": "object",
                "additionalProperties": {"type": "object"},
                "description": format!(
                    "Parameters per tool, keyed by tool name, e.g. {{\"analyze_dns_packets\": {{\"limit\": 20}}}}. \
                     Results share {BYTE_BUDGET} bytes of JSON: each tool's max_result_bytes defaults to an \
                     equal share, at least {MIN_SHARE_BYTES}."
                )
            }
        },
        "required": [CAPTURE_PARAM],
        "additionalProperties": false
    });
    let Value::Object(mut map) = schema else { unreachable!("a JSON object literal") };
    // The selection parameters as the tools describe them, for all tools at once.
    for param in SELECTION_PARAMS {
        let described = registry.tools().find_map(|t| t.input_schema.get("properties")?.get(param).cloned());
        if let (Some(Value::Object(mut property)), Some(Value::Object(properties))) =
            (described, map.get_mut("properties"))
        {
            let doc = property.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
            property.insert(
                "description".into(),
                json!(format!("{doc} Applies to every tool run, unless its params set it.")),
            );
            properties.insert(param.into(), Value::Object(property));
        }
    }
    map
}

/// `analyze_many`'s output schema.
pub fn output_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": {
            "file": {"type": "string"},
            "result_bytes_per_tool": {"type": "integer", "description": "The max_result_bytes each tool was given \
                unless params set it: an equal share of the bytes all results may take together."},
            "results": {"type": "object", "description": "Each tool's result, keyed by tool name.",
                        "additionalProperties": {"type": "object"}},
            "errors": {"type": "object", "description": "Each failed tool's error {kind, message}, keyed by tool name.",
                       "additionalProperties": {"type": "object"}}
        },
        "required": ["file", "result_bytes_per_tool", "results", "errors"]
    });
    match schema {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The MCP description.
pub const DESCRIPTION: &str = "Run several analyses over one read of a capture: the file is read once and \
streamed to each analyzer side by side (tools of one analyzer that supports it share a single pass and its tables), \
which is faster than calling the tools one by one. By default runs every \
analysis tool (analyze_*) that needs only the capture; name `tools` and give per-tool `params` to choose; `time_from`, `time_to` and \
`filter` given here apply to every tool. The results share 40 KB of \
JSON (each tool's `max_result_bytes` is an equal share, at least 4 KB): pages, then long lists, are cut to fit, and each result \
says where. Returns each tool's result (the same as calling it alone) under `results`, and any failures under `errors`.";
