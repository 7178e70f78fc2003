//! What an X.509 certificate says, read by x509-parser, and what is wrong
//! with it as a server presented it: expired, self-signed, a weak key, a
//! name that does not cover the server name the client asked for.
//! Nothing is verified (there are no trust anchors in a capture); findings
//! are what the certificate's own fields show.

use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::conventions::{hex, hex_colon};
use pcapsule_guest::fast_hash::stable_hash;
use x509_parser::asn1_rs::Tag;
use x509_parser::der_parser::oid::Oid;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::parse_x509_certificate;
use x509_parser::prelude::X509Certificate;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Longest distinguished name kept, in characters.
const MAX_NAME: usize = 256;
/// Subject alternative names listed per certificate.
const MAX_ALT_NAMES: usize = 32;
/// DNS names kept (as hashes) to match server names against: CDN
/// certificates carry hundreds.
const MAX_MATCHED_NAMES: usize = 4096;
/// The CA/Browser Forum's limit on a server certificate's validity, for
/// certificates issued from 2020-09-01 (398 days).
const MAX_LEAF_VALIDITY_S: i64 = 398 * 86_400;
const CA_B_398_DAY_RULE_FROM: i64 = 1_598_918_400;

/// The facts kept of one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificate {
    /// SHA-256 of the DER encoding, lower-case hex: the fingerprint
    /// browsers and `openssl x509 -fingerprint -sha256` show.
    pub sha256: String,
    /// Set when x509-parser could not read the certificate; then only the
    /// fingerprint is known.
    pub unreadable: bool,
    pub subject: String,
    pub subject_common_name: Option<String>,
    pub issuer: String,
    pub issuer_common_name: Option<String>,
    /// The serial number, hex bytes separated by colons (as Wireshark).
    pub serial: String,
    /// Validity, seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names and IP addresses of the subject alternative name extension
    /// (the first 32), and how many it holds in all.
    pub alt_names: Vec<String>,
    pub alt_name_count: usize,
    /// Every DNS name of the subject alternative names (lower case, without
    /// a final dot), as sorted stable hashes: what server names are matched
    /// against, in bounded memory.
    dns_names: Vec<u64>,
    /// More DNS names than [`MAX_MATCHED_NAMES`]: a name not found is not
    /// a mismatch.
    dns_names_incomplete: bool,
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the algorithm's OID.
    pub key_type: String,
    /// Key size in bits (RSA modulus, EC curve order, ...), when known.
    pub key_bits: Option<u32>,
    /// The EC curve (`P-256`, ...).
    pub curve: Option<String>,
    /// The issuer's signature algorithm (`sha256WithRSAEncryption`, ...).
    pub signature_algorithm: String,
    /// Subject and issuer are the same name (and the key identifiers, when
    /// present, agree): the certificate signs itself.
    pub self_signed: bool,
    /// Basic constraints say it is a certificate authority.
    pub is_ca: bool,
}

impl Certificate {
    /// Reads one DER-encoded certificate whose SHA-256 is `fingerprint`.
    /// One x509-parser cannot read still has its fingerprint.
    pub fn parse(der: &[u8], fingerprint: &[u8; 32]) -> Certificate {
        let sha256 = hex(fingerprint);
        match parse_x509_certificate(der) {
            Ok((_, cert)) => Certificate::of(&cert, sha256),
            Err(_) => Certificate { sha256, unreadable: true, ..Certificate::default() },
        }
    }

    fn of(cert: &X509Certificate<'_>, sha256: String) -> Certificate {
        let common_name = |name: &X509Name<'_>| name.iter_common_name().next().map(attribute_text);
        let mut alt_names = Vec::new();
        let mut alt_name_count = 0;
        let mut dns_names = Vec::new();
        let mut dns_names_incomplete = false;
        let mut subject_key = None;
        let mut authority_key = None;
        for extension in cert.extensions() {
            match extension.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for name in &san.general_names {
                        if let GeneralName::DNSName(dns) = name {
                            if dns_names.len() < MAX_MATCHED_NAMES {
                                dns_names.push(name_key(dns));
                            } else {
                                dns_names_incomplete = true;
                            }
                        }
                        let text = match name {
                            GeneralName::DNSName(dns) => Some(bounded(dns, MAX_NAME)),
                            GeneralName::IPAddress(bytes) => ip_address(bytes).map(|ip| ip.to_string()),
                            _ => None,
                        };
                        if let Some(text) = text {
                            alt_name_count += 1;
                            if alt_names.len() < MAX_ALT_NAMES {
                                alt_names.push(text);
                            }
                        }
                    }
                }
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key = Some(id.0),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key = aki.key_identifier.as_ref().map(|id| id.0)
                }
                _ => {}
            }
        }
        dns_names.sort_unstable();
        dns_names.dedup();
        let (key_type, key_bits, curve) = key_facts(cert);
        let signature = &cert.signature_algorithm.algorithm;
        let same_name = cert.subject().as_raw() == cert.issuer().as_raw();
        let keys_agree = match (subject_key, authority_key) {
            (Some(subject), Some(authority)) => subject == authority,
            _ => true,
        };
        Certificate {
            sha256,
            unreadable: false,
            subject: bounded(&cert.subject().to_string(), MAX_NAME),
            subject_common_name: common_name(cert.subject()),
            issuer: bounded(&cert.issuer().to_string(), MAX_NAME),
            issuer_common_name: common_name(cert.issuer()),
            serial: hex_colon(cert.raw_serial()),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            alt_names,
            alt_name_count,
            dns_names,
            dns_names_incomplete,
            key_type,
            key_bits,
            curve,
            signature_algorithm: oid2sn(signature, oid_registry())
                .map(str::to_string)
                .unwrap_or_else(|_| signature.to_id_string()),
            self_signed: same_name && keys_agree,
            is_ca: cert.is_ca(),
        }
    }

    /// What is wrong with this certificate when `at` (the packet's time)
    /// it was presented, in position `position` of a chain (0: the
    /// sender's own), to a client that asked for `server_name`. Names as
    /// in [`Finding::name`].
    pub fn findings(&self, at: Option<Timestamp>, position: usize, server_name: Option<&str>) -> Vec<Finding> {
        if self.unreadable {
            return vec![Finding::Unreadable];
        }
        let mut findings = Vec::new();
        if let Some(at) = at {
            if at.secs > self.not_after {
                findings.push(Finding::Expired);
            } else if at.secs < self.not_before {
                findings.push(Finding::NotYetValid);
            }
        }
        let leaf = position == 0;
        if leaf && self.self_signed {
            findings.push(Finding::SelfSigned);
        }
        if leaf
            && let Some(name) = server_name
            && !self.covers(name)
        {
            findings.push(Finding::NameMismatch);
        }
        let weak_key = match (self.key_type.as_str(), self.key_bits) {
            ("RSA" | "DSA", Some(bits)) => bits < 2048,
            ("EC", Some(bits)) => bits < 224,
            _ => false,
        };
        if weak_key {
            findings.push(Finding::WeakKey);
        }
        let signature = self.signature_algorithm.to_ascii_lowercase();
        if !self.self_signed && (signature.contains("md5") || signature.contains("md2") || signature.contains("sha1")) {
            findings.push(Finding::WeakSignature);
        }
        if leaf
            && !self.is_ca
            && self.not_before >= CA_B_398_DAY_RULE_FROM
            && self.not_after - self.not_before > MAX_LEAF_VALIDITY_S
        {
            findings.push(Finding::LongValidity);
        }
        findings
    }

    /// Whether the certificate is valid for a server name (RFC 6125): its
    /// DNS alternative names, or with none its common name; a wildcard
    /// stands for exactly one whole left-most label.
    pub fn covers(&self, server_name: &str) -> bool {
        let wanted = server_name.trim_end_matches('.').to_ascii_lowercase();
        let wildcard = wanted.split_once('.').filter(|(label, _)| !label.is_empty()).map(|(_, parent)| parent);
        if self.dns_names.is_empty() {
            let Some(common_name) = &self.subject_common_name else { return false };
            let pattern = common_name.trim_end_matches('.').to_ascii_lowercase();
            return match pattern.strip_prefix("*.") {
                Some(parent) => wildcard == Some(parent),
                None => pattern == wanted,
            };
        }
        let listed = |key: u64| self.dns_names.binary_search(&key).is_ok();
        listed(name_key(&wanted))
            || wildcard.is_some_and(|parent| listed(name_key(&format!("*.{parent}"))))
            || self.dns_names_incomplete
    }
}

/// A DNS name's matching key: the stable hash of its lower-case form
/// without a final dot.
fn name_key(name: &str) -> u64 {
    stable_hash(name.trim_end_matches('.').to_ascii_lowercase())
}

/// Something wrong with a certificate, as the tools name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    Expired,
    NotYetValid,
    SelfSigned,
    NameMismatch,
    WeakKey,
    WeakSignature,
    LongValidity,
    Unreadable,
}

impl Finding {
    pub fn name(self) -> &'static str {
        match self {
            Finding::Expired => "expired",
            Finding::NotYetValid => "not_yet_valid",
            Finding::SelfSigned => "self_signed",
            Finding::NameMismatch => "name_mismatch",
            Finding::WeakKey => "weak_key",
            Finding::WeakSignature => "weak_signature",
            Finding::LongValidity => "long_validity",
            Finding::Unreadable => "unreadable",
        }
    }
}

/// The certificates of a TLS ≤ 1.2 Certificate message body, in order
/// (the sender's own first); `None` if its framing is broken.
pub fn chain(body: &[u8]) -> Option<Vec<&[u8]>> {
    use tls_parser::{TlsMessageHandshake, parse_tls_handshake_msg_certificate};
    match parse_tls_handshake_msg_certificate(body).ok()? {
        (_, TlsMessageHandshake::Certificate(contents)) => Some(contents.cert_chain.iter().map(|c| c.data).collect()),
        _ => None,
    }
}

fn key_facts(cert: &X509Certificate<'_>) -> (String, Option<u32>, Option<String>) {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match algorithm.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            // x509-parser's own key_size() reports 0 for a modulus without
            // a leading zero byte: counted here from the modulus bits.
            let bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => significant_bits(rsa.modulus),
                _ => None,
            };
            ("RSA".into(), bits, None)
        }
        "1.2.840.10045.2.1" => {
            let curve_oid =
                spki.algorithm.parameters.as_ref().and_then(|p| Oid::try_from(p).ok()).map(|o| o.to_id_string());
            let (name, bits) = match curve_oid.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("P-256".to_string(), Some(256)),
                Some("1.3.132.0.34") => ("P-384".to_string(), Some(384)),
                Some("1.3.132.0.35") => ("P-521".to_string(), Some(521)),
                Some("1.3.132.0.10") => ("secp256k1".to_string(), Some(256)),
                Some("1.2.840.10045.3.1.1") => ("P-192".to_string(), Some(192)),
                Some("1.3.132.0.33") => ("P-224".to_string(), Some(224)),
                Some(other) => (other.to_string(), None),
                None => ("unnamed".to_string(), None),
            };
            ("EC".into(), bits, Some(name))
        }
        "1.3.101.112" => ("Ed25519".into(), Some(256), None),
        "1.3.101.113" => ("Ed448".into(), Some(456), None),
        "1.2.840.10040.4.1" => {
            let bits = match spki.parsed() {
                Ok(PublicKey::DSA(y)) => significant_bits(y),
                _ => None,
            };
            ("DSA".into(), bits, None)
        }
        _ => (algorithm, None, None),
    }
}

/// An attribute's value as text, whatever its string type: x509-parser's
/// `as_str` reads only the UTF-8-compatible types, and old certificates
/// write names as T.61 (read as Latin-1, as browsers do) or BMP strings.
fn attribute_text(attribute: &AttributeTypeAndValue<'_>) -> String {
    let bytes = attribute.as_slice();
    let text: String = match attribute.attr_value().tag() {
        Tag::BmpString => char::decode_utf16(bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        Tag::UniversalString => bytes
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        Tag::TeletexString => bytes.iter().copied().map(char::from).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    bounded(&text, MAX_NAME)
}

/// Bits of a big-endian unsigned integer, leading zeros left out.
fn significant_bits(bytes: &[u8]) -> Option<u32> {
    let first = bytes.iter().position(|b| *b != 0)?;
    let rest = u32::try_from(bytes.len() - first - 1).ok()?;
    Some(rest * 8 + (8 - bytes[first].leading_zeros()))
}

fn ip_address(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// At most `max` characters of `text`.
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(cn: Option<&str>, alt_names: &[&str]) -> Certificate {
        let mut dns_names: Vec<u64> =
            alt_names.iter().filter(|n| n.parse::<IpAddr>().is_err()).map(|n| name_key(n)).collect();
        dns_names.sort_unstable();
        Certificate {
            subject_common_name: cn.map(str::to_string),
            alt_names: alt_names.iter().map(|n| n.to_string()).collect(),
            dns_names,
            ..Certificate::default()
        }
    }

    #[test]
    fn names_cover_as_rfc_6125_says() {
        let cert = named(Some("ignored.example"), &["www.example.com", "*.example.org", "192.0.2.1"]);
        assert!(cert.covers("www.example.com") && cert.covers("WWW.Example.COM."));
        assert!(cert.covers("a.example.org"));
        assert!(!cert.covers("example.org"), "a wildcard needs a label");
        assert!(!cert.covers("a.b.example.org"), "a wildcard is one label");
        assert!(!cert.covers("ignored.example"), "the common name counts only without DNS names");
        assert!(named(Some("host.example"), &["192.0.2.1"]).covers("host.example"));
        assert!(!named(None, &[]).covers("host.example"));
        assert!(named(Some("*.example.net"), &[]).covers("a.example.net"));
        // Beyond the names it can hold, a name not found is not a mismatch.
        let mut many = named(None, &["a.example"]);
        assert!(!many.covers("b.example"));
        many.dns_names_incomplete = true;
        assert!(many.covers("b.example"));
    }

    #[test]
    fn bits_and_unreadable_certificates() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0, 0]), Some(24));
        assert_eq!(significant_bits(&[0x01, 0xff]), Some(9));
        assert_eq!(significant_bits(&[0, 0]), None);
        let unreadable = Certificate::parse(&[0x30, 0x03, 0x02, 0x01], &[0xab; 32]);
        assert!(unreadable.unreadable);
        assert_eq!(unreadable.sha256, "ab".repeat(32));
        assert_eq!(unreadable.findings(None, 0, Some("a.example")), [Finding::Unreadable]);
    }
}
