//! Shared helpers for pcapsule's integration tests: where things are, and a
//! real MCP client (rmcp's) connected to a real `pcapsule` process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};

/// The `pcapsule` binary under test.
pub fn pcapsule() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pcapsule"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The generated fixture captures.
pub fn fixtures() -> PathBuf {
    repo().join("fixtures").join("captures")
}

/// Skips outside CI; with `CI=true` an oracle test that cannot run fails,
/// so that a green CI means the oracles ran.
fn missing(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is missing, and with CI=true every oracle test must run (install it, or unset CI to skip)");
    }
    eprintln!("skipping: {what} is missing");
}

/// `../shared/captures`, when present (tests using it skip cleanly
/// otherwise, except in CI).
pub fn shared_captures() -> Option<PathBuf> {
    let dir = repo().parent()?.join("shared").join("captures");
    if dir.is_dir() {
        Some(dir)
    } else {
        missing(&dir.display().to_string());
        None
    }
}

/// Whether a file name is a capture's: `.pcap`, `.pcapng` or `.cap`, each
/// also gzip-compressed (`.pcap.gz`), as Wireshark reads them.
pub fn is_capture_name(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stored = name.strip_suffix(".gz").unwrap_or(name);
    [".pcap", ".pcapng", ".cap"].iter().any(|ending| stored.ends_with(ending))
}

/// Every capture file under `dir`, recursively, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_capture_name(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a program is on PATH (oracle tests skip cleanly without it,
/// except in CI).
pub fn have(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        missing(program);
    }
    found
}

/// A folder holding only the test-only misbehaving component.
pub fn misbehave_dir() -> tempfile::TempDir {
    test_component_dir("test-misbehave")
}

/// A folder holding only the test-only component `name` (an
/// `analyzers/test-*` folder), for `--analyzers-dir`.
pub fn test_component_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wasm = Path::new(env!("PCAPSULE_TEST_COMPONENTS")).join(format!("{name}.wasm"));
    std::fs::copy(&wasm, dir.path().join(format!("{name}.wasm"))).unwrap();
    dir
}

/// A compiled-component cache shared by the tests of one build.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pcapsule-cache")
}

/// `pcapsule serve` over stdio with `args`, connected to an rmcp client.
pub async fn stdio_client(args: &[&str]) -> RunningService<RoleClient, ()> {
    let cache = cache_dir();
    let transport = TokioChildProcess::new(tokio::process::Command::new(pcapsule()).configure(|c| {
        c.arg("serve").arg("--cache-dir").arg(&cache).args(args).current_dir(repo());
    }))
    .expect("spawning pcapsule");
    ().serve(transport).await.expect("MCP initialize over stdio")
}

/// Calls a tool with JSON arguments.
pub async fn call(client: &RunningService<RoleClient, ()>, tool: &str, arguments: Value) -> CallToolResult {
    let arguments: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("calling {tool}: {e}"))
}

/// The structured content of a successful call (panics with the error otherwise).
pub fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {:?}", result.structured_content);
    result.structured_content.as_ref().expect("structured content")
}

/// The `error` object of a failed call (panics if the call succeeded).
/// Errors come as JSON text only: `structuredContent` is for results that
/// match the tool's output schema.
pub fn err(result: &CallToolResult) -> Value {
    assert_eq!(result.is_error, Some(true), "expected a tool error, got {:?}", result.structured_content);
    assert!(result.structured_content.is_none(), "an error carries no structured content");
    body(result)["error"].clone()
}

/// A call's JSON: the structured result, or the error's JSON text.
pub fn body(result: &CallToolResult) -> Value {
    if let Some(value) = &result.structured_content {
        return value.clone();
    }
    let text = result.content[0].as_text().expect("text content");
    serde_json::from_str(&text.text).expect("the text is JSON")
}

/// The `host:port` of the server at `url`.
pub fn authority(url: &str) -> String {
    url.trim_start_matches("http://").split('/').next().unwrap().to_string()
}

/// Starts `pcapsule serve --transport http` on a free loopback port; returns
/// the child and the MCP endpoint URL it announced on stderr.
pub async fn start_http(extra: &[&str], token: Option<&str>) -> (tokio::process::Child, String) {
    start_http_on("127.0.0.1", extra, token).await
}

/// [`start_http`] bound to `host`.
pub async fn start_http_on(host: &str, extra: &[&str], token: Option<&str>) -> (tokio::process::Child, String) {
    let mut command = tokio::process::Command::new(pcapsule());
    command
        .args(["serve", "--transport", "http", "--host", host, "--port", "0", "--allow-dir", "fixtures"])
        .arg("--cache-dir")
        .arg(cache_dir())
        .args(extra)
        .current_dir(repo())
        .env_remove("PCAPSULE_AUTH_TOKEN")
        .env_remove("MCPCAP_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("PCAPSULE_AUTH_TOKEN", token);
    }
    let mut child = command.spawn().expect("spawning pcapsule");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("serving MCP over HTTP at ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("pcapsule exited without serving HTTP");
    })
    .await
    .expect("pcapsule announced its HTTP address");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// Writes `just bench`'s realistic mix (thousands of hosts; DNS, DHCP,
/// ICMP, TCP, SIP, NTP, ARP) of `packets` packets to `path`: a capture
/// busy enough that every table of every tool fills, so results meet
/// their byte budgets.
pub fn write_busy_capture(path: &Path, packets: u64) {
    write_bench_capture(path, packets, pcapsule_bench::Mix::Mixed);
}

/// Writes one of `just bench`'s mixes of `packets` packets to `path`.
pub fn write_bench_capture(path: &Path, packets: u64, mix: pcapsule_bench::Mix) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    pcapsule_bench::generate(&mut out, packets, pcapsule_bench::DEFAULT_SEED, mix).unwrap();
    std::io::Write::flush(&mut out).unwrap();
}

/// Writes a classic pcap of `packets` TCP SYNs from many clients to many
/// ports of one server (70 bytes a packet): big captures for the tests that
/// need a long analysis, made in a blink.
pub fn write_syn_capture(path: &Path, packets: u32) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        out.write_all(&field.to_le_bytes()).unwrap();
    }
    let mut frame = [0u8; 54];
    frame[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    for i in 0..packets {
        let ip = &mut frame[14..34];
        ip.copy_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 0, 192, 168, 1, 1]);
        ip[13..16].copy_from_slice(&[(i >> 16) as u8, (i >> 8) as u8, i as u8]);
        let checksum = ipv4_checksum(ip);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        let tcp = &mut frame[34..54];
        tcp.fill(0);
        tcp[0..2].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
        tcp[2..4].copy_from_slice(&(1 + (i % 1000) as u16).to_be_bytes());
        tcp[4..8].copy_from_slice(&i.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x02;
        tcp[14..16].copy_from_slice(&64_240u16.to_be_bytes());
        let (secs, micros) = (1_700_000_000 + i / 10_000, (i % 10_000) * 100);
        for field in [secs, micros, 54, 54] {
            out.write_all(&field.to_le_bytes()).unwrap();
        }
        out.write_all(&frame).unwrap();
    }
    out.flush().unwrap();
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum = 0u32;
    for (index, pair) in header.chunks(2).enumerate() {
        if index != 5 {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes a classic pcap of one DNS-over-TCP stream carrying `bombs`
/// crafted responses (each a 16 KiB message whose 600 answers all point
/// into a chain of 4,000 compression pointers, each pointing to the one
/// before: legal for hickory, and a walk of the whole chain per name),
/// then one ordinary query over UDP: the readable part a tool must still
/// report after the bombs.
pub fn write_dns_pointer_bomb_capture(path: &Path, bombs: u32) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        out.write_all(&field.to_le_bytes()).unwrap();
    }
    let bomb = pointer_bomb(4000, 600);
    let mut stream = Vec::new();
    for _ in 0..bombs {
        stream.extend_from_slice(&(bomb.len() as u16).to_be_bytes());
        stream.extend_from_slice(&bomb);
    }
    let mut seq = 1u32;
    let mut frame_time = 0u32;
    let mut write_frame = |out: &mut std::io::BufWriter<std::fs::File>, protocol: u8, l4: &[u8]| {
        let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        let total = (20 + l4.len()) as u16;
        let mut ip = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protocol, 0, 0, 192, 0, 2, 53, 192, 0, 2, 10];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let checksum = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(l4);
        frame_time += 1;
        for field in
            [1_700_000_000 + frame_time / 1000, (frame_time % 1000) * 1000, frame.len() as u32, frame.len() as u32]
        {
            out.write_all(&field.to_le_bytes()).unwrap();
        }
        out.write_all(&frame).unwrap();
    };
    for piece in stream.chunks(60_000) {
        let mut tcp = vec![0, 53, 0xc0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0];
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(piece);
        write_frame(&mut out, 6, &tcp);
        seq = seq.wrapping_add(piece.len() as u32);
    }
    // An ordinary query for readable.example, over UDP.
    let mut query = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x08readable\x07example\x00\x00\x01\x00\x01");
    let mut udp = vec![0xc0, 0x02, 0, 53, 0, 0, 0, 0];
    udp[4..6].copy_from_slice(&((8 + query.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&query);
    write_frame(&mut out, 17, &udp);
    out.flush().unwrap();
}

/// A DNS response whose `answers` owners point to the end of a chain of
/// `depth` pointers, each to the one before, ending at the question's name.
fn pointer_bomb(depth: usize, answers: u16) -> Vec<u8> {
    let mut bytes = vec![0x12, 0x34, 0x81, 0x80, 0, 1];
    bytes.extend_from_slice(&(answers + 1).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
    // One record of an unassigned type carries the chain as its data.
    bytes.extend_from_slice(&[0xc0, 12, 0xff, 0x00, 0, 1, 0, 0, 0, 60]);
    bytes.extend_from_slice(&((depth * 2) as u16).to_be_bytes());
    let mut previous = 12u16;
    for _ in 0..depth {
        let here = bytes.len() as u16;
        bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
        previous = here;
    }
    for _ in 0..answers {
        bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
        bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    bytes
}

/// A little-endian pcapng block of `kind` around `body` (a multiple of 4 bytes).
fn pcapng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let length = (12 + body.len()) as u32;
    [&kind.to_le_bytes()[..], &length.to_le_bytes(), body, &length.to_le_bytes()].concat()
}

/// Writes a pcapng file: a section header, `interfaces` interface blocks
/// (Ethernet) each carrying `options_each` empty comments, then a DNS query
/// on interface 0.
pub fn write_pcapng_bomb(path: &std::path::Path, interfaces: usize, options_each: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut header = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
    header.extend_from_slice(&u64::MAX.to_le_bytes());
    out.write_all(&pcapng_block(0x0a0d_0d0a, &header)).unwrap();
    let mut interface = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
    for _ in 0..options_each {
        // Empty comments: pcap-file kept each one as an owned option.
        interface.extend_from_slice(&[1, 0, 0, 0]);
    }
    let interface = pcapng_block(1, &interface);
    for _ in 0..interfaces {
        out.write_all(&interface).unwrap();
    }
    // One DNS query, Ethernet/IPv4/UDP, on interface 0.
    let mut query = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x08readable\x07example\x00\x00\x01\x00\x01");
    let udp_length = (8 + query.len()) as u16;
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    frame.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 10, 192, 0, 2, 53]);
    frame[16..18].copy_from_slice(&(20 + udp_length).to_be_bytes());
    frame.extend_from_slice(&[0xc0, 0x02, 0, 53]);
    frame.extend_from_slice(&udp_length.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&query);
    let mut packet = Vec::new();
    for field in [0u32, 0, 1_000_000, frame.len() as u32, frame.len() as u32] {
        packet.extend_from_slice(&field.to_le_bytes());
    }
    packet.extend_from_slice(&frame);
    packet.resize(packet.len().next_multiple_of(4), 0);
    out.write_all(&pcapng_block(6, &packet)).unwrap();
    out.flush().unwrap();
}
