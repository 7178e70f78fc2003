//! What `analyze_icmp_packets` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use std::net::{IpAddr, Ipv4Addr};

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, MinAvgMax, NoMoreFacts, OrderedMap, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;

use crate::message::{ExtendedEcho, ExtensionObject, Mld, NeighborDiscovery};
use crate::quoted::Quoted;

/// The result of `analyze_icmp_packets`.
#[derive(Serialize, JsonSchema)]
pub struct IcmpResult {
    #[serde(flatten)]
    pub header: Header,
    #[serde(flatten)]
    pub fields: Fields,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// The icmp analyzer's own part of the result.
#[derive(Serialize, JsonSchema)]
pub struct Fields {
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// Packets carrying ICMP or ICMPv6 (later IP fragments and empty ones included).
    pub icmp_packets_found: u64,
    /// ICMP messages decoded: in the statistics and the `packets` list.
    pub icmp_packets_analyzed: u64,
    pub statistics: Statistics,
    pub echo_summary: EchoSummary,
    /// Echo conversations (requester, responder, identifier), the 50 busiest.
    pub echo_conversations: Vec<EchoConversation>,
    pub echo_conversations_omitted: usize,
    /// Sources of echo requests by number of destinations (sweeps first).
    pub echo_requesters: Vec<EchoRequester>,
    /// Paths rebuilt from time exceeded messages; hops ordered by the TTL
    /// their probe was sent with.
    pub traceroutes: Vec<Traceroute>,
    pub traceroutes_omitted: usize,
    /// Errors by the flow they quote (time exceeded in transit is in
    /// `traceroutes`), the 50 most reported.
    pub failed_flows: Vec<FailedFlow>,
    pub failed_flows_omitted: u64,
    /// ICMP and ICMPv6 redirects by router, host, destination and gateway.
    pub redirects: Vec<Redirect>,
    pub neighbor_discovery: NeighborDiscoverySummary,
    pub multicast_listener_discovery: MulticastListenerSummary,
    pub malformed: Malformed,
    /// One page of ICMP messages; see pagination.
    pub packets: Vec<PacketEntry>,
    pub pagination: PageInfo,
    /// Present when the capture holds no ICMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

/// Figures over every ICMP message analyzed.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    /// Messages per type name (ICMP and ICMPv6 together, as mcpcap), busiest first.
    pub icmp_type_counts: OrderedMap<String, u64>,
    pub unique_sources_count: usize,
    pub unique_destinations_count: usize,
    /// The 100 busiest sources.
    pub unique_sources: Vec<String>,
    /// The 100 busiest destinations.
    pub unique_destinations: Vec<String>,
    /// Distinct echo identifiers.
    pub echo_sessions: usize,
    /// Echo requests and replies per identifier (the 100 busiest).
    pub echo_pairs: OrderedMap<u16, EchoPair>,
    pub unreachable_destinations_count: usize,
    /// Destinations of datagrams quoted by destination unreachable messages (100 most reported).
    pub unreachable_destinations: Vec<String>,
    pub icmpv4_messages: u64,
    pub icmpv6_messages: u64,
    /// Messages per (protocol, type, code), the 100 most frequent.
    pub type_code_counts: Vec<TypeCodeCount>,
    pub unique_sources_omitted: usize,
    pub unique_destinations_omitted: usize,
    pub unreachable_destinations_omitted: usize,
    pub echo_pairs_omitted: usize,
    /// Who sent ICMP errors (routers, hosts).
    pub error_reporters: Vec<AddressCount>,
    pub top_sources: Vec<AddressCount>,
    /// Messages whose code their type does not define.
    pub unusual_codes: u64,
    pub smallest_reported_mtu: Option<u32>,
    pub first_message_time: Option<String>,
    pub last_message_time: Option<String>,
    pub duration_seconds: Option<f64>,
    pub messages_per_second: Option<f64>,
    /// Most ICMP messages within one calendar second.
    pub peak_messages_per_second: u64,
    pub peak_second: Option<String>,
}

/// Echo requests and replies of one identifier.
#[derive(Serialize, JsonSchema)]
pub struct EchoPair {
    pub requests: u64,
    pub replies: u64,
}

/// Messages of one type and code.
#[derive(Serialize, JsonSchema)]
pub struct TypeCodeCount {
    /// ICMP or ICMPv6.
    pub protocol: &'static str,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub icmp_type_name: String,
    pub icmp_code_name: String,
    pub count: u64,
}

/// An address and its messages.
#[derive(Serialize, JsonSchema)]
pub struct AddressCount {
    pub ip: IpAddr,
    pub messages: u64,
}

/// Echo (ping) requests and replies over the whole capture.
#[derive(Serialize, JsonSchema)]
pub struct EchoSummary {
    pub requests: u64,
    /// Copies of a request (same identifier and sequence) seen before its reply: not counted as lost.
    pub repeated_requests: u64,
    pub replies: u64,
    pub answered_requests: u64,
    pub unanswered_requests: u64,
    pub duplicate_replies: u64,
    /// Replies to no captured request.
    pub unmatched_replies: u64,
    /// Unanswered share of distinct requests; null without requests.
    pub loss_percent: Option<f64>,
    /// Round-trip times in milliseconds; null without a matched reply.
    pub rtt_ms: Option<MinAvgMax>,
    /// Echo data sizes in bytes; null without echo messages.
    pub payload_bytes: Option<PayloadBytes>,
    /// Echo messages carrying more than 128 bytes of data.
    pub large_payloads: u64,
    pub distinct_payload_sizes: usize,
    /// The 10 most frequent data sizes.
    pub common_payload_sizes: Vec<PayloadSize>,
    /// Replies whose data differs from their request's.
    pub reply_payload_mismatches: u64,
    pub conversations_tracked: usize,
    pub conversations_untracked_messages: u64,
    pub pending_requests_evicted: u64,
}

/// Smallest, mean and largest echo data size.
#[derive(Serialize, JsonSchema)]
pub struct PayloadBytes {
    pub min: Option<usize>,
    pub avg: f64,
    pub max: usize,
}

/// A data size and how many echo messages had it.
#[derive(Serialize, JsonSchema)]
pub struct PayloadSize {
    pub bytes: usize,
    pub messages: u64,
}

/// One echo conversation: requester, responder, identifier.
#[derive(Serialize, JsonSchema)]
pub struct EchoConversation {
    /// echo or extended_echo.
    pub kind: &'static str,
    pub ip_version: u8,
    pub requester: IpAddr,
    pub responder: IpAddr,
    pub icmp_id: u16,
    pub requests: u64,
    pub repeated_requests: u64,
    pub replies: u64,
    pub answered_requests: u64,
    pub unanswered_requests: u64,
    pub duplicate_replies: u64,
    pub unmatched_replies: u64,
    pub loss_percent: Option<f64>,
    /// Round-trip times in milliseconds; null without a matched reply.
    pub rtt_ms: Option<MinAvgMax>,
    pub payload_bytes: PayloadRange,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// Smallest and largest echo data size of a conversation.
#[derive(Serialize, JsonSchema)]
pub struct PayloadRange {
    pub min: Option<usize>,
    pub max: usize,
}

/// A source of echo requests and how many destinations it tried.
#[derive(Serialize, JsonSchema)]
pub struct EchoRequester {
    pub source: IpAddr,
    pub destinations: u64,
    pub answering_destinations: u64,
    pub requests: u64,
    pub answered_requests: u64,
}

/// One path rebuilt from time exceeded messages.
#[derive(Serialize, JsonSchema)]
pub struct Traceroute {
    pub ip_version: u8,
    pub source: IpAddr,
    pub destination: IpAddr,
    pub protocol: u8,
    pub protocol_name: Option<&'static str>,
    pub messages: u64,
    /// Answers matched to a probe captured on its way out.
    pub matched_probes: u64,
    /// probe_ttl, first_seen or probe_ttl_then_first_seen: how the hops are ordered.
    pub hop_order: &'static str,
    pub destination_reached: bool,
    pub first_seen: Option<String>,
    pub hops: Vec<Hop>,
    pub hops_omitted: u64,
}

/// One hop of a path.
#[derive(Serialize, JsonSchema)]
pub struct Hop {
    /// TTL the probe was sent with; null when the probe was not captured.
    pub ttl: Option<u8>,
    pub router: IpAddr,
    pub responses: u64,
    /// Round-trip times in milliseconds; null without a matched probe.
    pub rtt_ms: Option<MinAvgMax>,
    /// The answer's type name.
    pub answer: String,
    pub first_seen: Option<String>,
    pub first_frame: u64,
}

/// Errors reported about one flow.
#[derive(Serialize, JsonSchema)]
pub struct FailedFlow {
    pub icmp_type_name: String,
    pub icmp_code_name: String,
    pub protocol: &'static str,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub reporter: IpAddr,
    pub original_src_ip: IpAddr,
    pub original_dst_ip: IpAddr,
    pub original_protocol: u8,
    pub original_protocol_name: Option<&'static str>,
    pub original_dst_port: Option<u16>,
    pub original_src_ports: Vec<u16>,
    pub mtu: Option<u32>,
    pub messages: u64,
    pub first_seen: Option<String>,
}

/// Redirects from one router to one host.
#[derive(Serialize, JsonSchema)]
pub struct Redirect {
    pub router: IpAddr,
    pub host: IpAddr,
    pub destination: Option<IpAddr>,
    pub new_gateway: Option<IpAddr>,
    pub messages: u64,
    pub first_seen: Option<String>,
}

/// ICMPv6 neighbor discovery (RFC 4861).
#[derive(Serialize, JsonSchema)]
pub struct NeighborDiscoverySummary {
    pub router_solicitations: u64,
    pub router_advertisements: u64,
    pub neighbor_solicitations: u64,
    pub neighbor_advertisements: u64,
    pub redirects: u64,
    pub duplicate_address_detection_probes: u64,
    pub routers: Vec<Router>,
    pub address_bindings: Vec<AddressBinding>,
    /// IPv6 addresses claimed from more than one link-layer address.
    pub conflicting_bindings: usize,
}

/// A router and what it advertised.
#[derive(Serialize, JsonSchema)]
pub struct Router {
    pub router: IpAddr,
    pub advertisements: u64,
    pub link_layer_address: Option<String>,
    pub router_lifetime_s: Option<u16>,
    pub cur_hop_limit: Option<u8>,
    pub managed_flag: Option<bool>,
    pub other_config_flag: Option<bool>,
    pub mtu: Option<u32>,
    pub prefixes: Vec<String>,
}

/// An IPv6 address and the link-layer addresses that claimed it.
#[derive(Serialize, JsonSchema)]
pub struct AddressBinding {
    pub address: IpAddr,
    pub link_layer_addresses: Vec<String>,
    pub messages: u64,
    pub first_seen: Option<String>,
}

/// Multicast listener discovery (MLD, MLDv2).
#[derive(Serialize, JsonSchema)]
pub struct MulticastListenerSummary {
    pub queries: u64,
    pub reports_v1: u64,
    pub dones: u64,
    pub reports_v2: u64,
    /// The groups mentioned most.
    pub groups: Vec<GroupCount>,
}

/// A multicast group and how often it was mentioned.
#[derive(Serialize, JsonSchema)]
pub struct GroupCount {
    pub group: std::net::Ipv6Addr,
    pub mentions: u64,
}

/// Messages that were not whole or not well formed.
#[derive(Serialize, JsonSchema)]
pub struct Malformed {
    /// Messages with at least one problem.
    pub malformed_messages: u64,
    /// Count per problem kind: truncated, snaplen, bad_length, bad_checksum, quoted_datagram, options.
    pub problems: OrderedMap<&'static str, u64>,
    pub empty_icmp_payloads: u64,
    pub fragmented_messages: u64,
    pub later_fragments: u64,
}

/// One ICMP message: mcpcap's fields, then Wireshark's, then the fields of its type.
#[derive(Serialize, JsonSchema)]
pub struct PacketEntry {
    /// 1-based position among the ICMP messages (as mcpcap numbers them).
    pub packet_number: u64,
    /// Capture time, RFC 3339 UTC.
    pub timestamp: Option<String>,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub ip_version: Option<u8>,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Captured frame length in bytes.
    pub packet_size: usize,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub icmp_type_name: String,
    /// Identifier of echo, timestamp, information, address mask and extended echo messages.
    pub icmp_id: Option<u16>,
    pub icmp_seq: Option<u16>,
    pub checksum: Option<u16>,
    pub icmp_code_name: String,
    /// Destination of the quoted datagram (errors and ICMPv6 redirects).
    pub original_dst_ip: Option<IpAddr>,
    /// Frame number in the capture, as Wireshark numbers it.
    pub frame_number: u64,
    /// ICMP or ICMPv6.
    pub protocol: &'static str,
    /// Null when the message was not captured whole.
    pub checksum_valid: Option<bool>,
    /// Captured bytes after the 8-byte ICMP header.
    pub payload_size: usize,
    /// Present when the message is in the first fragment of a fragmented datagram.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fragmented: bool,
    /// Echo replies: what they answer.
    #[serde(flatten)]
    pub reply: Option<ReplyFields>,
    #[serde(flatten)]
    pub details: Details,
    /// Truncation, bad checksum, unreadable quote, ...: `kind: detail`.
    pub problems: Vec<String>,
}

/// An echo reply's match.
#[derive(Serialize, JsonSchema)]
pub struct ReplyFields {
    /// Frame of the request answered.
    pub request_frame: u64,
    /// Round-trip time.
    pub rtt_ms: Option<f64>,
    /// Present on a second reply to the same request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate_reply: bool,
}

/// The fields of a message's type, present only for that type.
#[derive(Serialize, JsonSchema)]
pub struct Details {
    /// Next-hop MTU of fragmentation required / packet too big.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Parameter problem pointer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<u32>,
    /// ICMP redirect: the gateway to use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// The datagram this error (or ICMPv6 redirect) quotes: the flow that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<Quoted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbor_discovery: Option<NeighborDiscovery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mld: Option<Mld>,
    /// RFC 8335 PROBE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_echo: Option<ExtendedEcho>,
    /// RFC 4884 extension objects (RFC 4950 MPLS labels, RFC 5837 interface information).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionObject>,
    /// Timestamp and timestamp reply: milliseconds since midnight UT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<Timestamps>,
    /// Address mask reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_mask: Option<Ipv4Addr>,
}

/// The three times of an ICMP timestamp message.
#[derive(Serialize, JsonSchema)]
pub struct Timestamps {
    pub originate_ms: u32,
    pub receive_ms: u32,
    pub transmit_ms: u32,
}
