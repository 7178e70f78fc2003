//! Result schemas twice: exact and bare in `tools/list`, documented as
//! resources.
//!
//! Every client fetches `tools/list`, and most only validate results
//! against the output schemas it holds: field descriptions made up 57 of its
//! 151 KB, for no check. So the listed schema keeps every type, required
//! field, enum and definition (a result is checked exactly as before) and
//! leaves the descriptions to the resource `pcapsule://schemas/<tool>`, which
//! an assistant reads when it needs to know what a field means.

use serde_json::{Map, Value};

use crate::guide::SCHEMA_URI_PREFIX;

/// `documented` without its descriptions, saying where they are.
pub fn listed(tool: &str, documented: &Map<String, Value>) -> Map<String, Value> {
    let mut bare = Value::Object(documented.clone());
    strip_descriptions(&mut bare);
    let Value::Object(mut bare) = bare else { unreachable!("an object stays an object") };
    bare.insert(
        "description".into(),
        Value::String(format!("Every field is described in the resource {SCHEMA_URI_PREFIX}{tool}.")),
    );
    bare
}

/// Removes the `description` keyword of every schema inside `schema`. A
/// field *named* `description` is a schema (an object), not a keyword (a
/// string), so it stays.
fn strip_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.get("description").is_some_and(Value::is_string) {
                object.remove("description");
            }
            object.values_mut().for_each(strip_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::listed;

    #[test]
    fn descriptions_go_and_everything_else_stays() {
        let documented = json!({
            "type": "object",
            "description": "A result.",
            "properties": {
                "description": {"type": "string", "description": "A field named like the keyword."},
                "count": {"type": "integer", "description": "How many."},
                "kind": {"anyOf": [{"$ref": "#/$defs/Kind", "description": "Which."}, {"type": "null"}]}
            },
            "required": ["description", "count"],
            "$defs": {"Kind": {"type": "string", "enum": ["a", "b"], "description": "One of two."}}
        });
        let listed = listed("analyze_x", documented.as_object().unwrap());
        assert_eq!(
            serde_json::Value::Object(listed),
            json!({
                "type": "object",
                "description": "Every field is described in the resource pcapsule://schemas/analyze_x.",
                "properties": {
                    "description": {"type": "string"},
                    "count": {"type": "integer"},
                    "kind": {"anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]}
                },
                "required": ["description", "count"],
                "$defs": {"Kind": {"type": "string", "enum": ["a", "b"]}}
            })
        );
    }
}
