//! Load: many MCP clients over streamable HTTP on loopback, calling every
//! tool on real captures at once, with slow clients mixed in (connections
//! that trickle a request head one byte at a time, or say nothing, and
//! reconnect when the server closes them). Every call must give the same
//! answer it gives alone ("busy" is retried, as a client should), the slow
//! connections must be closed by the header timeout, and the server's
//! memory must stay bounded and flat over the run.
//!
//! Short by default (CI); `just load-test` runs the long version through
//! `PCAPSULE_LOAD_CLIENTS`, `PCAPSULE_LOAD_CALLS` (calls per client) and
//! `PCAPSULE_LOAD_SLOW` (slow clients).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{authority, call, captures_under, fixtures, shared_captures, start_http};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

const TOKEN: &str = "load-test-token-0123456789abcdef";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What a call gave, without what changes from run to run.
fn outcome(result: &rmcp::model::CallToolResult) -> Value {
    let mut body = common::body(result);
    if let Some(map) = body.as_object_mut() {
        map.remove("analysis_timestamp");
    }
    json!({"error": result.is_error == Some(true), "body": body})
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn connect(url: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(TOKEN),
    );
    ().serve(transport).await.expect("initialize over HTTP")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_calling_every_tool_at_once() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clients = env_number("PCAPSULE_LOAD_CLIENTS", 8);
    let calls_per_client = env_number("PCAPSULE_LOAD_CALLS", 40);
    // Real captures when present: a spread of protocols and sizes (up to 4 MB).
    let mut captures = vec![fixtures().join("dns-udp-ethernet.pcap"), fixtures().join("multi-section.pcapng")];
    let mut extra_args = vec![];
    let shared = shared_captures();
    if let Some(shared) = &shared {
        let mut found: Vec<_> = captures_under(shared)
            .into_iter()
            .filter(|p| !p.to_string_lossy().contains("/hostile/"))
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= 4 << 20))
            .collect();
        found.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
        // The largest few and some small ones.
        captures.extend(found.iter().take(4).cloned());
        captures.extend(found.iter().rev().step_by(17).take(6).cloned());
        extra_args.push("--allow-dir".to_string());
        extra_args.push(shared.display().to_string());
    }
    extra_args.extend(["--max-concurrent-calls".to_string(), "4".to_string(), "--max-sessions".to_string()]);
    // Room for every client: a session being opened is briefly counted
    // twice (see `reserve_session`), and under load many are opened at
    // once; the limit itself is tested in mcp_http.rs.
    extra_args.push((clients * 2 + 4).to_string());
    // Slow clients are cut off after 2 s; every client here shares one
    // address, so the per-client cap is lifted (it is tested in mcp_http.rs).
    extra_args.extend(
        ["--http-header-timeout-secs", "2", "--max-connections-per-client", "4096", "--max-connections", "4096"]
            .map(String::from),
    );
    let slow_clients = env_number("PCAPSULE_LOAD_SLOW", 16);
    let args: Vec<&str> = extra_args.iter().map(String::as_str).collect();
    let (child, url) = start_http(&args, Some(TOKEN)).await;
    let pid = child.id().unwrap();

    // What each call gives alone, one at a time.
    let first = connect(&url).await;
    let mut tools: Vec<String> =
        first.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    tools.retain(|t| t != "analyze_many" && t != "list_captures");
    let mut jobs = Vec::new();
    for capture in &captures {
        for tool in &tools {
            let mut arguments = json!({"pcap_file": capture.to_str().unwrap()});
            if tool == "analyze_traffic_flow" {
                arguments["server_ip"] = json!("10.0.0.1");
            }
            let expected = outcome(&call(&first, tool, arguments.clone()).await);
            jobs.push((tool.clone(), arguments, expected));
        }
    }
    first.cancel().await.unwrap();
    let jobs = Arc::new(jobs);
    let baseline_kib = rss_kib(pid).unwrap_or(0);

    let sampling = Arc::new(AtomicBool::new(true));
    let samples = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.push(kib);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };
    let busy_retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let slow_running = Arc::new(AtomicBool::new(true));
    let slow_tasks: Vec<_> = (0..slow_clients)
        .map(|index| tokio::spawn(slow_client(authority(&url), index % 2 == 0, slow_running.clone())))
        .collect();
    let mut tasks = Vec::new();
    for client_index in 0..clients {
        let (url, jobs, busy_retries) = (url.clone(), jobs.clone(), busy_retries.clone());
        tasks.push(tokio::spawn(async move {
            let client = connect(&url).await;
            let mut mismatches = Vec::new();
            for n in 0..calls_per_client {
                let (tool, arguments, expected) = &jobs[((client_index * 7 + n * 13) as usize) % jobs.len()];
                let got = loop {
                    let result = call(&client, tool, arguments.clone()).await;
                    let got = outcome(&result);
                    if got["body"]["error"]["kind"] == "busy" {
                        busy_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    break got;
                };
                if &got != expected {
                    mismatches.push(format!("{tool} {arguments}: got {got:.300} expected {expected:.300}"));
                }
            }
            client.cancel().await.unwrap();
            mismatches
        }));
    }
    let mut mismatches = Vec::new();
    for task in tasks {
        mismatches.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    // The slow clients stay at least long enough for the header timeout to
    // close their first connections.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(elapsed)).await;
    slow_running.store(false, Ordering::Relaxed);
    let (mut slow_closed, mut longest_held) = (0u64, Duration::ZERO);
    for task in slow_tasks {
        let (closed, held) = task.await.unwrap();
        slow_closed += closed;
        longest_held = longest_held.max(held);
    }
    sampling.store(false, Ordering::Relaxed);
    let samples = samples.await.unwrap();
    let total_calls = clients * calls_per_client;
    let peak = samples.iter().copied().max().unwrap_or(0);
    let half = samples.len() / 2;
    let first_half = samples[..half].iter().copied().max().unwrap_or(0);
    let second_half = samples[half..].iter().copied().max().unwrap_or(0);
    eprintln!(
        "load: {clients} clients x {calls_per_client} calls = {total_calls} calls over {} captures x {} tools in \
         {:.1} s ({:.1} calls/s), {} busy retries; server RSS: {} MiB before, peak {} MiB (first half {} MiB, \
         second half {} MiB); {slow_clients} slow clients: {slow_closed} connections closed by the server, the \
         longest held {:.1} s",
        captures.len(),
        tools.len(),
        elapsed.as_secs_f64(),
        total_calls as f64 / elapsed.as_secs_f64(),
        busy_retries.load(Ordering::Relaxed),
        baseline_kib >> 10,
        peak >> 10,
        first_half >> 10,
        second_half >> 10,
        longest_held.as_secs_f64(),
    );
    if slow_clients > 0 {
        assert!(slow_closed > 0, "no slow connection was closed in {elapsed:?}");
    }
    assert!(longest_held < Duration::from_secs(6), "a slow connection was held {longest_held:?} (timeout 2 s)");
    assert!(
        mismatches.is_empty(),
        "{} calls differed from the same call alone:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // Four analyses at once at 256 MiB of guest memory each is the ceiling;
    // in practice far less. Flat: the second half of the run must not climb
    // above the first (allowing for allocator noise).
    assert!(peak < 1536 << 10, "server RSS peaked at {} MiB", peak >> 10);
    if half > 20 {
        assert!(
            second_half <= first_half + first_half / 4 + (32 << 10),
            "server memory grew over the run: first half peak {} MiB, second half {} MiB",
            first_half >> 10,
            second_half >> 10
        );
    }
    drop(child);
}

/// A client that holds connections without finishing a request: it trickles
/// an endless head one byte per 100 ms (`trickle`) or sends nothing, until
/// the server closes the connection, then opens another, while `running`.
/// Returns how many connections the server closed and the longest one lasted.
async fn slow_client(host: String, trickle: bool, running: Arc<AtomicBool>) -> (u64, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut closed, mut longest) = (0, Duration::ZERO);
    while running.load(Ordering::Relaxed) {
        let Ok(mut stream) = tokio::net::TcpStream::connect(&host).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let opened = Instant::now();
        let head = format!("POST /mcp HTTP/1.1\r\nHost: {host}\r\nX-Slow: ");
        let mut bytes = head.into_bytes().into_iter().chain(std::iter::repeat(b'a'));
        let mut buf = [0u8; 512];
        let ended = loop {
            if !running.load(Ordering::Relaxed) {
                break false;
            }
            if trickle {
                if stream.write_all(&[bytes.next().unwrap()]).await.is_err() {
                    break true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            } else {
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
                {
                    break true;
                }
            }
        };
        if ended {
            closed += 1;
            longest = longest.max(opened.elapsed());
        }
    }
    (closed, longest)
}
