//! What a ClientHello and a ServerHello say, read by tls-parser, and the
//! names a reader sees for versions, handshake types and alerts.

use crate::fingerprint::{ClientOffer, Transport, ja3s};
use tls_parser::{
    DTLSMessage, DTLSMessageHandshake, DTLSMessageHandshakeBody, TlsCipherSuite, TlsExtension,
    parse_dtls_message_handshake, parse_tls_client_hello_extension, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, parse_tls_server_hello_extension,
};

/// Longest SNI or ALPN protocol name kept (DNS names are at most 253).
const MAX_NAME: usize = 255;
/// ALPN protocols kept per hello.
const MAX_ALPN: usize = 8;
/// Groups and key shares kept per hello (old OpenSSL offers 25 curves).
const MAX_GROUPS: usize = 64;

/// The ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub(crate) const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// TLS_FALLBACK_SCSV (RFC 7507).
const FALLBACK_SCSV: u16 = 0x5600;

/// key_share's number in TLS 1.3 drafts before 23.
const KEY_SHARE_DRAFT: u16 = 40;

/// The encrypted_client_hello extension (draft-ietf-tls-esni).
const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;

/// What the statistics and a connection keep of a ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The version field of the message (TLS 1.3 clients say TLS 1.2).
    pub legacy_version: u16,
    /// The supported_versions extension, GREASE left out.
    pub supported_versions: Vec<u16>,
    pub cipher_suites: usize,
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub extensions: usize,
    pub grease: bool,
    /// A session ID, a session ticket or a pre-shared key was offered.
    pub resumption_offered: bool,
    pub session_id: Vec<u8>,
    pub encrypted_client_hello: bool,
    pub early_data: bool,
    /// The extensions could not all be read (the rest is ignored).
    pub malformed_extensions: bool,
    /// Groups offered (supported_groups) and those with a key share
    /// (TLS 1.3's key_share), GREASE left out.
    pub groups: Vec<u16>,
    pub key_shares: Vec<u16>,
    /// TLS_FALLBACK_SCSV among the cipher suites: the client is retrying
    /// with a lower version after a failed attempt (RFC 7507).
    pub fallback_scsv: bool,
    /// Fingerprints (none for an SSL 2.0 hello).
    pub ja3: Option<String>,
    pub ja4: Option<String>,
}

impl ClientHello {
    /// Reads a ClientHello body that came over `transport`; `None` when
    /// even its fixed part is malformed.
    pub fn parse(body: &[u8], transport: Transport) -> Option<ClientHello> {
        // DTLS's hello has a cookie after the session ID; tls-parser reads
        // it from a whole message, header included.
        let dtls_message;
        let (version, session_id, ciphers, ext) = if transport == Transport::Dtls {
            dtls_message = whole_dtls_message(1, body);
            match parse_dtls_message_handshake(&dtls_message).ok()? {
                (
                    _,
                    DTLSMessage::Handshake(DTLSMessageHandshake {
                        body: DTLSMessageHandshakeBody::ClientHello(h), ..
                    }),
                ) => (h.version, h.session_id, h.ciphers, h.ext),
                _ => return None,
            }
        } else {
            let (_, h) = parse_tls_handshake_client_hello(body).ok()?;
            (h.version, h.session_id, h.ciphers, h.ext)
        };
        let mut offer = ClientOffer {
            legacy_version: version.0,
            cipher_suites: ciphers.iter().map(|c| c.0).collect(),
            ..ClientOffer::default()
        };
        let mut facts = ClientHello {
            legacy_version: version.0,
            cipher_suites: ciphers.len(),
            grease: ciphers.iter().any(|c| is_grease(c.0)),
            fallback_scsv: ciphers.iter().any(|c| c.0 == FALLBACK_SCSV),
            session_id: session_id.unwrap_or_default().to_vec(),
            ..ClientHello::default()
        };
        for block in ExtensionBlocks(ext.unwrap_or_default()) {
            let Some((kind, block)) = block else {
                facts.malformed_extensions = true;
                break;
            };
            offer.extensions.push(kind);
            facts.extensions += 1;
            let Ok((_, extension)) = parse_tls_client_hello_extension(block) else {
                facts.malformed_extensions = true;
                continue;
            };
            match extension {
                TlsExtension::SNI(names) => {
                    // Host name entries (type 0); the first is the one servers use.
                    if let Some((_, name)) = names.iter().find(|(kind, _)| kind.0 == 0) {
                        facts.server_name = Some(text(name));
                    }
                }
                TlsExtension::ALPN(protocols) => {
                    facts.alpn = protocols.iter().take(MAX_ALPN).map(|p| text(p)).collect();
                    offer.first_alpn = protocols.first().map(|p| p.to_vec());
                }
                TlsExtension::SupportedVersions(versions) => {
                    offer.supported_versions = versions.iter().map(|v| v.0).collect();
                    facts.supported_versions = versions.iter().map(|v| v.0).filter(|v| !is_grease(*v)).collect();
                    facts.grease |= versions.iter().any(|v| is_grease(v.0));
                }
                TlsExtension::EllipticCurves(groups) => {
                    offer.groups = groups.iter().map(|g| g.0).collect();
                    facts.groups = offer.groups.iter().copied().filter(|g| !is_grease(*g)).take(MAX_GROUPS).collect();
                }
                TlsExtension::KeyShare(entries) => facts.key_shares = key_share_groups(entries),
                // TLS 1.3 drafts before 23 numbered it 40 (tls-parser leaves it unread in a ClientHello).
                TlsExtension::Unknown(kind, entries) if kind.0 == KEY_SHARE_DRAFT => {
                    facts.key_shares = key_share_groups(entries);
                }
                TlsExtension::EcPointFormats(formats) => offer.point_formats = formats.to_vec(),
                TlsExtension::SignatureAlgorithms(algorithms) => offer.signature_algorithms = algorithms,
                TlsExtension::SessionTicket(ticket) => facts.resumption_offered |= !ticket.is_empty(),
                TlsExtension::PreSharedKey(_) => facts.resumption_offered = true,
                TlsExtension::EarlyData(_) => facts.early_data = true,
                TlsExtension::Grease(..) => facts.grease = true,
                TlsExtension::Unknown(kind, _) if kind.0 == ENCRYPTED_CLIENT_HELLO => {
                    facts.encrypted_client_hello = true;
                }
                _ => {}
            }
        }
        // A TLS 1.3 client fills the session ID with random bytes for
        // middleboxes' sake (RFC 8446 §D.4): an offer to resume only from
        // a client that cannot speak TLS 1.3.
        let offers_tls13 = facts.supported_versions.iter().any(|v| matches!(*v, 0x0304 | 0xfefc) || is_draft(*v));
        facts.resumption_offered |= !facts.session_id.is_empty() && !offers_tls13;
        facts.ja3 = Some(offer.ja3());
        facts.ja4 = Some(offer.ja4(transport));
        Some(facts)
    }

    /// Reads an SSL 2.0-format ClientHello (its body from the message type
    /// on, checked by `records::is_sslv2_client_hello`): a version and
    /// cipher specs, no extensions.
    pub fn parse_sslv2(body: &[u8]) -> Option<ClientHello> {
        let u16_at = |at: usize| Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        let (specs, session) = (usize::from(u16_at(3)?), usize::from(u16_at(5)?));
        let session_id = body.get(9 + specs..9 + specs + session)?.to_vec();
        Some(ClientHello {
            legacy_version: u16_at(1)?,
            cipher_suites: specs / 3,
            resumption_offered: !session_id.is_empty(),
            session_id,
            ..ClientHello::default()
        })
    }

    /// The highest version offered.
    pub fn highest_version(&self) -> u16 {
        let released: Vec<u16> = self.supported_versions.iter().copied().filter(|v| !is_draft(*v)).collect();
        newest(&released).unwrap_or(self.legacy_version)
    }
}

/// What is kept of a ServerHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// The version agreed: supported_versions when present (TLS 1.3), else
    /// the message's version field.
    pub version: u16,
    pub cipher_suite: u16,
    pub alpn: Option<String>,
    /// A TLS 1.3 HelloRetryRequest (a ServerHello with a fixed random).
    pub hello_retry_request: bool,
    pub session_id: Vec<u8>,
    pub malformed_extensions: bool,
    /// The last 8 bytes of its random say a TLS 1.3 server agreed to a
    /// lower version (RFC 8446 §4.1.3).
    pub downgrade_sentinel: bool,
    pub ja3s: String,
    /// Extension types in the order sent, and the chosen ALPN as sent (for JA4S).
    pub extensions: Vec<u16>,
    pub alpn_bytes: Vec<u8>,
}

impl ServerHello {
    /// Reads a ServerHello body; `None` when its fixed part is malformed
    /// (or its version is none tls-parser reads).
    pub fn parse(body: &[u8], transport: Transport) -> Option<ServerHello> {
        let dtls_message;
        let hello = if transport == Transport::Dtls {
            dtls_message = whole_dtls_message(2, body);
            match parse_dtls_message_handshake(&dtls_message).ok()? {
                (
                    _,
                    DTLSMessage::Handshake(DTLSMessageHandshake {
                        body: DTLSMessageHandshakeBody::ServerHello(h), ..
                    }),
                ) => h,
                _ => return None,
            }
        } else {
            parse_tls_handshake_server_hello(body).ok()?.1
        };
        let mut facts = ServerHello {
            version: hello.version.0,
            cipher_suite: hello.cipher.0,
            hello_retry_request: hello.random == HELLO_RETRY_RANDOM,
            downgrade_sentinel: hello.random.ends_with(b"DOWNGRD\x01") || hello.random.ends_with(b"DOWNGRD\x00"),
            session_id: hello.session_id.unwrap_or_default().to_vec(),
            ..ServerHello::default()
        };
        let mut extensions = Vec::new();
        for block in ExtensionBlocks(hello.ext.unwrap_or_default()) {
            let Some((kind, block)) = block else {
                facts.malformed_extensions = true;
                break;
            };
            extensions.push(kind);
            let Ok((_, extension)) = parse_tls_server_hello_extension(block) else {
                facts.malformed_extensions = true;
                continue;
            };
            match extension {
                TlsExtension::SupportedVersions(versions) => {
                    if let Some(v) = versions.first() {
                        facts.version = v.0;
                    }
                }
                TlsExtension::ALPN(protocols) => {
                    facts.alpn = protocols.first().map(|p| text(p));
                    facts.alpn_bytes = protocols.first().map(|p| p.to_vec()).unwrap_or_default();
                }
                _ => {}
            }
        }
        facts.ja3s = ja3s(hello.version.0, hello.cipher.0, &extensions);
        facts.extensions = extensions;
        Some(facts)
    }
}

/// The groups of a ClientHello's key_share entries (RFC 8446 §4.2.8: a
/// list length, then group, key length, key), GREASE left out. tls-parser
/// hands the extension over unread.
fn key_share_groups(entries: &[u8]) -> Vec<u16> {
    let mut groups = Vec::new();
    let mut rest = entries.get(2..).unwrap_or_default();
    while let [g0, g1, l0, l1, tail @ ..] = rest {
        let (group, length) = (u16::from_be_bytes([*g0, *g1]), usize::from(u16::from_be_bytes([*l0, *l1])));
        if !is_grease(group) && groups.len() < MAX_GROUPS {
            groups.push(group);
        }
        rest = tail.get(length..).unwrap_or_default();
    }
    groups
}

/// A named group as IANA names it (RFC 4492, RFC 8422, RFC 7919, RFC 8446,
/// draft-ietf-tls-ecdhe-mlkem), or its number.
pub fn group_name(group: u16) -> String {
    const RFC_4492: [&str; 25] = [
        "sect163k1",
        "sect163r1",
        "sect163r2",
        "sect193r1",
        "sect193r2",
        "sect233k1",
        "sect233r1",
        "sect239k1",
        "sect283k1",
        "sect283r1",
        "sect409k1",
        "sect409r1",
        "sect571k1",
        "sect571r1",
        "secp160k1",
        "secp160r1",
        "secp160r2",
        "secp192k1",
        "secp192r1",
        "secp224k1",
        "secp224r1",
        "secp256k1",
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ];
    let name = match group {
        1..=25 => RFC_4492[usize::from(group) - 1],
        0x001d => "x25519",
        0x001e => "x448",
        0x001a => "brainpoolP256r1",
        0x001b => "brainpoolP384r1",
        0x001c => "brainpoolP512r1",
        0x001f => "brainpoolP256r1tls13",
        0x0020 => "brainpoolP384r1tls13",
        0x0021 => "brainpoolP512r1tls13",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0x639a => "SecP256r1Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        _ => return format!("0x{group:04x}"),
    };
    name.to_string()
}

/// A DTLS handshake message of this type and body, with the header it has
/// when not fragmented (as tls-parser reads it).
fn whole_dtls_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let length = &(body.len() as u32).to_be_bytes()[1..];
    let mut message = Vec::with_capacity(12 + body.len());
    message.push(kind);
    message.extend_from_slice(length);
    message.extend_from_slice(&[0, 0, 0, 0, 0]); // message_seq, fragment_offset
    message.extend_from_slice(length);
    message.extend_from_slice(body);
    message
}

/// The extensions of a hello as (type, the whole extension with its
/// header), then `None` if the list does not end where an extension does.
/// Walked here rather than by tls-parser's list parser, which stops at the
/// first extension whose content it cannot read: the fingerprints need
/// every extension's type even then.
struct ExtensionBlocks<'a>(&'a [u8]);

impl<'a> Iterator for ExtensionBlocks<'a> {
    type Item = Option<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let header =
            self.0.get(..4).map(|h| (u16::from_be_bytes([h[0], h[1]]), usize::from(u16::from_be_bytes([h[2], h[3]]))));
        let Some((kind, length)) = header.filter(|(_, length)| self.0.len() >= 4 + length) else {
            self.0 = &[];
            return Some(None);
        };
        let (block, rest) = self.0.split_at(4 + length);
        self.0 = rest;
        Some(Some((kind, block)))
    }
}

/// A name or protocol from the wire, as text (bytes that are not UTF-8
/// replaced), at most [`MAX_NAME`] bytes.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_NAME)]).into_owned()
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ..., 0xfafa.
pub fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

fn is_draft(version: u16) -> bool {
    version >> 8 == 0x7f
}

/// The newest of some versions: DTLS counts its minor version down
/// (DTLS 1.3 is 0xfefc, DTLS 1.2 0xfefd), TLS up.
pub fn newest(versions: &[u16]) -> Option<u16> {
    // Drafts by number (above TLS 1.3), as JA4 sorts them.
    versions.iter().copied().max_by_key(|&v| if is_draft(v) { v } else { rank(v) })
}

/// Where a version stands among TLS's: DTLS 1.0, 1.2 and 1.3 beside TLS
/// 1.1, 1.2 and 1.3, a TLS 1.3 draft as TLS 1.3.
pub fn rank(version: u16) -> u16 {
    match version {
        v if v >> 8 == 0xfe => 0x0300 + (0xff - (v & 0xff)),
        v if is_draft(v) => 0x0304,
        v => v,
    }
}

/// Whether an agreed cipher suite gives little or no protection: no
/// encryption, export strength, anonymous key exchange, RC4, RC2, DES or
/// 3DES, or MD5 for integrity.
pub fn weak_cipher_suite(id: u16) -> bool {
    use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherMac};
    TlsCipherSuite::from_id(id).is_some_and(|suite| {
        matches!(
            suite.enc,
            TlsCipherEnc::Null | TlsCipherEnc::Des | TlsCipherEnc::TripleDes | TlsCipherEnc::Rc2 | TlsCipherEnc::Rc4
        ) || suite.au == TlsCipherAu::Null
            || suite.enc_size < 112
            || suite.mac == TlsCipherMac::HmacMd5
    })
}

/// A version as Wireshark names it: "TLS 1.2", "TLS 1.3 (draft 28)", "SSL 3.0", "DTLS 1.2".
pub fn version_name(version: u16) -> String {
    match version {
        0x0100 => "DTLS 1.0 (OpenSSL pre 0.9.8f)".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        0x0200 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if is_draft(v) => format!("TLS 1.3 (draft {})", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// The IANA name of a cipher suite (`TLS_AES_128_GCM_SHA256`), or its number.
pub fn cipher_suite_name(id: u16) -> String {
    match TlsCipherSuite::from_id(id) {
        Some(suite) => suite.name.to_string(),
        None => format!("0x{id:04x}"),
    }
}

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 6066, RFC 4507).
pub fn handshake_name(kind: u8) -> &'static str {
    match kind {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        3 => "hello_verify_request",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        6 => "hello_retry_request",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        21 => "certificate_url",
        22 => "certificate_status",
        23 => "supplemental_data",
        24 => "key_update",
        25 => "compressed_certificate",
        67 => "next_protocol",
        254 => "message_hash",
        _ => "unknown",
    }
}

/// Alert descriptions (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x7f1c), "TLS 1.3 (draft 28)");
        assert_eq!(version_name(0xfefc), "DTLS 1.3");
        assert_eq!(newest(&[0xfefd, 0xfefc, 0xfeff]), Some(0xfefc));
        assert_eq!(newest(&[0x0303, 0x0304, 0x0302]), Some(0x0304));
        // GREASE, then x25519 with a 3-byte key; a truncated entry ends the list.
        assert_eq!(key_share_groups(&[0, 14, 0x0a, 0x0a, 0, 1, 0, 0, 0x1d, 0, 3, 1, 2, 3, 0x11, 0xec, 0xff]), [0x001d]);
        assert_eq!(key_share_groups(&[0, 200, 0x11, 0xec, 0x04, 0xc0, 9]), [0x11ec]);
        assert!(key_share_groups(&[0]).is_empty());
        assert_eq!((group_name(0x11ec), group_name(0x1234)), ("X25519MLKEM768".to_string(), "0x1234".to_string()));
        assert!(rank(0xfefc) > rank(0xfefd) && rank(0x7f1c) == rank(0x0304) && rank(0x0303) > rank(0x0302));
        assert!(weak_cipher_suite(0x0005) && weak_cipher_suite(0x000a) && weak_cipher_suite(0x0003));
        assert!(weak_cipher_suite(0x0018) && weak_cipher_suite(0x0002), "anonymous DH, NULL encryption");
        assert!(!weak_cipher_suite(0xc02f) && !weak_cipher_suite(0x1301) && !weak_cipher_suite(0x002f));
        assert_eq!(cipher_suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(alert_name(40), "handshake_failure");
        assert!(is_grease(0x1a1a) && is_grease(0xfafa) && !is_grease(0x1a2a) && !is_grease(0x0303));
    }
}
