//! Tests on captures built in memory, and the tshark cross-check on the
//! shared captures.

use std::collections::BTreeMap;

use etherparse::PacketBuilder;
use pcapsule_guest::testing::{
    PcapBuilder, captures_under, in_parallel, run_tool, shared_captures, tshark_fields, tshark_fields_with,
};
use serde_json::{Value, json};

use super::*;

const ALICE: [u8; 4] = [10, 0, 0, 1];
const BOB: [u8; 4] = [10, 0, 0, 2];
const PROXY: [u8; 4] = [10, 0, 0, 9];

use pcapsule_guest::testing::udp_frame as udp;

fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535)
        .write(&mut out, payload)
        .unwrap();
    out
}

fn run(capture: &[u8], params: Value) -> Value {
    run_tool::<Sip>("analyze_sip_packets", params, capture).unwrap()
}

const SDP: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// A request or response between Alice (caller) and Bob, with a body.
fn sip(start: &str, call_id: &str, cseq: &str, from_tag: &str, to_tag: &str, body: &str) -> Vec<u8> {
    let to_tag = if to_tag.is_empty() { String::new() } else { format!(";tag={to_tag}") };
    let content_type = if body.is_empty() { "" } else { "Content-Type: application/sdp\r\n" };
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{cseq_n}\r\nFrom: \"Alice\" <sip:alice@example.com>;tag={from_tag}\r\n\
To: <sip:bob@example.com>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nUser-Agent: TestPhone/1.0\r\n\
Contact: <sip:alice@10.0.0.1>\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len(),
        cseq_n = cseq.split(' ').next().unwrap(),
    )
    .into_bytes()
}

#[test]
fn a_full_call_with_timing_outcome_and_hangup() {
    let id = "call-1@10.0.0.1";
    let capture = PcapBuilder::ethernet()
        .packet(
            100,
            0,
            &udp(ALICE, BOB, 5060, 5060, &sip("INVITE sip:bob@example.com SIP/2.0", id, "1 INVITE", "a1", "", SDP)),
        )
        .packet(100, 10_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 100 Trying", id, "1 INVITE", "a1", "", "")))
        .packet(100, 500_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 180 Ringing", id, "1 INVITE", "a1", "b1", "")))
        .packet(103, 0, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 200 OK", id, "1 INVITE", "a1", "b1", SDP)))
        .packet(
            103,
            20_000,
            &udp(ALICE, BOB, 5060, 5060, &sip("ACK sip:bob@10.0.0.2 SIP/2.0", id, "1 ACK", "a1", "b1", "")),
        )
        // Bob hangs up: in his BYE the From carries his tag.
        .packet(
            163,
            0,
            &udp(BOB, ALICE, 5060, 5060, &sip("BYE sip:alice@10.0.0.1 SIP/2.0", id, "1 BYE", "b1", "a1", "")),
        )
        .packet(163, 5_000, &udp(ALICE, BOB, 5060, 5060, &sip("SIP/2.0 200 OK", id, "1 BYE", "b1", "a1", "")))
        .build();
    let r = run(&capture, json!({}));
    let s = &r["statistics"];
    assert_eq!(r["sip_packets_found"], 7);
    assert_eq!(s["requests"], 3);
    assert_eq!(s["responses"], 4);
    assert_eq!(s["methods"], json!({"ACK": 1, "BYE": 1, "INVITE": 1}));
    assert_eq!(s["response_classes"], json!({"1xx": 2, "2xx": 2}));
    assert_eq!(s["response_codes"], json!({"100": 1, "180": 1, "200": 2}));
    assert_eq!(s["unique_call_ids"], 1);
    assert_eq!(s["call_ids"], json!([id]));
    assert_eq!(s["transports"], json!({"UDP": 7}));
    assert_eq!(s["user_agents"], json!(["TestPhone/1.0"]));
    assert_eq!(s["codecs"], json!({"PCMA/8000": 2, "PCMU/8000": 2, "TELEPHONE-EVENT/8000": 2}));
    let calls = &r["calls"];
    assert_eq!(calls["outcomes"], json!({"answered": 1}));
    assert_eq!(calls["post_dial_delay_ms"]["avg"], 500.0);
    assert_eq!(calls["time_to_answer_ms"]["avg"], 3000.0);
    assert_eq!(calls["duration_seconds"]["avg"], 60.0);
    assert_eq!(calls["hung_up_by"], json!({"callee": 1}));
    let dialog = &r["dialogs"]["items"][0];
    assert_eq!(dialog["call"]["outcome"], "answered");
    assert_eq!(dialog["call"]["final_code"], 200);
    assert_eq!(dialog["call"]["bye_packet"], 6);
    assert_eq!(dialog["from"], "sip:alice@example.com");
    let ladder: Vec<&str> =
        dialog["ladder"].as_array().unwrap().iter().map(|s| s["message"].as_str().unwrap()).collect();
    assert_eq!(
        ladder,
        ["INVITE", "100 Trying (INVITE)", "180 Ringing (INVITE)", "200 OK (INVITE)", "ACK", "BYE", "200 OK (BYE)"]
    );
    assert_eq!(dialog["ladder"][3]["offset_ms"], 3000.0);
    assert_eq!(dialog["ladder"][0]["source"], "10.0.0.1:5060");
    let invite = &r["packets"][0];
    assert_eq!(invite["method"], "INVITE");
    assert_eq!(invite["request_uri"], "sip:bob@example.com");
    assert_eq!(invite["sip_version"], "SIP/2.0");
    assert_eq!(invite["message_type"], "request");
    assert_eq!(invite["known_sip_port"], true);
    assert_eq!(invite["content_length"], SDP.len());
    assert_eq!(invite["body_length"], SDP.len());
    assert_eq!(invite["cseq"], "1 INVITE");
    assert_eq!(invite["call_id"], id);
    assert!(invite["headers"].get("call-id").is_none(), "a header shown as a field is not sent twice");
    assert_eq!(invite["sdp"]["media"][0]["port"], 40000);
    assert_eq!(invite["sdp"]["media"][0]["direction"], "sendrecv");
    assert!(invite.get("flags").is_none());
    let ok = &r["packets"][3];
    assert_eq!(ok["status_code"], 200);
    assert_eq!(ok["reason"], "OK");
    assert_eq!(ok["summary"], "200 OK (INVITE)");
}

#[test]
fn a_cancelled_call_and_a_busy_call() {
    let c = "cancel-1";
    let b = "busy-1";
    let capture = PcapBuilder::ethernet()
        .packet(
            1,
            0,
            &udp(ALICE, BOB, 5060, 5060, &sip("INVITE sip:bob@example.com SIP/2.0", c, "1 INVITE", "a", "", "")),
        )
        .packet(1, 100_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 180 Ringing", c, "1 INVITE", "a", "b", "")))
        .packet(
            5,
            0,
            &udp(ALICE, BOB, 5060, 5060, &sip("CANCEL sip:bob@example.com SIP/2.0", c, "1 CANCEL", "a", "", "")),
        )
        .packet(5, 10_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 200 OK", c, "1 CANCEL", "a", "b", "")))
        .packet(
            5,
            20_000,
            &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 487 Request Terminated", c, "1 INVITE", "a", "b", "")),
        )
        .packet(
            5,
            30_000,
            &udp(ALICE, BOB, 5060, 5060, &sip("ACK sip:bob@example.com SIP/2.0", c, "1 ACK", "a", "b", "")),
        )
        .packet(
            6,
            0,
            &udp(ALICE, BOB, 5060, 5060, &sip("INVITE sip:bob@example.com SIP/2.0", b, "1 INVITE", "x", "", "")),
        )
        .packet(6, 1_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 486 Busy Here", b, "1 INVITE", "x", "y", "")))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["calls"]["outcomes"], json!({"busy": 1, "cancelled": 1}));
    assert_eq!(r["calls"]["final_codes"], json!({"486": 1, "487": 1}));
    let call = &r["dialogs"]["items"][0]["call"];
    assert_eq!(call["outcome"], "cancelled");
    assert_eq!(call["final_code"], 487);
    assert_eq!(call["post_dial_delay_ms"], 100.0);
    assert_eq!(call["time_to_answer_ms"], Value::Null);
    assert_eq!(r["statistics"]["response_classes"], json!({"1xx": 1, "2xx": 1, "4xx": 2}));
}

#[test]
fn registrations_with_challenges_and_repeated_failures() {
    let reg = |cseq: u32, from: &str| {
        format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP {from}:5060\r\nFrom: <sip:alice@example.com>;tag=r\r\n\
To: <sip:alice@example.com>\r\nCall-ID: reg-{from}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:alice@{from}>\r\n\
Expires: 3600\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    };
    let resp = |code: &str, cseq: u32, from: &str| {
        format!(
            "SIP/2.0 {code}\r\nVia: SIP/2.0/UDP {from}:5060\r\nFrom: <sip:alice@example.com>;tag=r\r\n\
To: <sip:alice@example.com>;tag=s\r\nCall-ID: reg-{from}\r\nCSeq: {cseq} REGISTER\r\nServer: Registrar/2\r\n\
Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    };
    let mut capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(ALICE, PROXY, 5060, 5060, &reg(1, "10.0.0.1")))
        .packet(1, 1, &udp(PROXY, ALICE, 5060, 5060, &resp("401 Unauthorized", 1, "10.0.0.1")))
        .packet(1, 2, &udp(ALICE, PROXY, 5060, 5060, &reg(2, "10.0.0.1")))
        .packet(1, 3, &udp(PROXY, ALICE, 5060, 5060, &resp("200 OK", 2, "10.0.0.1")));
    let attacker = [203, 0, 113, 66];
    for i in 0..6 {
        capture = capture.packet(2 + i, 0, &udp(attacker, PROXY, 5070, 5060, &reg(i, "203.0.113.66"))).packet(
            2 + i,
            1,
            &udp(PROXY, attacker, 5060, 5070, &resp("403 Forbidden", i, "203.0.113.66")),
        );
    }
    let r = run(&capture.build(), json!({}));
    let regs = &r["registrations"];
    assert_eq!(regs["attempts"], 8);
    assert_eq!(regs["challenges"], 1);
    assert_eq!(regs["successes"], 1);
    assert_eq!(regs["failures"], 6);
    let alice = regs["bindings"].as_array().unwrap().iter().find(|b| b["client"] == "10.0.0.1").unwrap();
    assert_eq!(alice["address_of_record"], "sip:alice@example.com");
    assert_eq!(
        (alice["attempts"].clone(), alice["challenges"].clone(), alice["successes"].clone()),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!(alice["expires"], "3600");
    let attacker_binding = &regs["bindings"][0];
    assert_eq!(attacker_binding["failures"], json!({"403": 6}));
    let obs = r["observations"].as_array().unwrap();
    let failures = obs.iter().find(|o| o["type"] == "repeated_registration_failures").unwrap();
    assert_eq!(
        failures["examples"],
        json!([{"source_ip": "203.0.113.66", "failures": 6, "challenges": 0, "successes": 0}])
    );
    assert_eq!(r["statistics"]["servers"], json!(["Registrar/2"]));
}

#[test]
fn compact_headers_multiple_vias_and_other_ports() {
    let msg = b"MESSAGE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP proxy2:5060;branch=z9hG4bK2\r\n\
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nf: <sip:alice@example.com>;tag=1\r\nt: <sip:bob@example.com>\r\n\
i: compact-1\r\nCSEQ: 7 MESSAGE\r\nm: <sip:alice@10.0.0.1>\r\nc: text/plain\r\nk: path\r\no: presence\r\n\
s: hello\r\ne: gzip\r\nu: talk\r\nl: 2\r\n\r\nhi";
    let capture = PcapBuilder::ethernet().packet(1, 0, &udp(ALICE, BOB, 40000, 9999, msg)).build();
    let r = run(&capture, json!({}));
    let p = &r["packets"][0];
    assert_eq!(p["call_id"], "compact-1");
    assert_eq!(p["from"], "<sip:alice@example.com>;tag=1");
    assert_eq!(p["to"], "<sip:bob@example.com>");
    assert_eq!(p["contact"], "<sip:alice@10.0.0.1>");
    assert_eq!(p["content_type"], "text/plain");
    assert_eq!(p["content_length"], 2);
    assert_eq!(p["cseq"], "7 MESSAGE");
    assert_eq!(p["via"], "SIP/2.0/UDP proxy2:5060;branch=z9hG4bK2", "the top Via");
    assert_eq!(p["via_all"].as_array().unwrap().len(), 2);
    assert_eq!(p["via_all"][1], "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1");
    // Compact forms expanded; the headers shown as fields above are not repeated.
    let names: Vec<&String> = p["headers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["supported", "event", "subject", "content-encoding", "allow-events"]);
    assert_eq!(p["known_sip_port"], false);
    assert_eq!(r["statistics"]["found_on_other_ports"], 1);
    assert!(r["observations"].as_array().unwrap().iter().any(|o| o["type"] == "sip_on_other_ports"));
}

#[test]
fn tcp_two_messages_in_one_segment_and_one_across_two() {
    let a = sip("OPTIONS sip:bob@example.com SIP/2.0", "t-1", "1 OPTIONS", "a", "", "");
    let b = sip("INFO sip:bob@example.com SIP/2.0", "t-1", "2 INFO", "a", "", "");
    let c = sip("INVITE sip:bob@example.com SIP/2.0", "t-2", "1 INVITE", "a", "", SDP);
    let mut first = a.clone();
    first.extend_from_slice(&b);
    let cut = c.len() - 40;
    let seq = 1000u32;
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &tcp(ALICE, BOB, 50000, 5060, seq, &first))
        .packet(1, 1, &tcp(ALICE, BOB, 50000, 5060, seq + first.len() as u32, &c[..cut]))
        .packet(1, 2, &tcp(ALICE, BOB, 50000, 5060, seq + (first.len() + cut) as u32, &c[cut..]))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["statistics"]["transports"], json!({"TCP": 3}));
    assert_eq!(r["statistics"]["methods"], json!({"INFO": 1, "INVITE": 1, "OPTIONS": 1}));
    let frames: Vec<u64> =
        r["packets"].as_array().unwrap().iter().map(|p| p["packet_number"].as_u64().unwrap()).collect();
    assert_eq!(frames, [1, 1, 3], "a message is reported at the frame that completes it");
    assert_eq!(r["packets"][2]["body_length"], SDP.len());
    assert_eq!(r["packets"][2]["sdp"]["media"][0]["codecs"][0], "PCMU/8000");
    assert_eq!(r["statistics"]["malformed_messages"], 0);
}

#[test]
fn malformed_messages_give_flags_not_failures() {
    let long = format!(
        "OPTIONS sip:x@y SIP/2.0\r\nCall-ID: long\r\nCSeq: 1 OPTIONS\r\nX-Long: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(20_000)
    );
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(ALICE, BOB, 5060, 5060, b"OPTIONS sip:x@y SIP/2.0"))
        .packet(
            1,
            1,
            &udp(
                ALICE,
                BOB,
                5060,
                5060,
                b"SIP/2.0 200 OK\r\nCall-ID: lie\r\nCSeq: 1 OPTIONS\r\nContent-Length: 500\r\n\r\nshort",
            ),
        )
        .packet(
            1,
            2,
            &udp(
                ALICE,
                BOB,
                5060,
                5060,
                b"\x00\x01junkREGISTER sip:x SIP/2.0\r\nCall-ID: j\r\nCSeq: 1 REGISTER\r\n\r\n",
            ),
        )
        .packet(1, 3, &udp(ALICE, BOB, 5060, 5060, long.as_bytes()))
        .packet(
            1,
            4,
            &udp(
                ALICE,
                BOB,
                5060,
                5060,
                b"INVITE sip:a@b SIP/2.0\r\nCall-ID: bad\r\nCSeq: 1 INVITE\r\nContent-Length: xyz\r\n\r\n",
            ),
        )
        // Not SIP, even on SIP ports: HTTP, SSDP, binary, keep-alives.
        .packet(2, 0, &udp(ALICE, BOB, 5060, 5060, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        .packet(
            2,
            1,
            &udp(
                ALICE,
                [239, 255, 255, 250],
                1900,
                1900,
                b"NOTIFY * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n\r\n",
            ),
        )
        .packet(2, 2, &udp(ALICE, BOB, 5060, 5060, &[0xff; 40]))
        .packet(2, 3, &udp(ALICE, BOB, 5060, 5060, b"\r\n\r\n"))
        .packet(2, 4, &tcp(ALICE, BOB, 1234, 5060, 1, b"POST /sip SIP/2.0x\r\n\r\n"))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["sip_packets_found"], 5);
    let flags: Vec<Vec<String>> = r["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| serde_json::from_value(p["flags"].clone()).unwrap_or_default())
        .collect();
    assert!(flags[0].contains(&"no_line_terminator".to_string()));
    assert!(flags[1].contains(&"content_length_exceeds_data".to_string()));
    assert!(flags[2].contains(&"junk_before_start_line".to_string()));
    assert!(flags[2].contains(&"missing_content_length".to_string()) || flags[2].len() == 1);
    assert!(flags[3].contains(&"long_header_line".to_string()));
    assert!(flags[4].contains(&"invalid_content_length".to_string()));
    assert_eq!(r["packets"][1]["content_length"], 500);
    assert_eq!(r["packets"][1]["body_length"], 5);
    assert_eq!(r["packets"][2]["method"], "REGISTER");
    assert_eq!(r["packets"][4]["content_length"], Value::Null);
    assert!(r["packets"][3]["headers"]["x-long"].as_str().unwrap().chars().count() <= 1025);
    assert_eq!(r["statistics"]["malformed_messages"], 5);
    assert_eq!(r["statistics"]["malformed_flags"]["no_line_terminator"], 1);
}

#[test]
fn tcp_lying_content_length_and_junk_between_messages() {
    let ok = sip("OPTIONS sip:bob@example.com SIP/2.0", "j-1", "1 OPTIONS", "a", "", "");
    let mut stream = ok.clone();
    stream.extend_from_slice(b"garbage line\r\n");
    stream.extend_from_slice(&ok);
    let lying = b"MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: j-2\r\nCSeq: 3 MESSAGE\r\nContent-Length: 400\r\n\r\nonly this";
    stream.extend_from_slice(lying);
    let mut fin = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(ALICE, BOB, 64)
        .tcp(50000, 5060, 1 + stream.len() as u32, 65535)
        .fin()
        .write(&mut fin, &[])
        .unwrap();
    let capture =
        PcapBuilder::ethernet().packet(1, 0, &tcp(ALICE, BOB, 50000, 5060, 1, &stream)).packet(1, 1, &fin).build();
    let r = run(&capture, json!({}));
    assert_eq!(r["sip_packets_found"], 3);
    assert_eq!(r["packets"][1]["flags"], json!(["junk_before_start_line"]));
    assert_eq!(r["packets"][2]["packet_number"], 2, "reported when the stream ends");
    assert_eq!(r["packets"][2]["flags"], json!(["stream_ended_mid_message"]));
    assert_eq!(r["packets"][2]["body_length"], 9);
    assert_eq!(r["capture"]["tcp_junk_bytes"], 14);
}

#[test]
fn paging_and_max_packets() {
    let mut capture = PcapBuilder::ethernet();
    for i in 0..30u32 {
        let m = sip("OPTIONS sip:bob@example.com SIP/2.0", &format!("p-{i}"), "1 OPTIONS", "a", "", "");
        capture = capture.packet(i, 0, &udp(ALICE, BOB, 5060, 5060, &m));
    }
    let capture = capture.build();
    let r = run(&capture, json!({"limit": 10, "offset": 25}));
    assert_eq!(r["pagination"], json!({"total": 30, "returned": 5, "offset": 25, "limit": 10}));
    assert_eq!(r["packets"][0]["call_id"], "p-25");
    assert!(r.get("statistics").is_none(), "a later page leaves the summary to the first");
    let first = run(&capture, json!({"limit": 10}));
    assert_eq!(first["statistics"]["requests"], 30, "statistics cover every message");
    assert_eq!(first["pagination"]["next_offset"], 10);
    let capped = run(&capture, json!({"max_packets": 7}));
    assert_eq!(capped["statistics"]["requests"], 7);
    assert_eq!(capped["total_packets_in_file"], 7);
    assert_eq!(capped["truncated"], true);
    assert!(matches!(
        run_tool::<Sip>("analyze_sip_packets", json!({"limit": 5000}), &capture),
        Err(RunError::BadParams(_))
    ));
    assert!(matches!(
        run_tool::<Sip>("analyze_sip_packets", json!({"pcap": "x"}), &capture),
        Err(RunError::BadParams(_))
    ));
    let empty = run(&PcapBuilder::ethernet().build(), json!({}));
    assert_eq!(empty["message"], "No SIP messages were found in this capture.");
}

#[test]
fn tables_stay_bounded_under_a_flood() {
    let mut capture = PcapBuilder::ethernet();
    for i in 0..3000u32 {
        let m = format!(
            "INVITE sip:{i}@example.com SIP/2.0\r\nCall-ID: flood-{i}\r\nCSeq: 1 INVITE\r\nUser-Agent: ua-{i}\r\n\
From: <sip:x@y>;tag={i}\r\nTo: <sip:{i}@example.com>\r\nContent-Length: 0\r\n\r\n"
        );
        capture = capture.packet(i, 0, &udp([198, 51, 100, 7], BOB, 5060, 5060, m.as_bytes()));
    }
    let r = run(&capture.build(), json!({"limit": 0}));
    assert_eq!(r["statistics"]["unique_call_ids"], 3000);
    assert_eq!(r["statistics"]["call_ids"].as_array().unwrap().len(), 50);
    assert_eq!(r["statistics"]["user_agents"].as_array().unwrap().len(), 50);
    assert_eq!(r["statistics"]["tables_exact"], false);
    assert_eq!(r["calls"]["dialogs_tracked"], 1000);
    assert_eq!(r["calls"]["dialogs_untracked"], 2000);
    assert_eq!(r["dialogs"]["items"].as_array().unwrap().len(), 10);
    assert!(r.to_string().len() <= pcapsule_guest::conventions::RESULT_BYTE_BUDGET);
}

/// The fields mcpcap's clients read are all there (the result's shape is
/// its type's; the generic schema test in runtime/tests validates it).
#[test]
fn mcpcap_fields_are_returned() {
    let id = "schema-1";
    let mut capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(ALICE, BOB, 5060, 5060, &sip("INVITE sip:bob@example.com SIP/2.0", id, "1 INVITE", "a", "", SDP)))
        .packet(1, 1, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 180 Ringing", id, "1 INVITE", "a", "b", "")))
        .packet(1, 2, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 200 OK", id, "1 INVITE", "a", "b", SDP)))
        .packet(9, 0, &udp(ALICE, BOB, 5060, 5060, &sip("BYE sip:bob@example.com SIP/2.0", id, "2 BYE", "a", "b", "")))
        .packet(9, 1, &udp(ALICE, BOB, 7777, 5060, b"REGISTER sip:x SIP/2.0\r\nv: a\r\nv: b\r\nTo: <sip:a@x>\r\nCSeq: 1 REGISTER\r\nUser-Agent: friendly-scanner\r\n\r\n"))
        .packet(9, 2, &udp(BOB, ALICE, 5060, 7777, b"SIP/2.0 404 Not Found\r\nTo: <sip:a@x>\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"));
    for i in 0..12u8 {
        capture = capture.packet(
            10,
            u32::from(i),
            &udp(PROXY, [10, 1, 0, i], 5060, 5060, b"OPTIONS sip:x@y SIP/2.0\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\n\r\n"),
        );
    }
    let r = run(&capture.build(), json!({}));
    assert!(r["observations"].as_array().unwrap().len() >= 3);
    for field in ["file", "analysis_timestamp", "total_packets_in_file", "sip_packets_found", "sip_packets_analyzed"] {
        assert!(r.get(field).is_some(), "mcpcap field {field} missing");
    }
    for field in [
        "requests",
        "responses",
        "methods",
        "response_classes",
        "unique_call_ids",
        "call_ids",
        "transports",
        "user_agents",
    ] {
        assert!(r["statistics"].get(field).is_some(), "mcpcap statistics.{field} missing");
    }
    let mcpcap_packet = [
        "packet_number",
        "timestamp",
        "source_ip",
        "destination_ip",
        "source_port",
        "destination_port",
        "transport",
        "message_type",
        "start_line",
        "call_id",
        "cseq",
        "from",
        "to",
        "contact",
        "user_agent",
        "server",
        "via",
        "content_type",
        "content_length",
        "body_length",
        "known_sip_port",
        "headers",
        "summary",
    ];
    for p in r["packets"].as_array().unwrap() {
        for field in mcpcap_packet {
            assert!(p.get(field).is_some(), "mcpcap packets[].{field} missing");
        }
    }
    let described = Sip::describe();
    let prompts: Vec<&str> = described.prompts.iter().map(|p| p.name).collect();
    assert_eq!(prompts, ["sip_security_analysis", "sip_troubleshooting_analysis", "sip_forensic_investigation"]);
    assert_eq!(described.tools[0].params_schema["additionalProperties"], false);
}

/// Files where the counts differ from tshark by design, with the reason.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

/// Counts from the tool's result: messages, requests by method, responses by code.
fn our_counts(r: &Value) -> (u64, BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let map = |v: &Value| -> BTreeMap<String, u64> {
        v.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()).unwrap_or_default()
    };
    (
        r["sip_packets_found"].as_u64().unwrap(),
        map(&r["statistics"]["methods"]),
        map(&r["statistics"]["response_codes"]),
    )
}

#[test]
fn counts_match_tshark_on_the_shared_captures() {
    let Some(dir) = shared_captures() else {
        eprintln!("skipping: ../shared/captures is absent");
        return;
    };
    let files = captures_under(&dir);
    if tshark_fields(&files[0], "frame", &["frame.number"]).is_none() {
        eprintln!("skipping: tshark is not installed");
        return;
    }
    let mut compared = 0;
    let mut with_sip = 0;
    let mut mismatches = Vec::new();
    let tshark_rows = in_parallel(&files, |path| tshark_fields(path, "sip", &["sip.Method", "sip.Status-Code"]));
    for (path, rows) in files.iter().zip(tshark_rows) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        if EXPECTED_DIFFERENCES.iter().any(|(f, _)| *f == name) {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        let Ok(r) = run_tool::<Sip>("analyze_sip_packets", json!({"limit": 0}), &bytes) else { continue };
        let Some(rows) = rows else { continue };
        let (mut messages, mut methods, mut codes) = (0u64, BTreeMap::new(), BTreeMap::new());
        for row in &rows {
            for m in row.first().into_iter().flat_map(|v| v.split(',')).filter(|v| !v.is_empty()) {
                messages += 1;
                *methods.entry(m.to_string()).or_insert(0u64) += 1;
            }
            for c in row.get(1).into_iter().flat_map(|v| v.split(',')).filter(|v| !v.is_empty()) {
                messages += 1;
                *codes.entry(c.to_string()).or_insert(0u64) += 1;
            }
        }
        let ours = our_counts(&r);
        if ours != (messages, methods.clone(), codes.clone()) {
            mismatches.push(format!(
                "{name}: pcapsule {} messages {:?} {:?}; tshark {messages} messages {methods:?} {codes:?}",
                ours.0, ours.1, ours.2
            ));
        }
        compared += 1;
        if messages > 0 {
            with_sip += 1;
        }
    }
    assert!(mismatches.is_empty(), "differences from tshark:\n{}", mismatches.join("\n"));
    assert!(compared > 50, "compared {compared} files");
    assert!(with_sip >= 9, "{with_sip} files with SIP");
}

#[test]
fn every_shared_capture_gives_a_result_or_a_clean_error() {
    let Some(dir) = shared_captures() else { return };
    for path in captures_under(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        match run_tool::<Sip>("analyze_sip_packets", json!({}), &bytes) {
            Ok(r) => {
                assert!(r["statistics"].is_object());
                let size = r.to_string().len();
                assert!(size < 100_000, "{}: default result is {size} bytes", path.display());
            }
            Err(RunError::UnsupportedFormat(_) | RunError::Malformed { .. }) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

#[test]
fn the_shared_sip_captures_give_the_expected_details() {
    let Some(dir) = shared_captures() else { return };
    let read = |name: &str| run(&std::fs::read(dir.join("sip").join(name)).unwrap(), json!({}));
    let compact = read("suricata-verify_sip_compact_form.pcap");
    let p = &compact["packets"][0];
    assert_eq!(p["call_id"], "105090259-446faf7a@192.168.1.2");
    assert_eq!(p["content_length"], 272);
    // Its `l: 272` ends the body before the m= line: the rest is flagged, not parsed.
    assert_eq!(p["sdp"]["connection_address"], "192.168.1.2");
    assert_eq!(p["flags"], json!(["data_after_body"]));
    let multi = read("suricata-verify_sip_header_multi_val.pcap");
    assert!(multi["packets"][0]["flags"].as_array().unwrap().contains(&json!("repeated_single_value_header")));
    let large = read("suricata-verify_sip-body-large.pcap");
    assert_eq!(large["statistics"]["transports"], json!({"TCP": 2}));
    assert_eq!(large["packets"][0]["packet_number"], 9);
    let junk = read("zeek_sip-junk-before-request.pcap");
    // Frame 1 is four zero bytes on the SIP port (not SIP); frame 2 a clean REGISTER.
    assert_eq!(junk["sip_packets_found"], 1);
    assert_eq!(junk["packets"][0]["packet_number"], 2);
    assert_eq!(junk["packets"][0]["method"], "REGISTER");
    let invalid = read("zeek_invalid-content-length.pcap");
    assert_eq!(invalid["statistics"]["malformed_flags"]["invalid_content_length"], 2);
    let long = read("suricata-verify_sip-method_sip.pcap");
    assert!(long["registrations"]["challenges"].as_u64().unwrap() > 5);
    assert!(long["calls"]["total"].as_u64().unwrap() >= 4);
}

#[test]
fn delays_are_measured_from_the_invite_after_a_challenge() {
    let id = "auth-1";
    let invite = |cseq: &str| sip("INVITE sip:bob@example.com SIP/2.0", id, cseq, "a", "", "");
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &udp(ALICE, PROXY, 5060, 5060, &invite("1 INVITE")))
        .packet(1, 500_000, &udp(ALICE, PROXY, 5060, 5060, &invite("1 INVITE")))
        .packet(
            1,
            600_000,
            &udp(PROXY, ALICE, 5060, 5060, &sip("SIP/2.0 407 Proxy Auth", id, "1 INVITE", "a", "p", "")),
        )
        .packet(9, 0, &udp(ALICE, PROXY, 5060, 5060, &invite("2 INVITE")))
        .packet(9, 250_000, &udp(PROXY, ALICE, 5060, 5060, &sip("SIP/2.0 183 Progress", id, "2 INVITE", "a", "b", "")))
        .packet(10, 0, &udp(PROXY, ALICE, 5060, 5060, &sip("SIP/2.0 480 Unavailable", id, "2 INVITE", "a", "b", "")))
        .build();
    let r = run(&capture, json!({}));
    let call = &r["dialogs"]["items"][0]["call"];
    assert_eq!(call["outcome"], "failed");
    assert_eq!(call["final_code"], 480);
    assert_eq!(call["invites"], 2);
    assert_eq!(call["invite_retransmissions"], 1);
    assert_eq!(call["post_dial_delay_ms"], 250.0, "not counting the 8 s spent on the challenge");
}

#[test]
fn every_truncation_and_corruption_of_a_message_is_handled() {
    let mut message = sip("INVITE sip:bob@example.com SIP/2.0", "cut-1", "1 INVITE", "a", "", SDP);
    for cut in 0..message.len() {
        let _ = crate::message::parse(&message[..cut], false);
        let _ = crate::message::parse(&message[..cut], true);
        if let Some(sdp) = crate::sdp::Sdp::parse(&message[cut..]) {
            let _ = sdp.entry();
        }
    }
    // Corrupt one byte at a time over TCP, split in two segments: never a panic.
    let mut capture = PcapBuilder::ethernet();
    for (port, at) in (20000u16..).zip((0..message.len()).step_by(7)) {
        let saved = message[at];
        message[at] = [b'\r', b'\n', b':', 0xff, b' '][at % 5];
        let half = message.len() / 2;
        capture = capture.packet(1, 0, &tcp(ALICE, BOB, port, 5060, 1, &message[..half])).packet(
            1,
            1,
            &tcp(ALICE, BOB, port, 5060, 1 + half as u32, &message[half..]),
        );
        message[at] = saved;
    }
    let r = run(&capture.build(), json!({"limit": 0}));
    assert!(r["sip_packets_found"].as_u64().unwrap() > 0);
}

/// A TCP segment with flags set by `f` (FIN, ...).
fn tcp_with(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, seq: u32, payload: &[u8], fin: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if fin { b.fin().write(&mut out, payload) } else { b.write(&mut out, payload) }.unwrap();
    out
}

const WS_UPGRADE: &[u8] = b"GET /sip HTTP/1.1\r\nHost: proxy.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://www.example.com\r\n\
Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
const WS_SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";

/// One WebSocket connection from `client:port` to the proxy on 8080: the
/// client's and the server's bytes after the handshake, one segment each.
fn ws_connection(port: u16, client: &[Vec<u8>], server: &[Vec<u8>], fin: bool) -> Vec<Vec<u8>> {
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    let mut frames =
        vec![tcp(ALICE, PROXY, port, 8080, cseq, WS_UPGRADE), tcp(PROXY, ALICE, 8080, port, sseq, WS_SWITCHED)];
    cseq += WS_UPGRADE.len() as u32;
    sseq += WS_SWITCHED.len() as u32;
    for segment in client {
        frames.push(tcp(ALICE, PROXY, port, 8080, cseq, segment));
        cseq += segment.len() as u32;
    }
    for segment in server {
        frames.push(tcp(PROXY, ALICE, 8080, port, sseq, segment));
        sseq += segment.len() as u32;
    }
    if fin {
        frames.push(tcp_with(ALICE, PROXY, port, 8080, cseq, &[], true));
        frames.push(tcp_with(PROXY, ALICE, 8080, port, sseq, &[], true));
    }
    frames
}

fn ws_register() -> (Vec<u8>, Vec<u8>) {
    let register = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf\r\n\
From: <sip:alice@example.com>;tag=65bnmj.34asd\r\nTo: <sip:alice@example.com>\r\nCall-ID: aiuy7k9njasd\r\n\
CSeq: 1 REGISTER\r\nContact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\nExpires: 300\r\n\r\n"
        .to_vec();
    let ok = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf\r\n\
From: <sip:alice@example.com>;tag=65bnmj.34asd\r\nTo: <sip:alice@example.com>;tag=xyz\r\nCall-ID: aiuy7k9njasd\r\n\
CSeq: 1 REGISTER\r\nContact: <sip:alice@df7jal23ls0d.invalid;transport=ws>;expires=300\r\nContent-Length: 0\r\n\r\n"
        .to_vec();
    (register, ok)
}

#[test]
fn sip_over_websocket_masked_fragmented_with_a_ping() {
    use crate::ws::frame;
    let (register, ok) = ws_register();
    let key = Some([0x37, 0xfa, 0x21, 0x3d]);
    let cut = 50;
    // The REGISTER in two fragments (two segments), a ping between them.
    let mut first = frame(false, 1, &register[..cut], key);
    first.extend(frame(true, 9, b"ka", key));
    let second = frame(true, 0, &register[cut..], key);
    let mut server = frame(true, 0xA, b"", None);
    server.extend(frame(true, 1, &ok, None));
    let mut capture = PcapBuilder::ethernet();
    for (i, f) in ws_connection(50123, &[first, second], &[server], true).iter().enumerate() {
        capture = capture.packet(1, i as u32, f);
    }
    let r = run(&capture.build(), json!({}));
    assert_eq!(r["sip_packets_found"], 2, "the handshake and the frames are not SIP messages");
    assert_eq!(r["statistics"]["transports"], json!({"WS": 2}));
    assert_eq!(r["statistics"]["via_transports"], json!({"WS": 2}));
    assert_eq!(r["statistics"]["methods"], json!({"REGISTER": 1}));
    assert_eq!(r["statistics"]["malformed_messages"], 0);
    assert_eq!(r["statistics"]["found_on_other_ports"], 0);
    let regs = &r["registrations"];
    assert_eq!((regs["attempts"].clone(), regs["successes"].clone()), (json!(1), json!(1)));
    assert_eq!(regs["bindings"][0]["address_of_record"], "sip:alice@example.com");
    let p = &r["packets"][0];
    assert_eq!((p["transport"].clone(), p["method"].clone()), (json!("WS"), json!("REGISTER")));
    assert_eq!(p["packet_number"], 4, "reported at the frame that completes it");
    assert_eq!((p["source_port"].clone(), p["destination_port"].clone()), (json!(50123), json!(8080)));
    assert_eq!(p["headers"]["expires"], "300");
    assert!(p.get("flags").is_none(), "no Content-Length is needed over WebSocket: {p}");
    assert_eq!(r["packets"][1]["status_code"], 200);
    assert_eq!(r["packets"][1]["transport"], "WS");
    let ws = &r["capture"]["websocket"];
    assert_eq!(
        ws,
        &json!({"handshakes": 1, "upgrades": 1, "frames": 5, "control_frames": 2, "messages": 2, "non_sip_messages": 0,
            "compressed_messages": 0, "malformed_frames": 0, "frame_problems": {}, "skipped_bytes": 0})
    );
    // The same bytes without the handshake are not SIP (nor are they buffered).
    let mut plain = PcapBuilder::ethernet();
    for (i, f) in ws_connection(50123, &[], &[], false).iter().enumerate().skip(1) {
        plain = plain.packet(1, i as u32, f);
    }
    assert_eq!(run(&plain.build(), json!({}))["sip_packets_found"], 0);
}

#[test]
fn malformed_websocket_frames_are_flagged_not_fatal() {
    use crate::ws::frame;
    let (register, ok) = ws_register();
    let key = Some([1, 2, 3, 4]);
    // Client: a frame with a reserved opcode (skipped), an unmasked REGISTER,
    // then a frame whose length runs past the end of the connection.
    let mut client = frame(true, 3, b"junk", key);
    client.extend(frame(true, 1, &register, None));
    let mut lying = frame(true, 1, &register, key);
    assert_eq!(lying[1], 0x80 | 126, "a 16-bit length");
    lying[2..4].copy_from_slice(&60_000u16.to_be_bytes());
    client.extend(&lying);
    // Server: an oversized 64-bit length (most significant bit set) loses the
    // framing; nothing after it is read.
    let mut bad = vec![0x81, 127];
    bad.extend_from_slice(&u64::MAX.to_be_bytes());
    bad.extend(frame(true, 1, &ok, None));
    let mut capture = PcapBuilder::ethernet();
    for (i, f) in ws_connection(40000, &[client], &[bad], true).iter().enumerate() {
        capture = capture.packet(1, i as u32, f);
    }
    let r = run(&capture.build(), json!({}));
    assert_eq!(r["sip_packets_found"], 2);
    assert_eq!(r["statistics"]["transports"], json!({"WS": 2}));
    let flags: Vec<&Value> = r["packets"].as_array().unwrap().iter().map(|p| &p["flags"]).collect();
    assert_eq!(flags, [&json!(["ws_malformed_frame"]), &json!(["stream_ended_mid_message"])]);
    assert_eq!(r["statistics"]["malformed_messages"], 2);
    let ws = &r["capture"]["websocket"];
    assert_eq!(
        ws["frame_problems"],
        json!({"bad_opcode": 1, "unmasked_client_frame": 1, "invalid_length": 1, "truncated_frame": 1})
    );
    assert_eq!(ws["malformed_frames"], 4);
    assert!(r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("WebSocket")));
}

#[test]
fn a_refused_websocket_upgrade_and_a_plain_http_get_are_not_sip() {
    let (register, _) = ws_register();
    let frame = crate::ws::frame(true, 1, &register, Some([5, 6, 7, 8]));
    let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    let get = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
    let capture = PcapBuilder::ethernet()
        .packet(1, 0, &tcp(ALICE, PROXY, 40001, 80, 1, WS_UPGRADE))
        .packet(1, 1, &tcp(PROXY, ALICE, 80, 40001, 1, refused))
        .packet(1, 2, &tcp(ALICE, PROXY, 40001, 80, 1 + WS_UPGRADE.len() as u32, &frame))
        .packet(1, 3, &tcp(ALICE, PROXY, 40002, 80, 1, get))
        .build();
    let r = run(&capture, json!({}));
    assert_eq!(r["sip_packets_found"], 0);
    assert_eq!(r["capture"]["websocket"]["handshakes"], 1);
    assert_eq!(r["capture"]["websocket"]["upgrades"], 0);
    assert_eq!(r["capture"]["websocket"]["frames"], 0);
}

/// A fixture's result and expected facts (fixtures/expected/NAME.json).
fn run_fixture(name: &str) -> (std::path::PathBuf, Value, Value) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let path = root.join("captures").join(name);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(root.join("expected").join(format!("{name}.json"))).unwrap()).unwrap();
    let r = run(&std::fs::read(&path).unwrap(), json!({}));
    (path, r, expected)
}

/// (frame, method or status code) of each message in a result.
fn messages_by_frame(r: &Value) -> Vec<(u64, String)> {
    r["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let what = p.get("method").and_then(Value::as_str).map(str::to_string);
            (p["packet_number"].as_u64().unwrap(), what.unwrap_or_else(|| p["status_code"].to_string()))
        })
        .collect()
}

/// The same from tshark, with these preferences.
fn tshark_messages_by_frame(path: &std::path::Path, preferences: &[&str]) -> Option<Vec<(u64, String)>> {
    let rows = tshark_fields_with(path, preferences, "sip", &["frame.number", "sip.Method", "sip.Status-Code"])?;
    Some(
        rows.iter()
            .flat_map(|row| {
                let frame: u64 = row[0].parse().unwrap();
                row[1..]
                    .iter()
                    .flat_map(|v| v.split(','))
                    .filter(|v| !v.is_empty())
                    .map(move |v| (frame, v.to_string()))
            })
            .collect(),
    )
}

/// The generated fixture with an INVITE whose segments arrive out of order
/// (fixtures/src/tcp_streams.rs): each SIP message once, at the frame that
/// completed it, as tshark reports them when it reassembles out-of-order
/// segments.
#[test]
fn sip_over_tcp_out_of_order_of_the_fixture() {
    let (path, r, expected) = run_fixture("tcp-streams.pcap");
    let listed: Vec<(u64, String)> = serde_json::from_value(expected["sip_messages"].clone()).unwrap();
    assert_eq!(messages_by_frame(&r), listed);
    assert_eq!(r["capture"]["tcp_gaps"], 0, "the hole filled");
    let Some(theirs) = tshark_messages_by_frame(&path, &["tcp.reassemble_out_of_order:TRUE"]) else { return };
    assert_eq!(messages_by_frame(&r), theirs, "pcapsule against tshark");
}

/// The generated fixture with SIP over SCTP (fixtures/src/sctp.rs): chunks
/// bundled with SACKs, and a message in three fragments out of order, at the
/// frames tshark shows them.
#[test]
fn sip_over_sctp_of_the_fixture() {
    let (path, r, expected) = run_fixture("sip-over-sctp.pcap");
    let listed: Vec<(u64, String)> = serde_json::from_value(expected["sip_messages"].clone()).unwrap();
    assert_eq!(messages_by_frame(&r), listed);
    assert_eq!(r["statistics"]["transports"]["SCTP"], listed.len() as u64);
    assert_eq!(r["capture"]["sctp"]["reassembled_messages"], expected["sctp_reassembled_messages"]);
    assert_eq!(r["capture"]["sctp"]["incomplete_messages"], 0);
    assert_eq!(r["warnings"], json!([]));
    let Some(theirs) = tshark_messages_by_frame(&path, &[]) else { return };
    assert_eq!(messages_by_frame(&r), theirs, "pcapsule against tshark");
}

/// The generated fixtures with one OPTIONS and its 200 OK in each
/// encapsulation and on each link type the packet path decodes
/// (fixtures/src/encapsulated.rs, link_types.rs): every transaction is seen,
/// through its encapsulation, and tshark finds as many answers.
#[test]
fn sip_inside_every_encapsulation_and_link_type_of_the_fixtures() {
    let ok = "sip.Status-Code == 200";
    pcapsule_guest::testing::check_exchange_fixtures(
        "sip",
        ok,
        |bytes| run(bytes, json!({})),
        |fixture| {
            let (s, transactions) = (&fixture.result["statistics"], fixture.cases);
            assert_eq!(s["requests"], transactions, "{}: {s}", fixture.name);
            assert_eq!(s["responses"], transactions, "{}: {s}", fixture.name);
            assert_eq!(s["unique_call_ids"], transactions, "{}: one Call-ID per case: {s}", fixture.name);
        },
    );
}

/// A header given twice stays in `headers` (all its values), since the
/// field beside it holds only the first.
#[test]
fn a_repeated_header_keeps_all_its_values() {
    let msg = b"REGISTER sip:x SIP/2.0\r\nCall-ID: r-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@10.0.0.1>\r\n\
Contact: <sip:a@10.0.0.2>\r\nContent-Length: 0\r\n\r\n";
    let capture = PcapBuilder::ethernet().packet(1, 0, &udp(ALICE, BOB, 5060, 5060, msg)).build();
    let p = &run(&capture, json!({}))["packets"][0];
    assert_eq!(p["contact"], "<sip:a@10.0.0.1>");
    assert_eq!(p["headers"]["contact"], "<sip:a@10.0.0.1>, <sip:a@10.0.0.2>");
    assert!(p["headers"].get("call-id").is_none() && p["headers"].get("content-length").is_none());
}

/// A Call-ID longer than the stored length is still one dialog: every
/// message of the call finds the dialog its INVITE opened.
#[test]
fn a_call_id_longer_than_the_stored_length_is_one_dialog() {
    let id = format!("{}@10.0.0.1", "x".repeat(400));
    let capture = PcapBuilder::ethernet()
        .packet(
            1,
            0,
            &udp(ALICE, BOB, 5060, 5060, &sip("INVITE sip:bob@example.com SIP/2.0", &id, "1 INVITE", "a", "", "")),
        )
        .packet(1, 500_000, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 180 Ringing", &id, "1 INVITE", "a", "b", "")))
        .packet(2, 0, &udp(BOB, ALICE, 5060, 5060, &sip("SIP/2.0 200 OK", &id, "1 INVITE", "a", "b", "")))
        .build();
    let r = run(&capture, json!({}));
    let dialogs = r["dialogs"]["items"].as_array().unwrap();
    assert_eq!(dialogs.len(), 1, "{:#}", r["dialogs"]);
    assert_eq!(dialogs[0]["ladder"].as_array().unwrap().len(), 3);
    assert_eq!(dialogs[0]["call"]["outcome"], "answered");
    assert!(dialogs[0]["call_id"].as_str().unwrap().ends_with('…'), "the stored Call-ID says it was cut");
}
