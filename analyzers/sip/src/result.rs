//! What `analyze_sip_packets` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, Observation, OrderedMap, PageInfo, Spread};
use schemars::JsonSchema;
use serde::Serialize;

/// The result of `analyze_sip_packets`.
#[derive(Serialize, JsonSchema)]
pub struct SipResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless max_packets stopped the analysis).
    pub total_packets_in_file: u64,
    /// SIP messages found (a TCP segment may carry several).
    pub sip_packets_found: u64,
    /// SIP messages analyzed (as many as found).
    pub sip_packets_analyzed: u64,
    pub statistics: Statistics,
    pub calls: Calls,
    pub dialogs: Dialogs,
    pub registrations: Registrations,
    /// Findings worth a look, each with a stable `type`, a sentence, and
    /// examples. They are observations with their numbers, not diagnoses.
    pub observations: Vec<Observation<Finding>>,
    /// One page of SIP messages; see pagination.
    pub packets: Vec<MessageEntry>,
    pub pagination: PageInfo,
    /// What the packet path met reading the capture.
    pub capture: CaptureFacts<SipFacts>,
    /// Present when no SIP message was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// The sip analyzer's own capture facts: how the streams that carry SIP fared.
#[derive(Serialize, JsonSchema)]
pub struct SipFacts {
    /// Holes in SIP TCP streams the capture does not fill.
    pub tcp_gaps: u64,
    /// TCP streams let go to stay within the reassembler's bounds.
    pub tcp_streams_evicted: u64,
    /// Bytes in SIP TCP streams before a start line could be found.
    pub tcp_junk_bytes: u64,
    /// Body bytes over TCP past what the analysis keeps of a message.
    pub tcp_skipped_body_bytes: u64,
    pub sctp: SctpFacts,
    pub websocket: WebSocketFacts,
}

/// SCTP packets read, and the user messages of their DATA and I-DATA chunks (SIP or not).
#[derive(Serialize, JsonSchema)]
pub struct SctpFacts {
    pub packets: u64,
    pub data_chunks: u64,
    /// User messages, fragmented ones reassembled.
    pub messages: u64,
    pub reassembled_messages: u64,
    /// Fragmented messages given up (fragments missing or past the bounds).
    pub incomplete_messages: u64,
}

/// SIP over WebSocket (RFC 7118): handshakes and frames.
#[derive(Serialize, JsonSchema)]
pub struct WebSocketFacts {
    /// HTTP upgrade requests for the sip subprotocol.
    pub handshakes: u64,
    /// Of those, answered 101 Switching Protocols.
    pub upgrades: u64,
    pub frames: u64,
    /// Ping, pong and close frames (skipped).
    pub control_frames: u64,
    /// Data messages (text or binary, fragments joined), SIP or not.
    pub messages: u64,
    pub non_sip_messages: u64,
    /// permessage-deflate messages, not decompressed.
    pub compressed_messages: u64,
    /// Frames breaking RFC 6455.
    pub malformed_frames: u64,
    /// Malformed frames by problem: bad_opcode, reserved_bits,
    /// unmasked_client_frame, masked_server_frame, fragmented_control_frame,
    /// control_frame_too_long, unexpected_continuation, unfinished_message,
    /// oversized_message (cut at 128 KiB), invalid_length (the framing is
    /// lost after it), truncated_frame.
    pub frame_problems: BTreeMap<&'static str, u64>,
    /// Payload bytes not analyzed (beyond the cap, compressed, in skipped
    /// frames, or after lost framing).
    pub skipped_bytes: u64,
}

/// Figures over every SIP message analyzed.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    pub requests: u64,
    pub responses: u64,
    /// Requests per method (the 30 most frequent, most frequent first).
    pub methods: OrderedMap<String, u64>,
    /// Responses by class: 1xx ... 6xx.
    pub response_classes: BTreeMap<String, u64>,
    /// Responses by exact status code.
    pub response_codes: BTreeMap<u16, u64>,
    /// Distinct Call-IDs (a lower bound when tables_exact is false).
    pub unique_call_ids: u64,
    /// The first 50 distinct Call-IDs.
    pub call_ids: Vec<String>,
    /// Messages by transport: UDP, TCP, SCTP (RFC 4168), WS (SIP over WebSocket, RFC 7118).
    pub transports: BTreeMap<&'static str, u64>,
    /// Messages by the transport named in the top Via (UDP, TCP, TLS, WS...), most frequent first.
    pub via_transports: OrderedMap<String, u64>,
    /// Up to 50 User-Agent values, most frequent first.
    pub user_agents: Vec<String>,
    /// The 10 most frequent User-Agent values, with their counts.
    pub top_user_agents: OrderedMap<String, u64>,
    /// Up to 50 Server values, most frequent first.
    pub servers: Vec<String>,
    /// Codecs offered in SDP bodies (top 20).
    pub codecs: OrderedMap<String, u64>,
    pub messages_with_sdp: u64,
    /// Messages on ports other than 5060/5061/5080/6060, recognised by
    /// content (WebSocket messages, announced by their handshake, are not counted).
    pub found_on_other_ports: u64,
    /// Messages with at least one flag.
    pub malformed_messages: u64,
    /// Messages per flag (junk_before_start_line, no_line_terminator,
    /// bare_lf_line_endings, headers_not_terminated, long_header_line,
    /// too_many_headers, folded_header, header_without_colon,
    /// invalid_header_name, repeated_single_value_header,
    /// invalid_content_length, missing_content_length,
    /// content_length_exceeds_data, data_after_body, missing_call_id,
    /// missing_cseq, body_exceeds_stream_buffer, stream_ended_mid_message;
    /// over WebSocket: ws_malformed_frame, ws_message_exceeds_buffer,
    /// ws_message_interrupted).
    pub malformed_flags: BTreeMap<&'static str, u64>,
    /// The first flagged messages.
    pub malformed_examples: Vec<MalformedExample>,
    /// False when a bounded table had to drop rare keys.
    pub tables_exact: bool,
}

/// A flagged message.
#[derive(Serialize, JsonSchema)]
pub struct MalformedExample {
    pub packet_number: u64,
    pub flags: Vec<&'static str>,
}

/// INVITE dialogs among the tracked Call-IDs.
#[derive(Serialize, JsonSchema)]
pub struct Calls {
    pub total: u64,
    /// Calls per outcome.
    pub outcomes: BTreeMap<CallOutcome, u64>,
    /// Calls per final response code.
    pub final_codes: BTreeMap<String, u64>,
    /// Milliseconds from the INVITE (of the transaction that got it, so
    /// after any 401/407 challenge) to the first 18x; null when no call had it.
    pub post_dial_delay_ms: Option<Spread>,
    /// Milliseconds from that INVITE to the 2xx; null when no call had it.
    pub time_to_answer_ms: Option<Spread>,
    /// Seconds from the 2xx to the BYE; null when no call had it.
    pub duration_seconds: Option<Spread>,
    /// Calls ended by a BYE from the caller or the callee.
    pub hung_up_by: BTreeMap<Party, u64>,
    pub dialogs_tracked: usize,
    /// Call-IDs seen after the dialog table was full (1000); counted only.
    pub dialogs_untracked: u64,
}

/// How an INVITE dialog ended.
#[derive(Serialize, JsonSchema, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A 2xx answered an INVITE.
    Answered,
    /// 486 or 600.
    Busy,
    /// A CANCEL or 487.
    Cancelled,
    /// Another final response of 300 or more.
    Failed,
    /// No final response was seen.
    NoFinalResponse,
}

/// Who sent the BYE.
// Declared in the order of the names, so that `hung_up_by` counts sort as they did as text.
#[derive(Serialize, JsonSchema, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Callee,
    Caller,
}

/// The Call-IDs seen.
#[derive(Serialize, JsonSchema)]
pub struct Dialogs {
    pub total: u64,
    pub shown: usize,
    /// The first 20 Call-IDs by first appearance.
    pub items: Vec<DialogEntry>,
}

/// One Call-ID: who, when, its first messages and, for an INVITE dialog, the call.
#[derive(Serialize, JsonSchema)]
pub struct DialogEntry {
    pub call_id: String,
    pub first_packet: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub first_method: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub messages: u64,
    /// The first 12 messages, in capture order.
    pub ladder: Vec<LadderStep>,
    /// Messages past the ladder's 12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ladder_steps_not_shown: Option<u64>,
    /// Present for an INVITE dialog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
}

/// One message of a dialog's ladder.
#[derive(Serialize, JsonSchema)]
pub struct LadderStep {
    pub packet_number: u64,
    /// Milliseconds since the dialog's first message.
    pub offset_ms: Option<f64>,
    pub source: String,
    pub destination: String,
    /// The method, or the status code, reason and CSeq method.
    pub message: String,
}

/// An INVITE dialog's call.
#[derive(Serialize, JsonSchema)]
pub struct Call {
    pub outcome: CallOutcome,
    pub final_code: Option<u16>,
    /// INVITE transactions (distinct CSeq) before the answer.
    pub invites: u64,
    pub invite_retransmissions: u64,
    pub post_dial_delay_ms: Option<f64>,
    pub time_to_answer_ms: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub hung_up_by: Option<Party>,
    pub bye_packet: Option<u64>,
}

/// REGISTER transactions and their bindings.
#[derive(Serialize, JsonSchema)]
pub struct Registrations {
    pub attempts: u64,
    pub challenges: u64,
    pub successes: u64,
    pub failures: u64,
    pub bindings_tracked: usize,
    pub bindings_untracked: u64,
    /// Up to 20, most attempts first.
    pub bindings: Vec<Binding>,
}

/// One (address of record, client address) registration binding.
#[derive(Serialize, JsonSchema)]
pub struct Binding {
    pub address_of_record: String,
    pub client: String,
    pub attempts: u64,
    pub challenges: u64,
    pub successes: u64,
    /// Failure responses by status code.
    pub failures: BTreeMap<u16, u64>,
    pub contact: Option<String>,
    pub expires: Option<String>,
    pub user_agent: Option<String>,
    pub first_packet: u64,
    pub last_packet: u64,
}

/// One SIP message: mcpcap's fields plus flags, SDP and every Via.
#[derive(Serialize, JsonSchema)]
pub struct MessageEntry {
    /// The frame carrying (over TCP: completing) the message.
    pub packet_number: u64,
    pub timestamp: Option<String>,
    pub source_ip: String,
    pub destination_ip: String,
    pub source_port: u16,
    pub destination_port: u16,
    /// UDP, TCP, SCTP or WS.
    pub transport: &'static str,
    /// "request" or "response".
    pub message_type: &'static str,
    pub start_line: String,
    pub call_id: Option<String>,
    pub cseq: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub contact: Option<String>,
    pub user_agent: Option<String>,
    pub server: Option<String>,
    /// The top Via.
    pub via: Option<String>,
    pub content_type: Option<String>,
    /// The Content-Length header, null when absent or not a number.
    pub content_length: Option<usize>,
    pub body_length: usize,
    /// On 5060/5061/5080/6060, or over WebSocket (any port).
    pub known_sip_port: bool,
    /// Every other header by full lower-case name (compact forms
    /// expanded); repeated headers joined with ", " in order. A header shown
    /// as a field above (call_id, cseq, from, to, contact, user_agent,
    /// server, via, content_type, content_length) is left out unless it
    /// appeared more than once (the field holds the first).
    pub headers: OrderedMap<String, String>,
    pub summary: String,
    #[serde(flatten)]
    pub start: StartLine,
    /// Every Via in order, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_all: Option<Vec<String>>,
    /// The SDP body, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp: Option<SdpEntry>,
    /// Irregularities; see statistics.malformed_flags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
}

/// The start line's parts.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StartLine {
    Request { method: String, request_uri: String, sip_version: String },
    Response { status_code: u16, reason: String, sip_version: String },
}

/// An SDP body (RFC 4566): what media are offered, where, with which codecs.
#[derive(Serialize, JsonSchema)]
pub struct SdpEntry {
    pub origin: Option<String>,
    pub session_name: Option<String>,
    pub connection_address: Option<String>,
    pub media: Vec<MediaEntry>,
    /// Media lines past the 16 kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_dropped: Option<usize>,
}

/// One media line.
#[derive(Serialize, JsonSchema)]
pub struct MediaEntry {
    pub media: String,
    pub port: Option<u32>,
    pub protocol: String,
    pub formats: Vec<String>,
    /// Codec per format, in offer order.
    pub codecs: Vec<String>,
    pub address: Option<String>,
    /// sendrecv, sendonly, recvonly or inactive.
    pub direction: String,
}

/// The kinds of SIP observation.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// A client's REGISTERs refused repeatedly or challenged many times without success: password guessing, account enumeration, or a misconfigured phone.
    RepeatedRegistrationFailures,
    /// Many INVITEs from one client ended in failure responses: dialing-plan probing (toll fraud) or a broken trunk.
    RepeatedCallFailures,
    /// One source sent OPTIONS to many addresses: SIP service discovery (e.g. SIPVicious svmap).
    OptionsSweep,
    /// User-Agent of a known SIP scanning or attack tool.
    ScannerUserAgent,
    /// Messages with irregularities (see statistics.malformed_flags).
    MalformedMessages,
    /// SIP on ports other than 5060/5061/5080/6060.
    SipOnOtherPorts,
}
