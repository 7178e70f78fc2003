//! JSON Schemas of the four tools' results, as clients see them in `outputSchema`.

use pcapsule_guest::conventions::schema::pagination;
use serde_json::{Map, Value, json};

fn int() -> Value {
    json!({"type": "integer"})
}

fn num() -> Value {
    json!({"type": "number"})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn counts(what: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "integer"}, "description": what})
}

fn object(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn stat(what: &str) -> Value {
    json!({"type": ["object", "null"], "description": what,
           "properties": {"count": int(), "min": num(), "avg": num(), "max": num()}})
}

/// Fields every result shares.
fn common(mut props: Map<String, Value>) -> Map<String, Value> {
    let shared = json!({
        "file": {"type": "string", "description": "The capture as given."},
        "analysis_timestamp": {"type": "string", "description": "When the analysis ran (UTC)."},
        "filter": object(json!({"server_ip": {"type": ["string", "null"]}, "server_port": {"type": ["integer", "null"]}})),
        "capture": pcapsule_guest::conventions::schema::capture_facts(json!({
            "packets": int(),
            "tcp_packets": {"type": "integer", "description": "TCP segments before the filter."},
            "analyzed_tcp_packets": {"type": "integer", "description": "TCP segments that passed the filter."},
            "bad_tcp_headers": int(),
            "first_packet_time": {"type": ["string", "null"]},
            "last_packet_time": {"type": ["string", "null"]}
        })),
        "tracking": object(json!({
            "connections": int(),
            "peak_live_connections": int(),
            "max_live_connections": int(),
            "evicted_closed": {"type": "integer", "description": "Closed connections dropped from memory 30 s (capture time) after they closed, or earlier when the table was full (nothing lost)."},
            "evicted_open": {"type": "integer", "description": "Open connections dropped from memory when the table was full: their counts end there, later packets start new connections."},
            "port_reuses": {"type": "integer", "description": "New connections started by a SYN reusing an earlier connection's ports."},
            "expired_attempts": {"type": "integer", "description": "Connection attempts nobody answered, dropped from memory 130 s (capture time) after their last SYN (nothing lost: they stay counted as attempts)."},
            "note": string()
        })),
        "warnings": {"type": "array", "items": {"type": "string"}},
        "message": {"type": "string", "description": "Set when there is no TCP traffic (to analyze)."},
        "packets_analyzed": int(),
        "max_packets": {"type": ["integer", "null"]},
        "truncated": {"type": "boolean", "description": "True when max_packets stopped the analysis early."}
    });
    if let Value::Object(shared) = shared {
        for (k, v) in shared {
            props.entry(k).or_insert(v);
        }
    }
    props
}

fn schema(props: Value, required: &[&str]) -> Value {
    let Value::Object(props) = props else { unreachable!() };
    json!({"type": "object", "properties": common(props), "required": required})
}

fn direction() -> Value {
    object(json!({
        "packets": int(), "bytes": {"type": "integer", "description": "Captured frame bytes."},
        "payload_bytes": {"type": "integer", "description": "TCP payload bytes (as the IP length declares them)."},
        "data_packets": int(), "syn": int(), "fin": int(), "rst": int(),
        "retransmissions": int(), "fast_retransmissions": int(), "spurious_retransmissions": int(),
        "out_of_order": int(), "duplicate_acks": int(), "lost_segments": int(), "zero_windows": int(), "keep_alives": int()
    }))
}

/// A connection entry.
pub fn connection() -> Value {
    json!({
        "type": "object",
        "properties": {
            "client": {"type": "string", "description": "ip:port ([ip]:port for IPv6) of the endpoint that sent the SYN (without a SYN: the one on the higher port)."},
            "server": string(),
            "state": {"type": "string", "enum": ["closed", "active"], "description": "mcpcap: closed after a reset or a normal close."},
            "handshake_completed": {"type": "boolean", "description": "SYN, a SYN-ACK acknowledging it, and the ACK completing it were all captured."},
            "syn_count": int(), "syn_ack_count": int(), "ack_count": int(), "rst_count": int(), "fin_count": int(),
            "data_packets": int(),
            "retransmissions": {"type": "integer", "description": "Segments Wireshark flags tcp.analysis.retransmission."},
            "close_reason": {"type": "string", "enum": ["reset", "normal", "active", "unknown"]},
            "packet_count": int(),
            "connection_id": {"type": "integer", "description": "Position in order of first packet (0-based)."},
            "conn_state": {"type": "string", "enum": ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"],
                           "description": "Zeek's connection state."},
            "history": {"type": "string", "description": "Zeek's history: uppercase from the client. S SYN, H SYN-ACK, A ACK, D data, F FIN, R RST, T retransmitted data, G capture gap, W zero window (T/G/W at 1, 10, 100... occurrences), I FIN+RST, Q other multi-flag, ^ the first packet came from the server."},
            "start_time": {"type": ["string", "null"]},
            "duration_s": num(),
            "end_time": {"type": ["string", "null"]},
            "first_packet": int(),
            "last_packet": int(),
            "roles_from": {"type": "string", "enum": ["syn", "syn_ack", "port", "first_packet"]},
            "client_to_server": direction(),
            "server_to_client": direction(),
            "handshake_rtt_ms": {"type": ["number", "null"], "description": "SYN to the ACK of the SYN-ACK (Wireshark's iRTT)."},
            "syn_to_synack_ms": {"type": ["number", "null"]},
            "synack_to_ack_ms": {"type": ["number", "null"]},
            "closed_by": {"type": ["string", "null"], "enum": ["client", "server", null], "description": "Sender of the first FIN or RST."},
            "close_method": {"type": "string", "enum": ["graceful", "half_closed", "reset", "fin_then_reset", "open"]},
            "reused_ports": {"type": "boolean"},
            "evicted": {"type": "boolean", "description": "Dropped from memory before the capture ended (table full)."}
        }
    })
}

/// `analyze_tcp_connections`.
pub fn connections() -> Value {
    schema(
        json!({
            "total_packets": {"type": "integer", "description": "Packets read."},
            "tcp_packets_found": {"type": "integer", "description": "TCP segments before the filter."},
            "summary": object(json!({
                "total_connections": int(), "successful_handshakes": int(), "failed_handshakes": int(),
                "established_connections": int(), "reset_connections": int(), "normal_close": int(),
                "active_connections": int(),
                "conn_states": counts("Connections per Zeek conn_state."),
                "close_methods": counts("Connections per close_method."),
                "closed_by": counts("Connections by the side that sent the first FIN or RST."),
                "total_retransmissions": int(),
                "payload_bytes": object(json!({"client_to_server": int(), "server_to_client": int()})),
                "handshake_rtt_ms": stat("Handshake round-trip times (SYN to the ACK of the SYN-ACK)."),
                "connections_evicted_open": int()
            })),
            "connections": {"type": "array", "items": connection(), "description": "One page of connections in order of first packet; see pagination."},
            "pagination": pagination(),
            "issues": {"type": "array", "items": {"type": "string"}}
        }),
        &["summary", "connections", "pagination"],
    )
}

fn pattern() -> Value {
    json!({
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "enum": ["rst_directional_asymmetry", "packet_retransmission", "handshake_completion",
                "abnormal_termination", "syn_response_imbalance", "unanswered_syns", "possible_syn_flood", "port_scan",
                "host_sweep", "loss_indicators", "zero_window"]},
            "category": {"type": "string", "enum": ["connection_termination", "reliability", "connection_establishment",
                "connection_lifecycle", "security", "flow_control"]},
            "observations": object(json!({
                "rst_to_server": int(), "rst_from_server": int(), "ratio": num(), "affected_connections": {"type": "array"},
                "total_retransmissions": int(), "total_packets": int(), "rate": num(), "threshold": num(),
                "exceeds_threshold": {"type": "boolean"}, "by_connection": counts("Retransmissions per connection (top 20)."),
                "successful": int(), "failed": int(), "failure_rate": num(),
                "reset_count": int(), "normal_close": int(), "total_connections": int(), "reset_rate": num(),
                "syn_count": int(), "syn_ack_count": int(), "response_ratio": num(),
                "attempts": int(), "answered": int(), "rejected": int(), "unanswered": int(), "unanswered_rate": num(),
                "top_targets": {"type": "array"}, "targets": {"type": "array"},
                "scans": {"type": "array", "description": "source, target, distinct_ports (a lower bound when distinct_ports_exact is false), outcomes of the attempts."},
                "scans_total": int(),
                "sweeps": {"type": "array"}, "sweeps_total": int(),
                "duplicate_acks": int(), "fast_retransmissions": int(), "spurious_retransmissions": int(),
                "out_of_order": int(), "lost_segments": int(),
                "zero_windows": int(), "zero_window_probes": int(), "connections_affected": int()
            })),
            "description": string()
        }
    })
}

/// `analyze_tcp_anomalies`.
pub fn anomalies() -> Value {
    schema(
        json!({
            "statistics": object(json!({
                "total_connections": int(),
                "total_packets": {"type": "integer", "description": "TCP segments analyzed (after the filter)."},
                "handshake": object(json!({"successful": int(), "failed": int(),
                    "incomplete": {"type": "integer", "description": "Connections with no SYN captured (joined midstream)."}})),
                "flags": object(json!({"syn": int(), "syn_ack": int(), "rst": int(), "fin": int(), "ack": int()})),
                "rst_distribution": object(json!({
                    "by_source": counts("RSTs per sender address (top 20)."),
                    "by_source_exact": {"type": "boolean"},
                    "by_direction": object(json!({"to_server": int(), "from_server": int(), "unknown": int()})),
                    "direction_from": {"type": "string", "enum": ["server_ip", "connection_roles"]},
                    "connections_with_rst": {"type": "array", "items": {"type": "string"}, "description": "The first 20."},
                    "connections_with_rst_total": int()
                })),
                "retransmissions": object(json!({"total": int(), "by_connection": counts("Top 20 connections."), "rate": num()})),
                "connection_states": object(json!({"established": int(), "reset": int(), "closed": int(), "unknown": int()})),
                "conn_states": counts("Connections per Zeek conn_state."),
                "analysis": counts("Segments per Wireshark analysis flag."),
                "connection_attempts": object(json!({"attempts": int(), "answered": int(), "rejected": int(), "unanswered": int()}))
            })),
            "patterns": {"type": "array", "items": pattern()},
            "summary": object(json!({
                "total_patterns": int(),
                "by_category": counts("Patterns per category."),
                "notable_observations": {"type": "array", "items": object(json!({"type": string(), "detail": string()}))}
            })),
            "thresholds": object(json!({"port_scan_min_ports": int(), "host_sweep_min_hosts": int(),
                "syn_flood_min_unanswered": int(), "scan_candidates_dropped": int()}))
        }),
        &["statistics", "patterns", "summary"],
    )
}

/// `analyze_tcp_retransmissions`.
pub fn retransmissions() -> Value {
    schema(
        json!({
            "total_packets": {"type": "integer", "description": "TCP segments analyzed (after the filter)."},
            "total_retransmissions": int(),
            "retransmission_rate": num(),
            "threshold": num(),
            "exceeds_threshold": {"type": "boolean"},
            "by_connection": {"type": "array", "description": "Connections ranked by retransmission rate; see pagination.",
                "items": object(json!({"connection": string(), "retrans_count": int(), "total_packets": int(),
                    "retrans_rate": num(), "fast_retransmissions": int(), "spurious_retransmissions": int(),
                    "client_to_server": int(), "server_to_client": int(), "conn_state": string(), "connection_id": int()}))},
            "pagination": pagination(),
            "summary": object(json!({"worst_connection": string(), "worst_retrans_rate": num(),
                "connections_above_threshold": int(), "connections": int(), "connections_with_retransmissions": int()})),
            "breakdown": object(json!({"fast_retransmissions": int(), "spurious_retransmissions": int(),
                "other_retransmissions": int(), "client_to_server": int(), "server_to_client": int(),
                "out_of_order": int(), "duplicate_acks": int(), "lost_segments": int()}))
        }),
        &["total_retransmissions", "retransmission_rate", "by_connection"],
    )
}

fn flow_direction() -> Value {
    object(json!({"packet_count": int(), "byte_count": {"type": "integer", "description": "Captured frame bytes."},
        "syn_count": int(), "rst_count": int(), "fin_count": int(), "data_packets": int(), "retransmissions": int(),
        "payload_bytes": int(), "duplicate_acks": int(), "zero_windows": int(), "out_of_order": int()}))
}

/// `analyze_traffic_flow`.
pub fn flow() -> Value {
    schema(
        json!({
            "server": {"type": "string", "description": "server_ip:server_port, or :any."},
            "client_to_server": flow_direction(),
            "server_to_client": flow_direction(),
            "analysis": object(json!({
                "asymmetry_ratio": {"type": "number", "description": "Client-to-server packets / server-to-client packets."},
                "primary_rst_source": {"type": "string", "enum": ["client", "server", "balanced"]},
                "data_flow_direction": {"type": "string", "enum": ["client_heavy", "server_heavy", "balanced", "none"], "description": "Which side sent more payload bytes (more than 1.2 times the other's), balanced, or none when neither sent data."},
                "interpretation": string(),
                "byte_asymmetry_ratio": num()
            })),
            "connections": object(json!({"total": int(), "conn_states": counts("Connections per Zeek conn_state."),
                "top_clients": {"type": "array", "items": object(json!({"client": string(), "packets": int()}))},
                "handshake_rtt_ms": stat("Handshake round-trip times.")}))
        }),
        &["server", "client_to_server", "server_to_client", "analysis"],
    )
}
