//! What `analyze_dhcp_packets` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, NoMoreFacts, Observation, OrderedMap, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The result of `analyze_dhcp_packets`.
#[derive(Serialize, JsonSchema)]
pub struct DhcpResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets: u64,
    /// DHCPv4, BOOTP and DHCPv6 messages found.
    pub dhcp_packets_found: u64,
    /// DHCP messages analyzed (as many as found).
    pub dhcp_packets_analyzed: u64,
    pub statistics: Statistics,
    /// One page of DHCP messages; see pagination.
    pub packets: Vec<PacketEntry>,
    pub pagination: PageInfo,
    pub transaction_summary: TransactionSummary,
    pub clients: Clients,
    pub servers: Servers,
    pub leases: Leases,
    /// Findings worth a look, each with a stable `type`, a sentence, and
    /// examples. They are observations with their numbers, not diagnoses.
    pub observations: Vec<Observation<Finding>>,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<NoMoreFacts>,
    /// Present when the capture holds no DHCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// mcpcap's statistics (DHCPv4), what the bounds left out, and DHCPv6's.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    #[serde(flatten)]
    pub v4: V4Statistics,
    pub dhcpv4_packets: u64,
    pub dhcpv6_packets: u64,
    /// BOOTREQUEST/BOOTREPLY without the DHCP magic cookie.
    pub bootp_packets: u64,
    pub malformed_packets: u64,
    pub bad_magic_cookie_packets: u64,
    /// DHCPv4 found by its magic cookie on ports other than 67/68.
    pub non_standard_port_packets: u64,
    pub dhcpv6: V6Statistics,
}

/// mcpcap's DHCPv4 statistics, and what the bounds left out.
#[derive(Serialize, JsonSchema)]
pub struct V4Statistics {
    /// Distinct client hardware addresses (an estimate when counts_estimated).
    pub unique_clients_count: u64,
    /// Distinct server identifiers.
    pub unique_servers_count: u64,
    /// The first 40 clients seen.
    pub unique_clients: Vec<String>,
    /// The first 40 servers seen.
    pub unique_servers: Vec<String>,
    /// DHCPv4 messages per type, in order of first appearance.
    pub message_type_counts: OrderedMap<String, u64>,
    /// Distinct transaction ids.
    pub transaction_count: u64,
    /// The messages of the first 40 transactions, by transaction id.
    pub transactions: OrderedMap<String, Vec<TransactionMessage>>,
    pub unique_clients_omitted: u64,
    pub unique_servers_omitted: u64,
    pub transactions_omitted: u64,
    pub transaction_messages_omitted: u64,
    /// True when a distinct count is an estimate (bounded memory).
    pub counts_estimated: bool,
}

/// One message of a transaction.
#[derive(Serialize, JsonSchema)]
pub struct TransactionMessage {
    pub packet_number: u64,
    pub frame_number: u64,
    pub message_type: String,
    /// Unix seconds.
    pub timestamp: Option<f64>,
}

/// DHCPv6 over the whole capture.
#[derive(Serialize, JsonSchema)]
pub struct V6Statistics {
    pub messages: u64,
    pub relayed_messages: u64,
    /// Messages per type, in order of first appearance.
    pub message_type_counts: OrderedMap<String, u64>,
    pub unique_clients_count: u64,
    /// The first clients seen, by DUID.
    pub unique_clients: Vec<V6Client>,
    pub unique_servers_count: u64,
    pub unique_servers: Vec<String>,
    pub transaction_count: u64,
    /// The messages of the first transactions, by transaction id.
    pub transactions: OrderedMap<String, Vec<TransactionMessage>>,
    pub transactions_omitted: u64,
    pub leases: V6Leases,
}

/// A DHCPv6 client.
#[derive(Serialize, JsonSchema)]
pub struct V6Client {
    pub duid: String,
    /// From a link-layer DUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_layer_address: Option<String>,
}

/// Addresses and prefixes DHCPv6 servers assigned.
#[derive(Serialize, JsonSchema)]
pub struct V6Leases {
    pub count: u64,
    pub listed: Vec<V6LeaseEntry>,
    pub omitted: u64,
}

/// An address or prefix assigned (in a Reply).
#[derive(Serialize, JsonSchema)]
pub struct V6LeaseEntry {
    /// From an IA_NA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// From an IA_TA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_address: Option<String>,
    /// `prefix/length`, for prefix delegation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub iaid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_duid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_link_layer_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_duid: Option<String>,
    pub preferred_lifetime: u32,
    pub valid_lifetime: u32,
    pub frame_number: u64,
    /// Unix seconds.
    pub assigned_at: Option<f64>,
    pub assigned_at_iso: Option<String>,
}

/// DHCPv4 transactions: timing and outcomes.
#[derive(Serialize, JsonSchema)]
pub struct TransactionSummary {
    pub count: u64,
    /// Transactions ended by an ACK.
    pub completed: u64,
    /// Transactions ended by a NAK.
    pub refused: u64,
    /// Transactions offered to by more than one server.
    pub answered_by_several_servers: u64,
    pub latency: Latencies,
    /// The first 40 transactions.
    pub listed: Vec<TransactionEntry>,
    pub omitted: u64,
}

/// Server response times over all transactions.
#[derive(Serialize, JsonSchema)]
pub struct Latencies {
    pub discover_to_offer: LatencySummary,
    pub discover_to_ack: LatencySummary,
    pub request_to_ack: LatencySummary,
}

/// How many samples, and (when there are some) their range and mean in seconds.
#[derive(Serialize, JsonSchema)]
pub struct LatencySummary {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_seconds: Option<f64>,
}

/// One DHCPv4 transaction.
#[derive(Serialize, JsonSchema)]
pub struct TransactionEntry {
    pub transaction_id: String,
    pub client_mac: String,
    /// Message types in order.
    pub sequence: Vec<String>,
    /// Unix seconds.
    pub first_seen: Option<f64>,
    pub duration_seconds: f64,
    /// ACK, NAK, "offered, not acknowledged" or unanswered.
    #[schemars(extend("enum" = ["ACK", "NAK", "offered, not acknowledged", "unanswered"]))]
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discover_to_offer_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discover_to_ack_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_to_ack_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_ip: Option<String>,
    pub servers: Vec<String>,
}

/// DHCPv4 clients by hardware address.
#[derive(Serialize, JsonSchema)]
pub struct Clients {
    pub count: u64,
    /// The 40 busiest.
    pub listed: Vec<ClientEntry>,
    pub omitted: u64,
}

/// One DHCPv4 client.
#[derive(Serialize, JsonSchema)]
pub struct ClientEntry {
    pub client_mac: String,
    pub messages: u64,
    pub message_type_counts: OrderedMap<String, u64>,
    /// Unix seconds.
    pub first_seen: Option<f64>,
    /// Unix seconds.
    pub last_seen: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    pub servers: Vec<String>,
    /// Relay agents (giaddr) its messages came through.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<String>,
}

/// DHCPv4 servers that answered (sent BOOTREPLYs).
#[derive(Serialize, JsonSchema)]
pub struct Servers {
    pub count: usize,
    /// More servers answered than were tracked.
    pub more_untracked: bool,
    pub multiple_servers: bool,
    /// The 40 busiest.
    pub listed: Vec<ServerEntry>,
}

/// One DHCPv4 server and what it offered.
#[derive(Serialize, JsonSchema)]
pub struct ServerEntry {
    pub server_id: String,
    pub source_ips: Vec<String>,
    pub source_macs: Vec<String>,
    pub offers: u64,
    pub acks: u64,
    pub naks: u64,
    pub other_replies: u64,
    pub clients: usize,
    /// True when `clients` is a lower bound.
    pub clients_at_least: bool,
    pub relayed_replies: u64,
    pub routers: Vec<String>,
    pub dns_servers: Vec<String>,
    pub lease_times: Vec<u32>,
    /// Unix seconds.
    pub first_seen: Option<f64>,
    /// Unix seconds.
    pub last_seen: Option<f64>,
}

/// DHCPv4 leases granted (ACKs with an address), in time order.
#[derive(Serialize, JsonSchema)]
pub struct Leases {
    pub count: u64,
    pub listed: Vec<LeaseEntry>,
    pub omitted: u64,
}

/// One lease.
#[derive(Serialize, JsonSchema)]
pub struct LeaseEntry {
    pub ip: String,
    pub client_mac: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    pub transaction_id: String,
    pub packet_number: u64,
    pub frame_number: u64,
    /// Unix seconds.
    pub granted_at: Option<f64>,
    pub granted_at_iso: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebinding_time: Option<u32>,
    /// Absent for an infinite lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_iso: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_iso: Option<String>,
    /// RELEASE or DECLINE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<&'static str>,
}

/// One DHCP message: where it was found, its fields, and what was wrong with it.
#[derive(Serialize, JsonSchema)]
pub struct PacketEntry {
    /// 1-based position among the DHCP messages (as mcpcap numbers them).
    pub packet_number: u64,
    /// Frame number in the capture, as Wireshark numbers it.
    pub frame_number: u64,
    /// Unix seconds.
    pub timestamp: Option<f64>,
    /// DHCPv4 or DHCPv6.
    pub protocol: &'static str,
    pub src_ip: String,
    pub dst_ip: String,
    pub src_port: u16,
    pub dst_port: u16,
    /// The message's fields, when it could be read.
    #[serde(flatten)]
    pub message: Option<MessageFields>,
    /// DHCPv4 found by its magic cookie off ports 67/68.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_standard_port: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub malformed: bool,
    /// What was wrong (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A DHCPv4 or a DHCPv6 message's fields.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MessageFields {
    V4(Box<V4Fields>),
    V6(Box<V6Fields>),
}

/// A DHCPv4 (or BOOTP) message: mcpcap's fields first, then the added ones;
/// absent fields are left out, as mcpcap does.
#[derive(Serialize, JsonSchema)]
pub struct V4Fields {
    /// Request or Reply.
    pub op: &'static str,
    pub transaction_id: String,
    pub client_ip: String,
    pub your_ip: String,
    pub server_ip: String,
    pub relay_ip: String,
    pub client_mac: String,
    /// Every option by name, decoded (DHCP only, not BOOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<OrderedMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebinding_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class_id: Option<String>,
    /// Relay agent information (option 82) sub-options by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_agent: Option<OrderedMap<String, String>>,
    /// file, sname, file+sname or invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_overload: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_file: Option<String>,
    pub htype: u8,
    pub hops: u8,
    pub secs: u16,
    pub broadcast_flag: bool,
    /// BOOTP: no DHCP magic cookie.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bootp_only: bool,
}

/// A DHCPv6 message (a relay's carries the relayed one).
#[derive(Serialize, JsonSchema)]
pub struct V6Fields {
    pub message_type: String,
    pub message_type_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Relay-forward and relay-reply messages.
    #[serde(flatten)]
    pub relay: Option<RelayFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_duid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_duid_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_link_layer_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_duid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_duid_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_link_layer_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ia_na: Vec<IaEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ia_ta: Vec<IaEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ia_pd: Vec<IaEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusEntry>,
    /// Every other option by name, decoded.
    pub options: OrderedMap<String, Value>,
    /// The message a relay carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relayed_message: Option<Box<V6Fields>>,
}

/// A relay message's header.
#[derive(Serialize, JsonSchema)]
pub struct RelayFields {
    pub hop_count: u8,
    pub link_address: String,
    pub peer_address: String,
}

/// An identity association (IA_NA, IA_TA, IA_PD).
#[derive(Serialize, JsonSchema)]
pub struct IaEntry {
    pub iaid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t1: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t2: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<IaLease>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefixes: Option<Vec<IaLease>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusEntry>,
}

/// An address or a prefix of an identity association.
#[derive(Serialize, JsonSchema)]
pub struct IaLease {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `prefix/length`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub preferred_lifetime: u32,
    pub valid_lifetime: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusEntry>,
}

/// A DHCPv6 status code.
#[derive(Serialize, JsonSchema)]
pub struct StatusEntry {
    pub code: u16,
    pub name: String,
    pub message: String,
}

/// The kinds of DHCP observation.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// More than one DHCP server answered: deliberate redundancy or a rogue server (compare their offers in `servers`).
    SeveralServers,
    /// Transactions answered by more than one server.
    TransactionsAnsweredTwice,
    /// Servers refused the addresses clients asked for (client moved networks, or a server's view differs).
    Naks,
    /// Clients found their offered address already in use.
    Declines,
    /// Many hardware addresses sent DISCOVERs and few transactions completed: address pool starvation?
    PossibleStarvation,
    /// Client messages (not relayed) whose chaddr differs from the Ethernet source: a sign of spoofing or starvation tools.
    ChaddrMismatch,
    /// Messages with a bad magic cookie, whose options were not decoded.
    BadMagicCookie,
    /// Malformed DHCP messages (see `malformed` and `problems` in their packet entries).
    MalformedMessages,
    /// DHCPv4 found by its magic cookie on ports other than 67/68.
    DhcpOnOtherPorts,
}
