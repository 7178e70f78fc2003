//! `analyze_tls_sessions`: TLS over TCP, found by content on any port
//! (STARTTLS upgrades included), DTLS over UDP, and QUIC's handshake over
//! UDP (Initial packets decrypted as RFC 9001 lets anyone), with each
//! connection's server name,
//! ALPN, offered and agreed versions, cipher suite, handshake steps,
//! alerts and outcome, and statistics over all, in one streaming pass with
//! bounded memory.
//!
//! Records are framed and handshake messages reassembled here
//! (`records`); the messages are read by tls-parser (`hello`), and the
//! client and server fingerprinted (`fingerprint`: JA4, JA3, JA3S). The
//! certificates sent in the clear are read by x509-parser (`x509`) and
//! kept once each (`certificates`) for `analyze_tls_certificates`.
//! QUIC's packets are read in `quic`, DTLS's datagrams in `dtls`.

mod analysis;
mod certificates;
mod dtls;
mod fingerprint;
mod hello;
mod quic;
mod records;
mod result;
mod scan;
mod x509;

/// The certificates tool's name.
const CERTIFICATES_TOOL: &str = "analyze_tls_certificates";

use std::io::Read;

use pcapsule_guest::conventions::{Header, PacketBudget, Paging, result_budget, schema};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Analyzer, Description, Packet, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use analysis::Analysis;
use result::{CertificatesResult, TlsFacts, TlsResult};
use scan::Scanner;

/// The tls analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Tls;

/// Parameters of `analyze_tls_sessions` (besides `pcap_file`, which the host owns).
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
    #[schemars(schema_with = "connections_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "connections_offset")]
    offset: Option<u64>,
    /// Also compute JA4+ fingerprints: JA4S of each ServerHello (per
    /// connection `ja4s`, counted in `statistics.ja4s`). JA4+ is under the
    /// FoxIO License 1.1 (https://github.com/FoxIO-LLC/ja4/blob/main/LICENSE):
    /// non-commercial and internal use only, not in anything monetized,
    /// directly or indirectly; FoxIO says its methods are patent pending.
    /// Off by default: turn it on only when your use is within that
    /// license. JA4 itself (BSD 3-Clause) is always computed.
    #[serde(default)]
    ja4_plus: bool,
}

pcapsule_guest::paging_schemas!(connections_limit, connections_offset, "TLS connections", "TLS connections");

/// Parameters of `analyze_tls_certificates` (besides `pcap_file`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CertificateParams {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "certificates_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "certificates_offset")]
    offset: Option<u64>,
}

pcapsule_guest::paging_schemas!(certificates_limit, certificates_offset, "certificates", "certificates");

/// Which list a call asks for: both come from the same pass.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Sessions { ja4_plus: bool },
    Certificates,
}

impl Analyzer for Tls {
    fn describe() -> Description {
        Description {
            name: "tls",
            version: env!("CARGO_PKG_VERSION"),
            summary: "TLS over TCP, DTLS and QUIC: which servers by name, with which versions, ciphers, ALPN and certificates, which clients by fingerprint, and which handshakes failed.",
            tools: vec![
                ToolSpec {
                    name: "analyze_tls_sessions",
                    title: "TLS sessions",
                    description: "Analyze the TLS connections in a capture. TLS is recognised by its record headers on \
                              any TCP port (443, 8443, or any other; after STARTTLS in SMTP, IMAP, POP3, LDAP and \
                              the like), reassembled (records split across segments, handshake messages across \
                              records); QUIC (versions 1, 2 and drafts, any UDP port) by its long headers, its \
                              Initial packets decrypted as RFC 9001 lets anyone (so the ClientHello and \
                              ServerHello are read, like Wireshark does), CRYPTO frames reassembled, Retry \
                              followed; DTLS 1.0 to 1.3 (any UDP port) by its record headers, handshake \
                              fragments put together, retransmissions read once. Returns statistics (connections by outcome, failures by alert, handshake \
                              messages by type, agreed versions and cipher suites, server names (SNI) asked for, \
                              ALPN offered and selected, client fingerprints (JA4, JA3) and server fingerprints \
                              (JA3S), alerts, resumed sessions, downgrades, renegotiations) and a paged list of connections: client and server, \
                              SNI, ALPN, versions offered and agreed, cipher suite, JA4, JA3 and JA3S, \
                              HelloRetryRequest, resumption, ECH, the handshake steps in order, alerts, application \
                              data each way, the server's certificate in brief (subject, issuer, expiry, findings) \
                              and the outcome (established, alert, no_server_hello, incomplete, \
                              handshake_not_seen), `transport` tcp, quic or dtls.",
                    params_schema: schema::of_params::<Params>(),
                    result_schema: schema::of_paged_result::<TlsResult>("connections"),
                },
                ToolSpec {
                    name: CERTIFICATES_TOOL,
                    title: "TLS certificates",
                    description: "List the X.509 certificates TLS servers (and clients) presented in a capture \
                              (TLS 1.2 and earlier send them in the clear; TLS 1.3 and QUIC encrypt them), each \
                              distinct one (by SHA-256 fingerprint) once: subject, issuer, serial, validity, \
                              subject alternative names, key type and size, signature algorithm, self-signed, \
                              CA; who presented it, how often, for which server names (SNI); and findings \
                              (expired or not yet valid at the packet's time, self_signed, name_mismatch with \
                              the SNI, weak_key, weak_signature, long_validity, unreadable). Statistics count \
                              findings, issuers, keys and signature algorithms over all. Nothing is verified \
                              against trust anchors. Paged.",
                    params_schema: schema::of_params::<CertificateParams>(),
                    result_schema: schema::of_paged_result::<CertificatesResult>("certificates"),
                },
            ],
            prompts: vec![
                PromptSpec {
                    name: "tls_security_review",
                    title: "TLS security review",
                    description: "Review TLS versions, cipher suites, server names and failures for weak or unusual use.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "tls_troubleshooting",
                    title: "TLS troubleshooting",
                    description: "Find which TLS handshakes failed, where and why.",
                    text: PROMPT_TROUBLESHOOTING,
                },
            ],
        }
    }

    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let (tool, max_packets, max_result_bytes, limit, offset) = if tool == CERTIFICATES_TOOL {
            let p: CertificateParams = pcapsule_guest::parse_params(params)?;
            (Tool::Certificates, p.max_packets, p.max_result_bytes, p.limit, p.offset)
        } else {
            let p: Params = pcapsule_guest::parse_params(params)?;
            (Tool::Sessions { ja4_plus: p.ja4_plus }, p.max_packets, p.max_result_bytes, p.limit, p.offset)
        };
        let budget = ctx.budget(max_packets)?;
        let paging = Paging::from_params(limit, offset)?;
        analyze(tool, capture, ctx, budget, paging, result_budget(max_result_bytes)?)
    }
}

const PROMPT_SECURITY: &str = "Review this capture's TLS with analyze_tls_sessions. Read `statistics.versions` \
(SSL 3.0, TLS 1.0 and 1.1 are deprecated; say which connections use them: filter `connections` by `version`), \
`statistics.cipher_suites` (suites with RC4, 3DES, CBC with SHA1, NULL, EXPORT or anonymous key exchange are weak), \
`statistics.server_names` (the services reached, by name; unusual or random-looking names deserve a look) and \
`statistics.on_other_ports` (TLS away from the usual ports). Per connection, `server_name` absent means the \
client did not say which site it wanted; `encrypted_client_hello` means the real name is hidden; \
`resumption_offered` and `resumed` show session reuse. `statistics.downgrades` and each connection's \
`downgrade` name `downgrade_sentinel` (a TLS 1.3 server made to agree to less while the client offered TLS 1.3: an \
attack or an intercepting proxy, worth saying first), `fallback_scsv` (a client retrying lower after a failure: find \
the failed attempt), `version_below_offered` (usually an old server) and `weak_cipher`; `renegotiated` marks TLS 1.2 \
renegotiation. `statistics.failures` and `alerts` show refused \
handshakes (`unknown_ca`, `bad_certificate`, `certificate_expired` point at certificate problems or \
interception). `statistics.ja4` and `ja3` count ClientHellos by client fingerprint (a fingerprint seen once \
among many common ones, or one shared by unrelated hosts, deserves a look; match them against threat-intelligence \
lists only if the user has them), `ja3s` the servers' answers. Then call analyze_tls_certificates: `statistics.findings` counts certificates \
that were expired or not yet valid when presented, self-signed, issued for other names than the SNI \
(`name_mismatch_for`), with weak keys or SHA-1/MD5 signatures, or valid too long; per certificate, `senders` and \
`server_names` say who used it for what. A self-signed or mismatched certificate on a public site can mean \
interception; on internal services it is often just a home-made certificate: say which it looks like and why. \
Certificates are not verified against trust anchors: never say one is trusted. TLS 1.3 and QUIC encrypt \
certificates, so their absence there is normal. Cite frame \
numbers (`first_frame`, alert `frame`) and keep observations apart from conclusions.";

const PROMPT_TROUBLESHOOTING: &str = "Find failing TLS handshakes with analyze_tls_sessions. Start with \
`statistics.outcomes` and `statistics.failures`, then page through `connections` (limit/offset) and read, for \
each connection that is not `established`: `handshake` (the messages each side sent, in order), `alerts` (who \
sent which alert, at which frame), `failure`, `client_hellos` (more than one: a HelloRetryRequest or a \
retransmitted hello), `versions_offered` against `version`, `alpn_offered` against `alpn`, and `ended` (a \
`reset` right after the ClientHello often means a middlebox or a server refusing the name). `no_server_hello` \
means nobody answered in the capture; `handshake_not_seen` means the capture began after the handshake. Check \
`capture.tcp_gaps` and `capture.lost_sync`: missing bytes can make a good handshake look incomplete. For QUIC \
connections (`transport` quic), the handshake after the ServerHello is encrypted: `encrypted_handshake` steps from \
both sides and application data each way mean it completed; `alert` is a CONNECTION_CLOSE carrying a TLS alert; \
read `capture.quic` (`undecryptable_initials`, `truncated_initials`, `retry_packets`, `version_negotiations`). \
For DTLS connections (`transport` dtls), a second ClientHello after a `hello_verify_request` is the cookie \
exchange, not a failure; `capture.dtls.retransmitted_messages` counts flights sent again for want of an answer.";

/// The tls analyzer's part of the pass.
struct TlsHandler {
    scanner: Scanner,
    analysis: Analysis,
}

impl PacketHandler for TlsHandler {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            let analysis = &mut self.analysis;
            self.scanner.packet(packet, decoded, &mut |at, happening| analysis.happening(at, happening));
        }
    }

    fn finish(&mut self) {
        let analysis = &mut self.analysis;
        self.scanner.finish(&mut |at, happening| analysis.happening(at, happening));
    }
}

fn analyze(
    tool: Tool,
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let (connection_page, ja4_plus) = match tool {
        Tool::Sessions { ja4_plus } => (paging.collector(), ja4_plus),
        Tool::Certificates => (Paging { offset: 0, limit: 0 }.collector(), false),
    };
    let handler = TlsHandler { scanner: Scanner::default(), analysis: Analysis::new(connection_page, ja4_plus) };
    let Driven { handler: TlsHandler { scanner, analysis }, budget, pass } = driver::drive(capture, budget, handler)?;
    let finished = analysis.finish();
    let tcp = scanner.tcp.counts();
    let mut warnings = scanner.tcp.warnings("TLS");
    if scanner.lost_sync > 0 {
        warnings.push(format!(
            "{} times a TCP direction stopped looking like TLS records (garbage, or a gap before a record header); it \
             was read again from its next record",
            scanner.lost_sync
        ));
    }
    let quic = scanner.quic.counts;
    if quic.undecryptable_initials > 0 {
        warnings.push(format!(
            "{} QUIC Initial packets did not decrypt (corrupt or truncated, or their connection's first Initial is \
             not in the capture): their TLS messages are not counted",
            quic.undecryptable_initials
        ));
    }
    let facts = TlsFacts {
        tcp_gaps: tcp.gaps,
        tcp_streams_evicted: tcp.streams_evicted,
        lost_sync: scanner.lost_sync,
        quic,
        dtls: scanner.dtls.counts,
    };
    if tool == Tool::Certificates {
        let (statistics, certificates, pagination) = finished.certificates.finish(paging.collector());
        if statistics.untracked_presentations > 0 {
            warnings.push(format!(
                "more than {} distinct certificates: {} later presentations are counted, not listed",
                statistics.distinct_certificates, statistics.untracked_presentations
            ));
        }
        let result = CertificatesResult {
            header: Header::new(ctx),
            total_packets_in_file: pass.packets_read,
            certificate_count: pagination.total,
            message: (pagination.total == 0).then_some(
                "No certificate was found in this capture (TLS 1.3 and QUIC encrypt them; only TLS 1.2 and \
                 earlier send them in the clear).",
            ),
            statistics,
            certificates,
            pagination,
            capture: pass.path.facts(facts),
            envelope: pass.envelope(&budget, warnings),
        };
        return pcapsule_guest::conventions::into_paged_result(&result, "certificates", paging, result_bytes);
    }
    if finished.statistics.connections_untracked_events > 0 {
        warnings.push(format!(
            "more than {} connections: records of later ones ({}) are in the statistics, not in the list",
            finished.statistics.connections, finished.statistics.connections_untracked_events
        ));
    }
    let result = TlsResult {
        header: Header::new(ctx),
        total_packets_in_file: pass.packets_read,
        connection_count: finished.connection_count,
        message: (finished.connection_count == 0).then_some("No TLS was found in this capture."),
        statistics: finished.statistics,
        connections: finished.connections,
        pagination: finished.pagination,
        capture: pass.path.facts(facts),
        envelope: pass.envelope(&budget, warnings),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "connections", paging, result_bytes)
}

// Native only: the tests read the shared captures and run tshark.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
