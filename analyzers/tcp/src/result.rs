//! What the four TCP tools return, as types: their result schemas are
//! generated from them, and their `///` docs are what clients read.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{Envelope, Header, Observation, OrderedMap, PageInfo, Spread};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::conn::Handshake;

/// The result of `analyze_tcp_connections`.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionsResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read.
    pub total_packets: u64,
    /// TCP segments before the filter.
    pub tcp_packets_found: u64,
    pub filter: FilterEcho,
    pub summary: ConnectionsSummary,
    /// One page of connections in order of first packet; see pagination.
    pub connections: Vec<ConnectionEntry>,
    pub pagination: PageInfo,
    /// What stands out, one sentence each.
    pub issues: Vec<String>,
    /// Set when there is no TCP traffic (to analyze).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub tail: Tail,
}

/// The filter the call applied.
#[derive(Serialize, JsonSchema)]
pub struct FilterEcho {
    pub server_ip: Option<String>,
    pub server_port: Option<u16>,
}

/// Figures over every connection.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionsSummary {
    pub total_connections: u64,
    pub successful_handshakes: u64,
    /// Connections whose client SYN was captured and whose handshake never
    /// completed. Connections joined mid-stream are not failures: they are
    /// `handshakes_not_seen` (mcpcap counted them here).
    pub failed_handshakes: u64,
    /// Connections with no client SYN in the capture (it started
    /// mid-stream): their handshake happened before the capture, or not at all.
    pub handshakes_not_seen: u64,
    pub established_connections: u64,
    pub reset_connections: u64,
    pub normal_close: u64,
    pub active_connections: u64,
    /// Connections per Zeek conn_state.
    pub conn_states: BTreeMap<&'static str, u64>,
    /// Connections per close_method.
    pub close_methods: BTreeMap<&'static str, u64>,
    /// Connections by the side that sent the first FIN or RST.
    pub closed_by: BTreeMap<&'static str, u64>,
    pub total_retransmissions: u64,
    pub payload_bytes: PayloadBytes,
    /// Handshake round-trip times (SYN to the ACK of the SYN-ACK); null without one.
    pub handshake_rtt_ms: Option<Spread>,
    pub connections_evicted_open: u64,
    /// Connections with a RST likely not sent by the host whose address it
    /// carries (see `suspicious_rst` on each connection).
    pub suspicious_rst_connections: u64,
}

/// TCP payload bytes each way.
#[derive(Serialize, JsonSchema)]
pub struct PayloadBytes {
    pub client_to_server: u64,
    pub server_to_client: u64,
}

/// A connection: mcpcap's fields, Zeek's conn_state and history, and with
/// `detailed` per-direction statistics, timing and how it closed.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionEntry {
    /// ip:port ([ip]:port for IPv6) of the endpoint that sent the SYN (without a SYN: the one on the higher port).
    pub client: String,
    pub server: String,
    /// mcpcap: closed after a reset or a normal close.
    #[schemars(extend("enum" = ["closed", "active"]))]
    pub state: &'static str,
    /// SYN, a SYN-ACK acknowledging it, and the ACK completing it were all
    /// captured (in any order).
    pub handshake_completed: bool,
    /// How far the handshake got, telling a failed handshake from one the
    /// capture never saw.
    pub handshake: Handshake,
    pub syn_count: u32,
    pub syn_ack_count: u32,
    pub ack_count: u32,
    pub rst_count: u32,
    pub fin_count: u32,
    pub data_packets: u32,
    /// Segments Wireshark flags tcp.analysis.retransmission.
    pub retransmissions: u32,
    #[schemars(extend("enum" = ["reset", "normal", "active", "unknown"]))]
    pub close_reason: &'static str,
    pub packet_count: u32,
    /// Position in order of first packet (0-based).
    pub connection_id: u64,
    /// The stream number: Wireshark's `tcp.stream`, analyze_conversations'
    /// `stream`, and what `follow_stream` takes. Absent past the bound on
    /// numbered streams (a warning says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u64>,
    /// Zeek's connection state.
    #[schemars(extend("enum" = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"]))]
    pub conn_state: &'static str,
    /// Zeek's history: uppercase from the client. S SYN, H SYN-ACK, A ACK,
    /// D data, F FIN, R RST, T retransmitted data, G capture gap, W zero
    /// window (T/G/W at 1, 10, 100... occurrences), I FIN+RST, Q
    /// multi-flag, ^ roles flipped.
    pub history: String,
    pub start_time: Option<String>,
    pub duration_s: f64,
    /// Present when a RST of this connection was likely not sent by the
    /// host whose address it carries: do not read it as that host
    /// refusing or aborting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_rst: Option<SuspiciousRstEntry>,
    #[serde(flatten)]
    pub detail: Option<ConnectionDetail>,
}

/// A RST likely forged (injected by a third party) or sent by a middlebox
/// in a host's name.
#[derive(Serialize, JsonSchema)]
pub struct SuspiciousRstEntry {
    /// Whose address the RST carries.
    #[schemars(extend("enum" = ["client", "server"]))]
    pub from: &'static str,
    /// Frame number of that side's first RST.
    pub frame: u64,
    /// The RST's IP TTL (hop limit for IPv6).
    pub ttl: u8,
    /// Lowest and highest TTL of that side's other packets; null when it sent none.
    pub other_packets_ttl: Option<[u8; 2]>,
    /// SYN-ACKs and data segments that side sent after the RST, as if it had sent none.
    pub sent_after_rst: u32,
    /// Why the RST is suspicious, in words.
    pub reason: String,
}

/// What `detailed` adds to a connection.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionDetail {
    pub end_time: Option<String>,
    pub first_packet: u64,
    pub last_packet: u64,
    /// What decided who is the client.
    #[schemars(extend("enum" = ["syn", "syn_ack", "port", "first_packet"]))]
    pub roles_from: &'static str,
    pub client_to_server: DirectionCounts,
    pub server_to_client: DirectionCounts,
    /// SYN to the ACK of the SYN-ACK (Wireshark's iRTT).
    pub handshake_rtt_ms: Option<f64>,
    pub syn_to_synack_ms: Option<f64>,
    pub synack_to_ack_ms: Option<f64>,
    /// Sender of the first FIN or RST.
    #[schemars(extend("enum" = ["client", "server", null]))]
    pub closed_by: Option<&'static str>,
    #[schemars(extend("enum" = ["graceful", "half_closed", "reset", "fin_then_reset", "open"]))]
    pub close_method: &'static str,
    pub reused_ports: bool,
    /// Dropped from memory before the capture ended (table full).
    pub evicted: bool,
}

/// One direction's counters.
#[derive(Serialize, JsonSchema)]
pub struct DirectionCounts {
    pub packets: u32,
    /// Frame bytes on the wire (the records' original lengths), as
    /// Wireshark's conversations count them.
    pub bytes: u64,
    /// Frame bytes captured: less than `bytes` when the capture cut frames
    /// at a snapshot length.
    pub captured_bytes: u64,
    /// TCP payload bytes (as the IP length declares them).
    pub payload_bytes: u64,
    pub data_packets: u32,
    pub syn: u32,
    pub fin: u32,
    pub rst: u32,
    pub retransmissions: u32,
    pub fast_retransmissions: u32,
    pub spurious_retransmissions: u32,
    pub out_of_order: u32,
    pub duplicate_acks: u32,
    pub lost_segments: u32,
    pub zero_windows: u32,
    pub keep_alives: u32,
}

/// The result of `analyze_tcp_anomalies`.
#[derive(Serialize, JsonSchema)]
pub struct AnomaliesResult {
    #[serde(flatten)]
    pub header: Header,
    pub filter: FilterEcho,
    pub statistics: AnomalyStatistics,
    pub summary: PatternSummary,
    /// Patterns observed, with their numbers (not diagnoses).
    pub patterns: Vec<Pattern>,
    pub thresholds: Thresholds,
    /// Set when there is no TCP traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub tail: Tail,
}

/// Figures over every connection and segment analyzed.
#[derive(Serialize, JsonSchema)]
pub struct AnomalyStatistics {
    pub total_connections: u64,
    /// TCP segments analyzed (after the filter).
    pub total_packets: u64,
    pub handshake: Handshakes,
    pub flags: FlagCounts,
    pub rst_distribution: RstDistribution,
    pub retransmissions: RetransmissionFigures,
    pub connection_states: ConnectionStates,
    /// Connections per Zeek conn_state.
    pub conn_states: BTreeMap<&'static str, u64>,
    /// Segments per Wireshark analysis flag.
    pub analysis: BTreeMap<&'static str, u64>,
    pub connection_attempts: Outcomes,
}

/// Handshakes seen.
#[derive(Serialize, JsonSchema)]
pub struct Handshakes {
    pub successful: u64,
    /// Client SYN captured, handshake never completed.
    pub failed: u64,
    /// Connections with no client SYN captured (joined mid-stream): not
    /// counted as failed.
    pub incomplete: u64,
}

/// Segments per flag.
#[derive(Serialize, JsonSchema)]
pub struct FlagCounts {
    pub syn: u64,
    pub syn_ack: u64,
    pub rst: u64,
    pub fin: u64,
    pub ack: u64,
}

/// Who sent the RSTs.
#[derive(Serialize, JsonSchema)]
pub struct RstDistribution {
    /// RSTs per sender address (top 20).
    pub by_source: OrderedMap<String, u64>,
    pub by_source_exact: bool,
    pub by_direction: RstDirections,
    #[schemars(extend("enum" = ["server_ip", "connection_roles"]))]
    pub direction_from: &'static str,
    /// The first 20.
    pub connections_with_rst: Vec<String>,
    pub connections_with_rst_total: u64,
}

/// RSTs by direction.
#[derive(Serialize, JsonSchema)]
pub struct RstDirections {
    pub to_server: u64,
    pub from_server: u64,
    pub unknown: u64,
}

/// Retransmissions over all connections.
#[derive(Serialize, JsonSchema)]
pub struct RetransmissionFigures {
    pub total: u64,
    /// Top 20 connections.
    pub by_connection: OrderedMap<String, u32>,
    pub rate: f64,
}

/// Connections per mcpcap state.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionStates {
    pub established: u64,
    pub reset: u64,
    pub closed: u64,
    pub unknown: u64,
}

/// What became of connection attempts (SYNs).
#[derive(Serialize, JsonSchema, Clone, Copy, Default)]
pub struct Outcomes {
    pub attempts: u64,
    pub answered: u64,
    pub rejected: u64,
    pub unanswered: u64,
}

/// How many patterns, and the ones to look at first.
#[derive(Serialize, JsonSchema)]
pub struct PatternSummary {
    pub total_patterns: usize,
    /// Patterns per category.
    pub by_category: BTreeMap<&'static str, u64>,
    /// The patterns to look at first, as every analyzer's observations
    /// read: a `type`, a sentence, and the largest cases as examples.
    pub notable_observations: Vec<Observation<Finding>>,
}

/// A pattern and the figures it rests on.
#[derive(Serialize, JsonSchema)]
pub struct Pattern {
    #[schemars(extend("enum" = ["rst_directional_asymmetry", "packet_retransmission", "handshake_completion",
        "abnormal_termination", "syn_response_imbalance", "unanswered_syns", "possible_syn_flood", "port_scan",
        "host_sweep", "loss_indicators", "zero_window"]))]
    pub pattern: &'static str,
    #[schemars(extend("enum" = ["connection_termination", "reliability", "connection_establishment",
        "connection_lifecycle", "security", "flow_control"]))]
    pub category: &'static str,
    /// The pattern's figures, by name (port_scan: scans with source,
    /// target, distinct_ports, a lower bound when distinct_ports_exact is
    /// false, and the outcomes of the attempts).
    pub observations: Value,
    pub description: String,
}

/// The thresholds the patterns used.
#[derive(Serialize, JsonSchema)]
pub struct Thresholds {
    pub port_scan_min_ports: usize,
    pub host_sweep_min_hosts: usize,
    pub syn_flood_min_unanswered: u64,
    pub scan_candidates_dropped: u64,
}

/// The result of `analyze_tcp_retransmissions`.
#[derive(Serialize, JsonSchema)]
pub struct RetransmissionsResult {
    #[serde(flatten)]
    pub header: Header,
    /// TCP segments analyzed (after the filter).
    pub total_packets: u64,
    pub total_retransmissions: u64,
    pub retransmission_rate: f64,
    pub threshold: f64,
    pub exceeds_threshold: bool,
    /// Connections ranked by retransmission rate; see pagination.
    pub by_connection: Vec<RankedConnection>,
    pub pagination: PageInfo,
    pub summary: RetransmissionSummary,
    pub breakdown: Breakdown,
    pub filter: FilterEcho,
    /// Set when there is no TCP traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub tail: Tail,
}

/// A connection and its retransmissions.
#[derive(Serialize, JsonSchema)]
pub struct RankedConnection {
    pub connection: String,
    pub retrans_count: u32,
    pub total_packets: u32,
    pub retrans_rate: f64,
    pub fast_retransmissions: u32,
    pub spurious_retransmissions: u32,
    pub client_to_server: u32,
    pub server_to_client: u32,
    pub conn_state: &'static str,
    pub connection_id: u64,
    /// Wireshark's `tcp.stream` (see analyze_tcp_connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u64>,
}

/// The worst connection and how many pass the threshold.
#[derive(Serialize, JsonSchema)]
pub struct RetransmissionSummary {
    pub worst_connection: String,
    pub worst_retrans_rate: f64,
    pub connections_above_threshold: u64,
    pub connections: u64,
    pub connections_with_retransmissions: u64,
}

/// Retransmissions by kind and direction, and the other loss indicators.
#[derive(Serialize, JsonSchema)]
pub struct Breakdown {
    pub fast_retransmissions: u64,
    pub spurious_retransmissions: u64,
    pub other_retransmissions: u64,
    pub client_to_server: u64,
    pub server_to_client: u64,
    pub out_of_order: u64,
    pub duplicate_acks: u64,
    pub lost_segments: u64,
}

/// The result of `analyze_traffic_flow`.
#[derive(Serialize, JsonSchema)]
pub struct FlowResult {
    #[serde(flatten)]
    pub header: Header,
    /// server_ip:server_port, or :any.
    pub server: String,
    pub client_to_server: FlowDirection,
    pub server_to_client: FlowDirection,
    pub analysis: FlowAnalysis,
    pub connections: FlowConnections,
    pub filter: FilterEcho,
    /// Set when there is no TCP traffic (to or from the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub tail: Tail,
}

/// One direction of the server's traffic.
#[derive(Serialize, JsonSchema, Clone, Copy, Default)]
pub struct FlowDirection {
    pub packet_count: u64,
    /// Frame bytes on the wire (the records' original lengths), as
    /// Wireshark's conversations count them.
    pub byte_count: u64,
    /// Frame bytes captured: less than `byte_count` when the capture cut
    /// frames at a snapshot length.
    pub captured_byte_count: u64,
    pub syn_count: u64,
    pub rst_count: u64,
    pub fin_count: u64,
    pub data_packets: u64,
    pub retransmissions: u64,
    pub payload_bytes: u64,
    pub duplicate_acks: u64,
    pub zero_windows: u64,
    pub out_of_order: u64,
}

/// Which side sends more, and which resets.
#[derive(Serialize, JsonSchema)]
pub struct FlowAnalysis {
    /// Client-to-server packets / server-to-client packets.
    pub asymmetry_ratio: f64,
    /// The side that sent more RSTs, balanced when both sent as many, none
    /// when no RST was sent (or no packet matched: no verdict without data).
    #[schemars(extend("enum" = ["client", "server", "balanced", "none"]))]
    pub primary_rst_source: &'static str,
    /// Which side sent more payload bytes (more than 1.2 times the
    /// other's), balanced, or none when neither sent data.
    #[schemars(extend("enum" = ["client_heavy", "server_heavy", "balanced", "none"]))]
    pub data_flow_direction: &'static str,
    pub interpretation: String,
    pub byte_asymmetry_ratio: f64,
}

/// The server's connections.
#[derive(Serialize, JsonSchema)]
pub struct FlowConnections {
    pub total: u64,
    /// Connections per Zeek conn_state.
    pub conn_states: BTreeMap<&'static str, u64>,
    pub top_clients: Vec<ClientPackets>,
    /// Handshake round-trip times; null without one.
    pub handshake_rtt_ms: Option<Spread>,
}

/// A client and its packets.
#[derive(Serialize, JsonSchema)]
pub struct ClientPackets {
    pub client: String,
    pub packets: u64,
}

/// What every TCP result ends with: the capture's facts, how the
/// connection table coped, and the shared envelope.
#[derive(Serialize, JsonSchema)]
pub struct Tail {
    pub capture: TcpCapture,
    pub tracking: TrackingReport,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// What the packet path met reading the capture.
#[derive(Serialize, JsonSchema)]
pub struct TcpCapture {
    pub packets: u64,
    /// TCP segments before the filter.
    pub tcp_packets: u64,
    /// TCP segments that passed the filter.
    pub analyzed_tcp_packets: u64,
    /// Packets whose link type or headers could not be read.
    pub undecodable_packets: u64,
    /// IP fragments of datagrams never completed, or too short to reassemble.
    pub ip_fragments_skipped: u64,
    /// Packets decoded through each encapsulation met; analyzers see the inner traffic.
    pub encapsulations: OrderedMap<&'static str, u64>,
    pub bad_tcp_headers: u64,
    pub first_packet_time: Option<String>,
    pub last_packet_time: Option<String>,
}

/// How the connection table coped.
#[derive(Serialize, JsonSchema)]
pub struct TrackingReport {
    pub connections: u64,
    pub peak_live_connections: u64,
    pub max_live_connections: usize,
    /// Closed connections dropped from memory 30 s (capture time) after
    /// they closed, or earlier when the table was full (nothing lost).
    pub evicted_closed: u64,
    /// Open connections dropped from memory when the table was full: their
    /// counts end there, later packets start new connections.
    pub evicted_open: u64,
    /// New connections started by a SYN reusing an earlier connection's ports.
    pub port_reuses: u64,
    /// Connection attempts nobody answered, dropped from memory 130 s
    /// (capture time) after their last SYN (nothing lost: they stay
    /// counted as attempts).
    pub expired_attempts: u64,
    pub note: &'static str,
}

/// The kinds of notable TCP observation.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// RSTs heavily biased toward or from the server.
    StrongRstAsymmetry,
    /// The retransmission rate exceeds the typical 2 %.
    HighRetransmission,
    /// Many unanswered SYNs to one server endpoint: a SYN flood, or a server that is down or filtered.
    PossibleSynFlood,
    /// One source tried many ports of one host.
    PortScan,
    /// One source tried one port on many hosts.
    HostSweep,
    /// RSTs likely not sent by the host whose address they carry (TTL
    /// unlike the host's other packets, or the host carried on after
    /// them): forged resets or a middlebox, not the host refusing.
    PossibleInjectedRst,
}
