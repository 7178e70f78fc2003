//! Tool-level tests: captures built in memory, and the shared captures
//! frame by frame against tshark.

use etherparse::PacketBuilder;
use pcapsule_guest::testing::{PcapBuilder, captures_under, compare_in_parallel, run_tool, shared_captures, udp_frame};
use serde_json::{Value, json};

use super::*;

fn run(capture: &[u8], params: Value) -> Value {
    run_tool::<Packets>(GET_PACKETS, params, capture).unwrap()
}

fn error(capture: &[u8], params: Value) -> String {
    match run_tool::<Packets>(GET_PACKETS, params, capture) {
        Err(RunError::BadParams(message)) => message,
        other => panic!("expected bad_params, got {other:?}"),
    }
}

fn tcp_syn() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 443, 1000, 64240)
        .syn()
        .write(&mut out, &[])
        .unwrap();
    out
}

/// A DNS query for `example.com` (type A) from 10.0.0.1 to 10.0.0.53.
fn dns_query() -> Vec<u8> {
    let mut query = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    udp_frame([10, 0, 0, 1], [10, 0, 0, 53], 53000, 53, &query)
}

/// `inner` (an Ethernet frame) in VXLAN (VNI 7) from 192.0.2.1 to 192.0.2.2.
fn vxlan(inner: &[u8]) -> Vec<u8> {
    let payload = [&[8, 0, 0, 0, 0, 0, 7, 0][..], inner].concat();
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 60)
        .udp(50000, 4789)
        .write(&mut out, &payload)
        .unwrap();
    out
}

/// Frames 1 to 6: SYN, DNS query, VXLAN around a DNS query, SYN, SYN, DNS query.
fn mixed() -> Vec<u8> {
    let frames = [tcp_syn(), dns_query(), vxlan(&dns_query()), tcp_syn(), tcp_syn(), dns_query()];
    frames.iter().enumerate().fold(PcapBuilder::ethernet(), |b, (i, f)| b.packet(100 + i as u32, 250, f)).build()
}

fn frame_numbers(result: &Value) -> Vec<u64> {
    result["packets"].as_array().unwrap().iter().map(|p| p["frame_number"].as_u64().unwrap()).collect()
}

#[test]
fn a_packet_shows_its_layers_fields_summary_and_dump() {
    let result = run(&mixed(), json!({"frames": [1, 2]}));
    assert!(result["content_notice"].as_str().unwrap().contains("untrusted"));
    let syn = &result["packets"][0];
    assert_eq!(syn["frame_number"], 1);
    assert_eq!(syn["time"], "1970-01-01T00:01:40.000250Z");
    assert_eq!(syn["length"], 54);
    assert_eq!(syn["captured_length"], 54);
    assert_eq!(syn["link_type"], "ether");
    assert_eq!(syn["protocols"], "eth:ip:tcp");
    assert_eq!(syn["layers"][0]["fields"]["src"], "02:00:00:00:00:01");
    assert_eq!(syn["layers"][1]["fields"]["dst"], "10.0.0.2");
    assert_eq!(syn["layers"][1]["fields"]["ttl"], 64);
    assert_eq!(syn["layers"][2]["fields"]["flags"], "0x002");
    assert_eq!(syn["layers"][2]["fields"]["seq_raw"], 1000);
    assert_eq!(syn["summary"], "TCP 10.0.0.1:40000 → 10.0.0.2:443 [SYN] seq=1000 ack=0 win=64240 len=0");
    assert!(syn.get("application").is_none(), "a SYN carries no payload to identify");
    let dump = &syn["dump"];
    assert_eq!(
        (dump["of"].as_str(), dump["length"].as_u64(), dump["shown"].as_u64()),
        (Some("frame"), Some(54), Some(54))
    );
    assert!(dump["lines"][0].as_str().unwrap().starts_with("0000  02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00"));

    let dns = &result["packets"][1];
    assert_eq!(dns["protocols"], "eth:ip:udp:dns");
    assert_eq!(dns["application"], json!({"protocol": "dns", "identified_by": "content"}));
    assert!(dns["summary"].as_str().unwrap().starts_with("DNS 10.0.0.1:53000 → 10.0.0.53:53 len=29"));
    assert_eq!(result["packets_matched"], 2);
    assert_eq!(result["all_counted"], true);
}

/// On links without Ethernet (raw IP, Linux cooked capture), the outer
/// headers of a tunnelled packet have their fields too.
#[test]
fn outer_headers_are_shown_on_every_link_type() {
    let ethernet = vxlan(&dns_query());
    let ip = &ethernet[14..];
    let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0xa, 0, 0, 8, 0];
    sll.extend_from_slice(ip);
    for (link_type, frame, outer) in [(101, ip.to_vec(), "raw:ip"), (113, sll, "sll:ip")] {
        let capture = PcapBuilder::new(link_type).packet(1, 0, &frame).build();
        let result = run(&capture, json!({"frames": "1"}));
        let packet = &result["packets"][0];
        assert!(packet["protocols"].as_str().unwrap().starts_with(outer), "{link_type}: {packet}");
        let layers = packet["layers"].as_array().unwrap();
        let ip_at = layers.iter().position(|l| l["layer"] == "ip").unwrap();
        assert_eq!(layers[ip_at]["fields"]["src"], "192.0.2.1", "{link_type}: the outer IP header");
        assert_eq!(layers[ip_at + 1]["fields"]["dstport"], 4789, "{link_type}");
        assert_eq!(layers.last().unwrap()["fields"]["srcport"], 53000, "{link_type}: the inner UDP header");
    }
}

#[test]
fn a_tunnelled_packet_shows_the_outer_and_the_inner_headers() {
    let result = run(&mixed(), json!({"frames": "3", "dump": "payload"}));
    let packet = &result["packets"][0];
    assert_eq!(packet["protocols"], "eth:ip:udp:vxlan:eth:ip:udp:dns");
    let layers = packet["layers"].as_array().unwrap();
    assert_eq!(layers[1]["fields"]["src"], "192.0.2.1", "the outer IP header");
    assert_eq!(layers[2]["fields"]["dstport"], 4789);
    assert!(layers[3].get("fields").is_none(), "vxlan is named only");
    assert_eq!(layers[5]["fields"]["dst"], "10.0.0.53", "the inner IP header");
    assert_eq!(layers[6]["fields"]["srcport"], 53000);
    assert!(packet["summary"].as_str().unwrap().starts_with("DNS 10.0.0.1:53000"));
    assert_eq!(packet["dump"]["of"], "payload");
    assert_eq!(packet["dump"]["length"], 29, "the DNS message");
    let line = packet["dump"]["lines"][0].as_str().unwrap();
    assert!(line.starts_with("0000  12 34 01 00 00 01") && line.ends_with("   .4...........exa"), "{line}");
}

#[test]
fn frames_and_the_selection_combine_and_pages_move_on() {
    let capture = mixed();
    let dns = run(&capture, json!({"filter": "udp port 53"}));
    assert_eq!(frame_numbers(&dns), [2, 3, 6], "the filter looks inside the tunnel");
    assert_eq!(dns["selection"]["filter"], "udp port 53");
    let both = run(&capture, json!({"frames": "1-3", "filter": "tcp"}));
    assert_eq!(frame_numbers(&both), [1]);
    let by_time = run(&capture, json!({"time_from": 103, "time_to": 104.5}));
    assert_eq!(frame_numbers(&by_time), [4, 5]);

    let first = run(&capture, json!({"limit": 2}));
    assert_eq!(frame_numbers(&first), [1, 2]);
    assert_eq!(first["pagination"]["next_offset"], 2);
    assert_eq!(first["all_counted"], false, "reading stopped after the page and one more match");
    assert_eq!(first["packets_matched"], 3);
    let second = run(&capture, json!({"limit": 2, "offset": 2}));
    assert_eq!(frame_numbers(&second), [3, 4]);
    let counted = run(&capture, json!({"limit": 2, "count_all": true}));
    assert_eq!((counted["packets_matched"].as_u64(), counted["all_counted"].as_bool()), (Some(6), Some(true)));
    assert_eq!(counted["pagination"]["total"], 6);
    let last = run(&capture, json!({"limit": 2, "offset": 4}));
    assert_eq!(frame_numbers(&last), [5, 6]);
    assert!(last["pagination"].get("next_offset").is_none());
}

#[test]
fn a_lookup_stops_reading_after_the_last_frame_asked_for() {
    let capture = mixed();
    let result = run(&capture, json!({"frames": [2]}));
    assert_eq!(frame_numbers(&result), [2]);
    assert_eq!(result["all_counted"], true);
    // The driver stopped at frame 3: the capture facts saw three packets, not six.
    let read: u64 = result["capture"]["frames_read"].as_u64().unwrap_or(u64::MAX);
    assert!(read <= 3, "{}", result["capture"]);
    let none = run(&capture, json!({"frames": "40-50"}));
    assert_eq!(none["packets"], json!([]));
    assert!(none["warnings"].to_string().contains("none of the frames asked for (40-50)"));
}

#[test]
fn dumps_are_bounded_and_pages_fit_the_result_budget() {
    let big = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000, &[0x41; 1400]);
    let capture = (0..50).fold(PcapBuilder::ethernet(), |b, i| b.packet(i, 0, &big)).build();
    let result = run(&capture, json!({"frames": [1]}));
    let dump = &result["packets"][0]["dump"];
    assert_eq!((dump["length"].as_u64(), dump["shown"].as_u64()), (Some(1442), Some(256)));
    assert_eq!(dump["lines"].as_array().unwrap().len(), 16);
    let whole = run(&capture, json!({"limit": 50, "dump_bytes": 16384}));
    let size = whole.to_string().len();
    assert!(size <= pcapsule_guest::conventions::RESULT_BYTE_BUDGET, "{size}");
    assert_eq!(whole["pagination"]["ended_by_size"], true);
    let shown = whole["packets"].as_array().unwrap().len();
    assert!((1..50).contains(&shown), "{shown}");
    assert_eq!(whole["pagination"]["next_offset"], shown);
    assert!(run(&capture, json!({"dump": "none"}))["packets"][0].get("dump").is_none());
}

#[test]
fn bad_parameters_say_what_to_change() {
    let capture = mixed();
    assert!(error(&capture, json!({"frames": "3-x"})).contains("`x` is not a frame number"));
    assert!(error(&capture, json!({"frames": [0]})).contains("frame 0"));
    assert!(error(&capture, json!({"dump_bytes": 8})).contains("dump_bytes must be from 16"));
    assert!(error(&capture, json!({"dump": "all"})).contains("dump"));
    assert!(error(&capture, json!({"limit": 5000})).contains("limit"));
    assert!(error(&capture, json!({"filter": "port"})).contains("port"));
}

#[test]
fn undecodable_and_truncated_packets_are_shown_not_dropped() {
    let cut = PcapBuilder::ethernet().packet_cut(1, 0, &tcp_syn(), 20).build();
    let packet = &run(&cut, json!({}))["packets"][0];
    assert_eq!((packet["length"].as_u64(), packet["captured_length"].as_u64()), (Some(54), Some(20)));
    assert!(packet["problem"].as_str().is_some_and(|p| p.contains("ip")), "{packet}");
    assert_eq!(packet["protocols"], "eth");
    let unknown = PcapBuilder::new(147).packet(1, 0, &[1, 2, 3, 4]).build();
    let packet = &run(&unknown, json!({}))["packets"][0];
    assert!(packet["undecodable"].as_str().unwrap().contains("link type 147"), "{packet}");
    assert_eq!(packet["dump"]["lines"][0], "0000  01 02 03 04                                       ....");
}

/// Every shared capture's first frames against tshark: lengths, time, the
/// innermost addresses and ports, TCP sequence numbers and flags, and the
/// captured bytes. Packets with an ICMP layer are compared on lengths,
/// time and bytes only: tshark lists the quoted datagram's addresses and
/// ports beside the packet's own.
#[test]
fn frames_agree_with_tshark_on_the_shared_captures() {
    let Some(dir) = shared_captures() else { return };
    if std::process::Command::new("tshark").arg("--version").output().is_err() {
        pcapsule_guest::testing::missing::<()>("tshark");
        return;
    }
    let (compared, failures) = on_every_capture(&dir, compare_with_tshark);
    assert!(compared > 2000, "only {compared} frames compared");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures[..failures.len().min(40)].join("\n"));
}

/// A comparison over captures: what it compared, and the differences.
type Comparison = fn(&std::path::Path, &[std::path::PathBuf]) -> (usize, Vec<String>);

/// Runs `compare` over the captures under `dir`, one capture at a time on
/// every core (tshark's start-up is most of the time), and adds up what it found.
fn on_every_capture(dir: &std::path::Path, compare: Comparison) -> (usize, Vec<String>) {
    let captures = captures_under(dir);
    let one_each: Vec<&[std::path::PathBuf]> = captures.chunks(1).collect();
    compare_in_parallel(&one_each, |capture| compare(dir, capture))
}

/// Shared captures read differently on purpose, and why.
const READ_DIFFERENTLY: [(&str, &str); 1] = [(
    "hostile/suricata-verify_bug-6875-01_fuzz.pcap",
    "fuzzed: read as standard pcap its second record claims 16 MB, so pcapsule stops there (as capinfos does); \
     tshark's reader then guesses a pcap variant with longer record headers and shows other bytes",
)];

/// Shared captures whose timestamps differ on purpose: fractions of a
/// second of 1 s or more, which pcapsule carries into the seconds (and
/// warns), where tshark shows them unnormalized.
const TIME_OUT_OF_RANGE: [&str; 2] =
    ["hostile/tcpdump_timestamp_invalid_micro.pcap", "hostile/tcpdump_timestamp_invalid_nano.pcap"];

/// Frames compared, and the differences found.
fn compare_with_tshark(dir: &std::path::Path, captures: &[std::path::PathBuf]) -> (usize, Vec<String>) {
    const FRAMES: u64 = 60;
    let (mut compared, mut failures) = (0, Vec::new());
    for path in captures {
        let Ok(bytes) = std::fs::read(path) else { continue };
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        if READ_DIFFERENTLY.iter().any(|(file, _)| *file == name) {
            continue;
        }
        let Some(theirs) = tshark_frames(path, FRAMES) else { continue };
        let mut ours = Vec::new();
        let mut offset = 0;
        loop {
            let params = json!({"frames": format!("1-{FRAMES}"), "dump_bytes": 64, "limit": 100, "offset": offset});
            let Ok(page) = run_tool::<Packets>(GET_PACKETS, params, &bytes) else { break };
            ours.extend(page["packets"].as_array().cloned().unwrap_or_default());
            match page["pagination"]["next_offset"].as_u64() {
                Some(next) => offset = next,
                None => break,
            }
        }
        for layers in &theirs {
            let field = |layer: &str, field: &str| -> String {
                match &layers[layer][field] {
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                }
            };
            let number: u64 = field("frame", "frame.number").parse().unwrap_or(0);
            let protocols = field("frame", "frame.protocols");
            if layers["frame"].get("frame.cb_pen").is_some() || protocols.starts_with("systemd_journal") {
                continue; // a custom or journal block: a frame number, no packet
            }
            let Some(packet) = ours.iter().find(|p| p["frame_number"] == number) else {
                failures.push(format!("{name} frame {number}: not shown ({})", field("frame", "frame.protocols")));
                continue;
            };
            compared += 1;
            let differ = |what: &str, theirs: String, mine: String| {
                (theirs != mine).then(|| format!("{name} frame {number} {what}: tshark {theirs:?}, pcapsule {mine:?}"))
            };
            failures.extend(differ("len", field("frame", "frame.len"), packet["length"].to_string()));
            failures.extend(differ("cap_len", field("frame", "frame.cap_len"), packet["captured_length"].to_string()));
            let time: f64 = field("frame", "frame.time_epoch").parse().unwrap_or(f64::NAN);
            if (time - packet["timestamp"].as_f64().unwrap_or(0.0)).abs() > 2e-6
                && !TIME_OUT_OF_RANGE.contains(&name.as_str())
            {
                failures.push(format!("{name} frame {number} time: tshark {time}, pcapsule {}", packet["timestamp"]));
            }
            if let Some(raw) = layers["frame_raw"][0].as_str() {
                let shown: String = packet["dump"]["lines"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|line| line.as_str().unwrap_or("").get(6..53).unwrap_or("").replace(' ', ""))
                    .collect();
                failures.extend(differ("bytes", raw[..raw.len().min(128)].to_string(), shown));
            }
            let plain = !field("frame", "frame.protocols").split(':').any(|p| p.starts_with("icmp"));
            if !plain || packet["summary"].as_str().unwrap_or("").contains("fragment") {
                continue;
            }
            let innermost = |layer: &str, field: &str| -> String {
                let found = packet["layers"].as_array().into_iter().flatten().rev().find(|l| l["layer"] == layer);
                match found.map(|l| &l["fields"][field]) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                }
            };
            // A layer that appears twice (IP in IP) is a repeated key in
            // tshark's JSON: the last, the innermost, is the one read.
            for (layer, theirs, mine) in [
                ("ip", "ip.src", "src"),
                ("ip", "ip.dst", "dst"),
                ("ipv6", "ipv6.src", "src"),
                ("ipv6", "ipv6.dst", "dst"),
                ("tcp", "tcp.srcport", "srcport"),
                ("tcp", "tcp.dstport", "dstport"),
                ("udp", "udp.srcport", "srcport"),
                ("udp", "udp.dstport", "dstport"),
                ("tcp", "tcp.seq_raw", "seq_raw"),
            ] {
                let (theirs_value, mine_value) = (field(layer, theirs), innermost(layer, mine));
                // tshark dissects some layers pcapsule's path leaves as payload (and the reverse).
                if !theirs_value.is_empty() && !mine_value.is_empty() {
                    failures.extend(differ(theirs, theirs_value, mine_value));
                }
            }
            let flags = |text: String| u16::from_str_radix(text.trim_start_matches("0x"), 16).ok();
            if let (Some(theirs), Some(mine)) = (flags(field("tcp", "tcp.flags")), flags(innermost("tcp", "flags")))
                && theirs != mine
            {
                failures.push(format!("{name} frame {number} tcp.flags: tshark {theirs:#x}, pcapsule {mine:#x}"));
            }
        }
    }
    (compared, failures)
}

/// The first `frames` frames of `path` as `tshark -T json -x` gives them
/// (each frame's `layers`); `None` when tshark cannot read the file.
fn tshark_frames(path: &std::path::Path, frames: u64) -> Option<Vec<Value>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-c", &frames.to_string(), "-T", "json", "-x"])
        .output()
        .ok()?;
    let packets: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    Some(packets.into_iter().map(|mut p| p["_source"]["layers"].take()).collect())
}

/// A TCP segment between 10.0.0.1:40000 (client) and 10.0.0.2:80.
fn segment(from_client: bool, seq: u32, ack: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) =
        if from_client { ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80) } else { ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000) };
    let mut tcp = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    for flag in flags.chars() {
        tcp = match flag {
            'S' => tcp.syn(),
            'A' => tcp.ack(ack),
            'F' => tcp.fin(),
            'R' => tcp.rst(),
            'P' => tcp.psh(),
            _ => tcp,
        };
    }
    let mut out = Vec::new();
    tcp.write(&mut out, payload).unwrap();
    out
}

/// A request in two segments (the second arriving first, then the first
/// retransmitted), a response with a NUL and a backslash, FINs both ways.
fn http_exchange() -> Vec<u8> {
    let frames = [
        segment(true, 100, 0, "S", b""),
        segment(false, 500, 101, "SA", b""),
        segment(true, 101, 501, "A", b""),
        segment(true, 109, 501, "AP", b"HTTP/1.1\r\n\r\n"),
        segment(true, 101, 501, "A", b"GET / \x01 "),
        segment(true, 101, 501, "A", b"GET / \x01 "),
        segment(false, 501, 121, "AP", b"200 OK\0\\"),
        segment(false, 509, 121, "AF", b""),
        segment(true, 121, 510, "AF", b""),
    ];
    capture_of(&frames, 10)
}

/// An Ethernet capture of `frames`, one a second from `first_second` on.
fn capture_of(frames: &[Vec<u8>], first_second: u32) -> Vec<u8> {
    frames.iter().enumerate().fold(PcapBuilder::ethernet(), |b, (i, f)| b.packet(first_second + i as u32, 0, f)).build()
}

fn follow(capture: &[u8], params: Value) -> Value {
    run_tool::<Packets>(FOLLOW_STREAM, params, capture).unwrap()
}

#[test]
fn a_tcp_stream_is_read_in_order_once_with_its_ends() {
    let result = follow(&http_exchange(), json!({"a": "10.0.0.2:80", "b": "10.0.0.1:40000"}));
    assert_eq!(result["first_sender"], "b", "the client's SYN came first");
    assert_eq!((result["bytes_from_b"].as_u64(), result["bytes_from_a"].as_u64()), (Some(20), Some(8)));
    assert_eq!(result["total_bytes"], 28);
    assert_eq!(result["packets"], 9);
    assert_eq!(result["tcp"]["retransmitted_bytes"], 8);
    assert_eq!(result["tcp"]["out_of_order_segments"], 1);
    let chunks = result["chunks"].as_array().unwrap();
    let data: Vec<(&str, &str, u64)> = chunks
        .iter()
        .filter(|c| c["kind"] == "data")
        .map(|c| (c["from"].as_str().unwrap(), c["data"].as_str().unwrap(), c["offset"].as_u64().unwrap()))
        .collect();
    assert_eq!(data, [("b", "GET / \\x01 ", 0), ("b", "HTTP/1.1\r\n\r\n", 8), ("a", "200 OK\\x00\\\\", 20)]);
    // The first request segment completed both halves when it came (frame 5).
    assert_eq!(chunks[0]["frame_number"], 5);
    assert_eq!(chunks[1]["frame_number"], 5);
    let ends: Vec<(&str, &str)> = chunks
        .iter()
        .filter(|c| c["kind"] == "end")
        .map(|c| (c["from"].as_str().unwrap(), c["end"].as_str().unwrap()))
        .collect();
    assert_eq!(ends, [("a", "closed"), ("b", "closed")]);
    assert!(result.get("next_offset").is_none());
    assert!(result["content_notice"].as_str().unwrap().contains("untrusted"));
}

/// Two connections on one address and port pair (the second SYN reuses
/// the ports with another sequence number), then a UDP datagram: streams
/// tcp 0 and 1, udp 0. A selection that leaves out the first connection
/// keeps the numbers: stream 1 is still the second connection.
#[test]
fn a_stream_is_followed_by_its_number_with_or_without_a_selection() {
    let frames = [
        segment(true, 100, 0, "S", b""),
        segment(false, 500, 101, "SA", b""),
        segment(true, 101, 501, "AP", b"first"),
        segment(true, 106, 501, "AF", b""),
        segment(true, 7000, 0, "S", b""),
        segment(false, 9000, 7001, "SA", b""),
        segment(true, 7001, 9001, "AP", b"second"),
        udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 5060, 5070, b"datagram"),
    ];
    let capture = capture_of(&frames, 0);
    let text = |result: &Value| -> String {
        result["chunks"].as_array().unwrap().iter().filter_map(|c| c["data"].as_str()).collect()
    };
    let first = follow(&capture, json!({"stream": 0}));
    assert_eq!((text(&first), first["stream"].as_u64()), ("first".into(), Some(0)));
    assert_eq!((first["a"].as_str(), first["b"].as_str()), (Some("10.0.0.1:40000"), Some("10.0.0.2:80")));
    let second = follow(&capture, json!({"stream": 1}));
    assert_eq!((text(&second), second["packets"].as_u64()), ("second".into(), Some(3)));
    let selected = follow(&capture, json!({"stream": 1, "time_from": 4}));
    assert_eq!(text(&selected), "second", "numbers are the whole capture's: {selected}");
    let filtered = follow(&capture, json!({"stream": 1, "filter": "tcp and host 10.0.0.2", "time_from": 5}));
    assert_eq!((text(&filtered), filtered["packets"].as_u64()), ("second".into(), Some(2)));
    let udp = follow(&capture, json!({"stream": 0, "protocol": "udp"}));
    assert_eq!(text(&udp), "datagram");
    let missing = follow(&capture, json!({"stream": 2}));
    assert_eq!((missing["packets"].as_u64(), missing["a"].as_str()), (Some(0), None));
    assert!(missing["warnings"].to_string().contains("no TCP stream 2"), "{missing}");
    // Followed by endpoints, both connections are shown, the reuse marked.
    let both = follow(&capture, json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80"}));
    assert_eq!(text(&both), "firstsecond");
}

#[test]
fn a_stream_pages_by_bytes_and_writes_hex() {
    let capture = http_exchange();
    let first = follow(&capture, json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80", "max_bytes": 10}));
    assert_eq!(first["next_offset"], 10);
    let text: String = first["chunks"].as_array().unwrap().iter().filter_map(|c| c["data"].as_str()).collect();
    assert_eq!(text, "GET / \\x01 HT");
    let second = follow(&capture, json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80", "offset": 10, "max_bytes": 14}));
    assert_eq!(second["chunks"][0]["offset"], 10);
    assert_eq!(second["chunks"][0]["data"], "TP/1.1\r\n\r\n");
    assert_eq!(second["chunks"][1]["data"], "200 ");
    assert_eq!(second["next_offset"], 24);
    let hex = follow(&capture, json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80", "format": "hex", "offset": 20}));
    assert_eq!(hex["chunks"][0]["data"], "323030204f4b005c");
    assert!(hex.get("next_offset").is_none());
}

#[test]
fn a_hole_the_capture_never_filled_is_a_gap() {
    let frames = [
        segment(true, 100, 0, "S", b""),
        segment(true, 101, 0, "A", b"abcd"),
        // Bytes 105..109 never captured.
        segment(true, 109, 0, "A", b"ijkl"),
    ];
    let capture = capture_of(&frames, 0);
    let result = follow(&capture, json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80"}));
    let kinds: Vec<(&str, u64)> = result["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["length"].as_u64().unwrap()))
        .collect();
    assert_eq!(kinds, [("data", 4), ("gap", 4), ("data", 4), ("end", 0)]);
    assert_eq!((result["tcp"]["gaps"].as_u64(), result["tcp"]["gap_bytes"].as_u64()), (Some(1), Some(4)));
    assert_eq!(result["total_bytes"], 8, "a gap holds no bytes");
}

#[test]
fn udp_datagrams_are_followed_both_ways() {
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 5060, 5070, b"INVITE"))
        .packet(2, 0, &udp_frame([10, 0, 0, 9], [10, 0, 0, 2], 5060, 5070, b"other"))
        .packet(3, 0, &udp_frame([10, 0, 0, 2], [10, 0, 0, 1], 5070, 5060, b"200 OK"))
        .build();
    let result = follow(&capture, json!({"protocol": "udp", "a": "10.0.0.1:5060", "b": "10.0.0.2:5070"}));
    let data: Vec<(&str, &str, u64)> = result["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["data"].as_str().unwrap(), c["frame_number"].as_u64().unwrap()))
        .collect();
    assert_eq!(data, [("a", "INVITE", 1), ("b", "200 OK", 3)]);
    assert!(result.get("tcp").is_none());
    let none = follow(&capture, json!({"protocol": "udp", "a": "10.0.0.1:1", "b": "10.0.0.2:2"}));
    assert!(none["warnings"].to_string().contains("no UDP packet between 10.0.0.1:1 and 10.0.0.2:2"));
}

#[test]
fn a_page_of_escaped_bytes_stays_within_the_result_budget() {
    // Newlines, quotes and backslashes take two to five bytes of JSON each.
    let payload: Vec<u8> = b"\n\"\\\x00".iter().copied().cycle().take(60_000).collect();
    let frames: Vec<Vec<u8>> =
        payload.chunks(1000).enumerate().map(|(i, part)| segment(true, 101 + 1000 * i as u32, 0, "A", part)).collect();
    let capture = std::iter::once(segment(true, 100, 0, "S", b""))
        .chain(frames)
        .enumerate()
        .fold(PcapBuilder::ethernet(), |b, (i, f)| b.packet(i as u32, 0, &f))
        .build();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let page = follow(
            &capture,
            json!({"a": "10.0.0.1:40000", "b": "10.0.0.2:80", "offset": offset, "max_bytes": 1048576}),
        );
        let size = page.to_string().len();
        assert!(size <= pcapsule_guest::conventions::RESULT_BYTE_BUDGET, "{size} bytes at offset {offset}");
        assert!(!page["warnings"].to_string().contains("Shortened"), "the page itself ends in time");
        pages += 1;
        match page["next_offset"].as_u64() {
            Some(next) => {
                assert!(next > offset);
                offset = next;
            }
            None => break,
        }
    }
    assert!(pages > 2, "{pages}");
}

#[test]
fn bad_stream_parameters_say_what_to_change() {
    let capture = http_exchange();
    let bad = |params: Value| match run_tool::<Packets>(FOLLOW_STREAM, params, &capture) {
        Err(RunError::BadParams(message)) => message,
        other => panic!("expected bad_params, got {other:?}"),
    };
    assert!(bad(json!({"a": "10.0.0.1", "b": "10.0.0.2:80"})).contains("a must be address:port"));
    assert!(bad(json!({"a": "10.0.0.1:1", "b": "10.0.0.1:1"})).contains("both"));
    assert!(bad(json!({"a": "10.0.0.1:1", "b": "10.0.0.2:80", "max_bytes": 0})).contains("max_bytes"));
    assert!(bad(json!({"a": "10.0.0.1:1"})).contains("b"));
    assert!(bad(json!({"stream": 1, "a": "10.0.0.1:1", "b": "10.0.0.2:80"})).contains("either `stream`"));
    assert!(bad(json!({})).contains("either `stream`"));
    assert!(bad(json!({"stream": -1})).contains("stream"));
    assert!(bad(json!({"a": "10.0.0.1:1", "b": "10.0.0.2:80", "protocol": "sctp"})).contains("protocol"));
}

/// Up to three TCP streams of every shared capture followed by pcapsule and
/// by `tshark -q -z follow,tcp,raw,N`: the bytes each endpoint sent, in
/// order. pcapsule follows stream N by number where tshark numbers only the
/// TCP headers pcapsule reads (see `pcapsule_guest::streams`); elsewhere it
/// follows the streams whose address and port pair no other stream reused,
/// by their endpoints.
#[test]
fn tcp_streams_agree_with_tshark_follow_on_the_shared_captures() {
    let Some(dir) = shared_captures() else { return };
    if std::process::Command::new("tshark").arg("--version").output().is_err() {
        pcapsule_guest::testing::missing::<()>("tshark");
        return;
    }
    let (by_number, failures) = on_every_capture(&dir, follow_like_tshark);
    assert!(by_number > 150, "only {by_number} streams followed by number");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures[..failures.len().min(30)].join("\n"));
}

/// A shared capture whose gaps differ on purpose: its TCP headers are cut
/// by the snapshot length, so tshark dissects no payload (and follows
/// none), where pcapsule counts the bytes the IP headers say the segments
/// carried as missing.
const GAPS_FROM_CUT_HEADERS: &str = "hostile/zeek_truncated-header.pcap";

/// Streams compared by number, and the differences found.
fn follow_like_tshark(dir: &std::path::Path, captures: &[std::path::PathBuf]) -> (usize, Vec<String>) {
    const STREAMS: usize = 3;
    const MAX_BYTES: usize = 64 * 1024;
    let (mut compared, mut failures) = (0, Vec::new());
    for path in captures {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        if READ_DIFFERENTLY.iter().any(|(file, _)| *file == name) {
            continue;
        }
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Some(streams) = tshark_streams(path) else { continue };
        let by_number = streams.iter().map(|(s, _)| *s).eq(0..streams.len() as u64);
        let chosen: Vec<u64> =
            streams.iter().filter(|(_, count)| by_number || *count == 1).map(|(s, _)| *s).take(STREAMS).collect();
        if chosen.is_empty() {
            continue;
        }
        for (stream, nodes) in tshark_follow(path, &chosen) {
            let [(a, a_hex), (b, b_hex)] = &nodes;
            if a.is_empty() || b.is_empty() || a_hex.len() + b_hex.len() > 2 * MAX_BYTES {
                continue;
            }
            let mut ours = [String::new(), String::new()];
            let mut our_gaps = [0u64; 2];
            let mut offset = 0u64;
            loop {
                let params = if by_number {
                    json!({"stream": stream, "format": "hex", "offset": offset})
                } else {
                    json!({"a": a, "b": b, "format": "hex", "offset": offset})
                };
                let Ok(page) = run_tool::<Packets>(FOLLOW_STREAM, params, &bytes) else { break };
                let ends = [page["a"].as_str().unwrap_or(""), page["b"].as_str().unwrap_or("")];
                if ends != [a.as_str(), b.as_str()] && ends != [b.as_str(), a.as_str()] {
                    failures.push(format!("{name} tcp.stream {stream}: tshark follows {a} {b}, pcapsule {ends:?}"));
                    break;
                }
                for chunk in page["chunks"].as_array().into_iter().flatten() {
                    let side = usize::from(chunk["from"] == "b");
                    if let Some(data) = chunk["data"].as_str() {
                        ours[side].push_str(data);
                    } else if chunk["kind"] == "gap" {
                        our_gaps[side] += chunk["length"].as_u64().unwrap_or(0);
                    }
                }
                match page["next_offset"].as_u64() {
                    Some(next) if next > offset => offset = next,
                    _ => break,
                }
            }
            compared += usize::from(by_number);
            // tshark's node 0 and pcapsule's `a` may be either end.
            if !ours[0].is_empty() || !ours[1].is_empty() {
                let a_first = nodes[0].0 == a.as_str();
                if !a_first {
                    ours.swap(0, 1);
                    our_gaps.swap(0, 1);
                }
            }
            for (((node, theirs), mine), mine_gaps) in nodes.iter().zip(&ours).zip(our_gaps) {
                // tshark writes a hole as text in the bytes; pcapsule as a `gap` chunk.
                let (theirs, their_gaps) = without_gap_markers(theirs);
                let gaps_differ = their_gaps != mine_gaps && name != GAPS_FROM_CUT_HEADERS;
                if theirs != *mine || gaps_differ {
                    let at = theirs.bytes().zip(mine.bytes()).take_while(|(x, y)| x == y).count() / 2;
                    failures.push(format!(
                        "{name} tcp.stream {stream} from {node}: tshark {} bytes with {their_gaps} missing, pcapsule \
                         {} with {mine_gaps} missing, first difference at byte {at}",
                        theirs.len() / 2,
                        mine.len() / 2
                    ));
                }
            }
        }
    }
    (compared, failures)
}

/// tshark's follow output (hex) without the text it puts where bytes are
/// missing (`[N bytes missing in capture file]` and a NUL), and the
/// bytes those markers stand for.
fn without_gap_markers(hex: &str) -> (String, u64) {
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    let (mut kept, mut missing, mut at) = (Vec::with_capacity(bytes.len()), 0u64, 0);
    while at < bytes.len() {
        let rest = &bytes[at..];
        let marker = rest.strip_prefix(b"[").and_then(|r| {
            let digits = r.iter().take_while(|b| b.is_ascii_digit()).count();
            let tail = r[digits..].strip_prefix(b" bytes missing in capture file]\0")?;
            let n: u64 = std::str::from_utf8(&r[..digits]).ok()?.parse().ok()?;
            Some((n, rest.len() - tail.len()))
        });
        match marker {
            Some((n, len)) => {
                missing += n;
                at += len;
            }
            None => {
                kept.push(bytes[at]);
                at += 1;
            }
        }
    }
    (kept.iter().map(|b| format!("{b:02x}")).collect(), missing)
}

/// Each TCP stream tshark numbers in `path`, with how many streams share
/// its address and port pair (port reuse); `None` when tshark cannot read it.
fn tshark_streams(path: &std::path::Path) -> Option<Vec<(u64, usize)>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "separator=|"])
        .args(["-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport"])
        .args(["-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut first_pair: std::collections::BTreeMap<u64, String> = std::collections::BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('|').map(|c| c.rsplit(',').next().unwrap_or("")).collect();
        let Some(stream) = cols.first().and_then(|s| s.parse().ok()) else { continue };
        let src = format!("{}{} {}", cols[1], cols[2], cols[3]);
        let dst = format!("{}{} {}", cols[4], cols[5], cols[6]);
        let pair = if src <= dst { format!("{src}|{dst}") } else { format!("{dst}|{src}") };
        first_pair.entry(stream).or_insert(pair);
    }
    let mut uses: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for pair in first_pair.values() {
        *uses.entry(pair).or_default() += 1;
    }
    Some(first_pair.iter().map(|(stream, pair)| (*stream, uses[pair.as_str()])).collect())
}

/// `tshark -q -z follow,tcp,raw,N` for each of `streams`: per stream, its
/// two nodes (address:port as pcapsule takes it) with the hex each sent.
fn tshark_follow(path: &std::path::Path, streams: &[u64]) -> Vec<(u64, [(String, String); 2])> {
    let mut command = std::process::Command::new("tshark");
    command.args(["-n", "-q", "-r"]).arg(path);
    for stream in streams {
        command.args(["-z", &format!("follow,tcp,raw,{stream}")]);
    }
    let Ok(out) = command.output() else { return Vec::new() };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for block in text.split("===================================================================") {
        let Some(stream) = block.lines().find_map(|l| l.strip_prefix("Filter: tcp.stream eq ")?.trim().parse().ok())
        else {
            continue;
        };
        let node = |n: &str| -> String {
            let Some(line) = block.lines().find_map(|l| l.strip_prefix(&format!("Node {n}: "))) else {
                return String::new();
            };
            // tshark writes IPv6 addresses without brackets.
            match line.rsplit_once(':') {
                _ if line.starts_with('[') => line.to_string(),
                Some((address, port)) if address.contains(':') => format!("[{address}]:{port}"),
                Some((address, port)) if !address.is_empty() => format!("{address}:{port}"),
                _ => String::new(),
            }
        };
        let mut hex = [String::new(), String::new()];
        for line in block.lines().filter(|l| !l.is_empty() && l.trim().bytes().all(|b| b.is_ascii_hexdigit())) {
            hex[usize::from(line.starts_with('\t'))].push_str(line.trim());
        }
        let [h0, h1] = hex;
        found.push((stream, [(node("0"), h0), (node("1"), h1)]));
    }
    found
}
