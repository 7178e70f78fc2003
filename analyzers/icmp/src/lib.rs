#![recursion_limit = "512"]
//! `analyze_icmp_packets`: ICMP and ICMPv6 in one streaming pass, with every
//! field mcpcap returns plus echo round trips and loss, the datagrams that
//! errors quote, traceroute paths, neighbor discovery and MLD, and flags for
//! truncated or malformed messages.

use std::io::Read;

use pcapsule_guest::conventions::{Paging, result_budget, schema};
use pcapsule_guest::{Analyzer, Description, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

mod analysis;
mod echo;
mod message;
mod names;
mod quoted;
mod result;
mod tables;
// Native only: the tests read the shared captures and run tshark.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod traceroute;

/// The icmp analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Icmp;

/// Parameters of `analyze_icmp_packets` (besides `pcap_file`, which the host owns).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "messages_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "messages_offset")]
    offset: Option<u64>,
}

pcapsule_guest::paging_schemas!(messages_limit, messages_offset, "ICMP messages (the `packets` list)", "ICMP messages");

impl Analyzer for Icmp {
    fn describe() -> Description {
        Description {
            name: "icmp",
            version: env!("CARGO_PKG_VERSION"),
            summary: "ICMP and ICMPv6: types and codes, ping round trips and loss, failed flows from quoted \
                      datagrams, traceroute paths, neighbor discovery.",
            tools: vec![ToolSpec {
                name: "analyze_icmp_packets",
                title: "ICMP and ICMPv6 analysis",
                description: "Analyze the ICMP and ICMPv6 messages of a pcap or pcapng capture: counts per type \
                              and code (every type named, neighbor discovery, MLD and RFC 8335 extended echo \
                              included), echo request/reply matching with round-trip times and loss per \
                              conversation, the original datagram quoted by unreachable, time exceeded, packet \
                              too big, redirect and parameter problem messages (which flow failed, and why), \
                              traceroute paths rebuilt from time exceeded messages, routers and address bindings \
                              from neighbor discovery, and flags for truncated or malformed messages. Per-message \
                              details are paged with limit/offset; statistics cover every message.",
                params_schema: schema::of_params::<Params>(),
                result_schema: schema::of_paged_result::<result::IcmpResult>("packets"),
            }],
            prompts: vec![
                PromptSpec {
                    name: "icmp_network_diagnostics",
                    title: "Network diagnostics from ICMP",
                    description: "Reachability, latency, paths (traceroute) and fragmentation/MTU problems.",
                    text: PROMPT_DIAGNOSTICS,
                },
                PromptSpec {
                    name: "icmp_security_analysis",
                    title: "Security analysis of ICMP",
                    description: "Ping sweeps, floods, ICMP tunnels and covert channels, spoofed redirects and \
                                  neighbor discovery.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "icmp_forensic_investigation",
                    title: "Forensic timeline and topology from ICMP",
                    description: "Who talked to whom and when, and the network layout ICMP reveals.",
                    text: PROMPT_FORENSICS,
                },
            ],
        }
    }

    fn run(_tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let params: Params = pcapsule_guest::parse_params(params)?;
        let budget = ctx.budget(params.max_packets)?;
        let paging = Paging::from_params(params.limit, params.offset)?;
        analysis::analyze(capture, ctx, budget, paging, result_budget(params.max_result_bytes)?)
    }
}

const PROMPT_DIAGNOSTICS: &str = "You are diagnosing a network from its ICMP and ICMPv6 traffic. Call \
analyze_icmp_packets on the capture (statistics cover every message; page through `packets` with limit/offset \
only for details).
1. Reachability: `echo_summary` (requests, answered_requests, loss_percent) and `echo_conversations` (per \
requester/responder/identifier: unanswered_requests, loss_percent, duplicate_replies; repeated_requests are copies \
of one request, not losses). Say which hosts do not answer. A loss at the very end of a capture can be requests \
still in flight.
2. Latency: `rtt_ms` {min, avg, max} in `echo_summary` and per conversation; a large max-min spread means jitter \
or queueing. Per-hop `rtt_ms` in `traceroutes` shows where delay is added.
3. Paths: `traceroutes` lists each traced source -> destination with hops in the order of the TTL the probe was \
sent with (`hop_order` says whether probes were captured; `ttl` is null when not), the answering `router`, \
`destination_reached`. Repeated routers at different TTLs suggest a routing loop; a path that stops short means \
filtering or a black hole.
4. Failures: `failed_flows` (from the datagram each error quotes: original_src_ip, original_dst_ip, \
original_protocol_name, original_dst_port, reporter, icmp_code_name) tells which flow failed and who said so; \
`statistics.unreachable_destinations` lists the destinations. Port unreachable means no listener; administratively \
prohibited means a firewall.
5. Fragmentation and MTU: `Fragmentation Required` (ICMP) and `Packet Too Big` (ICMPv6) rows in `failed_flows` \
with their `mtu`, and `statistics.smallest_reported_mtu`; if they are answered by nothing, suspect a path MTU \
black hole. `malformed.fragmented_messages` counts ICMP carried in IP fragments.
6. IPv6 health: `neighbor_discovery` (routers with lifetimes, prefixes, M/O flags; unanswered solicitations) and \
`multicast_listener_discovery`.
Check `warnings` and `truncated` first: they bound what the figures cover. Give concrete findings with addresses, \
counts and times, then recommendations.";

const PROMPT_SECURITY: &str = "You are a security analyst reviewing ICMP and ICMPv6 traffic. Call \
analyze_icmp_packets on the capture and look at:
1. Sweeps and reconnaissance: `echo_requesters` (one source probing many `destinations` with few \
`answering_destinations` is a ping sweep), `statistics.unique_destinations_count`, timestamp, address mask and \
information requests in `statistics.icmp_type_counts`, and `traceroutes` (path mapping). ICMPv6: many neighbor \
solicitations or echo requests to multicast groups.
2. Floods: `statistics.peak_messages_per_second` and `peak_second`, `messages_per_second`, `top_sources`; many \
echo replies to one host that sent no requests (`echo_summary.unmatched_replies`, smurf-style reflection) or a \
flood of unreachables from one `error_reporters` entry.
3. Tunneling and covert channels: `echo_summary.payload_bytes`, `large_payloads`, `distinct_payload_sizes` and \
`common_payload_sizes` (normal pings use one fixed size, 32-64 bytes), `reply_payload_mismatches` (a reply must \
echo the request's data; tunnels answer with different data), long echo conversations with steady traffic, and \
`statistics.unusual_codes` (codes a type does not define). Inspect suspicious messages in `packets` \
(payload_size, icmp_id, icmp_seq).
4. Spoofing and redirection: `redirects` (who told which host to use which gateway), \
`neighbor_discovery.routers` (unexpected router advertisements, rogue prefixes) and \
`neighbor_discovery.conflicting_bindings` with `address_bindings` (one IPv6 address claimed by several link-layer \
addresses suggests neighbor spoofing).
5. Evasion and malformed traffic: `malformed` (truncated messages, bad checksums, fragmented ICMP, problems by \
kind) and `packets[].problems`.
Rate each finding (benign, suspicious, malicious) with the evidence (addresses, counts, times) and recommend \
controls.";

const PROMPT_FORENSICS: &str = "You are reconstructing events from ICMP and ICMPv6 traffic for an \
investigation. Call analyze_icmp_packets on the capture.
1. Timeline: `statistics.first_message_time`, `last_message_time`, `duration_seconds`; per conversation \
`first_seen`/`last_seen` in `echo_conversations`; per failure `first_seen` in `failed_flows`; then page through \
`packets` (limit/offset, `pagination.next_offset`) for exact `timestamp` and `frame_number` of each message, \
which match Wireshark's frame numbers.
2. Actors: `statistics.unique_sources`/`top_sources`, `echo_requesters` (who probed whom), `error_reporters` \
(routers and hosts that sent errors).
3. Topology: `traceroutes` (hops in TTL order with their routers), `neighbor_discovery.routers` (IPv6 routers, \
prefixes, link-layer addresses) and `address_bindings` (which link-layer address used which IPv6 address), \
`redirects`, and RFC 5837 interface details in `packets[].extensions`.
4. What failed and for whom: `failed_flows` and `packets[].original` (the quoted datagram: original source, \
destination, protocol, ports) show traffic that never reached its target, including traffic not otherwise in \
the capture.
5. Integrity: report `warnings`, `truncated` (max_packets), `malformed`, and anything omitted from the top-N \
tables (`*_omitted`).
Present a chronological account with timestamps and frame numbers, the hosts and network elements involved, and \
note the limits of the evidence.";
