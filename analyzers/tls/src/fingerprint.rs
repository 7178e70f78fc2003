//! Client and server fingerprints from the hellos: JA3 and JA3S
//! (Salesforce, BSD 3-Clause) and JA4 (FoxIO, BSD 3-Clause). The rest of
//! JA4+ (JA4S, JA4X, ...) is under the FoxIO License 1.1, which restricts
//! commercial use, and is not computed.
//!
//! Every list leaves GREASE values out (RFC 8701), as both specifications
//! ask.

use std::fmt::Write;

use md5::{Digest as _, Md5};
use pcapsule_guest::conventions::hex;
use sha2::Sha256;

use crate::hello::{is_grease, newest};

/// The transport a hello came over: JA4's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Tcp,
    Quic,
    Dtls,
}

impl Transport {
    /// As results name it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
            Transport::Dtls => "dtls",
        }
    }
}

/// The values of a ClientHello the fingerprints are made of, in the order
/// the client sent them, GREASE included (each fingerprint leaves it out).
#[derive(Debug, Default, Clone)]
pub struct ClientOffer {
    /// The hello's version field.
    pub legacy_version: u16,
    pub cipher_suites: Vec<u16>,
    /// Extension types.
    pub extensions: Vec<u16>,
    pub supported_versions: Vec<u16>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    /// The first ALPN protocol, as sent.
    pub first_alpn: Option<Vec<u8>>,
}

impl ClientOffer {
    /// JA3: version, ciphers, extensions, groups and point formats, in
    /// decimal, as sent; the MD5 of that text.
    pub fn ja3(&self) -> String {
        let text = format!(
            "{},{},{},{},{}",
            self.legacy_version,
            decimal_list(&self.cipher_suites),
            decimal_list(&self.extensions),
            decimal_list(&self.groups),
            self.point_formats.iter().map(u8::to_string).collect::<Vec<_>>().join("-"),
        );
        hex(&Md5::digest(text.as_bytes()))
    }

    /// JA4 (`t13d1516h2_8daaf6152771_e5627efa2ab1`): transport, highest
    /// version, SNI or not, counts of ciphers and extensions, the first
    /// ALPN's ends; then truncated SHA-256s of the sorted ciphers and of the
    /// sorted extensions (SNI and ALPN left out) with the signature
    /// algorithms in their order.
    pub fn ja4(&self, transport: Transport) -> String {
        let ciphers: Vec<u16> = without_grease(&self.cipher_suites);
        let extensions: Vec<u16> = without_grease(&self.extensions);
        let version = newest(&without_grease(&self.supported_versions)).unwrap_or(self.legacy_version);
        let mut a = String::with_capacity(10);
        a.push(transport_letter(transport));
        a.push_str(ja4_version(version));
        a.push(if extensions.contains(&0x0000) { 'd' } else { 'i' });
        let _ = write!(a, "{:02}{:02}", ciphers.len().min(99), extensions.len().min(99));
        a.push_str(&alpn_ends(self.first_alpn.as_deref().unwrap_or_default()));

        let mut sorted_ciphers = ciphers;
        sorted_ciphers.sort_unstable();
        let mut sorted_extensions: Vec<u16> = extensions.into_iter().filter(|e| *e != 0x0000 && *e != 0x0010).collect();
        sorted_extensions.sort_unstable();
        let b = truncated_sha256(&hex_list(&sorted_ciphers), sorted_ciphers.is_empty());
        let mut c_text = hex_list(&sorted_extensions);
        let signatures = without_grease(&self.signature_algorithms);
        if !signatures.is_empty() {
            c_text.push('_');
            c_text.push_str(&hex_list(&signatures));
        }
        let c = truncated_sha256(&c_text, sorted_extensions.is_empty());
        format!("{a}_{b}_{c}")
    }
}

/// JA4S (FoxIO License 1.1, computed only when asked for): transport,
/// the version agreed (supported_versions, else the hello's field), the
/// count of extensions, the chosen ALPN's ends; the cipher suite in hex;
/// the truncated SHA-256 of the extension types in the order sent.
pub fn ja4s(transport: Transport, version: u16, cipher_suite: u16, extensions: &[u16], alpn: &[u8]) -> String {
    let ends = alpn_ends(alpn);
    let a = format!("{}{}{:02}{ends}", transport_letter(transport), ja4_version(version), extensions.len().min(99));
    let hash = truncated_sha256(&hex_list(extensions), extensions.is_empty());
    format!("{a}_{cipher_suite:04x}_{hash}")
}

fn transport_letter(transport: Transport) -> char {
    match transport {
        Transport::Tcp => 't',
        Transport::Quic => 'q',
        Transport::Dtls => 'd',
    }
}

/// JA3S: the ServerHello's version field, its cipher suite and its
/// extension types in order, in decimal; the MD5 of that text.
pub fn ja3s(version: u16, cipher_suite: u16, extensions: &[u16]) -> String {
    let text = format!("{version},{cipher_suite},{}", decimal_list(extensions));
    hex(&Md5::digest(text.as_bytes()))
}

fn without_grease(values: &[u16]) -> Vec<u16> {
    values.iter().copied().filter(|v| !is_grease(*v)).collect()
}

fn decimal_list(values: &[u16]) -> String {
    let mut text = String::new();
    for value in values.iter().filter(|v| !is_grease(**v)) {
        if !text.is_empty() {
            text.push('-');
        }
        let _ = write!(text, "{value}");
    }
    text
}

fn hex_list(values: &[u16]) -> String {
    let mut text = String::with_capacity(values.len() * 5);
    for value in values {
        if !text.is_empty() {
            text.push(',');
        }
        let _ = write!(text, "{value:04x}");
    }
    text
}

/// The first 12 hex digits of the SHA-256 of `text`; twelve zeros for an
/// empty list, as JA4 writes it.
fn truncated_sha256(text: &str, empty: bool) -> String {
    if empty {
        return "000000000000".into();
    }
    let mut digest = hex(&Sha256::digest(text.as_bytes()));
    digest.truncate(12);
    digest
}

fn ja4_version(version: u16) -> &'static str {
    match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The first and last characters of the first ALPN protocol; when either
/// is not an ASCII letter or digit, the first and last hex digits of the
/// protocol instead; `00` for none.
fn alpn_ends(alpn: &[u8]) -> String {
    let (Some(&first), Some(&last)) = (alpn.first(), alpn.last()) else {
        return "00".into();
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        return [char::from(first), char::from(last)].iter().collect();
    }
    let digits = hex(&[first, last]);
    [digits.as_bytes()[0], digits.as_bytes()[3]].iter().map(|b| char::from(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_values(text: &str) -> Vec<u16> {
        text.split(',').map(|v| u16::from_str_radix(v, 16).unwrap()).collect()
    }

    /// The example of FoxIO's JA4 specification (technical_details/JA4.md):
    /// its lists in original order, with GREASE added where Chrome puts it.
    fn specification_example() -> ClientOffer {
        ClientOffer {
            legacy_version: 0x0303,
            cipher_suites: [
                vec![0x2a2a],
                hex_values("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"),
            ]
            .concat(),
            extensions: [
                vec![0x3a3a],
                hex_values("001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"),
                vec![0xfafa],
            ]
            .concat(),
            supported_versions: vec![0x5a5a, 0x0304, 0x0303],
            groups: vec![0x4a4a, 0x001d, 0x0017, 0x0018],
            point_formats: vec![0],
            signature_algorithms: hex_values("0403,0804,0401,0503,0805,0501,0806,0601"),
            first_alpn: Some(b"h2".to_vec()),
        }
    }

    #[test]
    fn ja4_of_the_specification_example() {
        let offer = specification_example();
        assert_eq!(offer.ja4(Transport::Tcp), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(offer.ja4(Transport::Quic), "q13d1516h2_8daaf6152771_e5627efa2ab1");
        // Without signature algorithms the extension list is hashed alone.
        let unsigned = ClientOffer { signature_algorithms: vec![], ..offer.clone() };
        assert!(unsigned.ja4(Transport::Tcp).ends_with("_6d807ffa2a79"));
        // No SNI, no ALPN, no ciphers, only SNI and ALPN as extensions.
        let bare = ClientOffer {
            legacy_version: 0x0301,
            extensions: vec![0x0000, 0x0010],
            first_alpn: None,
            ..ClientOffer::default()
        };
        assert_eq!(bare.ja4(Transport::Dtls), "d10d000200_000000000000_000000000000");
    }

    #[test]
    fn alpn_ends_follow_the_specification() {
        let cases: [(&[u8], &str); 11] = [
            (b"h2", "h2"),
            (b"http/1.1", "h1"),
            (b"h", "hh"),
            (b"", "00"),
            (&[0xab], "ab"),
            (&[0x20], "20"),
            (&[0xab, 0xcd], "ad"),
            (&[0x20, 0x61], "21"),
            (&[0x30, 0xab], "3b"),
            (&[0x61, 0x20], "60"),
            (&[0x30, 0xab, 0xcd, 0x31], "01"),
        ];
        for (alpn, expected) in cases {
            assert_eq!(alpn_ends(alpn), expected, "{alpn:x?}");
        }
        assert_eq!(alpn_ends(&[0x30, 0x31, 0xab, 0xcd]), "3d");
    }

    #[test]
    fn ja3_and_ja3s_are_md5s_of_their_decimal_text() {
        // JA3's text is "771,<ciphers>,<extensions>,<groups>,<formats>":
        // the digest of a known text (Salesforce's README example).
        let offer = ClientOffer {
            legacy_version: 769,
            cipher_suites: vec![0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
            extensions: vec![0, 10, 11],
            groups: vec![23, 24, 25],
            point_formats: vec![0],
            ..ClientOffer::default()
        };
        assert_eq!(
            offer.ja3(),
            hex(&Md5::digest(b"769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"))
        );
        assert_eq!(offer.ja3(), "ada70206e40642a3e4461f35503241d5");
        assert_eq!(ja3s(769, 47, &[65281, 0, 11]), hex(&Md5::digest(b"769,47,65281-0-11")));
    }

    /// FoxIO's own JA4S example (rust/ja4/src/tls.rs, test_server_stats_into_out):
    /// TLS 1.2, no ALPN, extensions 0005,0017,ff01,0000 in that order.
    #[test]
    fn ja4s_matches_foxio_example() {
        let extensions = [0x0005, 0x0017, 0xff01, 0x0000];
        assert_eq!(ja4s(Transport::Tcp, 0x0303, 0xc030, &extensions, b""), "t120400_c030_4e8089b08790");
        assert_eq!(ja4s(Transport::Quic, 0x0304, 0x1301, &[], b"h3"), "q1300h3_1301_000000000000");
    }
}
