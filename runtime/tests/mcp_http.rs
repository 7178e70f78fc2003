//! pcapsule over streamable HTTP, driven by rmcp's client, with the bearer
//! token required and checked.

mod common;

use common::{authority, call, err, ok, pcapsule, repo, start_http};
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
    assert_eq!(status_of_chunked_body(&url, 1024 * 1024 + 1).await, 413, "chunked bodies are capped too");
}

/// The status line's code for a chunked POST of `length` bytes that stops
/// right after the chunk that crosses the cap (so the server has read all
/// that was sent when it answers, and closes cleanly).
async fn status_of_chunked_body(url: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = authority(url);
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut left = length;
    while left > 0 {
        let size = left.min(64 * 1024);
        let chunk = [format!("{size:x}\r\n").into_bytes(), vec![b' '; size], b"\r\n".to_vec()].concat();
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
        left -= size;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let line = String::from_utf8_lossy(&answer);
    line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {line}"))
}

/// The status line's code for a POST that announces `length` bytes of body
/// and sends none: the server must refuse an oversized body from its
/// Content-Length alone. (Sending the 2 MiB made the test flaky: the server
/// answers 413 and closes while the client is still writing, and the
/// client then sees a broken pipe instead of the answer.)
async fn status_of_announced_body(url: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = authority(url);
    let path = &url[url.find(&authority).unwrap() + authority.len()..];
    let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
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
    // 200 (or 204), as the MCP Python SDK expects of a terminated session.
    assert_eq!(closed.status(), 200);
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

/// Reads from `stream` until the server closes it (or resets it); panics if
/// that takes longer than `within`. Returns what was read.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open for {within:?}: {}", String::from_utf8_lossy(&seen));
    seen
}

/// Connections that trickle a request head one byte at a time, or send
/// nothing, or go quiet after a request, are closed by the header timeout,
/// while a client with the token is served all along.
#[tokio::test]
async fn slow_and_idle_connections_are_closed_and_others_still_served() {
    use tokio::io::AsyncWriteExt;
    install_crypto();
    let (_child, url) = start_http(&["--http-header-timeout-secs", "1"], Some(TOKEN)).await;
    let host = authority(&url);
    let started = std::time::Instant::now();
    let mut attackers = Vec::new();
    for index in 0..24 {
        let host = host.clone();
        attackers.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
            let opened = std::time::Instant::now();
            match index % 3 {
                // One byte of an endless head every 100 ms, until the server hangs up.
                0 => {
                    let head = format!("POST /mcp HTTP/1.1\r\nHost: {host}\r\nX-Slow: ");
                    let mut bytes = head.into_bytes().into_iter().chain(std::iter::repeat(b'a'));
                    while stream.write_all(&[bytes.next().unwrap()]).await.is_ok() {
                        if opened.elapsed() > std::time::Duration::from_secs(20) {
                            panic!("a trickling head was never cut off");
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
                // Nothing at all.
                1 => {
                    read_until_closed(&mut stream, std::time::Duration::from_secs(10)).await;
                }
                // One complete request (refused for want of a token), then idle.
                _ => {
                    let request = format!("GET /mcp HTTP/1.1\r\nHost: {host}\r\n\r\n");
                    stream.write_all(request.as_bytes()).await.unwrap();
                    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(10)).await;
                    assert!(answer.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&answer));
                }
            }
            opened.elapsed()
        }));
    }
    // Served while the slow connections are open.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(TOKEN),
    );
    let client = ().serve(transport).await.expect("initialize while slow clients hold connections");
    let result =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/multi-section.pcapng"})).await;
    assert_eq!(ok(&result)["packet_count"], 5);
    for attacker in attackers {
        let held = attacker.await.unwrap();
        assert!(held < std::time::Duration::from_secs(5), "a slow connection was held {held:?} with a 1 s timeout");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    client.cancel().await.unwrap();
}

/// Over the connection cap, a new connection gets 503 at once and is
/// closed; once the idle connections time out, there is room again.
#[tokio::test]
async fn connections_over_the_cap_get_a_quick_503() {
    install_crypto();
    let (_child, url) = start_http(&["--max-connections", "4", "--http-header-timeout-secs", "2"], Some(TOKEN)).await;
    let host = authority(&url);
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tokio::net::TcpStream::connect(&host).await.unwrap());
    }
    // Accepted connections are counted by the server's accept loop, which
    // may not have seen the last one yet: give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut over = tokio::net::TcpStream::connect(&host).await.unwrap();
    let answer = read_until_closed(&mut over, std::time::Duration::from_secs(1)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503") && text.contains("--max-connections"), "{text}");
    for mut stream in idle {
        read_until_closed(&mut stream, std::time::Duration::from_secs(6)).await;
    }
    let (status, _, body) = open_session(&url).await;
    assert!(status.is_success(), "room again once the idle connections were closed: {status} {body}");
}

/// Request bodies that trickle in are cut off with 408 and never hold a
/// session slot: new clients still open sessions meanwhile.
#[tokio::test]
async fn slow_request_bodies_hold_no_session_slot() {
    use tokio::io::AsyncWriteExt;
    install_crypto();
    let (_child, url) = start_http(&["--max-sessions", "2", "--http-body-timeout-secs", "1"], Some(TOKEN)).await;
    let host = authority(&url);
    let mut slow = Vec::new();
    for _ in 0..4 {
        let host = host.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
            let head = format!(
                "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, text/event-stream\r\n\
                 Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 200\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let opened = std::time::Instant::now();
            let (mut reader, mut writer) = stream.into_split();
            let trickle = tokio::spawn(async move {
                while writer.write_all(b" ").await.is_ok() {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
            });
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut answer),
            )
            .await;
            trickle.abort();
            (String::from_utf8_lossy(&answer).to_string(), opened.elapsed())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..2 {
        let (status, id, body) = open_session(&url).await;
        assert!(status.is_success() && id.is_some(), "slow bodies must not hold session slots: {status} {body}");
    }
    for request in slow {
        let (answer, held) = request.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "a slow body is cut off with 408: {answer}");
        assert!(held < std::time::Duration::from_secs(5), "held {held:?} with a 1 s body timeout");
    }
}

/// A server bound to a loopback address other than 127.0.0.1 answers
/// requests addressed to it, and still refuses a foreign Host (the
/// DNS-rebinding defence).
#[tokio::test]
async fn a_server_on_another_loopback_address_accepts_its_own_host() {
    install_crypto();
    let (_child, url) = common::start_http_on("127.0.0.2", &[], Some(TOKEN)).await;
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let (status, id, body) = open_session(&url).await;
    assert!(status.is_success() && id.is_some(), "Host: 127.0.0.2 is the server's own address: {status} {body}");
    let rebound = reqwest::Client::new()
        .post(&url)
        .header("Host", "evil.example")
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert!(rebound.status().is_client_error(), "a foreign Host is refused: {}", rebound.status());
}
