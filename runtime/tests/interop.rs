//! Third-party MCP clients against pcapsule, over stdio and streamable HTTP:
//! the official Python SDK (`pip install mcp`) and the MCP Inspector's
//! command-line mode (`@modelcontextprotocol/inspector` from npm; found
//! through `PCAPSULE_INSPECTOR` or `mcp-inspector` on PATH). `.ci/run`
//! installs both; each test skips cleanly when its client is missing.

mod common;

use std::process::Command;

use common::{cache_dir, pcapsule, repo, start_http};
use serde_json::Value;

const TOKEN: &str = "interop-token-0123456789abcdef";

fn python_sdk_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: the Python MCP SDK is not installed (pip install mcp)");
    }
    ok
}

fn script() -> std::path::PathBuf {
    repo().join("runtime/tests/interop/python_sdk_client.py")
}

fn check(output: std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python client failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("python mcp client: ok"), "{stdout}");
}

#[test]
fn python_sdk_over_stdio() {
    if !python_sdk_available() {
        return;
    }
    check(Command::new("python3").arg(script()).arg("stdio").arg(pcapsule()).arg(repo()).output().unwrap());
}

#[tokio::test]
async fn python_sdk_over_http() {
    if !python_sdk_available() {
        return;
    }
    let (_server, url) = start_http(&[], Some(TOKEN)).await;
    let output =
        tokio::process::Command::new("python3").arg(script()).args(["http", &url, TOKEN]).output().await.unwrap();
    check(output);
}

/// The MCP Inspector's executable, when installed.
fn inspector() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PCAPSULE_INSPECTOR").map(std::path::PathBuf::from).or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join("mcp-inspector")).find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("skipping: the MCP Inspector is not installed (npm install @modelcontextprotocol/inspector)");
    }
    found
}

/// Runs the Inspector's CLI against `target` (a server command line or an
/// HTTP URL with its options) with `method_args`; returns its exit status
/// and its JSON answer.
async fn inspect(inspector: &std::path::Path, target: &[String], method_args: &[&str]) -> (bool, Value) {
    let output = tokio::process::Command::new(inspector)
        .arg("--cli")
        .args(target)
        .args(method_args)
        .current_dir(repo())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.find('{').and_then(|at| serde_json::from_str(&stdout[at..]).ok()).unwrap_or_else(|| {
        panic!("inspector {method_args:?} printed no JSON:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.success(), json)
}

/// initialize, list tools, prompts and resources, call a tool and read its
/// structured content, and get an isError result for a bad path.
async fn inspector_session(inspector: &std::path::Path, target: Vec<String>) {
    let (ok, tools) = inspect(inspector, &target, &["--method", "tools/list"]).await;
    assert!(ok, "{tools}");
    let names: Vec<&str> = tools["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"analyze_capinfos") && names.contains(&"analyze_many"), "{names:?}");
    let (ok, prompts) = inspect(inspector, &target, &["--method", "prompts/list"]).await;
    assert!(ok && !prompts["prompts"].as_array().unwrap().is_empty(), "{prompts}");
    let (ok, guide) = inspect(inspector, &target, &["--method", "resources/read", "--uri", "pcapsule://guide"]).await;
    assert!(ok && guide["contents"][0]["text"].as_str().unwrap().contains("analyze_dns_packets"), "{guide}");
    let capture = "pcap_file=fixtures/captures/dns-udp-ethernet.pcap";
    let call = ["--method", "tools/call", "--tool-name", "analyze_capinfos", "--tool-arg", capture];
    let (ok, result) = inspect(inspector, &target, &call).await;
    assert!(ok, "{result}");
    assert_eq!(result["structuredContent"]["packet_count"], 4, "{result}");
    let bad =
        ["--method", "tools/call", "--tool-name", "analyze_capinfos", "--tool-arg", "pcap_file=fixtures/none.pcap"];
    let (_, result) = inspect(inspector, &target, &bad).await;
    assert_eq!(result["isError"], true, "{result}");
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["error"]["kind"], "not_found", "{result}");
}

#[tokio::test]
async fn mcp_inspector_over_stdio() {
    let Some(inspector) = inspector() else { return };
    let target = vec![
        pcapsule().display().to_string(),
        "serve".into(),
        "--allow-dir".into(),
        "fixtures".into(),
        "--cache-dir".into(),
        cache_dir().display().to_string(),
    ];
    inspector_session(&inspector, target).await;
}

#[tokio::test]
async fn mcp_inspector_over_http() {
    let Some(inspector) = inspector() else { return };
    let (_server, url) = start_http(&[], Some(TOKEN)).await;
    let target =
        vec![url, "--transport".into(), "http".into(), "--header".into(), format!("Authorization: Bearer {TOKEN}")];
    inspector_session(&inspector, target).await;
}
