//! Every analyzer component also runs under the stock `wasmtime` CLI as a
//! WASI command and prints exactly what the MCP tool returns. Skips cleanly
//! when `wasmtime` is not installed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{cache_dir, fixtures, have, pcapsule};
use serde_json::Value;

#[test]
fn capinfos_under_the_wasmtime_cli_prints_the_tool_result() {
    if !have("wasmtime") {
        return;
    }
    let component = Path::new(env!("PCAPSULE_TEST_COMPONENTS")).join("capinfos.wasm");
    for name in ["dns-udp-ethernet.pcap", "multi-section.pcapng", "cut-mid-record.pcap", "modified.pcap"] {
        let relative = format!("captures/{name}");
        let cli = Command::new("wasmtime")
            .args(["run", "--dir=."])
            .arg(&component)
            .arg(&relative)
            .current_dir(fixtures().parent().unwrap())
            .output()
            .unwrap();
        assert!(cli.status.success(), "{name}: {}", String::from_utf8_lossy(&cli.stderr));
        let ours = Command::new(pcapsule())
            .args(["analyze", "capinfos", &relative, "--cache-dir"])
            .arg(cache_dir())
            .current_dir(fixtures().parent().unwrap())
            .output()
            .unwrap();
        assert!(ours.status.success(), "{name}: {}", String::from_utf8_lossy(&ours.stderr));
        let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
        let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
        assert_eq!(cli, ours, "{name}: wasmtime CLI and pcapsule disagree");
    }
    // Stdin works as the capture too, and a missing file is a clear error.
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!("wasmtime run {} - tool-ignored < captures/dns-udp-ethernet.pcap", component.display()))
        .current_dir(fixtures().parent().unwrap())
        .output()
        .unwrap();
    assert!(!piped.status.success(), "an unknown tool name is refused");
    assert!(String::from_utf8_lossy(&piped.stderr).contains("unknown tool"));
    let missing = Command::new("wasmtime").arg("run").arg(&component).arg("nowhere.pcap").output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--dir"));
}
