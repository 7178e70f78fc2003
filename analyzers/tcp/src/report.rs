//! A connection as results show it: mcpcap's fields, Zeek's `conn_state`
//! and `history`, and in detailed mode per-direction statistics, timing and
//! how the connection closed.

use crate::conn::{CLIENT, Connection, DirStats, SERVER};
use crate::result::{ConnectionDetail, ConnectionEntry, DirectionCounts, SuspiciousRstEntry};
use crate::scan::round6;

fn time(ns: i64) -> Option<String> {
    if ns == 0 {
        return None;
    }
    let t =
        pcapsule_guest::Timestamp { secs: ns.div_euclid(1_000_000_000), nanos: ns.rem_euclid(1_000_000_000) as u32 };
    Some(t.to_rfc3339())
}

/// One direction's counters.
pub fn direction(d: &DirStats) -> DirectionCounts {
    DirectionCounts {
        packets: d.packets,
        bytes: d.bytes,
        captured_bytes: d.captured_bytes,
        payload_bytes: d.payload_bytes,
        data_packets: d.data_packets,
        syn: d.syn,
        fin: d.fin,
        rst: d.rst,
        retransmissions: d.retransmissions,
        fast_retransmissions: d.fast_retransmissions,
        spurious_retransmissions: d.spurious_retransmissions,
        out_of_order: d.out_of_order,
        duplicate_acks: d.duplicate_acks,
        lost_segments: d.lost_segments,
        zero_windows: d.zero_windows,
        keep_alives: d.keep_alives,
    }
}

/// A connection entry of `analyze_tcp_connections`.
pub fn connection(c: &Connection, detailed: bool) -> ConnectionEntry {
    let (cs, ss) = (&c.sides[CLIENT].stats, &c.sides[SERVER].stats);
    let detail = detailed.then(|| ConnectionDetail {
        end_time: time(c.last_time_ns),
        first_packet: c.first_number,
        last_packet: c.last_number,
        roles_from: c.roles.name(),
        client_to_server: direction(cs),
        server_to_client: direction(ss),
        handshake_rtt_ms: c.handshake_rtt_ms(),
        syn_to_synack_ms: c.syn_to_synack_ms(),
        synack_to_ack_ms: c.synack_to_ack_ms(),
        closed_by: c.first_close.map(|f| if f.side == CLIENT { "client" } else { "server" }),
        close_method: c.close_method(),
        reused_ports: c.reused_ports,
        evicted: c.evicted,
    });
    ConnectionEntry {
        client: c.client.to_string(),
        server: c.server.to_string(),
        state: c.mcpcap_state(),
        handshake_completed: c.handshake_completed,
        handshake: c.handshake(),
        syn_count: c.total(|d| d.syn),
        syn_ack_count: c.total(|d| d.syn_ack),
        ack_count: c.total(|d| d.ack),
        rst_count: c.total(|d| d.rst),
        fin_count: c.total(|d| d.fin),
        data_packets: c.total(|d| d.data_packets),
        retransmissions: c.total(|d| d.retransmissions),
        close_reason: c.close_reason(),
        packet_count: c.packet_count(),
        connection_id: c.id,
        stream: c.stream,
        conn_state: c.conn_state(),
        history: c.history.as_str().to_string(),
        start_time: time(c.first_time_ns),
        duration_s: round6(c.duration_s()),
        suspicious_rst: suspicious_rst(c),
        detail,
    }
}

/// The connection's suspicious RST (the server's first, if both sides have one).
pub fn suspicious_rst(c: &Connection) -> Option<SuspiciousRstEntry> {
    let r = c.suspicious_rst(SERVER).or_else(|| c.suspicious_rst(CLIENT))?;
    let from = if r.side == CLIENT { "client" } else { "server" };
    let mut why = Vec::new();
    if let Some((lo, hi)) = r.others_ttl.filter(|_| r.ttl_unlike) {
        let range = if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") };
        why.push(format!("its TTL {} is unlike the {from}'s other packets ({range})", r.ttl));
    }
    if r.sent_after > 0 {
        why.push(format!("the {from} went on to send {} SYN-ACK or data segments after it", r.sent_after));
    }
    Some(SuspiciousRstEntry {
        from,
        frame: r.frame,
        ttl: r.ttl,
        other_packets_ttl: r.others_ttl.map(|(lo, hi)| [lo, hi]),
        sent_after_rst: r.sent_after,
        reason: format!(
            "RST in frame {} likely not sent by the {from} (injected, or a middlebox in its name): {}",
            r.frame,
            why.join("; and ")
        ),
    })
}
