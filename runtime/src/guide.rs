//! The guide to which tool answers which question, written from the
//! registry (so it covers whatever analyzers are loaded), and the prompts as
//! documents. Served as MCP resources and printed by `pcapsule list --guide`.

use serde_json::Value;

use crate::one_pass;
use crate::registry::{CAPTURE_PARAM, Registry};

/// URI of the guide resource.
pub const GUIDE_URI: &str = "pcapsule://guide";

/// URI prefix of the prompt resources: `pcapsule://prompts/<name>`.
pub const PROMPT_URI_PREFIX: &str = "pcapsule://prompts/";

/// URI prefix of the documented result schemas: `pcapsule://schemas/<tool>`.
pub const SCHEMA_URI_PREFIX: &str = "pcapsule://schemas/";

/// The guide, as Markdown.
pub fn guide(registry: &Registry) -> String {
    let mut out = String::from(
        "# pcapsule: which tool answers which question\n\n\
         Every tool takes `pcap_file`: a path inside the server's allowed directories (`list_captures` lists \
         the capture files there), or an http(s) URL. Start with `analyze_capinfos` to learn what a capture holds (size, time span, link types), then ask \
         the protocol tools. Results are summaries first (counts, top-N tables, observations); long lists are \
         paged with `limit` and `offset` (follow `pagination.next_offset`); `max_packets` analyzes only the \
         first packets of a huge capture. To drill down, every tool takes `time_from`/`time_to` and a \
         tcpdump-style `filter` (`host 10.0.0.5 and port 53`): the figures then cover the selected packets \
         only, and the result's `selection` says so. To get several answers at once, `analyze_many` reads the capture \
         once for all of them. A failed call returns `isError` with `{\"error\": {\"kind\", \"message\"}}` \
         saying what to change. What each field of a tool's result means is in the resource \
         `pcapsule://schemas/<tool>`.\n",
    );
    for (index, analyzer) in registry.analyzers.iter().enumerate() {
        out.push_str(&format!(
            "\n## {} ({})\n\n{}\n",
            analyzer.info.name, analyzer.info.version, analyzer.info.description
        ));
        for tool in registry.tools().filter(|t| t.analyzer == index) {
            out.push_str(&format!("\n### `{}`: {}\n\n{}\n", tool.name, tool.title, tool.description));
            let params = parameter_lines(&tool.input_schema);
            if !params.is_empty() {
                out.push_str(&format!("\nParameters:\n{params}"));
            }
        }
        let prompts: Vec<_> = registry.prompts().filter(|p| p.analyzer == analyzer.info.name).collect();
        if !prompts.is_empty() {
            out.push_str("\nPrompts (ready-made analysis plans):\n");
            for prompt in prompts {
                out.push_str(&format!(
                    "- `{}` ({PROMPT_URI_PREFIX}{}): {}\n",
                    prompt.name, prompt.name, prompt.description
                ));
            }
        }
    }
    out.push_str(&format!(
        "\n## Several tools at once\n\n### `{}`\n\n{}\n",
        one_pass::TOOL_NAME,
        one_pass::DESCRIPTION
    ));
    out.push_str(&format!(
        "\n## Finding captures\n\n### `{}`\n\n{}\n",
        crate::list_captures::TOOL_NAME,
        crate::list_captures::DESCRIPTION
    ));
    out
}

/// One line per parameter besides `pcap_file`: name, type, whether required,
/// and the first sentence of its description.
fn parameter_lines(schema: &serde_json::Map<String, Value>) -> String {
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return String::new() };
    let mut out = String::new();
    for (name, property) in properties {
        if name == CAPTURE_PARAM {
            continue;
        }
        let kind = match property.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
            _ => "any".into(),
        };
        let description = property.get("description").and_then(Value::as_str).unwrap_or("");
        let first = description.split_inclusive(". ").next().unwrap_or("").trim();
        let needed = if required.contains(&name.as_str()) { ", required" } else { "" };
        out.push_str(&format!("- `{name}` ({kind}{needed}): {first}\n"));
    }
    out
}
