//! JSON Schema of `analyze_capinfos`'s result, as clients see it in `outputSchema`.

use serde_json::{Value, json};

pub fn capinfos() -> Value {
    let number_or_null = json!({"type": ["number", "null"]});
    let string_or_null = json!({"type": ["string", "null"]});
    json!({
        "type": "object",
        "properties": {
            "file_size_bytes": {"type": ["integer", "null"], "description": "Size of the capture file."},
            "filename": {"type": "string", "description": "The capture as given (path or URL)."},
            "file_encapsulation": {"type": "string", "description": "Link type of the file, as Wireshark names it (\"Per packet\" when interfaces differ)."},
            "packet_count": {"type": "integer"},
            "data_size_bytes": {"type": "integer", "description": "Sum of packet lengths on the wire (as capinfos counts)."},
            "capture_duration_seconds": {"type": "number"},
            "first_packet_time": number_or_null.clone(),
            "last_packet_time": number_or_null.clone(),
            "data_rate_bytes": number_or_null.clone(),
            "data_rate_bits": number_or_null.clone(),
            "average_packet_size_bytes": number_or_null.clone(),
            "average_packet_rate": number_or_null,
            "file_type": {"type": "string", "enum": ["pcap", "nsecpcap", "modpcap", "pcapng"]},
            "file_type_description": {"type": "string"},
            "byte_order": {"type": "string"},
            "file_encapsulation_short": {"type": "string"},
            "timestamp_precision": {"type": "string"},
            "first_packet_time_iso": string_or_null.clone(),
            "last_packet_time_iso": string_or_null.clone(),
            "first_record_time_iso": string_or_null.clone(),
            "last_record_time_iso": string_or_null,
            "strict_time_order": {"type": "boolean"},
            "packets_without_timestamp": {"type": "integer", "description": "pcapng simple packet blocks carry no time; the time figures cover the other packets (capinfos then reports no times at all)."},
            "captured_size_bytes": {"type": "integer", "description": "Sum of captured packet lengths (less than data_size_bytes when the snaplen cut packets)."},
            "truncated_packets": {"type": "integer", "description": "Packets captured shorter than on the wire (snaplen)."},
            "smallest_packet_bytes": {"type": ["integer", "null"]},
            "largest_packet_bytes": {"type": ["integer", "null"]},
            "section_count": {"type": "integer"},
            "interface_count": {"type": "integer"},
            "interfaces": {
                "type": "array",
                "description": "The first 64 interfaces.",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "section": {"type": "integer"},
                        "name": {"type": ["string", "null"]},
                        "link_type": {"type": "integer"},
                        "encapsulation": {"type": "string"},
                        "encapsulation_short": {"type": "string"},
                        "snaplen": {"type": "integer"},
                        "timestamp_precision": {"type": "string"},
                        "ticks_per_second": {"type": "integer"},
                        "packets": {"type": "integer"}
                    }
                }
            },
            "cut_short": {
                "type": ["object", "null"],
                "description": "Where the file ends mid-record; the figures cover the packets before it.",
                "properties": {"offset": {"type": "integer"}, "reason": {"type": "string"}}
            },
            "warnings": {"type": "array", "items": {"type": "string"}},
            "packets_analyzed": {"type": "integer"},
            "max_packets": {"type": ["integer", "null"]},
            "truncated": {"type": "boolean", "description": "True when max_packets stopped the analysis early."}
        },
        "required": ["packet_count", "data_size_bytes", "file_type", "file_encapsulation", "interfaces", "warnings"]
    })
}
