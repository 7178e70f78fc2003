//! Unit tests on captures built in memory, and the oracle test against
//! Wireshark's `tshark` over the shared captures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use etherparse::icmpv4::{DestUnreachableHeader, ParameterProblemHeader, RedirectCode, RedirectHeader};
use etherparse::icmpv6::{NeighborAdvertisementHeader, RouterAdvertisementHeader};
use etherparse::{Icmpv4Type, Icmpv6Type, PacketBuilder};
use pcapsule_guest::testing::{PcapBuilder, captures_under, in_parallel, run_tool, shared_captures, tshark_fields};
use pcapsule_guest::{Analyzer, RunContext, RunError};
use serde_json::{Value, json};

use crate::Icmp;

const TOOL: &str = "analyze_icmp_packets";
const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// Serializes an etherparse builder chain with its payload.
macro_rules! frame {
    ($builder:expr, $payload:expr) => {{
        let mut out = Vec::new();
        $builder.write(&mut out, $payload).unwrap();
        out
    }};
}

fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2(MAC_A, MAC_B)
}

fn run(pcap: &[u8], params: Value) -> Value {
    run_tool::<Icmp>(TOOL, params, pcap).expect("the tool runs")
}

fn ms(n: u32) -> (u32, u32) {
    (1_700_000_000 + n / 1000, (n % 1000) * 1000)
}

fn pcap(frames: &[(u32, Vec<u8>)]) -> Vec<u8> {
    frames
        .iter()
        .fold(PcapBuilder::ethernet(), |b, (at_ms, f)| {
            let (secs, micros) = ms(*at_ms);
            b.packet(secs, micros, f)
        })
        .build()
}

fn echo_request(src: [u8; 4], dst: [u8; 4], id: u16, seq: u16) -> Vec<u8> {
    frame!(eth().ipv4(src, dst, 64).icmpv4_echo_request(id, seq), &[0x61; 56])
}

fn echo_reply(src: [u8; 4], dst: [u8; 4], id: u16, seq: u16) -> Vec<u8> {
    frame!(eth().ipv4(src, dst, 57).icmpv4_echo_reply(id, seq), &[0x61; 56])
}

/// The IP packet of `frame` cut to `len` bytes: what an ICMP error quotes.
fn quote(frame: &[u8], len: usize) -> Vec<u8> {
    frame[14..14 + len].to_vec()
}

#[test]
fn echo_pairs_round_trips_and_loss() {
    let (host, server) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let capture = pcap(&[
        (0, echo_request(host, server, 7, 1)),
        (12, echo_reply(server, host, 7, 1)),
        (1000, echo_request(host, server, 7, 2)),
        (1020, echo_reply(server, host, 7, 2)),
        (2000, echo_request(host, server, 7, 3)),
        (3000, echo_request(host, server, 7, 4)),
        (3030, echo_reply(server, host, 7, 4)),
        (3031, echo_reply(server, host, 7, 4)),
        (4000, echo_reply(server, host, 9, 1)),
    ]);
    let r = run(&capture, json!({}));
    assert_eq!((r["total_packets"].as_u64(), r["icmp_packets_found"].as_u64()), (Some(9), Some(9)));
    assert_eq!(r["icmp_packets_analyzed"], 9);
    let s = &r["statistics"];
    assert_eq!(s["icmp_type_counts"], json!({"Echo Reply": 5, "Echo Request": 4}));
    assert_eq!(s["echo_sessions"], 2);
    assert_eq!(s["echo_pairs"]["7"], json!({"requests": 4, "replies": 4}));
    assert_eq!(s["echo_pairs"]["9"], json!({"requests": 0, "replies": 1}));
    assert_eq!(s["unique_sources_count"], 2);
    assert_eq!(s["unreachable_destinations_count"], 0);

    let e = &r["echo_summary"];
    assert_eq!((e["requests"].as_u64(), e["answered_requests"].as_u64()), (Some(4), Some(3)));
    assert_eq!((e["duplicate_replies"].as_u64(), e["unmatched_replies"].as_u64()), (Some(1), Some(1)));
    assert_eq!(e["loss_percent"], 25.0);
    assert_eq!(e["rtt_ms"], json!({"min": 12.0, "avg": 20.667, "max": 30.0}));
    assert_eq!(e["reply_payload_mismatches"], 0);
    assert_eq!(e["common_payload_sizes"][0], json!({"bytes": 56, "messages": 9}));

    let c = &r["echo_conversations"][0];
    assert_eq!((c["requester"].as_str(), c["responder"].as_str()), (Some("10.0.0.1"), Some("10.0.0.2")));
    assert_eq!((c["requests"].as_u64(), c["unanswered_requests"].as_u64()), (Some(4), Some(1)));
    assert_eq!(c["kind"], "echo");

    let p = &r["packets"];
    assert_eq!(p[1]["request_frame"], 1);
    assert_eq!(p[1]["rtt_ms"], 12.0);
    assert_eq!(p[7]["duplicate_reply"], true);
    assert!(p[8].get("request_frame").is_none(), "a stray reply names no request");
    for (key, want) in [
        ("packet_number", json!(2)),
        ("src_ip", json!("10.0.0.2")),
        ("dst_ip", json!("10.0.0.1")),
        ("ip_version", json!(4)),
        ("ttl", json!(57)),
        ("packet_size", json!(14 + 20 + 8 + 56)),
        ("icmp_type", json!(0)),
        ("icmp_code", json!(0)),
        ("icmp_type_name", json!("Echo Reply")),
        ("icmp_id", json!(7)),
        ("icmp_seq", json!(1)),
        ("icmp_code_name", json!("No Code")),
        ("original_dst_ip", Value::Null),
        ("frame_number", json!(2)),
        ("checksum_valid", json!(true)),
        ("payload_size", json!(56)),
        ("timestamp", json!("2023-11-14T22:13:20.012000Z")),
    ] {
        assert_eq!(p[1][key], want, "{key}");
    }
    assert!(p[1]["checksum"].is_u64());
    assert!(r["analysis_timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r["file"], "test.pcap");
}

#[test]
fn tunnel_like_echo_is_visible() {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let request = frame!(eth().ipv4(a, b, 64).icmpv4_echo_request(1, 1), &[0x41; 400]);
    let reply = frame!(eth().ipv4(b, a, 64).icmpv4_echo_reply(1, 1), &[0x42; 300]);
    let weird = frame!(eth().ipv4(a, b, 64).icmpv4_raw(8, 9, [0, 1, 0, 2]), &[0x41; 10]);
    let r = run(&pcap(&[(0, request), (1, reply), (2, weird)]), json!({}));
    let e = &r["echo_summary"];
    assert_eq!((e["large_payloads"].as_u64(), e["reply_payload_mismatches"].as_u64()), (Some(2), Some(1)));
    assert_eq!(e["distinct_payload_sizes"], 3);
    assert_eq!(r["statistics"]["unusual_codes"], 1);
    assert_eq!(r["packets"][2]["icmp_code_name"], "Unknown Code (9)");
    assert_eq!((r["packets"][2]["icmp_id"].as_u64(), r["packets"][2]["icmp_seq"].as_u64()), (Some(1), Some(2)));
}

#[test]
fn icmpv6_neighbor_discovery_and_mld() {
    let router: [u8; 16] = "fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let host: [u8; 16] = "fe80::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let target: [u8; 16] = "2001:db8::5".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let all_nodes: [u8; 16] = "ff02::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let unspecified = [0u8; 16];

    let rs = frame!(eth().ipv6(host, all_nodes, 255).icmpv6(Icmpv6Type::RouterSolicitation), &[]);
    let mut ra_body = Vec::new();
    ra_body.extend_from_slice(&30_000u32.to_be_bytes());
    ra_body.extend_from_slice(&1_000u32.to_be_bytes());
    ra_body.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0x01]);
    ra_body.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
    ra_body.extend_from_slice(&[3, 4, 64, 0xc0]);
    ra_body.extend_from_slice(&86_400u32.to_be_bytes());
    ra_body.extend_from_slice(&14_400u32.to_be_bytes());
    ra_body.extend_from_slice(&[0; 4]);
    ra_body.extend_from_slice(&"2001:db8::".parse::<std::net::Ipv6Addr>().unwrap().octets());
    let ra_header = RouterAdvertisementHeader {
        cur_hop_limit: 64,
        managed_address_config: true,
        other_config: false,
        router_lifetime: 1800,
    };
    let ra = frame!(eth().ipv6(router, all_nodes, 255).icmpv6(Icmpv6Type::RouterAdvertisement(ra_header)), &ra_body);

    let mut ns_body = target.to_vec();
    ns_body.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 2]);
    let ns = frame!(eth().ipv6(host, target, 255).icmpv6(Icmpv6Type::NeighborSolicitation), &ns_body);
    let dad = frame!(eth().ipv6(unspecified, all_nodes, 255).icmpv6(Icmpv6Type::NeighborSolicitation), &target);
    let na = |mac_last: u8| {
        let mut body = target.to_vec();
        body.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, mac_last]);
        let flags = NeighborAdvertisementHeader { router: false, solicited: true, r#override: true };
        frame!(eth().ipv6(target, host, 255).icmpv6(Icmpv6Type::NeighborAdvertisement(flags)), &body)
    };
    let mut mld_body = vec![4, 0, 0, 0];
    mld_body.extend_from_slice(&"ff02::fb".parse::<std::net::Ipv6Addr>().unwrap().octets());
    let mld_report = frame!(eth().ipv6(host, all_nodes, 1).icmpv6_raw(143, 0, [0, 0, 0, 1]), &mld_body);
    let mut redirect_body = "fe80::99".parse::<std::net::Ipv6Addr>().unwrap().octets().to_vec();
    redirect_body.extend_from_slice(&target);
    let redirect = frame!(eth().ipv6(router, host, 255).icmpv6(Icmpv6Type::Redirect), &redirect_body);

    let capture = pcap(&[(0, rs), (1, ra), (2, ns), (3, dad), (4, na(5)), (5, na(6)), (6, mld_report), (7, redirect)]);
    let r = run(&capture, json!({}));
    assert_eq!(r["statistics"]["icmpv6_messages"], 8);
    let nd = &r["neighbor_discovery"];
    assert_eq!(
        [
            &nd["router_solicitations"],
            &nd["router_advertisements"],
            &nd["neighbor_solicitations"],
            &nd["neighbor_advertisements"],
            &nd["redirects"]
        ],
        [&json!(1), &json!(1), &json!(2), &json!(2), &json!(1)]
    );
    assert_eq!(nd["duplicate_address_detection_probes"], 1);
    let routers = &nd["routers"][0];
    assert_eq!(routers["router"], "fe80::1");
    assert_eq!(routers["prefixes"], json!(["2001:db8::/64"]));
    assert_eq!((routers["router_lifetime_s"].as_u64(), routers["mtu"].as_u64()), (Some(1800), Some(1500)));
    assert_eq!(routers["link_layer_address"], "00:00:00:00:00:01");
    assert_eq!(nd["conflicting_bindings"], 1, "2001:db8::5 advertised from two link-layer addresses");
    assert_eq!(nd["address_bindings"][0]["address"], "2001:db8::5");
    assert_eq!(nd["address_bindings"][0]["link_layer_addresses"].as_array().unwrap().len(), 2);

    let p = &r["packets"];
    assert_eq!(p[1]["neighbor_discovery"]["managed_flag"], true);
    assert_eq!(p[1]["neighbor_discovery"]["prefixes"][0]["valid_lifetime_s"], 86_400);
    assert_eq!(p[2]["icmp_type_name"], "Neighbor Solicitation");
    assert_eq!(p[2]["neighbor_discovery"]["target_address"], "2001:db8::5");
    assert_eq!(p[2]["neighbor_discovery"]["source_link_layer_address"], "02:00:00:00:00:02");
    assert_eq!(p[4]["neighbor_discovery"]["solicited_flag"], true);
    assert_eq!(p[4]["neighbor_discovery"]["target_link_layer_address"], "02:00:00:00:00:05");
    assert_eq!(p[6]["icmp_type_name"], "Multicast Listener Report v2");
    assert_eq!(
        p[6]["mld"]["records"][0],
        json!({"record_type": "CHANGE_TO_EXCLUDE_MODE", "multicast_address": "ff02::fb", "sources": 0})
    );
    assert_eq!(r["multicast_listener_discovery"]["groups"][0]["group"], "ff02::fb");
    assert_eq!(p[7]["neighbor_discovery"]["destination_address"], "2001:db8::5");
    assert_eq!(r["redirects"][0]["new_gateway"], "fe80::99");
    for entry in p.as_array().unwrap() {
        assert_eq!(entry["checksum_valid"], true, "{entry}");
        assert_eq!(entry["problems"], json!([]), "{entry}");
    }
}

#[test]
fn icmpv6_echo_and_unreachable_with_quote() {
    let a: [u8; 16] = "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let b: [u8; 16] = "2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let request = frame!(eth().ipv6(a, b, 64).icmpv6_echo_request(3, 1), &[0; 16]);
    let reply = frame!(eth().ipv6(b, a, 64).icmpv6_echo_reply(3, 1), &[0; 16]);
    let udp = frame!(eth().ipv6(a, b, 64).udp(50000, 161), &[0; 30]);
    let code = etherparse::icmpv6::DestUnreachableCode::Port;
    let unreachable = frame!(eth().ipv6(b, a, 64).icmpv6(Icmpv6Type::DestinationUnreachable(code)), &quote(&udp, 48));
    let tcp = frame!(eth().ipv6(a, b, 64).tcp(40000, 443, 1, 1000), &[0; 1400]);
    let too_big = frame!(eth().ipv6(b, a, 64).icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 }), &quote(&tcp, 1232));
    let r = run(&pcap(&[(0, request), (4, reply), (10, unreachable), (20, too_big)]), json!({}));
    assert_eq!(r["echo_summary"]["rtt_ms"]["avg"], 4.0);
    assert_eq!(r["statistics"]["echo_pairs"]["3"], json!({"requests": 1, "replies": 1}));
    let p = &r["packets"][2];
    assert_eq!(
        (p["icmp_type_name"].as_str(), p["icmp_code_name"].as_str()),
        (Some("Destination Unreachable"), Some("Port Unreachable"))
    );
    assert_eq!(p["original"]["dst_port"], 161);
    assert_eq!(p["original_dst_ip"], "2001:db8::2");
    assert_eq!(r["statistics"]["unreachable_destinations"], json!(["2001:db8::2"]));
    let ptb = &r["packets"][3];
    assert_eq!((ptb["mtu"].as_u64(), ptb["original"]["protocol_name"].as_str()), (Some(1280), Some("TCP")));
    assert_eq!(r["statistics"]["smallest_reported_mtu"], 1280);
    assert_eq!(r["failed_flows"].as_array().unwrap().len(), 2);
}

#[test]
fn unreachable_and_other_errors_quote_the_failed_flow() {
    let (host, server, router) = ([10, 0, 0, 1], [192, 0, 2, 9], [10, 0, 0, 254]);
    let dns = frame!(eth().ipv4(host, server, 64).udp(40001, 53), &[0; 30]);
    let port_unreachable = frame!(
        eth().ipv4(server, host, 64).icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port)),
        &quote(&dns, 28)
    );
    let web = frame!(eth().ipv4(host, server, 64).tcp(40002, 443, 1, 1000), &[0; 100]);
    let frag_needed = frame!(
        eth().ipv4(router, host, 255).icmpv4(Icmpv4Type::DestinationUnreachable(
            DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 }
        )),
        &quote(&web, 28)
    );
    let redirect = frame!(
        eth().ipv4(router, host, 255).icmpv4(Icmpv4Type::Redirect(RedirectHeader {
            code: RedirectCode::RedirectForHost,
            gateway_internet_address: [10, 0, 0, 253],
        })),
        &quote(&web, 28)
    );
    let param = frame!(
        eth()
            .ipv4(router, host, 255)
            .icmpv4(Icmpv4Type::ParameterProblem(ParameterProblemHeader::PointerIndicatesError(9))),
        &quote(&dns, 28)
    );
    let ping = echo_request(host, server, 1, 1);
    let echo_unreachable = frame!(
        eth().ipv4(router, host, 255).icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Host)),
        &quote(&ping, 28)
    );
    let r = run(
        &pcap(&[(0, port_unreachable), (1, frag_needed), (2, redirect), (3, param), (4, echo_unreachable)]),
        json!({}),
    );
    let p = &r["packets"];
    let o = &p[0]["original"];
    assert_eq!(
        (
            o["src_ip"].as_str(),
            o["dst_ip"].as_str(),
            o["protocol_name"].as_str(),
            o["src_port"].as_u64(),
            o["dst_port"].as_u64()
        ),
        (Some("10.0.0.1"), Some("192.0.2.9"), Some("UDP"), Some(40001), Some(53))
    );
    assert_eq!(o["quoted_bytes"], 28);
    assert_eq!(p[0]["original_dst_ip"], "192.0.2.9");
    assert_eq!((p[1]["mtu"].as_u64(), p[1]["original"]["dst_port"].as_u64()), (Some(1400), Some(443)));
    assert_eq!(p[1]["icmp_code_name"], "Fragmentation Required");
    assert_eq!(p[2]["gateway"], "10.0.0.253");
    assert_eq!(p[2]["icmp_code_name"], "Redirect for Host");
    assert_eq!(p[3]["pointer"], 9);
    assert_eq!((p[4]["original"]["icmp_type"].as_u64(), p[4]["original"]["icmp_id"].as_u64()), (Some(8), Some(1)));
    let s = &r["statistics"];
    assert_eq!(s["unreachable_destinations"], json!(["192.0.2.9"]));
    assert_eq!(s["unreachable_destinations_count"], 1);
    assert_eq!(s["error_reporters"][0], json!({"ip": "10.0.0.254", "messages": 4}));
    let flows = r["failed_flows"].as_array().unwrap();
    assert_eq!(flows.len(), 4, "redirects are listed apart");
    let udp_flow = flows.iter().find(|f| f["original_dst_port"] == 53 && f["icmp_type"] == 3).unwrap();
    assert_eq!(
        (udp_flow["reporter"].as_str(), udp_flow["original_src_ports"].clone()),
        (Some("192.0.2.9"), json!([40001]))
    );
    assert_eq!(r["redirects"][0]["new_gateway"], "10.0.0.253");
    assert_eq!(r["redirects"][0]["destination"], "192.0.2.9");
}

#[test]
fn time_exceeded_rebuilds_the_traceroute_in_probe_ttl_order() {
    let (host, target) = ([10, 0, 0, 1], [203, 0, 113, 5]);
    let (r1, r2) = ([10, 0, 0, 254], [198, 51, 100, 1]);
    let probe = |ttl: u8, port: u16| frame!(eth().ipv4(host, target, ttl).udp(45000, port), &[0; 24]);
    // Routers quote the probe as it reached them: TTL 1 (checksum not redone,
    // as nothing here checks it).
    let answer = |from: [u8; 4], t: Icmpv4Type, p: &[u8]| {
        let mut q = quote(p, 28);
        q[8] = 1;
        frame!(eth().ipv4(from, host, 250).icmpv4(t), &q)
    };
    let (p1, p2, p3) = (probe(1, 33434), probe(2, 33435), probe(3, 33436));
    let ttl_exceeded = || Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit);
    let unreachable = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port);
    // The second hop answers before the first: order must come from the probes' TTLs.
    let capture = pcap(&[
        (0, p1.clone()),
        (1, p2.clone()),
        (2, p3.clone()),
        (9, answer(r2, ttl_exceeded(), &p2)),
        (20, answer(r1, ttl_exceeded(), &p1)),
        (32, answer(target, unreachable, &p3)),
    ]);
    let r = run(&capture, json!({}));
    let t = &r["traceroutes"][0];
    assert_eq!((t["source"].as_str(), t["destination"].as_str()), (Some("10.0.0.1"), Some("203.0.113.5")));
    assert_eq!((t["hop_order"].as_str(), t["destination_reached"].as_bool()), (Some("probe_ttl"), Some(true)));
    let hops: Vec<(u64, &str)> = t["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["ttl"].as_u64().unwrap(), h["router"].as_str().unwrap()))
        .collect();
    assert_eq!(hops, [(1, "10.0.0.254"), (2, "198.51.100.1"), (3, "203.0.113.5")]);
    assert_eq!(t["hops"][0]["rtt_ms"]["avg"], 20.0);
    assert_eq!(t["hops"][1]["rtt_ms"]["avg"], 8.0);
    assert_eq!(t["hops"][2]["answer"], "Destination Unreachable: Port Unreachable");
    assert_eq!(r["failed_flows"], json!([]), "traceroute hops and their end are not failures");
    assert_eq!(r["statistics"]["unreachable_destinations"], json!(["203.0.113.5"]));
    assert_eq!(r["packets"][0]["original"]["ttl"], 1, "the quote tells the TTL left, not the hop");

    // Captured away from the tracing host: no probes, hops in answer order.
    let r = run(&pcap(&[(9, answer(r1, ttl_exceeded(), &p1)), (20, answer(r2, ttl_exceeded(), &p2))]), json!({}));
    let t = &r["traceroutes"][0];
    assert_eq!(t["hop_order"], "first_seen");
    assert_eq!(t["hops"][0]["ttl"], Value::Null);
    assert_eq!(t["hops"][1]["router"], "198.51.100.1");
}

/// Behind a source NAT, routers past it quote the probe as the NAT rewrote
/// it: the NAT's address and port, and so another UDP checksum. The probes
/// are still found (by destination, IP id and destination port), the hops
/// keep their TTL and round-trip time, and the destination comes last
/// (issue #20: most hops lost their TTL and the destination was listed
/// second).
#[test]
fn a_traceroute_through_a_source_nat_keeps_every_hop() {
    let (host, public, target) = ([192, 168, 1, 10], [203, 0, 113, 5], [198, 51, 100, 7]);
    let (nat_router, r2, r3) = ([192, 168, 1, 1], [203, 0, 113, 1], [192, 0, 2, 1]);
    let probe = |src: [u8; 4], sport: u16, ttl: u8, port: u16| {
        let mut f = frame!(eth().ipv4(src, target, ttl).udp(sport, port), &[0x40; 24]);
        f[18..20].copy_from_slice(&(1000 + u16::from(ttl)).to_be_bytes()); // IP id, kept by the NAT
        let sum = etherparse::Ipv4Header::from_slice(&f[14..]).unwrap().0.calc_header_checksum();
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        f
    };
    // What the host sent, and the same probe as it left the NAT.
    let inside = |ttl: u8| probe(host, 45000, ttl, 33433 + u16::from(ttl));
    let outside = |ttl: u8| probe(public, 61001, ttl, 33433 + u16::from(ttl));
    let answer = |from: [u8; 4], t: Icmpv4Type, quoted: &[u8]| {
        let mut q = quote(quoted, 28);
        q[8] = 1;
        frame!(eth().ipv4(from, host, 250).icmpv4(t), &q)
    };
    let ttl_exceeded = || Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit);
    let unreachable = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port);
    assert_ne!(inside(2)[40..42], outside(2)[40..42], "the NAT changed the UDP checksum");
    let capture = pcap(&[
        (0, inside(1)),
        (1, inside(2)),
        (2, inside(3)),
        (3, inside(4)),
        (5, answer(nat_router, ttl_exceeded(), &inside(1))),
        (9, answer(r2, ttl_exceeded(), &outside(2))),
        (14, answer(r3, ttl_exceeded(), &outside(3))),
        (22, answer(target, unreachable, &outside(4))),
    ]);
    let r = run(&capture, json!({}));
    let traces = r["traceroutes"].as_array().unwrap();
    assert_eq!(traces.len(), 1, "one path, the host's: {traces:?}");
    let t = &traces[0];
    assert_eq!((t["source"].as_str(), t["destination"].as_str()), (Some("192.168.1.10"), Some("198.51.100.7")));
    assert_eq!(
        (&t["matched_probes"], &t["hop_order"], &t["destination_reached"]),
        (&json!(4), &json!("probe_ttl"), &json!(true))
    );
    let hops: Vec<(u64, &str, f64)> = t["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["ttl"].as_u64().unwrap(), h["router"].as_str().unwrap(), h["rtt_ms"]["avg"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        hops,
        [(1, "192.168.1.1", 5.0), (2, "203.0.113.1", 8.0), (3, "192.0.2.1", 12.0), (4, "198.51.100.7", 19.0)]
    );
    assert_eq!(r["failed_flows"], json!([]), "the destination's answer ends the traceroute");
}

#[test]
fn icmp_traceroute_ends_with_the_echo_reply() {
    let (host, target, r1) = ([10, 0, 0, 1], [203, 0, 113, 5], [10, 0, 0, 254]);
    let probe = |ttl: u8, seq: u16| frame!(eth().ipv4(host, target, ttl).icmpv4_echo_request(77, seq), &[0; 32]);
    let (p1, p2) = (probe(1, 1), probe(2, 2));
    let te = Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit);
    let r = run(
        &pcap(&[
            (0, p1.clone()),
            (1, frame!(eth().ipv4(r1, host, 255).icmpv4(te), &quote(&p1, 28))),
            (10, p2),
            (15, frame!(eth().ipv4(target, host, 60).icmpv4_echo_reply(77, 2), &[0; 32])),
        ]),
        json!({}),
    );
    let t = &r["traceroutes"][0];
    assert_eq!(t["destination_reached"], true);
    assert_eq!(
        t["hops"][1],
        json!({
            "ttl": 2, "router": "203.0.113.5", "responses": 1, "rtt_ms": {"min": 5.0, "avg": 5.0, "max": 5.0},
            "answer": "Echo Reply: No Code", "first_seen": "2023-11-14T22:13:20.015000Z", "first_frame": 4
        })
    );
}

#[test]
fn truncated_and_malformed_icmp_is_flagged_never_fatal() {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let full = echo_request(a, b, 1, 1);
    // 4 bytes of ICMP, and the IP length says so.
    let mut short = full[..14 + 20 + 4].to_vec();
    short[16..18].copy_from_slice(&24u16.to_be_bytes());
    // Cut by the capture: the IP length still says 84.
    let snapped = full[..14 + 20 + 6].to_vec();
    // Not one byte of ICMP.
    let mut empty = full[..14 + 20].to_vec();
    empty[16..18].copy_from_slice(&20u16.to_be_bytes());
    // A timestamp request must be 20 bytes; this one is 12.
    let timestamp = frame!(eth().ipv4(a, b, 64).icmpv4_raw(13, 0, [0, 5, 0, 6]), &[0; 4]);
    let mut bad_checksum = echo_request(a, b, 1, 2);
    bad_checksum[14 + 20 + 2] ^= 0xff;
    // Fragments of two echoes that never complete (different IP ids): the
    // first holds the ICMP header, the other does not.
    let mut first = echo_request(a, b, 1, 3);
    first[14 + 6] |= 0x20;
    let mut later = echo_request(a, b, 1, 3);
    later[14 + 4..14 + 6].copy_from_slice(&0x7777u16.to_be_bytes());
    later[14 + 6..14 + 8].copy_from_slice(&0x0007u16.to_be_bytes());
    let no_quote =
        frame!(eth().ipv4(b, a, 64).icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Network)), &[]);
    let garbage_quote = frame!(
        eth().ipv4(b, a, 64).icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Network)),
        &[0x45, 1, 2]
    );
    let capture = pcap(&[
        (0, short),
        (1, snapped),
        (2, empty),
        (3, timestamp),
        (4, bad_checksum),
        (5, first),
        (6, later),
        (7, no_quote),
        (8, garbage_quote),
    ]);
    let r = run(&capture, json!({}));
    // The two fragments are counted, not analyzed: their datagrams never complete.
    assert_eq!((r["icmp_packets_found"].as_u64(), r["icmp_packets_analyzed"].as_u64()), (Some(7), Some(6)));
    let m = &r["malformed"];
    assert_eq!((m["empty_icmp_payloads"].as_u64(), m["later_fragments"].as_u64()), (Some(1), Some(1)));
    assert_eq!(m["fragmented_messages"], 1);
    assert_eq!(m["malformed_messages"], 6);
    assert_eq!(
        m["problems"],
        json!({"truncated": 2, "quoted_datagram": 2, "bad_checksum": 1, "bad_length": 1, "snaplen": 1})
    );
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("2 fragmented IP datagrams")),
        "{}",
        r["warnings"]
    );
    let p = &r["packets"];
    assert_eq!(p[0]["icmp_type_name"], "Echo Request", "counted by type though truncated");
    assert!(p[0]["problems"][0].as_str().unwrap().starts_with("truncated: ICMP header needs 8 bytes, 4 captured"));
    assert_eq!(p[1]["problems"].as_array().unwrap().len(), 2, "truncated and snaplen");
    assert_eq!((p[2]["icmp_type_name"].as_str(), p[2]["icmp_id"].as_u64()), (Some("Timestamp Request"), Some(5)));
    assert_eq!(p[3]["checksum_valid"], false);
    assert!(p.as_array().unwrap().iter().all(|e| e.get("fragmented").is_none()), "fragments are not listed");
    assert_eq!(r["statistics"]["icmp_type_counts"]["Destination Unreachable"], 2);
}

#[test]
fn a_fragmented_echo_is_reassembled_and_analyzed_once() {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let whole = echo_request(a, b, 9, 1);
    // Split the 64-byte ICMP message at byte 32: header and payload start, then the rest.
    let ip = &whole[14..];
    let split = |from: usize, to: usize, flags_offset: u16| {
        let mut f = whole[..14 + 20].to_vec();
        f.extend_from_slice(&ip[20 + from..20 + to]);
        f[14 + 2..14 + 4].copy_from_slice(&((20 + to - from) as u16).to_be_bytes());
        f[14 + 6..14 + 8].copy_from_slice(&flags_offset.to_be_bytes());
        f
    };
    let capture = pcap(&[(0, split(32, 64, 4)), (1, split(0, 32, 0x2000))]);
    let r = run(&capture, json!({}));
    assert_eq!(r["icmp_packets_analyzed"], 1, "{r}");
    // The fragment that waited for the rest is still counted as seen.
    assert_eq!(r["malformed"]["later_fragments"], 1);
    let p = &r["packets"][0];
    assert_eq!((p["icmp_type_name"].as_str(), p["frame_number"].as_u64()), (Some("Echo Request"), Some(2)));
    assert_eq!(p["checksum_valid"], true, "the checksum covers the reassembled message");
}

#[test]
fn packets_are_paged_and_statistics_cover_all() {
    let frames: Vec<(u32, Vec<u8>)> =
        (0..25u16).map(|i| (u32::from(i), echo_request([10, 0, 0, 1], [10, 0, 0, 2], 1, i))).collect();
    let capture = pcap(&frames);
    let r = run(&capture, json!({"limit": 10, "offset": 20}));
    assert_eq!(r["packets"].as_array().unwrap().len(), 5);
    assert_eq!(r["packets"][0]["packet_number"], 21);
    assert_eq!(r["pagination"], json!({"total": 25, "returned": 5, "offset": 20, "limit": 10}));
    assert!(r.get("statistics").is_none(), "a later page leaves the summary to the first");
    let r = run(&capture, json!({"limit": 10}));
    assert_eq!(r["statistics"]["icmp_type_counts"]["Echo Request"], 25);
    assert_eq!(r["pagination"]["next_offset"], 10);
    let r = run(&capture, json!({}));
    assert_eq!(r["pagination"]["limit"], pcapsule_guest::conventions::DEFAULT_PAGE_LIMIT);
    let r = run(&capture, json!({"limit": 0}));
    assert_eq!((r["packets"].as_array().unwrap().len(), r["pagination"]["total"].as_u64()), (0, Some(25)));
    for bad in [json!({"limit": 1001}), json!({"limit": -1}), json!({"offset": "x"}), json!({"pcap": 1})] {
        assert!(matches!(run_tool::<Icmp>(TOOL, bad.clone(), &capture), Err(RunError::BadParams(_))), "{bad}");
    }
}

#[test]
fn max_packets_from_the_call_and_the_server() {
    let udp = frame!(eth().ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2), &[0; 8]);
    let mut frames = vec![(0, udp.clone()), (1, udp)];
    frames.extend((0..8u16).map(|i| (2 + u32::from(i), echo_request([10, 0, 0, 1], [10, 0, 0, 2], 1, i))));
    let capture = pcap(&frames);
    let r = run(&capture, json!({"max_packets": 4}));
    assert_eq!(
        (r["total_packets"].as_u64(), r["icmp_packets_analyzed"].as_u64(), r["truncated"].as_bool()),
        (Some(4), Some(2), Some(true))
    );
    assert_eq!((r["packets_analyzed"].as_u64(), r["max_packets"].as_u64()), (Some(4), Some(4)));
    let r = run(&capture, json!({"max_packets": 10}));
    assert_eq!((r["truncated"].as_bool(), r["icmp_packets_analyzed"].as_u64()), (Some(false), Some(8)));
    let ctx = RunContext { capture_name: "x".into(), capture_size: None, max_packets: Some(3), ..Default::default() };
    let r = Icmp::run(TOOL, json!({"max_packets": 5}), &mut &capture[..], &ctx).unwrap();
    assert_eq!(r["total_packets"], 3, "the server-wide cap wins when lower");
    assert!(matches!(run_tool::<Icmp>(TOOL, json!({"max_packets": 0}), &capture), Err(RunError::BadParams(_))));
}

#[test]
fn no_icmp_gives_mcpcaps_message() {
    let udp = frame!(eth().ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2), &[0; 8]);
    let r = run(&pcap(&[(0, udp)]), json!({}));
    assert_eq!(
        (r["icmp_packets_found"].as_u64(), r["message"].as_str()),
        (Some(0), Some("No ICMP packets found in this capture"))
    );
    assert!(matches!(run_tool::<Icmp>(TOOL, json!({}), b"not a capture"), Err(RunError::UnsupportedFormat(_))));
}

#[test]
fn tables_stay_bounded_on_many_addresses() {
    let frames: Vec<(u32, Vec<u8>)> = (0..20_000u32)
        .map(|i| {
            let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            (i, echo_request(src, [192, 0, 2, 1], i as u16, 1))
        })
        .collect();
    let r = run(&pcap(&frames), json!({}));
    let s = &r["statistics"];
    assert_eq!(s["unique_sources"].as_array().unwrap().len(), 50);
    assert_eq!(s["unique_sources_count"], 10_000, "tracked up to the cap");
    assert_eq!(s["unique_sources_omitted"], 9_950);
    assert_eq!(s["echo_sessions"], 20_000, "identifiers are 16-bit: always exact");
    assert_eq!(s["echo_pairs"].as_object().unwrap().len(), 50);
    assert_eq!(s["echo_pairs_omitted"], 19_950);
    assert!(r["warnings"][0].as_str().unwrap().contains("more than 10000 distinct sources"));
    assert_eq!(r["echo_summary"]["conversations_tracked"], 4096);
    assert_eq!(r["echo_conversations"].as_array().unwrap().len(), 10);
    let size = r.to_string().len();
    assert!(size <= pcapsule_guest::conventions::RESULT_BYTE_BUDGET, "default result is {size} bytes");
}

#[test]
fn describe_offers_the_tool_and_three_prompts() {
    let d = Icmp::describe();
    assert_eq!((d.name, d.tools.len()), ("icmp", 1));
    let tool = &d.tools[0];
    assert_eq!(tool.name, TOOL);
    assert_eq!(tool.params_schema["additionalProperties"], false);
    let params: BTreeSet<&String> = tool.params_schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        params.into_iter().map(String::as_str).collect::<Vec<_>>(),
        ["filter", "limit", "max_packets", "max_result_bytes", "offset", "time_from", "time_to"]
    );
    let names: Vec<&str> = d.prompts.iter().map(|p| p.name).collect();
    assert_eq!(names, ["icmp_network_diagnostics", "icmp_security_analysis", "icmp_forensic_investigation"]);
    for p in &d.prompts {
        assert!(p.text.contains("analyze_icmp_packets"), "{}", p.name);
    }
    let props = tool.result_schema["properties"].as_object().unwrap();
    for field in ["file", "analysis_timestamp", "total_packets", "icmp_packets_found", "icmp_packets_analyzed"] {
        assert!(props.contains_key(field), "{field}");
    }
    let stats = props["statistics"]["properties"].as_object().unwrap();
    for field in [
        "icmp_type_counts",
        "unique_sources_count",
        "unique_destinations_count",
        "unique_sources",
        "unique_destinations",
        "echo_sessions",
        "echo_pairs",
        "unreachable_destinations_count",
        "unreachable_destinations",
    ] {
        assert!(stats.contains_key(field), "{field}");
    }
    let packet = props["packets"]["items"]["properties"].as_object().unwrap();
    for field in [
        "packet_number",
        "timestamp",
        "src_ip",
        "dst_ip",
        "ip_version",
        "ttl",
        "packet_size",
        "icmp_type",
        "icmp_code",
        "icmp_type_name",
        "icmp_id",
        "icmp_seq",
        "checksum",
        "icmp_code_name",
        "original_dst_ip",
    ] {
        assert!(packet.contains_key(field), "{field}");
    }
}

/// Every page of a tool run, concatenated.
fn all_packets(bytes: &[u8]) -> Result<(Value, Vec<Value>), RunError> {
    let mut packets = Vec::new();
    let mut offset = 0;
    loop {
        let r = run_tool::<Icmp>(TOOL, json!({"limit": 1000, "offset": offset}), bytes)?;
        packets.extend(r["packets"].as_array().cloned().unwrap_or_default());
        match r["pagination"]["next_offset"].as_u64() {
            Some(next) => offset = next,
            None => return Ok((r, packets)),
        }
    }
}

#[test]
fn every_shared_capture_gives_a_result_or_a_clean_error() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipped: ../shared/captures is absent");
        return;
    };
    let files = captures_under(&dir);
    assert!(!files.is_empty());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        // Whole, and cut at a few places (the cuts land mid-record and mid-packet).
        for len in [bytes.len(), bytes.len() / 2, bytes.len().saturating_sub(3), 40.min(bytes.len())] {
            let name = format!("{} (first {len} bytes)", path.display());
            match run_tool::<Icmp>(TOOL, json!({"limit": 1000}), &bytes[..len]) {
                Ok(r) => {
                    let (total, found, analyzed) = (
                        r["total_packets"].as_u64().unwrap(),
                        r["icmp_packets_found"].as_u64().unwrap(),
                        r["icmp_packets_analyzed"].as_u64().unwrap(),
                    );
                    assert!(analyzed <= found && found <= total, "{name}");
                }
                Err(RunError::Internal(m)) => panic!("{name}: internal error {m}"),
                Err(_) => {}
            }
        }
    }
}

/// Files where our per-type counts differ from tshark's by design, and why.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "icmp/tcpdump_icmpv6-length-zero.pcapng",
    "IPv6 payload length 0: tshark sees an empty, malformed ICMPv6 message without a type; etherparse reads \
         the message to the end of the frame (flagged `bad_length`), a neighbor advertisement",
)];

#[test]
fn type_counts_match_tshark_on_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipped: ../shared/captures is absent");
        return;
    };
    if std::process::Command::new("tshark").arg("-v").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("skipped: tshark is not installed");
        return;
    }
    let mut failures = Vec::new();
    let mut differing = BTreeSet::new();
    let mut compared = 0;
    let captures = captures_under(&dir);
    // One tshark run per capture, counted here as the display filters
    // `icmp`, `icmpv6` and `icmp.type == N` count frames (tshark's
    // start-up is most of a run's time).
    let tshark_rows = in_parallel(&captures, |path| {
        tshark_fields(path, "icmp or icmpv6", &["frame.protocols", "icmp.type", "icmpv6.type"])
    });
    for (path, rows) in captures.iter().zip(tshark_rows) {
        let rel = path.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(path).unwrap();
        // A capture this analyzer refuses (not pcap/pcapng) has no ICMP for
        // it; tshark must then find none either.
        let packets = all_packets(&bytes).map(|(_, p)| p).unwrap_or_default();
        // Per frame, the ICMP types it shows, quoted ones included: tshark's
        // `icmp.type == N` matches a frame if any ICMP layer in it, the one
        // quoted inside an error too, has type N.
        let mut per_frame: BTreeMap<u64, BTreeSet<(&str, u64)>> = BTreeMap::new();
        for p in &packets {
            let frame = per_frame.entry(p["frame_number"].as_u64().unwrap()).or_default();
            let family = if p["protocol"] == "ICMP" { "icmp" } else { "icmpv6" };
            frame.insert((family, p["icmp_type"].as_u64().unwrap()));
            if let (Some(t), Some(proto)) = (p["original"]["icmp_type"].as_u64(), p["original"]["protocol"].as_u64()) {
                frame.insert((if proto == 1 { "icmp" } else { "icmpv6" }, t));
            }
        }
        let mut ours: BTreeMap<(&str, u64), u64> = BTreeMap::new();
        let mut ours_any: BTreeMap<&str, u64> = BTreeMap::new();
        for types in per_frame.values() {
            for t in types {
                *ours.entry(*t).or_default() += 1;
            }
            for family in types.iter().map(|t| t.0).collect::<BTreeSet<_>>() {
                *ours_any.entry(family).or_default() += 1;
            }
        }
        let Some(rows) = rows else {
            eprintln!("{rel}: tshark cannot read it; not compared");
            continue;
        };
        let any = rows.len() as u64;
        let frames_with = |family: &str, icmp_type: Option<u64>| {
            let column = if family == "icmp" { 1 } else { 2 };
            let matches = |row: &&Vec<String>| match icmp_type {
                Some(t) => row.get(column).is_some_and(|v| v.split(',').any(|v| v.parse() == Ok(t))),
                None => row[0].split(':').any(|p| p == family),
            };
            rows.iter().filter(matches).count() as u64
        };
        if any == 0 && ours_any.is_empty() {
            continue;
        }
        compared += 1;
        let mut mismatches = Vec::new();
        for family in ["icmp", "icmpv6"] {
            let theirs = frames_with(family, None);
            let mine = ours_any.get(family).copied().unwrap_or(0);
            if theirs != mine {
                mismatches.push(format!("frames with {family}: tshark {theirs}, ours {mine}"));
            }
        }
        for ((family, t), mine) in &ours {
            let theirs = frames_with(family, Some(*t));
            if theirs != *mine {
                mismatches.push(format!("{family}.type == {t}: tshark {theirs}, ours {mine}"));
            }
        }
        eprintln!("{rel}: {:?} {}", ours, if mismatches.is_empty() { "= tshark" } else { "differs" });
        if mismatches.is_empty() {
            continue;
        }
        differing.insert(rel.clone());
        match KNOWN_DIFFERENCES.iter().find(|(f, _)| *f == rel) {
            Some((_, why)) => eprintln!("  known difference ({why}): {}", mismatches.join("; ")),
            None => failures.push(format!("{rel}: {}", mismatches.join("; "))),
        }
    }
    for (file, _) in KNOWN_DIFFERENCES {
        assert!(differing.contains(*file) || !Path::new(&dir.join(file)).exists(), "{file} no longer differs");
    }
    assert!(compared >= 20, "only {compared} captures with ICMP compared");
    assert!(failures.is_empty(), "counts differ from tshark:\n{}", failures.join("\n"));
}

#[test]
fn facts_checked_by_hand_on_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipped: ../shared/captures is absent");
        return;
    };
    let run_file = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        run(&bytes, json!({"limit": 1000}))
    };
    // Every request captured twice, one reply each (tshark: "request in 2").
    let r = run_file("icmp/zeek_icmp.pcap");
    let e = &r["echo_summary"];
    assert_eq!(
        (e["requests"].as_u64(), e["repeated_requests"].as_u64(), e["loss_percent"].as_f64()),
        (Some(8), Some(4), Some(0.0))
    );
    assert_eq!(r["packets"][2]["request_frame"], 2);
    // traceroute6 with its probes captured: hop limits 1 to 4, then the target.
    let r = run_file("mixed/arkime_v6.pcap");
    let t = &r["traceroutes"][0];
    let hops: Vec<(u64, &str)> = t["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["ttl"].as_u64().unwrap(), h["router"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hops,
        [
            (1, "3ffe:507:0:1:260:97ff:fe07:69ea"),
            (2, "3ffe:501:0:1802:260:97ff:feb6:7ff0"),
            (3, "3ffe:501:1800:2345::2"),
            (4, "3ffe:501:410:0:2c0:dfff:fe47:33e")
        ]
    );
    assert_eq!((t["destination_reached"].as_bool(), t["matched_probes"].as_u64()), (Some(true), Some(12)));
    // Frame Relay (Cisco encapsulation), decoded by this crate's link fallback.
    let r = run_file("icmp/arkime_icmp-frame-relay.pcap");
    assert_eq!(r["echo_summary"]["answered_requests"], 5);
    // RFC 5837 interface information after a 128-byte quote without a length attribute.
    let r = run_file("icmp/tcpdump_icmp-rfc5837.pcap");
    let interface = &r["packets"][0]["extensions"][0]["interface"];
    assert_eq!((interface["if_index"].as_u64(), interface["address"].as_str()), (Some(15), Some("10.10.10.10")));
    // RFC 8335: the probed interface by name, and the reply's code.
    let r = run_file("icmp/tcpdump_icmp-rfc8335.pcap");
    assert_eq!(r["packets"][6]["extended_echo"]["probed_interface"]["name"], "fxp0.0");
    assert_eq!(r["packets"][9]["icmp_code_name"], "No Such Interface");
    // Path MTU: fragmentation required quoting the SMTP flow.
    let r = run_file("mixed/zeek_smtp.pcap");
    let flow = &r["failed_flows"][0];
    assert_eq!(
        (flow["mtu"].as_u64(), flow["original_dst_port"].as_u64(), flow["messages"].as_u64()),
        (Some(1492), Some(25), Some(4))
    );
}

/// The generated fixtures with one echo and its reply in each encapsulation
/// and on each link type the packet path decodes (fixtures/src/encapsulated.rs,
/// link_types.rs): every pair is seen, through its encapsulation, and tshark
/// finds as many replies.
#[test]
fn echo_inside_every_encapsulation_and_link_type_of_the_fixtures() {
    let reply = "icmp.type == 0 || icmpv6.type == 129";
    pcapsule_guest::testing::check_exchange_fixtures(
        "icmp",
        reply,
        |bytes| run(bytes, json!({})),
        |fixture| {
            let (s, pairs) = (&fixture.result["statistics"], fixture.cases);
            assert_eq!(s["echo_sessions"], pairs, "{}: {s}", fixture.name);
            assert_eq!(s["icmp_type_counts"]["Echo Request"], pairs, "{}: {s}", fixture.name);
            assert_eq!(s["icmp_type_counts"]["Echo Reply"], pairs, "{}: {s}", fixture.name);
        },
    );
}
