//! Every tool of every analyzer over every capture in `../shared/captures`
//! (hostile/ included), through one MCP server at default limits: each call
//! returns a result or a clear error (never a crash, a tripped limit or a
//! dead server), and no result is larger than 40 KB of JSON (about 10,000
//! tokens), by default or with the largest `limit` (`analyze_many`: its
//! tools' shares, each at least a floor).

mod common;

use common::{call, captures_under, shared_captures, stdio_client};
use serde_json::{Value, json};

/// About 10,000 tokens: the analyzers' `RESULT_BYTE_BUDGET`.
const MAX_RESULT_BYTES: usize = 40_000;

#[tokio::test]
async fn every_tool_survives_every_shared_capture() {
    let Some(dir) = shared_captures() else { return };
    let client = stdio_client(&["--allow-dir", dir.to_str().unwrap()]).await;
    // Every tool that reads a capture (list_captures reads directories).
    let mut tools = client.list_all_tools().await.unwrap();
    tools.retain(|t| t.name != "list_captures");
    let mut calls = 0;
    let mut largest = (0, String::new());
    for (index, path) in captures_under(&dir).into_iter().enumerate() {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        for tool in &tools {
            // Tools that need more than the capture get a plausible value.
            let mut arguments = json!({"pcap_file": path.to_str().unwrap()});
            let required = tool.input_schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
            for field in required.iter().filter_map(Value::as_str).filter(|f| *f != "pcap_file") {
                arguments[field] = match field {
                    "server_ip" => json!("192.0.2.1"),
                    _ => json!(null),
                };
            }
            // follow_stream takes a stream number or two endpoints.
            if tool.name == "follow_stream" {
                arguments["stream"] = json!(index % 3);
            }
            // Every other capture asks for the largest page: the bound holds
            // whatever the caller asks.
            let paged = tool.input_schema.get("properties").and_then(|p| p.get("limit")).is_some();
            if paged && index % 2 == 1 {
                arguments["limit"] = json!(1000);
            }
            let result = call(&client, &tool.name, arguments.clone()).await;
            calls += 1;
            let body = common::body(&result);
            let text = body.to_string();
            if result.is_error == Some(true) {
                let kind = body["error"]["kind"].as_str().unwrap_or("?");
                assert!(matches!(kind, "unsupported_format" | "malformed_capture"), "{} on {name}: {body}", tool.name);
                continue;
            }
            // analyze_many gives each tool an equal share of the budget, but
            // never less than a floor: with many tools the combined result
            // may pass the budget by what the floors add, never 100 KB.
            let bound = match body.get("result_bytes_per_tool").and_then(Value::as_u64) {
                Some(share) => {
                    MAX_RESULT_BYTES.max(share as usize * body["results"].as_object().unwrap().len() + 2_000)
                }
                None => MAX_RESULT_BYTES,
            };
            assert!(
                text.len() <= bound && text.len() <= 100_000,
                "{} on {name}: {} bytes of JSON, over {bound} ({arguments})",
                tool.name,
                text.len()
            );
            if text.len() > largest.0 {
                largest = (text.len(), format!("{} on {name}", tool.name));
            }
        }
    }
    eprintln!("{calls} calls; largest result: {} bytes ({})", largest.0, largest.1);
    // The server is still healthy after all of it.
    assert!(!client.list_all_tools().await.unwrap().is_empty());
    client.cancel().await.unwrap();
}

/// The captures crafted against the bounds of the packet path (DNS
/// compression-pointer chains over TCP, a pcapng interface block with
/// millions of options, a flood of interface blocks): every tool reads them
/// to the end under the default limits and gives a full result, and DNS
/// still finds the query that follows the bombs.
#[tokio::test]
async fn every_tool_reads_the_crafted_captures_under_default_limits() {
    let dir = tempfile::tempdir().unwrap();
    let bombs = dir.path().join("dns-pointer-bombs.pcap");
    // 4,000 crafted messages (65 MB): before the DNS bound, far past the
    // default fuel.
    common::write_dns_pointer_bomb_capture(&bombs, 4_000);
    let options = dir.path().join("option-bomb.pcapng");
    common::write_pcapng_bomb(&options, 1, 4_000_000);
    let flood = dir.path().join("interface-flood.pcapng");
    common::write_pcapng_bomb(&flood, 700_000, 0);
    let client = stdio_client(&["--allow-dir", dir.path().to_str().unwrap()]).await;
    let mut tools = client.list_all_tools().await.unwrap();
    tools.retain(|t| t.name != "list_captures");
    for capture in [&bombs, &options, &flood] {
        for tool in &tools {
            let mut arguments = json!({"pcap_file": capture.to_str().unwrap()});
            if tool.name == "analyze_traffic_flow" {
                arguments["server_ip"] = json!("192.0.2.53");
            }
            if tool.name == "follow_stream" {
                arguments["a"] = json!("192.0.2.1:53");
                arguments["b"] = json!("192.0.2.2:40000");
            }
            let result = call(&client, &tool.name, arguments).await;
            let body = common::body(&result);
            assert_ne!(result.is_error, Some(true), "{} on {}: {body}", tool.name, capture.display());
            if body.get("truncated").is_some() {
                assert_eq!(
                    body["truncated"],
                    false,
                    "{} on {} read it all: {body:.2000}",
                    tool.name,
                    capture.display()
                );
            }
        }
        let dns = call(&client, "analyze_dns_packets", json!({"pcap_file": capture.to_str().unwrap()})).await;
        assert!(common::body(&dns).to_string().contains("readable.example"), "{}", capture.display());
    }
    client.cancel().await.unwrap();
}
