//! pcapsule over stdio, driven by rmcp's client: initialize, list tools and
//! prompts, get a prompt, call a tool, and get tool errors (not protocol
//! errors) for bad input.

mod common;

use common::{call, err, ok, stdio_client};
use rmcp::model::GetPromptRequestParams;
use serde_json::json;

#[tokio::test]
async fn tools_prompts_and_calls_over_stdio() {
    let client = stdio_client(&["--allow-dir", "fixtures"]).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("pcapsule"));

    let tools = client.list_all_tools().await.unwrap();
    let capinfos = tools.iter().find(|t| t.name == "analyze_capinfos").expect("analyze_capinfos listed");
    let required = capinfos.input_schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("pcap_file")), "pcap_file is a required parameter");
    assert!(capinfos.output_schema.is_some(), "the result schema is declared");
    assert_eq!(capinfos.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));

    let prompts = client.list_all_prompts().await.unwrap();
    assert!(prompts.iter().any(|p| p.name == "capture_overview"));
    let prompt = client.get_prompt(GetPromptRequestParams::new("capture_overview")).await.unwrap();
    let text = prompt.messages[0].content.as_text().expect("text prompt");
    assert!(text.text.contains("analyze_capinfos"));

    // Prompts take the capture, and the tool parameters their text names
    // (issue #20: they took no arguments).
    for prompt in &prompts {
        let names: Vec<&str> = prompt.arguments.iter().flatten().map(|a| a.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"pcap_file"), "{}: {names:?}", prompt.name);
    }
    let tcp = prompts.iter().find(|p| p.name == "tcp_connection_troubleshooting").expect("the tcp prompt");
    let names: Vec<&str> = tcp.arguments.iter().flatten().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"server_ip") && names.contains(&"server_port"), "{names:?}");
    assert!(!names.contains(&"limit") && !names.contains(&"max_packets"), "{names:?}");
    let arguments = json!({"pcap_file": "fixtures/captures/dns-udp-ethernet.pcap", "server_ip": "10.0.0.2"});
    let filled = client
        .get_prompt(
            GetPromptRequestParams::new("tcp_connection_troubleshooting")
                .with_arguments(arguments.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let filled = &filled.messages[0].content.as_text().unwrap().text;
    assert!(filled.starts_with("The capture to analyze: `fixtures/captures/dns-udp-ethernet.pcap`"), "{filled}");
    assert!(filled.contains("server_ip = `10.0.0.2`"), "{filled}");
    let unknown = json!({"pcap_file": "x.pcap", "colour": "blue"});
    let refused = client
        .get_prompt(
            GetPromptRequestParams::new("capture_overview").with_arguments(unknown.as_object().unwrap().clone()),
        )
        .await
        .expect_err("an argument the prompt does not take");
    assert!(refused.to_string().contains("takes no argument `colour`"), "{refused}");

    let result =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/dns-udp-ethernet.pcap"})).await;
    let value = ok(&result);
    assert_eq!(value["packet_count"], 4);
    assert_eq!(value["file_encapsulation"], "Ethernet");
    assert_eq!(value["filename"], "fixtures/captures/dns-udp-ethernet.pcap");
    let text: serde_json::Value = serde_json::from_str(&result.content[0].as_text().unwrap().text).unwrap();
    assert_eq!(&text, value, "the text content is the same JSON");

    let missing = call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/nope.pcap"})).await;
    assert_eq!(err(&missing)["kind"], "not_found");
    let outside = call(&client, "analyze_capinfos", json!({"pcap_file": "/etc/hostname"})).await;
    assert_eq!(err(&outside)["kind"], "not_allowed");
    let not_capture =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/not-a-capture.txt"})).await;
    assert_eq!(err(&not_capture)["kind"], "unsupported_format");
    let no_file = call(&client, "analyze_capinfos", json!({})).await;
    assert!(err(&no_file)["message"].as_str().unwrap().contains("pcap_file"));
    let bad = call(
        &client,
        "analyze_capinfos",
        json!({"pcap_file": "fixtures/captures/dns-udp-ethernet.pcap", "max_packets": -1}),
    )
    .await;
    assert_eq!(err(&bad)["kind"], "bad_params");

    // A damaged capture is a result with a warning, not an error.
    let cut = call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/cut-mid-record.pcap"})).await;
    assert_eq!(ok(&cut)["packet_count"], 3);
    assert!(ok(&cut)["cut_short"].is_object());

    // An unknown tool cannot be routed: that one is a protocol error.
    let unknown = client.call_tool(rmcp::model::CallToolRequestParams::new("analyze_everything")).await;
    assert!(unknown.is_err());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn modules_and_max_packets_flags_as_in_mcpcap() {
    let client = stdio_client(&["--allow-dir", "fixtures", "--modules", "capinfos", "--max-packets", "2"]).await;
    let result =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/dns-udp-ethernet.pcap"})).await;
    let value = ok(&result);
    assert_eq!(value["packet_count"], 2);
    assert_eq!(value["truncated"], true);
    assert_eq!(value["max_packets"], 2);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn arguments_are_checked_against_the_schema_before_the_guest_runs() {
    let client = stdio_client(&["--allow-dir", "fixtures"]).await;
    let capture = "fixtures/captures/dns-udp-ethernet.pcap";
    for (arguments, field) in [
        (json!({"pcap_file": capture, "limit": "ten"}), "`limit`"),
        (json!({"pcap_file": capture, "limit": -5}), "`limit`"),
        (json!({"pcap_file": capture, "detect_any_port": 1}), "`detect_any_port`"),
        (json!({"pcap_file": capture, "colour": "blue"}), "colour"),
        (json!({"pcap_file": 42}), "`pcap_file`"),
    ] {
        let result = call(&client, "analyze_dns_packets", arguments.clone()).await;
        let error = err(&result);
        assert_eq!(error["kind"], "bad_params", "{arguments}");
        let message = error["message"].as_str().unwrap();
        // The host's wording, naming the field: the guest never saw these.
        assert!(
            message.contains("invalid arguments for analyze_dns_packets") || message.contains("pcap_file"),
            "{message}"
        );
        assert!(message.contains(field), "{arguments}: {message}");
    }
    // Valid by the schema, but larger than a guest is handed: refused by
    // the host, naming the size (the capture's name does not count).
    let huge = "1".repeat(70 * 1024);
    let result = call(&client, "analyze_tcp_connections", json!({"pcap_file": capture, "server_ip": huge})).await;
    let error = err(&result);
    assert_eq!(error["kind"], "bad_params");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("bytes of JSON; at most 65536"), "{message}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_guide_and_the_prompts_are_resources() {
    let client = stdio_client(&["--allow-dir", "fixtures"]).await;
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(uris.contains(&"pcapsule://guide"), "{uris:?}");
    let prompts = client.list_all_prompts().await.unwrap();
    for prompt in &prompts {
        let uri = format!("pcapsule://prompts/{}", prompt.name);
        assert!(uris.contains(&uri.as_str()), "{uri} missing from {uris:?}");
    }
    let read = |uri: &str| {
        let client = &client;
        let uri = uri.to_string();
        async move {
            let result = client.read_resource(rmcp::model::ReadResourceRequestParams::new(uri.clone())).await.unwrap();
            match &result.contents[0] {
                rmcp::model::ResourceContents::TextResourceContents { text, mime_type, .. } => {
                    assert_eq!(mime_type.as_deref(), Some("text/markdown"), "{uri}");
                    text.clone()
                }
                other => panic!("{uri}: expected text, got {other:?}"),
            }
        }
    };
    let guide = read("pcapsule://guide").await;
    for tool in client.list_all_tools().await.unwrap() {
        assert!(guide.contains(&format!("`{}`", tool.name)), "the guide covers {}", tool.name);
    }
    let first = &prompts[0];
    let text = read(&format!("pcapsule://prompts/{}", first.name)).await;
    let got = client.get_prompt(GetPromptRequestParams::new(first.name.clone())).await.unwrap();
    let prompt_text = &got.messages[0].content.as_text().unwrap().text;
    assert!(text.contains(prompt_text.as_str()), "the resource holds the prompt's text");
    let missing = client.read_resource(rmcp::model::ReadResourceRequestParams::new("pcapsule://nothing")).await;
    assert!(missing.is_err(), "an unknown resource is an error");
    client.cancel().await.unwrap();
}

/// `tools/list` carries each result schema exact but without descriptions
/// (issue #20: 151 KB, 57 KB of it field descriptions every client fetched),
/// and the resource it names has the same schema with every description.
#[tokio::test]
async fn result_schemas_are_listed_bare_and_documented_as_resources() {
    fn without_descriptions(schema: &mut serde_json::Value) {
        match schema {
            serde_json::Value::Object(object) => {
                if object.get("description").is_some_and(serde_json::Value::is_string) {
                    object.remove("description");
                }
                object.values_mut().for_each(without_descriptions);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(without_descriptions),
            _ => {}
        }
    }
    let client = stdio_client(&["--allow-dir", "fixtures"]).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.len() >= 11, "{} tools", tools.len());
    let (mut listed_bytes, mut documented_bytes) = (0, 0);
    for tool in &tools {
        let listed = serde_json::Value::Object(tool.output_schema.as_deref().cloned().expect("an output schema"));
        let uri = format!("pcapsule://schemas/{}", tool.name);
        assert_eq!(
            listed["description"].as_str(),
            Some(format!("Every field is described in the resource {uri}.").as_str()),
            "{}",
            tool.name
        );
        let mut rest = listed.clone();
        rest.as_object_mut().unwrap().remove("description");
        let text = serde_json::to_string(&rest).unwrap();
        assert!(!text.contains("\"description\":\""), "{}: a description left in tools/list", tool.name);

        let read = client.read_resource(rmcp::model::ReadResourceRequestParams::new(uri.clone())).await.unwrap();
        let rmcp::model::ResourceContents::TextResourceContents { text, mime_type, .. } = &read.contents[0] else {
            panic!("{uri}: expected text");
        };
        assert_eq!(mime_type.as_deref(), Some("application/schema+json"), "{uri}");
        let mut documented: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(text.matches("\"description\"").count() >= 3, "{uri} describes its fields");
        listed_bytes += serde_json::to_string(&listed).unwrap().len();
        documented_bytes += serde_json::to_string(&documented).unwrap().len();
        without_descriptions(&mut documented);
        assert_eq!(documented, rest, "{uri}: the same schema as listed, descriptions aside");
    }
    assert!(listed_bytes * 10 < documented_bytes * 6, "listed {listed_bytes} bytes, documented {documented_bytes}");
    client.cancel().await.unwrap();
}
