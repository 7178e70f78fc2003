//! The analyzer interface as the host sees it, whatever WIT version a
//! component was built against: one module per version in `wit/`, each
//! turning its bindings into the types below, as Zed's extension host keeps
//! an adapter per API version. A component's version is the one whose
//! `analyzer` interface it exports; nothing else names it.
//!
//! - [`v0_3_0`]: the current version (`wit/v0.3.0`): capture facts once per
//!   run, `one-pass` an optional interface.
//! - [`v0_2_0`]: the adapter for components built against `wit/v0.2.0`.

mod v0_2_0;
mod v0_3_0;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{AsContextMut, Store};

/// What an analyzer says about itself, and whether its tools can share a
/// read of the capture. Kept in the component cache as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalyzerInfo {
    /// Short name, used in `--modules` and limit settings.
    pub name: String,
    /// The component's own version.
    pub version: String,
    /// One line on what it covers.
    pub description: String,
    /// Its tools, in listing order.
    pub tools: Vec<Tool>,
    /// Its prompts, in listing order.
    pub prompts: Vec<Prompt>,
    /// Whether several of its tools run over one read of a capture.
    pub one_pass: bool,
}

/// One MCP tool of an analyzer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    /// Name as clients call it.
    pub name: String,
    /// Short title.
    pub title: String,
    /// What it answers.
    pub description: String,
    /// JSON Schema of its parameters (without `pcap_file`), as text.
    pub params_schema: String,
    /// JSON Schema of its result, as text.
    pub result_schema: String,
}

/// One MCP prompt of an analyzer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prompt {
    /// Prompt name.
    pub name: String,
    /// Short title.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// The text given to the model.
    pub text: String,
}

/// What only the host knows about the capture it streams to a run.
#[derive(Debug, Clone)]
pub struct CaptureFacts {
    /// The capture's name as the caller gave it.
    pub name: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// The server-wide packet cap.
    pub max_packets: Option<u64>,
}

/// One tool to run.
#[derive(Debug, Clone)]
pub struct Call {
    /// Tool name.
    pub tool: String,
    /// Its parameters, a JSON object as text.
    pub params_json: String,
}

/// Where a capture is broken.
#[derive(Debug, Clone)]
pub struct Malformed {
    /// Byte offset from the start of the capture.
    pub offset: u64,
    /// What was wrong there.
    pub message: String,
}

/// Why an analyzer gave no result for a call.
#[derive(Debug, Clone)]
pub enum RunError {
    /// The tool name or a parameter was wrong.
    BadParams(String),
    /// Not a capture format the analyzer reads.
    UnsupportedFormat(String),
    /// Broken before any packet could be read.
    MalformedCapture(Malformed),
    /// A bug or unexpected condition in the analyzer.
    Internal(String),
}

/// The exports of one component, found once when it is loaded, for the WIT
/// version it was built against.
pub enum Exports {
    /// Built against `wit/v0.3.0`.
    V0_3_0(v0_3_0::Exports),
    /// Built against `wit/v0.2.0`, run through its adapter.
    V0_2_0(v0_2_0::Exports),
}

impl Exports {
    /// Finds the analyzer interface `pre`'s component exports, newest
    /// version first.
    pub fn find<T: Send + 'static>(pre: &InstancePre<T>) -> Result<Self> {
        let current = match v0_3_0::Exports::find(pre) {
            Ok(exports) => return Ok(Exports::V0_3_0(exports)),
            Err(e) => e,
        };
        let older = match v0_2_0::Exports::find(pre) {
            Ok(exports) => return Ok(Exports::V0_2_0(exports)),
            Err(e) => e,
        };
        anyhow::bail!("it exports no analyzer interface this pcapsule speaks: {current:#}; {older:#}")
    }

    /// The WIT version the component was built against, for logs.
    pub fn version(&self) -> &'static str {
        match self {
            Exports::V0_3_0(_) => "0.3.0",
            Exports::V0_2_0(_) => "0.2.0",
        }
    }

    /// Calls `describe` on a fresh `instance`.
    pub async fn describe<T: Send>(&self, store: &mut Store<T>, instance: &Instance) -> wasmtime::Result<AnalyzerInfo> {
        match self {
            Exports::V0_3_0(exports) => exports.describe(store.as_context_mut(), instance).await,
            Exports::V0_2_0(exports) => exports.describe(store.as_context_mut(), instance).await,
        }
    }

    /// Runs `calls` over the capture on the instance's stdin: one through
    /// `run`, several (only when the analyzer is one-pass) over one read.
    /// One outcome per call, in order.
    pub async fn run<T: Send>(
        &self,
        store: &mut Store<T>,
        instance: &Instance,
        capture: &CaptureFacts,
        calls: &[Call],
    ) -> wasmtime::Result<Vec<Result<String, RunError>>> {
        match self {
            Exports::V0_3_0(exports) => exports.run(store.as_context_mut(), instance, capture, calls).await,
            Exports::V0_2_0(exports) => exports.run(store.as_context_mut(), instance, capture, calls).await,
        }
    }
}
