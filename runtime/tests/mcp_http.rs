//! pcapsule over streamable HTTP, driven by rmcp's client, with the bearer
//! token required and checked.

mod common;

use common::{call, err, ok, pcapsule, repo, start_http};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

const TOKEN: &str = "test-token-0123456789abcdef";

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[tokio::test]
async fn tools_and_calls_over_http_with_a_bearer_token() {
    install_crypto();
    let (_child, url) = start_http(&[], Some(TOKEN)).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(TOKEN),
    );
    let client = ().serve(transport).await.expect("initialize over HTTP");
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "analyze_capinfos"));
    let prompts = client.list_all_prompts().await.unwrap();
    assert!(!prompts.is_empty());
    let result =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/multi-section.pcapng"})).await;
    assert_eq!(ok(&result)["packet_count"], 5);
    assert_eq!(ok(&result)["interface_count"], 3);
    let missing = call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/missing.pcap"})).await;
    assert_eq!(err(&missing)["kind"], "not_found");
    client.cancel().await.unwrap();

    // No token, or the wrong one: refused before MCP sees the request.
    let raw = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let good = format!("Bearer {TOKEN}");
    for auth in [None, Some("Bearer wrong-token-0123456789"), Some(TOKEN), Some(good.as_str())] {
        let mut request = raw
            .post(&url)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .json(&body);
        if let Some(a) = auth {
            request = request.header("Authorization", a);
        }
        let status = request.send().await.unwrap().status();
        assert_eq!(status == 401, auth != Some(good.as_str()), "auth {auth:?} gave {status}");
    }
    let wrong = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header("wrong-token-0123456789"),
    );
    assert!(().serve(wrong).await.is_err(), "a client with the wrong token cannot initialize");
}

#[tokio::test]
async fn non_loopback_http_without_a_token_is_refused() {
    let output = tokio::process::Command::new(pcapsule())
        .args(["serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0", "--no-cache"])
        .env_remove("PCAPSULE_AUTH_TOKEN")
        .env_remove("MCPCAP_AUTH_TOKEN")
        .current_dir(repo())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without authentication"), "{stderr}");
}

#[tokio::test]
async fn short_tokens_are_refused() {
    let output = tokio::process::Command::new(pcapsule())
        .args(["serve", "--transport", "http", "--port", "0", "--no-cache"])
        .env("PCAPSULE_AUTH_TOKEN", "short")
        .current_dir(repo())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("too short"));
}

#[tokio::test]
async fn foreign_origins_and_huge_bodies_are_refused() {
    install_crypto();
    let (_child, url) = start_http(&["--allow-origin", "https://inspector.example"], Some(TOKEN)).await;
    let raw = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let post = |origin: Option<&str>| {
        let mut r = raw
            .post(&url)
            .header("Accept", "application/json, text/event-stream")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .json(&body);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send()
    };
    assert_eq!(post(Some("http://evil.example")).await.unwrap().status(), 403, "a foreign browser origin is refused");
    for allowed in [None, Some("http://localhost:6274"), Some("https://inspector.example")] {
        let status = post(allowed).await.unwrap().status();
        assert!(status.is_success(), "{allowed:?} gave {status}");
    }
    assert_eq!(status_of_announced_body(&url, 2 * 1024 * 1024).await, 413, "request bodies are capped");
}

/// The status line's code for a POST that announces `length` bytes of body
/// and sends none: the server must refuse an oversized body from its
/// Content-Length alone. (Sending the 2 MiB made the test flaky: the server
/// answers 413 and closes while the client is still writing, and the
/// client then sees a broken pipe instead of the answer.)
async fn status_of_announced_body(url: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let path = &url[url.find(authority).unwrap() + authority.len()..];
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("the server answers before the body arrives")
            .unwrap();
        assert!(read > 0, "the server closed without answering: {}", String::from_utf8_lossy(&head));
        head.extend_from_slice(&buf[..read]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {line}"))
}

/// POSTs `initialize` without a session id; returns the status and the
/// session id the server assigned, if any.
async fn open_session(url: &str) -> (reqwest::StatusCode, Option<String>, String) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let response = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let id = response.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_string());
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap_or_default();
    (status, id, format!("{text} retry-after={retry_after:?}"))
}

/// Sends `ping` in session `id`; returns the status.
async fn ping(url: &str, id: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn sessions_are_limited_in_number() {
    install_crypto();
    let (_child, url) = start_http(&["--max-sessions", "2"], Some(TOKEN)).await;
    let (s1, first, _) = open_session(&url).await;
    let (s2, second, _) = open_session(&url).await;
    assert!(s1.is_success() && s2.is_success(), "{s1} {s2}");
    let (s3, third, body) = open_session(&url).await;
    assert_eq!(s3, 503, "a third session is refused: {body}");
    assert!(third.is_none());
    assert!(body.contains("--max-sessions") && body.contains("retry-after=Some(\"5\")"), "{body}");
    // Existing sessions keep working; closing one makes room.
    assert!(ping(&url, first.as_deref().unwrap()).await.is_success());
    let closed = reqwest::Client::new()
        .delete(&url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("mcp-session-id", second.unwrap())
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    let (s4, _, body) = open_session(&url).await;
    assert!(s4.is_success(), "room again after a close: {s4} {body}");
}

/// A burst of initializes, end to end (the accounting that makes it hold
/// under any interleaving is unit-tested in `mcp.rs`).
#[tokio::test]
async fn a_burst_of_initializes_never_overshoots_the_session_limit() {
    install_crypto();
    let (_child, url) = start_http(&["--max-sessions", "3"], Some(TOKEN)).await;
    let burst: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn({
                let url = url.clone();
                async move { open_session(&url).await }
            })
        })
        .collect();
    let mut opened = 0;
    for request in burst {
        let (status, id, body) = request.await.unwrap();
        match status.as_u16() {
            200..=299 => opened += usize::from(id.is_some()),
            503 => {}
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(opened <= 3, "16 racing initializes opened {opened} sessions past --max-sessions 3");
    // Whatever the burst left, the limit is reached exactly, one at a time.
    while opened < 3 {
        let (status, _, body) = open_session(&url).await;
        assert!(status.is_success(), "room is left below the limit: {status} {body}");
        opened += 1;
    }
    assert_eq!(open_session(&url).await.0, 503, "the limit holds after the burst");
}

#[tokio::test]
async fn idle_sessions_expire() {
    install_crypto();
    let (_child, url) = start_http(&["--max-sessions", "1", "--session-idle-secs", "1"], Some(TOKEN)).await;
    let (status, id, _) = open_session(&url).await;
    assert!(status.is_success());
    let id = id.unwrap();
    assert!(ping(&url, &id).await.is_success(), "fresh session answers");
    assert_eq!(open_session(&url).await.0, 503, "the only slot is taken");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(ping(&url, &id).await, 404, "an expired session is gone");
    let (status, _, body) = open_session(&url).await;
    assert!(status.is_success(), "its slot is free again: {status} {body}");
}
