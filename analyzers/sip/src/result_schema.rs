//! JSON Schema of `analyze_sip_packets`'s result, as clients see it in `outputSchema`.

use pcapsule_guest::conventions::schema::pagination;
use serde_json::{Value, json};

fn counts() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "integer"}})
}

fn opt_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn spread(unit: &str) -> Value {
    json!({
        "type": ["object", "null"],
        "description": format!("count, min, avg, max in {unit}; null when no call had the measure."),
        "properties": {"count": {"type": "integer"}, "min": {"type": "number"}, "avg": {"type": "number"}, "max": {"type": "number"}}
    })
}

pub fn sip() -> Value {
    let statistics = json!({
        "type": "object",
        "properties": {
            "requests": {"type": "integer"},
            "responses": {"type": "integer"},
            "methods": counts(),
            "response_classes": {"type": "object", "description": "Responses by class: 1xx ... 6xx.", "additionalProperties": {"type": "integer"}},
            "response_codes": {"type": "object", "description": "Responses by exact status code.", "additionalProperties": {"type": "integer"}},
            "unique_call_ids": {"type": "integer", "description": "Distinct Call-IDs (a lower bound when tables_exact is false)."},
            "call_ids": {"type": "array", "items": {"type": "string"}, "description": "The first 50 distinct Call-IDs."},
            "transports": {"type": "object", "description": "Messages by transport: UDP, TCP, SCTP (RFC 4168), WS (SIP over WebSocket, RFC 7118).", "additionalProperties": {"type": "integer"}},
            "via_transports": {"type": "object", "description": "Messages by the transport named in the top Via (UDP, TCP, TLS, WS...).", "additionalProperties": {"type": "integer"}},
            "user_agents": {"type": "array", "items": {"type": "string"}, "description": "Up to 50 User-Agent values, most frequent first."},
            "top_user_agents": counts(),
            "servers": {"type": "array", "items": {"type": "string"}, "description": "Up to 50 Server values, most frequent first."},
            "codecs": {"type": "object", "description": "Codecs offered in SDP bodies (top 20).", "additionalProperties": {"type": "integer"}},
            "messages_with_sdp": {"type": "integer"},
            "found_on_other_ports": {"type": "integer", "description": "Messages on ports other than 5060/5061/5080/6060, recognised by content (WebSocket messages, announced by their handshake, are not counted)."},
            "malformed_messages": {"type": "integer", "description": "Messages with at least one flag."},
            "malformed_flags": {"type": "object", "description": "Messages per flag (junk_before_start_line, no_line_terminator, bare_lf_line_endings, headers_not_terminated, long_header_line, too_many_headers, folded_header, header_without_colon, invalid_header_name, repeated_single_value_header, invalid_content_length, missing_content_length, content_length_exceeds_data, data_after_body, missing_call_id, missing_cseq, body_exceeds_stream_buffer, stream_ended_mid_message; over WebSocket: ws_malformed_frame, ws_message_exceeds_buffer, ws_message_interrupted).", "additionalProperties": {"type": "integer"}},
            "malformed_examples": {"type": "array", "items": {"type": "object", "properties": {"packet_number": {"type": "integer"}, "flags": {"type": "array"}}}},
            "tables_exact": {"type": "boolean", "description": "False when a bounded table had to drop rare keys."}
        }
    });
    let calls = json!({
        "type": "object",
        "description": "INVITE dialogs among the tracked Call-IDs.",
        "properties": {
            "total": {"type": "integer"},
            "outcomes": {"type": "object", "description": "answered, busy, cancelled, failed, no_final_response.", "additionalProperties": {"type": "integer"}},
            "final_codes": counts(),
            "post_dial_delay_ms": spread("milliseconds from the INVITE (of the transaction that got it, so after any 401/407 challenge) to the first 18x"),
            "time_to_answer_ms": spread("milliseconds from that INVITE to the 2xx"),
            "duration_seconds": spread("seconds from the 2xx to the BYE"),
            "hung_up_by": {"type": "object", "description": "Calls ended by a BYE from the caller or the callee.", "additionalProperties": {"type": "integer"}},
            "dialogs_tracked": {"type": "integer"},
            "dialogs_untracked": {"type": "integer", "description": "Call-IDs seen after the dialog table was full (1000); counted only."}
        }
    });
    let step = json!({"type": "object", "properties": {
        "packet_number": {"type": "integer"}, "offset_ms": {"type": ["number", "null"]},
        "source": {"type": "string"}, "destination": {"type": "string"}, "message": {"type": "string"}}});
    let dialog = json!({
        "type": "object",
        "properties": {
            "call_id": {"type": "string"},
            "first_packet": {"type": "integer"},
            "first_seen": opt_string(),
            "last_seen": opt_string(),
            "first_method": opt_string(),
            "from": opt_string(),
            "to": opt_string(),
            "messages": {"type": "integer"},
            "ladder": {"type": "array", "items": step, "description": "The first 12 messages, in capture order."},
            "ladder_steps_not_shown": {"type": "integer"},
            "call": {"type": "object", "properties": {
                "outcome": {"type": "string", "enum": ["answered", "busy", "cancelled", "failed", "no_final_response"]},
                "final_code": {"type": ["integer", "null"]},
                "invites": {"type": "integer", "description": "INVITE transactions (distinct CSeq) before the answer."},
                "invite_retransmissions": {"type": "integer"},
                "post_dial_delay_ms": {"type": ["number", "null"]},
                "time_to_answer_ms": {"type": ["number", "null"]},
                "duration_seconds": {"type": ["number", "null"]},
                "hung_up_by": {"type": ["string", "null"], "enum": ["caller", "callee", null]},
                "bye_packet": {"type": ["integer", "null"]}
            }}
        }
    });
    let binding = json!({"type": "object", "properties": {
        "address_of_record": {"type": "string"}, "client": {"type": "string"},
        "attempts": {"type": "integer"}, "challenges": {"type": "integer"}, "successes": {"type": "integer"},
        "failures": counts(), "contact": opt_string(), "expires": opt_string(), "user_agent": opt_string(),
        "first_packet": {"type": "integer"}, "last_packet": {"type": "integer"}}});
    let sdp = json!({"type": "object", "properties": {
        "origin": opt_string(), "session_name": opt_string(), "connection_address": opt_string(),
        "media": {"type": "array", "items": {"type": "object", "properties": {
            "media": {"type": "string"}, "port": {"type": ["integer", "null"]}, "protocol": {"type": "string"},
            "formats": {"type": "array"}, "codecs": {"type": "array", "items": {"type": "string"}},
            "address": opt_string(), "direction": {"type": "string"}}}},
        "media_dropped": {"type": "integer"}}});
    let packet = json!({
        "type": "object",
        "properties": {
            "packet_number": {"type": "integer", "description": "The frame carrying (over TCP: completing) the message."},
            "timestamp": opt_string(),
            "source_ip": {"type": "string"},
            "destination_ip": {"type": "string"},
            "source_port": {"type": "integer"},
            "destination_port": {"type": "integer"},
            "transport": {"type": "string", "enum": ["UDP", "TCP", "SCTP", "WS"]},
            "message_type": {"type": "string", "enum": ["request", "response"]},
            "start_line": {"type": "string"},
            "call_id": opt_string(),
            "cseq": opt_string(),
            "from": opt_string(),
            "to": opt_string(),
            "contact": opt_string(),
            "user_agent": opt_string(),
            "server": opt_string(),
            "via": {"type": ["string", "null"], "description": "The top Via."},
            "via_all": {"type": "array", "items": {"type": "string"}, "description": "Every Via in order, when there are several."},
            "content_type": opt_string(),
            "content_length": {"type": ["integer", "null"], "description": "The Content-Length header, null when absent or not a number."},
            "body_length": {"type": "integer"},
            "known_sip_port": {"type": "boolean", "description": "On 5060/5061/5080/6060, or over WebSocket (any port)."},
            "headers": {"type": "object", "description": "Every header by full lower-case name (compact forms expanded); repeated headers joined with \", \" in order.", "additionalProperties": {"type": "string"}},
            "summary": {"type": "string"},
            "method": {"type": "string"},
            "request_uri": {"type": "string"},
            "sip_version": {"type": "string"},
            "status_code": {"type": "integer"},
            "reason": {"type": "string"},
            "sdp": sdp,
            "flags": {"type": "array", "items": {"type": "string"}, "description": "Irregularities; see statistics.malformed_flags."}
        }
    });
    json!({
        "type": "object",
        "properties": {
            "file": {"type": "string"},
            "analysis_timestamp": {"type": "string"},
            "total_packets_in_file": {"type": "integer", "description": "Packets read (all of them unless max_packets stopped the analysis)."},
            "sip_packets_found": {"type": "integer", "description": "SIP messages found (a TCP segment may carry several)."},
            "sip_packets_analyzed": {"type": "integer"},
            "statistics": statistics,
            "calls": calls,
            "dialogs": {"type": "object", "properties": {
                "total": {"type": "integer"}, "shown": {"type": "integer"},
                "items": {"type": "array", "items": dialog, "description": "The first 20 Call-IDs by first appearance."}}},
            "registrations": {"type": "object", "properties": {
                "attempts": {"type": "integer"}, "challenges": {"type": "integer"}, "successes": {"type": "integer"},
                "failures": {"type": "integer"}, "bindings_tracked": {"type": "integer"}, "bindings_untracked": {"type": "integer"},
                "bindings": {"type": "array", "items": binding, "description": "Up to 20, most attempts first."}}},
            "observations": pcapsule_guest::conventions::schema::observations(),
            "packets": {"type": "array", "items": packet, "description": "One page of SIP messages; see pagination."},
            "pagination": pagination(),
            "capture": pcapsule_guest::conventions::schema::capture_facts(json!({
                "tcp_gaps": {"type": "integer"}, "tcp_streams_evicted": {"type": "integer"},
                "tcp_junk_bytes": {"type": "integer"}, "tcp_skipped_body_bytes": {"type": "integer"},
                "sctp": {"type": "object", "description": "SCTP packets read, and the user messages of their DATA and I-DATA chunks (SIP or not).", "properties": {
                    "packets": {"type": "integer"},
                    "data_chunks": {"type": "integer"},
                    "messages": {"type": "integer", "description": "User messages, fragmented ones reassembled."},
                    "reassembled_messages": {"type": "integer"},
                    "incomplete_messages": {"type": "integer", "description": "Fragmented messages given up (fragments missing or past the bounds)."}}},
                "websocket": {"type": "object", "description": "SIP over WebSocket (RFC 7118): handshakes and frames.", "properties": {
                    "handshakes": {"type": "integer", "description": "HTTP upgrade requests for the sip subprotocol."},
                    "upgrades": {"type": "integer", "description": "Of those, answered 101 Switching Protocols."},
                    "frames": {"type": "integer"},
                    "control_frames": {"type": "integer", "description": "Ping, pong and close frames (skipped)."},
                    "messages": {"type": "integer", "description": "Data messages (text or binary, fragments joined), SIP or not."},
                    "non_sip_messages": {"type": "integer"},
                    "compressed_messages": {"type": "integer", "description": "permessage-deflate messages, not decompressed."},
                    "malformed_frames": {"type": "integer", "description": "Frames breaking RFC 6455."},
                    "frame_problems": {"type": "object", "description": "Malformed frames by problem: bad_opcode, reserved_bits, unmasked_client_frame, masked_server_frame, fragmented_control_frame, control_frame_too_long, unexpected_continuation, unfinished_message, oversized_message (cut at 128 KiB), invalid_length (the framing is lost after it), truncated_frame.", "additionalProperties": {"type": "integer"}},
                    "skipped_bytes": {"type": "integer", "description": "Payload bytes not analyzed (beyond the cap, compressed, in skipped frames, or after lost framing)."}}}})),
            "warnings": {"type": "array", "items": {"type": "string"}},
            "message": {"type": "string"},
            "packets_analyzed": {"type": "integer"},
            "max_packets": {"type": ["integer", "null"]},
            "truncated": {"type": "boolean"}
        },
        "required": ["statistics", "packets", "pagination"]
    })
}
