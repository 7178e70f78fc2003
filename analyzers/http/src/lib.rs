//! `analyze_http_requests` and `analyze_http_objects`: HTTP/1.0 and 1.1
//! over the shared TCP reassembler, found by content on any port, in one
//! streaming pass with bounded memory.
//!
//! Heads are read by httparse (`message`); bodies are framed here
//! (`scan`: Content-Length, chunked, until close; HEAD, 1xx, 204, 304,
//! CONNECT and upgrades as RFC 9112 says) and, for objects, decoded and
//! hashed as they stream (`body`); requests and responses are paired per
//! connection (`analysis`), pipelining included.

mod analysis;
mod body;
mod message;
mod result;
mod scan;

use std::io::Read;

use pcapsule_guest::conventions::{Header, PacketBudget, Paging, result_budget, schema};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::reassembly::Direction;
use pcapsule_guest::{Analyzer, Description, Packet, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use analysis::{Analysis, Listing};
use result::{HttpFacts, ObjectsResult, RequestsResult};
use scan::Scanner;

/// The objects tool's name.
const OBJECTS_TOOL: &str = "analyze_http_objects";

/// The http analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Http;

/// Parameters of `analyze_http_requests` (besides `pcap_file`, which the host owns).
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
    #[schemars(schema_with = "transactions_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "transactions_offset")]
    offset: Option<u64>,
    /// Show the secrets of credentials (Authorization values, password
    /// fields) as sent instead of `<masked: N characters>`. Off by default:
    /// results go into an assistant's context and its logs; turn it on only
    /// when the user needs the values.
    #[serde(default)]
    reveal_secrets: bool,
}

pcapsule_guest::paging_schemas!(transactions_limit, transactions_offset, "HTTP transactions", "HTTP transactions");

/// Parameters of `analyze_http_objects` (besides `pcap_file`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ObjectParams {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "objects_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "objects_offset")]
    offset: Option<u64>,
}

pcapsule_guest::paging_schemas!(objects_limit, objects_offset, "objects", "objects");

impl Analyzer for Http {
    fn describe() -> Description {
        Description {
            name: "http",
            version: env!("CARGO_PKG_VERSION"),
            summary: "HTTP/1.x: which URLs were fetched, by whom, from which servers, what failed, what was downloaded (with SHA-256), and credentials sent in the clear.",
            tools: vec![
                ToolSpec {
                    name: "analyze_http_requests",
                    title: "HTTP requests",
                    description: "Analyze the HTTP/1.0 and 1.1 traffic in a capture. HTTP is recognised by its request \
                              and status lines on any TCP port, reassembled, and requests are paired with their \
                              responses (keep-alive and pipelining, 100 Continue, HEAD, CONNECT tunnels, WebSocket \
                              and other upgrades). Returns statistics (requests and responses, methods, status \
                              codes, hosts, user agents, servers, content types, response times, redirects, \
                              unanswered requests), findings (plaintext_credentials, executable_download, \
                              scanner_user_agent, error_burst, long_uri, raw_ip_host) and a paged list of \
                              transactions: client and server, the request (frame, time, method, URI, host, user \
                              agent, referer, body size, credentials with secrets masked, cookie names) and the \
                              response (frame, status, reason, server, content type and encoding, body size, \
                              redirect target), response time. HTTP/2 with prior knowledge is counted, not \
                              decoded; HTTPS is TLS (see analyze_tls_sessions).",
                    params_schema: schema::of_params::<Params>(),
                    result_schema: schema::of_paged_result::<RequestsResult>("transactions"),
                },
                ToolSpec {
                    name: OBJECTS_TOOL,
                    title: "HTTP objects",
                    description: "List the bodies HTTP responses delivered in a capture (what Wireshark's Export \
                              Objects → HTTP lists): per object the request and response frames, client, server, \
                              host, URI, file name (Content-Disposition or the URI), status, content type and \
                              encoding, size as sent and decoded (chunked, gzip and deflate undone), the SHA-256 \
                              of the decoded body (to match against threat feeds; absent, with the reason, when the \
                              body was not captured whole or could not be decoded) and whether it is an \
                              executable. Bodies are hashed as they stream and never kept. Paged.",
                    params_schema: schema::of_params::<ObjectParams>(),
                    result_schema: schema::of_paged_result::<ObjectsResult>("objects"),
                },
            ],
            prompts: vec![PromptSpec {
                name: "http_investigation",
                title: "HTTP investigation",
                description: "What was fetched over plain HTTP, by whom, what failed, and what looks malicious.",
                text: PROMPT_INVESTIGATION,
            }],
        }
    }

    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let (listing, max_packets, max_result_bytes, limit, offset, reveal) = if tool == OBJECTS_TOOL {
            let p: ObjectParams = pcapsule_guest::parse_params(params)?;
            (Listing::Objects, p.max_packets, p.max_result_bytes, p.limit, p.offset, false)
        } else {
            let p: Params = pcapsule_guest::parse_params(params)?;
            (Listing::Transactions, p.max_packets, p.max_result_bytes, p.limit, p.offset, p.reveal_secrets)
        };
        let budget = ctx.budget(max_packets)?;
        let paging = Paging::from_params(limit, offset)?;
        analyze(listing, reveal, capture, ctx, budget, paging, result_budget(max_result_bytes)?)
    }
}

const PROMPT_INVESTIGATION: &str = "Investigate this capture's plain HTTP. Call analyze_http_requests and read \
`findings` first (plaintext_credentials: say which hosts received them, never ask for the secrets unless the user \
needs them; executable_download; scanner_user_agent; error_burst; long_uri; raw_ip_host). Then `statistics`: \
`hosts` and `user_agents` (an unusual agent, or one host fetched by many clients, deserves a look), `status_codes` \
(4xx/5xx: which URIs failed; page through `transactions` with limit/offset), `unanswered_requests` and \
`response_time_s` (slow or silent servers), `redirects`. Call analyze_http_objects for what was downloaded: \
file names, types, sizes and SHA-256 hashes (match them against threat-intelligence lists only if the user has \
them); `executable` objects first. Check `capture.tcp_gaps` and `capture.lost_sync`: missing bytes make bodies \
incomplete and hashes absent. Cite frame numbers and keep observations apart from conclusions; HTTPS is not here \
(see analyze_tls_sessions).";

/// The http analyzer's part of the pass.
struct HttpHandler {
    scanner: Scanner,
    analysis: Analysis,
}

impl PacketHandler for HttpHandler {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            let analysis = &mut self.analysis;
            self.scanner.packet(packet, decoded, &mut |d: Direction, h| analysis.happening(d, h));
        }
    }

    fn finish(&mut self) {
        let analysis = &mut self.analysis;
        self.scanner.finish(&mut |d: Direction, h| analysis.happening(d, h));
    }
}

fn analyze(
    listing: Listing,
    reveal: bool,
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let none = Paging { offset: 0, limit: 0 };
    let (transactions, objects) = match listing {
        Listing::Transactions => (paging.collector(), none.collector()),
        Listing::Objects => (none.collector(), paging.collector()),
    };
    let handler = HttpHandler {
        scanner: Scanner::new(listing == Listing::Objects),
        analysis: Analysis::new(listing, transactions, objects, reveal),
    };
    let Driven { handler: HttpHandler { scanner, analysis }, budget, pass } = driver::drive(capture, budget, handler)?;
    let finished = analysis.finish();
    let tcp = scanner.tcp.counts();
    let mut warnings = scanner.tcp.warnings("HTTP");
    let counts = scanner.counts;
    if counts.lost_sync > 0 {
        warnings.push(format!(
            "{} times a TCP direction stopped looking like HTTP/1 (a gap, or bytes that are not HTTP); it was read \
             again from its next message",
            counts.lost_sync
        ));
    }
    if counts.http2_prior_knowledge > 0 {
        warnings.push(format!(
            "{} TCP directions speak HTTP/2 with prior knowledge (h2c): seen, not decoded",
            counts.http2_prior_knowledge
        ));
    }
    if finished.untracked_requests > 0 {
        warnings.push(format!(
            "more than 10,000 requests awaited responses at once: {} later ones are counted, not listed",
            finished.untracked_requests
        ));
    }
    let facts = HttpFacts {
        tcp_gaps: tcp.gaps,
        tcp_streams_evicted: tcp.streams_evicted,
        lost_sync: counts.lost_sync,
        tunnels: counts.tunnels,
        http2_prior_knowledge: counts.http2_prior_knowledge,
    };
    if listing == Listing::Objects {
        let (objects, pagination) = finished.objects;
        let result = ObjectsResult {
            header: Header::new(ctx),
            total_packets_in_file: pass.packets_read,
            object_count: pagination.total,
            message: (pagination.total == 0).then_some("No HTTP response carried a body in this capture."),
            statistics: finished.object_statistics,
            objects,
            pagination,
            capture: pass.path.facts(facts),
            envelope: pass.envelope(&budget, warnings),
        };
        return pcapsule_guest::conventions::into_paged_result(&result, "objects", paging, result_bytes);
    }
    let (transactions, pagination) = finished.transactions;
    let result = RequestsResult {
        header: Header::new(ctx),
        total_packets_in_file: pass.packets_read,
        transaction_count: pagination.total,
        message: (pagination.total == 0).then_some("No HTTP/1 request or response was found in this capture."),
        statistics: finished.statistics,
        findings: finished.findings,
        transactions,
        pagination,
        capture: pass.path.facts(facts),
        envelope: pass.envelope(&budget, warnings),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "transactions", paging, result_bytes)
}

// Native only: the tests read the shared captures and run tshark.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
