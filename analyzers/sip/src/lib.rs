#![recursion_limit = "256"]
//! `analyze_sip_packets`: SIP over UDP, TCP, SCTP and WebSocket (RFC 7118, without
//! TLS), found by content (or by the WebSocket handshake) on any port, with
//! mcpcap's fields plus dialogs and call outcomes, registrations,
//! SDP media, malformed-message flags and observations, in one streaming pass
//! with bounded memory.

mod analysis;
mod message;
mod result;
mod scan;
mod sdp;
mod ws;

use std::io::Read;

use pcapsule_guest::conventions::{Header, PacketBudget, Paging, result_budget, schema};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Analyzer, Description, Packet, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use analysis::Analysis;
use result::{SctpFacts, SipFacts, SipResult, WebSocketFacts};
use scan::Scanner;

/// The sip analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Sip;

/// Parameters of `analyze_sip_packets` (besides `pcap_file`, which the host owns).
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

pcapsule_guest::paging_schemas!(messages_limit, messages_offset, "SIP messages", "SIP messages");

impl Analyzer for Sip {
    fn describe() -> Description {
        Description {
            name: "sip",
            version: env!("CARGO_PKG_VERSION"),
            summary: "SIP over UDP, TCP, SCTP and WebSocket: requests, responses, calls and their outcomes, registrations, SDP media.",
            tools: vec![ToolSpec {
                name: "analyze_sip_packets",
                title: "SIP analysis",
                description: "Analyze the SIP signaling in a capture. SIP is recognised by its request or status \
                              line on any port (5060, 5061, 5080, 6060 or others), over UDP and over TCP \
                              (reassembled, several messages per segment split by Content-Length) and over WebSocket \
                              (RFC 7118 without TLS, any port: a TCP connection upgraded with Sec-WebSocket-Protocol: \
                              sip is decoded as WebSocket frames, unmasked and reassembled, each data message one SIP \
                              message with transport \"WS\"; malformed frames are counted and flagged). Returns \
                              statistics (methods, response classes and exact codes, Call-IDs, transports, user \
                              agents, servers, codecs), calls (outcome per INVITE: answered, busy, cancelled, \
                              failed with the final code; post-dial delay, time to answer, duration, who hung up), \
                              dialogs with their message ladder per Call-ID, registrations (attempts, 401/407 \
                              challenges, results per address of record and client), observations (repeated \
                              registration failures, scanner user agents, OPTIONS sweeps, malformed messages) and a \
                              paged list of messages with every header (compact forms expanded), SDP media and \
                              malformation flags.",
                params_schema: schema::of_params::<Params>(),
                result_schema: schema::of_paged_result::<SipResult>("packets"),
            }],
            prompts: vec![
                PromptSpec {
                    name: "sip_security_analysis",
                    title: "SIP security analysis",
                    description: "Look for registration abuse, toll fraud, scanning and exposure in SIP traffic.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "sip_troubleshooting_analysis",
                    title: "SIP troubleshooting",
                    description: "Follow call setup and find where and why calls or registrations fail.",
                    text: PROMPT_TROUBLESHOOTING,
                },
                PromptSpec {
                    name: "sip_forensic_investigation",
                    title: "SIP forensics",
                    description: "Build a timeline of SIP activity by Call-ID, CSeq and endpoint.",
                    text: PROMPT_FORENSICS,
                },
            ],
        }
    }

    fn run(_tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let params: Params = pcapsule_guest::parse_params(params)?;
        let budget = ctx.budget(params.max_packets)?;
        let paging = Paging::from_params(params.limit, params.offset)?;
        analyze(capture, ctx, budget, paging, result_budget(params.max_result_bytes)?)
    }
}

const PROMPT_SECURITY: &str = "Assess this capture's SIP traffic for abuse with analyze_sip_packets. Start with \
`observations`: `repeated_registration_failures` (password guessing or extension enumeration against a \
registrar), `repeated_call_failures` (INVITEs probing dial plans for toll fraud), `options_sweep` (service \
discovery), `scanner_user_agent` (SIPVicious/friendly-scanner and similar tools) and `malformed_messages`. Then \
read `registrations.bindings` (per address of record and client: attempts, challenges, successes, failures by \
code) and `statistics.top_user_agents`, `statistics.servers` (software versions exposed to the network), \
`statistics.response_codes` (many 401/403/404 suggest brute force or enumeration) and `calls.outcomes` with \
`dialogs.items[].to` for calls to unusual or international destinations. `statistics.found_on_other_ports` shows \
SIP avoiding port-based filters; `statistics.transports` shows unencrypted signaling (UDP/TCP/WS, so credentials \
digests and numbers are visible). Cite packet numbers and say which findings are observations, not proof.";

const PROMPT_TROUBLESHOOTING: &str = "Diagnose SIP call and registration problems with analyze_sip_packets. Read \
`calls.outcomes` (answered, busy, cancelled, failed, no_final_response) and `calls.final_codes`, then each call \
in `dialogs.items`: its `ladder` shows the message flow in time order (offset_ms from the first message), and \
`call` gives `outcome`, `final_code`, `post_dial_delay_ms` (INVITE to first 18x), `time_to_answer_ms`, \
`duration_seconds` and `hung_up_by`. Repeated INVITEs or CANCELs in a ladder mean retransmissions (a lost \
response or an unreachable peer); 401/407 followed by a new INVITE is normal authentication; 408/480/503 point \
at reachability or overload. For registrations read `registrations.bindings` (challenges without successes: \
wrong credentials). Check `statistics.malformed_flags` and per-message `flags` for interoperability problems \
(lying Content-Length, bare LF line endings, missing headers) and `sdp` in messages for codec or address \
mismatches (`statistics.codecs`, media `address`/`port`/`direction`). Page through `packets` with \
limit/offset for the messages you need to quote.";

const PROMPT_FORENSICS: &str = "Reconstruct SIP activity from this capture with analyze_sip_packets. \
`statistics.call_ids` and `dialogs.items` list the conversations; for each, `from`, `to`, `first_seen`, \
`last_seen` and the `ladder` (packet numbers, source and destination endpoints, messages) give who called whom \
and when, and `call` gives the outcome, duration and who hung up. `registrations.bindings` tell which user \
registered from which address with which `contact` and `user_agent`. For full detail page through `packets` \
(limit/offset, `pagination.next_offset`): each entry has `timestamp`, `packet_number`, endpoints, `call_id`, \
`cseq`, `from`, `to`, `contact`, `via` (and `via_all`, the path through proxies), `user_agent`, all `headers`, \
and `sdp` media addresses and ports (where the RTP audio went). Keep times in UTC, cite packet numbers for every \
claim, and note `flags` on messages that may have been tampered with.";

/// The sip analyzer's part of the pass: SIP messages found in datagrams,
/// TCP and SCTP streams and WebSocket frames, analyzed as they come.
struct SipHandler {
    scanner: Scanner,
    analysis: Analysis,
}

impl PacketHandler for SipHandler {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.scanner.packet(packet, decoded, &mut |found| self.analysis.message(found));
        }
    }

    fn finish(&mut self) {
        self.scanner.finish(&mut |found| self.analysis.message(found));
    }
}

fn analyze(
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let handler = SipHandler { scanner: Scanner::new(), analysis: Analysis::new(paging.collector()) };
    let Driven { handler: SipHandler { scanner, analysis }, budget, pass } = driver::drive(capture, budget, handler)?;
    let messages = analysis.messages();
    let finished = analysis.finish();
    let counts = &scanner.counts;
    let tcp = scanner.tcp.counts();
    let sctp = scanner.sctp.counts();
    let mut warnings = scanner.tcp.warnings("SIP");
    warnings.extend(scanner.sctp.warnings());
    let ws = &counts.ws;
    if ws.malformed_frames > 0 {
        warnings.push(format!(
            "{} WebSocket frames broke RFC 6455 (see capture.websocket.frame_problems); SIP messages they carried are \
             flagged ws_malformed_frame",
            ws.malformed_frames
        ));
    }
    if ws.compressed_messages > 0 {
        warnings.push(format!(
            "{} WebSocket messages were compressed (permessage-deflate) and were not decompressed or analyzed",
            ws.compressed_messages
        ));
    }
    let result = SipResult {
        header: Header::new(ctx),
        total_packets_in_file: pass.packets_read,
        sip_packets_found: messages,
        sip_packets_analyzed: messages,
        statistics: finished.statistics,
        calls: finished.calls,
        dialogs: finished.dialogs,
        registrations: finished.registrations,
        observations: finished.observations,
        packets: finished.packets,
        pagination: finished.pagination,
        capture: pass.path.facts(SipFacts {
            tcp_gaps: tcp.gaps,
            tcp_streams_evicted: tcp.streams_evicted,
            tcp_junk_bytes: counts.tcp_junk_bytes,
            tcp_skipped_body_bytes: counts.tcp_skipped_body_bytes,
            sctp: SctpFacts {
                packets: sctp.packets,
                data_chunks: sctp.data_chunks,
                messages: sctp.messages,
                reassembled_messages: sctp.reassembled_messages,
                incomplete_messages: sctp.incomplete_messages,
            },
            websocket: WebSocketFacts {
                handshakes: ws.handshakes,
                upgrades: ws.upgrades,
                frames: ws.frames,
                control_frames: ws.control_frames,
                messages: ws.messages,
                non_sip_messages: ws.non_sip_messages,
                compressed_messages: ws.compressed_messages,
                malformed_frames: ws.malformed_frames,
                frame_problems: ws.problems.clone(),
                skipped_bytes: ws.skipped_bytes,
            },
        }),
        message: (messages == 0).then_some("No SIP messages were found in this capture."),
        envelope: pass.envelope(&budget, warnings),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "packets", paging, result_bytes)
}

#[cfg(test)]
mod tests;
