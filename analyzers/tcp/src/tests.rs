//! Tests on captures built in memory, the result fields, and the tshark
//! cross-check on the shared captures.

use std::collections::{BTreeMap, BTreeSet};

use etherparse::PacketBuilder;
use pcapsule_guest::conventions::PacketBudget;
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, in_parallel, run_tool, run_tools, shared_captures, tshark_fields, without_timestamp,
};
use serde_json::{Value, json};

use super::*;
use crate::conn::Connection;
use crate::scan::Filter;
use crate::segment::Segment;
use crate::seqanalysis::verdict;
use crate::tracker::Sink;

type Ep = ([u8; 4], u16);
const C: Ep = ([10, 0, 0, 1], 40000);
const S: Ep = ([10, 0, 0, 2], 80);
const C2: Ep = ([10, 0, 0, 3], 40001);

/// Builds a capture packet by packet; time advances 1 ms per packet unless set.
struct Cap {
    pcap: Option<PcapBuilder>,
    ms: u64,
    /// Snapshot length: frames longer than this are cut, as `tcpdump -s` does.
    snaplen: usize,
    /// IP TTL of the segments that follow.
    ttl: u8,
}

impl Cap {
    fn new() -> Self {
        Cap { pcap: Some(PcapBuilder::ethernet()), ms: 1_000_000, snaplen: usize::MAX, ttl: 64 }
    }

    fn at(&mut self, ms: u64) -> &mut Self {
        self.ms = 1_000_000 + ms;
        self
    }

    fn frame(&mut self, frame: &[u8]) -> &mut Self {
        let (secs, micros) = ((self.ms / 1000) as u32, (self.ms % 1000 * 1000) as u32);
        self.pcap = Some(self.pcap.take().unwrap().packet_cut(secs, micros, frame, self.snaplen));
        self.ms += 1;
        self
    }

    /// A segment; `flags` uses S, A, F, R, P; the ack number is sent only with A.
    fn tcp(&mut self, from: Ep, to: Ep, seq: u32, ack: u32, flags: &str, len: usize) -> &mut Self {
        self.tcp_win(from, to, seq, ack, flags, len, 8192)
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp_win(&mut self, from: Ep, to: Ep, seq: u32, ack: u32, flags: &str, len: usize, window: u16) -> &mut Self {
        let mut b =
            PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(from.0, to.0, self.ttl).tcp(from.1, to.1, seq, window);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                _ => panic!("flag {f}"),
            };
        }
        let mut out = Vec::new();
        b.write(&mut out, &vec![b'x'; len]).unwrap();
        self.frame(&out)
    }

    /// An IPv6 segment.
    fn tcp6(&mut self, from: ([u8; 16], u16), to: ([u8; 16], u16), seq: u32, ack: u32, flags: &str) -> &mut Self {
        let mut b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv6(from.0, to.0, 64).tcp(from.1, to.1, seq, 8192);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'F' => b.fin(),
                _ => panic!("flag {f}"),
            };
        }
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        self.frame(&out)
    }

    /// The IP TTL of the segments that follow.
    fn ttl(&mut self, ttl: u8) -> &mut Self {
        self.ttl = ttl;
        self
    }

    /// SYN, SYN-ACK, ACK between `c` and `s` (client ISN 100, server ISN 500).
    fn handshake(&mut self, c: Ep, s: Ep) -> &mut Self {
        self.tcp(c, s, 100, 0, "S", 0).tcp(s, c, 500, 101, "SA", 0).tcp(c, s, 101, 501, "A", 0)
    }

    fn build(&mut self) -> Vec<u8> {
        self.pcap.take().unwrap().build()
    }
}

fn run(tool: &str, params: Value, capture: &[u8]) -> Value {
    run_tool::<Tcp>(tool, params, capture).unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn connections(capture: &[u8]) -> Vec<Value> {
    run("analyze_tcp_connections", json!({"detailed": true}), capture)["connections"].as_array().unwrap().clone()
}

fn only_state(capture: &[u8]) -> (String, String) {
    let c = connections(capture);
    assert_eq!(c.len(), 1, "{c:?}");
    (c[0]["conn_state"].as_str().unwrap().to_string(), c[0]["history"].as_str().unwrap().to_string())
}

#[test]
fn every_conn_state() {
    let check = |cap: &mut Cap, state: &str, history: &str| {
        assert_eq!(only_state(&cap.build()), (state.to_string(), history.to_string()), "{state}");
    };
    check(Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 100, 0, "S", 0), "S0", "S");
    check(Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(S, C, 0, 101, "RA", 0), "REJ", "Sr");
    check(Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 101, 0, "R", 0), "RSTOS0", "SR");
    check(Cap::new().handshake(C, S).tcp(C, S, 101, 501, "PA", 10), "S1", "ShAD");
    check(
        Cap::new()
            .handshake(C, S)
            .tcp(C, S, 101, 501, "PA", 10)
            .tcp(S, C, 501, 111, "A", 0)
            .tcp(S, C, 501, 111, "PA", 20)
            .tcp(C, S, 111, 521, "FA", 0)
            .tcp(S, C, 521, 112, "FA", 0)
            .tcp(C, S, 112, 522, "A", 0),
        "SF",
        "ShADadFf",
    );
    check(Cap::new().handshake(C, S).tcp(C, S, 101, 501, "FA", 0).tcp(S, C, 501, 102, "A", 0), "S2", "ShAFa");
    check(Cap::new().handshake(C, S).tcp(S, C, 501, 101, "FA", 0), "S3", "ShAf");
    check(Cap::new().handshake(C, S).tcp(C, S, 101, 501, "RA", 0), "RSTO", "ShAR");
    check(Cap::new().handshake(C, S).tcp(S, C, 501, 101, "R", 0), "RSTR", "ShAr");
    check(Cap::new().tcp(S, C, 500, 101, "SA", 0).tcp(S, C, 501, 101, "R", 0), "RSTRH", "^hr");
    check(Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 101, 0, "F", 0), "SH", "SF");
    check(Cap::new().tcp(S, C, 500, 101, "SA", 0).tcp(S, C, 501, 101, "FA", 0), "SHR", "^hf");
    check(Cap::new().tcp(C, S, 1000, 2000, "PA", 10).tcp(S, C, 2000, 1010, "PA", 10), "OTH", "Dd");
}

#[test]
fn mcpcap_fields_of_a_connection() {
    let cap = Cap::new()
        .handshake(C, S)
        .tcp(C, S, 101, 501, "PA", 10)
        .tcp(S, C, 501, 111, "PA", 20)
        .tcp(C, S, 111, 521, "FA", 0)
        .tcp(S, C, 521, 112, "FA", 0)
        .tcp(C, S, 112, 522, "A", 0)
        .build();
    let r = run("analyze_tcp_connections", json!({}), &cap);
    let c = &r["connections"][0];
    assert_eq!(c["client"], "10.0.0.1:40000");
    assert_eq!(c["server"], "10.0.0.2:80");
    assert_eq!(c["state"], "closed");
    assert_eq!(c["close_reason"], "normal");
    assert_eq!(c["handshake_completed"], true);
    assert_eq!(
        [&c["syn_count"], &c["syn_ack_count"], &c["ack_count"], &c["rst_count"], &c["fin_count"]],
        [2, 1, 7, 0, 2]
    );
    assert_eq!((&c["data_packets"], &c["packet_count"], &c["retransmissions"]), (&json!(2), &json!(8), &json!(0)));
    assert!(c.get("client_to_server").is_none(), "detail only when asked for");
    let s = &r["summary"];
    assert_eq!(s["total_connections"], 1);
    assert_eq!(s["successful_handshakes"], 1);
    assert_eq!(s["normal_close"], 1);
    assert_eq!(s["active_connections"], 0);
    assert_eq!(s["conn_states"], json!({"SF": 1}));
    assert_eq!(s["handshake_rtt_ms"]["avg"], 2.0);
    assert_eq!(r["total_packets"], 8);
    assert_eq!(r["tcp_packets_found"], 8);

    let d = &connections(&cap)[0];
    assert_eq!(d["client_to_server"]["payload_bytes"], 10);
    assert_eq!(d["server_to_client"]["payload_bytes"], 20);
    assert_eq!(d["closed_by"], "client");
    assert_eq!(d["close_method"], "graceful");
    assert_eq!(d["handshake_rtt_ms"], 2.0);
    assert_eq!(d["syn_to_synack_ms"], 1.0);
    assert_eq!(d["duration_s"], 0.007);
    assert_eq!(d["roles_from"], "syn");
}

#[test]
fn handshake_without_the_final_ack_is_not_completed() {
    let cap = Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(S, C, 500, 101, "SA", 0).tcp(C, S, 101, 999, "A", 0).build();
    let r = run("analyze_tcp_connections", json!({}), &cap);
    assert_eq!(r["connections"][0]["handshake_completed"], false, "the ACK must acknowledge the SYN-ACK");
    assert_eq!(r["summary"]["failed_handshakes"], 1);
}

/// A capture that starts mid-stream has not seen a handshake; that is not
/// a failed one (issue #20: mcpcap's arithmetic reported "1 failed
/// handshakes" and a 0 % success rate for a connection that closed well).
#[test]
fn a_connection_joined_mid_stream_is_not_a_failed_handshake() {
    let cap = Cap::new()
        .tcp(C, S, 101, 501, "PA", 10)
        .tcp(S, C, 501, 111, "PA", 20)
        .tcp(C, S, 111, 521, "FA", 0)
        .tcp(S, C, 521, 112, "FA", 0)
        .tcp(C, S, 112, 522, "A", 0)
        // A second connection whose SYN got a reset: that one failed.
        .tcp(C2, S, 700, 0, "S", 0)
        .tcp(S, C2, 0, 701, "RA", 0)
        .build();
    let r = run("analyze_tcp_connections", json!({}), &cap);
    let s = &r["summary"];
    assert_eq!(
        (&s["successful_handshakes"], &s["failed_handshakes"], &s["handshakes_not_seen"]),
        (&json!(0), &json!(1), &json!(1))
    );
    let entries = r["connections"].as_array().unwrap();
    assert_eq!(entries[0]["handshake"], "not_seen");
    assert_eq!(entries[0]["close_reason"], "normal");
    assert_eq!(entries[1]["handshake"], "failed");
    let issues = r["issues"].as_array().unwrap();
    assert!(issues.iter().any(|i| i == "1 failed handshakes"), "{issues:?}");
    assert!(issues.iter().any(|i| i.as_str().unwrap().contains("not seen")), "{issues:?}");

    let a = run("analyze_tcp_anomalies", json!({}), &cap);
    assert_eq!(a["statistics"]["handshake"], json!({"successful": 0, "failed": 1, "incomplete": 1}));
    // Mid-stream alone: no handshake verdict at all.
    let midstream_only = Cap::new().tcp(C, S, 101, 501, "PA", 10).tcp(S, C, 501, 111, "A", 0).build();
    let a = run("analyze_tcp_anomalies", json!({}), &midstream_only);
    let patterns = a["patterns"].as_array().unwrap();
    assert!(!patterns.iter().any(|p| p["pattern"] == "handshake_completion"), "{patterns:?}");
}

/// Bytes are counted on the wire, as Wireshark's conversations count them:
/// on a capture cut at a snapshot length, the captured bytes were smaller
/// than the payload the IP headers declare (issue #20).
#[test]
fn bytes_are_wire_bytes_and_captured_bytes_are_beside_them() {
    let mut cap = Cap::new();
    cap.snaplen = 96;
    cap.handshake(C, S).tcp(C, S, 101, 501, "PA", 1000).tcp(S, C, 501, 1101, "PA", 1400);
    let cap = cap.build();
    let d = &connections(&cap)[0];
    let frame = |payload: u64| 14 + 20 + 20 + payload;
    let (to, from) = (&d["client_to_server"], &d["server_to_client"]);
    assert_eq!(to["payload_bytes"], 1000);
    assert_eq!(to["bytes"], 2 * frame(0) + frame(1000), "{to}");
    assert_eq!(to["captured_bytes"], 2 * frame(0) + 96, "{to}");
    assert_eq!((&from["bytes"], &from["captured_bytes"]), (&json!(frame(0) + frame(1400)), &json!(frame(0) + 96)));
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &cap);
    let (to, from) = (&flow["client_to_server"], &flow["server_to_client"]);
    assert_eq!(
        (&to["byte_count"], &to["captured_byte_count"]),
        (&json!(2 * frame(0) + frame(1000)), &json!(2 * frame(0) + 96))
    );
    assert!(from["byte_count"].as_u64() >= from["payload_bytes"].as_u64(), "{from}");
}

/// Captures merged from several interfaces or taps can hold a handshake out
/// of order; the handshake still completed.
#[test]
fn a_handshake_captured_out_of_order_is_completed() {
    let orders: [(&str, Vec<u8>); 3] = [
        (
            "ACK before SYN-ACK",
            Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 101, 501, "A", 0).tcp(S, C, 500, 101, "SA", 0).build(),
        ),
        (
            "SYN-ACK first",
            Cap::new().tcp(S, C, 500, 101, "SA", 0).tcp(C, S, 100, 0, "S", 0).tcp(C, S, 101, 501, "A", 0).build(),
        ),
        (
            "ACK first",
            Cap::new().tcp(C, S, 101, 501, "A", 0).tcp(C, S, 100, 0, "S", 0).tcp(S, C, 500, 101, "SA", 0).build(),
        ),
    ];
    for (order, cap) in orders {
        let c = &connections(&cap)[0];
        assert_eq!(
            (c["handshake_completed"].as_bool(), c["handshake"].as_str()),
            (Some(true), Some("completed")),
            "{order}"
        );
        assert_eq!(c["client"], "10.0.0.1:40000", "{order}");
    }
    // Out of order, but the ACK does not acknowledge the SYN-ACK: not completed.
    let cap = Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 101, 999, "A", 0).tcp(S, C, 500, 101, "SA", 0).build();
    assert_eq!(connections(&cap)[0]["handshake"], "failed");
}

#[test]
fn roles_without_a_syn_and_over_ipv6() {
    // Midstream, first packet from the server: the lower port is the server.
    let cap = Cap::new().tcp(S, C, 2000, 1000, "PA", 5).tcp(C, S, 1000, 2005, "A", 0).build();
    let c = &connections(&cap)[0];
    assert_eq!((c["client"].as_str(), c["server"].as_str()), (Some("10.0.0.1:40000"), Some("10.0.0.2:80")));
    assert_eq!(c["roles_from"], "port");
    assert_eq!(c["history"], "^dA");
    // Equal ports: the first sender is the client.
    let a: Ep = ([10, 0, 0, 7], 5000);
    let b: Ep = ([10, 0, 0, 8], 5000);
    let c = &connections(&Cap::new().tcp(b, a, 1, 1, "A", 0).build())[0];
    assert_eq!((c["client"].as_str(), c["roles_from"].as_str()), (Some("10.0.0.8:5000"), Some("first_packet")));
    // IPv6, with a handshake.
    let (x, y) = (
        ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 40000),
        ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 443),
    );
    let cap = Cap::new().tcp6(x, y, 7, 0, "S").tcp6(y, x, 9, 8, "SA").tcp6(x, y, 8, 10, "A").build();
    let c = &connections(&cap)[0];
    assert_eq!(c["client"], "[2001:db8::1]:40000");
    assert_eq!(c["server"], "[2001:db8::2]:443");
    assert_eq!(c["handshake_completed"], true);
    assert_eq!(c["conn_state"], "S1");
}

#[test]
fn port_reuse_after_close_starts_a_new_connection() {
    const D: Ep = ([10, 0, 0, 3], 40001);
    let cap = Cap::new()
        .handshake(C, S)
        .tcp(C, S, 101, 501, "FA", 0)
        .tcp(S, C, 501, 102, "FA", 0)
        .tcp(C, S, 102, 502, "A", 0)
        // A retransmitted SYN of the first connection would have seq 100; this is a new one.
        .tcp(C, S, 9000, 0, "S", 0)
        .tcp(S, C, 7000, 9001, "SA", 0)
        .tcp(C, S, 9001, 7001, "A", 0)
        .build();
    let r = run("analyze_tcp_connections", json!({"detailed": true}), &cap);
    assert_eq!(r["summary"]["total_connections"], 2);
    assert_eq!(r["tracking"]["port_reuses"], 1);
    let c = r["connections"].as_array().unwrap();
    assert_eq!((c[0]["conn_state"].as_str(), c[1]["conn_state"].as_str()), (Some("SF"), Some("S1")));
    assert_eq!((c[0]["packet_count"].as_u64(), c[1]["packet_count"].as_u64()), (Some(6), Some(3)));
    assert_eq!(c[1]["reused_ports"], true);
    assert_eq!((c[0]["stream"].as_u64(), c[1]["stream"].as_u64()), (Some(0), Some(1)));
    // Stream numbers are the whole capture's, whatever a selection keeps.
    let streams = |params: Value, capture: &[u8]| -> Vec<u64> {
        let r = run("analyze_tcp_connections", params, capture);
        r["connections"].as_array().unwrap().iter().map(|c| c["stream"].as_u64().unwrap()).collect()
    };
    assert_eq!(streams(json!({"time_from": 1000.0065}), &cap), [1]);
    let other = Cap::new().handshake(D, ([10, 0, 0, 4], 80)).handshake(C, S).build();
    assert_eq!(streams(json!({"filter": "port 40000"}), &other), [1]);
    assert_eq!(streams(json!({"server_ip": "10.0.0.2"}), &other), [1], "the tool's own filter too");
    // A connection finished after its close and linger, then seen again
    // without a SYN (a late retransmission), is the same stream.
    let late = Cap::new()
        .handshake(C, S)
        .tcp(C, S, 101, 501, "FA", 0)
        .tcp(S, C, 501, 102, "FA", 0)
        .at(60_000)
        .tcp(D, S, 1, 0, "S", 0)
        .tcp(S, C, 501, 102, "FA", 0)
        .build();
    assert_eq!(streams(json!({}), &late), [0, 1, 0]);
    // A SYN retransmission (same sequence number) stays in its connection.
    let again = Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(C, S, 100, 0, "S", 0).build();
    let r = run("analyze_tcp_retransmissions", json!({}), &again);
    assert_eq!(r["summary"]["connections"], 1);
    assert_eq!(r["total_retransmissions"], 1);
}

/// One connection with each of Wireshark's anomalies, client to server
/// unless said otherwise.
fn troubled() -> Vec<u8> {
    let mut cap = Cap::new();
    cap.handshake(C, S)
        .at(10)
        .tcp(C, S, 101, 501, "PA", 100) // 101..201
        .tcp(C, S, 201, 501, "PA", 100) // 201..301
        .tcp(S, C, 501, 201, "A", 0)
        .tcp(S, C, 501, 201, "A", 0) // duplicate ACK 1
        .tcp(S, C, 501, 201, "A", 0) // duplicate ACK 2
        .tcp(C, S, 201, 501, "PA", 100) // fast retransmission
        .at(500)
        .tcp(C, S, 201, 501, "PA", 100) // retransmission
        .tcp(S, C, 501, 301, "A", 0)
        .at(600)
        .tcp(C, S, 101, 501, "PA", 100) // spurious: already acknowledged
        .at(700)
        .tcp(C, S, 401, 501, "PA", 100) // lost segment: 301..401 not seen
        .tcp(C, S, 301, 501, "PA", 100) // out of order (1 ms later, within 3 ms)
        .at(5000)
        .tcp(C, S, 500, 501, "A", 0) // keep-alive: nextseq - 1
        .tcp_win(S, C, 501, 501, "A", 0, 0); // zero window
    cap.build()
}

#[test]
fn wireshark_anomalies_are_detected() {
    let cap = troubled();
    let r = run("analyze_tcp_anomalies", json!({}), &cap);
    let a = &r["statistics"]["analysis"];
    for (name, n) in [
        ("fast_retransmissions", 1),
        ("spurious_retransmissions", 1),
        ("duplicate_acks", 2),
        ("out_of_order", 1),
        ("lost_segments", 1),
        ("keep_alives", 1),
        ("zero_windows", 1),
    ] {
        assert_eq!(a[name], n, "{name}: {a}");
    }
    assert_eq!(r["statistics"]["retransmissions"]["total"], 3, "fast + spurious + plain");
    let kinds: BTreeSet<&str> =
        r["patterns"].as_array().unwrap().iter().map(|p| p["pattern"].as_str().unwrap()).collect();
    for kind in ["packet_retransmission", "loss_indicators", "zero_window"] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    let t = run("analyze_tcp_retransmissions", json!({}), &cap);
    assert_eq!(t["total_retransmissions"], 3);
    assert_eq!(t["breakdown"]["fast_retransmissions"], 1);
    assert_eq!(t["breakdown"]["spurious_retransmissions"], 1);
    assert_eq!(t["breakdown"]["other_retransmissions"], 1);
    assert_eq!(t["breakdown"]["client_to_server"], 3);
    assert_eq!(t["total_packets"], 16);
    assert_eq!(t["retransmission_rate"], 0.1875);
    assert_eq!(t["exceeds_threshold"], true);
    assert_eq!(t["by_connection"][0]["retrans_count"], 3);
    assert_eq!(t["summary"]["worst_connection"], "10.0.0.1:40000 <-> 10.0.0.2:80");
    assert_eq!(t["summary"]["connections_above_threshold"], 1);
    assert_eq!(run("analyze_tcp_retransmissions", json!({"threshold": 0.5}), &cap)["exceeds_threshold"], false);
    let c = &connections(&cap)[0];
    assert_eq!(
        c["history"],
        "ShADaTGW".replace('W', "w"),
        "T for retransmitted data, G for the gap, w for the zero window"
    );
    assert_eq!(c["client_to_server"]["keep_alives"], 1);
    assert_eq!(c["server_to_client"]["zero_windows"], 1);
    assert_eq!(c["server_to_client"]["duplicate_acks"], 2);
}

#[test]
fn filters_and_bad_parameters() {
    let other: Ep = ([10, 0, 0, 3], 443);
    let cap = Cap::new().handshake(C, S).handshake(C, other).tcp(other, C, 501, 101, "RA", 0).build();
    let count = |params: Value| run("analyze_tcp_connections", params, &cap)["summary"]["total_connections"].clone();
    assert_eq!(count(json!({})), 2);
    assert_eq!(count(json!({"server_ip": "10.0.0.3"})), 1);
    assert_eq!(count(json!({"server_port": 80})), 1);
    assert_eq!(count(json!({"server_ip": "10.0.0.3", "server_port": 80})), 0);
    assert_eq!(count(json!({"server_ip": ""})), 2, "mcpcap: an empty address is no filter");
    // analyze_tcp_retransmissions filters on the port like its siblings.
    let ranked = run("analyze_tcp_retransmissions", json!({"server_port": 443}), &cap);
    assert_eq!(ranked["summary"]["connections"], 1);
    assert_eq!(ranked["filter"], json!({"server_ip": null, "server_port": 443}));
    let r = run("analyze_tcp_connections", json!({"server_ip": "10.0.0.3"}), &cap);
    assert_eq!(r["filter"], json!({"server_ip": "10.0.0.3", "server_port": null}));
    assert_eq!(r["tcp_packets_found"], 7);
    for (tool, params, field) in [
        ("analyze_tcp_connections", json!({"server_ip": "10.0.0.300"}), "server_ip"),
        ("analyze_tcp_anomalies", json!({"server_ip": 17}), "server_ip"),
        ("analyze_tcp_connections", json!({"server_port": 70000}), "server_port"),
        ("analyze_traffic_flow", json!({"server_ip": "10.0.0.2", "server_port": "80"}), "server_port"),
        ("analyze_traffic_flow", json!({}), "server_ip"),
        ("analyze_tcp_retransmissions", json!({"threshold": -1}), "threshold"),
        // 5 meant as 5 %: refused with the hint, not taken as 500 %.
        ("analyze_tcp_retransmissions", json!({"threshold": 5}), "0.05 for 5 %"),
        ("analyze_tcp_retransmissions", json!({"server_port": 0}), "server_port"),
        ("analyze_tcp_connections", json!({"detailed": "yes"}), "detailed"),
        ("analyze_tcp_connections", json!({"limit": 5000}), "limit"),
        ("analyze_tcp_anomalies", json!({"limit": 5}), "limit"),
        ("analyze_tcp_connections", json!({"max_packets": 0}), "max_packets"),
    ] {
        match run_tool::<Tcp>(tool, params.clone(), &cap) {
            Err(RunError::BadParams(m)) => assert!(m.contains(field), "{tool} {params}: {m}"),
            other => panic!("{tool} {params}: expected BadParams, got {other:?}"),
        }
    }
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.3"}), &cap);
    assert_eq!(flow["server"], "10.0.0.3:any");
    assert_eq!(flow["client_to_server"]["packet_count"], 2);
    assert_eq!(flow["server_to_client"]["packet_count"], 2);
    assert_eq!(flow["server_to_client"]["rst_count"], 1);
    assert_eq!(flow["analysis"]["primary_rst_source"], "server");
    assert_eq!(flow["connections"]["total"], 1);
    let v6 = run("analyze_traffic_flow", json!({"server_ip": "2001:db8::2", "server_port": 443}), &cap);
    assert_eq!(v6["server"], "[2001:db8::2]:443");
    assert_eq!(v6["message"], "No TCP packets to or from this server");
    // No data, no verdict (issue #20: "Balanced RST distribution" for a server never seen).
    assert_eq!(v6["analysis"]["primary_rst_source"], "none", "{}", v6["analysis"]);
    assert!(v6["analysis"]["interpretation"].as_str().unwrap().contains("nothing to judge"), "{}", v6["analysis"]);
    assert_eq!(v6["analysis"]["data_flow_direction"], "none");
    let quiet = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &Cap::new().handshake(C, S).build());
    assert_eq!(quiet["analysis"]["primary_rst_source"], "none", "no RST either way: {}", quiet["analysis"]);
}

/// The direction of the data goes by payload bytes, not packets: a
/// download is few large server segments against many client ACKs.
#[test]
fn data_flow_direction_is_by_payload_bytes() {
    let mut cap = Cap::new();
    cap.handshake(C, S).tcp(C, S, 101, 501, "PA", 100);
    let mut client_seq = 201;
    for i in 0..3u32 {
        cap.tcp(S, C, 501 + i * 1400, client_seq, "A", 1400);
        for _ in 0..3 {
            cap.tcp(C, S, client_seq, 501 + (i + 1) * 1400, "PA", 1);
            client_seq += 1;
        }
    }
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &cap.build());
    let (to, from) = (&flow["client_to_server"], &flow["server_to_client"]);
    assert!(to["packet_count"].as_u64() > from["packet_count"].as_u64(), "{flow}");
    assert_eq!(flow["analysis"]["data_flow_direction"], "server_heavy", "{}", flow["analysis"]);
    // Handshakes only: no data either way.
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &Cap::new().handshake(C, S).build());
    assert_eq!(flow["analysis"]["data_flow_direction"], "none");
    assert_eq!(crate::tool_flow::data_flow_direction(0, 10), "server_heavy", "the client sent nothing");
    assert_eq!(crate::tool_flow::data_flow_direction(10, 0), "client_heavy");
    assert_eq!(crate::tool_flow::data_flow_direction(10, 11), "balanced");
}

#[test]
fn rst_direction_by_role_or_by_server_ip() {
    let cap = Cap::new()
        .tcp(C, S, 100, 0, "S", 0)
        .tcp(S, C, 0, 101, "RA", 0)
        .handshake(([10, 0, 0, 9], 4000), S)
        .tcp(([10, 0, 0, 9], 4000), S, 101, 501, "RA", 0)
        .build();
    let r = run("analyze_tcp_anomalies", json!({}), &cap);
    let d = &r["statistics"]["rst_distribution"];
    assert_eq!(d["by_direction"], json!({"to_server": 1, "from_server": 1, "unknown": 0}));
    assert_eq!(d["by_source"], json!({"10.0.0.2": 1, "10.0.0.9": 1}));
    assert_eq!(d["connections_with_rst_total"], 2);
    let r = run("analyze_tcp_anomalies", json!({"server_ip": "10.0.0.9"}), &cap);
    assert_eq!(r["statistics"]["rst_distribution"]["by_direction"]["from_server"], 1);
    assert_eq!(r["statistics"]["rst_distribution"]["direction_from"], "server_ip");
}

#[test]
fn paging_and_max_packets() {
    let mut cap = Cap::new();
    for i in 0..30u16 {
        cap.tcp(([10, 0, 1, i as u8], 30000 + i), S, 1, 0, "S", 0);
    }
    let cap = cap.build();
    let r = run("analyze_tcp_connections", json!({"limit": 10, "offset": 25}), &cap);
    assert_eq!(r["pagination"], json!({"total": 30, "returned": 5, "offset": 25, "limit": 10}));
    assert_eq!(r["connections"][0]["connection_id"], 25);
    assert_eq!(r["connections"][0]["client"], "10.0.1.25:30025");
    assert!(r.get("summary").is_none(), "a later page leaves the summary to the first");
    let first = run("analyze_tcp_connections", json!({}), &cap);
    let page = pcapsule_guest::conventions::DEFAULT_PAGE_LIMIT;
    assert_eq!(first["connections"].as_array().unwrap().len(), page, "the one default page size");
    assert_eq!(first["pagination"]["next_offset"], page);
    assert_eq!(first["summary"]["total_connections"], 30);
    let detailed = run("analyze_tcp_connections", json!({"detailed": true}), &cap);
    assert_eq!(detailed["connections"].as_array().unwrap().len(), page, "detailed or not");
    let ranked = run("analyze_tcp_retransmissions", json!({}), &cap);
    assert_eq!(ranked["by_connection"].as_array().unwrap().len(), page, "ranked lists too");
    let capped = run("analyze_tcp_connections", json!({"max_packets": 7}), &cap);
    assert_eq!(capped["summary"]["total_connections"], 7);
    assert_eq!(capped["truncated"], true);
    assert_eq!(capped["packets_analyzed"], 7);
    let ranked = run("analyze_tcp_retransmissions", json!({"limit": 4, "offset": 28}), &cap);
    assert_eq!(ranked["pagination"], json!({"total": 30, "returned": 2, "offset": 28, "limit": 4}));
    assert!(matches!(
        run_tool::<Tcp>("analyze_tcp_retransmissions", json!({"offset": 9999, "limit": 10}), &cap),
        Err(RunError::BadParams(m)) if m.contains("offset")
    ));
}

#[test]
fn scans_and_floods_are_observed() {
    let scanner: Ep = ([192, 0, 2, 66], 61000);
    let mut cap = Cap::new();
    // A SYN scan of 30 ports: 2 open (SYN-ACK, then the scanner resets), 20 closed (RST), 8 filtered.
    for port in 1..=30u16 {
        let target: Ep = ([10, 0, 0, 2], port);
        cap.tcp(scanner, target, 7, 0, "S", 0);
        if port <= 2 {
            cap.tcp(target, scanner, 50, 8, "SA", 0).tcp(scanner, target, 8, 0, "R", 0);
        } else if port <= 22 {
            cap.tcp(target, scanner, 0, 8, "RA", 0);
        }
    }
    // A sweep of port 22 over 25 hosts, nobody answering.
    for host in 1..=25u8 {
        cap.tcp(([192, 0, 2, 77], 62000), ([10, 1, 0, host], 22), 9, 0, "S", 0);
    }
    // 150 spoofed SYNs to one web server.
    for i in 0..150u32 {
        cap.tcp(([198, 51, (i >> 8) as u8, i as u8], 1024 + i as u16), ([10, 0, 0, 80], 443), i, 0, "S", 0);
    }
    let r = run("analyze_tcp_anomalies", json!({}), &cap.build());
    let find = |name: &str| {
        r["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pattern"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let scan = &find("port_scan")["observations"]["scans"][0];
    assert_eq!(scan["source"], "192.0.2.66");
    assert_eq!(scan["target"], "10.0.0.2");
    assert_eq!(scan["distinct_ports"], 30);
    assert_eq!(scan["outcomes"], json!({"attempts": 30, "answered": 2, "rejected": 20, "unanswered": 8}));
    let sweep = &find("host_sweep")["observations"]["sweeps"][0];
    assert_eq!((sweep["port"].as_u64(), sweep["distinct_hosts"].as_u64()), (Some(22), Some(25)));
    let flood = &find("possible_syn_flood")["observations"]["targets"][0];
    assert_eq!(flood, &json!({"server": "10.0.0.80:443", "unanswered": 150}));
    let unanswered = &find("unanswered_syns")["observations"];
    assert_eq!(unanswered["unanswered"], 8 + 25 + 150);
    assert_eq!(r["statistics"]["conn_states"]["RSTO"], 2);
    assert_eq!(r["statistics"]["conn_states"]["REJ"], 20);
    assert_eq!(r["statistics"]["conn_states"]["S0"], 8 + 25 + 150);
    let notable: Vec<&str> =
        r["summary"]["notable_observations"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert!(notable.contains(&"port_scan") && notable.contains(&"possible_syn_flood"), "{notable:?}");
    // The one shape of observations: the largest case is the first example.
    let observed = |kind: &str| {
        r["summary"]["notable_observations"].as_array().unwrap().iter().find(|n| n["type"] == kind).unwrap().clone()
    };
    assert_eq!(observed("possible_syn_flood")["examples"][0], *flood);
    assert_eq!(observed("port_scan")["examples"][0], find("port_scan")["observations"]["scans"][0]);
    assert_eq!(r["summary"]["by_category"]["security"], 3);
}

#[test]
fn a_syn_flood_stays_within_the_connection_table() {
    let n = tracker::MAX_LIVE_CONNECTIONS as u32 * 2 + 1234;
    let mut pcap = PcapBuilder::ethernet();
    let mut frame = Vec::new();
    for i in 0..n {
        frame.clear();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([100, (i >> 16) as u8, (i >> 8) as u8, i as u8], [10, 0, 0, 80], 64)
            .tcp(1024 + (i % 60000) as u16, 80, i, 1024)
            .syn()
            .write(&mut frame, &[])
            .unwrap();
        pcap = pcap.packet(i / 1000, i % 1000 * 1000, &frame);
    }
    let cap = pcap.build();
    for tool in ["analyze_tcp_connections", "analyze_tcp_anomalies", "analyze_tcp_retransmissions"] {
        let r = run(tool, json!({}), &cap);
        let size = r.to_string().len();
        assert!(size < 100_000, "{tool}: {size} bytes");
        let t = &r["tracking"];
        assert_eq!(t["connections"], n);
        assert!(t["peak_live_connections"].as_u64().unwrap() <= tracker::MAX_LIVE_CONNECTIONS as u64);
        assert!(t["evicted_open"].as_u64().unwrap() > 0);
        assert!(r["warnings"][0].as_str().unwrap().contains("still open"), "{}", r["warnings"]);
    }
    let r = run("analyze_tcp_anomalies", json!({}), &cap);
    assert_eq!(r["statistics"]["conn_states"]["S0"], n, "evicted connections are still counted");
    assert_eq!(r["statistics"]["connection_attempts"]["unanswered"], n);
}

#[test]
fn eviction_prefers_closed_then_idle_connections() {
    struct Finished(Vec<(u64, bool)>);
    impl Sink for Finished {
        fn segment(&mut self, _: &Connection, _: usize, _: &Segment, _: u32) {}
        fn finished(&mut self, c: &Connection) {
            self.0.push((c.id, c.evicted));
        }
    }
    let mut cap = Cap::new();
    // Connection 0 stays busy, 1 closes with a RST, 2 and 3 go idle.
    for i in 0..4u8 {
        cap.tcp(([10, 0, 0, 10 + i], 1000), S, 1, 0, "S", 0);
    }
    cap.tcp(([10, 0, 0, 11], 1000), S, 2, 0, "R", 0).tcp(([10, 0, 0, 10], 1000), S, 1, 0, "S", 0);
    cap.tcp(([10, 0, 0, 20], 1000), S, 1, 0, "S", 0);
    let bytes = cap.build();
    let mut reader = pcapsule_guest::CaptureReader::new(&bytes[..]).unwrap();
    let mut t = tracker::Tracker::new(4);
    let mut sink = Finished(Vec::new());
    while let Some(p) = reader.next_packet().unwrap() {
        if let segment::Parsed::Tcp(s) = segment::parse(&p, &pcapsule_guest::decode::decode(p.link_type, p.data)) {
            t.segment(&s, &mut sink);
        }
    }
    // The fifth connection found the table full: the closed one and the idlest open one went.
    assert_eq!(sink.0, vec![(1, true), (2, true)]);
    assert_eq!(t.live(), 3);
    assert_eq!((t.stats.evicted_closed, t.stats.evicted_open), (1, 1));
    t.finish(&mut sink);
    assert_eq!(sink.0.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2, 0, 3, 4]);
}

#[test]
fn closed_connections_leave_the_table_after_their_linger() {
    struct Finished(Vec<u64>);
    impl Sink for Finished {
        fn segment(&mut self, _: &Connection, _: usize, _: &Segment, _: u32) {}
        fn finished(&mut self, c: &Connection) {
            assert!(!c.evicted, "a linger is not an eviction");
            self.0.push(c.id);
        }
    }
    let linger_ms = tracker::CLOSED_LINGER_SECS as u64 * 1000;
    let mut cap = Cap::new();
    // One connection per second for four lingers: each closes with a RST at
    // once, except one that stays open.
    let seconds = 4 * tracker::CLOSED_LINGER_SECS as u64;
    for i in 0..seconds {
        let client = ([10, 0, (i >> 8) as u8, i as u8], 2000);
        cap.at(i * 1000).tcp(client, S, 1, 0, "S", 0);
        if i != 3 {
            cap.tcp(S, client, 0, 2, "RA", 0);
        }
    }
    let bytes = cap.build();
    let mut reader = pcapsule_guest::CaptureReader::new(&bytes[..]).unwrap();
    let mut t = tracker::Tracker::new(1000);
    let mut sink = Finished(Vec::new());
    while let Some(p) = reader.next_packet().unwrap() {
        if let segment::Parsed::Tcp(s) = segment::parse(&p, &pcapsule_guest::decode::decode(p.link_type, p.data)) {
            t.segment(&s, &mut sink);
        }
    }
    // About one linger (plus a sweep interval) of closed connections remain,
    // and the open one; everything older was finished.
    assert!(t.live() as u64 <= linger_ms / 1000 + 7, "{} live", t.live());
    assert!(sink.0.len() as u64 >= seconds - linger_ms / 1000 - 7, "{} finished", sink.0.len());
    assert!(!sink.0.contains(&3), "an open connection is never lingered out");
    assert_eq!(t.stats.evicted_closed, sink.0.len() as u64);
    assert_eq!(t.stats.evicted_open, 0);
    assert!(t.stats.peak_live as u64 <= linger_ms / 1000 + 7, "peak {}", t.stats.peak_live);
}

#[test]
fn unanswered_attempts_leave_after_the_retry_window_but_idle_open_connections_stay() {
    let unanswered = ([10, 0, 0, 1], 3000);
    let idle = ([10, 0, 0, 2], 3000);
    let mut cap = Cap::new();
    cap.tcp(unanswered, S, 1, 0, "S", 0).at(3000).tcp(unanswered, S, 1, 0, "S", 0);
    cap.handshake(idle, S);
    // Other traffic carries capture time past the window.
    let window = tracker::UNANSWERED_ATTEMPT_SECS as u64 * 1000;
    for i in 0..30u64 {
        cap.at(window + 10_000 + i * 1000).tcp(([10, 0, 1, i as u8], 4000), S, 1, 0, "S", 0);
    }
    let r = run("analyze_tcp_connections", json!({"detailed": true}), &cap.build());
    assert_eq!(r["tracking"]["expired_attempts"], 1, "{}", r["tracking"]);
    assert_eq!(r["summary"]["total_connections"], 32);
    let first = &r["connections"][0];
    assert_eq!(first["packet_count"], 2, "the retried SYN stayed in its attempt: {first}");
    assert_eq!(first["evicted"], false);
}

/// Each tool returns its schema's required fields and mcpcap's (the
/// result's shape is its type's; the generic schema test in runtime/tests
/// validates every key).
#[test]
fn every_tool_returns_its_required_and_mcpcaps_fields() {
    let mut cap = Cap::new();
    cap.handshake(C, S).tcp(S, C, 501, 101, "RA", 0);
    for port in 1..=25u16 {
        cap.tcp(([192, 0, 2, 66], 61000), ([10, 0, 0, 2], port), 7, 0, "S", 0);
        cap.tcp(([192, 0, 2, 67], 61000), ([10, 0, 1, port as u8], 22), 7, 0, "S", 0);
    }
    let mut bytes = cap.build();
    // Append the troubled connection's packets (after its pcap header).
    bytes.extend_from_slice(&troubled()[24..]);
    let description = Tcp::describe();
    for tool in &description.tools {
        let params = match tool.name {
            "analyze_traffic_flow" => json!({"server_ip": "10.0.0.2"}),
            "analyze_tcp_connections" => json!({"detailed": true}),
            _ => json!({}),
        };
        let r = run(tool.name, params, &bytes);
        for key in tool.result_schema["required"].as_array().unwrap() {
            assert!(r.get(key.as_str().unwrap()).is_some(), "{}: {key} missing", tool.name);
        }
    }
    // mcpcap's fields are all there.
    let c = run("analyze_tcp_connections", json!({}), &bytes);
    for key in [
        "file",
        "analysis_timestamp",
        "total_packets",
        "tcp_packets_found",
        "filter",
        "summary",
        "connections",
        "issues",
    ] {
        assert!(c.get(key).is_some(), "{key}");
    }
    let a = run("analyze_tcp_anomalies", json!({}), &bytes);
    let kinds: BTreeSet<&str> =
        a["patterns"].as_array().unwrap().iter().map(|p| p["pattern"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 8, "the capture should show most patterns: {kinds:?}");
}

#[test]
fn prompts_name_real_result_fields() {
    let d = Tcp::describe();
    let names: Vec<&str> = d.prompts.iter().map(|p| p.name).collect();
    assert_eq!(names, ["tcp_connection_troubleshooting", "tcp_security_analysis"]);
    let schemas: String = d.tools.iter().map(|t| t.result_schema.to_string()).collect();
    for p in &d.prompts {
        for field in p.text.split('`').skip(1).step_by(2) {
            let last = field.rsplit('.').next().unwrap();
            assert!(schemas.contains(&format!("\"{last}\"")), "{}: `{field}` is not a result field", p.name);
        }
    }
}

/// One pass over several calls must answer each exactly as a call of its own.
fn assert_one_pass_matches_one_by_one(calls: &[(&str, Value)], capture: &[u8], what: &str) {
    let together = run_tools::<Tcp>(calls, capture);
    assert_eq!(together.len(), calls.len(), "{what}");
    for ((tool, params), shared) in calls.iter().zip(together) {
        let alone = run_tool::<Tcp>(tool, params.clone(), capture);
        assert_eq!(without_timestamp(shared), without_timestamp(alone), "{what}: {tool} {params}");
    }
}

#[test]
fn one_pass_answers_each_call_as_if_it_ran_alone() {
    let other_server: Ep = ([10, 0, 0, 3], 443);
    let mut cap = Cap::new();
    cap.handshake(C, other_server).tcp(other_server, C, 501, 101, "R", 0);
    let mut capture = troubled();
    // The second connection's packets, appended after the first's.
    let extra = cap.build();
    capture.extend_from_slice(&extra[24..]);
    let calls = [
        ("analyze_tcp_connections", json!({"detailed": true})),
        ("analyze_tcp_anomalies", json!({})),
        ("analyze_tcp_retransmissions", json!({"threshold": 0})),
        // A filter and a budget of their own: separate lanes of the same read.
        ("analyze_traffic_flow", json!({"server_ip": "10.0.0.3"})),
        ("analyze_tcp_connections", json!({"max_packets": 4})),
        // A bad call fails alone.
        ("analyze_tcp_retransmissions", json!({"threshold": -1})),
    ];
    assert_one_pass_matches_one_by_one(&calls, &capture, "synthetic");
    let together = run_tools::<Tcp>(&calls, &capture);
    assert_eq!(together[0].as_ref().unwrap()["summary"]["total_connections"], 2);
    assert_eq!(together[3].as_ref().unwrap()["connections"]["total"], 1, "{:?}", together[3]);
    assert_eq!(together[4].as_ref().unwrap()["total_packets"], 4);
    assert!(matches!(together[5], Err(RunError::BadParams(_))));
    // Not a capture: every call gets the reader's error.
    let broken = run_tools::<Tcp>(&calls[..2], b"not a capture at all");
    assert!(broken.iter().all(|r| matches!(r, Err(RunError::UnsupportedFormat(_)))), "{broken:?}");
}

#[test]
fn every_shared_capture_gives_a_result_or_a_clean_error() {
    let Some(dir) = shared_captures() else { return };
    let calls = [
        ("analyze_tcp_connections", json!({"detailed": true})),
        ("analyze_tcp_anomalies", json!({})),
        ("analyze_tcp_retransmissions", json!({})),
        ("analyze_traffic_flow", json!({"server_ip": "10.0.0.1"})),
    ];
    for path in captures_under(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        for (tool, params) in &calls {
            match run_tool::<Tcp>(tool, params.clone(), &bytes) {
                Ok(r) => {
                    let size = r.to_string().len();
                    assert!(size < 100_000, "{}: {tool} returned {size} bytes", path.display());
                }
                Err(RunError::UnsupportedFormat(_) | RunError::Malformed { .. }) => {}
                Err(e) => panic!("{}: {tool}: {e}", path.display()),
            }
        }
        assert_one_pass_matches_one_by_one(&calls, &bytes, &path.display().to_string());
    }
}

/// Wireshark's analysis flags compared with tshark, with our verdict bits.
const ORACLE_FLAGS: [(&str, u32); 8] = [
    ("tcp.analysis.retransmission", verdict::RETRANSMISSION),
    ("tcp.analysis.duplicate_ack", verdict::DUPLICATE_ACK),
    ("tcp.analysis.zero_window", verdict::ZERO_WINDOW),
    ("tcp.analysis.out_of_order", verdict::OUT_OF_ORDER),
    ("tcp.analysis.fast_retransmission", verdict::FAST_RETRANSMISSION),
    ("tcp.analysis.spurious_retransmission", verdict::SPURIOUS_RETRANSMISSION),
    ("tcp.analysis.keep_alive", verdict::KEEP_ALIVE),
    ("tcp.analysis.lost_segment", verdict::LOST_SEGMENT),
];

/// Frames per flag and connections, as the analyzer sees them.
#[derive(Default)]
struct Frames {
    flagged: BTreeMap<&'static str, BTreeSet<u64>>,
    connections: u64,
    /// Each frame's stream number.
    streams: BTreeMap<u64, Option<u64>>,
}

impl Sink for Frames {
    fn segment(&mut self, c: &Connection, _: usize, s: &Segment, v: u32) {
        self.streams.insert(s.number, c.stream);
        for (name, bit) in ORACLE_FLAGS {
            if v & bit != 0 {
                self.flagged.entry(name).or_default().insert(s.number);
            }
        }
    }

    fn finished(&mut self, _: &Connection) {
        self.connections += 1;
    }
}

fn ours(bytes: &[u8]) -> Option<Frames> {
    let budget = PacketBudget::new(None, None).unwrap();
    let lane = scan::lane(budget, Filter::default(), Frames::default());
    let (frames, _) = scan::scan(&mut &bytes[..], vec![lane]).ok()?.pop()?;
    Some(frames)
}

/// `tshark -q -z conv,tcp`: one line per conversation (port reuse included).
fn tshark_conversations(path: &std::path::Path) -> Option<u64> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-q", "-r"])
        .arg(path)
        .args(["-z", "conv,tcp"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("<->")).count() as u64)
}

/// Files where pcapsule differs from tshark by design, and why. None at
/// present: every shared capture matches (TCP in IP fragments, which
/// Wireshark reassembles and pcapsule skips with a warning, would be listed
/// here, as would tunnels other than PPPoE).
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

/// Flags per frame from tshark for one capture file: (frame, flag index) pairs.
fn tshark_flags(path: &std::path::Path) -> Option<BTreeMap<&'static str, BTreeSet<u64>>> {
    let fields: Vec<&str> = std::iter::once("frame.number").chain(ORACLE_FLAGS.iter().map(|(n, _)| *n)).collect();
    let rows = tshark_fields(path, "tcp", &fields)?;
    let mut out = BTreeMap::new();
    for (i, (flag, _)) in ORACLE_FLAGS.iter().enumerate() {
        let frames: BTreeSet<u64> = rows
            .iter()
            .filter(|r| r.get(i + 1).is_some_and(|v| !v.is_empty()))
            .map(|r| r[0].parse().unwrap())
            .collect();
        if !frames.is_empty() {
            out.insert(*flag, frames);
        }
    }
    Some(out)
}

#[test]
fn synthetic_anomalies_match_tshark() {
    // Zero windows and probes occur in none of the shared captures: check
    // the built ones against tshark too.
    let mut zero = Cap::new();
    zero.handshake(C, S)
        .tcp(C, S, 101, 501, "PA", 100)
        .tcp_win(S, C, 501, 201, "A", 0, 0)
        .tcp_win(S, C, 501, 201, "A", 0, 0)
        .at(400)
        .tcp(C, S, 201, 501, "A", 1)
        .tcp_win(S, C, 501, 201, "A", 0, 0)
        .tcp_win(S, C, 501, 201, "A", 0, 4096)
        .tcp(C, S, 201, 501, "PA", 100)
        .tcp(S, C, 501, 301, "A", 0)
        .at(9000)
        .tcp(C, S, 300, 501, "A", 0)
        .tcp(S, C, 501, 301, "A", 0);
    for (name, bytes) in [("troubled", troubled()), ("zero-window", zero.build())] {
        let path = std::env::temp_dir().join(format!("pcapsule-tcp-{}-{name}.pcap", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let theirs = tshark_flags(&path);
        std::fs::remove_file(&path).ok();
        let Some(theirs) = theirs else {
            eprintln!("skipping: tshark is not installed");
            return;
        };
        assert_eq!(ours(&bytes).unwrap().flagged, theirs, "{name}");
        let seen: Vec<&str> = theirs.keys().copied().collect();
        assert!(
            seen.contains(&"tcp.analysis.zero_window") && seen.contains(&"tcp.analysis.keep_alive"),
            "{name}: {seen:?}"
        );
    }
}

#[test]
fn counts_match_tshark_on_the_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipping: ../shared/captures is absent");
        return;
    };
    let all = captures_under(&dir);
    if all.is_empty() || tshark_fields(&all[0], "frame", &["frame.number"]).is_none() {
        eprintln!("skipping: tshark is not installed");
        return;
    }
    let fields: Vec<&str> =
        std::iter::once("frame.number").chain(ORACLE_FLAGS.iter().map(|(n, _)| *n)).chain(["tcp.stream"]).collect();
    let (mut compared, mut streams_compared) = (0, 0);
    let mut mismatches = Vec::new();
    // tshark's two runs per capture (the second only where it saw TCP).
    let tshark_answers = in_parallel(&all, |path| {
        let rows = tshark_fields(path, "tcp", &fields)?;
        let conversations = if rows.is_empty() { None } else { Some(tshark_conversations(path)) };
        Some((rows, conversations))
    });
    for (path, answers) in all.iter().zip(tshark_answers) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        let Some(ours) = ours(&bytes) else { continue };
        let Some((rows, conversations)) = answers else { continue };
        if rows.is_empty() && ours.connections == 0 {
            continue;
        }
        let Some(conversations) = conversations.unwrap_or_else(|| tshark_conversations(path)) else { continue };
        let expected = EXPECTED_DIFFERENCES.iter().find(|(f, _)| *f == name);
        let mut problems = Vec::new();
        if ours.connections != conversations {
            problems.push(format!("connections: pcapsule {}, tshark {conversations}", ours.connections));
        }
        for (i, (flag, _)) in ORACLE_FLAGS.iter().enumerate() {
            let theirs: BTreeSet<u64> = rows
                .iter()
                .filter(|r| r.get(i + 1).is_some_and(|v| !v.is_empty()))
                .map(|r| r[0].parse().unwrap())
                .collect();
            let empty = BTreeSet::new();
            let mine = ours.flagged.get(flag).unwrap_or(&empty);
            if *mine != theirs {
                let only_ours: Vec<_> = mine.difference(&theirs).take(10).collect();
                let only_theirs: Vec<_> = theirs.difference(mine).take(10).collect();
                problems.push(format!(
                    "{flag}: pcapsule {}, tshark {} (only pcapsule: {only_ours:?}, only tshark: {only_theirs:?})",
                    mine.len(),
                    theirs.len()
                ));
            }
        }
        // Stream numbers, frame by frame, where tshark numbered only the
        // headers the tool reads: its numbers there run 0, 1, ... without
        // holes (a tunnel's outer TCP header, or one an ICMP error quotes
        // for a flow never seen, takes a number in tshark only).
        let their_streams: BTreeMap<u64, Option<u64>> = rows
            .iter()
            .map(|r| (r[0].parse().unwrap(), r[fields.len() - 1].parse().ok()))
            .filter(|(frame, _)| ours.streams.contains_key(frame))
            .collect();
        let numbers: BTreeSet<u64> = their_streams.values().flatten().copied().collect();
        if numbers.iter().copied().eq(0..numbers.len() as u64) {
            streams_compared += 1;
            if their_streams != ours.streams {
                let differ: Vec<_> =
                    ours.streams.iter().filter(|(f, s)| their_streams.get(f) != Some(s)).take(5).collect();
                problems.push(format!("tcp.stream differs at (frame, pcapsule's stream) {differ:?}"));
            }
        }
        compared += 1;
        match (expected, problems.is_empty()) {
            (None, false) => mismatches.push(format!("{name}: {}", problems.join("; "))),
            (Some((_, why)), true) => mismatches.push(format!("{name}: listed as differing ({why}) but matches")),
            _ => {}
        }
    }
    assert!(mismatches.is_empty(), "differences from tshark:\n{}", mismatches.join("\n"));
    assert!(compared >= 40, "compared only {compared} files");
    assert!(streams_compared >= 40, "compared stream numbers in only {streams_compared} files");
}

/// The generated fixtures with one handshake and a data segment in each
/// encapsulation and on each link type the packet path decodes
/// (fixtures/src/encapsulated.rs, link_types.rs): every connection is seen,
/// through its encapsulation, and tshark finds as many SYN-ACKs.
#[test]
fn handshakes_inside_every_encapsulation_and_link_type_of_the_fixtures() {
    let syn_ack = "tcp.flags.syn == 1 && tcp.flags.ack == 1";
    let connections = |bytes: &[u8]| run("analyze_tcp_connections", json!({}), bytes);
    pcapsule_guest::testing::check_exchange_fixtures("tcp", syn_ack, connections, |fixture| {
        let (s, n) = (&fixture.result["summary"], fixture.cases);
        assert_eq!(s["total_connections"], n, "{}: {s}", fixture.name);
        assert_eq!(s["successful_handshakes"], n, "{}: {s}", fixture.name);
        assert_eq!(s["payload_bytes"]["client_to_server"], 48 * n, "{}: every data segment: {s}", fixture.name);
    });
}

/// A RST in the server's name that arrives before the real SYN-ACK, with
/// another TTL (the classic forged reset), is flagged as likely not the
/// server's in every tool, and the handshake that follows still completes;
/// a RST with the server's own TTL and nothing after it is a refusal.
#[test]
fn a_forged_rst_is_told_from_a_refusal() {
    let forged = Cap::new()
        .ttl(64)
        .tcp(C, S, 100, 0, "S", 0)
        .ttl(250)
        .tcp(S, C, 0, 101, "RA", 0)
        .at(1300)
        .ttl(52)
        .tcp(S, C, 500, 101, "SA", 0)
        .ttl(64)
        .tcp(C, S, 101, 501, "A", 0)
        .ttl(52)
        .tcp(S, C, 501, 101, "PA", 100)
        .build();
    let c = &connections(&forged)[0];
    assert_eq!(c["handshake_completed"], true, "{c}");
    let suspicious = &c["suspicious_rst"];
    assert_eq!(suspicious["from"], "server", "{c}");
    assert_eq!((suspicious["frame"].as_u64(), suspicious["ttl"].as_u64()), (Some(2), Some(250)));
    assert_eq!(suspicious["other_packets_ttl"], json!([52, 52]));
    assert_eq!(suspicious["sent_after_rst"], 2, "the SYN-ACK and the data");
    let reason = suspicious["reason"].as_str().unwrap();
    assert!(reason.contains("TTL 250") && reason.contains("after it"), "{reason}");
    let summary = run("analyze_tcp_connections", json!({}), &forged);
    assert_eq!(summary["summary"]["suspicious_rst_connections"], 1);
    let anomalies = run("analyze_tcp_anomalies", json!({}), &forged);
    let types: Vec<&Value> =
        anomalies["summary"]["notable_observations"].as_array().unwrap().iter().map(|o| &o["type"]).collect();
    assert!(types.contains(&&json!("possible_injected_rst")), "{types:?}");
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &forged);
    let said = flow["analysis"]["interpretation"].as_str().unwrap();
    assert!(said.contains("likely not the server's") && !said.contains("closed port"), "{said}");

    // Only the TTL gives it away: the server's data, then a RST from far off.
    let late = Cap::new().handshake(C, S).tcp(S, C, 501, 101, "PA", 100).ttl(120).tcp(S, C, 601, 101, "RA", 0).build();
    let c = &connections(&late)[0];
    assert_eq!(
        (c["suspicious_rst"]["ttl"].as_u64(), c["suspicious_rst"]["sent_after_rst"].as_u64()),
        (Some(120), Some(0))
    );

    // A real refusal, and a real reset after data: nothing suspicious.
    let refused = Cap::new().tcp(C, S, 100, 0, "S", 0).tcp(S, C, 0, 101, "RA", 0).build();
    let late_but_real = Cap::new().handshake(C, S).tcp(S, C, 501, 101, "PA", 100).tcp(S, C, 601, 101, "RA", 0).build();
    for capture in [&refused, &late_but_real] {
        let c = &connections(capture)[0];
        assert!(c.get("suspicious_rst").is_none(), "{c}");
    }
    let flow = run("analyze_traffic_flow", json!({"server_ip": "10.0.0.2"}), &refused);
    assert!(flow["analysis"]["interpretation"].as_str().unwrap().contains("closed port"), "{flow}");
}
