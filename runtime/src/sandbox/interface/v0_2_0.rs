//! The adapter for components built against `wit/v0.2.0`: capture facts came
//! with every request, `run-many` was always exported and `describe` said
//! whether it may be called (`one-pass`).

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{Instance, InstancePre};

use super::{AnalyzerInfo, Call, CaptureFacts, Malformed, Prompt, RunError, Tool};

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "analyzer-component",
    exports: { default: async },
});

use exports::pcapsule::analyzer::analyzer;

/// Where a component's exports are, looked up once.
pub struct Exports {
    analyzer: analyzer::GuestIndices,
}

impl Exports {
    /// Fails when the component does not export this version's `analyzer`.
    pub fn find<T>(pre: &InstancePre<T>) -> Result<Self> {
        Ok(Exports { analyzer: analyzer::GuestIndices::new(pre).map_err(anyhow::Error::from)? })
    }

    pub async fn describe<T: Send>(
        &self,
        mut store: StoreContextMut<'_, T>,
        instance: &Instance,
    ) -> wasmtime::Result<AnalyzerInfo> {
        // `interface-version` is not checked: the exported interface's name
        // already says which version the component speaks.
        let info = self.analyzer.load(&mut store, instance)?.call_describe(&mut store).await?;
        Ok(AnalyzerInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            tools: info
                .tools
                .into_iter()
                .map(|t| Tool {
                    name: t.name,
                    title: t.title,
                    description: t.description,
                    params_schema: t.params_schema,
                    result_schema: t.result_schema,
                })
                .collect(),
            prompts: info
                .prompts
                .into_iter()
                .map(|p| Prompt { name: p.name, title: p.title, description: p.description, text: p.text })
                .collect(),
            one_pass: info.one_pass,
        })
    }

    /// One request per call, each repeating the capture facts, as 0.2.0 had it.
    pub async fn run<T: Send>(
        &self,
        mut store: StoreContextMut<'_, T>,
        instance: &Instance,
        capture: &CaptureFacts,
        calls: &[Call],
    ) -> wasmtime::Result<Vec<Result<String, RunError>>> {
        let requests: Vec<analyzer::RunRequest> = calls
            .iter()
            .map(|c| analyzer::RunRequest {
                tool: c.tool.clone(),
                params_json: c.params_json.clone(),
                capture_name: capture.name.clone(),
                capture_size: capture.size,
                max_packets: capture.max_packets,
            })
            .collect();
        let exports = self.analyzer.load(&mut store, instance)?;
        let outcomes = match &requests[..] {
            [request] => vec![exports.call_run(&mut store, request).await?],
            several => exports.call_run_many(&mut store, several).await?,
        };
        Ok(outcomes.into_iter().map(|outcome| outcome.map_err(run_error)).collect())
    }
}

fn run_error(error: analyzer::RunError) -> RunError {
    match error {
        analyzer::RunError::BadParams(m) => RunError::BadParams(m),
        analyzer::RunError::UnsupportedFormat(m) => RunError::UnsupportedFormat(m),
        analyzer::RunError::MalformedCapture(m) => {
            RunError::MalformedCapture(Malformed { offset: m.offset, message: m.message })
        }
        analyzer::RunError::Internal(m) => RunError::Internal(m),
    }
}
