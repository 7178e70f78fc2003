//! What the http tools return, as types: the result schemas are generated
//! from them, and their `///` docs are what clients read.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, MinAvgMax, Observation, OrderedMap, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;

/// The result of `analyze_http_requests`.
#[derive(Serialize, JsonSchema)]
pub struct RequestsResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets_in_file: u64,
    /// Transactions found (the length of the whole list).
    pub transaction_count: usize,
    pub statistics: Statistics,
    /// What deserves a look, most telling first.
    pub findings: Vec<Observation<FindingKind>>,
    /// One page of transactions, in the order they ended (a response
    /// complete, or its connection or the capture over); see pagination.
    pub transactions: Vec<Transaction>,
    pub pagination: PageInfo,
    /// What the packet path and the HTTP stream reader met.
    pub capture: CaptureFacts<HttpFacts>,
    /// Set when no HTTP was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// The result of `analyze_http_objects`.
#[derive(Serialize, JsonSchema)]
pub struct ObjectsResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets_in_file: u64,
    /// Objects found (the length of the whole list): response bodies, and
    /// request bodies (uploads, posted forms).
    pub object_count: usize,
    /// Objects by content type, and how many were executables.
    pub statistics: ObjectStatistics,
    /// One page of objects, in the order their transactions ended.
    pub objects: Vec<Object>,
    pub pagination: PageInfo,
    pub capture: CaptureFacts<HttpFacts>,
    /// Set when no object was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// Counts over every transaction.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    /// Requests seen (their heads).
    pub requests: u64,
    /// Final responses seen (1xx interim responses are counted apart).
    pub responses: u64,
    pub interim_responses: u64,
    /// Requests no response answered in the capture.
    pub unanswered_requests: u64,
    /// Responses whose request the capture did not show (it began after).
    pub responses_without_request: u64,
    /// Requests by method.
    pub methods: BTreeMap<String, u64>,
    /// Final responses by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Hosts asked for (the Host field), most frequent first.
    pub hosts: OrderedMap<String, u64>,
    pub user_agents: OrderedMap<String, u64>,
    /// Servers that answered (the Server field).
    pub servers: OrderedMap<String, u64>,
    /// Response content types (without parameters).
    pub content_types: OrderedMap<String, u64>,
    /// Seconds from a request to its final response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_time_s: Option<MinAvgMax>,
    /// Response body bytes as sent, in all.
    pub response_body_bytes: u64,
    /// Redirects (3xx with a Location).
    pub redirects: u64,
    /// Connections switched to WebSocket (101 with `Upgrade: websocket`).
    pub websocket_upgrades: u64,
    /// CONNECT tunnels the proxy accepted.
    pub connect_tunnels: u64,
    /// Requests that carried credentials (Authorization, password fields).
    pub requests_with_credentials: u64,
    /// Requests through a proxy: an absolute URI, or Via/Forwarded fields.
    pub proxied_requests: u64,
}

/// Counts over every object.
#[derive(Serialize, JsonSchema)]
pub struct ObjectStatistics {
    pub content_types: OrderedMap<String, u64>,
    /// Bytes of all objects, decoded where they were.
    pub bytes: u64,
    pub executables: u64,
    /// Objects whose hash is missing, by reason (`body_not_captured_whole`,
    /// `content_encoding_not_decoded`, `content_decoding_failed`,
    /// `decoded_body_past_bound`).
    pub without_hash: BTreeMap<String, u64>,
}

/// One request and its response.
#[derive(Serialize, JsonSchema)]
pub struct Transaction {
    /// The client, `address:port` (`[v6]:port`).
    pub client: String,
    pub server: String,
    /// The request: absent when the capture shows only the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestEntry>,
    /// The final response: absent when none came in the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseEntry>,
    /// Status codes of 1xx interim responses before it (`100 Continue`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interim_statuses: Vec<u16>,
    /// Seconds from the request to the final response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_time_s: Option<f64>,
    /// What follows the exchange: `websocket`, `tunnel` (CONNECT or
    /// another upgrade), `http2` (an h2c upgrade).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switched_to: Option<String>,
}

/// A request's head and body in brief.
#[derive(Serialize, JsonSchema)]
pub struct RequestEntry {
    /// Wireshark's frame number of the packet that completed the head.
    pub frame: u64,
    /// Capture time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub method: String,
    /// The request target as sent, cut at 512 characters.
    pub uri: String,
    /// Its full length, when it was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_length: Option<usize>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Body bytes as sent.
    pub body_bytes: u64,
    /// Credentials it carried, values masked unless `reveal_secrets`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Names of the cookies sent (values are never reported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
}

/// A response's head and body in brief.
#[derive(Serialize, JsonSchema)]
pub struct ResponseEntry {
    pub frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub status: u16,
    pub reason: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Body bytes as sent (after chunked framing is undone).
    pub body_bytes: u64,
    /// Whether the whole body was seen (no gap, ended as framed).
    pub body_complete: bool,
    /// Redirect target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A credential a request carried.
#[derive(Serialize, JsonSchema)]
pub struct Credential {
    /// `basic`, `bearer`, `digest`, `ntlm`, `negotiate`, `other_scheme`
    /// (an Authorization field), `form_field` (a posted form), `query_field`
    /// (in the URI).
    pub kind: String,
    /// Where: `authorization`, `proxy_authorization`, or the field's name.
    pub field: String,
    /// Basic's user name, shown as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The secret: `<masked: N characters>` unless `reveal_secrets`.
    pub secret: String,
}

/// A message body: a download (sent by the server) or an upload (a
/// request's body, sent by the client).
#[derive(Serialize, JsonSchema)]
pub struct Object {
    /// `server` (a response's body) or `client` (a request's).
    pub sent_by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_frame: Option<u64>,
    pub client: String,
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The request target (cut at 512 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// From Content-Disposition's filename, else the URI's last path segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The response's status (for an upload, the answer to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Bytes as sent (after chunked framing is undone).
    pub bytes: u64,
    /// Bytes once the Content-Encoding is undone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_bytes: Option<u64>,
    /// SHA-256 of the decoded body, hex: match it against threat feeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why there is no hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_hash_because: Option<&'static str>,
    /// A Windows (MZ), ELF or Mach-O executable by its first bytes, or by
    /// its content type.
    pub executable: bool,
}

/// What the HTTP reader met.
#[derive(Serialize, JsonSchema, Default)]
pub struct HttpFacts {
    /// Holes in the TCP streams given up as gaps.
    pub tcp_gaps: u64,
    pub tcp_streams_evicted: u64,
    /// Times a direction stopped looking like HTTP/1 (after a gap, or
    /// garbage) and was read again from its next message.
    pub lost_sync: u64,
    /// Directions that became tunnels (CONNECT, WebSocket and other upgrades).
    pub tunnels: u64,
    /// Directions speaking HTTP/2 with prior knowledge (h2c): counted, not decoded.
    pub http2_prior_knowledge: u64,
}

/// Kinds of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Credentials sent in the clear (Basic, Bearer, password fields).
    PlaintextCredentials,
    /// A download whose body is a Windows, ELF or Mach-O executable.
    ExecutableDownload,
    /// User agents of known scanners and attack tools.
    ScannerUserAgent,
    /// Many 4xx/5xx responses within seconds: a scan, a broken client or an outage.
    ErrorBurst,
    /// Request targets over 2,048 characters (injection, overflow attempts, tracking).
    LongUri,
    /// Requests naming a raw IP address as host (malware often skips DNS).
    RawIpHost,
}
