//! Tool-level tests: captures built in memory, and every shared capture
//! against Wireshark's counts.

use etherparse::PacketBuilder;
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, in_parallel, run_tool, shared_captures, tshark_count, tshark_fields,
};
use serde_json::{Value, json};

use super::*;
use crate::stats::LISTED;
use crate::v4::build::dhcp;
use crate::v6::build as v6b;
use pcapsule_guest::conventions::RESULT_BYTE_BUDGET;

const CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
const ROGUE: [u8; 6] = [0x02, 0, 0, 0, 0, 0xee];

fn udp4(src_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(src_mac, [0xff; 6])
        .ipv4(src, dst, 64)
        .udp(ports.0, ports.1)
        .write(&mut out, payload)
        .unwrap();
    out
}

fn udp6(src: [u8; 16], dst: [u8; 16], ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT, [0x33, 0x33, 0, 1, 0, 2])
        .ipv6(src, dst, 1)
        .udp(ports.0, ports.1)
        .write(&mut out, payload)
        .unwrap();
    out
}

fn run(capture: &[u8], params: Value) -> Value {
    run_tool::<Dhcp>(TOOL, params, capture).unwrap()
}

/// Server options: message type, server id, lease 3600 s, mask, router, DNS.
fn server_options(msg_type: u8, server: [u8; 4], router: [u8; 4]) -> Vec<u8> {
    let mut o = vec![53, 1, msg_type, 54, 4];
    o.extend_from_slice(&server);
    o.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10, 58, 4, 0, 0, 0x07, 0x08, 1, 4, 255, 255, 255, 0, 3, 4]);
    o.extend_from_slice(&router);
    o.extend_from_slice(&[6, 4, 10, 0, 0, 53]);
    o
}

/// DISCOVER at 0 s, OFFER at 0.1 s, REQUEST at 0.2 s, ACK at 0.35 s.
fn dora() -> PcapBuilder {
    let xid = 0x3d1d;
    let yi = [10, 0, 0, 50];
    let discover = dhcp(1, xid, CLIENT, [0; 4], &[53, 1, 1, 12, 4, b'l', b'a', b'p', b'1', 60, 3, b'a', b'b', b'c']);
    let offer = dhcp(2, xid, CLIENT, yi, &server_options(2, [10, 0, 0, 1], [10, 0, 0, 1]));
    let request = dhcp(1, xid, CLIENT, [0; 4], &[53, 1, 3, 50, 4, 10, 0, 0, 50, 54, 4, 10, 0, 0, 1]);
    let ack = dhcp(2, xid, CLIENT, yi, &server_options(5, [10, 0, 0, 1], [10, 0, 0, 1]));
    PcapBuilder::ethernet()
        .packet(100, 0, &udp4(CLIENT, [0; 4], [255; 4], (68, 67), &discover))
        .packet(100, 100_000, &udp4(SERVER, [10, 0, 0, 1], [255; 4], (67, 68), &offer))
        .packet(100, 200_000, &udp4(CLIENT, [0; 4], [255; 4], (68, 67), &request))
        .packet(100, 350_000, &udp4(SERVER, [10, 0, 0, 1], [255; 4], (67, 68), &ack))
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

#[test]
fn dora_exchange_with_latency_lease_client_and_server() {
    let r = run(&dora().build(), json!({}));
    assert_eq!((r["total_packets"].as_u64(), r["dhcp_packets_found"].as_u64()), (Some(4), Some(4)));
    let s = &r["statistics"];
    assert_eq!(s["message_type_counts"], json!({"DISCOVER": 1, "OFFER": 1, "REQUEST": 1, "ACK": 1}));
    assert_eq!((s["unique_clients_count"].as_u64(), s["unique_servers_count"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["unique_clients"], json!(["02:00:00:00:00:01"]));
    assert_eq!(s["transaction_count"], 1);
    let tx = s["transactions"]["0x00003d1d"].as_array().unwrap();
    assert_eq!(
        tx.iter().map(|m| m["message_type"].as_str().unwrap()).collect::<Vec<_>>(),
        ["DISCOVER", "OFFER", "REQUEST", "ACK"]
    );
    let summary = &r["transaction_summary"];
    assert_eq!(summary["completed"], 1);
    let listed = &summary["listed"][0];
    assert_eq!(listed["outcome"], "ACK");
    assert!(close(&listed["discover_to_offer_seconds"], 0.1));
    assert!(close(&listed["discover_to_ack_seconds"], 0.35));
    assert!(close(&listed["request_to_ack_seconds"], 0.15));
    assert!(close(&summary["latency"]["discover_to_ack"]["mean_seconds"], 0.35));
    assert_eq!(listed["assigned_ip"], "10.0.0.50");

    let ack = &r["packets"][3];
    for (key, want) in [
        ("packet_number", json!(4)),
        ("src_ip", json!("10.0.0.1")),
        ("dst_port", json!(68)),
        ("op", json!("Reply")),
        ("transaction_id", json!("0x00003d1d")),
        ("your_ip", json!("10.0.0.50")),
        ("relay_ip", json!("0.0.0.0")),
        ("client_mac", json!("02:00:00:00:00:01")),
        ("message_type", json!("ACK")),
        ("message_type_code", json!(5)),
        ("lease_time", json!(3600)),
        ("renewal_time", json!(1800)),
        ("server_id", json!("10.0.0.1")),
    ] {
        assert_eq!(ack[key], want, "{key}");
    }
    assert_eq!(ack["options"]["lease_time"], "3600 seconds");
    assert_eq!(ack["options"]["dns_servers"], "10.0.0.53");
    assert!(close(&ack["timestamp"], 100.35));
    assert_eq!(r["packets"][2]["requested_ip"], "10.0.0.50");

    let lease = &r["leases"]["listed"][0];
    assert_eq!((lease["ip"].as_str(), lease["hostname"].as_str()), (Some("10.0.0.50"), Some("lap1")));
    assert_eq!(lease["expires_at_iso"], "1970-01-01T01:01:40.350000Z");
    let client = &r["clients"]["listed"][0];
    assert_eq!((client["vendor_class_id"].as_str(), client["assigned_ip"].as_str()), (Some("abc"), Some("10.0.0.50")));
    let server = &r["servers"]["listed"][0];
    assert_eq!((server["offers"].as_u64(), server["acks"].as_u64()), (Some(1), Some(1)));
    assert_eq!(server["routers"], json!(["10.0.0.1"]));
    assert_eq!(r["servers"]["multiple_servers"], false);
    assert_eq!(r["pagination"]["total"], 4);
    assert_eq!(r["truncated"], false);
}

#[test]
fn a_second_answering_server_is_an_observation() {
    let offer = dhcp(2, 0x3d1d, CLIENT, [192, 168, 9, 9], &server_options(2, [192, 168, 9, 1], [192, 168, 9, 1]));
    let pcap = dora().packet(100, 150_000, &udp4(ROGUE, [192, 168, 9, 1], [255; 4], (67, 68), &offer)).build();
    let r = run(&pcap, json!({}));
    assert_eq!(r["servers"]["multiple_servers"], true);
    assert_eq!(r["servers"]["count"], 2);
    assert_eq!(r["transaction_summary"]["answered_by_several_servers"], 1);
    let obs = r["observations"].as_array().unwrap();
    let several = obs.iter().find(|o| o["type"] == "several_servers").expect("several_servers");
    assert!(several["detail"].as_str().unwrap().starts_with("2 DHCP servers answered"), "{several}");
    let servers = several["examples"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{several}");
    assert!(servers.contains(&json!("192.168.9.1")), "{several}");
}

#[test]
fn relay_agent_information_is_decoded() {
    let mut payload = dhcp(
        2,
        9,
        CLIENT,
        [10, 1, 0, 9],
        &[53, 1, 5, 82, 18, 1, 6, b'p', b'o', b'r', b't', b'-', b'7', 2, 4, 1, 2, 3, 4, 6, 2, b's', b'1'],
    );
    payload[24..28].copy_from_slice(&[10, 1, 0, 1]); // giaddr
    let r = run(
        &PcapBuilder::ethernet().packet(1, 0, &udp4(SERVER, [10, 0, 0, 1], [10, 1, 0, 1], (67, 67), &payload)).build(),
        json!({}),
    );
    let p = &r["packets"][0];
    assert_eq!(p["relay_ip"], "10.1.0.1");
    assert_eq!(p["relay_agent"], json!({"circuit_id": "port-7", "remote_id": "01:02:03:04", "subscriber_id": "s1"}));
    assert_eq!(p["options"]["relay_agent_information"], "circuit_id=port-7, remote_id=01:02:03:04, subscriber_id=s1");
    assert_eq!(r["servers"]["listed"][0]["relayed_replies"], 1);
}

#[test]
fn option_overload_moves_options_into_file_and_sname() {
    let mut payload = dhcp(2, 5, CLIENT, [10, 0, 0, 7], &[53, 1, 5, 52, 1, 3]);
    payload[108..116].copy_from_slice(&[51, 4, 0, 0, 0x0e, 0x10, 255, 0]);
    payload[44..55].copy_from_slice(&[54, 4, 10, 0, 0, 1, 15, 2, b'l', b'n', 255]);
    let pcap = PcapBuilder::ethernet().packet(1, 0, &udp4(SERVER, [10, 0, 0, 1], [255; 4], (67, 68), &payload)).build();
    let p = &run(&pcap, json!({}))["packets"][0];
    assert_eq!(p["option_overload"], "file+sname");
    assert_eq!((p["lease_time"].as_u64(), p["server_id"].as_str()), (Some(3600), Some("10.0.0.1")));
    assert_eq!(p["options"]["domain"], "ln");
    assert!(p.get("server_name").is_none() && p.get("boot_file").is_none());
}

#[test]
fn a_bad_magic_cookie_is_counted_and_flagged_not_fatal() {
    let mut bad = dhcp(1, 1, CLIENT, [0; 4], &[53, 1, 1]);
    bad[236..240].copy_from_slice(&[1, 2, 3, 4]);
    let good = dhcp(1, 2, CLIENT, [0; 4], &[53, 1, 1]);
    let pcap = PcapBuilder::ethernet()
        .packet(1, 0, &udp4(CLIENT, [0; 4], [255; 4], (68, 67), &bad))
        .packet(2, 0, &udp4(CLIENT, [0; 4], [255; 4], (68, 67), &good))
        .build();
    let r = run(&pcap, json!({}));
    let s = &r["statistics"];
    assert_eq!((s["bad_magic_cookie_packets"].as_u64(), s["malformed_packets"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["message_type_counts"], json!({"DISCOVER": 1}), "no options read past a bad cookie");
    let p = &r["packets"][0];
    assert_eq!(p["malformed"], true);
    assert!(p["problems"][0].as_str().unwrap().contains("bad magic cookie 01:02:03:04"));
    assert!(p.get("message_type").is_none());
    assert_eq!(r["packets"][1]["message_type"], "DISCOVER");
}

#[test]
fn dhcp_off_the_standard_ports_is_found_by_its_cookie() {
    let payload = dhcp(1, 3, CLIENT, [0; 4], &[53, 1, 1]);
    let pcap = PcapBuilder::ethernet()
        .packet(1, 0, &udp4(CLIENT, [10, 0, 0, 9], [10, 0, 0, 1], (40000, 4011), &payload))
        .packet(1, 0, &udp4(CLIENT, [10, 0, 0, 9], [10, 0, 0, 1], (40000, 4011), &payload[..200]))
        .build();
    let r = run(&pcap, json!({}));
    assert_eq!(r["dhcp_packets_found"], 1);
    assert_eq!(r["packets"][0]["non_standard_port"], true);
    assert_eq!(r["statistics"]["non_standard_port_packets"], 1);
}

#[test]
fn dhcpv6_solicit_advertise_request_reply_with_ia_na() {
    let client = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let server = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let addr = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
    let cid = v6b::opt(1, &v6b::duid_ll(CLIENT));
    let sid = v6b::opt(2, &v6b::duid_ll(SERVER));
    let mut pcap = PcapBuilder::ethernet();
    for (i, (t, opts)) in [
        (1u8, vec![cid.clone(), v6b::ia_na(1, [0; 16], 0, 0)]),
        (2, vec![cid.clone(), sid.clone(), v6b::ia_na(1, addr, 3600, 7200)]),
        (3, vec![cid.clone(), sid.clone(), v6b::ia_na(1, addr, 0, 0)]),
        (7, vec![cid.clone(), sid.clone(), v6b::ia_na(1, addr, 3600, 7200)]),
    ]
    .into_iter()
    .enumerate()
    {
        let xid = if t < 3 { 0xabcdef } else { 0x123456 };
        let ports = if t % 2 == 1 { (546, 547) } else { (547, 546) };
        let (src, dst) = if t % 2 == 1 { (client, server) } else { (server, client) };
        pcap = pcap.packet(10, i as u32 * 1000, &udp6(src, dst, ports, &v6b::message(t, xid, &opts)));
    }
    let r = run(&pcap.build(), json!({}));
    let v6 = &r["statistics"]["dhcpv6"];
    assert_eq!(v6["message_type_counts"], json!({"SOLICIT": 1, "ADVERTISE": 1, "REQUEST": 1, "REPLY": 1}));
    assert_eq!((v6["unique_clients_count"].as_u64(), v6["transaction_count"].as_u64()), (Some(1), Some(2)));
    assert_eq!(v6["unique_clients"][0]["link_layer_address"], "02:00:00:00:00:01");
    assert_eq!(v6["transactions"]["0xabcdef"].as_array().unwrap().len(), 2);
    let lease = &v6["leases"]["listed"][0];
    assert_eq!((lease["address"].as_str(), lease["valid_lifetime"].as_u64()), (Some("2001:db8::1234"), Some(7200)));
    assert_eq!(v6["leases"]["count"], 1, "only the REPLY assigns");
    let adv = &r["packets"][1];
    assert_eq!((adv["protocol"].as_str(), adv["message_type"].as_str()), (Some("DHCPv6"), Some("ADVERTISE")));
    assert_eq!(adv["transaction_id"], "0xabcdef");
    assert_eq!(adv["ia_na"][0]["addresses"][0]["address"], "2001:db8::1234");
    assert_eq!(adv["server_link_layer_address"], "02:00:00:00:00:fe");
    assert_eq!(r["statistics"]["dhcpv6_packets"], 4);
    assert_eq!(r["statistics"]["message_type_counts"], json!({}), "no DHCPv4 here");
}

fn five_discovers() -> Vec<u8> {
    let mut pcap = PcapBuilder::ethernet();
    for i in 0..5u32 {
        let payload = dhcp(1, 100 + i, CLIENT, [0; 4], &[53, 1, 1]);
        pcap = pcap.packet(i, 0, &udp4(CLIENT, [0; 4], [255; 4], (68, 67), &payload));
    }
    pcap.build()
}

#[test]
fn packets_are_paged_and_statistics_cover_all() {
    let r = run(&five_discovers(), json!({"limit": 2, "offset": 2}));
    let numbers: Vec<u64> =
        r["packets"].as_array().unwrap().iter().map(|p| p["packet_number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 4]);
    assert_eq!(r["pagination"], json!({"total": 5, "returned": 2, "offset": 2, "limit": 2, "next_offset": 4}));
    assert!(r.get("statistics").is_none(), "a later page leaves the summary to the first: {r}");
    let first = run(&five_discovers(), json!({"limit": 2}));
    assert_eq!(first["statistics"]["message_type_counts"]["DISCOVER"], 5);
    let last = run(&five_discovers(), json!({"offset": 4}));
    assert!(last["pagination"].get("next_offset").is_none());
    assert_eq!(run(&five_discovers(), json!({"limit": 0}))["packets"], json!([]));
}

#[test]
fn max_packets_from_the_call_and_the_server_and_bad_params() {
    let r = run(&five_discovers(), json!({"max_packets": 3}));
    assert_eq!((r["total_packets"].as_u64(), r["truncated"].as_bool()), (Some(3), Some(true)));
    assert_eq!(r["statistics"]["message_type_counts"]["DISCOVER"], 3);
    let capture = five_discovers();
    let ctx = RunContext { capture_name: "x".into(), capture_size: None, max_packets: Some(2), ..Default::default() };
    let r = Dhcp::run(TOOL, json!({"max_packets": 4}), &mut &capture[..], &ctx).unwrap();
    assert_eq!((r["dhcp_packets_found"].as_u64(), r["max_packets"].as_u64()), (Some(2), Some(2)));
    assert_eq!(run(&five_discovers(), json!({"max_packets": 5}))["truncated"], false);
    for bad in [json!({"max_packets": 0}), json!({"limit": 5000}), json!({"pcap": 1}), json!({"offset": "x"})] {
        assert!(matches!(run_tool::<Dhcp>(TOOL, bad.clone(), &capture), Err(RunError::BadParams(_))), "{bad}");
    }
}

#[test]
fn a_flood_of_unique_clients_and_xids_stays_bounded() {
    let mut pcap = PcapBuilder::ethernet();
    for i in 0..20_000u32 {
        let mac = [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 7];
        let payload = dhcp(1, i.wrapping_mul(2_654_435_761), mac, [0; 4], &[53, 1, 1]);
        pcap = pcap.packet(i / 1000, i % 1000, &udp4(mac, [0; 4], [255; 4], (68, 67), &payload));
    }
    let r = run(&pcap.build(), json!({}));
    let s = &r["statistics"];
    assert_eq!((s["transaction_count"].as_u64(), s["unique_clients_count"].as_u64()), (Some(20_000), Some(20_000)));
    assert_eq!(s["transactions"].as_object().unwrap().len(), LISTED);
    assert_eq!(s["transactions_omitted"], 20_000 - LISTED as u64);
    assert_eq!(s["unique_clients"].as_array().unwrap().len(), LISTED);
    assert_eq!(r["clients"]["listed"].as_array().unwrap().len(), LISTED);
    let size = r.to_string().len();
    assert!(size <= RESULT_BYTE_BUDGET, "default result is {size} bytes");
    let obs = r["observations"].as_array().unwrap();
    assert!(obs.iter().any(|o| o["type"] == "possible_starvation"), "{obs:?}");
}

#[test]
fn no_dhcp_gives_mcpcaps_message() {
    let pcap = PcapBuilder::ethernet().packet(1, 0, &udp4(CLIENT, [1; 4], [2; 4], (5353, 53), b"not dhcp")).build();
    let r = run(&pcap, json!({}));
    assert_eq!(r["message"], "No DHCP packets found in this capture");
    assert_eq!(r["dhcp_packets_found"], 0);
}

/// The tool, its prompts and mcpcap's fields are there (the result's shape
/// is its type's; the generic schema test in runtime/tests validates it).
#[test]
fn the_tool_prompts_and_mcpcaps_fields_are_described() {
    let d = Dhcp::describe();
    assert_eq!(d.tools[0].name, "analyze_dhcp_packets");
    let names: Vec<&str> = d.prompts.iter().map(|p| p.name).collect();
    assert_eq!(names, ["dhcp_network_analysis", "dhcp_security_analysis", "dhcp_forensic_investigation"]);
    let props = d.tools[0].result_schema["properties"].as_object().unwrap();
    for mcpcap_field in
        ["file", "total_packets", "dhcp_packets_found", "dhcp_packets_analyzed", "statistics", "packets"]
    {
        assert!(props.contains_key(mcpcap_field), "{mcpcap_field}");
    }
}

/// Runs the tool over every shared capture: a result or a clean error, never
/// a panic.
fn shared_results() -> Option<Vec<(std::path::PathBuf, Result<Value, RunError>)>> {
    let dir = shared_captures()?;
    Some(
        captures_under(&dir)
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).unwrap();
                let r = run_tool::<Dhcp>(TOOL, json!({"limit": 1000}), &bytes);
                (path, r)
            })
            .collect(),
    )
}

#[test]
fn every_shared_capture_gives_a_result_or_a_clean_error() {
    let Some(results) = shared_results() else {
        eprintln!("shared captures not found: skipped");
        return;
    };
    assert!(results.len() > 50, "expected the shared captures, found {}", results.len());
    for (path, result) in &results {
        match result {
            Ok(r) => assert!(r["statistics"].is_object(), "{}", path.display()),
            Err(RunError::Internal(m)) => panic!("{}: internal error {m}", path.display()),
            Err(_) => {}
        }
    }
}

/// Captures whose counts differ from tshark's by design, and why. Empty
/// today: messages relayed inside DHCPv6 RELAY-FORW/RELAY-REPL are counted by
/// type as tshark counts them, the first fragment of an unreassembled IPv4
/// datagram is decoded as tshark decodes it (hostile/tcpdump_bootp_asan.pcap,
/// hostile/tcpdump_dhcp6_reconf_asan.pcap), and no shared capture carries
/// DHCP off ports 67/68/546/547 (which we would find by the magic cookie and
/// tshark would not). Add `(path under shared/captures, reason)` here when a
/// new capture differs for such a reason.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
fn message_counts_match_tshark_on_every_shared_capture() {
    let Some(results) = shared_results() else {
        eprintln!("shared captures not found: skipped");
        return;
    };
    let Some(dir) = shared_captures() else { return };
    if tshark_count(&results[0].0, "frame").is_none() {
        eprintln!("tshark not available: skipped");
        return;
    }
    let mut mismatches = Vec::new();
    // One tshark run per capture, counted here as the display filters
    // `dhcp || dhcpv6`, `dhcp.option.dhcp == N` and `dhcpv6.msgtype == N`
    // count frames (tshark's start-up is most of a run's time).
    let tshark_rows = in_parallel(&results, |(path, _)| {
        tshark_fields(path, "dhcp || dhcpv6", &["dhcp.option.dhcp", "dhcpv6.msgtype"]).unwrap_or_default()
    });
    for ((path, result), rows) in results.iter().zip(tshark_rows) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let (found, v4, v6) = match result {
            Ok(r) => (
                r["dhcp_packets_found"].as_u64().unwrap_or(0),
                r["statistics"]["message_type_counts"].clone(),
                r["statistics"]["dhcpv6"]["message_type_counts"].clone(),
            ),
            Err(_) => (0, json!({}), json!({})),
        };
        let ours = |counts: &Value, name: String| counts.get(name).and_then(Value::as_u64).unwrap_or(0);
        let frames_with = |column: usize, code: Option<u8>| {
            let matches = |values: &String| match code {
                Some(code) => values.split(',').any(|v| v.parse() == Ok(code)),
                None => !values.is_empty(),
            };
            rows.iter().filter(|row| row.get(column).is_some_and(matches)).count() as u64
        };
        let frames = rows.len() as u64;
        let our_v4_total: u64 = v4.as_object().map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        let our_v6_total: u64 = v6.as_object().map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        if frames == 0 && found == 0 {
            continue;
        }
        let mut diffs = Vec::new();
        if frames != found {
            diffs.push(format!("DHCP packets: ours {found}, tshark {frames}"));
        }
        // tshark per type for the types we saw, and the total of typed
        // messages to catch types we did not see (one option 53 per frame).
        for code in 1..=u8::MAX {
            let mine = ours(&v4, names::v4_message_type(code));
            if mine == 0 {
                continue;
            }
            let theirs = frames_with(0, Some(code));
            if mine != theirs {
                diffs.push(format!("DHCPv4 {}: ours {mine}, tshark {theirs}", names::v4_message_type(code)));
            }
        }
        let v4_frames = frames_with(0, None);
        if our_v4_total != v4_frames {
            diffs.push(format!("DHCPv4 typed messages: ours {our_v4_total}, tshark {v4_frames}"));
        }
        let v6_frames = frames_with(1, None);
        if our_v6_total > 0 || v6_frames > 0 {
            for code in 1..=37u8 {
                let mine = ours(&v6, names::v6_message_type(code));
                let theirs = if mine == 0 && code > 21 { 0 } else { frames_with(1, Some(code)) };
                if mine != theirs {
                    diffs.push(format!("DHCPv6 {}: ours {mine}, tshark {theirs}", names::v6_message_type(code)));
                }
            }
        }
        let expected = EXPECTED_DIFFERENCES.iter().find(|(f, _)| *f == name);
        match (diffs.is_empty(), expected) {
            (true, None) => {}
            (true, Some(_)) => mismatches.push(format!("{name}: listed as differing but matches tshark")),
            (false, Some((_, reason))) => eprintln!("{name}: differs by design ({reason}): {}", diffs.join("; ")),
            (false, None) => mismatches.push(format!("{name}: {}", diffs.join("; "))),
        }
    }
    assert!(mismatches.is_empty(), "differences from tshark:\n{}", mismatches.join("\n"));
}

/// The generated fixtures with a DISCOVER and OFFER (SOLICIT and ADVERTISE
/// where the case carries IPv6) in each encapsulation and on each link type
/// the packet path decodes (fixtures/src/encapsulated.rs, link_types.rs):
/// every exchange is seen, through its encapsulation, and tshark finds as
/// many offers and advertisements.
#[test]
fn dhcp_inside_every_encapsulation_and_link_type_of_the_fixtures() {
    let offer = "dhcp.option.dhcp == 2 || dhcpv6.msgtype == 2";
    pcapsule_guest::testing::check_exchange_fixtures(
        "dhcp",
        offer,
        |bytes| run(bytes, json!({})),
        |fixture| {
            let (r, name) = (fixture.result, fixture.name);
            let v4 = fixture.facts["ipv4_cases"].as_u64().unwrap();
            let v6 = fixture.facts["ipv6_cases"].as_u64().unwrap();
            assert_eq!(v4 + v6, fixture.cases, "{name}: one exchange per case");
            assert!(v6 > 0, "{name}: IPv6 cases too");
            assert_eq!(r["dhcp_packets_found"], 2 * fixture.cases, "{name}");
            let s = &r["statistics"];
            assert_eq!(s["dhcpv4_packets"], 2 * v4, "{name}: {s}");
            assert_eq!(s["dhcpv6_packets"], 2 * v6, "{name}: {s}");
            assert_eq!(s["unique_clients_count"], v4, "{name}: one client hardware address per IPv4 case: {s}");
            assert_eq!(r["transaction_summary"]["count"], v4, "{name}: {}", r["transaction_summary"]);
        },
    );
}
