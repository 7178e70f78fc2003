//! Components built against `wit/v0.3.0`, the current interface: `analyzer`
//! always, `one-pass` when the component exports it.

use anyhow::Result;
use wasmtime::StoreContextMut;
use wasmtime::component::{Instance, InstancePre};

use super::{AnalyzerInfo, Call, CaptureFacts, Malformed, Prompt, RunError, Tool};

wasmtime::component::bindgen!({
    path: "../wit/v0.3.0",
    world: "one-pass-analyzer-component",
    exports: { default: async },
});

use exports::pcapsule::analyzer::{analyzer, one_pass};

/// Where a component's exports are, looked up once.
pub struct Exports {
    analyzer: analyzer::GuestIndices,
    /// `None` when the component does not export `one-pass`.
    one_pass: Option<one_pass::GuestIndices>,
}

impl Exports {
    /// Fails when the component does not export this version's `analyzer`.
    pub fn find<T>(pre: &InstancePre<T>) -> Result<Self> {
        Ok(Exports {
            analyzer: analyzer::GuestIndices::new(pre).map_err(anyhow::Error::from)?,
            one_pass: one_pass::GuestIndices::new(pre).ok(),
        })
    }

    pub async fn describe<T: Send>(
        &self,
        mut store: StoreContextMut<'_, T>,
        instance: &Instance,
    ) -> wasmtime::Result<AnalyzerInfo> {
        // Loading type-checks the exports, so a component whose `one-pass`
        // has the wrong shape is refused when it is loaded, not at a call.
        if let Some(one_pass) = &self.one_pass {
            one_pass.load(&mut store, instance)?;
        }
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
            one_pass: self.one_pass.is_some(),
        })
    }

    pub async fn run<T: Send>(
        &self,
        mut store: StoreContextMut<'_, T>,
        instance: &Instance,
        capture: &CaptureFacts,
        calls: &[Call],
    ) -> wasmtime::Result<Vec<Result<String, RunError>>> {
        let facts =
            analyzer::Capture { name: capture.name.clone(), size: capture.size, max_packets: capture.max_packets };
        let wit_calls: Vec<analyzer::Call> =
            calls.iter().map(|c| analyzer::Call { tool: c.tool.clone(), params_json: c.params_json.clone() }).collect();
        let outcomes = match (&wit_calls[..], &self.one_pass) {
            ([call], _) => {
                vec![self.analyzer.load(&mut store, instance)?.call_run(&mut store, &facts, call).await?]
            }
            (several, Some(one_pass)) => {
                one_pass.load(&mut store, instance)?.call_run_many(&mut store, &facts, several).await?
            }
            (several, None) => wasmtime::bail!("{} tools at once for an analyzer that is not one-pass", several.len()),
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
