//! A component that misbehaves on request, so tests can show each sandbox
//! limit tripping and the server carrying on. Never embedded in pcapsule
//! (folders named `test-*` are built for tests only).

use std::io::Read;

use pcapsule_guest::{Analyzer, Description, RunContext, RunError, ToolSpec};
use serde_json::{Value, json};

pcapsule_guest::analyzer_component!(Misbehave);

struct Misbehave;

fn tool(name: &'static str, description: &'static str) -> ToolSpec {
    ToolSpec {
        name,
        title: name,
        description,
        params_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        result_schema: json!({"type": "object"}),
    }
}

impl Analyzer for Misbehave {
    fn describe() -> Description {
        Description {
            name: "test-misbehave",
            version: env!("CARGO_PKG_VERSION"),
            summary: "Trips sandbox limits on purpose (tests only).",
            tools: vec![
                tool("misbehave_spin", "Loops forever, burning fuel."),
                tool("misbehave_sleep", "Sleeps for an hour, burning no fuel (trips the wall clock)."),
                tool("misbehave_hog", "Allocates memory without bound."),
                tool("misbehave_big_result", "Returns about 2 MiB of JSON."),
                tool("misbehave_panic", "Panics."),
                tool("misbehave_read_all", "Reads the whole capture and returns its length."),
                tool("misbehave_read_slowly", "Reads the capture 64 KiB at a time, pausing 50 ms between reads."),
            ],
            prompts: vec![],
        }
    }

    fn run(tool: &str, _params: Value, capture: &mut dyn Read, _ctx: &RunContext) -> Result<Value, RunError> {
        match tool {
            "misbehave_spin" => {
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "misbehave_sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(json!({"slept": true}))
            }
            "misbehave_hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "misbehave_big_result" => Ok(json!({"filler": "x".repeat(2 << 20)})),
            "misbehave_panic" => panic!("misbehave_panic was asked to panic"),
            "misbehave_read_all" => read_all(capture, None),
            "misbehave_read_slowly" => read_all(capture, Some(std::time::Duration::from_millis(50))),
            other => Err(RunError::BadParams(format!("unknown tool {other}"))),
        }
    }
}

fn read_all(capture: &mut dyn Read, pause: Option<std::time::Duration>) -> Result<Value, RunError> {
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match capture.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => return Err(RunError::Internal(e.to_string())),
        }
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
    }
    Ok(json!({"bytes": total}))
}
