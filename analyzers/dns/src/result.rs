//! What `analyze_dns_packets` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, MinAvgMax, Observation, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;

/// The result of `analyze_dns_packets`.
#[derive(Serialize, JsonSchema)]
pub struct DnsResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless max_packets stopped the analysis).
    pub total_packets_in_file: u64,
    /// DNS messages found (a TCP segment may carry several).
    pub dns_packets_found: u64,
    /// DNS messages analyzed (as many as found).
    pub dns_packets_analyzed: u64,
    pub statistics: Statistics,
    pub transactions: TransactionSummary,
    /// Findings worth a look, each with a stable `type`, a sentence, and
    /// examples. They are observations with their numbers, not diagnoses.
    pub observations: Vec<Observation<Finding>>,
    /// One page of DNS messages; see pagination.
    pub packets: Vec<MessageEntry>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<TcpFacts>,
    /// Present when no DNS message was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// The dns analyzer's own capture facts: how DNS over TCP fared.
#[derive(Serialize, JsonSchema)]
pub struct TcpFacts {
    /// Holes in DNS TCP streams the capture does not fill.
    pub tcp_gaps: u64,
    /// Bytes of DNS messages over TCP never completed.
    pub tcp_incomplete_bytes: u64,
}

/// Figures over every DNS message analyzed.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    /// Messages with the QR bit clear.
    pub queries: u64,
    /// Messages with the QR bit set.
    pub responses: u64,
    /// Distinct question names (a lower bound when unique_domains_exact is false).
    pub unique_domains_queried: u64,
    /// The 100 most frequent question names.
    pub unique_domains: Vec<String>,
    /// False when unique_domains_queried is an estimate.
    pub unique_domains_exact: bool,
    /// DNS messages, parsed or not.
    pub messages: u64,
    /// Messages that did not parse.
    pub malformed_messages: u64,
    /// The first malformed messages and why they did not parse.
    pub malformed_examples: Vec<MalformedExample>,
    /// Messages found by content on UDP ports that are not DNS's.
    pub found_on_other_ports: u64,
    /// Messages to or from port 5353 (multicast DNS).
    pub mdns_messages: u64,
    /// Messages per transport (UDP, TCP).
    pub transports: BTreeMap<&'static str, u64>,
    /// Messages per opcode name.
    pub opcodes: BTreeMap<String, u64>,
    /// Responses per response code name (NOERROR, NXDOMAIN, ...).
    pub rcodes: BTreeMap<String, u64>,
    /// Queries per question type name (the 50 most frequent).
    pub query_types: BTreeMap<String, u64>,
    /// The most queried names, with their counts.
    pub top_queried_names: Vec<NameCount>,
    /// The hosts that sent the most queries.
    pub top_clients: Vec<ClientCount>,
    /// The hosts that sent the most responses.
    pub top_resolvers: Vec<ServerCount>,
    /// Responses with the TC (truncated) flag.
    pub truncated_responses: u64,
    /// Responses with the AA (authoritative) flag.
    pub authoritative_responses: u64,
    /// Messages with an EDNS OPT record.
    pub edns_messages: u64,
    /// Messages with EDNS's DNSSEC OK bit.
    pub dnssec_ok_messages: u64,
    /// False when a top-N table had to drop rare keys to stay bounded.
    pub tables_exact: bool,
}

/// A malformed message: where, and what was wrong.
#[derive(Serialize, JsonSchema)]
pub struct MalformedExample {
    pub packet_number: u64,
    pub error: String,
}

/// A queried name and how often.
#[derive(Serialize, JsonSchema)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// A client address and its queries.
#[derive(Serialize, JsonSchema)]
pub struct ClientCount {
    pub client: String,
    pub count: u64,
}

/// A resolver address and its responses.
#[derive(Serialize, JsonSchema)]
pub struct ServerCount {
    pub server: String,
    pub count: u64,
}

/// Queries matched to responses by (client, client port, server, id, question).
#[derive(Serialize, JsonSchema)]
pub struct TransactionSummary {
    /// Responses that answered a query seen in the capture.
    pub matched: u64,
    /// Unicast queries sent that no response answered, retransmissions
    /// included: a resolver that is unreachable, filtered or overloaded.
    pub unanswered_queries: u64,
    /// Queries to a multicast group (mDNS, LLMNR) that no one answered,
    /// counted apart: multicast name resolution asks everyone, and silence
    /// usually means only that nobody has the name.
    pub unanswered_multicast_queries: u64,
    /// Queries repeating one not answered yet (same client, port, server, id
    /// and question); a response answers the latest.
    pub retransmitted_queries: u64,
    /// Responses to a query already answered.
    pub duplicate_responses: u64,
    /// Responses to no query seen in the capture.
    pub unsolicited_responses: u64,
    /// Response times of matched queries; null when none matched.
    pub response_time_ms: Option<MinAvgMax>,
    pub response_time_histogram: ResponseTimeHistogram,
    /// The slowest matched queries, slowest first.
    pub slowest: Vec<SlowQuery>,
    /// The first unicast queries left unanswered.
    pub unanswered_examples: Vec<UnansweredQuery>,
    /// The first duplicate responses.
    pub duplicate_examples: Vec<DuplicateResponse>,
    /// Unanswered queries forgotten because too many were pending at once.
    pub untracked_for_capacity: u64,
    /// A query unanswered this long (capture time) counts as unanswered.
    pub answer_window_seconds: f64,
}

/// Matched queries per response-time bucket.
#[derive(Serialize, JsonSchema)]
pub struct ResponseTimeHistogram {
    #[serde(rename = "<1ms")]
    pub under_1ms: u64,
    #[serde(rename = "1-5ms")]
    pub ms_1_5: u64,
    #[serde(rename = "5-10ms")]
    pub ms_5_10: u64,
    #[serde(rename = "10-50ms")]
    pub ms_10_50: u64,
    #[serde(rename = "50-100ms")]
    pub ms_50_100: u64,
    #[serde(rename = "100-500ms")]
    pub ms_100_500: u64,
    #[serde(rename = "0.5-1s")]
    pub s_half_1: u64,
    #[serde(rename = "1-5s")]
    pub s_1_5: u64,
    #[serde(rename = ">=5s")]
    pub s_5_plus: u64,
}

impl ResponseTimeHistogram {
    /// The histogram of bucket counts in order of their bounds.
    pub fn of(buckets: [u64; 9]) -> Self {
        let [under_1ms, ms_1_5, ms_5_10, ms_10_50, ms_50_100, ms_100_500, s_half_1, s_1_5, s_5_plus] = buckets;
        ResponseTimeHistogram { under_1ms, ms_1_5, ms_5_10, ms_10_50, ms_50_100, ms_100_500, s_half_1, s_1_5, s_5_plus }
    }
}

/// A matched query and how long its answer took.
#[derive(Serialize, JsonSchema, Clone)]
pub struct SlowQuery {
    pub response_time_ms: f64,
    pub name: String,
    /// Question type name.
    #[serde(rename = "type")]
    pub qtype: String,
    pub client: String,
    pub server: String,
    pub query_packet: u64,
    pub response_packet: u64,
}

/// A query no response answered.
#[derive(Serialize, JsonSchema)]
pub struct UnansweredQuery {
    /// The last attempt's packet.
    pub packet_number: u64,
    pub name: String,
    /// Question type name.
    #[serde(rename = "type")]
    pub qtype: String,
    pub client: String,
    pub server: String,
    pub dns_id: u16,
    /// Times the query was sent.
    pub attempts: u64,
}

/// A response to a query already answered.
#[derive(Serialize, JsonSchema)]
pub struct DuplicateResponse {
    pub packet_number: u64,
    pub name: String,
    pub dns_id: u16,
    pub server: String,
}

/// One DNS message: where it was found, then its decoded fields or why it
/// did not parse.
#[derive(Serialize, JsonSchema)]
pub struct MessageEntry {
    pub packet_number: u64,
    /// Capture time, RFC 3339; null when the packet has none.
    pub timestamp: Option<String>,
    pub source_ip: String,
    pub destination_ip: String,
    pub source_port: u16,
    pub destination_port: u16,
    /// "UDP" or "TCP".
    pub protocol: &'static str,
    #[serde(flatten)]
    pub body: MessageBody,
}

/// A message's fields: decoded, or why it could not be.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MessageBody {
    Parsed(Box<ParsedMessage>),
    Malformed(MalformedMessage),
}

/// A message that parsed.
#[derive(Serialize, JsonSchema)]
pub struct ParsedMessage {
    pub dns_id: u16,
    pub flags: Flags,
    /// Opcode name (QUERY, NOTIFY, UPDATE, ...).
    pub opcode: String,
    /// Response code name; null for a query.
    pub rcode: Option<String>,
    pub questions: Vec<QuestionEntry>,
    pub answers: Vec<RecordEntry>,
    pub authorities: Vec<RecordEntry>,
    pub additionals: Vec<RecordEntry>,
    /// The EDNS OPT record; null when absent.
    pub edns: Option<Edns>,
    /// For a response that answered a query seen in the capture.
    pub response_time_ms: Option<f64>,
    /// One line, e.g. `Response NXDOMAIN A nope.example (no answers)`.
    pub summary: String,
    /// "content" when found on a UDP port that is not DNS's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<&'static str>,
}

/// A message that did not parse.
#[derive(Serialize, JsonSchema)]
pub struct MalformedMessage {
    /// Why it did not parse.
    pub malformed: String,
    /// The header's id, when the 12-byte header is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_id: Option<u16>,
    /// The header's QR bit, when the header is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<QrFlag>,
    pub summary: String,
}

/// The QR bit of a header that did not parse further.
#[derive(Serialize, JsonSchema)]
pub struct QrFlag {
    pub is_response: bool,
}

/// Header flags: mcpcap's five plus AD and CD.
#[derive(Serialize, JsonSchema)]
pub struct Flags {
    pub is_response: bool,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub authentic_data: bool,
    pub checking_disabled: bool,
}

/// A question.
#[derive(Serialize, JsonSchema)]
pub struct QuestionEntry {
    pub name: String,
    /// Type number.
    #[serde(rename = "type")]
    pub qtype: u16,
    /// Type name (A, AAAA, TYPE65280 for unknown ones).
    pub type_name: String,
    pub class: u16,
}

/// A resource record: mcpcap's name/type/class/ttl/data plus the fields of
/// its type (present only for that type).
#[derive(Serialize, JsonSchema)]
pub struct RecordEntry {
    pub name: String,
    /// Type number.
    #[serde(rename = "type")]
    pub rtype: u16,
    /// Type name (A, AAAA, TYPE65280 for unknown ones).
    pub type_name: String,
    pub class: u16,
    pub ttl: u32,
    /// A, AAAA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// CNAME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// MX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u16>,
    /// MX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// SRV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// SRV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// SRV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// NS, PTR, SRV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa: Option<Soa>,
    /// TXT: its strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txt: Option<Vec<String>>,
    /// RDATA of a type without a decoder, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata_hex: Option<String>,
    /// The record's data as zone-file text.
    pub data: String,
}

/// An SOA record's fields.
#[derive(Serialize, JsonSchema)]
pub struct Soa {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: i32,
    pub retry: i32,
    pub expire: i32,
    pub minimum: u32,
}

/// EDNS: UDP payload size, DO bit, version, extended rcode bits, options.
#[derive(Serialize, JsonSchema)]
pub struct Edns {
    pub udp_payload_size: u16,
    pub dnssec_ok: bool,
    pub version: u8,
    pub rcode_high: u8,
    pub options: Vec<EdnsOption>,
}

/// An EDNS option.
#[derive(Serialize, JsonSchema)]
pub struct EdnsOption {
    pub code: u16,
    pub name: String,
    pub data: String,
}

/// The kinds of DNS observation.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Queries with a label of 40+ characters: data encoded in names?
    LongLabels,
    /// Queries whose first label is long random-looking text: a DGA or tunneling?
    HighEntropyLabels,
    /// Parent domains with 50+ distinct subdomains queried: tunneling, a DGA or a CDN.
    ManySubdomains,
    /// A quarter or more of the queries ask for TXT records, a common tunneling carrier.
    TxtHeavy,
    /// 30 % or more of the responses are NXDOMAIN: typos, stale configuration or DGA lookups.
    NxdomainHeavy,
    /// Responses that are SERVFAIL or REFUSED: a resolver failing or refusing clients.
    ServerErrors,
    /// Responses with the TC flag: clients should retry over TCP.
    TruncatedResponses,
    /// Many queries got no response within the answer window: resolver unreachable or filtered?
    UnansweredQueries,
}
