//! Tests of `analyze_conversations`: the Community ID against the
//! specification's vectors, the table's rules on generated packets, and
//! every figure against tshark on every shared capture.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use etherparse::PacketBuilder;
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, compare_in_parallel, in_parallel, run_tool, shared_captures, tshark_fields,
};
use serde_json::{Value, json};

use crate::Overview;

fn run(params: Value, capture: &[u8]) -> Value {
    run_tool::<Overview>("analyze_conversations", params, capture).expect("the tool runs")
}

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

fn tcp_frame(from_a: bool, seq: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
    let (smac, dmac, src, dst, sport, dport) = if from_a {
        (MAC_A, MAC_B, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
    } else {
        (MAC_B, MAC_A, [10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
    };
    let mut builder = PacketBuilder::ethernet2(smac, dmac).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if flags.contains('S') {
        builder = builder.syn();
    }
    if flags.contains('A') {
        builder = builder.ack(1);
    }
    if flags.contains('F') {
        builder = builder.fin();
    }
    if flags.contains('R') {
        builder = builder.rst();
    }
    let mut out = Vec::new();
    builder.write(&mut out, payload).unwrap();
    out
}

fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(src, dst, 64).udp(sport, dport).write(&mut out, payload).unwrap();
    out
}

/// The vectors of the Community ID specification's README (default
/// settings, seed 0), computed the way the tool computes them.
#[test]
fn community_ids_match_the_specification() {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let cases: [(u8, IpAddr, IpAddr, u16, u16, &str); 7] = [
        (6, v4(1, 2, 3, 4), v4(5, 6, 7, 8), 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="),
        (6, v4(5, 6, 7, 8), v4(1, 2, 3, 4), 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="),
        (17, v4(1, 2, 3, 4), v4(5, 6, 7, 8), 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
        (17, v4(5, 6, 7, 8), v4(1, 2, 3, 4), 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
        (132, v4(1, 2, 3, 4), v4(5, 6, 7, 8), 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="),
        (17, v4(192, 168, 1, 52), v4(8, 8, 8, 8), 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
        (
            6,
            "2001:470:e5bf:dead:4957:2174:e82c:4887".parse::<Ipv6Addr>().unwrap().into(),
            "2607:f8b0:400c:c03::1a".parse::<Ipv6Addr>().unwrap().into(),
            63943,
            25,
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
        ),
    ];
    for (proto, src, dst, sport, dport, expected) in cases {
        let id = community_id::calculate_community_id(0, src, dst, Some(sport), Some(dport), proto, false).unwrap();
        assert_eq!(id, expected, "{proto} {src}:{sport} -> {dst}:{dport}");
    }
    // And through the tool, for a UDP flow of the vectors.
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp_frame([192, 168, 1, 52], [8, 8, 8, 8], 54585, 53, b"q"))
        .packet(1, 10, &udp_frame([8, 8, 8, 8], [192, 168, 1, 52], 53, 54585, b"answer"))
        .build();
    let result = run(json!({"type": "udp"}), &capture);
    let list = result["conversations"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{result}");
    assert_eq!(list[0]["community_id"], "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    assert_eq!(list[0]["service"], "dns");
}

/// Directions, a reused port pair, TCP progress and throughput.
#[test]
fn a_syn_with_a_new_sequence_number_starts_a_new_conversation() {
    let capture = PcapBuilder::ethernet()
        .packet(10, 0, &tcp_frame(true, 100, "S", b""))
        .packet(10, 1000, &tcp_frame(false, 500, "SA", b""))
        .packet(10, 2000, &tcp_frame(true, 101, "A", b"GET / HTTP/1.1\r\n\r\n"))
        // A retransmitted SYN of the first connection stays in it.
        .packet(10, 3000, &tcp_frame(true, 100, "S", b""))
        .packet(11, 0, &tcp_frame(false, 501, "FA", b"0123456789"))
        .packet(11, 1000, &tcp_frame(true, 119, "FA", b""))
        // Same ports, new initial sequence number: a second connection, rejected.
        .packet(20, 0, &tcp_frame(true, 9000, "S", b""))
        .packet(20, 500, &tcp_frame(false, 0, "RA", b""))
        .build();
    let result = run(json!({"type": "tcp", "sort_by": "start"}), &capture);
    let list = result["conversations"].as_array().unwrap();
    assert_eq!(result["conversation_count"], 2, "{result:#}");
    let (first, second) = (&list[0], &list[1]);
    assert_eq!((first["address_a"].as_str(), first["port_a"].as_u64()), (Some("10.0.0.1"), Some(40000)));
    assert_eq!((first["packets_a_to_b"].as_u64(), first["packets_b_to_a"].as_u64()), (Some(4), Some(2)));
    assert_eq!(first["tcp"], json!({"handshake": "completed", "end": "closed"}));
    assert_eq!(first["first_frame"], 1);
    assert_eq!(first["duration_s"], 1.001);
    let b_to_a_bytes = first["bytes_b_to_a"].as_f64().unwrap();
    assert_eq!(first["bits_per_second_b_to_a"].as_f64().unwrap(), (b_to_a_bytes * 8.0 / 1.001).round());
    assert_eq!(first["service"], "http");
    assert_eq!(second["first_frame"], 7);
    assert_eq!(second["relative_start_s"], 10.0);
    assert_eq!(second["tcp"], json!({"handshake": "rejected", "end": "reset"}));
    assert_eq!(first["community_id"], second["community_id"], "one flow tuple, one Community ID");
    // Sorted by bytes (the default), the longer connection comes first too;
    // by packets, likewise; the IP layer sees one pair.
    let ip = run(json!({}), &capture);
    assert_eq!(ip["type"], "ip");
    assert_eq!(ip["conversation_count"], 1);
    assert_eq!(ip["conversations"][0]["packets"], 8);
    assert_eq!(ip["conversations"][0]["protocols"], json!([["tcp", 8]]));
    let eth = run(json!({"type": "eth"}), &capture);
    assert_eq!(eth["conversations"][0]["address_a"], "02:00:00:00:00:0a");
    assert_eq!(eth["conversations"][0]["packets_b_to_a"], 3);
}

/// A full table folds later conversations into `not_tracked` and says so.
#[test]
fn traffic_beyond_the_table_is_counted_not_dropped() {
    let mut builder = PcapBuilder::ethernet();
    for i in 0..5u8 {
        builder = builder.packet(1, u32::from(i), &udp_frame([10, 0, 0, i], [10, 0, 1, 1], 1000, 2000, b"x"));
    }
    let capture = builder.build();
    let table = crate::conversations::Conversations::new(crate::ConversationType::Udp, 2);
    let budget = pcapsule_guest::conventions::PacketBudget::new(None, None).unwrap();
    let driven = pcapsule_guest::driver::drive(&mut &capture[..], budget, table).unwrap();
    let (tracked, not_tracked) = driven.handler.counts();
    assert_eq!(tracked, 2);
    assert_eq!(not_tracked, 3);
}

#[test]
fn bad_parameters_are_refused_with_the_parameter_named() {
    let capture = PcapBuilder::ethernet().packet(1, 0, &udp_frame([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, b"")).build();
    for (params, needle) in [
        (json!({"type": "sctp"}), "type"),
        (json!({"sort_by": "size"}), "sort_by"),
        (json!({"limit": 100000}), "limit"),
        (json!({"colour": 1}), "colour"),
    ] {
        let error = run_tool::<Overview>("analyze_conversations", params.clone(), &capture).unwrap_err();
        assert!(error.to_string().contains(needle), "{params}: {error}");
    }
}

/// One conversation as both sides count it: (A, B), packets and bytes
/// each way and the stream number (TCP, UDP), keyed by the unordered pair
/// and, for TCP, by the order the pair's conversations started in.
type Counts = (String, String, u64, u64, u64, u64, Option<u64>);
type ByPair = BTreeMap<String, Vec<Counts>>;
/// A conversation's first frame and its counts.
type Started = (u64, Counts);

const KINDS: [&str; 5] = ["eth", "ipv4", "ipv6", "tcp", "udp"];

/// The fields every per-frame comparison with tshark reads, asked for in
/// one run per capture that the hierarchy, application and conversation
/// tests share (tshark's start-up is most of their time).
const FIELDS: [&str; 14] = [
    "frame.len",
    "frame.protocols",
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "udp.srcport",
    "udp.dstport",
    "udp.stream",
];

/// The value of one of [`FIELDS`] in a row of them ("" when tshark left it out).
fn field<'r>(row: &'r [String], name: &str) -> &'r str {
    let at = FIELDS.iter().position(|f| *f == name).expect("one of FIELDS");
    row.get(at).map_or("", String::as_str)
}

/// tshark's view of every layer's conversations, from one run's fields,
/// counted as the packet path decodes: each frame at its innermost IP
/// header and the transport right after it (tshark counts every layer of a
/// tunnel; the tool counts the traffic inside), at its innermost Ethernet
/// header, and never from the headers an ICMP error quotes.
fn tshark_conversations(capture: &Path) -> Option<BTreeMap<&'static str, ByPair>> {
    let rows = tshark_fields(capture, "", &FIELDS)?;
    // kind -> (pair, stream) -> (first frame, counts)
    let mut groups: BTreeMap<&str, BTreeMap<(String, String), Started>> = BTreeMap::new();
    for (frame, row) in rows.iter().enumerate() {
        let get = |name: &str| field(row, name);
        let protocols: Vec<&str> = get("frame.protocols").split(':').collect();
        let cut = protocols.iter().position(|p| *p == "icmp" || *p == "icmpv6").unwrap_or(protocols.len());
        let before = &protocols[..cut];
        // The value of `field` at the occurrence of `layer` at index `at` of the protocol list.
        let at_layer = |field: &str, layer: &str, at: usize| -> Option<String> {
            let n = before[..=at].iter().filter(|p| **p == layer).count();
            get(field).split(',').nth(n.checked_sub(1)?).filter(|v| !v.is_empty()).map(str::to_string)
        };
        let len: u64 = get("frame.len").parse().unwrap_or(0);
        let mut found: Vec<(&str, String, String, String)> = Vec::new();
        if let Some(at) = before.iter().rposition(|p| *p == "eth")
            && let (Some(a), Some(b)) = (at_layer("eth.src", "eth", at), at_layer("eth.dst", "eth", at))
        {
            found.push(("eth", a, b, String::new()));
        }
        if let Some(ip_at) = before.iter().rposition(|p| *p == "ip" || *p == "ipv6") {
            let (layer, kind) = if before[ip_at] == "ip" { ("ip", "ipv4") } else { ("ipv6", "ipv6") };
            let (Some(a), Some(b)) =
                (at_layer(&format!("{layer}.src"), layer, ip_at), at_layer(&format!("{layer}.dst"), layer, ip_at))
            else {
                continue;
            };
            found.push((kind, a.clone(), b.clone(), String::new()));
            // The transport follows the IP header and its extension headers.
            let t_at = ip_at + 1 + before[ip_at + 1..].iter().take_while(|p| p.starts_with("ipv6.")).count();
            if let Some(&transport @ ("tcp" | "udp")) = before.get(t_at)
                && let (Some(pa), Some(pb)) = (
                    at_layer(&format!("{transport}.srcport"), transport, t_at),
                    at_layer(&format!("{transport}.dstport"), transport, t_at),
                )
            {
                let stream = at_layer(&format!("{transport}.stream"), transport, t_at).unwrap_or_default();
                found.push((transport, format!("{a} {pa}"), format!("{b} {pb}"), stream));
            }
        }
        for (kind, a, b, stream) in found {
            let pair = if a <= b { format!("{a} | {b}") } else { format!("{b} | {a}") };
            let entry = groups
                .entry(kind)
                .or_default()
                // tshark splits a TCP pair's conversations by stream (port
                // reuse); a UDP pair is one conversation (in GTP-U tunnels,
                // tshark gives each direction its own udp.stream).
                .entry((pair, if kind == "tcp" { stream.clone() } else { String::new() }))
                .or_insert_with(|| (frame as u64 + 1, (a.clone(), b.clone(), 0, 0, 0, 0, stream.parse().ok())));
            let counts = &mut entry.1;
            if counts.0 == a {
                counts.2 += 1;
                counts.3 += len;
            } else {
                counts.4 += 1;
                counts.5 += len;
            }
        }
    }
    Some(
        KINDS
            .iter()
            .map(|kind| {
                let groups = groups.remove(kind).unwrap_or_default();
                // tshark also numbers a tunnel's outer TCP/UDP header and
                // headers ICMP errors quote for unseen flows (the tool numbers
                // the innermost transport only): when its numbers of the
                // counted headers have holes, they are not compared.
                let numbers: BTreeSet<u64> = groups.values().filter_map(|(_, counts)| counts.6).collect();
                let dense = numbers.iter().copied().eq(0..numbers.len() as u64);
                let mut by_pair: BTreeMap<String, Vec<Started>> = BTreeMap::new();
                for ((pair, _), (first, mut counts)) in groups {
                    if !dense {
                        counts.6 = None;
                    }
                    by_pair.entry(pair).or_default().push((first, counts));
                }
                (*kind, in_start_order(by_pair))
            })
            .collect(),
    )
}

fn in_start_order(by_pair: BTreeMap<String, Vec<Started>>) -> ByPair {
    by_pair
        .into_iter()
        .map(|(pair, mut list)| {
            list.sort_by_key(|(first, _)| *first);
            (pair, list.into_iter().map(|(_, counts)| counts).collect())
        })
        .collect()
}

/// The tool's view, every page, in the same shape.
fn our_conversations(capture: &[u8], kind: &str) -> (ByPair, Value) {
    let mut by_pair: BTreeMap<String, Vec<Started>> = BTreeMap::new();
    let mut offset = 0;
    let mut first_page = Value::Null;
    loop {
        let page = run(json!({"type": kind, "sort_by": "start", "limit": 1000, "offset": offset}), capture);
        for c in page["conversations"].as_array().unwrap() {
            let endpoint = |side: &str| match c[format!("port_{side}")].as_u64() {
                Some(port) => format!("{} {port}", c[format!("address_{side}")].as_str().unwrap()),
                None => c[format!("address_{side}")].as_str().unwrap().to_string(),
            };
            let (a, b) = (endpoint("a"), endpoint("b"));
            let pair = if a <= b { format!("{a} | {b}") } else { format!("{b} | {a}") };
            let n = |k: &str| c[k].as_u64().unwrap();
            by_pair.entry(pair).or_default().push((
                n("first_frame"),
                (
                    a,
                    b,
                    n("packets_a_to_b"),
                    n("bytes_a_to_b"),
                    n("packets_b_to_a"),
                    n("bytes_b_to_a"),
                    c["stream"].as_u64(),
                ),
            ));
        }
        if offset == 0 {
            first_page = page.clone();
        }
        match page["pagination"]["next_offset"].as_u64() {
            Some(next) => offset = next as usize,
            None => break,
        }
    }
    (in_start_order(by_pair), first_page)
}

/// Captures where the packet path reads a tunnel otherwise than tshark,
/// so the innermost layers differ (file, layers, why). The conversation
/// table itself is the same code for every file.
const DIFFERENT_BY_DESIGN: [(&str, &[&str], &str); 4] = [
    (
        "suricata-verify_decode-erspan-typeII-01_input.pcap",
        &["eth", "ipv4"],
        "two ERSPAN packets carry 802.3 frames with LLC (CDP): the path keeps the outer packet, tshark reads the \
         inner Ethernet header",
    ),
    (
        "tcpdump_various_gre.pcap",
        &["ipv4"],
        "GRE keepalives: the path follows the IP packet a keepalive carries, tshark stops at its GRE header",
    ),
    (
        "zeek_pbb.pcap",
        &["eth"],
        "802.1ah provider backbone bridging: the path reads the backbone MAC addresses, tshark the customer's inside",
    ),
    (
        "zeek_teredo_bubble_with_payload.pcap",
        &["ipv4", "ipv6", "udp"],
        "a Teredo bubble carrying payload (an IPv6 header straight after UDP, no next header) that tshark's \
         heuristic leaves as UDP data; the path reads the IPv6 inside, as Zeek does",
    ),
];

#[test]
fn conversations_agree_with_tshark_on_every_shared_capture() {
    let Some(dir) = shared_captures() else { return };
    let mut failures = Vec::new();
    let (mut compared, mut streams_compared) = (0, 0);
    let captures: Vec<_> =
        captures_under(&dir).into_iter().filter(|p| !p.components().any(|c| c.as_os_str() == "hostile")).collect();
    let tshark_answers = in_parallel(&captures, |path| tshark_conversations(path));
    for (path, theirs) in captures.iter().zip(tshark_answers) {
        let name = path.file_name().unwrap().to_string_lossy();
        let differs_by_design =
            |kind: &str| DIFFERENT_BY_DESIGN.iter().any(|(file, kinds, _)| *file == name && kinds.contains(&kind));
        let bytes = std::fs::read(path).unwrap();
        let Some(mut all) = theirs else { continue };
        for kind in KINDS {
            let theirs = all.remove(kind).unwrap_or_default();
            if differs_by_design(kind) {
                continue;
            }
            let (mut ours, page) = our_conversations(&bytes, kind);
            if theirs.values().flatten().all(|counts| counts.6.is_none()) {
                // tshark's stream numbers are not comparable here (see tshark_conversations).
                ours.values_mut().flatten().for_each(|counts| counts.6 = None);
            } else {
                streams_compared += 1;
            }
            compared += 1;
            if ours != theirs {
                let only_ours: Vec<_> = ours.iter().filter(|(k, v)| theirs.get(*k) != Some(v)).take(3).collect();
                let only_theirs: Vec<_> = theirs.iter().filter(|(k, v)| ours.get(*k) != Some(v)).take(3).collect();
                failures.push(format!(
                    "{} {kind}: {} vs {} pairs; ours {only_ours:?}; tshark {only_theirs:?}; warnings {}",
                    path.strip_prefix(&dir).unwrap().display(),
                    ours.len(),
                    theirs.len(),
                    page["warnings"]
                ));
            }
        }
    }
    eprintln!("{compared} captures and layers compared with tshark, {streams_compared} with stream numbers");
    assert!(compared > 100, "only {compared} comparisons ran");
    assert!(streams_compared > 100, "stream numbers compared on only {streams_compared}");
    assert!(failures.is_empty(), "{} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

/// Stream numbers are the whole capture's: a selection that leaves out
/// the first connection and a port reuse's first connection keeps the
/// second's number (1), and UDP counts its own streams.
#[test]
fn streams_keep_their_numbers_under_a_selection() {
    use pcapsule_guest::testing::tcp_frame as any_tcp_frame;
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &any_tcp_frame(a, b, 40000, 80, 100, 0, "S", b""))
        .packet(2, 0, &any_tcp_frame(b, a, 80, 40000, 500, 101, "SA", b""))
        .packet(3, 0, &any_tcp_frame(a, b, 40000, 80, 7000, 0, "S", b""))
        .packet(4, 0, &any_tcp_frame(b, a, 80, 40000, 900, 7001, "SA", b""))
        .packet(5, 0, &udp_frame(a, b, 5060, 5060, b"x"))
        .packet(6, 0, &any_tcp_frame(a, [10, 0, 0, 3], 40001, 443, 1, 0, "S", b""))
        .build();
    let streams = |params: Value| -> Vec<(u64, u64)> {
        run(params, &capture)["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["first_frame"].as_u64().unwrap(), c["stream"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(streams(json!({"type": "tcp", "sort_by": "start"})), [(1, 0), (3, 1), (6, 2)]);
    assert_eq!(streams(json!({"type": "tcp", "sort_by": "start", "time_from": 3})), [(3, 1), (6, 2)]);
    assert_eq!(streams(json!({"type": "tcp", "filter": "port 443"})), [(6, 2)]);
    assert_eq!(streams(json!({"type": "udp"})), [(5, 0)]);
}

/// Through the tool: a capture with more conversations than the table
/// holds says how much it did not list, and the default result stays small.
#[test]
fn a_full_table_is_reported_and_the_result_stays_small() {
    let extra = 5;
    let mut builder = PcapBuilder::ethernet();
    for i in 0..(crate::conversations::MAX_CONVERSATIONS + extra) as u32 {
        let [_, b, c, d] = i.to_be_bytes();
        builder = builder.packet(1, i % 1_000_000, &udp_frame([10, b, c, d], [192, 168, 0, 1], 5000, 53, b"x"));
    }
    let result = run(json!({"type": "udp"}), &builder.build());
    assert_eq!(result["conversation_count"], crate::conversations::MAX_CONVERSATIONS);
    assert_eq!(result["not_tracked"]["packets"], extra);
    assert!(result["warnings"].to_string().contains("not_tracked"), "{}", result["warnings"]);
    assert_eq!(result["packets_in_conversations"], crate::conversations::MAX_CONVERSATIONS + extra);
    let size = result.to_string().len();
    assert!(size < 40_000, "default result is {size} bytes");
}

/// tshark's endpoint tables (`-z endpoints,LAYER` for each layer, one
/// run): layer -> endpoint (address, or address and port) -> (packets,
/// bytes, sent packets, sent bytes, received packets, received bytes).
fn tshark_endpoints(capture: &Path) -> Option<BTreeMap<&'static str, BTreeMap<String, [u64; 6]>>> {
    const TITLES: [(&str, &str); 5] =
        [("Ethernet", "eth"), ("IPv4", "ip"), ("IPv6", "ipv6"), ("TCP", "tcp"), ("UDP", "udp")];
    let mut command = std::process::Command::new("tshark");
    command.args(["-n", "-q", "-r"]).arg(capture);
    for (_, layer) in TITLES {
        command.args(["-z", &format!("endpoints,{layer}")]);
    }
    let out = command.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut tables = BTreeMap::new();
    let mut current: Option<&'static str> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((_, layer)) = TITLES.iter().find(|(title, _)| line == format!("{title} Endpoints")) {
            current = Some(layer);
            tables.insert(*layer, BTreeMap::new());
            continue;
        }
        let Some(layer) = current else { continue };
        let with_port = layer == "tcp" || layer == "udp";
        let words: Vec<&str> = line.split_whitespace().collect();
        let (key, numbers) = if with_port && words.len() == 8 {
            (format!("{} {}", words[0], words[1]), &words[2..])
        } else if !with_port && words.len() == 7 {
            (words[0].to_string(), &words[1..])
        } else {
            continue;
        };
        let Ok(numbers) = numbers.iter().map(|n| n.parse::<u64>()).collect::<Result<Vec<_>, _>>() else { continue };
        tables.get_mut(layer).expect("inserted at its title").insert(key, numbers.try_into().unwrap());
    }
    Some(tables)
}

/// Endpoints against tshark's own endpoint tables, on every shared capture
/// whose packets the path reads without tunnels (tshark counts every layer
/// of a tunnel, the tool the innermost).
/// Captures where tshark's endpoint tables differ from the tool's by
/// design (file, layers, why).
const ENDPOINTS_DIFFERENT_BY_DESIGN: [(&str, &[&str], &str); 1] = [(
    "suricata-verify_tcp-opt.pcap",
    &["tcp"],
    "frame 24's TCP options are malformed: tshark's dissector throws before its endpoint tap (its conversation \
     fields are read, see the conversation test), the tool counts the segment by its readable ports",
)];

#[test]
fn endpoints_agree_with_tshark_endpoint_tables() {
    let Some(dir) = shared_captures() else { return };
    let captures: Vec<_> =
        captures_under(&dir).into_iter().filter(|p| !p.components().any(|c| c.as_os_str() == "hostile")).collect();
    let (compared, failures) = compare_in_parallel(&captures, |path| {
        let (mut compared, mut failures) = (0, Vec::new());
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let mut tables = None;
        for (kind, layer) in [("eth", "eth"), ("ipv4", "ip"), ("ipv6", "ipv6"), ("tcp", "tcp"), ("udp", "udp")] {
            if ENDPOINTS_DIFFERENT_BY_DESIGN.iter().any(|(file, kinds, _)| *file == name && kinds.contains(&kind)) {
                continue;
            }
            let mut ours = BTreeMap::new();
            let mut offset = 0;
            let mut facts = Value::Null;
            loop {
                let page = run_tool::<Overview>(
                    "analyze_endpoints",
                    json!({"type": kind, "limit": 1000, "offset": offset}),
                    &bytes,
                )
                .expect("the tool runs");
                for e in page["endpoints"].as_array().unwrap() {
                    let key = match e["port"].as_u64() {
                        Some(port) => format!("{} {port}", e["address"].as_str().unwrap()),
                        None => e["address"].as_str().unwrap().to_string(),
                    };
                    let n = |k: &str| e[k].as_u64().unwrap();
                    ours.insert(
                        key,
                        [
                            n("packets"),
                            n("bytes"),
                            n("packets_sent"),
                            n("bytes_sent"),
                            n("packets_received"),
                            n("bytes_received"),
                        ],
                    );
                }
                if offset == 0 {
                    facts = page["capture"].clone();
                }
                match page["pagination"]["next_offset"].as_u64() {
                    Some(next) => offset = next as usize,
                    None => break,
                }
            }
            let tunnelled = facts["encapsulations"].as_object().is_some_and(|e| !e.is_empty());
            if tunnelled || facts["undecodable_packets"] != 0 {
                break;
            }
            if tables.is_none() {
                tables = tshark_endpoints(path);
            }
            let Some(theirs) = tables.as_ref().map(|t| t.get(layer).cloned().unwrap_or_default()) else { break };
            compared += 1;
            if ours != theirs {
                let only_ours: Vec<_> = ours.iter().filter(|(k, v)| theirs.get(*k) != Some(v)).take(3).collect();
                let only_theirs: Vec<_> = theirs.iter().filter(|(k, v)| ours.get(*k) != Some(v)).take(3).collect();
                failures.push(format!(
                    "{} {kind}: ours {only_ours:?}; tshark {only_theirs:?}",
                    path.strip_prefix(&dir).unwrap().display()
                ));
            }
        }
        (compared, failures)
    });
    eprintln!("{compared} captures and layers compared with tshark's endpoint tables");
    assert!(compared > 100, "only {compared} comparisons ran");
    assert!(failures.is_empty(), "{} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

/// Sent and received per endpoint, peers and conversations; a packet from
/// an address to itself counts as sent and received, as in tshark.
#[test]
fn endpoints_sum_their_conversations() {
    let capture = PcapBuilder::ethernet()
        .packet(10, 0, &tcp_frame(true, 100, "S", b""))
        .packet(10, 1000, &tcp_frame(false, 500, "SA", b""))
        .packet(10, 2000, &tcp_frame(true, 101, "A", b"hello"))
        .packet(11, 0, &udp_frame([10, 0, 0, 1], [10, 0, 0, 3], 5353, 5353, b"q"))
        .packet(12, 0, &udp_frame([10, 0, 0, 9], [10, 0, 0, 9], 7, 7, b"self"))
        .build();
    let result = run_tool::<Overview>("analyze_endpoints", json!({"sort_by": "start"}), &capture).unwrap();
    assert_eq!(result["endpoint_count"], 4, "{result:#}");
    let list = result["endpoints"].as_array().unwrap();
    let first = &list[0];
    assert_eq!(first["address"], "10.0.0.1");
    assert_eq!((first["packets_sent"].as_u64(), first["packets_received"].as_u64()), (Some(3), Some(1)));
    assert_eq!((first["peers"].as_u64(), first["conversations"].as_u64()), (Some(2), Some(2)));
    assert_eq!(first["duration_s"], 1.0);
    let alone = list.iter().find(|e| e["address"] == "10.0.0.9").unwrap();
    assert_eq!((alone["packets_sent"].as_u64(), alone["packets_received"].as_u64()), (Some(1), Some(1)));
    assert_eq!(alone["packets"], 2);
    assert_eq!(alone["relative_start_s"], 2.0);
    let udp = run_tool::<Overview>("analyze_endpoints", json!({"type": "udp"}), &capture).unwrap();
    let mdns = udp["endpoints"].as_array().unwrap().iter().find(|e| e["address"] == "10.0.0.3").unwrap();
    assert_eq!((mdns["port"].as_u64(), mdns["service"].as_str()), (Some(5353), Some("mdns")));
    // The same figures as tshark's endpoint table for this capture.
    let dir = tempfile_dir("endpoints");
    let path = dir.join("endpoints.pcap");
    std::fs::write(&path, &capture).unwrap();
    if let Some(tables) = tshark_endpoints(&path) {
        let ip = &tables["ip"];
        assert_eq!(ip["10.0.0.9"][..3], [2, alone["bytes"].as_u64().unwrap(), 1], "{ip:?}");
        assert_eq!(ip["10.0.0.1"][2], 3);
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A fresh directory of this test process for one test (tests run in
/// parallel, and each removes its own).
fn tempfile_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pcapsule-overview-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// In one pass (`analyze_many`), each call gets what it gets alone:
/// calls on one layer share a table, others get their own, a bad call
/// fails alone.
#[test]
fn one_pass_gives_each_call_its_own_result() {
    use pcapsule_guest::testing::{run_tools, without_timestamp};
    let capture = PcapBuilder::ethernet()
        .packet(10, 0, &tcp_frame(true, 100, "S", b""))
        .packet(10, 1000, &tcp_frame(false, 500, "SA", b""))
        .packet(10, 2000, &tcp_frame(true, 101, "A", b"hello"))
        .packet(11, 0, &udp_frame([10, 0, 0, 1], [10, 0, 0, 3], 5353, 5353, b"q"))
        .build();
    let calls = [
        ("analyze_conversations", json!({"type": "tcp"})),
        ("analyze_endpoints", json!({"type": "tcp"})),
        ("analyze_endpoints", json!({"max_packets": 2})),
        ("analyze_io_timeline", json!({"interval": 0.5})),
        ("analyze_io_timeline", json!({})),
        ("analyze_conversations", json!({"type": "nope"})),
    ];
    let together = run_tools::<Overview>(&calls, &capture);
    assert_eq!(together.len(), calls.len());
    for ((tool, params), result) in calls.iter().zip(together) {
        let alone = without_timestamp(run_tool::<Overview>(tool, params.clone(), &capture));
        match (without_timestamp(result), alone) {
            (Ok(together), Ok(alone)) => assert_eq!(together, alone, "{tool} {params}"),
            (Err(together), Err(alone)) => assert_eq!(together.to_string(), alone.to_string()),
            (together, alone) => panic!("{tool} {params}: {together:?} against {alone:?}"),
        }
    }
}

/// tshark's I/O statistics at `interval` seconds: (frames, bytes) per interval.
fn tshark_io_stat(capture: &Path, interval: f64) -> Option<Vec<(u64, u64)>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-q", "-r"])
        .arg(capture)
        .args(["-z", &format!("io,stat,{interval}")])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains("<>"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            Some((cells.get(1)?.parse().ok()?, cells.get(2)?.parse().ok()?))
        })
        .collect();
    Some(rows)
}

/// Packets and bytes per interval against `tshark -z io,stat` at the
/// interval the tool chose, on every shared capture in time order.
#[test]
fn the_timeline_agrees_with_tshark_io_stat() {
    let Some(dir) = shared_captures() else { return };
    let captures: Vec<_> =
        captures_under(&dir).into_iter().filter(|p| !p.components().any(|c| c.as_os_str() == "hostile")).collect();
    let (compared, failures) = compare_in_parallel(&captures, |path| {
        let bytes = std::fs::read(path).unwrap();
        let ours = run_tool::<Overview>("analyze_io_timeline", json!({"limit": 1000}), &bytes).unwrap();
        let warnings = ours["warnings"].to_string();
        if warnings.contains("before the first packet") || warnings.contains("no timestamp") {
            // tshark places such packets by their own time; the tool in the first interval.
            return (0, Vec::new());
        }
        let interval = ours["interval_s"].as_f64().unwrap();
        let duration = ours["duration_s"].as_f64().unwrap_or(0.0);
        let Some(theirs) = tshark_io_stat(path, interval) else { return (0, Vec::new()) };
        let ours: Vec<(u64, u64)> = ours["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["packets"].as_u64().unwrap(), i["bytes"].as_u64().unwrap()))
            .collect();
        // tshark prints ceil(duration / interval) rows: when the duration is
        // a whole number of intervals (a 0-second capture too), the packets
        // at the very end fall after its last row, and it leaves them out;
        // the tool counts them in one more interval.
        let whole = (duration / interval - (duration / interval).round()).abs() < 1e-6;
        let ours_shown: Vec<(u64, u64)> =
            if whole && ours.len() == theirs.len() + 1 { ours[..theirs.len()].to_vec() } else { ours.clone() };
        // And it may print one more, empty, interval at the end.
        let theirs_trimmed: Vec<(u64, u64)> = theirs.iter().copied().take(ours_shown.len()).collect();
        let rest_empty = theirs.iter().skip(ours_shown.len()).all(|row| *row == (0, 0));
        if ours_shown != theirs_trimmed || !rest_empty {
            let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
            return (
                1,
                vec![format!(
                    "{} at {interval} s: {} intervals vs {}; first difference at {first:?}: ours {:?} tshark {:?}",
                    path.strip_prefix(&dir).unwrap().display(),
                    ours.len(),
                    theirs.len(),
                    first.map(|i| ours[i]),
                    first.and_then(|i| theirs.get(i)),
                )],
            );
        }
        (1, Vec::new())
    });
    eprintln!("{compared} timelines compared with tshark -z io,stat");
    assert!(compared > 100, "only {compared} comparisons ran");
    assert!(failures.is_empty(), "{} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

/// The interval is chosen so the capture spans at most 100; a burst and
/// the silences are called out; new flows count each TCP/UDP flow once.
#[test]
fn the_timeline_chooses_its_interval_and_finds_bursts_and_silences() {
    let mut builder = PcapBuilder::ethernet();
    // One packet a second for 50 s, 40 packets in second 20, silent from 30 s to 45 s.
    for second in 0..50u32 {
        if (30..45).contains(&second) {
            continue;
        }
        let burst = if second == 20 { 40 } else { 1 };
        for n in 0..burst {
            let port = if second == 20 { 1000 + n as u16 } else { 53 };
            builder = builder.packet(1000 + second, n * 1000, &udp_frame([10, 0, 0, 1], [10, 0, 0, 2], port, 53, b"x"));
        }
    }
    let capture = builder.build();
    let result = run_tool::<Overview>("analyze_io_timeline", json!({}), &capture).unwrap();
    assert_eq!(result["interval_s"], 1.0, "{result:#}");
    assert_eq!(result["interval_count"], 50);
    assert_eq!(result["intervals"][20]["packets"], 40);
    assert_eq!(result["intervals"][20]["new_flows"], 40, "40 new source ports");
    assert_eq!(result["intervals"][0]["new_flows"], 1);
    assert_eq!(result["intervals"][1]["new_flows"], 0);
    assert_eq!(result["peak"]["start_s"], 20.0);
    assert_eq!(result["bursts"].as_array().unwrap().len(), 1);
    assert_eq!(result["silences"][0]["seconds"], 16.0);
    assert_eq!(result["silences"][0]["resumes_at_frame"], 30 + 39 + 1);
    assert_eq!(result["protocols"], json!({"dns": 74}), "port 53 on one side");
    // A given interval: 10 s gives 5 intervals.
    let coarse = run_tool::<Overview>("analyze_io_timeline", json!({"interval": 10}), &capture).unwrap();
    assert_eq!(coarse["interval_count"], 5);
    assert_eq!(coarse["intervals"][2]["packets"], 49);
    assert_eq!(coarse["interval_chosen"], "by the caller");
    // Too short an interval for the capture: counted apart, and said.
    let fine = run_tool::<Overview>("analyze_io_timeline", json!({"interval": 0.0001, "limit": 1}), &capture).unwrap();
    assert!(fine["warnings"].to_string().contains("too short"), "{}", fine["warnings"]);
    for bad in [json!({"interval": 0}), json!({"interval": -1}), json!({"interval": 1e12})] {
        let error = run_tool::<Overview>("analyze_io_timeline", bad.clone(), &capture).unwrap_err();
        assert!(error.to_string().contains("interval"), "{bad}: {error}");
    }
}

/// The names a path is compared on: the packet path's layers (into the
/// datagram an ICMP error quotes) and the protocols named right above IP,
/// an EtherType or LLC. Wireshark's
/// pseudo-layers (`ethertype`, `wlan_radio`, IPv6 extension headers) and
/// `ah` (which the packet path reads as an IP extension) are left out.
fn comparable(path: &[&str]) -> Vec<String> {
    use pcapsule_guest::decode::Layer;
    use pcapsule_guest::identify::{ether_type_name, ip_protocol_name};
    static KNOWN: std::sync::LazyLock<std::collections::HashSet<&'static str>> = std::sync::LazyLock::new(|| {
        let layers = Layer::ALL.iter().map(|l| l.name());
        let ip = (0..=u8::MAX).filter_map(ip_protocol_name);
        let ether = (0..=u16::MAX).filter_map(ether_type_name);
        let llc = ["stp", "cdp", "vtp", "dtp", "ipx", "netbios", "slarp"];
        layers.chain(ip).chain(ether).chain(llc).collect()
    });
    const SKIPPED: [&str; 3] = ["ethertype", "wlan_radio", "ah"];
    const ABOVE_UDP: [&str; 7] = ["vxlan", "geneve", "gtp", "teredo", "ayiya", "gre", "mpls"];
    let is_layer = |name: &str| Layer::ALL.iter().any(|l| l.name() == name);
    let mut out: Vec<String> = Vec::new();
    for name in path.iter().copied().filter(|n| !SKIPPED.contains(n) && !n.starts_with("ipv6.")) {
        if let Some(last) = out.last() {
            let tunnel_inside = last == "udp" && ABOVE_UDP.contains(&name);
            let quote_inside = (last == "icmp" || last == "icmpv6") && (name == "ip" || name == "ipv6");
            let terminal = ["tcp", "udp", "icmp", "icmpv6", "igmp", "arp"].contains(&last.as_str()) || !is_layer(last);
            if terminal && !tunnel_inside && !quote_inside {
                break;
            }
        }
        if !KNOWN.contains(name) {
            break;
        }
        out.push(name.to_string());
    }
    out
}

/// tshark's protocol paths, every prefix of each frame's comparable path
/// counted: (frames, bytes) by path.
fn tshark_hierarchy(capture: &Path) -> Option<BTreeMap<String, (u64, u64)>> {
    let rows = tshark_fields(capture, "", &FIELDS)?;
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in rows {
        let names: Vec<&str> = field(&row, "frame.protocols").split(':').collect();
        let bytes: u64 = field(&row, "frame.len").parse().unwrap_or(0);
        let path = comparable(&names);
        for depth in 1..=path.len() {
            let entry = out.entry(path[..depth].join(":")).or_default();
            entry.0 += 1;
            entry.1 += bytes;
        }
    }
    Some(out)
}

/// The tool's nodes whose whole path is comparable: (frames, bytes) by path.
fn comparable_nodes(result: &Value) -> BTreeMap<String, (u64, u64)> {
    result["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|node| {
            let path = node["path"].as_str().unwrap();
            let names: Vec<&str> = path.split(':').collect();
            (comparable(&names).len() == names.len())
                .then(|| (path.to_string(), (node["packets"].as_u64().unwrap(), node["bytes"].as_u64().unwrap())))
        })
        .collect()
}

/// ICMP errors are followed into the datagram they quote, as Wireshark
/// does; quoted DNS is not counted as DNS traffic; a ping whose payload
/// looks like an IP header is not an error and is not followed.
#[test]
fn icmp_errors_are_followed_into_the_datagram_they_quote() {
    use etherparse::{IcmpEchoHeader, Icmpv4Type, Icmpv6Type, icmpv4, icmpv6};
    let dns_query = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1];
    let ip_datagram = |builder: etherparse::PacketBuilderStep<etherparse::IpHeaders>, tcp: bool| {
        let mut out = Vec::new();
        if tcp {
            builder.tcp(40000, 443, 1, 65535).write(&mut out, b"").unwrap();
        } else {
            builder.udp(40000, 53).write(&mut out, &dns_query).unwrap();
        }
        out
    };
    let v4 = || PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 53], 1);
    let (v6_a, v6_b) = (
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53],
    );
    let quoted_dns = ip_datagram(v4(), false);
    let quoted_tcp = ip_datagram(v4(), true);
    let quoted_dns_v6 = ip_datagram(PacketBuilder::ipv6(v6_a, v6_b, 1), false);
    let icmp = |icmp_type: Icmpv4Type, payload: &[u8]| {
        let mut out = Vec::new();
        let builder = PacketBuilder::ethernet2(MAC_B, MAC_A).ipv4([10, 0, 0, 254], [10, 0, 0, 1], 64);
        builder.icmpv4(icmp_type).write(&mut out, payload).unwrap();
        out
    };
    let mut unreachable_v6 = Vec::new();
    PacketBuilder::ethernet2(MAC_B, MAC_A)
        .ipv6(v6_b, v6_a, 64)
        .icmpv6(Icmpv6Type::DestinationUnreachable(icmpv6::DestUnreachableCode::Port))
        .write(&mut unreachable_v6, &quoted_dns_v6)
        .unwrap();
    let port_unreachable = Icmpv4Type::DestinationUnreachable(icmpv4::DestUnreachableHeader::Port);
    let ttl_exceeded = Icmpv4Type::TimeExceeded(icmpv4::TimeExceededCode::TtlExceededInTransit);
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &icmp(port_unreachable, &quoted_dns))
        // RFC 792's minimum: the IP header and 8 bytes, the start of a TCP header.
        .packet(2, 0, &icmp(ttl_exceeded, &quoted_tcp[..28]))
        .packet(3, 0, &icmp(Icmpv4Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 }), &quoted_dns))
        .packet(4, 0, &unreachable_v6)
        .build();
    let result = run_tool::<Overview>("analyze_protocol_hierarchy", json!({}), &capture).unwrap();
    let packets = |path: &str| {
        let nodes = result["protocols"].as_array().unwrap();
        nodes.iter().find(|n| n["path"] == path).map(|n| n["packets"].as_u64().unwrap())
    };
    assert_eq!(packets("eth:ip:icmp"), Some(3));
    assert_eq!(packets("eth:ip:icmp:ip"), Some(2), "the ping's payload is not followed");
    assert_eq!(packets("eth:ip:icmp:ip:udp:dns"), Some(1));
    assert_eq!(packets("eth:ip:icmp:ip:tcp"), Some(1), "named from the protocol number");
    assert_eq!(packets("eth:ipv6:icmpv6:ipv6:udp:dns"), Some(1));
    assert_eq!(result["applications"], json!([]), "a quote is not DNS traffic");
    assert_eq!(result["unidentified"]["packets"], 0);
    // The same paths as tshark's.
    let dir = tempfile_dir("icmp-quotes");
    let path = dir.join("icmp-quotes.pcap");
    std::fs::write(&path, &capture).unwrap();
    if let Some(theirs) = tshark_hierarchy(&path) {
        assert_eq!(comparable_nodes(&result), theirs);
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Captures whose hierarchy differs from tshark's on purpose.
const HIERARCHY_DIFFERENT_BY_DESIGN: [(&str, &str); 0] = [];

/// Every node from the link layer to the transport (tunnels included)
/// against tshark's frame.protocols, on every shared capture.
#[test]
fn the_hierarchy_agrees_with_tshark_to_the_transport_layer() {
    let Some(dir) = shared_captures() else { return };
    let (mut compared, mut failures) = (0, Vec::new());
    let compared_here = |path: &std::path::PathBuf| {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        !name.starts_with("hostile") && !HIERARCHY_DIFFERENT_BY_DESIGN.iter().any(|(file, _)| *file == name)
    };
    let captures: Vec<_> = captures_under(&dir).into_iter().filter(compared_here).collect();
    let tshark_answers = in_parallel(&captures, |path| tshark_hierarchy(path));
    for (path, theirs) in captures.iter().zip(tshark_answers) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let Some(theirs) = theirs else { continue };
        let bytes = std::fs::read(path).unwrap();
        let result = run_tool::<Overview>("analyze_protocol_hierarchy", json!({"limit": 1000}), &bytes).unwrap();
        let ours = comparable_nodes(&result);
        compared += 1;
        if ours != theirs {
            let differing: Vec<String> = theirs
                .keys()
                .chain(ours.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|k| ours.get(*k) != theirs.get(*k))
                .take(6)
                .map(|k| format!("{k}: ours {:?} tshark {:?}", ours.get(k), theirs.get(k)))
                .collect();
            failures.push(format!("{name}: {}", differing.join("; ")));
        }
    }
    eprintln!("{compared} hierarchies compared with tshark");
    assert!(compared > 100, "only {compared} comparisons ran");
    assert!(failures.is_empty(), "{} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

/// Application protocols over UDP (one datagram, one message) that both
/// tshark and the tool name, with the captures where they differ on
/// purpose. Over TCP they differ by design everywhere: the tool counts
/// every segment of a stream as its protocol, tshark the segments a
/// message is dissected in (the last of each), so those are not compared.
const UDP_APPLICATIONS: [&str; 18] = [
    "dns", "mdns", "llmnr", "nbns", "nbdgm", "dhcp", "dhcpv6", "ntp", "snmp", "ssdp", "stun", "syslog", "tftp",
    "radius", "isakmp", "quic", "gquic", "sip",
];
const UDP_APPLICATIONS_DIFFERENT_BY_DESIGN: [(&str, &str, &str); 3] = [
    (
        "sip/zeek_sip-junk-before-request.pcap",
        "sip",
        "four zero bytes on port 5060 are SIP by the port (`identified_by: port`); tshark shows data",
    ),
    (
        "quic/zeek_quicdoq.pcap",
        "quic",
        "DNS over QUIC on port 853: tshark takes it for DTLS by the port; its packets are QUIC long headers",
    ),
    (
        "sip/suricata-verify_sip-method_sip.pcap",
        "sip",
        "keepalives (a few spaces) in a SIP flow count as SIP; tshark shows them as data",
    ),
];

#[test]
fn udp_application_protocols_agree_with_tshark() {
    let Some(dir) = shared_captures() else { return };
    let (mut compared, mut failures) = (0, Vec::new());
    let captures: Vec<_> =
        captures_under(&dir).into_iter().filter(|p| !p.strip_prefix(&dir).unwrap().starts_with("hostile")).collect();
    let tshark_answers = in_parallel(&captures, |path| tshark_fields(path, "", &FIELDS));
    for (path, rows) in captures.iter().zip(tshark_answers) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let Some(rows) = rows else { continue };
        let mut theirs: BTreeMap<String, u64> = BTreeMap::new();
        for row in rows {
            let names: Vec<&str> = field(&row, "frame.protocols").split(':').collect();
            if let Some(at) = names.iter().position(|n| UDP_APPLICATIONS.contains(n))
                && at > 0
                && names[at - 1] == "udp"
            {
                *theirs.entry(names[at].to_string()).or_default() += 1;
            }
        }
        let bytes = std::fs::read(&path).unwrap();
        let result = run_tool::<Overview>("analyze_protocol_hierarchy", json!({"limit": 1000}), &bytes).unwrap();
        let mut ours: BTreeMap<String, u64> = BTreeMap::new();
        for node in result["protocols"].as_array().unwrap() {
            let names: Vec<&str> = node["path"].as_str().unwrap().split(':').collect();
            let app = names[names.len() - 1];
            if names.len() > 1 && names[names.len() - 2] == "udp" && UDP_APPLICATIONS.contains(&app) {
                *ours.entry(app.to_string()).or_default() += node["packets"].as_u64().unwrap();
            }
        }
        for (file, app, _) in UDP_APPLICATIONS_DIFFERENT_BY_DESIGN {
            if file == name {
                ours.remove(app);
                theirs.remove(app);
            }
        }
        compared += 1;
        if ours != theirs {
            failures.push(format!("{name}: ours {ours:?} tshark {theirs:?}"));
        }
    }
    eprintln!("{compared} captures' UDP application protocols compared with tshark");
    assert!(compared > 100, "only {compared} comparisons ran");
    assert!(failures.is_empty(), "{} of {compared} differ:\n{}", failures.len(), failures.join("\n"));
}

/// A TCP segment between client 10.0.0.1 (ports from 50000) and server 10.0.0.2.
fn tcp_between(sport: u16, dport: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if sport >= 50000 { ([10, 0, 0, 1], [10, 0, 0, 2]) } else { ([10, 0, 0, 2], [10, 0, 0, 1]) };
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535)
        .ack(1)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// Content on an odd port, a stream that keeps its protocol, STARTTLS, a
/// guess by port said to be one, a tagged DNS query, and what nothing
/// identified, on generated packets.
#[test]
fn the_hierarchy_tells_content_from_port_and_counts_what_nothing_identified() {
    let client_hello = [&[0x16, 3, 1, 0, 4][..], &[1, 0, 0, 0]].concat();
    let mut tagged_dns = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(etherparse::VlanId::try_new(7).unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 53], 64)
        .udp(40000, 53)
        .write(&mut tagged_dns, &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1])
        .unwrap();
    let capture = PcapBuilder::ethernet()
        // TLS on port 9999, then a segment from the middle of a record.
        .packet(1, 0, &tcp_between(50000, 9999, 1, &client_hello))
        .packet(1, 1, &tcp_between(9999, 50000, 1, &[0xab; 100]))
        // A bare acknowledgement carries no application protocol.
        .packet(1, 2, &tcp_between(50000, 9999, 9, b""))
        // POP3, then STARTTLS.
        .packet(2, 0, &tcp_between(110, 50001, 1, b"+OK POP3 ready\r\n"))
        .packet(2, 1, &tcp_between(50001, 110, 1, b"STLS\r\n"))
        .packet(2, 2, &tcp_between(50001, 110, 7, &client_hello))
        // Port 80 with bytes no HTTP message starts with.
        .packet(3, 0, &tcp_between(50002, 80, 1, &[0u8; 20]))
        // Nothing anyone knows, twice, on UDP port 40404.
        .packet(4, 0, &udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 50003, 40404, &[1, 2, 3]))
        .packet(4, 1, &udp_frame([10, 0, 0, 2], [10, 0, 0, 1], 40404, 50003, &[4, 5, 6]))
        .packet(5, 0, &tagged_dns)
        .build();
    let result = run_tool::<Overview>("analyze_protocol_hierarchy", json!({}), &capture).unwrap();
    let node = |path: &str| {
        result["protocols"].as_array().unwrap().iter().find(|n| n["path"] == path).cloned().unwrap_or_else(|| {
            panic!("no node {path} in {result:#}");
        })
    };
    assert_eq!(result["total_packets"], 10);
    assert_eq!(node("eth")["packets"], 10);
    assert_eq!(node("eth:ip:tcp")["packets"], 7);
    let tls = node("eth:ip:tcp:tls");
    assert_eq!((tls["packets"].as_u64(), tls["identified_by"].as_str()), (Some(3), Some("content")), "{result:#}");
    assert_eq!(node("eth:ip:tcp:pop")["packets"], 2);
    let http = node("eth:ip:tcp:http");
    assert_eq!((http["packets"].as_u64(), http["identified_by"].as_str()), (Some(1), Some("port")));
    assert_eq!(node("eth:vlan:ip:udp:dns")["identified_by"], "content");
    assert_eq!(node("eth:vlan:ip:udp:dns")["depth"], 5);
    assert_eq!(node("eth:ip:udp")["packets"], 2);
    let unidentified = &result["unidentified"];
    assert_eq!(unidentified["packets"], 2);
    assert_eq!(unidentified["top_ports"][0], json!({"transport": "udp", "port": 40404, "packets": 2, "bytes": 90}));
    let apps: Vec<(&str, u64)> = result["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["protocol"].as_str().unwrap(), a["packets_by_port_only"].as_u64().unwrap()))
        .collect();
    assert!(apps.contains(&("http", 1)) && apps.contains(&("tls", 0)) && apps.contains(&("dns", 0)), "{apps:?}");
    // The tree pages like every list; the summary comes with the first page.
    let page = run_tool::<Overview>("analyze_protocol_hierarchy", json!({"limit": 2, "offset": 2}), &capture).unwrap();
    assert_eq!(page["protocols"].as_array().unwrap().len(), 2);
    assert_eq!(page["protocols"][0], result["protocols"][2]);
    assert_eq!(page["pagination"]["total"], result["protocol_count"]);
    // The TCP conversations say what their payload showed.
    let conversations = run(json!({"type": "tcp", "sort_by": "start"}), &capture);
    let list = conversations["conversations"].as_array().unwrap();
    assert_eq!((list[0]["application"].as_str(), list[0]["service"].as_str()), (Some("tls"), None));
    assert_eq!((list[1]["application"].as_str(), list[1]["upgraded_from"].as_str()), (Some("tls"), Some("pop")));
    assert_eq!((list[2]["application"].as_str(), list[2]["service"].as_str()), (None, Some("http")));
}

/// Wireshark's vendor table, as this Wireshark installs it.
const WIRESHARK_MANUF: &str = "/usr/share/wireshark/manuf";

/// A vendor name reduced to its letters and digits, lower case: Wireshark
/// rewrites the IEEE's upper-case names in title case and drops some
/// punctuation, which says nothing about whether the two agree.
fn vendor_key(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

#[test]
fn mac_vendors_agree_with_wiresharks_vendor_table() {
    let Some(manuf) =
        std::fs::read_to_string(WIRESHARK_MANUF).ok().or_else(|| pcapsule_guest::testing::missing(WIRESHARK_MANUF))
    else {
        return;
    };
    let (mut agree, mut differ, mut only_wireshark) = (0usize, Vec::new(), 0usize);
    for line in manuf.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(prefix), Some(name)) = (fields.first(), fields.get(2).or(fields.get(1))) else { continue };
        let (octets, bits) = match prefix.split_once('/') {
            Some((octets, bits)) => (octets, bits.parse().unwrap_or(0)),
            None => (*prefix, 24),
        };
        let mut mac = [0u8; 6];
        let parsed: Vec<u8> = octets.split(':').filter_map(|o| u8::from_str_radix(o, 16).ok()).collect();
        // Only the IEEE's three block sizes; the group addresses Wireshark
        // also names are not vendors.
        if ![24, 28, 36].contains(&bits) || parsed.len() > 6 || parsed.first().is_none_or(|o| o & 1 == 1) {
            continue;
        }
        mac[..parsed.len()].copy_from_slice(&parsed);
        match crate::mac_vendors::vendor(mac) {
            Some(ours) if vendor_key(ours) == vendor_key(name) => agree += 1,
            Some(ours) => differ.push(format!("{prefix}: ours {ours:?}, Wireshark {name:?}")),
            None => only_wireshark += 1,
        }
    }
    let compared = agree + differ.len() + only_wireshark;
    eprintln!(
        "{agree} of {compared} Wireshark vendor prefixes agree; {} differ, {only_wireshark} unknown here",
        differ.len()
    );
    // Wireshark edits about 2 % of the IEEE's names by hand (00:00:00 is
    // "Officially Xerox, but 0:0:0:0:0:0 is more common", older blocks name
    // the product or the later owner), and the two tables were taken from
    // the registries on different days: that much may differ, no more.
    assert!(compared > 40_000, "only {compared} prefixes in {WIRESHARK_MANUF}");
    assert!(
        agree * 100 >= compared * 95,
        "{agree} of {compared} agree; first differences: {:#?}",
        &differ[..differ.len().min(20)]
    );
}

#[test]
fn ethernet_endpoints_name_their_vendor() {
    let apple = [0x50, 0xa6, 0xd8, 0x01, 0x02, 0x03];
    let local = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    let frame = PacketBuilder::ethernet2(apple, local).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1000, 53);
    let mut bytes = Vec::new();
    frame.write(&mut bytes, b"x").unwrap();
    let broadcast = PacketBuilder::ethernet2(local, [0xff; 6]).ipv4([10, 0, 0, 2], [10, 0, 0, 255], 64).udp(68, 67);
    let mut second = Vec::new();
    broadcast.write(&mut second, b"y").unwrap();
    let capture = PcapBuilder::ethernet().packet(1, 0, &bytes).packet(2, 0, &second).build();
    let result = run_tool::<Overview>("analyze_endpoints", json!({"type": "eth"}), &capture).unwrap();
    let endpoints = result["endpoints"].as_array().unwrap();
    let vendor_of = |address: &str| {
        let entry = endpoints.iter().find(|e| e["address"] == address).unwrap_or_else(|| panic!("{address} listed"));
        entry.get("vendor").cloned()
    };
    assert_eq!(vendor_of("50:a6:d8:01:02:03"), Some(json!(crate::mac_vendors::vendor(apple).unwrap())));
    assert!(vendor_of("50:a6:d8:01:02:03").unwrap().as_str().unwrap().contains("Apple"));
    // 02:00:00 is locally administered and in no IEEE block (not even a
    // CID); a broadcast address names a group, not an interface.
    assert_eq!(vendor_of("02:00:00:00:00:01"), None);
    assert_eq!(vendor_of("ff:ff:ff:ff:ff:ff"), None);
}
