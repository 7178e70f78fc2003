//! Each sandbox limit trips on a component built to trip it, the call ends
//! in a tool error naming the limit and how to raise it, and the same server
//! keeps answering normally.

mod common;

use common::{call, err, misbehave_dir, ok, stdio_client};
use serde_json::json;

const CAPTURE: &str = "fixtures/captures/dns-udp-ethernet.pcap";

#[tokio::test]
async fn every_limit_trips_and_the_server_carries_on() {
    let components = misbehave_dir();
    let dir = components.path().to_str().unwrap().to_string();
    let client = stdio_client(&[
        "--allow-dir",
        "fixtures",
        "--analyzers-dir",
        &dir,
        "--limit",
        "test-misbehave.fuel=2000000000",
        "--limit",
        "test-misbehave.wall_clock_secs=2",
        "--limit",
        "test-misbehave.memory_mb=32",
        "--limit",
        "test-misbehave.result_kb=256",
    ])
    .await;
    let cases = [
        ("misbehave_spin", "limit_exceeded", "test-misbehave.fuel"),
        ("misbehave_sleep", "limit_exceeded", "test-misbehave.wall_clock_secs"),
        ("misbehave_hog", "limit_exceeded", "test-misbehave.memory_mb"),
        ("misbehave_big_result", "limit_exceeded", "test-misbehave.result_kb"),
        ("misbehave_panic", "analyzer_crashed", "misbehave_panic was asked to panic"),
    ];
    for (tool, kind, mentions) in cases {
        let started = std::time::Instant::now();
        let result = call(&client, tool, json!({"pcap_file": CAPTURE})).await;
        let error = err(&result);
        assert_eq!(error["kind"], kind, "{tool}: {error}");
        assert!(error["message"].as_str().unwrap().contains(mentions), "{tool}: {error}");
        assert!(started.elapsed().as_secs() < 30, "{tool} took {:?}", started.elapsed());
        // The server still serves, and the limits of one analyzer are not
        // the others': capinfos runs with the defaults.
        let fine = call(&client, "analyze_capinfos", json!({"pcap_file": CAPTURE})).await;
        assert_eq!(ok(&fine)["packet_count"], 4, "after {tool}");
        let streamed = call(&client, "misbehave_read_all", json!({"pcap_file": CAPTURE})).await;
        assert_eq!(ok(&streamed)["bytes"], std::fs::metadata(common::repo().join(CAPTURE)).unwrap().len());
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn over_the_concurrency_limit_a_call_is_told_to_retry() {
    let components = misbehave_dir();
    let dir = components.path().to_str().unwrap().to_string();
    let client = stdio_client(&[
        "--allow-dir",
        "fixtures",
        "--analyzers-dir",
        &dir,
        "--max-concurrent-calls",
        "1",
        "--limit",
        "test-misbehave.wall_clock_secs=3",
    ])
    .await;
    let client = std::sync::Arc::new(client);
    let sleeper = {
        let client = client.clone();
        tokio::spawn(async move { call(&client, "misbehave_sleep", json!({"pcap_file": CAPTURE})).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let busy = call(&client, "analyze_capinfos", json!({"pcap_file": CAPTURE})).await;
    assert_eq!(err(&busy)["kind"], "busy");
    assert!(err(&busy)["message"].as_str().unwrap().contains("retry"));
    let slept = sleeper.await.unwrap();
    assert_eq!(err(&slept)["kind"], "limit_exceeded");
    let fine = call(&client, "analyze_capinfos", json!({"pcap_file": CAPTURE})).await;
    assert_eq!(ok(&fine)["packet_count"], 4, "the permit is released when a call ends");
}

/// Crafted DNS messages whose names walk long chains of compression
/// pointers cost a bounded amount each: under a fuel limit that the
/// unbounded walk would exhaust, the tool returns its result, counts the
/// crafted messages as malformed and still reports the query after them.
#[tokio::test]
async fn dns_compression_pointer_bombs_cannot_exhaust_the_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("pointer-bombs.pcap");
    common::write_dns_pointer_bomb_capture(&capture, 40);
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", &root, "--limit", "dns.fuel=2000000000"]).await;
    let result = call(&client, "analyze_dns_packets", json!({"pcap_file": capture.to_str().unwrap()})).await;
    let result = ok(&result);
    let statistics = &result["statistics"];
    assert_eq!(statistics["malformed_messages"], 40, "{statistics}");
    assert_eq!(statistics["queries"], 1, "{statistics}");
    let names = result.to_string();
    assert!(names.contains("readable.example"), "the query after the bombs is reported");
    client.cancel().await.unwrap();
}

/// pcapng files built to fill a guest's memory through what the reader
/// keeps of interface blocks: one block with 3.5 million empty options,
/// and 600,000 interface blocks (the build before the bounds peaked at
/// 216 MiB on the first and exceeded 64 MiB on the second). Under a 64 MiB
/// memory limit every tool
/// reads them, finds the query after them, and says what it left out.
#[tokio::test]
async fn pcapng_option_bombs_and_interface_floods_fit_in_a_small_memory() {
    let dir = tempfile::tempdir().unwrap();
    let options = dir.path().join("option-bomb.pcapng");
    common::write_pcapng_bomb(&options, 1, 3_500_000);
    let flood = dir.path().join("interface-flood.pcapng");
    common::write_pcapng_bomb(&flood, 600_000, 0);
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", &root, "--limit", "*.memory_mb=64"]).await;
    for (capture, warning) in [(&options, "more than 1024 options"), (&flood, "interface blocks past the first")] {
        let spec = capture.to_str().unwrap();
        for tool in ["analyze_capinfos", "analyze_dns_packets", "analyze_tcp_connections", "analyze_icmp_packets"] {
            let result = call(&client, tool, json!({"pcap_file": spec})).await;
            let result = ok(&result);
            let text = result.to_string();
            assert!(text.contains(warning), "{tool} on {spec} reports what it left out: {text}");
        }
        let dns = call(&client, "analyze_dns_packets", json!({"pcap_file": spec})).await;
        assert!(ok(&dns).to_string().contains("readable.example"), "the query after the blocks is found");
    }
    client.cancel().await.unwrap();
}

/// When fuel runs low, the capture is ended early and the tool returns what
/// it read, marked truncated and saying why, instead of `limit_exceeded`.
#[tokio::test]
async fn a_nearly_spent_fuel_limit_still_gives_the_readable_part() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("million.pcap");
    common::write_syn_capture(&capture, 1_000_000);
    let root = dir.path().to_str().unwrap().to_string();
    // capinfos spends ~800 fuel units a packet: this is about half the file.
    let client = stdio_client(&["--allow-dir", &root, "--limit", "capinfos.fuel=400000000"]).await;
    let result = call(&client, "analyze_capinfos", json!({"pcap_file": capture.to_str().unwrap()})).await;
    let result = ok(&result);
    let packets = result["packet_count"].as_u64().unwrap();
    assert!(packets > 10_000 && packets < 1_000_000, "part of the capture was read: {packets}");
    assert_eq!(result["truncated"], true);
    let warning = result["warnings"][0].as_str().unwrap();
    assert!(warning.contains("fuel limit") && warning.contains("capinfos.fuel"), "{warning}");
    client.cancel().await.unwrap();
}

/// The same for time: a guest still reading when nine tenths of its wall
/// clock have passed finds the end of its capture and answers.
#[tokio::test]
async fn a_nearly_spent_wall_clock_still_gives_the_readable_part() {
    let components = misbehave_dir();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("four-mib.pcap");
    std::fs::write(&capture, vec![7u8; 4 << 20]).unwrap();
    let client = stdio_client(&[
        "--allow-dir",
        dir.path().to_str().unwrap(),
        "--analyzers-dir",
        components.path().to_str().unwrap(),
        "--limit",
        "test-misbehave.wall_clock_secs=2",
    ])
    .await;
    // 64 KiB every 50 ms: the whole file would take 3.2 s.
    let result = call(&client, "misbehave_read_slowly", json!({"pcap_file": capture.to_str().unwrap()})).await;
    let result = ok(&result);
    let bytes = result["bytes"].as_u64().unwrap();
    assert!(bytes > 0 && bytes < 4 << 20, "part of the capture was read: {bytes}");
    assert_eq!(result["truncated"], true);
    assert!(result["warnings"][0].as_str().unwrap().contains("wall-clock limit"), "{result}");
    client.cancel().await.unwrap();
}
