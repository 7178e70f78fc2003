//! A connection as results show it: mcpcap's fields, Zeek's `conn_state`
//! and `history`, and in detailed mode per-direction statistics, timing and
//! how the connection closed.

use pcapsule_guest::conventions::{PAGE_BYTE_BUDGET, PageInfo, Paging};
use serde_json::{Value, json};

use crate::conn::{CLIENT, Connection, DirStats, SERVER};
use crate::scan::round6;

fn time(ns: i64) -> Value {
    if ns == 0 {
        return Value::Null;
    }
    let t =
        pcapsule_guest::Timestamp { secs: ns.div_euclid(1_000_000_000), nanos: ns.rem_euclid(1_000_000_000) as u32 };
    json!(t.to_rfc3339())
}

/// One direction's counters.
pub fn direction(d: &DirStats) -> Value {
    json!({
        "packets": d.packets,
        "bytes": d.bytes,
        "payload_bytes": d.payload_bytes,
        "data_packets": d.data_packets,
        "syn": d.syn,
        "fin": d.fin,
        "rst": d.rst,
        "retransmissions": d.retransmissions,
        "fast_retransmissions": d.fast_retransmissions,
        "spurious_retransmissions": d.spurious_retransmissions,
        "out_of_order": d.out_of_order,
        "duplicate_acks": d.duplicate_acks,
        "lost_segments": d.lost_segments,
        "zero_windows": d.zero_windows,
        "keep_alives": d.keep_alives,
    })
}

/// A connection entry of `analyze_tcp_connections`.
pub fn connection(c: &Connection, detailed: bool) -> Value {
    let (cs, ss) = (&c.sides[CLIENT].stats, &c.sides[SERVER].stats);
    let mut v = json!({
        "client": c.client.to_string(),
        "server": c.server.to_string(),
        "state": c.mcpcap_state(),
        "handshake_completed": c.handshake_completed,
        "syn_count": c.total(|d| d.syn),
        "syn_ack_count": c.total(|d| d.syn_ack),
        "ack_count": c.total(|d| d.ack),
        "rst_count": c.total(|d| d.rst),
        "fin_count": c.total(|d| d.fin),
        "data_packets": c.total(|d| d.data_packets),
        "retransmissions": c.total(|d| d.retransmissions),
        "close_reason": c.close_reason(),
        "packet_count": c.packet_count(),
        "connection_id": c.id,
        "conn_state": c.conn_state(),
        "history": c.history.as_str(),
        "start_time": time(c.first_time_ns),
        "duration_s": round6(c.duration_s()),
    });
    if detailed {
        let closed_by = c.first_close.map(|f| if f.side == CLIENT { "client" } else { "server" });
        let extra = json!({
            "end_time": time(c.last_time_ns),
            "first_packet": c.first_number,
            "last_packet": c.last_number,
            "roles_from": c.roles.name(),
            "client_to_server": direction(cs),
            "server_to_client": direction(ss),
            "handshake_rtt_ms": c.handshake_rtt_ms(),
            "syn_to_synack_ms": c.syn_to_synack_ms(),
            "synack_to_ack_ms": c.synack_to_ack_ms(),
            "closed_by": closed_by,
            "close_method": c.close_method(),
            "reused_ports": c.reused_ports,
            "evicted": c.evicted,
        });
        if let (Value::Object(v), Value::Object(extra)) = (&mut v, extra) {
            v.extend(extra);
        }
    }
    v
}

/// A page built from the items on it (already selected by offset and limit,
/// in order), ended early at [`PAGE_BYTE_BUDGET`] bytes of JSON as the
/// shared conventions do; the first item always fits.
pub fn page(items: impl IntoIterator<Item = Value>, paging: Paging, total: usize) -> (Vec<Value>, PageInfo) {
    let mut out = Vec::new();
    let mut bytes = 0;
    let mut ended_by_size = false;
    for item in items.into_iter().take(paging.limit) {
        let size = item.to_string().len() + 1;
        if !out.is_empty() && bytes + size > PAGE_BYTE_BUDGET {
            ended_by_size = true;
            break;
        }
        bytes += size;
        out.push(item);
    }
    let returned = out.len();
    let end = paging.offset + returned;
    let next_offset = (end < total && returned > 0).then_some(end);
    (out, PageInfo { total, returned, offset: paging.offset, limit: paging.limit, next_offset, ended_by_size })
}
