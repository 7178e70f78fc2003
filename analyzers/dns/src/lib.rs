#![recursion_limit = "256"]
//! `analyze_dns_packets`: DNS over UDP and TCP, with mcpcap's fields plus
//! response codes, query/response matching and latency, top-N tables and
//! observations worth an analyst's look, in one streaming pass.

mod analysis;
mod compression;
mod digest;
mod records;
mod result;
mod scan;

use std::io::Read;

use pcapsule_guest::conventions::{Header, PacketBudget, Paging, result_budget, schema};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Analyzer, Description, Packet, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use analysis::Analysis;
use result::{DnsResult, TcpFacts};
use scan::Scanner;

/// The dns analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Dns;

/// Parameters of `analyze_dns_packets` (besides `pcap_file`, which the host owns).
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
    /// Also treat UDP payloads on non-DNS ports as DNS when they parse as an ordinary query or response.
    #[serde(default = "yes")]
    detect_any_port: bool,
}

pcapsule_guest::paging_schemas!(messages_limit, messages_offset, "DNS messages", "DNS messages");

fn yes() -> bool {
    true
}

impl Analyzer for Dns {
    fn describe() -> Description {
        Description {
            name: "dns",
            version: env!("CARGO_PKG_VERSION"),
            summary: "DNS over UDP and TCP: queries, responses, response codes, latency, top names and indicators.",
            tools: vec![ToolSpec {
                name: "analyze_dns_packets",
                title: "DNS analysis",
                description: "Analyze the DNS traffic in a capture: which names were queried, by which clients, \
                              answered by which resolvers, with what response codes (NOERROR, NXDOMAIN, SERVFAIL, \
                              ...) and how fast. DNS over UDP and TCP on ports 53, 5353 (mDNS), 5355 (LLMNR) and \
                              8053, plus UDP on other ports when the payload is unmistakably DNS. Returns summary \
                              statistics, query/response matching (response times, unanswered queries, duplicate \
                              responses), observations (long or random-looking labels, many subdomains under one \
                              parent, TXT-heavy traffic, NXDOMAIN-heavy traffic) and a paged list of messages with \
                              every record decoded.",
                params_schema: schema::of_params::<Params>(),
                result_schema: schema::of_paged_result::<DnsResult>("packets"),
            }],
            prompts: vec![
                PromptSpec {
                    name: "dns_security_analysis",
                    title: "DNS security analysis",
                    description: "Look for DGA-like names, tunneling and suspicious resolvers in DNS traffic.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "dns_network_troubleshooting",
                    title: "DNS troubleshooting",
                    description: "Find DNS performance and configuration problems.",
                    text: PROMPT_TROUBLESHOOTING,
                },
                PromptSpec {
                    name: "dns_forensic_investigation",
                    title: "DNS forensics",
                    description: "Build a timeline and collect evidence from DNS activity.",
                    text: PROMPT_FORENSICS,
                },
                // mcpcap's names for the three, still listed so that
                // clients written for mcpcap keep working.
                PromptSpec {
                    name: "security_analysis",
                    title: "DNS security analysis (mcpcap's name)",
                    description: "Same as dns_security_analysis, under the name mcpcap gives it.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "network_troubleshooting",
                    title: "DNS troubleshooting (mcpcap's name)",
                    description: "Same as dns_network_troubleshooting, under the name mcpcap gives it.",
                    text: PROMPT_TROUBLESHOOTING,
                },
                PromptSpec {
                    name: "forensic_investigation",
                    title: "DNS forensics (mcpcap's name)",
                    description: "Same as dns_forensic_investigation, under the name mcpcap gives it.",
                    text: PROMPT_FORENSICS,
                },
            ],
        }
    }

    fn run(_tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let params: Params = pcapsule_guest::parse_params(params)?;
        let budget = ctx.budget(params.max_packets)?;
        let paging = Paging::from_params(params.limit, params.offset)?;
        analyze(capture, ctx, budget, paging, params.detect_any_port, result_budget(params.max_result_bytes)?)
    }
}

const PROMPT_SECURITY: &str = "Analyze this capture's DNS for signs of compromise with analyze_dns_packets. \
Start from `observations`: `high_entropy_labels` and `long_labels` (random-looking or very long names suggest a \
DGA or data encoded in names), `many_subdomains` (one parent with hundreds of distinct subdomains: tunneling \
such as iodine/dnscat, or a CDN; check the parent), `txt_heavy` (TXT is the usual tunneling carrier), and \
`nxdomain_heavy` (a DGA probing for live domains). Then check `statistics.top_resolvers` for resolvers that are \
not the organization's (DNS sent straight to the internet), `statistics.top_clients` for the hosts behind the \
suspicious names, and `statistics.query_types` for unusual types (NULL, ANY, TXT volume). Quote packet numbers \
from the examples so the findings can be verified, and say which findings are observations rather than proof.";

const PROMPT_TROUBLESHOOTING: &str = "Diagnose DNS problems in this capture with analyze_dns_packets. Read \
`transactions.response_time_ms` (min/avg/max) and `transactions.response_time_histogram` for latency, \
`transactions.slowest` for the worst lookups and which resolver served them, `transactions.unanswered_queries` \
with `unanswered_examples` (resolver unreachable, filtered, or overloaded; multicast mDNS/LLMNR queries nobody \
answered are `unanswered_multicast_queries`, usually harmless), and `statistics.rcodes`: SERVFAIL \
(resolver or upstream failure), REFUSED (client not allowed), NXDOMAIN (wrong names or search-domain \
expansion). `statistics.truncated_responses` with no TCP retries in `statistics.transports` means large answers \
are being lost. Compare resolvers in `statistics.top_resolvers`. Page through `packets` (limit/offset) only for \
the specific transactions you need to show.";

const PROMPT_FORENSICS: &str = "Reconstruct what happened from DNS with analyze_dns_packets. Use \
`statistics.top_clients` to list the hosts involved and `statistics.top_queried_names`/`unique_domains` to \
list what they looked up. Build a timeline from `packets` (each entry has `timestamp`, `packet_number`, \
`source_ip`, `questions` and for responses the `answers` with addresses), paging with `offset` via \
`pagination.next_offset`; the answers tell which IP addresses each name led to, which links DNS to later \
connections. Note `observations` as leads. Cite packet numbers for every claim and keep the original times \
(UTC).";

/// The dns analyzer's part of the pass: DNS messages found in packets and
/// TCP streams, analyzed as they come.
struct DnsHandler {
    scanner: Scanner,
    analysis: Analysis,
}

impl PacketHandler for DnsHandler {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.scanner.packet(packet, decoded, |found| self.analysis.message(found));
        }
    }

    fn finish(&mut self) {
        self.scanner.finish(|found| self.analysis.message(found));
    }
}

fn analyze(
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    detect_any_port: bool,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let handler = DnsHandler { scanner: Scanner::new(detect_any_port), analysis: Analysis::new(paging.collector()) };
    let Driven { handler: DnsHandler { scanner, analysis }, budget, pass } = driver::drive(capture, budget, handler)?;
    let messages = analysis.messages();
    let (statistics, transactions, observations, packets, pagination) = analysis.finish();
    let tcp = scanner.tcp.counts();
    let result = DnsResult {
        header: Header::new(ctx),
        total_packets_in_file: pass.packets_read,
        dns_packets_found: messages,
        dns_packets_analyzed: messages,
        statistics,
        transactions,
        observations,
        packets,
        pagination,
        capture: pass
            .path
            .facts(TcpFacts { tcp_gaps: tcp.gaps, tcp_incomplete_bytes: scanner.counts.tcp_incomplete_bytes }),
        message: (messages == 0).then_some("No DNS messages were found in this capture."),
        envelope: pass.envelope(&budget, scanner.tcp.warnings("DNS")),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "packets", paging, result_bytes)
}

#[cfg(test)]
mod tests;
