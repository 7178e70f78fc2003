//! The analyzers this server offers and the MCP tools and prompts they
//! provide, built only from each component's `describe` answer: adding an
//! analyzer needs no change here.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::sandbox::{LoadedAnalyzer, Sandbox};

include!(concat!(env!("OUT_DIR"), "/embedded_analyzers.rs"));

/// The parameter every tool takes, owned by the host (never seen by a guest).
pub const CAPTURE_PARAM: &str = "pcap_file";

/// A tool as clients see it.
pub struct ToolEntry {
    /// Index of its analyzer in [`Registry::analyzers`].
    pub analyzer: usize,
    /// Tool name.
    pub name: String,
    /// Short title.
    pub title: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the arguments, `pcap_file` included.
    pub input_schema: Map<String, Value>,
    /// JSON Schema of the result.
    pub output_schema: Map<String, Value>,
    /// `input_schema`, compiled.
    validator: jsonschema::Validator,
}

/// Problems reported per rejected call: enough to fix them, few enough to read.
const MAX_REPORTED_PROBLEMS: usize = 5;

impl ToolEntry {
    /// Checks a call's arguments (`pcap_file` included) against the tool's
    /// input schema; on failure says which fields are wrong and why.
    pub fn check_arguments(&self, arguments: &Value) -> Result<(), String> {
        let problems: Vec<String> = self
            .validator
            .iter_errors(arguments)
            .take(MAX_REPORTED_PROBLEMS)
            .map(|error| {
                let at = error.instance_path().to_string();
                let field = if at.is_empty() { "the arguments".to_string() } else { format!("`{}`", &at[1..]) };
                format!("{field}: {error}")
            })
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(format!(
            "invalid arguments for {}: {}. The tool's inputSchema (tools/list) gives every parameter",
            self.name,
            problems.join("; ")
        ))
    }
}

/// A prompt as clients see it.
pub struct PromptEntry {
    /// The analyzer providing it.
    pub analyzer: String,
    /// Prompt name.
    pub name: String,
    /// Short title.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// Its text.
    pub text: String,
    /// What a client may fill in: `pcap_file`, then the parameters of the
    /// analyzer's tools that the text names (see [`prompt_arguments`]).
    pub arguments: Vec<PromptArgumentSpec>,
}

/// An argument of a prompt.
pub struct PromptArgumentSpec {
    /// The argument's name (a tool parameter's).
    pub name: String,
    /// What to give.
    pub description: String,
}

/// Longest argument value a prompt takes, in bytes: values are quoted into
/// the prompt's text, which goes into an assistant's context.
const MAX_PROMPT_ARGUMENT_BYTES: usize = 4096;

/// Parameters no prompt offers: every tool takes them, and a prompt is not
/// where a page or a packet cap is chosen.
const NOT_PROMPT_ARGUMENTS: [&str; 5] = [CAPTURE_PARAM, "max_packets", "limit", "offset", "detailed"];

impl PromptEntry {
    /// The prompt's text with the arguments given: a first paragraph names
    /// the capture and the parameters to pass, so the assistant calls the
    /// tools on them. An argument the prompt does not take, or a value over
    /// 4 KiB, is an error that lists what it takes.
    pub fn render(&self, given: Option<&Map<String, Value>>) -> std::result::Result<String, String> {
        let Some(given) = given.filter(|g| !g.is_empty()) else { return Ok(self.text.clone()) };
        let accepted: Vec<&str> = self.arguments.iter().map(|a| a.name.as_str()).collect();
        let mut capture = None;
        let mut parameters = Vec::new();
        for (name, value) in given {
            if !accepted.contains(&name.as_str()) {
                return Err(format!(
                    "prompt `{}` takes no argument `{name}`; it takes: {}",
                    self.name,
                    accepted.join(", ")
                ));
            }
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if value.len() > MAX_PROMPT_ARGUMENT_BYTES {
                return Err(format!("argument `{name}` is over {MAX_PROMPT_ARGUMENT_BYTES} bytes"));
            }
            if name == CAPTURE_PARAM {
                capture = Some(value);
            } else {
                parameters.push(format!("{name} = `{value}`"));
            }
        }
        let mut preface = String::new();
        if let Some(capture) = capture {
            preface.push_str(&format!(
                "The capture to analyze: `{capture}` (pass it as `{CAPTURE_PARAM}` to every tool).\n"
            ));
        }
        if !parameters.is_empty() {
            preface.push_str(&format!("Pass these to the tools that take them: {}.\n", parameters.join(", ")));
        }
        Ok(format!("{preface}\n{}", self.text))
    }
}

/// The arguments of a prompt of an analyzer: `pcap_file`, and each
/// parameter of the analyzer's tools that the prompt's text names as a word
/// (`server_ip` in a TCP troubleshooting prompt), with the parameter's own
/// description, but for those every tool takes ([`NOT_PROMPT_ARGUMENTS`]).
/// Derived, so that an analyzer declares nothing more and the arguments
/// follow its text.
fn prompt_arguments<'a>(text: &str, tools: impl Iterator<Item = &'a ToolEntry>) -> Vec<PromptArgumentSpec> {
    let mut arguments = vec![PromptArgumentSpec {
        name: CAPTURE_PARAM.to_string(),
        description: "The capture to analyze: a path under the allowed directories, a bare file name found there, \
                      or an http(s) URL."
            .to_string(),
    }];
    for tool in tools {
        let Some(properties) = tool.input_schema.get("properties").and_then(Value::as_object) else { continue };
        for (name, schema) in properties {
            if NOT_PROMPT_ARGUMENTS.contains(&name.as_str())
                || arguments.iter().any(|a| &a.name == name)
                || !names_word(text, name)
            {
                continue;
            }
            let description = schema.get("description").and_then(Value::as_str).unwrap_or_default();
            arguments.push(PromptArgumentSpec {
                name: name.clone(),
                description: format!("{description} (for {})", tool.name),
            });
        }
    }
    arguments
}

/// Whether `text` holds `word` with no letter, digit or `_` on either side.
fn names_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Loaded analyzers and the index of their tools and prompts.
pub struct Registry {
    /// The analyzers, embedded ones first.
    pub analyzers: Vec<Arc<LoadedAnalyzer>>,
    /// Names of every analyzer found, also those `--modules` left out.
    pub found: Vec<String>,
    tools: BTreeMap<String, ToolEntry>,
    prompts: BTreeMap<String, PromptEntry>,
}

impl Registry {
    /// Loads the embedded analyzers and every `*.wasm` in `extra_dir`, keeping
    /// only `modules` when given (analyzer names, as mcpcap's `--modules`).
    pub async fn load(sandbox: &Sandbox, extra_dir: Option<&Path>, modules: Option<&[String]>) -> Result<Self> {
        let mut loaded = Vec::new();
        for (name, wasm, digest) in EMBEDDED_ANALYZERS {
            loaded.push(sandbox.load(wasm, Some(digest), &format!("embedded:{name}")).await?);
        }
        if let Some(dir) = extra_dir {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .with_context(|| format!("reading --analyzers-dir {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            paths.sort();
            for path in paths {
                let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                loaded.push(sandbox.load(&wasm, None, &path.display().to_string()).await?);
            }
        }
        let found: Vec<String> = loaded.iter().map(|a| a.info.name.clone()).collect();
        if let Some(modules) = modules {
            for wanted in modules {
                if !found.contains(wanted) {
                    bail!("--modules names `{wanted}`, but the analyzers here are: {}", found.join(", "));
                }
            }
            loaded.retain(|a| modules.contains(&a.info.name));
        }
        let mut registry = Self::index(loaded)?;
        registry.found = found;
        Ok(registry)
    }

    fn index(loaded: Vec<LoadedAnalyzer>) -> Result<Self> {
        let mut names = BTreeMap::new();
        let mut tools = BTreeMap::new();
        let mut prompts = BTreeMap::new();
        for (index, analyzer) in loaded.iter().enumerate() {
            if let Some(previous) = names.insert(analyzer.info.name.clone(), &analyzer.origin) {
                bail!("two analyzers are named `{}`: {previous} and {}", analyzer.info.name, analyzer.origin);
            }
            for tool in &analyzer.info.tools {
                let params: Value = serde_json::from_str(&tool.params_schema)
                    .with_context(|| format!("{}: tool {} has an invalid params schema", analyzer.origin, tool.name))?;
                let result: Value = serde_json::from_str(&tool.result_schema)
                    .with_context(|| format!("{}: tool {} has an invalid result schema", analyzer.origin, tool.name))?;
                let input_schema =
                    with_capture_param(params).with_context(|| format!("{}: tool {}", analyzer.origin, tool.name))?;
                let validator = jsonschema::validator_for(&Value::Object(input_schema.clone())).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: tool {} has a params schema that does not compile: {e}",
                        analyzer.origin,
                        tool.name
                    )
                })?;
                let entry = ToolEntry {
                    analyzer: index,
                    name: tool.name.clone(),
                    title: tool.title.clone(),
                    description: tool.description.clone(),
                    input_schema,
                    output_schema: object_schema(result),
                    validator,
                };
                if tools.insert(tool.name.clone(), entry).is_some() {
                    bail!("tool {} is provided twice (the second by {})", tool.name, analyzer.origin);
                }
            }
            for prompt in &analyzer.info.prompts {
                let entry = PromptEntry {
                    analyzer: analyzer.info.name.clone(),
                    name: prompt.name.clone(),
                    title: prompt.title.clone(),
                    description: prompt.description.clone(),
                    text: prompt.text.clone(),
                    arguments: prompt_arguments(&prompt.text, tools.values().filter(|t| t.analyzer == index)),
                };
                if prompts.insert(prompt.name.clone(), entry).is_some() {
                    bail!("prompt {} is provided twice (the second by {})", prompt.name, analyzer.origin);
                }
            }
        }
        let found = loaded.iter().map(|a| a.info.name.clone()).collect();
        Ok(Registry { analyzers: loaded.into_iter().map(Arc::new).collect(), found, tools, prompts })
    }

    /// All tools, by name.
    pub fn tools(&self) -> impl Iterator<Item = &ToolEntry> {
        self.tools.values()
    }

    /// One tool.
    pub fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    /// All prompts, by name.
    pub fn prompts(&self) -> impl Iterator<Item = &PromptEntry> {
        self.prompts.values()
    }

    /// One prompt.
    pub fn prompt(&self, name: &str) -> Option<&PromptEntry> {
        self.prompts.get(name)
    }
}

/// Adds the required `pcap_file` property to a tool's parameter schema.
fn with_capture_param(params: Value) -> Result<Map<String, Value>> {
    let mut schema = object_schema(params);
    let properties = schema.entry("properties").or_insert_with(|| json!({}));
    let Some(properties) = properties.as_object_mut() else {
        bail!("its params schema's `properties` is not an object");
    };
    if properties.contains_key(CAPTURE_PARAM) {
        bail!("its params schema declares `{CAPTURE_PARAM}`, which the host owns");
    }
    properties.insert(
        CAPTURE_PARAM.into(),
        json!({
            "type": "string",
            "description": "The capture to analyze (pcap or pcapng): a path inside the server's allowed \
                            directories, or an http(s) URL to download."
        }),
    );
    let required = schema.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        required.insert(0, json!(CAPTURE_PARAM));
    }
    Ok(schema)
}

fn object_schema(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::from_iter([("type".to_string(), json!("object"))]),
    }
}
