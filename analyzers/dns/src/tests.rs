//! Tests on captures built in memory, and the tshark cross-check on the
//! shared captures.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use etherparse::PacketBuilder;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, in_parallel, run_tool, shared_captures, tshark_fields, tshark_fields_with,
};
use serde_json::{Value, json};

use super::*;

const CLIENT: [u8; 4] = [10, 0, 0, 5];
const RESOLVER: [u8; 4] = [10, 0, 0, 53];

fn query(id: u16, name: &str, record_type: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), record_type));
    m
}

fn response(q: &Message, rcode: ResponseCode, answers: &[&str]) -> Message {
    let mut m = q.clone();
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    let name = q.queries[0].name.clone();
    for a in answers {
        m.add_answer(Record::from_rdata(name.clone(), 300, RData::A(A(a.parse::<Ipv4Addr>().unwrap()))));
    }
    m
}

use pcapsule_guest::testing::udp_frame as udp;

fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if syn {
        b = b.syn();
    }
    b.write(&mut out, payload).unwrap();
    out
}

fn run(capture: &[u8], params: Value) -> Value {
    run_tool::<Dns>("analyze_dns_packets", params, capture).unwrap()
}

#[test]
fn queries_responses_rcodes_and_response_times() {
    let q1 = query(1, "www.example.com.", RecordType::A);
    let q2 = query(2, "nope.example.com.", RecordType::AAAA);
    let q3 = query(3, "lost.example.com.", RecordType::A);
    let capture = PcapBuilder::ethernet()
        .packet(100, 0, &udp(CLIENT, RESOLVER, 40001, 53, &q1.to_vec().unwrap()))
        .packet(
            100,
            20_000,
            &udp(
                RESOLVER,
                CLIENT,
                53,
                40001,
                &response(&q1, ResponseCode::NoError, &["93.184.216.34"]).to_vec().unwrap(),
            ),
        )
        .packet(101, 0, &udp(CLIENT, RESOLVER, 40002, 53, &q2.to_vec().unwrap()))
        .packet(
            101,
            5_000,
            &udp(RESOLVER, CLIENT, 53, 40002, &response(&q2, ResponseCode::NXDomain, &[]).to_vec().unwrap()),
        )
        // A duplicate of the first response.
        .packet(
            101,
            6_000,
            &udp(
                RESOLVER,
                CLIENT,
                53,
                40001,
                &response(&q1, ResponseCode::NoError, &["93.184.216.34"]).to_vec().unwrap(),
            ),
        )
        .packet(102, 0, &udp(CLIENT, RESOLVER, 40003, 53, &q3.to_vec().unwrap()))
        .build();
    let r = run(&capture, json!({}));
    let s = &r["statistics"];
    assert_eq!(s["queries"], 3);
    assert_eq!(s["responses"], 3);
    assert_eq!(s["rcodes"], json!({"NOERROR": 2, "NXDOMAIN": 1}));
    assert_eq!(s["unique_domains_queried"], 3);
    assert_eq!(s["query_types"], json!({"A": 2, "AAAA": 1}));
    assert_eq!(s["top_clients"][0], json!({"client": "10.0.0.5", "count": 3}));
    assert_eq!(s["top_resolvers"][0], json!({"server": "10.0.0.53", "count": 3}));
    let t = &r["transactions"];
    assert_eq!(t["matched"], 2);
    assert_eq!(t["duplicate_responses"], 1);
    assert_eq!(t["unanswered_queries"], 1);
    assert_eq!(t["unanswered_examples"][0]["name"], "lost.example.com");
    assert_eq!(t["response_time_ms"], json!({"min": 5.0, "avg": 12.5, "max": 20.0}));
    assert_eq!(t["slowest"][0]["name"], "www.example.com");

    let packets = r["packets"].as_array().unwrap();
    assert_eq!(packets.len(), 6);
    let answer = &packets[1];
    assert_eq!(answer["flags"]["is_response"], true);
    assert_eq!(answer["flags"]["recursion_available"], true);
    assert_eq!(answer["rcode"], "NOERROR");
    assert_eq!(answer["answers"][0]["address"], "93.184.216.34");
    assert_eq!(answer["answers"][0]["type"], 1);
    assert_eq!(answer["response_time_ms"], 20.0);
    assert_eq!(answer["protocol"], "UDP");
    assert_eq!(packets[0]["questions"][0], json!({"name": "www.example.com", "type": 1, "type_name": "A", "class": 1}));
    assert_eq!(packets[0]["summary"], "Query A www.example.com");
    assert_eq!(packets[3]["summary"], "Response NXDOMAIN AAAA nope.example.com (no answers)");
    assert_eq!(r["dns_packets_found"], 6);
    assert_eq!(r["total_packets_in_file"], 6);
}

#[test]
fn records_of_every_common_type_are_decoded() {
    use hickory_proto::rr::rdata::{CNAME, MX, SOA};
    let q = query(9, "example.org.", RecordType::ANY);
    let mut r = response(&q, ResponseCode::NoError, &["192.0.2.1"]);
    let name = Name::from_ascii("example.org.").unwrap();
    r.add_answer(Record::from_rdata(
        name.clone(),
        60,
        RData::CNAME(CNAME(Name::from_ascii("alias.example.org.").unwrap())),
    ));
    r.add_answer(Record::from_rdata(
        name.clone(),
        60,
        RData::MX(MX::new(10, Name::from_ascii("mail.example.org.").unwrap())),
    ));
    r.add_answer(Record::from_rdata(name.clone(), 60, RData::TXT(TXT::new(vec!["v=spf1 -all".into()]))));
    r.add_authority(Record::from_rdata(
        name.clone(),
        60,
        RData::SOA(SOA::new(
            Name::from_ascii("ns.example.org.").unwrap(),
            Name::from_ascii("admin.example.org.").unwrap(),
            7,
            1,
            2,
            3,
            4,
        )),
    ));
    let capture = PcapBuilder::ethernet().packet(1, 0, &udp(RESOLVER, CLIENT, 53, 5000, &r.to_vec().unwrap())).build();
    let out = run(&capture, json!({}));
    let answers = &out["packets"][0]["answers"];
    assert_eq!(answers[1]["cname"], "alias.example.org");
    assert_eq!(answers[2]["exchange"], "mail.example.org");
    assert_eq!(answers[2]["preference"], 10);
    assert_eq!(answers[3]["txt"], json!(["v=spf1 -all"]));
    assert_eq!(out["packets"][0]["authorities"][0]["soa"]["serial"], 7);
}

#[test]
fn dns_over_tcp_several_messages_per_segment_and_across_segments() {
    let qa = query(10, "a.example.", RecordType::A).to_vec().unwrap();
    let qb = query(11, "b.example.", RecordType::A).to_vec().unwrap();
    let qc = query(12, "c.example.", RecordType::MX).to_vec().unwrap();
    let mut stream = Vec::new();
    for m in [&qa, &qb, &qc] {
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(m);
    }
    let cut = 2 + qa.len() + 2 + qb.len() + 3;
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &tcp(CLIENT, RESOLVER, 50000, 53, 1000, true, &[]))
        .packet(1, 1, &tcp(CLIENT, RESOLVER, 50000, 53, 1001, false, &stream[..cut]))
        .packet(1, 2, &tcp(CLIENT, RESOLVER, 50000, 53, 1001 + cut as u32, false, &stream[cut..]))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["statistics"]["queries"], 3);
    assert_eq!(r["statistics"]["transports"], json!({"TCP": 3}));
    let frames: Vec<u64> =
        r["packets"].as_array().unwrap().iter().map(|p| p["packet_number"].as_u64().unwrap()).collect();
    assert_eq!(frames, vec![2, 2, 3], "a message is reported at the frame that completes it");
}

#[test]
fn content_detection_on_other_ports_can_be_turned_off() {
    let q = query(5, "odd-port.example.", RecordType::A).to_vec().unwrap();
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(CLIENT, RESOLVER, 40000, 9953, &q))
        .packet(1, 1, &udp(CLIENT, RESOLVER, 40000, 9953, b"definitely not dns, just text"))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["statistics"]["queries"], 1);
    assert_eq!(r["statistics"]["found_on_other_ports"], 1);
    assert_eq!(r["packets"][0]["detected_by"], "content");
    let off = run(&capture, json!({"detect_any_port": false}));
    assert_eq!(off["statistics"]["queries"], 0);
    assert_eq!(off["message"], "No DNS messages were found in this capture.");
}

#[test]
fn malformed_messages_and_compression_loops_are_flagged_not_fatal() {
    // A query whose name is a compression pointer to itself: must end.
    let mut looping = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    looping.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    // A response cut inside its answer.
    let whole =
        response(&query(7, "cut.example.", RecordType::A), ResponseCode::NoError, &["192.0.2.7"]).to_vec().unwrap();
    let cut = &whole[..whole.len() - 3];
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(CLIENT, RESOLVER, 40000, 53, &looping))
        .packet(1, 1, &udp(RESOLVER, CLIENT, 53, 40000, cut))
        .packet(1, 2, &udp(CLIENT, RESOLVER, 40000, 53, &[1, 2, 3]))
        .build();
    let r = run(&capture, json!({}));
    let s = &r["statistics"];
    assert_eq!(s["malformed_messages"], 3);
    assert_eq!(s["queries"], 1, "the header of a malformed query still counts it");
    assert_eq!(s["responses"], 1);
    assert!(r["packets"][0]["malformed"].is_string());
    assert_eq!(r["packets"][1]["dns_id"], 7);
}

#[test]
fn observations_point_at_tunnels_and_dga() {
    let mut capture = PcapBuilder::ethernet();
    for i in 0..60u32 {
        let label = format!("{:x}{:x}q7z{}", i.wrapping_mul(2654435761), i.wrapping_mul(40503) ^ 0x5bd1e995, i);
        let long = "a".repeat(45);
        let name = if i % 2 == 0 { format!("{label}.tunnel.example.") } else { format!("{long}{i}.tunnel.example.") };
        let q = query(i as u16, &name, RecordType::TXT);
        capture = capture.packet(i, 0, &udp(CLIENT, RESOLVER, 30000 + i as u16, 53, &q.to_vec().unwrap()));
    }
    let r = run(&capture.build(), json!({"limit": 0}));
    let kinds: BTreeSet<&str> =
        r["observations"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    for kind in ["long_labels", "high_entropy_labels", "many_subdomains", "txt_heavy", "unanswered_queries"] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    let many = r["observations"].as_array().unwrap().iter().find(|o| o["type"] == "many_subdomains").unwrap();
    assert_eq!(many["examples"][0], json!({"parent": "tunnel.example", "unique_subdomains": 60}));
    assert!(r["packets"].as_array().unwrap().is_empty());
    assert_eq!(r["pagination"]["total"], 60);
}

#[test]
fn paging_and_max_packets() {
    let mut capture = PcapBuilder::ethernet();
    for i in 0..30u32 {
        let q = query(i as u16, &format!("host{i}.example."), RecordType::A);
        capture = capture.packet(i, 0, &udp(CLIENT, RESOLVER, 30000, 53, &q.to_vec().unwrap()));
    }
    let capture = capture.build();
    let r = run(&capture, json!({"limit": 10, "offset": 25}));
    assert_eq!(r["pagination"], json!({"total": 30, "returned": 5, "offset": 25, "limit": 10}));
    assert_eq!(r["packets"][0]["questions"][0]["name"], "host25.example");
    let first = run(&capture, json!({"limit": 10}));
    assert_eq!(first["pagination"]["next_offset"], 10);
    let capped = run(&capture, json!({"max_packets": 7}));
    assert_eq!(capped["statistics"]["queries"], 7);
    assert_eq!(capped["truncated"], true);
    assert!(matches!(
        run_tool::<Dns>("analyze_dns_packets", json!({"limit": 5000}), &capture),
        Err(RunError::BadParams(_))
    ));
    assert!(matches!(
        run_tool::<Dns>("analyze_dns_packets", json!({"server": "x"}), &capture),
        Err(RunError::BadParams(_))
    ));
}

/// `filter` and `time_from`/`time_to` (taken out of the parameters by the
/// component glue, applied by the driver) narrow what the tool counts, and
/// the result echoes them.
#[test]
fn a_selection_narrows_the_analysis_and_is_echoed() {
    const OTHER: [u8; 4] = [10, 0, 0, 6];
    let mut capture = PcapBuilder::ethernet();
    for i in 0..20u32 {
        let client = if i % 4 == 0 { OTHER } else { CLIENT };
        let q = query(i as u16, &format!("host{i}.example."), RecordType::A);
        capture = capture.packet(1_700_000_000 + i, 0, &udp(client, RESOLVER, 30000, 53, &q.to_vec().unwrap()));
    }
    let capture = capture.build();
    let r = run(&capture, json!({"filter": "src host 10.0.0.6"}));
    assert_eq!(r["statistics"]["queries"], 5, "{r}");
    assert_eq!(r["packets_analyzed"], 5);
    assert_eq!(
        r["selection"],
        json!({"time_from": null, "time_to": null, "filter": "src host 10.0.0.6", "packets_examined": 20})
    );
    let r = run(
        &capture,
        json!({"time_from": "2023-11-14T22:13:25Z", "time_to": 1_700_000_009, "filter": "not host 10.0.0.6"}),
    );
    // Seconds 5..=9 from CLIENT only: 5, 6, 7, 9.
    assert_eq!(r["statistics"]["queries"], 4, "{r}");
    assert_eq!(r["selection"]["time_from"], "2023-11-14T22:13:25.000000Z");
    let none = run(&capture, json!({"filter": "tcp"}));
    assert_eq!(none["statistics"]["queries"], 0);
    assert!(none["warnings"].to_string().contains("kept none of the 20 packets"), "{none}");
    assert_eq!(run(&capture, json!({}))["selection"], Value::Null);
    match run_tool::<Dns>("analyze_dns_packets", json!({"filter": "host 10.0.0.6 or"}), &capture) {
        Err(RunError::BadParams(m)) => assert!(m.contains("filter `host 10.0.0.6 or`") && m.contains("ends"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// The fields mcpcap's clients read are all there (the result's shape is
/// its type's; the generic schema test in runtime/tests validates it).
#[test]
fn mcpcap_fields_are_returned() {
    let q = query(1, "www.example.com.", RecordType::A);
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(CLIENT, RESOLVER, 40001, 53, &q.to_vec().unwrap()))
        .packet(
            1,
            9,
            &udp(RESOLVER, CLIENT, 53, 40001, &response(&q, ResponseCode::NoError, &["192.0.2.1"]).to_vec().unwrap()),
        )
        .build();
    let r = run(&capture, json!({}));
    for field in ["file", "analysis_timestamp", "total_packets_in_file", "dns_packets_found", "dns_packets_analyzed"] {
        assert!(r.get(field).is_some(), "mcpcap field {field} missing");
    }
}

/// Per-frame facts, the way tshark's display filters count: a frame counts
/// once however many DNS messages it carries.
#[derive(Default)]
struct FrameCounts {
    queries: BTreeSet<u64>,
    responses: BTreeSet<u64>,
    rcodes: BTreeMap<u16, BTreeSet<u64>>,
    other_port_frames: BTreeSet<u64>,
}

impl FrameCounts {
    fn add(&mut self, found: scan::FoundMessage<'_>) {
        if !found.on_dns_port {
            self.other_port_frames.insert(found.packet_number);
        }
        // Malformed messages count by their header, as in the analyzer.
        let Some(header) = found.bytes.get(..12) else { return };
        if header[2] & 0x80 == 0 {
            self.queries.insert(found.packet_number);
        } else {
            self.responses.insert(found.packet_number);
            let rcode = u16::from(header[3] & 0x0f);
            self.rcodes.entry(rcode).or_default().insert(found.packet_number);
        }
    }
}

/// The scanner alone on the shared path: which frames carry DNS.
struct Counting {
    scanner: Scanner,
    counts: FrameCounts,
}

impl PacketHandler for Counting {
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.scanner.packet(packet, decoded, |found| self.counts.add(found));
        }
    }

    fn finish(&mut self) {
        self.scanner.finish(|found| self.counts.add(found));
    }
}

fn frame_counts(path: &std::path::Path) -> Option<FrameCounts> {
    let bytes = std::fs::read(path).ok()?;
    let counting = Counting { scanner: Scanner::new(true), counts: FrameCounts::default() };
    let driven = driver::drive(&mut &bytes[..], PacketBudget::new(None, None).unwrap(), counting).ok()?;
    Some(driven.handler.counts)
}

/// Files where counts differ from tshark by design, with the reason.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    (
        "http/suricata-verify_dns-over-http2_dns_over_https.pcap",
        "DNS over HTTPS inside HTTP/2: tshark decodes the HTTP/2 body as DNS; pcapsule reads DNS on the wire only",
    ),
    (
        "tunnels/zeek_gre-sample.pcap",
        "frames 34 and 36 are ICMP errors quoting a DNS query: tshark dissects the quoted copy as a query, pcapsule \
         counts the 2 queries actually sent (frames 33 and 35, inside GRE)",
    ),
    (
        "icmp/zeek_icmp-destunreach-udp.pcap",
        "a DNS response quoted inside an ICMP error: tshark dissects quoted payloads, pcapsule counts only DNS that travelled as DNS",
    ),
    (
        "mixed/arkime_v6.pcap",
        "frame 137 is an ICMPv6 error quoting a DNS response (see above); the other 18 responses match",
    ),
    (
        "dns/suricata-verify_llmnr-tcp_input.pcap",
        "LLMNR over TCP (RFC 4795 allows it): Wireshark registers no dissector for TCP port 5355, pcapsule decodes it",
    ),
];

#[test]
fn counts_match_tshark_on_the_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipping: ../shared/captures is absent");
        return;
    };
    if tshark_fields(&captures_under(&dir)[0], "frame", &["frame.number"]).is_none() {
        eprintln!("skipping: tshark is not installed");
        return;
    }
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let captures = captures_under(&dir);
    // dns.* fields cover DNS, mDNS and LLMNR alike; one pass per file.
    let tshark_rows = in_parallel(&captures, |path| {
        tshark_fields(path, "dns.flags.response", &["frame.number", "dns.flags.response", "dns.flags.rcode"])
    });
    for (path, rows) in captures.iter().zip(tshark_rows) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        if EXPECTED_DIFFERENCES.iter().any(|(f, _)| *f == name) {
            continue;
        }
        let Some(ours) = frame_counts(path) else { continue };
        // Content-detected frames on other ports are not DNS to tshark.
        let other = &ours.other_port_frames;
        let without_other = |s: &BTreeSet<u64>| s.difference(other).count() as u64;
        let Some(rows) = rows else { continue };
        let mut theirs = FrameCounts::default();
        for row in &rows {
            let frame: u64 = row[0].parse().unwrap();
            let flags: Vec<&str> = row[1].split(',').collect();
            let rcodes: Vec<&str> = row.get(2).map(|r| r.split(',').collect()).unwrap_or_default();
            if flags.iter().any(|f| *f == "0" || *f == "False") {
                theirs.queries.insert(frame);
            }
            if flags.iter().any(|f| *f == "1" || *f == "True") {
                theirs.responses.insert(frame);
                for rcode in rcodes.iter().filter_map(|r| r.parse::<u16>().ok()) {
                    theirs.rcodes.entry(rcode).or_default().insert(frame);
                }
            }
        }
        let mut check = |what: String, ours: u64, theirs: u64| {
            if ours != theirs {
                mismatches.push(format!("{name}: {what}: pcapsule {ours}, tshark {theirs}"));
            }
        };
        check("frames with queries".into(), without_other(&ours.queries), theirs.queries.len() as u64);
        check("frames with responses".into(), without_other(&ours.responses), theirs.responses.len() as u64);
        let codes: BTreeSet<u16> = ours.rcodes.keys().chain(theirs.rcodes.keys()).copied().collect();
        for code in codes {
            let ours_n = ours.rcodes.get(&code).map_or(0, without_other);
            let theirs_n = theirs.rcodes.get(&code).map_or(0, |s| s.len() as u64);
            check(format!("responses with rcode {code}"), ours_n, theirs_n);
        }
        compared += 1;
    }
    assert!(mismatches.is_empty(), "differences from tshark:\n{}", mismatches.join("\n"));
    assert!(compared > 100, "compared {compared} files");
}

#[test]
fn every_shared_capture_gives_a_result_or_a_clean_error() {
    let Some(dir) = shared_captures() else { return };
    for path in captures_under(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        match run_tool::<Dns>("analyze_dns_packets", json!({}), &bytes) {
            Ok(r) => assert!(r["statistics"].is_object()),
            Err(RunError::UnsupportedFormat(_) | RunError::Malformed { .. }) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

#[test]
fn opcodes_are_named() {
    let mut update = query(1, "zone.example.", RecordType::SOA);
    update.metadata.op_code = OpCode::Update;
    let capture =
        PcapBuilder::ethernet().packet(1, 0, &udp(CLIENT, RESOLVER, 1000, 53, &update.to_vec().unwrap())).build();
    let r = run(&capture, json!({}));
    assert_eq!(r["statistics"]["opcodes"], json!({"UPDATE": 1}));
    assert_eq!(r["packets"][0]["summary"], "UPDATE SOA zone.example");
}

/// Found by the `analyzer_dns` fuzz target when the schema was written by
/// hand: the typed fields of MX, SRV, SOA, TXT and unknown records were
/// returned but missing from it. Now the schema is the type's; the fields
/// must still carry their values.
#[test]
fn typed_record_fields_are_returned() {
    use hickory_proto::rr::rdata::{MX, NULL, SOA, SRV};
    let q = query(7, "example.com.", RecordType::ANY);
    let mut r = response(&q, ResponseCode::NoError, &[]);
    let name = Name::from_ascii("example.com.").unwrap();
    let mail = Name::from_ascii("mail.example.com.").unwrap();
    let answers = [
        RData::MX(MX::new(10, mail.clone())),
        RData::SRV(SRV::new(1, 2, 5060, mail.clone())),
        RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        RData::Unknown { code: RecordType::Unknown(65400), rdata: NULL::with(vec![1, 2, 3]) },
    ];
    for rdata in answers {
        r.add_answer(Record::from_rdata(name.clone(), 60, rdata));
    }
    r.add_authority(Record::from_rdata(
        name.clone(),
        60,
        RData::SOA(SOA::new(mail.clone(), mail, 2024010101, 7200, 3600, 1_209_600, 300)),
    ));
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(CLIENT, RESOLVER, 40001, 53, &q.to_vec().unwrap()))
        .packet(1, 9, &udp(RESOLVER, CLIENT, 53, 40001, &r.to_vec().unwrap()))
        .build();
    let result = run(&capture, json!({}));
    let response = &result["packets"][1];
    let answers = &response["answers"];
    assert_eq!((&answers[0]["preference"], &answers[0]["exchange"]), (&json!(10), &json!("mail.example.com")));
    assert_eq!(answers[0]["data"], "10 mail.example.com");
    let srv = [&answers[1]["priority"], &answers[1]["weight"], &answers[1]["port"], &answers[1]["target"]];
    assert_eq!(srv, [&json!(1), &json!(2), &json!(5060), &json!("mail.example.com")]);
    assert_eq!(answers[2]["txt"], json!(["v=spf1 -all"]));
    assert_eq!((&answers[3]["rdata_hex"], &answers[3]["data"]), (&json!("010203"), &json!("\\# 3 010203")));
    assert!(answers[0].get("address").is_none(), "only the fields of the record's type: {}", answers[0]);
    assert_eq!(response["authorities"][0]["soa"]["serial"], 2024010101);
}

/// A resolver that never answers: every attempt is an unanswered query,
/// and the retries are counted as such; a query answered after a retry is
/// matched once, its response time measured from the attempt it answers.
#[test]
fn retransmitted_queries_are_each_counted() {
    let lost_a = query(0x0a0a, "a.unreachable.example", RecordType::A).to_vec().unwrap();
    let lost_b = query(0x0b0b, "b.unreachable.example", RecordType::A).to_vec().unwrap();
    let retried = query(0x0c0c, "retried.example", RecordType::A);
    let mut capture = PcapBuilder::ethernet();
    for attempt in 0..4u32 {
        capture = capture.packet(100 + attempt, 0, &udp(CLIENT, RESOLVER, 41000, 53, &lost_a));
    }
    for attempt in 0..3u32 {
        capture = capture.packet(100 + attempt, 500_000, &udp(CLIENT, RESOLVER, 41001, 53, &lost_b));
    }
    let retried_bytes = retried.to_vec().unwrap();
    let answer = response(&retried, ResponseCode::NoError, &["192.0.2.1"]).to_vec().unwrap();
    let capture = capture
        .packet(110, 0, &udp(CLIENT, RESOLVER, 41002, 53, &retried_bytes))
        .packet(111, 0, &udp(CLIENT, RESOLVER, 41002, 53, &retried_bytes))
        .packet(111, 30_000, &udp(RESOLVER, CLIENT, 53, 41002, &answer))
        .build();
    let t = &run(&capture, json!({}))["transactions"];
    assert_eq!(t["unanswered_queries"], 7, "{t}");
    assert_eq!(t["retransmitted_queries"], 6, "{t}");
    assert_eq!(t["matched"], 1);
    assert_eq!(t["response_time_ms"]["max"], 30.0, "from the attempt answered");
    assert_eq!(t["unanswered_examples"][0]["attempts"], 4);
}

/// Multicast name resolution (mDNS, LLMNR) asks everyone; when nobody has
/// the name nobody answers. Those silences are counted apart and do not
/// raise "resolver unreachable?" (issue #20: they were counted into it).
#[test]
fn unanswered_multicast_queries_are_counted_apart_from_unicast() {
    const MDNS_GROUP: [u8; 4] = [224, 0, 0, 251];
    const LLMNR_GROUP: [u8; 4] = [224, 0, 0, 252];
    let mut capture = PcapBuilder::ethernet();
    for i in 0..6u16 {
        let asked = query(0, &format!("printer{i}.local"), RecordType::A).to_vec().unwrap();
        capture = capture.packet(100 + u32::from(i), 0, &udp(CLIENT, MDNS_GROUP, 5353, 5353, &asked));
    }
    for i in 0..2u16 {
        let asked = query(0x2000 + i, &format!("fileserver{i}"), RecordType::A).to_vec().unwrap();
        capture = capture.packet(110 + u32::from(i), 0, &udp(CLIENT, LLMNR_GROUP, 50000 + i, 5355, &asked));
    }
    let unicast = query(0x0d0d, "lost.example", RecordType::A).to_vec().unwrap();
    let capture = capture.packet(120, 0, &udp(CLIENT, RESOLVER, 41000, 53, &unicast)).build();
    let r = run(&capture, json!({}));
    let t = &r["transactions"];
    assert_eq!((&t["unanswered_queries"], &t["unanswered_multicast_queries"]), (&json!(1), &json!(8)), "{t}");
    let examples = t["unanswered_examples"].as_array().unwrap();
    assert_eq!(examples.len(), 1, "unicast examples only: {examples:?}");
    assert_eq!(examples[0]["name"], "lost.example");
    let kinds: Vec<&Value> = r["observations"].as_array().unwrap().iter().map(|o| &o["type"]).collect();
    assert!(!kinds.contains(&&json!("unanswered_queries")), "multicast silence is no resolver problem: {kinds:?}");
}

/// The generated fixtures with one DNS transaction in each encapsulation and
/// on each link type the packet path decodes (fixtures/src/encapsulated.rs,
/// link_types.rs): every one is seen and answered, and tshark sees the same
/// query and answer frames (but on the link types it cannot read).
#[test]
fn dns_inside_every_encapsulation_and_link_type_of_the_fixtures() {
    let answer = "dns.flags.response == 1";
    let dns = |bytes: &[u8]| run_tool::<Dns>("analyze_dns_packets", json!({}), bytes).unwrap();
    pcapsule_guest::testing::check_exchange_fixtures("dns", answer, dns, |fixture| {
        let (r, name, transactions) = (fixture.result, fixture.name, fixture.cases);
        assert_eq!(r["dns_packets_found"], 2 * transactions, "{name}");
        assert_eq!(r["transactions"]["matched"], transactions, "{name}: {}", r["transactions"]);
        assert_eq!(r["transactions"]["unanswered_queries"], 0, "{name}");
        // Every page: one result stays within its byte budget.
        let bytes = std::fs::read(fixture.path).unwrap();
        let mut names = BTreeSet::new();
        let mut offset = Some(0);
        while let Some(at) = offset {
            let page = run_tool::<Dns>("analyze_dns_packets", json!({"limit": 1000, "offset": at}), &bytes).unwrap();
            for p in page["packets"].as_array().unwrap() {
                names
                    .extend(p["questions"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap().to_string()));
            }
            offset = page["pagination"]["next_offset"].as_u64();
        }
        assert_eq!(names.len() as u64, transactions, "{name}: one name per case: {names:?}");
        // A frame tshark calls a query or an answer is one for pcapsule too.
        let ours = frame_counts(fixture.path).unwrap();
        let Some(rows) = tshark_fields(fixture.path, "dns", &["frame.number", "dns.flags.response"]) else { return };
        let theirs = |response: &str| -> BTreeSet<u64> {
            rows.iter().filter(|r| r[1] == response).map(|r| r[0].parse().unwrap()).collect()
        };
        assert!(theirs("0").union(&theirs("False")).all(|f| ours.queries.contains(f)), "{name}: query frames");
        assert!(theirs("1").union(&theirs("True")).all(|f| ours.responses.contains(f)), "{name}: answer frames");
    });
}

/// The generated fixture with DNS over TCP out of order, retransmitted and
/// with a segment the capture lost (fixtures/src/tcp_streams.rs): each
/// message is found once, at the frame that completed it. tshark agrees when
/// it reassembles out-of-order segments, except for the query after the lost
/// segment: tshark then holds it for a hole that never fills and shows it
/// nowhere; without out-of-order reassembly it shows it at its own frame, as
/// pcapsule does (the server's acknowledgment says the hole is lost).
#[test]
fn dns_over_tcp_out_of_order_and_lost_segments_of_the_fixture() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let path = root.join("captures/tcp-streams.pcap");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root.join("expected/tcp-streams.pcap.json")).unwrap()).unwrap();
    let frames = |key: &str| -> BTreeSet<u64> {
        expected[key].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect()
    };
    let r = run_tool::<Dns>("analyze_dns_packets", json!({}), &std::fs::read(&path).unwrap()).unwrap();
    let listed = expected["dns_query_frames"].as_array().unwrap().len()
        + expected["dns_response_frames"].as_array().unwrap().len();
    assert_eq!(r["dns_packets_found"], listed as u64, "each message once");
    assert_eq!(r["capture"]["tcp_gaps"], expected["tcp_gaps"]);
    assert_eq!(r["transactions"]["matched"], 4, "{}", r["transactions"]);
    let ours = frame_counts(&path).unwrap();
    assert_eq!(ours.queries, frames("dns_query_frames"));
    assert_eq!(ours.responses, frames("dns_response_frames"));
    let fields = ["frame.number", "dns.flags.response", "dns.qry.name"];
    let Some(reordered) = tshark_fields_with(&path, &["tcp.reassemble_out_of_order:TRUE"], "dns", &fields) else {
        return;
    };
    let Some(in_order) = tshark_fields_with(&path, &["tcp.reassemble_out_of_order:FALSE"], "dns", &fields) else {
        return;
    };
    // Frames of the connection with the lost segment come from the second run.
    let lost_connection = |row: &Vec<String>| row[2].contains("gap-");
    let theirs = |response: bool| -> BTreeSet<u64> {
        reordered
            .iter()
            .filter(|r| !lost_connection(r))
            .chain(in_order.iter().filter(|r| lost_connection(r)))
            .filter(|r| (r[1].starts_with('1') || r[1].starts_with("True")) == response)
            .map(|r| r[0].parse().unwrap())
            .collect()
    };
    assert_eq!(ours.queries, theirs(false), "query frames: pcapsule against tshark");
    assert_eq!(ours.responses, theirs(true), "answer frames: pcapsule against tshark");
}

/// The prompts are named `dns_…` like every analyzer's, and mcpcap's names
/// stay listed with the same text, for clients written for mcpcap.
#[test]
fn prompts_are_named_like_the_others_and_keep_mcpcaps_names() {
    let d = Dns::describe();
    let names: Vec<&str> = d.prompts.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "dns_security_analysis",
            "dns_network_troubleshooting",
            "dns_forensic_investigation",
            "security_analysis",
            "network_troubleshooting",
            "forensic_investigation"
        ]
    );
    for old in &d.prompts[3..] {
        let new = d.prompts.iter().find(|p| p.name == format!("dns_{}", old.name)).unwrap();
        assert_eq!(old.text, new.text, "{}", old.name);
        assert!(old.description.contains(new.name), "{}", old.description);
    }
}

/// The digest the statistics read (digest.rs) accepts exactly the messages
/// hickory's `Message::from_vec` accepts, and reads the same header,
/// questions and EDNS bits, on well-formed messages of every section rule
/// and on every truncation and many corruptions of them.
#[test]
fn the_digest_accepts_and_reads_exactly_what_hickory_does() {
    use crate::digest::Digest;
    use hickory_proto::op::Edns;
    use hickory_proto::rr::rdata::CNAME;

    let q = query(9, "www.example.org.", RecordType::A);
    let mut answered = response(&q, ResponseCode::NoError, &["192.0.2.1", "192.0.2.2"]);
    answered.add_answer(Record::from_rdata(
        Name::from_ascii("www.example.org.").unwrap(),
        60,
        RData::CNAME(CNAME(Name::from_ascii("alias.example.org.").unwrap())),
    ));
    let mut with_edns = answered.clone();
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true);
    edns.set_rcode_high(1);
    with_edns.set_edns(edns);
    let mut two_questions = q.clone();
    two_questions.add_query(Query::query(Name::from_ascii("mail.example.org.").unwrap(), RecordType::MX));
    let mut update = q.clone();
    update.metadata.op_code = OpCode::Update;
    let header = |counts: [u16; 4]| {
        let mut h = vec![0x12, 0x34, 0x81, 0x80];
        counts.iter().for_each(|c| h.extend_from_slice(&c.to_be_bytes()));
        h
    };
    // Root name, type OPT, payload 4096, TTL with the DO bit, no data.
    let opt = [0u8, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0];
    // An A record with no data: an update-only record outside an update.
    let empty_a = [0u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0];
    let raw = |counts: [u16; 4], records: &[&[u8]]| {
        let mut m = header(counts);
        records.iter().for_each(|r| m.extend_from_slice(r));
        m
    };
    let mut corpus: Vec<Vec<u8>> =
        [&q, &answered, &with_edns, &two_questions, &update].iter().map(|m| m.to_vec().unwrap()).collect();
    corpus.push(raw([0, 0, 0, 1], &[&opt]));
    corpus.push(raw([0, 1, 0, 0], &[&opt]));
    corpus.push(raw([0, 0, 0, 2], &[&opt, &opt]));
    corpus.push(raw([0, 1, 0, 0], &[&empty_a]));
    corpus.push(raw([0, 0, 1, 1], &[&empty_a, &opt]));

    let mut variants = Vec::new();
    for message in &corpus {
        variants.push(message.clone());
        for cut in 0..message.len() {
            variants.push(message[..cut].to_vec());
        }
        for at in 0..message.len() {
            for value in [0x00, 0xff, 0xc0, 0x29, message[at] ^ 0x01] {
                let mut changed = message.clone();
                changed[at] = value;
                variants.push(changed);
            }
        }
    }
    let (mut digest, mut accepted, mut refused) = (Digest::default(), 0, 0);
    for bytes in &variants {
        let full = Message::from_vec(bytes);
        let ours = digest.read(bytes);
        assert_eq!(ours.is_ok(), full.is_ok(), "{bytes:02x?}: digest {ours:?}, hickory {:?}", full.as_ref().err());
        let Ok(full) = full else {
            refused += 1;
            continue;
        };
        accepted += 1;
        assert_eq!(digest.metadata, full.metadata, "{bytes:02x?}");
        assert_eq!(digest.queries, full.queries, "{bytes:02x?}");
        assert_eq!(digest.edns.map(|e| e.dnssec_ok), full.edns.as_ref().map(|e| e.flags().dnssec_ok), "{bytes:02x?}");
    }
    // Both outcomes were exercised, each many times.
    assert!(accepted > 100 && refused > 100, "{accepted} accepted, {refused} refused");
}
