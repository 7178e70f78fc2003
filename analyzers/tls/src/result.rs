//! What `analyze_tls_sessions` returns, as types: the tool's result schema
//! is generated from them, and their `///` docs are what clients read.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{CaptureFacts, Envelope, Header, OrderedMap, PageInfo};
use schemars::JsonSchema;
use serde::Serialize;

/// The result of `analyze_tls_sessions`.
#[derive(Serialize, JsonSchema)]
pub struct TlsResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets_in_file: u64,
    /// TLS connections found (the length of the whole list).
    pub connection_count: usize,
    pub statistics: Statistics,
    /// One page of connections, in the order their first TLS record was
    /// seen; see pagination.
    pub connections: Vec<ConnectionEntry>,
    pub pagination: PageInfo,
    /// What the packet path and the TLS stream reader met.
    pub capture: CaptureFacts<TlsFacts>,
    /// Set when no TLS was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// Counts over every connection.
#[derive(Serialize, JsonSchema)]
pub struct Statistics {
    /// Connections tracked (the first 20,000 of a capture).
    pub connections: u64,
    /// Records of connections beyond the table's bound: in the counts
    /// below, not in the connection list.
    pub connections_untracked_events: u64,
    /// Connections by outcome: `established` (ServerHello, then both sides
    /// switched to encryption), `alert` (a fatal alert before that),
    /// `no_server_hello` (a ClientHello nobody answered in the capture),
    /// `incomplete` (a ServerHello, but the handshake did not finish in the
    /// capture), `handshake_not_seen` (encrypted records only: the capture
    /// began after the handshake).
    pub outcomes: BTreeMap<String, u64>,
    /// Failed handshakes by fatal alert and who sent it
    /// (`handshake_failure from server`).
    pub failures: BTreeMap<String, u64>,
    /// Plaintext handshake messages by type (`client_hello`,
    /// `certificate`, ...), as Wireshark counts `tls.handshake.type`.
    pub handshake_messages: BTreeMap<String, u64>,
    /// Handshake records sent after ChangeCipherSpec (Finished,
    /// renegotiation), which cannot be read without keys; for QUIC, its
    /// Handshake packets; for DTLS 1.3, records of the handshake epoch.
    pub encrypted_handshake_records: u64,
    pub change_cipher_specs: u64,
    /// Application data records (in TLS 1.3 the encrypted handshake too;
    /// for QUIC, 0-RTT and 1-RTT packets) and their bytes.
    pub application_data_records: u64,
    pub application_data_bytes: u64,
    pub heartbeats: u64,
    /// Plaintext alerts by description.
    pub alerts: BTreeMap<String, u64>,
    pub encrypted_alerts: u64,
    /// Versions agreed in ServerHellos.
    pub versions: OrderedMap<String, u64>,
    /// The highest version each ClientHello offered.
    pub highest_versions_offered: OrderedMap<String, u64>,
    /// Cipher suites agreed in ServerHellos (IANA names).
    pub cipher_suites: OrderedMap<String, u64>,
    /// Server names (SNI) the ClientHellos asked for, most frequent first.
    pub server_names: OrderedMap<String, u64>,
    pub client_hellos_without_server_name: u64,
    /// ALPN protocols offered by clients and selected by servers.
    pub alpn_offered: OrderedMap<String, u64>,
    pub alpn_selected: OrderedMap<String, u64>,
    /// ClientHellos by JA4 and by JA3, ServerHellos by JA3S, most frequent
    /// first (every hello counts, a second one after a HelloRetryRequest
    /// too; none for SSL 2.0 hellos).
    pub ja4: OrderedMap<String, u64>,
    pub ja3: OrderedMap<String, u64>,
    pub ja3s: OrderedMap<String, u64>,
    /// First ClientHellos by group of each key share they sent (TLS 1.3;
    /// `X25519MLKEM768` and other hybrids are post-quantum).
    pub key_shares: OrderedMap<String, u64>,
    /// ServerHellos by JA4S, only when `ja4_plus` was asked for (FoxIO
    /// License 1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4s: Option<OrderedMap<String, u64>>,
    /// TLS ≤ 1.2 connections resumed by session ID (abbreviated handshake).
    pub resumed_sessions: u64,
    /// Connections by sign of a downgrade (see a connection's `downgrade`).
    pub downgrades: BTreeMap<String, u64>,
    /// Connections renegotiated (TLS ≤ 1.2: a handshake after application
    /// data).
    pub renegotiated_connections: u64,
    /// Connections whose server port is not one where TLS is expected (443,
    /// 8443, 465, 993, 995, 636, 853, 5061, ..., or a protocol's that
    /// upgrades to TLS such as SMTP's 25): found by content.
    pub on_other_ports: u64,
    /// Of the connections, those over QUIC (their first Initial seen;
    /// the TLS messages read from Initial packets, decrypted as RFC 9001
    /// allows anyone to).
    pub quic_connections: u64,
    /// Of the connections, those over DTLS (UDP datagrams of DTLS records,
    /// any port).
    pub dtls_connections: u64,
    /// Hellos too malformed to read.
    pub malformed_hellos: u64,
    /// ClientHellos in the SSL 2.0 format older clients open TLS with
    /// (counted among `client_hello` above too).
    pub sslv2_client_hellos: u64,
    /// Handshake messages over 256 KiB, counted but not parsed.
    pub oversized_handshake_messages: u64,
    /// False when a top list above had to drop rare entries.
    pub tables_exact: bool,
}

/// Which side of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client = 0,
    Server = 1,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// How far a connection's handshake got in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Established,
    Alert,
    NoServerHello,
    Incomplete,
    HandshakeNotSeen,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Established => "established",
            Outcome::Alert => "alert",
            Outcome::NoServerHello => "no_server_hello",
            Outcome::Incomplete => "incomplete",
            Outcome::HandshakeNotSeen => "handshake_not_seen",
        }
    }
}

/// A plaintext alert.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertEntry {
    /// Frame that completed the alert's record.
    pub frame: u64,
    pub from: Side,
    /// `warning` or `fatal`.
    pub level: &'static str,
    /// `handshake_failure`, `unknown_ca`, `close_notify`, ...
    pub description: &'static str,
}

/// One TLS connection.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConnectionEntry {
    /// `tcp` (TLS over TCP), `quic` (QUIC's handshake over UDP) or `dtls`
    /// (DTLS over UDP).
    pub transport: &'static str,
    /// The QUIC version: `1`, `2` (RFC 9369), `draft-29`, ...
    pub quic_version: Option<String>,
    pub client: String,
    pub client_port: u16,
    pub server: String,
    pub server_port: u16,
    /// Frame of the first TLS record (Wireshark's numbering).
    pub first_frame: u64,
    /// Its time, RFC 3339 (UTC).
    pub start: Option<String>,
    /// Seconds from the first TLS record to the last.
    pub duration_s: Option<f64>,
    /// The server name (SNI) the client asked for.
    pub server_name: Option<String>,
    /// ALPN protocols the client offered, and the one the server chose.
    pub alpn_offered: Vec<String>,
    pub alpn: Option<String>,
    /// Versions the client offered (supported_versions, else its hello's version).
    pub versions_offered: Vec<String>,
    /// Version agreed.
    pub version: Option<String>,
    /// Cipher suite agreed (IANA name).
    pub cipher_suite: Option<String>,
    /// How many cipher suites the client offered.
    pub cipher_suites_offered: Option<usize>,
    /// The client's JA4 fingerprint (FoxIO, BSD 3-Clause), e.g.
    /// `t13d1516h2_8daaf6152771_e5627efa2ab1`, of its first ClientHello.
    pub ja4: Option<String>,
    /// The client's JA3 fingerprint (MD5, GREASE left out), as Wireshark's
    /// `tls.handshake.ja3`.
    pub ja3: Option<String>,
    /// Groups the client offered (supported_groups: `x25519`,
    /// `secp256r1`, `X25519MLKEM768`, ...), and those it sent a key share
    /// for in any of its ClientHellos (TLS 1.3: a post-quantum hybrid here
    /// means the client tried one; after a HelloRetryRequest, the group the
    /// server asked for).
    pub groups_offered: Vec<String>,
    pub key_shares: Vec<String>,
    /// The server's JA3S fingerprint of the ServerHello that agreed.
    pub ja3s: Option<String>,
    /// Its JA4S, only when `ja4_plus` was asked for (FoxIO License 1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4s: Option<String>,
    /// ClientHellos sent (two after a HelloRetryRequest or a retransmission).
    pub client_hellos: u32,
    pub hello_retry_request: bool,
    /// Resumed by session ID (TLS ≤ 1.2).
    pub resumed: bool,
    /// Signs the connection agreed to less than its client could do:
    /// `fallback_scsv` (the client retried with a lower version after a
    /// failure, RFC 7507: look for the failed attempt before it),
    /// `version_below_offered` (the server chose an older version than the
    /// client's newest: an old server, or something in between),
    /// `downgrade_sentinel` (the ServerHello's random says a TLS 1.3
    /// server was made to agree to less while the client offered TLS 1.3:
    /// RFC 8446 §4.1.3 has the client abort; a downgrade attack or an
    /// intercepting proxy), `weak_cipher` (the agreed suite has no or
    /// export-grade encryption, anonymous key exchange, RC4, DES, 3DES or
    /// MD5).
    pub downgrade: Vec<&'static str>,
    /// TLS ≤ 1.2: a new handshake began after application data
    /// (renegotiation; its messages are encrypted).
    pub renegotiated: bool,
    /// The client offered a session ticket or a pre-shared key, or (a
    /// client without TLS 1.3, whose session ID is random) a session ID.
    pub resumption_offered: bool,
    /// The client sent an encrypted_client_hello extension (ECH): the
    /// server name above is then the outer, public one.
    pub encrypted_client_hello: bool,
    /// Certificate messages seen (in TLS 1.3 they are encrypted).
    pub certificate_messages: u32,
    /// The server's certificate (the first of the chain it sent), when
    /// sent in the clear (TLS ≤ 1.2); analyze_tls_certificates has the
    /// rest of its fields.
    pub certificate: Option<CertificateSummary>,
    pub outcome: Outcome,
    /// The fatal alert that ended the handshake, and who sent it.
    pub failure: Option<String>,
    /// The first plaintext alerts.
    pub alerts: Vec<AlertEntry>,
    /// The handshake in order, as `side: message` (the first 24 steps;
    /// application data is counted below, not listed).
    pub handshake: Vec<String>,
    pub handshake_steps_dropped: u32,
    pub application_data_records_client: u64,
    pub application_data_records_server: u64,
    pub application_data_bytes_client: u64,
    pub application_data_bytes_server: u64,
    /// A direction stopped looking like TLS (garbage, or a gap before a
    /// record header); it was read again from its next record.
    pub lost_sync: bool,
    /// How the TCP connection's first direction to end ended: `fin`,
    /// `reset`, `port_reused`, `evicted` or `capture_ended`.
    pub ended: Option<&'static str>,
}

/// The TLS reader's own facts.
#[derive(Serialize, JsonSchema)]
pub struct TlsFacts {
    /// Gaps in followed TCP streams (bytes the capture does not hold).
    pub tcp_gaps: u64,
    pub tcp_streams_evicted: u64,
    /// Times a direction stopped looking like TLS records.
    pub lost_sync: u64,
    /// What QUIC's reader met.
    pub quic: QuicFacts,
    /// What DTLS's reader met.
    pub dtls: DtlsFacts,
}

/// Counts over all DTLS datagrams.
#[derive(Debug, Default, Clone, Copy, Serialize, JsonSchema)]
pub struct DtlsFacts {
    /// Handshake messages sent again (DTLS resends a flight that got no
    /// answer): read once, counted here.
    pub retransmitted_messages: u64,
    /// Handshake fragments not kept (more than 8 messages incomplete in a
    /// direction, more than 256 pieces of one, or 16 MiB held in all).
    pub fragments_dropped: u64,
    /// Records or handshake fragments whose lengths do not add up (the rest
    /// of their datagram is not read).
    pub malformed_records: u64,
    /// Flows forgotten, the oldest first, to follow new ones beyond the
    /// 4,096 followed at once.
    pub evicted_connections: u64,
}

/// Counts over all QUIC packets (UDP, any port).
#[derive(Debug, Default, Clone, Copy, Serialize, JsonSchema)]
pub struct QuicFacts {
    /// UDP datagrams that began with a QUIC long header.
    pub long_header_datagrams: u64,
    pub initial_packets: u64,
    /// Initial packets that did not decrypt with their connection's keys
    /// (corrupt, truncated, or the connection's first Initial was not
    /// captured).
    pub undecryptable_initials: u64,
    pub retry_packets: u64,
    pub version_negotiations: u64,
    /// Initial packets cut short by the capture's snap length (their
    /// connection is followed, their content not read).
    pub truncated_initials: u64,
    /// Connections forgotten, the oldest first, to follow new ones beyond
    /// the 4,096 followed at once: their later packets are not counted.
    pub evicted_connections: u64,
    /// CRYPTO bytes not kept (beyond 64 KiB of a stream, too many pieces
    /// ahead of a hole, or 16 MiB held in all).
    pub crypto_bytes_dropped: u64,
}

/// The certificate a server presented, in brief.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CertificateSummary {
    /// SHA-256 fingerprint of the certificate (its DER encoding), hex.
    pub sha256: String,
    /// Subject and issuer common names.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    /// End of validity, RFC 3339.
    pub not_after: Option<String>,
    /// Certificates in the chain sent.
    pub chain_length: usize,
    /// What is wrong with it for this connection (its time and server
    /// name): see analyze_tls_certificates' `findings`.
    pub findings: Vec<&'static str>,
}

/// The result of `analyze_tls_certificates`.
#[derive(Serialize, JsonSchema)]
pub struct CertificatesResult {
    #[serde(flatten)]
    pub header: Header,
    /// Packets read (all of them unless `truncated`).
    pub total_packets_in_file: u64,
    /// Distinct certificates seen (the length of the whole list).
    pub certificate_count: usize,
    pub statistics: CertificateStatistics,
    /// One page of distinct certificates, in the order first seen; see
    /// pagination.
    pub certificates: Vec<CertificateEntry>,
    pub pagination: PageInfo,
    /// What the packet path and the TLS stream reader met.
    pub capture: CaptureFacts<TlsFacts>,
    /// Set when no certificate was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(flatten)]
    pub envelope: Envelope,
}

/// Counts over every certificate.
#[derive(Serialize, JsonSchema)]
pub struct CertificateStatistics {
    /// Certificate handshake messages read (TLS ≤ 1.2; TLS 1.3 encrypts
    /// them).
    pub certificate_messages: u64,
    /// Certificates in those messages, counting repeats.
    pub certificates_presented: u64,
    pub distinct_certificates: u64,
    /// Certificates presented after the first 4,096 distinct ones: counted,
    /// not listed (a server's own is still summarised on its connection).
    pub untracked_presentations: u64,
    /// Certificate messages whose framing was broken.
    pub malformed_messages: u64,
    /// Distinct certificates with each finding: `expired` and
    /// `not_yet_valid` (at the time of the packet that carried it),
    /// `self_signed` (a server's own certificate signed by itself),
    /// `name_mismatch` (a server's certificate whose names do not cover
    /// the SNI the client asked for, RFC 6125 wildcards), `weak_key` (RSA
    /// or DSA under 2048 bits, EC under 224), `weak_signature` (MD2, MD5
    /// or SHA-1 signature by an issuer), `long_validity` (a server
    /// certificate issued from 2020-09-01 valid for over 398 days, the
    /// CA/Browser Forum's limit), `unreadable` (not X.509 that
    /// x509-parser reads). Nothing is verified against trust anchors.
    pub findings: BTreeMap<String, u64>,
    /// Distinct certificates per issuer (common name), per key (`RSA 2048`,
    /// `EC P-256`) and per signature algorithm, most frequent first.
    pub issuers: OrderedMap<String, u64>,
    pub keys: OrderedMap<String, u64>,
    pub signature_algorithms: OrderedMap<String, u64>,
    /// False when a top list above had to drop rare entries.
    pub tables_exact: bool,
}

/// One distinct certificate.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CertificateEntry {
    /// SHA-256 fingerprint of its DER encoding, hex (as `openssl x509
    /// -fingerprint -sha256`, without colons).
    pub sha256: String,
    /// False when it could not be read as X.509 (only the fingerprint and
    /// where it was seen are then known).
    pub readable: bool,
    /// Subject and issuer distinguished names (as Wireshark and x509-parser
    /// write them, the first 256 characters), and their common names.
    pub subject: String,
    pub subject_common_name: Option<String>,
    pub issuer: String,
    pub issuer_common_name: Option<String>,
    /// Serial number, hex bytes joined by colons.
    pub serial: String,
    /// Validity, RFC 3339, and its length in days.
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    pub validity_days: Option<i64>,
    /// DNS names and IP addresses of the subject alternative names (the
    /// first 32), and how many there are.
    pub alt_names: Vec<String>,
    pub alt_name_count: usize,
    /// Public key: `RSA 2048`, `EC P-256`, `Ed25519`, ...
    pub key: Option<String>,
    /// The issuer's signature algorithm (`sha256WithRSAEncryption`, ...).
    pub signature_algorithm: Option<String>,
    /// Subject and issuer are the same (key identifiers agreeing): it signs
    /// itself, like a root or a home-made server certificate.
    pub self_signed: bool,
    /// Basic constraints make it a certificate authority.
    pub certificate_authority: bool,
    /// Frame of the first Certificate message that carried it.
    pub first_frame: u64,
    /// Times presented, and how many of them as the sender's own (first in
    /// its chain) rather than as an issuer.
    pub times_presented: u64,
    pub as_leaf: u64,
    /// A client presented it (client authentication).
    pub presented_by_client: bool,
    /// Who sent it, `address:port` (the first 8), and whether there were more.
    pub senders: Vec<String>,
    pub more_senders: bool,
    /// Server names (SNI) the clients asked for on those connections (the first 8).
    pub server_names: Vec<String>,
    /// What was wrong with it on at least one connection (names as in
    /// `statistics.findings`).
    pub findings: Vec<&'static str>,
    /// The server names it did not cover.
    pub name_mismatch_for: Vec<String>,
}
