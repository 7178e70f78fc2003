//! Shared helpers for pcapsule's integration tests: where things are, and a
//! real MCP client (rmcp's) connected to a real `pcapsule` process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};

/// The `pcapsule` binary under test.
pub fn pcapsule() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pcapsule"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The generated fixture captures.
pub fn fixtures() -> PathBuf {
    repo().join("fixtures").join("captures")
}

/// `../shared/captures`, when present (tests using it skip cleanly otherwise).
pub fn shared_captures() -> Option<PathBuf> {
    let dir = repo().parent()?.join("shared").join("captures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// Every capture file under `dir`, recursively, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a program is on PATH (oracle tests skip cleanly without it).
pub fn have(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipping: {program} is not installed");
    }
    found
}

/// A folder holding only the test-only misbehaving component.
pub fn misbehave_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wasm = Path::new(env!("PCAPSULE_TEST_COMPONENTS")).join("test-misbehave.wasm");
    std::fs::copy(&wasm, dir.path().join("test-misbehave.wasm")).unwrap();
    dir
}

/// A compiled-component cache shared by the tests of one build.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pcapsule-cache")
}

/// `pcapsule serve` over stdio with `args`, connected to an rmcp client.
pub async fn stdio_client(args: &[&str]) -> RunningService<RoleClient, ()> {
    let cache = cache_dir();
    let transport = TokioChildProcess::new(tokio::process::Command::new(pcapsule()).configure(|c| {
        c.arg("serve").arg("--cache-dir").arg(&cache).args(args).current_dir(repo());
    }))
    .expect("spawning pcapsule");
    ().serve(transport).await.expect("MCP initialize over stdio")
}

/// Calls a tool with JSON arguments.
pub async fn call(client: &RunningService<RoleClient, ()>, tool: &str, arguments: Value) -> CallToolResult {
    let arguments: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("calling {tool}: {e}"))
}

/// The structured content of a successful call (panics with the error otherwise).
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {:?}", result.structured_content);
    result.structured_content.as_ref().expect("structured content")
}

/// The `error` object of a failed call (panics if the call succeeded).
pub fn err(result: &CallToolResult) -> &Value {
    assert_eq!(result.is_error, Some(true), "expected a tool error, got {:?}", result.structured_content);
    let body = result.structured_content.as_ref().expect("structured error body");
    let text = result.content[0].as_text().expect("text content");
    let from_text: Value = serde_json::from_str(&text.text).expect("error text is JSON");
    assert_eq!(&from_text, body, "text and structured content carry the same JSON");
    &body["error"]
}

/// Starts `pcapsule serve --transport http` on a free loopback port; returns
/// the child and the MCP endpoint URL it announced on stderr.
pub async fn start_http(extra: &[&str], token: Option<&str>) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(pcapsule());
    command
        .args(["serve", "--transport", "http", "--host", "127.0.0.1", "--port", "0", "--allow-dir", "fixtures"])
        .arg("--cache-dir")
        .arg(cache_dir())
        .args(extra)
        .current_dir(repo())
        .env_remove("PCAPSULE_AUTH_TOKEN")
        .env_remove("MCPCAP_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("PCAPSULE_AUTH_TOKEN", token);
    }
    let mut child = command.spawn().expect("spawning pcapsule");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("serving MCP over HTTP at ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("pcapsule exited without serving HTTP");
    })
    .await
    .expect("pcapsule announced its HTTP address");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}
