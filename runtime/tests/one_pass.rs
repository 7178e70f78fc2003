//! Several tools over one read of a capture (`analyze_many`, `pcapsule
//! analyze all`): each tool's result must be exactly what it returns alone.

mod common;

use std::process::Command;

use common::{
    cache_dir, call, captures_under, err, fixtures, have, ok, pcapsule, repo, shared_captures, stdio_client,
    write_bench_capture, write_busy_capture,
};
use serde_json::{Value, json};

/// A result without the fields that differ from run to run.
fn stable(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("analysis_timestamp");
    }
    value
}

fn analyze(args: &[&str], allow: &std::path::Path) -> Value {
    let out = Command::new(pcapsule())
        .arg("analyze")
        .args(args)
        .arg("--allow-dir")
        .arg(allow)
        .arg("--cache-dir")
        .arg(cache_dir())
        .current_dir(repo())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn one_pass_gives_each_tool_its_own_result() {
    let mut captures = vec![fixtures().join("dns-udp-ethernet.pcap"), fixtures().join("cut-mid-record.pcap")];
    if let Some(shared) = shared_captures() {
        // A few real captures with every protocol between them.
        let all = captures_under(&shared);
        for wanted in ["mixed", "sip", "tcp", "dhcp"] {
            if let Some(p) = all.iter().find(|p| p.to_string_lossy().contains(&format!("/{wanted}/"))) {
                captures.push(p.clone());
            }
        }
    }
    let root = std::path::Path::new("/");
    for capture in &captures {
        // Resolved: with `/` as the allowed root, a symlinked checkout (an
        // absolute symlink) would count as leaving it.
        let capture = std::fs::canonicalize(capture).unwrap();
        let path = capture.to_str().unwrap();
        let together = analyze(&["all", path], root);
        let results = together["results"].as_object().unwrap_or_else(|| panic!("{path}: {together}"));
        assert!(results.len() >= 5, "{path}: every default tool ran: {together}");
        // The tools share the one-pass byte budget equally.
        let share = together["result_bytes_per_tool"].as_u64().unwrap();
        assert!(share >= 4_000 && share <= (40_000 / results.len() as u64).max(4_000), "{path}: {share}");
        let size = serde_json::to_string(&together).unwrap().len();
        assert!(size as u64 <= (results.len() as u64 * share + 2_000).max(40_000), "{path}: {size} bytes in all");
        for (tool, result) in results {
            assert!(serde_json::to_string(result).unwrap().len() as u64 <= share, "{path}: {tool} over its share");
            let alone = analyze(&[tool, path, &format!(r#"{{"max_result_bytes": {share}}}"#)], root);
            assert_eq!(stable(result.clone()), stable(alone), "{path}: {tool} differs in one pass");
        }
        assert_eq!(together["errors"], json!({}), "{path}");
    }
}

/// A selection given once (`--filter`/`--time-from`, analyze_many's
/// top-level `filter` and `time_from`) reaches every tool: each result is
/// the tool's own with the same parameters, and echoes the selection.
#[test]
fn a_selection_given_once_applies_to_every_tool() {
    let capture = std::fs::canonicalize(fixtures().join("dns-udp-ethernet.pcap")).unwrap();
    let path = capture.to_str().unwrap();
    let root = std::path::Path::new("/");
    let together = analyze(&["all", path, "--filter", "udp and dst port 53", "--time-from", "0"], root);
    let results = together["results"].as_object().unwrap_or_else(|| panic!("{together}"));
    assert!(results.len() >= 5, "{together}");
    assert_eq!(together["errors"], json!({}));
    let share = together["result_bytes_per_tool"].as_u64().unwrap();
    for (tool, result) in results {
        let selection = &result["selection"];
        assert_eq!(selection["filter"], "udp and dst port 53", "{tool}: {result}");
        assert_eq!(selection["time_from"], "1970-01-01T00:00:00.000000Z", "{tool}");
        let params = format!(r#"{{"max_result_bytes": {share}, "filter": "udp and dst port 53", "time_from": 0}}"#);
        let alone = analyze(&[tool, path, &params], root);
        assert_eq!(stable(result.clone()), stable(alone), "{tool} differs in one pass");
    }
    // The capture's queries go to port 53, its responses come from it.
    let dns = &results["analyze_dns_packets"];
    assert!(dns["packets_analyzed"].as_u64().unwrap() > 0, "{dns}");
    assert_eq!(dns["statistics"]["responses"], 0, "{dns}");
    // A tool's own params win over the shared selection.
    let own = analyze(&["dns,capinfos", path, r#"{"analyze_capinfos": {"filter": "tcp"}}"#, "--filter", "udp"], root);
    assert_eq!(own["results"]["analyze_capinfos"]["selection"]["filter"], "tcp", "{own}");
    assert_eq!(own["results"]["analyze_dns_packets"]["selection"]["filter"], "udp", "{own}");
    // A bad filter is each tool's bad_params error, naming the token.
    let bad = analyze(&["dns,capinfos", path, "--filter", "port domian"], root);
    let message = bad["errors"]["analyze_dns_packets"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`domian`"), "{bad}");
}

/// On a busy capture every tool's tables fill and its share of the one-pass
/// budget (under 5 KB with eight tools) is far less than its summary: each
/// result is cut to its share, the cuts named in one warning, and the whole
/// stays within 40 KB.
#[test]
fn a_busy_capture_stays_within_the_budget_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("busy.pcap");
    write_busy_capture(&capture, 100_000);
    let together = analyze(&["all", capture.to_str().unwrap()], dir.path());
    let results = together["results"].as_object().unwrap_or_else(|| panic!("{together}"));
    assert!(results.len() >= 8, "{together}");
    let share = together["result_bytes_per_tool"].as_u64().unwrap();
    let size = serde_json::to_string(&together).unwrap().len() as u64;
    // 40 KB shared, unless so many tools ran that each got the least share.
    assert!(size <= (results.len() as u64 * share + 2_000).max(40_000), "{size} bytes in all");
    assert!(size < 100_000, "{size} bytes in all");
    let mut shortened = Vec::new();
    for (tool, result) in results {
        let size = serde_json::to_string(result).unwrap().len() as u64;
        assert!(size <= share, "{tool}: {size} bytes, over its share of {share}");
        let warnings = result["warnings"].as_array().unwrap();
        let cuts: Vec<&str> =
            warnings.iter().filter_map(Value::as_str).filter(|w| w.starts_with("Shortened to stay within")).collect();
        assert!(cuts.len() <= 1, "{tool}: one warning names every cut: {cuts:?}");
        if !cuts.is_empty() {
            shortened.push(tool.clone());
        }
    }
    for tool in ["analyze_dhcp_packets", "analyze_icmp_packets", "analyze_sip_packets", "analyze_tcp_anomalies"] {
        assert!(shortened.contains(&tool.to_string()), "{tool} had to be cut to its share: {shortened:?}");
    }
}

/// Frames tshark shows matching `filter`, and the values of `field` there.
fn tshark_values(capture: &std::path::Path, filter: &str, field: &str) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args(["-Y", filter, "-T", "fields", "-E", "occurrence=a", "-e", field])
        .output()
        .unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// The bench's TLS traffic (`tls-heavy`: TLS 1.3 and 1.2 over TCP, QUIC
/// with protected Initials, DTLS) as tshark reads it: hellos counted alike
/// (each frame of this capture holds at most one), every certificate found,
/// and the results within their budget alone and in one pass.
#[test]
fn the_bench_tls_traffic_is_read_as_tshark_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("tls-heavy.pcap");
    write_bench_capture(&capture, 30_000, pcapsule_bench::Mix::TlsHeavy);
    let path = capture.to_str().unwrap();
    let sessions = analyze(&["analyze_tls_sessions", path], dir.path());
    assert!(serde_json::to_string(&sessions).unwrap().len() < 100_000);
    let statistics = &sessions["statistics"];
    assert!(statistics["quic_connections"].as_u64() > Some(50), "{statistics}");
    assert!(statistics["dtls_connections"].as_u64() > Some(0), "{statistics}");
    assert_eq!(sessions["capture"]["quic"]["undecryptable_initials"], 0);
    let certificates = analyze(&["analyze_tls_certificates", path], dir.path());
    assert!(serde_json::to_string(&certificates).unwrap().len() < 100_000);
    let together = analyze(&["all", path], dir.path());
    assert!(serde_json::to_string(&together).unwrap().len() < 100_000);
    if !have("tshark") {
        return;
    }
    for (message, kind) in [("client_hello", 1), ("server_hello", 2)] {
        let frames = tshark_values(
            &capture,
            &format!("tls.handshake.type == {kind} || dtls.handshake.type == {kind}"),
            "frame.number",
        );
        assert_eq!(statistics["handshake_messages"][message].as_u64(), Some(frames.len() as u64), "{message}");
    }
    let der: std::collections::BTreeSet<String> =
        tshark_values(&capture, "tls.handshake.certificate", "tls.handshake.certificate")
            .iter()
            .flat_map(|row| row.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect();
    assert_eq!(certificates["statistics"]["distinct_certificates"].as_u64(), Some(der.len() as u64));
}

#[tokio::test]
async fn analyze_many_over_mcp() {
    // The tcp analyzer gets too little fuel to finish: its tools fail alone.
    let client = stdio_client(&["--allow-dir", "fixtures", "--limit", "tcp.fuel=100000"]).await;
    let tools = client.list_all_tools().await.unwrap();
    let many = tools.iter().find(|t| t.name == "analyze_many").expect("analyze_many listed");
    let names = &many.input_schema["properties"]["tools"]["items"]["enum"];
    assert!(names.as_array().unwrap().contains(&json!("analyze_dns_packets")), "{names}");

    let capture = "fixtures/captures/dns-udp-ethernet.pcap";
    let result = call(
        &client,
        "analyze_many",
        json!({"pcap_file": capture, "tools": ["analyze_capinfos", "analyze_dns_packets"],
               "params": {"analyze_dns_packets": {"limit": 1}}}),
    )
    .await;
    let value = ok(&result);
    assert_eq!(value["results"]["analyze_capinfos"]["packet_count"], 4);
    assert_eq!(value["results"]["analyze_dns_packets"]["pagination"]["returned"], 1);
    assert_eq!(value["results"].as_object().unwrap().len(), 2);

    // One tool failing does not sink the others.
    let flow = call(
        &client,
        "analyze_many",
        json!({"pcap_file": capture, "tools": ["analyze_capinfos", "analyze_traffic_flow"],
               "params": {"analyze_traffic_flow": {"server_ip": "10.0.0.1"}}}),
    )
    .await;
    assert_eq!(ok(&flow)["results"]["analyze_capinfos"]["packet_count"], 4);
    assert_eq!(ok(&flow)["errors"]["analyze_traffic_flow"]["kind"], "limit_exceeded", "{:?}", ok(&flow));

    // The tcp tools run in one instance: its limit stops all of them, and
    // only them.
    let tcp = call(
        &client,
        "analyze_many",
        json!({"pcap_file": capture,
               "tools": ["analyze_tcp_connections", "analyze_capinfos", "analyze_tcp_anomalies"]}),
    )
    .await;
    let value = ok(&tcp);
    assert_eq!(value["results"]["analyze_capinfos"]["packet_count"], 4, "{value}");
    for tool in ["analyze_tcp_connections", "analyze_tcp_anomalies"] {
        assert_eq!(value["errors"][tool]["kind"], "limit_exceeded", "{tool}: {value}");
        assert!(value["errors"][tool]["message"].as_str().unwrap().contains("tcp.fuel"), "{value}");
    }

    for (arguments, kind) in [
        (json!({"pcap_file": capture, "tools": ["analyze_nothing"]}), "unknown_tool"),
        (
            json!({"pcap_file": capture, "tools": ["analyze_capinfos"], "params": {"analyze_dns_packets": {}}}),
            "bad_params",
        ),
        (json!({"pcap_file": capture, "params": {"analyze_dns_packets": {"limit": -1}}}), "bad_params"),
        (json!({"pcap_file": capture, "tools": []}), "bad_params"),
        (json!({"pcap_file": "fixtures/captures/absent.pcap"}), "not_found"),
        (json!({"tools": ["analyze_capinfos"]}), "bad_params"),
    ] {
        let result = call(&client, "analyze_many", arguments.clone()).await;
        assert_eq!(err(&result)["kind"], kind, "{arguments}");
    }
    client.cancel().await.unwrap();
}

#[test]
fn tools_of_a_one_pass_analyzer_share_one_instance() {
    let out = Command::new(pcapsule())
        .args(["analyze", "analyze_tcp_connections,analyze_capinfos,analyze_tcp_retransmissions"])
        .arg("fixtures/captures/dns-udp-ethernet.pcap")
        .arg("--cache-dir")
        .arg(cache_dir())
        .env("RUST_LOG", "pcapsule=debug")
        .current_dir(repo())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let finished: Vec<&str> = log.lines().filter(|l| l.contains("call finished")).collect();
    assert_eq!(finished.len(), 2, "one instance for tcp, one for capinfos: {log}");
    assert!(finished.iter().any(|l| l.contains("tools=analyze_tcp_connections,analyze_tcp_retransmissions")), "{log}");
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["results"].as_object().unwrap().len(), 3, "{value}");
}

/// The analyzers of one `analyze_many` call share one memory budget (the
/// largest of their limits), so a call holds no more memory than a single
/// analysis may: under a 20 MiB limit each tool runs alone, but all of them
/// side by side do not fit, and what did not fit says so.
#[tokio::test]
async fn analyze_many_shares_one_memory_budget() {
    // Large enough (1.4 MB) that every analyzer is still reading it, and so
    // holds its memory, while the others grow.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syns.pcap");
    common::write_syn_capture(&path, 20_000);
    let client = stdio_client(&["--allow-dir", dir.path().to_str().unwrap(), "--limit", "*.memory_mb=20"]).await;
    let capture = path.to_str().unwrap();
    let tools = [
        "analyze_capinfos",
        "analyze_dns_packets",
        "analyze_dhcp_packets",
        "analyze_icmp_packets",
        "analyze_sip_packets",
        "analyze_tcp_connections",
    ];
    for tool in tools {
        let alone = call(&client, tool, json!({"pcap_file": capture})).await;
        ok(&alone);
    }
    let together = call(&client, "analyze_many", json!({"pcap_file": capture, "tools": tools})).await;
    let together = ok(&together);
    let errors = together["errors"].as_object().unwrap();
    assert!(!errors.is_empty(), "six analyzers cannot all fit in one 20 MiB budget: {together}");
    for (tool, error) in errors {
        assert_eq!(error["kind"], "limit_exceeded", "{tool}: {error}");
        assert!(error["message"].as_str().unwrap().contains("share"), "{tool}: {error}");
    }
    client.cancel().await.unwrap();
}
