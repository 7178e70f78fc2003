use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use pcapsule_guest::RunError;
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, in_parallel, run_tool, shared_captures, tcp_frame, tshark_fields_with,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Http;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

/// One TCP connection, built segment by segment with sequence numbers kept.
struct Connection {
    client_port: u16,
    port: u16,
    client_seq: u32,
    server_seq: u32,
    frames: Vec<Vec<u8>>,
}

impl Connection {
    /// A connection to `port` from client port 40000, its handshake done.
    fn new(port: u16) -> Self {
        Self::from_port(40000, port)
    }

    fn from_port(client_port: u16, port: u16) -> Self {
        let mut c = Connection { client_port, port, client_seq: 1000, server_seq: 5000, frames: Vec::new() };
        c.frames.push(tcp_frame(CLIENT, SERVER, client_port, port, 999, 0, "S", b""));
        c.frames.push(tcp_frame(SERVER, CLIENT, port, client_port, 4999, 1000, "SA", b""));
        c.frames.push(tcp_frame(CLIENT, SERVER, client_port, port, 1000, 5000, "A", b""));
        c
    }

    fn client(&mut self, payload: &[u8]) -> &mut Self {
        self.frames.push(tcp_frame(
            CLIENT,
            SERVER,
            self.client_port,
            self.port,
            self.client_seq,
            self.server_seq,
            "PA",
            payload,
        ));
        self.client_seq += payload.len() as u32;
        self
    }

    fn server(&mut self, payload: &[u8]) -> &mut Self {
        self.frames.push(tcp_frame(
            SERVER,
            CLIENT,
            self.port,
            self.client_port,
            self.server_seq,
            self.client_seq,
            "PA",
            payload,
        ));
        self.server_seq += payload.len() as u32;
        self
    }

    /// The server's next `n` bytes were never captured (the client acks them).
    fn server_lost(&mut self, n: u32) -> &mut Self {
        self.server_seq += n;
        self
    }

    fn server_fin(&mut self) -> &mut Self {
        self.frames.push(tcp_frame(
            SERVER,
            CLIENT,
            self.port,
            self.client_port,
            self.server_seq,
            self.client_seq,
            "FA",
            b"",
        ));
        self.server_seq += 1;
        self.frames.push(tcp_frame(
            CLIENT,
            SERVER,
            self.client_port,
            self.port,
            self.client_seq,
            self.server_seq,
            "A",
            b"",
        ));
        self
    }

    fn pcap(&self) -> Vec<u8> {
        let mut builder = PcapBuilder::ethernet();
        for (i, frame) in self.frames.iter().enumerate() {
            builder = builder.packet(1_700_000_000, i as u32 * 1000, frame);
        }
        builder.build()
    }
}

fn requests(capture: &[u8], params: Value) -> Value {
    run_tool::<Http>("analyze_http_requests", params, capture).expect("the tool runs")
}

fn objects(capture: &[u8]) -> Value {
    run_tool::<Http>("analyze_http_objects", json!({"limit": 100}), capture).expect("the tool runs")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Keep-alive with pipelining, HEAD, a chunked gzip body split across
/// segments, 100 Continue before a form post, a redirect and a 404.
fn keep_alive() -> (Vec<u8>, Vec<u8>) {
    let mut state = 12345u32;
    let page: Vec<u8> = (0..3000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (state >> 16) as u8 % 26
        })
        .collect();
    let packed = gzip(&page);
    let mut chunked = format!("{:x}\r\n", 100).into_bytes();
    chunked.extend_from_slice(&packed[..100]);
    chunked.extend_from_slice(format!("\r\n{:x};ext=1\r\n", packed.len() - 100).as_bytes());
    chunked.extend_from_slice(&packed[100..]);
    chunked.extend_from_slice(b"\r\n0\r\nX-Trailer: 1\r\n\r\n");
    let mut c = Connection::new(8080);
    c.client(b"GET /a.txt HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\nHEAD /b HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\nServer: test\r\n\r\nhello")
        .server(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n")
        .client(b"GET /page.html?password=hunter2 HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic YWxpY2U6czNjcjN0\r\nCookie: sid=1; theme=dark\r\n\r\n");
    let head =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\n\r\n";
    let mut response = head.to_vec();
    response.extend_from_slice(&chunked);
    for piece in response.chunks(97) {
        c.server(piece);
    }
    c.client(b"POST /login HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 25\r\nExpect: 100-continue\r\n\r\n")
        .server(b"HTTP/1.1 100 Continue\r\n\r\n")
        .client(b"user=bob&passwd=opensesam")
        .server(b"HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n")
        .client(b"GET /missing HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!")
        .server_fin();
    (c.pcap(), page)
}

#[test]
fn requests_and_responses_pair_up_on_a_keep_alive_connection() {
    let (capture, _) = keep_alive();
    let r = requests(&capture, json!({}));
    let stats = &r["statistics"];
    assert_eq!(stats["requests"], 5, "{stats}");
    assert_eq!(stats["responses"], 5);
    assert_eq!(stats["interim_responses"], 1);
    assert_eq!(stats["unanswered_requests"], 0);
    assert_eq!(stats["methods"], json!({"GET": 3, "HEAD": 1, "POST": 1}));
    assert_eq!(stats["status_codes"], json!({"200": 3, "302": 1, "404": 1}));
    assert_eq!(stats["redirects"], 1);
    assert_eq!(stats["requests_with_credentials"], 2);
    let t = r["transactions"].as_array().unwrap();
    let summary: Vec<(String, u64, u64)> = t
        .iter()
        .map(|t| {
            (
                t["request"]["uri"].as_str().unwrap().to_string(),
                t["response"]["status"].as_u64().unwrap(),
                t["response"]["body_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let packed_len = t[2]["response"]["body_bytes"].as_u64().unwrap();
    assert_eq!(
        summary,
        [
            ("/a.txt".to_string(), 200, 5),
            ("/b".to_string(), 200, 0),
            ("/page.html?password=<masked>".to_string(), 200, packed_len),
            ("/login".to_string(), 302, 0),
            ("/missing".to_string(), 404, 3),
        ]
    );
    assert!(packed_len > 10 && packed_len < 3000, "{packed_len}");
    assert_eq!(t[0]["client"], "10.0.0.1:40000");
    assert_eq!(t[0]["server"], "10.0.0.2:8080");
    assert_eq!(t[0]["response"]["server"], "test");
    assert_eq!(t[3]["interim_statuses"], json!([100]));
    assert_eq!(t[3]["request"]["body_bytes"], 25);
    assert_eq!(t[3]["response"]["location"], "/home");
    // Secrets are masked; Basic's user name is shown; cookie values never are.
    let creds = &t[2]["request"]["credentials"];
    assert_eq!(
        creds[0],
        json!({"kind": "basic", "field": "authorization", "user": "alice", "secret": "<masked: 6 characters>"})
    );
    assert_eq!(creds[1], json!({"kind": "query_field", "field": "password", "secret": "<masked: 7 characters>"}));
    assert_eq!(t[2]["request"]["cookies"], json!(["sid", "theme"]));
    assert_eq!(t[3]["request"]["credentials"][0]["field"], "passwd");
    assert!(
        !r.to_string().contains("s3cr3t") && !r.to_string().contains("hunter2") && !r.to_string().contains("opensesam")
    );
    let kinds: Vec<&str> = r["findings"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["plaintext_credentials"]);
    // Revealed on request.
    let shown = requests(&capture, json!({"reveal_secrets": true}));
    assert_eq!(shown["transactions"][2]["request"]["credentials"][0]["secret"], "s3cr3t");
}

#[test]
fn objects_are_decoded_and_hashed_as_they_stream() {
    let (capture, page) = keep_alive();
    let o = objects(&capture);
    let list = o["objects"].as_array().unwrap();
    let by_uri: BTreeMap<&str, &Value> = list.iter().map(|o| (o["uri"].as_str().unwrap(), o)).collect();
    assert_eq!(
        by_uri.keys().copied().collect::<Vec<_>>(),
        ["/a.txt", "/login", "/missing", "/page.html?password=<masked>"]
    );
    assert_eq!((by_uri["/login"]["sent_by"].as_str(), by_uri["/login"]["bytes"].as_u64()), (Some("client"), Some(25)));
    assert_eq!(by_uri["/login"]["sha256"], sha256_hex(b"user=bob&passwd=opensesam"));
    assert_eq!(by_uri["/a.txt"]["sha256"], sha256_hex(b"hello"));
    assert_eq!(by_uri["/a.txt"]["filename"], "a.txt");
    let html = by_uri["/page.html?password=<masked>"];
    assert_eq!(html["sha256"], sha256_hex(&page), "{html}");
    assert_eq!(html["decoded_bytes"], page.len());
    assert_eq!(html["content_encoding"], "gzip");
    assert_eq!(html["filename"], "page.html");
    assert_eq!(o["statistics"]["executables"], 0);
}

#[test]
fn a_body_with_a_hole_has_no_hash_and_the_stream_resumes_at_the_next_message() {
    let mut c = Connection::new(80);
    c.client(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        .server(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789")
        .server_lost(10)
        .server(b"0123456789")
        .client(b"GET /exe HTTP/1.1\r\nHost: 192.0.2.7\r\nUser-Agent: sqlmap/1.7\r\n\r\n")
        .server(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nMZ\x90\x00\x03\x00")
        .server_fin();
    let capture = c.pcap();
    let o = objects(&capture);
    let list = o["objects"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{o}");
    assert_eq!((list[0]["bytes"].as_u64(), list[0].get("sha256")), (Some(30), None));
    assert_eq!(list[0]["no_hash_because"], "body_not_captured_whole");
    assert_eq!(list[1]["sha256"], sha256_hex(b"MZ\x90\x00\x03\x00"));
    assert_eq!(list[1]["executable"], true);
    let r = requests(&capture, json!({}));
    assert_eq!(r["transactions"][0]["response"]["body_complete"], false);
    assert_eq!(r["capture"]["tcp_gaps"], 1, "{}", r["capture"]);
    let kinds: BTreeSet<&str> = r["findings"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["executable_download", "scanner_user_agent", "raw_ip_host"]));
}

#[test]
fn unanswered_requests_tunnels_and_http2_are_told_apart() {
    let mut c = Connection::new(3128);
    c.client(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        .server(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .client(b"\x16\x03\x01\x00\x05hello")
        .server(b"\x16\x03\x03\x00\x05world");
    let mut ws = Connection::new(80);
    ws.client(b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        .server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        .server(b"\x81\x05hello");
    let mut silent = Connection::from_port(40001, 80);
    silent.client(b"GET /nobody HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut h2 = Connection::from_port(40002, 80);
    h2.client(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00");
    let mut builder = PcapBuilder::ethernet();
    for (i, frame) in c.frames.iter().chain(&ws.frames).chain(&silent.frames).chain(&h2.frames).enumerate() {
        builder = builder.packet(1_700_000_000, i as u32, frame);
    }
    let r = requests(&builder.build(), json!({}));
    let stats = &r["statistics"];
    assert_eq!((stats["requests"].as_u64(), stats["responses"].as_u64()), (Some(3), Some(2)), "{stats}");
    assert_eq!((stats["connect_tunnels"].as_u64(), stats["websocket_upgrades"].as_u64()), (Some(1), Some(1)));
    assert_eq!(stats["unanswered_requests"], 1);
    // Both directions of the CONNECT tunnel, and the server's WebSocket direction.
    assert_eq!(r["capture"]["tunnels"], 3);
    assert_eq!(r["capture"]["http2_prior_knowledge"], 1);
    assert!(r["warnings"].to_string().contains("HTTP/2"), "{}", r["warnings"]);
    let switched: Vec<Value> = r["transactions"].as_array().unwrap().iter().map(|t| t["switched_to"].clone()).collect();
    assert_eq!(switched, [json!("tunnel"), json!("websocket"), Value::Null]);
}

#[test]
fn bad_parameters_are_refused_with_the_parameter_named() {
    let (capture, _) = keep_alive();
    for (tool, params, needle) in [
        ("analyze_http_requests", json!({"limit": "x"}), "limit"),
        ("analyze_http_requests", json!({"reveal": true}), "reveal"),
        ("analyze_http_objects", json!({"reveal_secrets": true}), "reveal_secrets"),
    ] {
        match run_tool::<Http>(tool, params, &capture) {
            Err(RunError::BadParams(message)) => assert!(message.contains(needle), "{message}"),
            other => panic!("{tool}: {other:?}"),
        }
    }
}

#[test]
fn the_default_result_stays_small_on_many_transactions() {
    let mut c = Connection::new(80);
    for i in 0..3000 {
        c.client(format!("GET /item/{i}?q={} HTTP/1.1\r\nHost: shop.example\r\n\r\n", "x".repeat(200)).as_bytes());
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    let capture = c.pcap();
    let r = requests(&capture, json!({}));
    assert_eq!(r["transaction_count"], 3000);
    assert!(r.to_string().len() < 100_000, "{} bytes", r.to_string().len());
    let next = r["pagination"]["next_offset"].as_u64().unwrap();
    let page = requests(&capture, json!({"offset": next, "limit": 5}));
    assert_eq!(
        page["transactions"][0]["request"]["uri"].as_str().unwrap().split('?').next(),
        Some(format!("/item/{next}").as_str())
    );
}

/// Per capture, requests by method and responses by status code, as tshark
/// counts `http.request.method` and `http.response.code` over TCP. Its body
/// reassembly is off, as pcapsule reports a message at its head: with it on,
/// tshark shows no response whose body the capture cut or left a hole in
/// (suricata-verify http-pipeline-files-with-gap, arkime no-syn-ack, tcpdump
/// accecn_handshake). Retransmitted copies are left out: tshark reads each
/// copy of a head again when it does not reassemble bodies.
type Counts = (BTreeMap<String, u64>, BTreeMap<String, u64>);

fn tshark_counts(path: &Path) -> Option<Counts> {
    let rows = tshark_fields_with(
        path,
        &["http.desegment_body:FALSE"],
        "tcp && (http.request || http.response) && !tcp.analysis.retransmission",
        &["http.request.method", "http.response.code"],
    )?;
    let (mut methods, mut codes) = (BTreeMap::new(), BTreeMap::new());
    for row in rows {
        for (column, map) in [(0, &mut methods), (1, &mut codes)] {
            for value in row.get(column).into_iter().flat_map(|v| v.split(',')).filter(|v| !v.is_empty()) {
                *map.entry(value.to_string()).or_insert(0u64) += 1;
            }
        }
    }
    Some((methods, codes))
}

fn our_counts(result: &Value) -> Counts {
    let map = |v: &Value| -> BTreeMap<String, u64> {
        v.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()).unwrap_or_default()
    };
    let mut codes = map(&result["statistics"]["status_codes"]);
    // tshark counts interim responses among the codes.
    if let Some(n) = result["statistics"]["interim_responses"].as_u64().filter(|n| *n > 0) {
        *codes.entry("100".into()).or_default() += n;
    }
    (map(&result["statistics"]["methods"]), codes)
}

/// Shared captures whose counts differ from tshark's by design, and why.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[(
    "http/suricata-verify_http-connect-simple_input.pcap",
    "plain HTTP inside a proxy's CONNECT tunnel: tshark reads the tunnelled request but leaves its response \
     (frame 11) as data; pcapsule reads both",
)];

#[test]
fn methods_and_status_codes_match_tshark_on_the_shared_captures() {
    let Some(dir) = shared_captures() else { return };
    let files = captures_under(&dir);
    let theirs_all = in_parallel(&files, |path| tshark_counts(path));
    let (mut compared, mut with_http, mut mismatches) = (0, 0, Vec::new());
    for (path, theirs) in files.iter().zip(theirs_all) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        let ours = match run_tool::<Http>("analyze_http_requests", json!({"limit": 0}), &bytes) {
            Ok(r) => our_counts(&r),
            Err(RunError::UnsupportedFormat(_) | RunError::Malformed { .. }) => continue,
            Err(e) => panic!("{name}: {e}"),
        };
        let Some(theirs) = theirs else { continue };
        compared += 1;
        if theirs.0.is_empty() && theirs.1.is_empty() && ours.0.is_empty() && ours.1.is_empty() {
            continue;
        }
        with_http += 1;
        if ours != theirs && !EXPECTED_DIFFERENCES.iter().any(|(f, _)| *f == name) {
            mismatches.push(format!(
                "{name}: methods {:?} vs tshark {:?}; codes {:?} vs tshark {:?}",
                ours.0, theirs.0, ours.1, theirs.1
            ));
        }
    }
    eprintln!("{compared} captures compared, {with_http} with HTTP");
    assert!(with_http >= 20, "only {with_http} captures with HTTP");
    assert!(mismatches.is_empty(), "{} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// SHA-256 of no bytes: empty bodies are not objects to pcapsule, and
/// tshark's empty exports are left out of the comparison.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// tshark's Export Objects → HTTP: the SHA-256 of each file it writes.
fn tshark_object_hashes(path: &Path) -> Option<BTreeSet<String>> {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pcapsule-http-objects-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let status = std::process::Command::new("tshark")
        .args(["-n", "-q", "-r"])
        .arg(path)
        .arg("--export-objects")
        .arg(format!("http,{}", dir.display()))
        .output();
    let hashes = status.ok().filter(|o| o.status.success()).map(|_| {
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| std::fs::read(entry.path()).ok())
            .map(|bytes| sha256_hex(&bytes))
            .filter(|hash| hash != EMPTY_SHA256)
            .collect()
    });
    std::fs::remove_dir_all(&dir).ok();
    hashes
}

/// Shared captures whose objects differ from tshark's export by design.
const OBJECTS_DIFFERENT_BY_DESIGN: &[(&str, &str)] = &[
    ("http/scapy_http_compressed-brotli.pcap", "brotli bodies are not decoded (no hash; tshark decodes them)"),
    ("http/suricata-verify_http-brotli-ce_input.pcap", "brotli bodies are not decoded (no hash; tshark decodes them)"),
    ("http/suricata-verify_dns-over-http2_dns_over_https.pcap", "HTTP/2, counted and not decoded"),
    ("http/zeek_http_09.pcap", "HTTP/0.9 responses have no head to be found by"),
    (
        "http/suricata-verify_http-connect-simple_input.pcap",
        "tshark exports the stray line feed after the proxy's 200 to CONNECT as that response's body",
    ),
    (
        "http/suricata-verify_http-connect-tls_input.pcap",
        "tshark exports the stray line feed after the proxy's 200 to CONNECT as that response's body",
    ),
    (
        "http/zeek_http-lower-case-nonstandard-port.pcap",
        "a lower-case request line on a port that is not HTTP's: the content rule wants an upper-case method",
    ),
    (
        "tcp/zeek_reassembly.pcap",
        "a WebDAV SEARCH whose request line goes on past its first segment: the content rule knows neither",
    ),
    ("tunnels/arkime_sctp-www.pcap", "HTTP over SCTP: the http analyzer reads TCP only"),
    (
        "tunnels/zeek_mpls-in-vlan.pcap",
        "tshark exports a server segment on port 80 whose response head the capture missed (frame 2, continuation \
         data) as an object; pcapsule lists the bodies of messages it saw begin",
    ),
    (
        "http/suricata-verify_http-pipeline-files-with-gap_input.pcap",
        "bodies after the hole are read again from the next response head; tshark's body reassembly stops at the hole",
    ),
];

#[test]
fn object_hashes_match_tsharks_export_objects() {
    let Some(dir) = shared_captures() else { return };
    let files: Vec<_> =
        captures_under(&dir).into_iter().filter(|p| !p.strip_prefix(&dir).unwrap().starts_with("hostile")).collect();
    let theirs_all = in_parallel(&files, |path| tshark_object_hashes(path));
    let (mut with_objects, mut mismatches) = (0, Vec::new());
    for (path, theirs) in files.iter().zip(theirs_all) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let Some(theirs) = theirs else { continue };
        let bytes = std::fs::read(path).unwrap();
        let Ok(result) = run_tool::<Http>("analyze_http_objects", json!({"limit": 1000}), &bytes) else { continue };
        let ours: BTreeSet<String> = result["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["sha256"].as_str().map(str::to_string))
            .filter(|hash| hash != EMPTY_SHA256)
            .collect();
        if ours.is_empty() && theirs.is_empty() {
            continue;
        }
        with_objects += 1;
        if ours != theirs && !OBJECTS_DIFFERENT_BY_DESIGN.iter().any(|(f, _)| *f == name) {
            mismatches.push(format!(
                "{name}: only ours {:?}; only tshark's {:?}",
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>()
            ));
        }
    }
    eprintln!("{with_objects} captures with objects compared");
    assert!(with_objects >= 25, "only {with_objects} captures with objects");
    assert!(mismatches.is_empty(), "{} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn plain_http_inside_a_connect_tunnel_is_read() {
    let mut c = Connection::new(8002);
    c.client(b"CONNECT abc:443 HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n\n")
        .server(b"HTTP/1.1 200 OK\r\nServer: VictorServer/1.0\r\n\r\n\n")
        .client(b"GET / HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n\n")
        .server(b"HTTP/1.1 200 OK\r\nServer: VictorServer/1.0\r\n\r\n");
    let r = requests(&c.pcap(), json!({}));
    assert_eq!(r["statistics"]["methods"], json!({"CONNECT": 1, "GET": 1}), "{}", r["statistics"]);
    assert_eq!(r["capture"]["tunnels"], 0);
}
