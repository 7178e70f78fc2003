//! What `analyze_conversations` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, NoMoreFacts, OrderedMap, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;

use crate::conversations::{ConversationType, SortBy};

/// The result of `analyze_conversations`.
#[derive(Serialize, JsonSchema)]
pub struct ConversationsResult {
    #[serde(flatten)]
    pub header: Header,
    /// The layer listed.
    #[serde(rename = "type")]
    pub conversation_type: ConversationType,
    pub sort_by: SortBy,
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// Bytes on the wire of every packet read.
    pub total_bytes: u64,
    /// Packets with this layer (the innermost one of tunnelled traffic),
    /// those in `not_tracked` included.
    pub packets_in_conversations: u64,
    /// Their bytes on the wire.
    pub bytes_in_conversations: u64,
    /// Conversations found (the length of the whole list).
    pub conversation_count: usize,
    /// Packets of conversations beyond the table's bound, not listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_tracked: Option<NotTracked>,
    /// First and last packet of the capture, RFC 3339 (UTC); starts below
    /// are relative to `capture_start`.
    pub capture_start: Option<String>,
    pub capture_end: Option<String>,
    /// One page of conversations in `sort_by` order; see pagination.
    pub conversations: Vec<ConversationEntry>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// Traffic of conversations first seen once the table was full.
#[derive(Serialize, JsonSchema)]
pub struct NotTracked {
    pub packets: u64,
    pub bytes: u64,
}

/// One conversation. A is the side that sent its first packet.
#[derive(Serialize, JsonSchema)]
pub struct ConversationEntry {
    /// MAC (eth) or IP address of A.
    pub address_a: String,
    /// A's port (tcp, udp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_a: Option<u16>,
    pub address_b: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_b: Option<u16>,
    pub packets: u64,
    /// Bytes on the wire (whole frames, as Wireshark counts conversations).
    pub bytes: u64,
    pub packets_a_to_b: u64,
    pub bytes_a_to_b: u64,
    pub packets_b_to_a: u64,
    pub bytes_b_to_a: u64,
    /// Frame number of the first packet (Wireshark's numbering).
    pub first_frame: u64,
    /// The stream number (tcp, udp): Wireshark's `tcp.stream` or
    /// `udp.stream`, the TCP tools' `stream`, and what `follow_stream` takes.
    /// Only the innermost transport header of a packet is numbered (tshark
    /// also numbers a tunnel's outer UDP header, so its numbers run ahead
    /// in tunnelled captures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u64>,
    /// First packet's time, RFC 3339 (UTC).
    pub start: Option<String>,
    /// Seconds from the capture's first packet to this conversation's first.
    pub relative_start_s: Option<f64>,
    /// Seconds from the first packet to the last.
    pub duration_s: Option<f64>,
    /// Throughput each way over the duration; absent when the duration is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_second_a_to_b: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_second_b_to_a: Option<f64>,
    /// Community ID v1 of the flow (seed 0), as Zeek, Suricata and Arkime log it (tcp, udp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    /// The protocol registered for the ports (the lower well-known one), by
    /// Wireshark's name: a hint from the port numbers only (tcp, udp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
    /// The application protocol the payload showed (Wireshark's name: tls,
    /// http, ssh, dns, quic, sip, smb2, ...), recognised by content on any
    /// port from the first payload packets; absent when none was (tcp, udp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<&'static str>,
    /// When `application` is `tls` after a plain-text start (STARTTLS in
    /// SMTP, POP, IMAP, FTP, LDAP; HTTP CONNECT): the protocol it started with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgraded_from: Option<&'static str>,
    /// Transport protocols seen inside an IP conversation (tcp, udp, icmp,
    /// icmpv6, or the IP protocol number), by packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<(String, u64)>>,
    /// How far a TCP connection got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProgress>,
}

/// What the flags of a TCP conversation show.
#[derive(Serialize, JsonSchema)]
pub struct TcpProgress {
    pub handshake: Handshake,
    pub end: TcpEnd,
}

/// The connection's opening as captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    /// SYN and SYN-ACK seen.
    Completed,
    /// SYN seen, no answer.
    SynOnly,
    /// SYN answered with RST.
    Rejected,
    /// The first packet was not a SYN: the connection started before the capture.
    NotSeen,
}

/// How the connection ended as captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TcpEnd {
    /// FIN sent both ways.
    Closed,
    /// FIN sent one way only.
    HalfClosed,
    /// A RST was sent.
    Reset,
    /// Neither FIN nor RST: still open when the capture ended.
    Open,
}

/// The result of `analyze_endpoints`.
#[derive(Serialize, JsonSchema)]
pub struct EndpointsResult {
    #[serde(flatten)]
    pub header: Header,
    /// The layer listed.
    #[serde(rename = "type")]
    pub endpoint_type: ConversationType,
    pub sort_by: SortBy,
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// Bytes on the wire of every packet read.
    pub total_bytes: u64,
    /// Packets with this layer (the innermost one of tunnelled traffic).
    pub packets_with_layer: u64,
    /// Endpoints found (the length of the whole list).
    pub endpoint_count: usize,
    /// The conversations they were counted from.
    pub conversation_count: usize,
    /// Packets of conversations beyond the table's bound: their endpoints
    /// are not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_tracked: Option<NotTracked>,
    /// One page of endpoints in `sort_by` order; see pagination.
    pub endpoints: Vec<EndpointEntry>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// One endpoint: an address, or an address and port (tcp, udp).
#[derive(Serialize, JsonSchema)]
pub struct EndpointEntry {
    /// MAC (eth) or IP address.
    pub address: String,
    /// The organization the IEEE assigned the MAC address's block to (eth,
    /// unicast addresses in a public assignment only), as Wireshark's
    /// name resolution spells it before its own edits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Sent and received (a packet to itself counts as both, as in Wireshark).
    pub packets: u64,
    /// Bytes on the wire, sent and received.
    pub bytes: u64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Distinct endpoints it exchanged packets with.
    pub peers: u64,
    /// Conversations it took part in.
    pub conversations: u64,
    /// Frame number of its first packet (Wireshark's numbering).
    pub first_frame: u64,
    /// Its first packet's time, RFC 3339 (UTC).
    pub first_seen: Option<String>,
    /// Seconds from the capture's first packet to its first.
    pub relative_start_s: Option<f64>,
    /// Seconds from its first packet to its last.
    pub duration_s: Option<f64>,
    /// The protocol registered for its port, by Wireshark's name: a hint
    /// from the number only (tcp, udp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
}

/// The result of `analyze_io_timeline`.
#[derive(Serialize, JsonSchema)]
pub struct TimelineResult {
    #[serde(flatten)]
    pub header: Header,
    /// The interval's length in seconds.
    pub interval_s: f64,
    /// `automatically` (about 100 intervals over the capture) or `by the caller`.
    pub interval_chosen: &'static str,
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// Bytes on the wire of every packet read.
    pub total_bytes: u64,
    /// First and last packet, RFC 3339 (UTC); intervals start at the first.
    pub capture_start: Option<String>,
    pub capture_end: Option<String>,
    pub duration_s: Option<f64>,
    /// Intervals from the first packet to the last (the length of the whole list).
    pub interval_count: u64,
    pub mean_packets_per_interval: f64,
    /// The busiest interval.
    pub peak: Option<Burst>,
    /// The busiest protocols by packets: the well-known service of a
    /// TCP/UDP port pair (a hint from the port numbers), else the transport
    /// or network protocol (`non-ip`, `ip-fragment`, `undecoded`).
    pub protocols: OrderedMap<&'static str, u64>,
    /// Intervals far busier than the mean (over mean + 3 standard
    /// deviations and twice the mean), busiest first.
    pub bursts: Vec<Burst>,
    /// The longest gaps of a second or more between consecutive packets, longest first.
    pub silences: Vec<Silence>,
    /// One page of intervals, in time order, empty ones included; see pagination.
    pub intervals: Vec<Interval>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// One interval.
#[derive(Serialize, JsonSchema)]
pub struct Interval {
    /// Seconds from the first packet to the interval's start.
    pub start_s: f64,
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// TCP and UDP flows (address and port pairs) whose first packet is in it.
    pub new_flows: u64,
    /// Packets of the busiest protocols (see `protocols`), the rest as `other`.
    pub by_protocol: OrderedMap<&'static str, u64>,
}

/// A busy interval.
#[derive(Serialize, JsonSchema)]
pub struct Burst {
    /// Seconds from the first packet to the interval's start.
    pub start_s: f64,
    pub packets: u64,
    /// Its packets over the mean per interval.
    pub times_mean: f64,
}

/// A time without packets.
#[derive(Serialize, JsonSchema)]
pub struct Silence {
    /// The last packet before it and the first after it, RFC 3339 (UTC).
    pub from: String,
    pub to: String,
    pub seconds: f64,
    /// Frame number of the packet that ended it.
    pub resumes_at_frame: u64,
}

/// The result of `analyze_protocol_hierarchy`.
#[derive(Serialize, JsonSchema)]
pub struct HierarchyResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// Bytes on the wire of every packet read.
    pub total_bytes: u64,
    /// Packets whose link layer could not be read at all (in no node; see `warnings`).
    pub undecoded_packets: u64,
    /// Nodes in the whole tree (the length of the `protocols` list).
    pub protocol_count: usize,
    /// Application protocols over TCP and UDP, most bytes first, summed
    /// over every path they appear on (tunnelled or not).
    pub applications: Vec<ApplicationEntry>,
    /// TCP and UDP packets with payload that no protocol was recognised in.
    pub unidentified: Unidentified,
    /// One page of the tree, depth first (a node's busiest child first); see pagination.
    pub protocols: Vec<ProtocolNode>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// One protocol at one place in the tree: every packet whose path goes
/// through it counts, as in Wireshark's protocol hierarchy.
#[derive(Serialize, JsonSchema)]
pub struct ProtocolNode {
    /// Wireshark's name for the protocol (`eth`, `vlan`, `ip`, `ipv6`,
    /// `tcp`, `udp`, `gre`, `vxlan`, `tls`, `dns`, ...).
    pub protocol: &'static str,
    /// The protocols from the link layer to this one, `:`-separated (as
    /// Wireshark's `frame.protocols`, without its `ethertype` pseudo-layers).
    pub path: String,
    /// 1 for the link layer.
    pub depth: usize,
    pub packets: u64,
    /// Bytes on the wire of those packets (whole frames).
    pub bytes: u64,
    /// Shares of the capture's packets and bytes.
    pub percent_packets: f64,
    pub percent_bytes: f64,
    /// For an application protocol: `content` (its packets had the
    /// protocol's signature or structure, or belong to a flow that did),
    /// `port` (only the well-known port says so) or `content and port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identified_by: Option<&'static str>,
    /// With `content and port`: the packets only the port identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets_by_port: Option<u64>,
}

/// An application protocol over every path.
#[derive(Serialize, JsonSchema)]
pub struct ApplicationEntry {
    pub protocol: &'static str,
    pub packets: u64,
    pub bytes: u64,
    pub percent_bytes: f64,
    /// Of `packets`, those identified by their port only.
    pub packets_by_port_only: u64,
}

/// Payload nothing recognised.
#[derive(Serialize, JsonSchema)]
pub struct Unidentified {
    pub packets: u64,
    pub bytes: u64,
    pub percent_packets: f64,
    pub percent_bytes: f64,
    /// The busiest ports of it (the lower port of each packet), most bytes first.
    pub top_ports: Vec<PortEntry>,
}

/// Unidentified traffic on one port.
#[derive(Serialize, JsonSchema)]
pub struct PortEntry {
    /// `tcp` or `udp`.
    pub transport: &'static str,
    pub port: u16,
    pub packets: u64,
    pub bytes: u64,
}
