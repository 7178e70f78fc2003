//! JSON Schema of `analyze_dns_packets`'s result, as clients see it in `outputSchema`.

use pcapsule_guest::conventions::schema::pagination;
use serde_json::{Value, json};

fn counts() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "integer"}})
}

fn table(key: &str) -> Value {
    json!({"type": "array", "items": {"type": "object", "properties": {key: {"type": "string"}, "count": {"type": "integer"}}}})
}

fn record() -> Value {
    json!({
        "type": "object",
        "description": "A resource record: mcpcap's name/type/class/ttl/data plus typed fields (address, cname, target, preference/exchange, priority/weight/port, soa, txt, rdata_hex).",
        "properties": {
            "name": {"type": "string"}, "type": {"type": "integer"}, "type_name": {"type": "string"},
            "class": {"type": "integer"}, "ttl": {"type": "integer"}, "data": {"type": "string"},
            "address": {"type": "string"}, "cname": {"type": "string"}, "target": {"type": "string"},
            "preference": {"type": "integer"}, "exchange": {"type": "string"},
            "priority": {"type": "integer"}, "weight": {"type": "integer"}, "port": {"type": "integer"},
            "soa": {
                "type": "object",
                "properties": {
                    "mname": {"type": "string"}, "rname": {"type": "string"}, "serial": {"type": "integer"},
                    "refresh": {"type": "integer"}, "retry": {"type": "integer"}, "expire": {"type": "integer"},
                    "minimum": {"type": "integer"}
                }
            },
            "txt": {"type": "array", "items": {"type": "string"}},
            "rdata_hex": {"type": "string", "description": "RDATA of a type without a decoder, in hex."}
        }
    })
}

pub fn dns() -> Value {
    let statistics = json!({
        "type": "object",
        "properties": {
            "queries": {"type": "integer"},
            "responses": {"type": "integer"},
            "unique_domains_queried": {"type": "integer", "description": "Distinct question names (a lower bound when unique_domains_exact is false)."},
            "unique_domains": {"type": "array", "items": {"type": "string"}, "description": "The 100 most frequent question names."},
            "unique_domains_exact": {"type": "boolean"},
            "messages": {"type": "integer"},
            "malformed_messages": {"type": "integer"},
            "malformed_examples": {"type": "array"},
            "found_on_other_ports": {"type": "integer"},
            "mdns_messages": {"type": "integer"},
            "transports": counts(),
            "opcodes": counts(),
            "rcodes": counts(),
            "query_types": counts(),
            "top_queried_names": table("name"),
            "top_clients": table("client"),
            "top_resolvers": table("server"),
            "truncated_responses": {"type": "integer"},
            "authoritative_responses": {"type": "integer"},
            "edns_messages": {"type": "integer"},
            "dnssec_ok_messages": {"type": "integer"},
            "tables_exact": {"type": "boolean", "description": "False when a top-N table had to drop rare keys to stay bounded."}
        }
    });
    let transactions = json!({
        "type": "object",
        "description": "Queries matched to responses by (client, client port, server, id, question).",
        "properties": {
            "matched": {"type": "integer"},
            "unanswered_queries": {"type": "integer", "description": "Queries sent that no response answered, retransmissions included."},
            "retransmitted_queries": {"type": "integer", "description": "Queries repeating one not answered yet (same client, port, server, id and question); a response answers the latest."},
            "duplicate_responses": {"type": "integer"},
            "unsolicited_responses": {"type": "integer"},
            "response_time_ms": {"type": ["object", "null"], "properties": {"min": {"type": "number"}, "avg": {"type": "number"}, "max": {"type": "number"}}},
            "response_time_histogram": counts(),
            "slowest": {"type": "array"},
            "unanswered_examples": {"type": "array"},
            "duplicate_examples": {"type": "array"},
            "untracked_for_capacity": {"type": "integer"},
            "answer_window_seconds": {"type": "number"}
        }
    });
    let packet = json!({
        "type": "object",
        "properties": {
            "packet_number": {"type": "integer"},
            "timestamp": {"type": ["string", "null"]},
            "source_ip": {"type": "string"},
            "destination_ip": {"type": "string"},
            "source_port": {"type": "integer"},
            "destination_port": {"type": "integer"},
            "protocol": {"type": "string", "enum": ["UDP", "TCP"]},
            "dns_id": {"type": "integer"},
            "flags": {"type": "object"},
            "opcode": {"type": "string"},
            "rcode": {"type": ["string", "null"]},
            "questions": {"type": "array", "items": {"type": "object"}},
            "answers": {"type": "array", "items": record()},
            "authorities": {"type": "array", "items": record()},
            "additionals": {"type": "array", "items": record()},
            "edns": {"type": ["object", "null"]},
            "response_time_ms": {"type": ["number", "null"]},
            "summary": {"type": "string"},
            "detected_by": {"type": "string"},
            "malformed": {"type": "string"}
        }
    });
    json!({
        "type": "object",
        "properties": {
            "file": {"type": "string"},
            "analysis_timestamp": {"type": "string"},
            "total_packets_in_file": {"type": "integer", "description": "Packets read (all of them unless max_packets stopped the analysis)."},
            "dns_packets_found": {"type": "integer", "description": "DNS messages found (a TCP segment may carry several)."},
            "dns_packets_analyzed": {"type": "integer"},
            "statistics": statistics,
            "transactions": transactions,
            "observations": pcapsule_guest::conventions::schema::observations(),
            "packets": {"type": "array", "items": packet, "description": "One page of DNS messages; see pagination."},
            "pagination": pagination(),
            "capture": pcapsule_guest::conventions::schema::capture_facts(json!({
                "tcp_gaps": {"type": "integer", "description": "Holes in DNS TCP streams the capture does not fill."},
                "tcp_incomplete_bytes": {"type": "integer", "description": "Bytes of DNS messages over TCP never completed."}})),
            "warnings": {"type": "array", "items": {"type": "string"}},
            "message": {"type": "string"},
            "packets_analyzed": {"type": "integer"},
            "max_packets": {"type": ["integer", "null"]},
            "truncated": {"type": "boolean"}
        },
        "required": ["statistics", "packets", "pagination"]
    })
}
