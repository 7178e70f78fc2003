//! Progress notifications while a capture streams into the sandbox, and
//! `notifications/cancelled` stopping a running analysis.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{cache_dir, misbehave_dir, pcapsule, repo};
use rmcp::model::{CallToolRequestParams, ClientRequest, ProgressNotificationParam, Request};
use rmcp::service::{NotificationContext, PeerRequestOptions};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;

#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

async fn client(
    components: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> rmcp::service::RunningService<RoleClient, Recorder> {
    let transport = TokioChildProcess::new(tokio::process::Command::new(pcapsule()).configure(|c| {
        c.arg("serve")
            .arg("--cache-dir")
            .arg(cache_dir())
            .arg("--analyzers-dir")
            .arg(components)
            .arg("--allow-dir")
            .arg(data)
            .args(extra)
            .current_dir(repo());
    }))
    .unwrap();
    Recorder::default().serve(transport).await.unwrap()
}

#[tokio::test]
async fn progress_is_reported_while_the_capture_streams() {
    let components = misbehave_dir();
    let data = tempfile::tempdir().unwrap();
    let capture = data.path().join("big.pcap");
    std::fs::write(&capture, vec![7u8; 1 << 20]).unwrap();
    let client = client(components.path(), data.path(), &[]).await;
    let args = json!({"pcap_file": capture.to_str().unwrap()}).as_object().cloned().unwrap();
    let result =
        client.call_tool(CallToolRequestParams::new("misbehave_read_slowly").with_arguments(args)).await.unwrap();
    assert_eq!(result.structured_content.unwrap()["bytes"], 1 << 20);
    let progress = client.service().progress.lock().unwrap().clone();
    assert!(progress.len() >= 2, "expected several progress notifications, got {}", progress.len());
    let values: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "progress only grows: {values:?}");
    assert!(progress.iter().all(|p| p.total == Some((1 << 20) as f64)));
    assert!(progress[0].message.as_deref().unwrap_or("").contains("capture bytes"));
    client.cancel().await.unwrap();
}

/// CPU time (user + system, in clock ticks) of the process `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The child process of this test whose command line contains `marker`
/// (tests in this file run in parallel, each with its own server).
fn child_with(marker: &str) -> Option<u32> {
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(marker) {
                return Some(pid);
            }
        }
    }
    None
}

#[tokio::test]
async fn cancelling_a_call_stops_the_analysis() {
    let components = misbehave_dir();
    let data = tempfile::tempdir().unwrap();
    let capture = data.path().join("any.pcap");
    std::fs::write(&capture, b"x").unwrap();
    let limits =
        ["--limit", "test-misbehave.fuel=18000000000000000000", "--limit", "test-misbehave.wall_clock_secs=600"];
    let client = client(components.path(), data.path(), &limits).await;
    let args = json!({"pcap_file": capture.to_str().unwrap()}).as_object().cloned().unwrap();
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("misbehave_spin").with_arguments(args),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = child_with("18000000000000000000").expect("the pcapsule server process");
    let spinning = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cpu_ticks(pid) > spinning, "the guest is spinning before the cancel");
    let cancelled_at = Instant::now();
    handle.cancel(Some("test".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_cancel = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = cpu_ticks(pid) - after_cancel;
    assert!(idle <= 5, "the server kept burning CPU after the cancel: {idle} ticks in 1 s");
    // And it still answers.
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "misbehave_spin"));
    assert!(cancelled_at.elapsed() < Duration::from_secs(10));
    client.cancel().await.unwrap();
}

/// A million packets through MCP: progress along the way, a bounded result,
/// and a cancel in the middle that stops the work.
#[tokio::test]
async fn a_million_packets_with_progress_a_bounded_result_and_cancel() {
    let components = misbehave_dir();
    let data = tempfile::tempdir().unwrap();
    let capture = data.path().join("million.pcap");
    common::write_syn_capture(&capture, 1_000_000);
    let size = std::fs::metadata(&capture).unwrap().len();
    let marker = data.path().to_str().unwrap().to_string();
    let client = client(components.path(), data.path(), &[]).await;
    let args = json!({"pcap_file": capture.to_str().unwrap()}).as_object().cloned().unwrap();

    // Cancelled half way: the server stops working at once.
    let handle = client
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(
                CallToolRequestParams::new("analyze_tcp_connections").with_arguments(args.clone()),
            )),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let pid = child_with(&marker).expect("the pcapsule server process");
    handle.cancel(Some("test".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_cancel = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = cpu_ticks(pid) - after_cancel;
    assert!(idle <= 5, "the server kept analyzing after the cancel: {idle} ticks in 1 s");
    client.service().progress.lock().unwrap().clear();

    // The whole call, with progress notifications along the way.
    let result =
        client.call_tool(CallToolRequestParams::new("analyze_tcp_anomalies").with_arguments(args)).await.unwrap();
    let value = result.structured_content.expect("a result");
    let text = value.to_string();
    assert!(text.len() < 100_000, "bounded result: {} bytes", text.len());
    assert_eq!(value["statistics"]["total_packets"], 1_000_000, "{text:.1000}");
    assert!(text.contains("possible_syn_flood") || text.contains("unanswered"), "{text:.2000}");
    let progress = client.service().progress.lock().unwrap().clone();
    assert!(progress.len() >= 2, "several progress notifications, got {}", progress.len());
    let values: Vec<f64> = progress.iter().map(|p| p.progress).collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "progress only grows: {values:?}");
    assert!(progress.iter().all(|p| p.total == Some(size as f64)));
    client.cancel().await.unwrap();
}

/// A stdio client that goes away in the middle of a call (stdin and stdout
/// closed) stops the call: the server exits at once instead of running the
/// analysis on for nobody (rmcp alone waits 5 s for in-flight answers).
#[tokio::test]
async fn a_client_that_disconnects_stops_its_call() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let components = misbehave_dir();
    let data = tempfile::tempdir().unwrap();
    let capture = data.path().join("any.pcap");
    std::fs::write(&capture, b"x").unwrap();
    let mut server = tokio::process::Command::new(pcapsule())
        .arg("serve")
        .arg("--cache-dir")
        .arg(cache_dir())
        .arg("--analyzers-dir")
        .arg(components.path())
        .arg("--allow-dir")
        .arg(data.path())
        .args(["--limit", "test-misbehave.wall_clock_secs=600"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = tokio::io::BufReader::new(server.stdout.take().unwrap());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "leaver", "version": "0"}}});
    stdin.write_all(format!("{initialize}\n").as_bytes()).await.unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    assert!(line.contains("protocolVersion"), "{line}");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "misbehave_spin", "arguments": {"pcap_file": capture.to_str().unwrap()}}});
    for message in [json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), call] {
        stdin.write_all(format!("{message}\n").as_bytes()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = server.id().unwrap();
    let spinning = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cpu_ticks(pid) > spinning, "the guest is spinning before the client leaves");
    let left_at = Instant::now();
    drop(stdin);
    drop(stdout);
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait()).await.expect("the server exits").unwrap();
    assert!(status.success(), "{status}");
    assert!(left_at.elapsed() < Duration::from_secs(2), "the server ran on for {:?}", left_at.elapsed());
}
