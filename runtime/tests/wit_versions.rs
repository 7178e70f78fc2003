//! Components built against an older WIT version keep running: the test
//! build compiles `analyzers/test-wit-v0-2-0` against the frozen
//! `wit/v0.2.0`, and the server loads it beside the current analyzers and
//! calls its tools, alone and together, through its adapter.

mod common;

use common::{call, err, ok, stdio_client, test_component_dir};
use serde_json::json;

const CAPTURE: &str = "fixtures/captures/dns-udp-ethernet.pcap";

#[tokio::test]
async fn a_component_built_against_wit_0_2_0_still_runs() {
    let components = test_component_dir("test-wit-v0-2-0");
    let dir = components.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", "fixtures", "--analyzers-dir", &dir, "--max-packets", "77"]).await;
    let tools = client.list_all_tools().await.unwrap();
    for name in ["legacy_count_bytes", "legacy_first_bytes", "analyze_dns_packets"] {
        assert!(tools.iter().any(|t| t.name == name), "{name} is listed");
    }
    let legacy = tools.iter().find(|t| t.name == "legacy_count_bytes").unwrap();
    assert_eq!(legacy.input_schema["properties"]["fail"]["type"], "boolean", "its own parameters, and pcap_file");
    assert!(legacy.input_schema["properties"]["pcap_file"].is_object());

    // One tool: the capture facts reach it in the 0.2.0 request.
    let size = std::fs::metadata(common::repo().join(CAPTURE)).unwrap().len();
    let alone = call(&client, "legacy_count_bytes", json!({"pcap_file": CAPTURE})).await;
    let alone = ok(&alone);
    assert_eq!(alone["bytes"], size, "{alone}");
    assert_eq!(alone["capture_size"], size, "{alone}");
    assert_eq!(alone["max_packets"], 77, "{alone}");
    assert!(alone["file"].as_str().unwrap().ends_with("dns-udp-ethernet.pcap"), "{alone}");
    assert_eq!(alone["read_with"], json!(["legacy_count_bytes"]), "through `run`");

    // Both tools in one pass: its describe said one-pass, so `run-many`.
    let many = call(
        &client,
        "analyze_many",
        json!({"pcap_file": CAPTURE, "tools": ["legacy_count_bytes", "legacy_first_bytes", "analyze_capinfos"]}),
    )
    .await;
    let many = ok(&many);
    let together = json!(["legacy_count_bytes", "legacy_first_bytes"]);
    assert_eq!(many["results"]["legacy_count_bytes"]["read_with"], together, "{many}");
    assert_eq!(many["results"]["legacy_first_bytes"]["read_with"], together, "{many}");
    assert_eq!(many["results"]["legacy_first_bytes"]["first_bytes"], "d4c3b2a1", "a little-endian pcap: {many}");
    assert_eq!(many["results"]["analyze_capinfos"]["packet_count"], 4, "the current analyzers beside it: {many}");

    // Its errors cross the adapter with their kind and detail.
    let failed = call(&client, "legacy_count_bytes", json!({"pcap_file": CAPTURE, "fail": true})).await;
    let error = err(&failed);
    assert_eq!(error["kind"], "malformed_capture", "{error}");
    assert!(error["message"].as_str().unwrap().contains("at byte 4: asked to fail"), "{error}");
    client.cancel().await.unwrap();
}
