//! Every result of every tool matches the output schema the server lists for
//! it, checked by a real JSON Schema validator (types, required fields,
//! enums, nested objects and list items, and no key the schema does not
//! document), on every fixture and every file of
//! `../shared/captures`, driven over MCP the way an assistant drives it.
//!
//! The schemas are what clients see in `tools/list`; a result that strays
//! from them (a field of another type, a required field missing, a value
//! outside an enum) is a bug in the analyzer or in its schema, whichever
//! the failure names.

mod common;

use std::collections::BTreeMap;

use common::{call, captures_under, fixtures, ok, shared_captures, stdio_client, write_busy_capture};
use serde_json::{Value, json};

/// The tools a capture is checked with: all of them, in one `analyze_many`
/// call (the host's one pass, each tool's result as it returns it alone),
/// plus `analyze_traffic_flow` with a server seen in the capture.
const FLOW_TOOL: &str = "analyze_traffic_flow";
/// Needs the two ends of a conversation: called on the busiest TCP one.
const STREAM_TOOL: &str = "follow_stream";

/// Why each error kind is acceptable for a capture here: files that are not
/// captures, or are broken before their first packet.
fn expected_failure(kind: &str) -> bool {
    matches!(kind, "unsupported_format" | "malformed_capture")
}

/// Replaces each branch of `anyOf`/`oneOf`/`allOf` that is a `$ref` to the
/// schema's `$defs` by the definition itself, so that closing the objects
/// ([`closed`]) treats a flattened enum's variant where it is merged, like
/// an inline one: a definition closed on its own would refuse the fields of
/// the object around it. The schema as served keeps its references.
fn branches_inlined(schema: &mut Value) {
    let definitions = schema.get("$defs").cloned().unwrap_or(Value::Null);
    inline_branch_references(schema, &definitions, 0);
}

fn inline_branch_references(schema: &mut Value, definitions: &Value, depth: usize) {
    match schema {
        Value::Object(object) => {
            for keyword in BRANCHES {
                let Some(Value::Array(branches)) = object.get_mut(keyword) else { continue };
                for branch in branches.iter_mut() {
                    let target = branch.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"));
                    if let Some(definition) = target.and_then(|name| definitions.get(name)).filter(|_| depth < 16) {
                        let mut inlined = definition.clone();
                        if let (Some(into), Some(Value::Object(mut rest))) =
                            (inlined.as_object_mut(), Some(std::mem::take(branch)))
                        {
                            rest.remove("$ref");
                            into.extend(rest);
                        }
                        *branch = inlined;
                    }
                }
            }
            object.values_mut().for_each(|v| inline_branch_references(v, definitions, depth + 1));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| inline_branch_references(v, definitions, depth + 1)),
        _ => {}
    }
}

/// Closes every object the schema describes by listing its properties, so
/// the validator also reports keys a result carries that the schema does
/// not document (an assistant would see a field no schema explains).
/// Objects whose schema gives `additionalProperties` (maps keyed by data,
/// such as counts per reason) stay open as written.
fn closed(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    if object.contains_key("properties") && !object.contains_key("additionalProperties") {
        // A flattened enum (a message parsed or not, a request or a
        // response) lists its variants' properties in `anyOf` branches;
        // `unevaluatedProperties` counts those as documented, where
        // `additionalProperties` would see only the object's own.
        let branched = BRANCHES.iter().any(|k| object.contains_key(*k));
        let keyword = if branched { "unevaluatedProperties" } else { "additionalProperties" };
        object.insert(keyword.into(), Value::Bool(false));
    }
    closed_within(schema);
}

const BRANCHES: [&str; 3] = ["anyOf", "oneOf", "allOf"];

/// Closes the objects inside `schema`, and those inside its branches,
/// leaving a branch itself open (its object closes it).
fn closed_within(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    for keyword in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(subschemas)) = object.get_mut(keyword) {
            subschemas.values_mut().for_each(closed);
        }
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(subschema) = object.get_mut(keyword) {
            closed(subschema);
        }
    }
    for keyword in BRANCHES {
        if let Some(Value::Array(branches)) = object.get_mut(keyword) {
            branches.iter_mut().for_each(closed_within);
        }
    }
}

/// The closing itself: beside a flattened enum, a key that no branch
/// documents is reported, and so is one inside a branch's nested object;
/// the keys of either branch are not.
#[test]
fn closing_reports_undocumented_keys_beside_and_inside_branches() {
    let mut schema = json!({
        "type": "object",
        "properties": {"packet_number": {"type": "integer"}},
        "anyOf": [
            {"type": "object", "properties": {"dns_id": {"type": "integer"},
                "flags": {"type": "object", "properties": {"qr": {"type": "boolean"}}}}, "required": ["dns_id"]},
            {"type": "object", "properties": {"malformed": {"type": "string"}}, "required": ["malformed"]}
        ]
    });
    closed(&mut schema);
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&json!({"packet_number": 1, "dns_id": 7, "flags": {"qr": true}})));
    assert!(validator.is_valid(&json!({"packet_number": 1, "malformed": "short"})));
    assert!(!validator.is_valid(&json!({"packet_number": 1, "dns_id": 7, "stray": 0})));
    assert!(!validator.is_valid(&json!({"packet_number": 1, "dns_id": 7, "flags": {"qr": true, "stray": 0}})));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_result_of_every_tool_matches_its_output_schema() {
    let mut captures = captures_under(&fixtures());
    // A busy capture, where results are cut to fit their byte budgets:
    // what remains must still match the schema.
    let busy = tempfile::tempdir().unwrap();
    let busy_capture = busy.path().join("busy.pcap");
    write_busy_capture(&busy_capture, 100_000);
    captures.push(busy_capture);
    let shared = shared_captures();
    if let Some(dir) = &shared {
        captures.extend(captures_under(dir));
    }
    let client = stdio_client(&["--allow-dir", "/", "--max-concurrent-calls", "4"]).await;
    let tools = client.list_all_tools().await.unwrap();
    let mut validators = BTreeMap::new();
    for tool in &tools {
        let mut schema =
            Value::Object(tool.output_schema.as_ref().expect("every tool lists an output schema").as_ref().clone());
        jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{}: its output schema is not a valid JSON Schema: {e}", tool.name));
        branches_inlined(&mut schema);
        closed(&mut schema);
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{}: its output schema is not a valid JSON Schema: {e}", tool.name));
        validators.insert(tool.name.to_string(), validator);
    }
    let analyzer_tools: Vec<String> =
        validators.keys().filter(|name| !["analyze_many", "list_captures"].contains(&name.as_str())).cloned().collect();
    assert!(analyzer_tools.len() >= 8, "{analyzer_tools:?}");

    let mut failures = Vec::new();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut check = |tool: &str, capture: &str, result: &Value, failures: &mut Vec<String>| {
        let errors: Vec<String> =
            validators[tool].iter_errors(result).take(3).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        if !errors.is_empty() {
            failures.push(format!("{capture}: {tool}: {}", errors.join("; ")));
        }
        *checked.entry(tool.to_string()).or_default() += 1;
    };

    for capture in &captures {
        let capture = std::fs::canonicalize(capture).unwrap();
        let name = capture.to_str().unwrap();
        let tools: Vec<&String> = analyzer_tools.iter().filter(|t| *t != FLOW_TOOL && *t != STREAM_TOOL).collect();
        let many = call(&client, "analyze_many", json!({"pcap_file": name, "tools": tools})).await;
        let many = ok(&many).clone();
        check("analyze_many", name, &many, &mut failures);
        for (tool, error) in many["errors"].as_object().into_iter().flatten() {
            let kind = error["kind"].as_str().unwrap_or_default();
            if !expected_failure(kind) {
                failures.push(format!("{name}: {tool} failed: {error}"));
            }
        }
        let results = many["results"].as_object().cloned().unwrap_or_default();
        for (tool, result) in &results {
            check(tool, name, result, &mut failures);
        }
        // analyze_traffic_flow needs a server: the busiest one tcp saw.
        let server = results
            .get("analyze_tcp_connections")
            .and_then(|r| r["connections"].as_array())
            .and_then(|c| c.first())
            .and_then(|c| c["server"].as_str()?.parse::<std::net::SocketAddr>().ok());
        if let Some(server) = server {
            let arguments =
                json!({"pcap_file": name, "server_ip": server.ip().to_string(), "server_port": server.port()});
            let flow = call(&client, FLOW_TOOL, arguments).await;
            check(FLOW_TOOL, name, ok(&flow), &mut failures);
        }
        let busiest = results
            .get("analyze_tcp_connections")
            .and_then(|r| r["connections"].as_array())
            .and_then(|c| c.first())
            .and_then(|c| Some((c["client"].as_str()?.to_string(), c["server"].as_str()?.to_string())));
        if let Some((a, b)) = busiest {
            let stream = call(&client, STREAM_TOOL, json!({"pcap_file": name, "a": a, "b": b})).await;
            check(STREAM_TOOL, name, ok(&stream), &mut failures);
        }
    }
    let _ = client.cancel().await;
    eprintln!("results checked per tool: {checked:?}");

    assert!(failures.is_empty(), "{} results do not match their schema:\n{}", failures.len(), failures.join("\n"));
    // Every tool was checked on real results, the flow tool included.
    for tool in &analyzer_tools {
        assert!(checked.get(tool).copied().unwrap_or(0) > 0, "{tool} was never checked: {checked:?}");
    }
    if shared.is_some() {
        assert!(checked["analyze_dns_packets"] > 300, "{checked:?}");
        assert!(checked[FLOW_TOOL] > 50, "{checked:?}");
    }
}
