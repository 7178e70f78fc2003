//! A component's `describe` answer as JSON, for the component cache. The WIT
//! records have no serde support of their own; this mirrors them field by
//! field, and anything that does not parse back is treated as not cached.

use serde_json::{Value, json};

use super::AnalyzerInfo;
use super::bindings::exports::pcapsule::analyzer::analyzer::{Prompt, Tool};

/// Renders `info` as JSON text.
pub fn render(info: &AnalyzerInfo) -> String {
    let tools: Vec<Value> = info
        .tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "title": t.title, "description": t.description,
                "params_schema": t.params_schema, "result_schema": t.result_schema,
            })
        })
        .collect();
    let prompts: Vec<Value> = info
        .prompts
        .iter()
        .map(|p| json!({"name": p.name, "title": p.title, "description": p.description, "text": p.text}))
        .collect();
    json!({
        "name": info.name, "version": info.version, "description": info.description,
        "interface_version": info.interface_version, "tools": tools, "prompts": prompts,
    })
    .to_string()
}

/// Parses what [`render`] wrote; `None` for anything else.
pub fn parse(text: &str) -> Option<AnalyzerInfo> {
    let value: Value = serde_json::from_str(text).ok()?;
    let field = |v: &Value, name: &str| v.get(name)?.as_str().map(str::to_string);
    let list = |name: &str| value.get(name)?.as_array();
    let tools = list("tools")?
        .iter()
        .map(|t| {
            Some(Tool {
                name: field(t, "name")?,
                title: field(t, "title")?,
                description: field(t, "description")?,
                params_schema: field(t, "params_schema")?,
                result_schema: field(t, "result_schema")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let prompts = list("prompts")?
        .iter()
        .map(|p| {
            Some(Prompt {
                name: field(p, "name")?,
                title: field(p, "title")?,
                description: field(p, "description")?,
                text: field(p, "text")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(AnalyzerInfo {
        name: field(&value, "name")?,
        version: field(&value, "version")?,
        description: field(&value, "description")?,
        interface_version: field(&value, "interface_version")?,
        tools,
        prompts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_anything_else() {
        let info = AnalyzerInfo {
            name: "x".into(),
            version: "1.0.0".into(),
            description: "d \"quoted\"\n".into(),
            interface_version: "0.1.0".into(),
            tools: vec![Tool {
                name: "analyze_x".into(),
                title: "X".into(),
                description: "does x".into(),
                params_schema: r#"{"type":"object"}"#.into(),
                result_schema: "{}".into(),
            }],
            prompts: vec![Prompt {
                name: "p".into(),
                title: "P".into(),
                description: "for p".into(),
                text: "do p".into(),
            }],
        };
        let back = parse(&render(&info)).expect("parses back");
        assert_eq!(render(&back), render(&info));
        assert_eq!(back.tools[0].params_schema, info.tools[0].params_schema);
        assert_eq!(back.prompts[0].text, "do p");
        assert!(parse("").is_none());
        assert!(parse(r#"{"name":"x"}"#).is_none(), "a partial entry is not trusted");
        assert!(parse(&render(&info).replace("\"text\"", "\"txt\"")).is_none());
    }
}
