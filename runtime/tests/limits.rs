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
