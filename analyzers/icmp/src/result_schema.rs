//! JSON Schema of `analyze_icmp_packets`'s result, as clients see it in `outputSchema`.

use serde_json::{Value, json};

fn int() -> Value {
    json!({"type": "integer"})
}

fn int_or_null() -> Value {
    json!({"type": ["integer", "null"]})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn string_or_null() -> Value {
    json!({"type": ["string", "null"]})
}

fn bool_() -> Value {
    json!({"type": "boolean"})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

/// `{min, avg, max}` in milliseconds, or null.
fn rtt() -> Value {
    json!({
        "type": ["object", "null"],
        "description": "Round-trip times in milliseconds; null without a matched reply.",
        "properties": {"min": {"type": "number"}, "avg": {"type": "number"}, "max": {"type": "number"}}
    })
}

fn ip_and_count() -> Value {
    json!({"type": "array", "items": {"type": "object", "properties": {"ip": string(), "messages": int()}}})
}

fn interface() -> Value {
    json!({
        "type": "object",
        "properties": {
            "role": string(),
            "if_index": int(),
            "address": string(),
            "name": string(),
            "mtu": int()
        }
    })
}

fn original() -> Value {
    json!({
        "type": "object",
        "description": "The datagram this error (or ICMPv6 redirect) quotes: the flow that failed.",
        "properties": {
            "ip_version": int(),
            "src_ip": string(),
            "dst_ip": string(),
            "protocol": int(),
            "protocol_name": string(),
            "ttl": described(int(), "TTL/hop limit left when it was dropped (not the TTL it was sent with)."),
            "ip_id": int(),
            "src_port": int(),
            "dst_port": int(),
            "icmp_type": int(),
            "icmp_code": int(),
            "icmp_id": int(),
            "icmp_seq": int(),
            "quoted_bytes": int(),
            "problem": string()
        }
    })
}

fn packet() -> Value {
    json!({
        "type": "object",
        "properties": {
            "packet_number": described(int(), "1-based position among the ICMP messages (as mcpcap numbers them)."),
            "timestamp": described(string_or_null(), "Capture time, RFC 3339 UTC."),
            "src_ip": string(),
            "dst_ip": string(),
            "ip_version": int(),
            "ttl": described(int(), "IPv4 TTL or IPv6 hop limit."),
            "packet_size": described(int(), "Captured frame length in bytes."),
            "icmp_type": int(),
            "icmp_code": int(),
            "icmp_type_name": string(),
            "icmp_id": described(int_or_null(), "Identifier of echo, timestamp, information, address mask and extended echo messages."),
            "icmp_seq": int_or_null(),
            "checksum": int_or_null(),
            "icmp_code_name": string(),
            "original_dst_ip": described(string_or_null(), "Destination of the quoted datagram (errors and ICMPv6 redirects)."),
            "frame_number": described(int(), "Frame number in the capture, as Wireshark numbers it."),
            "protocol": {"type": "string", "enum": ["ICMP", "ICMPv6"]},
            "checksum_valid": described(json!({"type": ["boolean", "null"]}), "Null when the message was not captured whole."),
            "payload_size": described(int(), "Captured bytes after the 8-byte ICMP header."),
            "fragmented": described(bool_(), "Present when the message is in the first fragment of a fragmented datagram."),
            "request_frame": described(int(), "Echo replies: frame of the request answered."),
            "rtt_ms": described(json!({"type": ["number", "null"]}), "Echo replies: round-trip time."),
            "duplicate_reply": described(bool_(), "Present on a second reply to the same request."),
            "mtu": described(int(), "Next-hop MTU of fragmentation required / packet too big."),
            "pointer": described(int(), "Parameter problem pointer."),
            "gateway": described(string(), "ICMP redirect: the gateway to use."),
            "original": original(),
            "neighbor_discovery": {
                "type": "object",
                "properties": {
                    "target_address": string(),
                    "destination_address": string(),
                    "router_flag": bool_(),
                    "solicited_flag": bool_(),
                    "override_flag": bool_(),
                    "source_link_layer_address": string(),
                    "target_link_layer_address": string(),
                    "cur_hop_limit": int(),
                    "managed_flag": bool_(),
                    "other_config_flag": bool_(),
                    "router_lifetime_s": int(),
                    "reachable_time_ms": int(),
                    "retrans_timer_ms": int(),
                    "prefixes": {"type": "array", "items": {"type": "object", "properties": {
                        "prefix": string(),
                        "on_link": bool_(),
                        "autonomous": bool_(),
                        "valid_lifetime_s": int(),
                        "preferred_lifetime_s": int()
                    }}},
                    "mtu_option": int(),
                    "other_options": {"type": "array", "items": int(), "description": "Types of other ND options."}
                }
            },
            "mld": {
                "type": "object",
                "properties": {
                    "multicast_address": string(),
                    "max_response_delay_ms": int(),
                    "sources": int(),
                    "records_total": int(),
                    "records": {"type": "array", "items": {"type": "object", "properties": {
                        "record_type": string(),
                        "multicast_address": string(),
                        "sources": int()
                    }}}
                }
            },
            "extended_echo": {
                "type": "object",
                "description": "RFC 8335 PROBE.",
                "properties": {
                    "local": bool_(),
                    "state": string(),
                    "active": bool_(),
                    "ipv4": bool_(),
                    "ipv6": bool_(),
                    "probed_interface": interface()
                }
            },
            "extensions": {
                "type": "array",
                "description": "RFC 4884 extension objects (RFC 4950 MPLS labels, RFC 5837 interface information).",
                "items": {"type": "object", "properties": {
                    "class_num": int(),
                    "c_type": int(),
                    "name": string(),
                    "length": int(),
                    "mpls_labels": {"type": "array", "items": int()},
                    "interface": interface()
                }}
            },
            "timestamps": {"type": "object", "properties": {
                "originate_ms": int(), "receive_ms": int(), "transmit_ms": int()
            }},
            "address_mask": string(),
            "problems": described(strings(), "Truncation, bad checksum, unreadable quote, ...: `kind: detail`.")
        }
    })
}

fn statistics() -> Value {
    json!({
        "type": "object",
        "properties": {
            "icmp_type_counts": {
                "type": "object",
                "description": "Messages per type name (ICMP and ICMPv6 together, as mcpcap).",
                "additionalProperties": int()
            },
            "unique_sources_count": int(),
            "unique_destinations_count": int(),
            "unique_sources": described(strings(), "The 100 busiest sources."),
            "unique_destinations": described(strings(), "The 100 busiest destinations."),
            "echo_sessions": described(int(), "Distinct echo identifiers."),
            "echo_pairs": {
                "type": "object",
                "description": "Echo requests and replies per identifier (the 100 busiest).",
                "additionalProperties": {"type": "object", "properties": {"requests": int(), "replies": int()}}
            },
            "unreachable_destinations_count": int(),
            "unreachable_destinations": described(strings(), "Destinations of datagrams quoted by destination unreachable messages (100 most reported)."),
            "icmpv4_messages": int(),
            "icmpv6_messages": int(),
            "type_code_counts": {"type": "array", "items": {"type": "object", "properties": {
                "protocol": string(),
                "icmp_type": int(),
                "icmp_code": int(),
                "icmp_type_name": string(),
                "icmp_code_name": string(),
                "count": int()
            }}},
            "unique_sources_omitted": int(),
            "unique_destinations_omitted": int(),
            "unreachable_destinations_omitted": int(),
            "echo_pairs_omitted": int(),
            "error_reporters": described(ip_and_count(), "Who sent ICMP errors (routers, hosts)."),
            "top_sources": ip_and_count(),
            "unusual_codes": described(int(), "Messages whose code their type does not define."),
            "smallest_reported_mtu": int_or_null(),
            "first_message_time": string_or_null(),
            "last_message_time": string_or_null(),
            "duration_seconds": json!({"type": ["number", "null"]}),
            "messages_per_second": json!({"type": ["number", "null"]}),
            "peak_messages_per_second": described(int(), "Most ICMP messages within one calendar second."),
            "peak_second": string_or_null()
        }
    })
}

/// The result schema.
pub fn result() -> Value {
    json!({
        "type": "object",
        "properties": {
            "file": string(),
            "analysis_timestamp": described(string(), "When the analysis ran, RFC 3339."),
            "total_packets": described(int(), "Packets read (all of them unless `truncated`)."),
            "icmp_packets_found": described(int(), "Packets carrying ICMP or ICMPv6 (later IP fragments and empty ones included)."),
            "icmp_packets_analyzed": described(int(), "ICMP messages decoded: in the statistics and the `packets` list."),
            "statistics": statistics(),
            "echo_summary": {
                "type": "object",
                "properties": {
                    "requests": int(),
                    "repeated_requests": described(int(), "Copies of a request (same identifier and sequence) seen before its reply: not counted as lost."),
                    "replies": int(),
                    "answered_requests": int(),
                    "unanswered_requests": int(),
                    "duplicate_replies": int(),
                    "unmatched_replies": described(int(), "Replies to no captured request."),
                    "loss_percent": json!({"type": ["number", "null"]}),
                    "rtt_ms": rtt(),
                    "payload_bytes": {"type": ["object", "null"], "properties": {"min": int(), "avg": {"type": "number"}, "max": int()}},
                    "large_payloads": described(int(), "Echo messages carrying more than 128 bytes of data."),
                    "distinct_payload_sizes": int(),
                    "common_payload_sizes": {"type": "array", "items": {"type": "object", "properties": {"bytes": int(), "messages": int()}}},
                    "reply_payload_mismatches": described(int(), "Replies whose data differs from their request's."),
                    "conversations_tracked": int(),
                    "conversations_untracked_messages": int(),
                    "pending_requests_evicted": int()
                }
            },
            "echo_conversations": {
                "type": "array",
                "description": "Echo conversations (requester, responder, identifier), the 50 busiest.",
                "items": {"type": "object", "properties": {
                    "kind": {"type": "string", "enum": ["echo", "extended_echo"]},
                    "ip_version": int(),
                    "requester": string(),
                    "responder": string(),
                    "icmp_id": int(),
                    "requests": int(),
                    "repeated_requests": int(),
                    "replies": int(),
                    "answered_requests": int(),
                    "unanswered_requests": int(),
                    "duplicate_replies": int(),
                    "unmatched_replies": int(),
                    "loss_percent": json!({"type": ["number", "null"]}),
                    "rtt_ms": rtt(),
                    "payload_bytes": {"type": "object", "properties": {"min": int_or_null(), "max": int()}},
                    "first_seen": string_or_null(),
                    "last_seen": string_or_null()
                }}
            },
            "echo_conversations_omitted": int(),
            "echo_requesters": {
                "type": "array",
                "description": "Sources of echo requests by number of destinations (sweeps first).",
                "items": {"type": "object", "properties": {
                    "source": string(),
                    "destinations": int(),
                    "answering_destinations": int(),
                    "requests": int(),
                    "answered_requests": int()
                }}
            },
            "traceroutes": {
                "type": "array",
                "description": "Paths rebuilt from time exceeded messages; hops ordered by the TTL their probe was sent with.",
                "items": {"type": "object", "properties": {
                    "ip_version": int(),
                    "source": string(),
                    "destination": string(),
                    "protocol": int(),
                    "protocol_name": string_or_null(),
                    "messages": int(),
                    "matched_probes": described(int(), "Answers matched to a probe captured on its way out."),
                    "hop_order": {"type": "string", "enum": ["probe_ttl", "first_seen", "probe_ttl_then_first_seen"]},
                    "destination_reached": bool_(),
                    "first_seen": string_or_null(),
                    "hops": {"type": "array", "items": {"type": "object", "properties": {
                        "ttl": described(int_or_null(), "TTL the probe was sent with; null when the probe was not captured."),
                        "router": string(),
                        "responses": int(),
                        "rtt_ms": rtt(),
                        "answer": string(),
                        "first_seen": string_or_null(),
                        "first_frame": int()
                    }}},
                    "hops_omitted": int()
                }}
            },
            "traceroutes_omitted": int(),
            "failed_flows": {
                "type": "array",
                "description": "Errors by the flow they quote (time exceeded in transit is in `traceroutes`), the 50 most reported.",
                "items": {"type": "object", "properties": {
                    "icmp_type_name": string(),
                    "icmp_code_name": string(),
                    "protocol": string(),
                    "icmp_type": int(),
                    "icmp_code": int(),
                    "reporter": string(),
                    "original_src_ip": string(),
                    "original_dst_ip": string(),
                    "original_protocol": int(),
                    "original_protocol_name": string_or_null(),
                    "original_dst_port": int_or_null(),
                    "original_src_ports": {"type": "array", "items": int()},
                    "mtu": int_or_null(),
                    "messages": int(),
                    "first_seen": string_or_null()
                }}
            },
            "failed_flows_omitted": int(),
            "redirects": {"type": "array", "items": {"type": "object", "properties": {
                "router": string(),
                "host": string(),
                "destination": string_or_null(),
                "new_gateway": string_or_null(),
                "messages": int(),
                "first_seen": string_or_null()
            }}},
            "neighbor_discovery": {
                "type": "object",
                "properties": {
                    "router_solicitations": int(),
                    "router_advertisements": int(),
                    "neighbor_solicitations": int(),
                    "neighbor_advertisements": int(),
                    "redirects": int(),
                    "duplicate_address_detection_probes": int(),
                    "routers": {"type": "array", "items": {"type": "object", "properties": {
                        "router": string(),
                        "advertisements": int(),
                        "link_layer_address": string_or_null(),
                        "router_lifetime_s": int_or_null(),
                        "cur_hop_limit": int_or_null(),
                        "managed_flag": {"type": ["boolean", "null"]},
                        "other_config_flag": {"type": ["boolean", "null"]},
                        "mtu": int_or_null(),
                        "prefixes": strings()
                    }}},
                    "address_bindings": {"type": "array", "items": {"type": "object", "properties": {
                        "address": string(),
                        "link_layer_addresses": strings(),
                        "messages": int(),
                        "first_seen": string_or_null()
                    }}},
                    "conflicting_bindings": described(int(), "IPv6 addresses claimed from more than one link-layer address.")
                }
            },
            "multicast_listener_discovery": {
                "type": "object",
                "properties": {
                    "queries": int(),
                    "reports_v1": int(),
                    "dones": int(),
                    "reports_v2": int(),
                    "groups": {"type": "array", "items": {"type": "object", "properties": {"group": string(), "mentions": int()}}}
                }
            },
            "malformed": {
                "type": "object",
                "properties": {
                    "malformed_messages": described(int(), "Messages with at least one problem."),
                    "problems": {"type": "object", "additionalProperties": int(), "description": "Count per problem kind: truncated, snaplen, bad_length, bad_checksum, quoted_datagram, options."},
                    "empty_icmp_payloads": int(),
                    "fragmented_messages": int(),
                    "later_fragments": int()
                }
            },
            "packets": {"type": "array", "items": packet()},
            "pagination": pcapsule_guest::conventions::schema::pagination(),
            "capture": pcapsule_guest::conventions::schema::capture_facts(json!({})),
            "warnings": strings(),
            "message": described(string(), "Present when the capture holds no ICMP."),
            "packets_analyzed": int(),
            "max_packets": int_or_null(),
            "truncated": described(bool_(), "True when max_packets stopped the analysis early.")
        },
        "required": [
            "file", "analysis_timestamp", "total_packets", "icmp_packets_found", "icmp_packets_analyzed",
            "statistics", "packets", "pagination", "capture", "warnings"
        ]
    })
}
