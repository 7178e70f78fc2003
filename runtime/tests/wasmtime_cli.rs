//! Every analyzer component also runs under the stock `wasmtime` CLI as a
//! WASI command and prints exactly what the MCP tool returns (but for the
//! time the analysis ran). Skips cleanly when `wasmtime` is not installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cache_dir, fixtures, have, pcapsule};
use serde_json::Value;

/// The embedded analyzers' components (test-only ones excluded).
fn components() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(env!("PCAPSULE_TEST_COMPONENTS"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("test-"))
        .collect();
    out.sort();
    out
}

/// Drops the one field that legitimately differs between two runs.
fn without_run_time(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("analysis_timestamp");
    }
    value
}

fn wasmtime(args: &[&str], component: &Path) -> std::process::Output {
    Command::new("wasmtime")
        .args(["run", "--dir=."])
        .arg(component)
        .args(args)
        .current_dir(fixtures().parent().unwrap())
        .output()
        .unwrap()
}

#[test]
fn every_analyzer_under_the_wasmtime_cli_prints_its_tool_result() {
    if !have("wasmtime") {
        return;
    }
    let components = components();
    assert!(components.len() >= 6, "expected the embedded analyzers, found {components:?}");
    for component in &components {
        let described = wasmtime(&["--describe"], component);
        assert!(described.status.success(), "{}: --describe failed", component.display());
        let description: Value = serde_json::from_slice(&described.stdout).unwrap();
        for tool in description["tools"].as_array().unwrap() {
            let tool = tool["name"].as_str().unwrap();
            let required = tool_required_params(tool);
            for name in ["dns-udp-ethernet.pcap", "multi-section.pcapng", "cut-mid-record.pcap"] {
                let relative = format!("captures/{name}");
                let cli = wasmtime(&[&relative, tool, required], component);
                assert!(cli.status.success(), "{tool} on {name}: {}", String::from_utf8_lossy(&cli.stderr));
                let ours = Command::new(pcapsule())
                    .args(["analyze", tool, &relative, required, "--cache-dir"])
                    .arg(cache_dir())
                    .current_dir(fixtures().parent().unwrap())
                    .output()
                    .unwrap();
                assert!(ours.status.success(), "{tool} on {name}: {}", String::from_utf8_lossy(&ours.stderr));
                let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
                let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
                assert_eq!(
                    without_run_time(cli),
                    without_run_time(ours),
                    "{tool} on {name}: wasmtime CLI and pcapsule disagree"
                );
            }
        }
    }
}

/// Parameters a tool cannot run without.
fn tool_required_params(tool: &str) -> &'static str {
    match tool {
        "analyze_traffic_flow" => r#"{"server_ip": "192.168.1.1"}"#,
        "follow_stream" => r#"{"a": "192.168.1.1:53", "b": "192.168.1.2:40000", "protocol": "udp"}"#,
        _ => "{}",
    }
}

#[test]
fn stdin_and_missing_files_under_the_wasmtime_cli() {
    if !have("wasmtime") {
        return;
    }
    let component = Path::new(env!("PCAPSULE_TEST_COMPONENTS")).join("capinfos.wasm");
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!("wasmtime run {} - < captures/dns-udp-ethernet.pcap", component.display()))
        .current_dir(fixtures().parent().unwrap())
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    let value: Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(value["packet_count"], 4);
    let unknown = wasmtime(&["captures/dns-udp-ethernet.pcap", "no_such_tool"], &component);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown tool"));
    let missing = Command::new("wasmtime").arg("run").arg(&component).arg("nowhere.pcap").output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--dir"));
}
