//! JSON Schema of `analyze_dhcp_packets`'s result, as clients see it in `outputSchema`.

use pcapsule_guest::conventions::schema;

use crate::stats::LISTED;
use serde_json::{Value, json};

fn int(description: &str) -> Value {
    json!({"type": "integer", "description": description})
}

fn text(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn strings(description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": description})
}

fn time(description: &str) -> Value {
    json!({"type": ["number", "null"], "description": description})
}

fn latency() -> Value {
    json!({
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "min_seconds": {"type": "number"},
            "max_seconds": {"type": "number"},
            "mean_seconds": {"type": "number"}
        }
    })
}

fn counts_by_name(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "integer"}, "description": description})
}

/// A map from transaction id to the messages in it.
fn transactions(key: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("The first {LISTED} transactions by id ({key}), each with up to 20 of its messages in order."),
        "additionalProperties": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "packet_number": int("The message's packet_number (position among DHCP packets)."),
                    "frame_number": int("Frame number in the capture."),
                    "message_type": {"type": "string"},
                    "timestamp": time("Seconds since the epoch.")
                }
            }
        }
    })
}

fn status() -> Value {
    json!({
        "type": "object",
        "properties": {"code": {"type": "integer"}, "name": {"type": "string"}, "message": {"type": "string"}}
    })
}

fn ia() -> Value {
    let lease = json!({
        "type": "object",
        "properties": {
            "address": {"type": "string"},
            "prefix": {"type": "string", "description": "Delegated prefix, address/length."},
            "preferred_lifetime": {"type": "integer"},
            "valid_lifetime": {"type": "integer"},
            "status": status()
        }
    });
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "iaid": {"type": "integer"},
                "t1": {"type": "integer"},
                "t2": {"type": "integer"},
                "addresses": {"type": "array", "items": lease.clone()},
                "prefixes": {"type": "array", "items": lease},
                "status": status()
            }
        }
    })
}

/// The DHCPv6 part of a packet entry; recursive through `relayed_message`
/// via `$defs`.
fn v6_message() -> Value {
    json!({
        "type": "object",
        "properties": {
            "message_type": {"type": "string"},
            "message_type_code": {"type": "integer"},
            "transaction_id": text("DHCPv6 transaction id, 0x%06x (absent in relay messages)."),
            "hop_count": {"type": "integer"},
            "link_address": {"type": "string"},
            "peer_address": {"type": "string"},
            "client_duid": text("Client DUID, hex."),
            "client_duid_type": {"type": "string"},
            "client_link_layer_address": text("MAC inside a link-layer DUID."),
            "server_duid": {"type": "string"},
            "server_duid_type": {"type": "string"},
            "server_link_layer_address": {"type": "string"},
            "ia_na": ia(),
            "ia_ta": ia(),
            "ia_pd": ia(),
            "status": status(),
            "options": {"type": "object", "additionalProperties": {"type": ["string", "array"]},
                        "description": "Other DHCPv6 options by name."},
            "relayed_message": {"$ref": "#/$defs/v6_message"}
        }
    })
}

fn packet() -> Value {
    let mut properties = json!({
        "packet_number": int("Position among the DHCP packets, from 1 (mcpcap's numbering)."),
        "frame_number": int("Position in the capture, as Wireshark numbers frames."),
        "timestamp": time("Seconds since the epoch."),
        "protocol": {"type": "string", "enum": ["DHCPv4", "DHCPv6"]},
        "src_ip": {"type": "string"},
        "dst_ip": {"type": "string"},
        "src_port": {"type": "integer"},
        "dst_port": {"type": "integer"},
        "op": {"type": "string", "enum": ["Request", "Reply"]},
        "transaction_id": text("xid: 0x%08x for DHCPv4, 0x%06x for DHCPv6."),
        "client_ip": text("ciaddr."),
        "your_ip": text("yiaddr: the address a server offers or assigns."),
        "server_ip": text("siaddr: next server (boot server)."),
        "relay_ip": text("giaddr: the relay agent, 0.0.0.0 when not relayed."),
        "client_mac": text("chaddr (hlen bytes)."),
        "options": {
            "type": "object",
            "description": "DHCP options by name (scapy/mcpcap names; option_N when unnamed). Values are text; \
                            parameter_request_list (and DHCPv6 option_request) are lists of option codes. \
                            lease_time, renewal_time and rebinding_time read \"N seconds\".",
            "additionalProperties": {"type": ["string", "array"]}
        },
        "message_type": text("DISCOVER, OFFER, ... TLS (DHCPv4); SOLICIT, ADVERTISE, ... (DHCPv6)."),
        "message_type_code": {"type": "integer"},
        "client_id": text("Option 61, hex."),
        "requested_ip": text("Option 50."),
        "lease_time": int("Option 51, seconds."),
        "renewal_time": int("Option 58 (T1), seconds."),
        "rebinding_time": int("Option 59 (T2), seconds."),
        "server_id": text("Option 54."),
        "hostname": text("Option 12."),
        "vendor_class_id": text("Option 60."),
        "relay_agent": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Option 82 sub-options: circuit_id, remote_id, subscriber_id, link_selection ..."},
        "option_overload": {"type": "string", "enum": ["file", "sname", "file+sname", "invalid"],
                            "description": "Option 52: which header fields carried more options."},
        "server_name": text("sname, when not used for options."),
        "boot_file": text("file, when not used for options."),
        "htype": {"type": "integer"},
        "hops": {"type": "integer"},
        "secs": {"type": "integer"},
        "broadcast_flag": {"type": "boolean"},
        "bootp_only": {"type": "boolean", "description": "Plain BOOTP: no DHCP magic cookie."},
        "non_standard_port": {"type": "boolean", "description": "Found by its magic cookie off ports 67/68."},
        "malformed": {"type": "boolean"},
        "problems": strings("What is wrong or odd in this message (up to 10).")
    });
    let v6 = v6_message();
    for (key, value) in v6["properties"].as_object().expect("object").iter() {
        properties.as_object_mut().expect("object").entry(key.clone()).or_insert_with(|| value.clone());
    }
    json!({"type": "object", "properties": properties, "required": ["packet_number", "frame_number", "protocol"]})
}

fn statistics() -> Value {
    json!({
        "type": "object",
        "properties": {
            "unique_clients_count": int("Distinct client hardware addresses (chaddr)."),
            "unique_servers_count": int("Distinct server identifiers (option 54)."),
            "unique_clients": strings(&format!("The first {LISTED} client MACs.")),
            "unique_servers": strings(&format!("The first {LISTED} server identifiers.")),
            "message_type_counts": counts_by_name("DHCPv4 messages per type."),
            "transaction_count": int("Distinct DHCPv4 transaction ids."),
            "transactions": transactions("0x%08x"),
            "unique_clients_omitted": int("Clients beyond the listed ones."),
            "unique_servers_omitted": int("Servers beyond the listed ones."),
            "transactions_omitted": int("Transactions beyond the listed ones."),
            "transaction_messages_omitted": int("Messages of listed transactions beyond 20 each."),
            "counts_estimated": {"type": "boolean",
                                 "description": "Past 50,000 distinct values the distinct counts are estimates (about 3 %)."},
            "dhcpv4_packets": int("DHCPv4/BOOTP packets."),
            "dhcpv6_packets": int("DHCPv6 packets."),
            "bootp_packets": int("BOOTP packets without the DHCP magic cookie."),
            "malformed_packets": int("Truncated or broken DHCP messages (bad cookies included)."),
            "bad_magic_cookie_packets": int("DHCPv4 packets whose magic cookie is wrong."),
            "non_standard_port_packets": int("DHCPv4 found off ports 67/68 by its magic cookie."),
            "dhcpv6": {
                "type": "object",
                "properties": {
                    "messages": int("DHCPv6 packets."),
                    "relayed_messages": int("RELAY-FORW/RELAY-REPL packets carrying a message."),
                    "message_type_counts": counts_by_name("Messages per type, relayed messages included."),
                    "unique_clients_count": int("Distinct client DUIDs."),
                    "unique_clients": {"type": "array", "items": {"type": "object", "properties": {
                        "duid": {"type": "string"}, "link_layer_address": {"type": "string"}}}},
                    "unique_servers_count": int("Distinct server DUIDs."),
                    "unique_servers": strings(&format!("The first {LISTED} server DUIDs.")),
                    "transaction_count": int("Distinct DHCPv6 transaction ids."),
                    "transactions": transactions("0x%06x"),
                    "transactions_omitted": {"type": "integer"},
                    "leases": {
                        "type": "object",
                        "properties": {
                            "count": int("Addresses and prefixes assigned in REPLY messages."),
                            "listed": {"type": "array", "items": {"type": "object", "properties": {
                                "address": {"type": "string"},
                                "temporary_address": {"type": "string"},
                                "prefix": {"type": "string"},
                                "iaid": {"type": "integer"},
                                "client_duid": {"type": "string"},
                                "client_link_layer_address": {"type": "string"},
                                "server_duid": {"type": "string"},
                                "preferred_lifetime": {"type": "integer"},
                                "valid_lifetime": {"type": "integer"},
                                "frame_number": {"type": "integer"},
                                "assigned_at": time("Seconds since the epoch."),
                                "assigned_at_iso": {"type": ["string", "null"]}
                            }}},
                            "omitted": {"type": "integer"}
                        }
                    }
                }
            }
        }
    })
}

fn transaction_summary() -> Value {
    json!({
        "type": "object",
        "description": format!("DHCPv4 transactions: outcomes and latency over all of them (timing follows the 4,096 \
                        most recent open ones besides the listed), and the first {LISTED} in detail."),
        "properties": {
            "count": int("Distinct transaction ids."),
            "completed": int("Transactions that reached an ACK."),
            "refused": int("Transactions answered with a NAK."),
            "answered_by_several_servers": int("Transactions with replies from more than one server."),
            "latency": {"type": "object", "properties": {
                "discover_to_offer": latency(), "discover_to_ack": latency(), "request_to_ack": latency()}},
            "listed": {"type": "array", "items": {"type": "object", "properties": {
                "transaction_id": {"type": "string"},
                "client_mac": {"type": "string"},
                "sequence": strings("Message types in order (up to 16)."),
                "first_seen": time("Seconds since the epoch."),
                "duration_seconds": {"type": "number"},
                "outcome": {"type": "string", "enum": ["ACK", "NAK", "offered, not acknowledged", "unanswered"]},
                "discover_to_offer_seconds": {"type": "number"},
                "discover_to_ack_seconds": {"type": "number"},
                "request_to_ack_seconds": {"type": "number"},
                "offered_ip": {"type": "string"},
                "assigned_ip": {"type": "string"},
                "servers": strings("Servers that answered (up to 4).")
            }}},
            "omitted": int("Transactions beyond the listed ones.")
        }
    })
}

fn clients() -> Value {
    json!({
        "type": "object",
        "description": format!("DHCPv4 clients by hardware address, busiest {LISTED} (of the first 1,000 seen)."),
        "properties": {
            "count": {"type": "integer"},
            "listed": {"type": "array", "items": {"type": "object", "properties": {
                "client_mac": {"type": "string"},
                "messages": {"type": "integer"},
                "message_type_counts": counts_by_name("Messages per type."),
                "first_seen": time("Seconds since the epoch."),
                "last_seen": time("Seconds since the epoch."),
                "hostname": {"type": "string"},
                "vendor_class_id": {"type": "string"},
                "client_id": {"type": "string"},
                "requested_ip": {"type": "string"},
                "assigned_ip": text("Last address ACKed to it."),
                "lease_time": {"type": "integer"},
                "servers": strings("Servers that ACKed it (up to 4)."),
                "relays": strings("Relay agents (giaddr) seen for it (up to 4).")
            }}},
            "omitted": {"type": "integer"}
        }
    })
}

fn servers() -> Value {
    json!({
        "type": "object",
        "description": "DHCPv4 servers that sent replies, by server identifier (or source address).",
        "properties": {
            "count": {"type": "integer"},
            "more_untracked": {"type": "boolean", "description": "More than 256 servers: the rest not tracked."},
            "multiple_servers": {"type": "boolean", "description": "More than one server answered."},
            "listed": {"type": "array", "items": {"type": "object", "properties": {
                "server_id": {"type": "string"},
                "source_ips": strings("Up to 4."),
                "source_macs": strings("Up to 4."),
                "offers": {"type": "integer"},
                "acks": {"type": "integer"},
                "naks": {"type": "integer"},
                "other_replies": {"type": "integer"},
                "clients": int("Distinct clients answered (counted up to 1,000)."),
                "clients_at_least": {"type": "boolean"},
                "relayed_replies": {"type": "integer"},
                "routers": strings("Router option values handed out (up to 4)."),
                "dns_servers": strings("DNS server option values handed out (up to 4)."),
                "lease_times": {"type": "array", "items": {"type": "integer"}},
                "first_seen": time("Seconds since the epoch."),
                "last_seen": time("Seconds since the epoch.")
            }}}
        }
    })
}

fn leases() -> Value {
    json!({
        "type": "object",
        "description": format!("DHCPv4 leases (ACKs with an address), the first {LISTED} in time order."),
        "properties": {
            "count": {"type": "integer"},
            "listed": {"type": "array", "items": {"type": "object", "properties": {
                "ip": {"type": "string"},
                "client_mac": {"type": "string"},
                "hostname": {"type": "string"},
                "server_id": {"type": "string"},
                "transaction_id": {"type": "string"},
                "packet_number": {"type": "integer"},
                "frame_number": {"type": "integer"},
                "granted_at": time("Seconds since the epoch."),
                "granted_at_iso": {"type": ["string", "null"]},
                "lease_time": {"type": "integer"},
                "renewal_time": {"type": "integer"},
                "rebinding_time": {"type": "integer"},
                "expires_at_iso": {"type": "string"},
                "ended_at_iso": {"type": "string"},
                "ended_by": {"type": "string", "enum": ["RELEASE", "DECLINE"]}
            }}},
            "omitted": {"type": "integer"}
        }
    })
}

/// The result schema.
pub fn dhcp() -> Value {
    json!({
        "type": "object",
        "$defs": {"v6_message": v6_message()},
        "properties": {
            "file": text("The capture as given."),
            "analysis_timestamp": text("When the analysis ran (UTC, RFC 3339)."),
            "total_packets": int("Packets read from the capture (up to max_packets)."),
            "dhcp_packets_found": int("Packets carrying DHCPv4/BOOTP or DHCPv6."),
            "dhcp_packets_analyzed": int("DHCP packets analyzed (all found: max_packets caps packets read)."),
            "statistics": statistics(),
            "packets": {"type": "array", "items": packet(), "description": "One page of DHCP packets."},
            "pagination": schema::pagination(),
            "transaction_summary": transaction_summary(),
            "clients": clients(),
            "servers": servers(),
            "leases": leases(),
            "observations": pcapsule_guest::conventions::schema::observations(),
            "capture": pcapsule_guest::conventions::schema::capture_facts(json!({})),
            "warnings": strings("Problems that limit the analysis (cut-short capture, undecodable packets)."),
            "message": text("Present when the capture holds no DHCP."),
            "packets_analyzed": {"type": "integer"},
            "max_packets": {"type": ["integer", "null"]},
            "truncated": {"type": "boolean", "description": "True when max_packets stopped the analysis early."}
        },
        "required": ["file", "total_packets", "dhcp_packets_found", "dhcp_packets_analyzed", "statistics",
                     "packets", "pagination", "capture", "warnings"]
    })
}
