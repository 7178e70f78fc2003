//! The MCP tool `list_captures`: which capture files the allowed directories
//! hold, so an assistant can find what to analyze. Served by the host (it
//! reads directory entries, never the files' contents).

use serde_json::{Map, Value, json};

use crate::error_kind::ErrorKind;
use crate::input::{CaptureInputs, MAX_SCANNED};
use crate::service::ToolError;

/// The MCP tool's name.
pub const TOOL_NAME: &str = "list_captures";

/// What the tool says it does.
pub const DESCRIPTION: &str = "List the capture files (.pcap, .pcapng, .cap, .ntar, each also gzip-compressed as .gz) this server may read: every \
file under its allowed directories (folders up to 8 deep, at most 20,000 entries looked at), with path, size and \
modification time, sorted by path and paged. A path from here is a valid `pcap_file` for every analyze_* tool; a \
bare file name works too when only one allowed directory holds it.";

/// Captures per page when the caller sets no `limit`: the analyzers' one
/// default page size.
const DEFAULT_LIMIT: u64 = 20;
/// JSON bytes of captures a page holds at most (the first always fits):
/// with `limit` 1000 and long paths the result still stays under the
/// analyzers' 40 KB.
const PAGE_BYTES: usize = 32 * 1024;
/// The largest page.
const MAX_LIMIT: u64 = 1000;

/// The JSON Schema of the arguments.
pub fn input_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": {
            "name_contains": {"type": "string", "maxLength": 256,
                "description": "Only captures whose path contains this text (case-insensitive)."},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                "description": "Captures listed at most."},
            "offset": {"type": "integer", "minimum": 0, "default": 0,
                "description": "Captures skipped first (pagination.next_offset of the previous page)."}
        },
        "additionalProperties": false
    });
    let Value::Object(map) = schema else { unreachable!("an object literal") };
    map
}

/// The JSON Schema of the result.
pub fn output_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "required": ["allowed_dirs", "captures", "pagination", "entries_scanned", "incomplete"],
        "properties": {
            "allowed_dirs": {"type": "array", "items": {"type": "string"},
                "description": "The directories captures may be read from."},
            "captures": {"type": "array", "items": {
                "type": "object",
                "required": ["path", "size_bytes", "modified"],
                "properties": {
                    "path": {"type": "string", "description": "Full path, usable as pcap_file."},
                    "size_bytes": {"type": "integer"},
                    "modified": {"type": ["string", "null"], "description": "Last modification (UTC, ISO 8601)."}
                }
            }},
            "pagination": {"type": "object", "required": ["total", "returned", "offset", "limit"], "properties": {
                "total": {"type": "integer"}, "returned": {"type": "integer"},
                "offset": {"type": "integer"}, "limit": {"type": "integer"},
                "next_offset": {"type": "integer", "description": "Offset of the next page, when there is one."}
            }},
            "entries_scanned": {"type": "integer", "description": "Directory entries looked at."},
            "incomplete": {"type": "boolean",
                "description": "The walk stopped at its bound (entries or depth): more captures may exist."},
            "message": {"type": "string"}
        }
    });
    let Value::Object(map) = schema else { unreachable!("an object literal") };
    map
}

/// Runs the tool.
pub async fn run(inputs: &CaptureInputs, mut arguments: Map<String, Value>) -> Result<Value, ToolError> {
    let bad = |message: String| ToolError::new(ErrorKind::BadParams, message);
    let name_contains = match arguments.remove("name_contains") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) if text.len() <= 256 => text,
        Some(other) => return Err(bad(format!("`name_contains` must be a string of at most 256 bytes, got {other}"))),
    };
    let number = |value: Option<Value>, name: &str, default: u64, range: std::ops::RangeInclusive<u64>| match value {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| range.contains(&v)) => Ok(n.as_u64().unwrap_or(default)),
        Some(other) => {
            Err(bad(format!("`{name}` must be a whole number from {} to {}, got {other}", range.start(), range.end())))
        }
    };
    let limit = number(arguments.remove("limit"), "limit", DEFAULT_LIMIT, 1..=MAX_LIMIT)?;
    let offset = number(arguments.remove("offset"), "offset", 0, 0..=u64::MAX)?;
    if let Some(unknown) = arguments.keys().next() {
        return Err(bad(format!("unknown argument `{unknown}`: {TOOL_NAME} takes name_contains, limit and offset")));
    }
    let allowed = inputs.allowed_dirs();
    let listing = inputs.list(&name_contains).await;
    let total = listing.captures.len() as u64;
    let mut page: Vec<Value> = Vec::new();
    let mut page_bytes = 0;
    let mut ended_by_size = false;
    for capture in listing.captures.iter().skip(usize::try_from(offset).unwrap_or(usize::MAX)).take(limit as usize) {
        let entry = json!({
            "path": capture.path.display().to_string(),
            "size_bytes": capture.size,
            "modified": capture.modified.map(iso8601),
        });
        page_bytes += entry.to_string().len() + 1;
        if !page.is_empty() && page_bytes > PAGE_BYTES {
            ended_by_size = true;
            break;
        }
        page.push(entry);
    }
    let returned = page.len() as u64;
    let mut pagination = json!({"total": total, "returned": returned, "offset": offset, "limit": limit});
    if offset + returned < total {
        pagination["next_offset"] = json!(offset + returned);
    }
    if ended_by_size {
        pagination["ended_by_size"] = json!(true);
    }
    let mut result = json!({
        "allowed_dirs": allowed,
        "captures": page,
        "pagination": pagination,
        "entries_scanned": listing.scanned,
        "incomplete": listing.incomplete,
    });
    if allowed.is_empty() {
        result["message"] = json!(
            "This server reads no local files: it was started without an allowed directory (--allow-dir DIR, or \
             allow_dirs in its config file). http(s) URLs can still be analyzed."
        );
    } else if listing.incomplete {
        result["message"] = json!(format!(
            "The walk stopped at {MAX_SCANNED} entries or 8 folders deep: narrow it with name_contains, or give \
             a capture's full path"
        ));
    } else if total == 0 {
        result["message"] = json!(
            "No capture files (.pcap, .pcapng, .cap, .ntar, or those .gz) were found in the allowed directories."
        );
    }
    Ok(result)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn iso8601(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
        .map_or_else(String::new, |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
