//! What is in a capture, before choosing a protocol tool:
//! `analyze_protocol_hierarchy` gives the tree of protocols (tunnels
//! included, application protocols recognised by content);
//! `analyze_conversations` lists who talks to whom at one layer (Ethernet,
//! IP, TCP or UDP), with packets and bytes each way, timing, throughput,
//! the Community ID of each TCP/UDP flow and how far each TCP connection
//! got; `analyze_endpoints` sums them per address (and port);
//! `analyze_io_timeline` says when. One streaming pass; every table is
//! bounded and says what it folded.

use std::io::Read;

use pcapsule_guest::component::Call;
use pcapsule_guest::conventions::schema;
use pcapsule_guest::{Analyzer, Description, OnePass, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

mod conversations;
mod endpoints;
mod hierarchy;
mod mac_vendors;
mod result;
mod run;
mod timeline;
// Native only: the tests read the shared captures and run tshark.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use conversations::{ConversationType, SortBy};

/// The overview analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Overview;

/// Parameters of `analyze_conversations` (besides `pcap_file`, which the host owns).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConversationsParams {
    /// Which layer's conversations: `eth` (MAC address pairs), `ip` (IPv4 and
    /// IPv6 address pairs), `ipv4`, `ipv6`, `tcp` or `udp` (address and port
    /// pairs, with Community ID). Tunnelled traffic is counted at its
    /// innermost layers.
    #[serde(default, rename = "type")]
    conversation_type: ConversationType,
    /// Order of the list: `bytes` (both ways, largest first), `packets`
    /// (most first), `start` (first packet first) or `duration` (longest first).
    #[serde(default)]
    sort_by: SortBy,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conversations_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conversations_offset")]
    offset: Option<u64>,
}

/// Parameters of `analyze_endpoints`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EndpointsParams {
    /// Which layer's endpoints: `eth` (MAC addresses), `ip` (IPv4 and IPv6
    /// addresses), `ipv4`, `ipv6`, `tcp` or `udp` (address and port).
    /// Tunnelled traffic is counted at its innermost layers.
    #[serde(default, rename = "type")]
    endpoint_type: ConversationType,
    /// Order of the list: `bytes` (sent and received, largest first),
    /// `packets` (most first), `start` (first seen first) or `duration`
    /// (longest between first and last packet first).
    #[serde(default)]
    sort_by: SortBy,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "endpoints_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "endpoints_offset")]
    offset: Option<u64>,
}

/// Parameters of `analyze_io_timeline`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TimelineParams {
    /// Interval length in seconds (0.000001 to 1e9), as `tshark -z
    /// io,stat,INTERVAL`. Left out, one is chosen (1 ms, 10 ms, 100 ms, 1 s,
    /// 10 s, 1 min, 10 min, 1 h, 1 day, ...) so the capture spans at most
    /// 100 intervals.
    #[serde(default)]
    #[schemars(range(min = 0.000001, max = 1e9))]
    interval: Option<f64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "intervals_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "intervals_offset")]
    offset: Option<u64>,
}

/// Parameters of `analyze_protocol_hierarchy`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HierarchyParams {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "protocols_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "protocols_offset")]
    offset: Option<u64>,
}

pcapsule_guest::paging_schemas!(
    protocols_limit,
    protocols_offset,
    "protocol nodes (the `protocols` list)",
    "protocol nodes",
    default = hierarchy::DEFAULT_SHOWN
);

// A chosen interval gives at most 100 intervals: the whole timeline in one
// page by default (about 12 KB).
pcapsule_guest::paging_schemas!(
    intervals_limit,
    intervals_offset,
    "intervals (the `intervals` list)",
    "intervals",
    default = timeline::AUTO_SHOWN
);

pcapsule_guest::paging_schemas!(endpoints_limit, endpoints_offset, "endpoints (the `endpoints` list)", "endpoints");

pcapsule_guest::paging_schemas!(
    conversations_limit,
    conversations_offset,
    "conversations (the `conversations` list)",
    "conversations"
);

impl Analyzer for Overview {
    fn describe() -> Description {
        Description {
            name: "overview",
            version: env!("CARGO_PKG_VERSION"),
            summary: "What is in a capture: its protocol hierarchy, conversations and endpoints at the Ethernet, IP, TCP \
                      and UDP layers with their volumes, timing, Community ID and TCP state, and traffic over time.",
            tools: vec![
                ToolSpec {
                    name: "analyze_protocol_hierarchy",
                    title: "Protocol hierarchy (what is in here)",
                    description: "Which protocols a pcap or pcapng capture holds, as Wireshark's Statistics > \
                                  Protocol Hierarchy (`tshark -z io,phs`) counts them: a tree of protocol paths \
                                  from the link layer in (eth > vlan > ip > udp > dns; tunnels shown as such: \
                                  eth > ip > gre > erspan > eth > ip > tcp > tls; ICMP errors followed into the \
                                  datagram they quote: icmp > ip > udp > dns), each node with the packets and bytes \
                                  (as on the wire) that pass through it and their share of the capture. \
                                  Application protocols over TCP and UDP are recognised by content on any port \
                                  (TLS, HTTP, SSH, SIP, QUIC, SMB, DNS, DHCP, STUN, ...) and remembered per flow, \
                                  by the well-known port only where content says nothing; each says which \
                                  (`identified_by`). Lists the application protocols over all paths and the \
                                  payload nothing identified, with its busiest ports. The tree is paged with \
                                  limit/offset (100 nodes a page by default).",
                    params_schema: schema::of_params::<HierarchyParams>(),
                    result_schema: schema::of_paged_result::<result::HierarchyResult>("protocols"),
                },
                ToolSpec {
                    name: "analyze_conversations",
                    title: "Conversations (who talks to whom)",
                    description: "List the conversations of a pcap or pcapng capture at one layer, as Wireshark's \
                              Statistics > Conversations does: Ethernet (MAC pairs), IP (IPv4 and IPv6 address \
                              pairs), TCP or UDP (address and port pairs). Each has packets and bytes (as on the \
                              wire) in each direction, A being the side that sent the first packet, its start, \
                              duration and bits per second each way; TCP and UDP conversations add their \
                              Community ID (the flow hash Zeek, Suricata and Arkime log, to pivot between \
                              tools) and the well-known service of their ports, TCP ones how far the connection \
                              got (handshake, FIN or RST). A TCP SYN with a new initial sequence number on a \
                              used address/port pair starts a new conversation, as in Wireshark. Tunnelled \
                              traffic is counted at its innermost layers. Sorted by bytes by default; paged \
                              with limit/offset; totals cover every conversation.",
                    params_schema: schema::of_params::<ConversationsParams>(),
                    result_schema: schema::of_paged_result::<result::ConversationsResult>("conversations"),
                },
                ToolSpec {
                    name: "analyze_endpoints",
                    title: "Endpoints (who is active)",
                    description: "List the endpoints of a pcap or pcapng capture at one layer, as Wireshark's \
                              Statistics > Endpoints does: MAC addresses (eth), IP addresses (ip: IPv4 and \
                              IPv6; or ipv4, ipv6), or address and port pairs (tcp, udp). Each has packets and \
                              bytes (as on the wire) sent and received, how many peers and conversations it \
                              had, when it was first seen and for how long, for a MAC address the vendor the \
                              IEEE assigned it to, and for a port its well-known service. Tunnelled traffic is \
                              counted at its innermost layers. Sorted by bytes by default; paged with \
                              limit/offset; totals cover every endpoint.",
                    params_schema: schema::of_params::<EndpointsParams>(),
                    result_schema: schema::of_paged_result::<result::EndpointsResult>("endpoints"),
                },
                ToolSpec {
                    name: "analyze_io_timeline",
                    title: "Traffic over time",
                    description: "When traffic happened in a pcap or pcapng capture, as Wireshark's I/O graph \
                                  and `tshark -z io,stat` count it: packets and bytes (as on the wire) per \
                                  interval from the first packet on, the TCP and UDP flows that started in each, \
                                  and the busiest protocols per interval (the well-known service of the ports, \
                                  else the transport). The interval is chosen so the capture spans at most 100 \
                                  (or given with `interval`). Calls out the busiest interval, bursts far above the \
                                  mean and the longest silences between packets. Intervals are paged with \
                                  limit/offset (100 a page by default).",
                    params_schema: schema::of_params::<TimelineParams>(),
                    result_schema: schema::of_paged_result::<result::TimelineResult>("intervals"),
                },
            ],
            prompts: vec![PromptSpec {
                name: "capture_overview",
                title: "What is in this capture",
                description: "First look at an unknown capture: its size and time span, who talks to whom, \
                              the busiest flows, then which protocol tool to use next.",
                text: PROMPT_OVERVIEW,
            }],
        }
    }

    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        run::one(tool, params, capture, ctx)
    }
}

/// `analyze_many` runs both tools over one read of the capture, and calls
/// on the same layer over one conversation table.
impl OnePass for Overview {
    fn run_many(calls: Vec<Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>> {
        run::many(calls, capture)
    }
}

const PROMPT_OVERVIEW: &str = "You are taking a first look at a packet capture you know nothing about. Work from \
the whole to the parts, and cite the figures you use.
1. What the file is: call analyze_capinfos. Read `file_type`, `interfaces` (the link layer of each interface), \
`packet_count`, `first_packet_time_iso`/`last_packet_time_iso` and `capture_duration_seconds` to say what the \
capture is and when it was taken. Check `warnings` and `cut_short`: a capture cut short or with \
`truncated_packets` (snaplen smaller than the packets) limits what later analyses can see, and \
`strict_time_order: false` means timing figures need care.
2. What is in it: call analyze_protocol_hierarchy: the tree of protocols (`protocols`, each with `path`, \
`packets`, `bytes` and shares), tunnels included, then `applications` (which application protocols carry the \
traffic; `identified_by` says whether content or only a port said so) and `unidentified` (payload nothing \
recognised, with its busiest ports: worth a closer look).
3. Who talks to whom: call analyze_conversations (IP address pairs by default, busiest first): packets and bytes \
each way (`bytes_a_to_b`, `bytes_b_to_a`), `start`, `duration_s`, and `protocols` inside each pair. One side \
sending almost everything is a download or an upload; many small conversations from one address can be a scan.
4. Which flows: analyze_conversations again for TCP, then for UDP (its layer parameter): the ports, `service` (a \
hint from the port number only), `tcp.handshake` and `tcp.end` (connections never answered, rejected or reset), \
`application` (what the payload showed, on any port; `upgraded_from` for STARTTLS), and each flow's \
`community_id`, which finds the same flow in Zeek, Suricata or Arkime logs. For the local network, \
the Ethernet layer shows MAC address pairs (a gateway is usually the busiest).
5. When: analyze_io_timeline gives packets, bytes and new flows per interval, the busiest protocols in each, \
`bursts` and `silences` (gaps between packets): say when activity started, peaked and stopped.
6. Who is active: analyze_endpoints (IP addresses by default) gives each address's packets and bytes sent and \
received, its number of peers and when it was active: a host with many peers and little traffic each is \
scanning or being scanned; for TCP and UDP it lists the ports in use.
7. Then drill down with the protocol tools the ports and protocols point to: analyze_dns_packets, \
analyze_dhcp_packets, analyze_icmp_packets, analyze_tcp_connections, analyze_tcp_anomalies, \
analyze_tcp_retransmissions, analyze_sip_packets.
Tunnelled traffic is counted at its innermost layers (`capture.encapsulations` says which tunnels were met), and \
packets the packet path could not read are counted in `capture.undecodable_packets` and `warnings`. Summarize \
what the capture holds, the main actors and flows, anything unusual, and which tool to call next and why.";
