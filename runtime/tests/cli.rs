//! The direct command line: `pcapsule analyze` and `pcapsule list`, exit
//! codes and errors.

mod common;

use std::process::{Command, Output};

use common::{cache_dir, pcapsule, repo};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(pcapsule()).args(args).arg("--cache-dir").arg(cache_dir()).current_dir(repo()).output().unwrap()
}

#[test]
fn analyze_prints_the_result_and_exits_zero() {
    let out = run(&["analyze", "capinfos", "fixtures/captures/raw-ipv6-nsec-big-endian.pcap"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file_type"], "nsecpcap");
    assert_eq!(v["byte_order"], "big-endian");
    assert_eq!(v["strict_time_order"], false);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "file_size_bytes", "mcpcap's fields come first, in its order");
    let by_tool = run(&[
        "analyze",
        "analyze_capinfos",
        "fixtures/captures/raw-ipv6-nsec-big-endian.pcap",
        r#"{"max_packets": 1}"#,
    ]);
    let v: Value = serde_json::from_slice(&by_tool.stdout).unwrap();
    assert_eq!(v["packet_count"], 1);
}

#[test]
fn failures_exit_non_zero_with_a_json_error() {
    let out = run(&["analyze", "capinfos", "fixtures/captures/not-a-capture.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "unsupported_format");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pcap or pcapng"));

    for (args, says) in [
        (vec!["analyze", "nosuchtool", "fixtures/captures/modified.pcap"], "no tool or analyzer"),
        (vec!["analyze", "capinfos", "fixtures/captures/modified.pcap", "[1]"], "JSON object"),
        (vec!["list", "--modules", "dns,nosuch"], "--modules names `nosuch`"),
        (vec!["list", "--limit", "capinfos.cpu=1"], "unknown limit"),
        (vec!["list", "--limit", "capinfos"], "NAME.FIELD=VALUE"),
        (vec!["list", "--limit", "capinfo.fuel=5"], "analyzer named `capinfo`"),
        (vec!["list", "--modules", "dns", "--limit", "tcp.fuel=5", "--limit", "dsn.fuel=5"], "named `dsn`"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn list_shows_analyzers_tools_prompts_and_limits() {
    let out = run(&["list", "--json", "--limit", "capinfos.memory_mb=64", "--limit", "*.fuel=12345"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let capinfos = v["analyzers"].as_array().unwrap().iter().find(|a| a["name"] == "capinfos").unwrap();
    assert_eq!(capinfos["tools"][0]["name"], "analyze_capinfos");
    assert_eq!(capinfos["limits"]["memory_bytes"], 64 << 20);
    assert_eq!(capinfos["limits"]["fuel"], 12345);
    assert_eq!(capinfos["origin"], "embedded:capinfos");
    let text = run(&["list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("tool   analyze_capinfos"));
}

#[test]
fn config_file_sets_limits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pcapsule.toml");
    std::fs::write(&config, "max_packets = 7\n[limits]\nwall_clock_secs = 9\n[limits.capinfos]\nresult_kb = 3\n")
        .unwrap();
    let out = run(&["list", "--json", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["max_packets"], 7);
    let capinfos = &v["analyzers"][0]["limits"];
    assert_eq!(capinfos["wall_clock"], 9.0);
    assert_eq!(capinfos["result_bytes"], 3 * 1024);
    std::fs::write(&config, "[limits]\nwall_clock = 9\n").unwrap();
    let bad = run(&["list", "--config", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn list_prints_the_guide_and_prompts() {
    let guide = run(&["list", "--guide"]);
    assert!(guide.status.success());
    let text = String::from_utf8_lossy(&guide.stdout);
    let tools: Value = serde_json::from_slice(&run(&["list", "--json"]).stdout).unwrap();
    for analyzer in tools["analyzers"].as_array().unwrap() {
        for tool in analyzer["tools"].as_array().unwrap() {
            assert!(text.contains(&format!("`{}`", tool["name"].as_str().unwrap())), "guide lacks {}", tool["name"]);
        }
    }
    assert!(text.contains("analyze_many"));
    let prompt = run(&["list", "--prompt", "capture_overview"]);
    assert!(prompt.status.success());
    assert!(String::from_utf8_lossy(&prompt.stdout).contains("analyze_capinfos"));
    let missing = run(&["list", "--prompt", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("capture_overview"));
}

#[test]
fn analyze_all_reads_once_and_reports_every_tool() {
    let out = run(&["analyze", "all", "fixtures/captures/dns-udp-ethernet.pcap"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["results"]["analyze_capinfos"]["packet_count"], 4);
    assert_eq!(v["results"]["analyze_dns_packets"]["dns_packets_found"], 4);
    let two = run(&["analyze", "capinfos,dns", "fixtures/captures/dns-udp-ethernet.pcap"]);
    let v: Value = serde_json::from_slice(&two.stdout).unwrap();
    assert_eq!(v["results"].as_object().unwrap().len(), 2, "{v}");
    let bad = run(&["analyze", "capinfos,nosuch", "fixtures/captures/dns-udp-ethernet.pcap"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no tool or analyzer named `nosuch`"));
}

/// Runs `pcapsule` under a pseudo-terminal (util-linux `script`), where a
/// progress bar may appear; returns what the terminal showed.
fn on_a_terminal(args: &[&str]) -> Option<String> {
    if !common::have("script") {
        return None;
    }
    let mut command = vec![pcapsule().display().to_string()];
    command.extend(args.iter().map(|a| a.to_string()));
    command.extend(["--cache-dir".to_string(), cache_dir().display().to_string()]);
    let line = command.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let out = Command::new("script").args(["-qec", &format!("{line} >/dev/null"), "/dev/null"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_progress_bar_on_a_terminal_and_silence_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("syns.pcap");
    common::write_syn_capture(&capture, 1_500_000);
    let path = capture.to_str().unwrap();
    let allow = dir.path().to_str().unwrap();
    let args = ["analyze", "analyze_tcp_anomalies", path, "--allow-dir", allow];
    let Some(shown) = on_a_terminal(&args) else { return };
    assert!(shown.contains("analyzing"), "a bar on the terminal: {shown:?}");
    let quiet = on_a_terminal(&[&args[..], &["--no-progress"]].concat());
    assert!(!quiet.unwrap().contains("analyzing"), "--no-progress hides it");
    let piped = run(&args);
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("analyzing"), "no bar when stderr is not a terminal");
}
