//! The datagram an ICMP or ICMPv6 error carries: RFC 792 quotes the IP
//! header and at least 8 bytes of the datagram that failed, RFC 1812 and
//! RFC 4443 as much as fits, and RFC 4884 may append extension objects
//! after it (MPLS labels, the interface that dropped it). Analyzers read
//! the quote to say which flow failed; the protocol hierarchy descends into
//! it as Wireshark does (`icmp → ip → udp → dns`).

use etherparse::checksum::Sum16BitWords;
use etherparse::{Icmpv4Slice, Icmpv6Slice, LaxSlicedPacket};

/// An error message's quoted datagram and its RFC 4884 extension, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorQuote<'a> {
    /// The original datagram as far as it was quoted, from its IP header on.
    pub original: &'a [u8],
    /// The RFC 4884 extension structure after it.
    pub extension: Option<&'a [u8]>,
}

impl<'a> ErrorQuote<'a> {
    /// The quoted datagram's layers, as far as they were quoted (an IP
    /// header and 8 bytes leave a TCP header unsliced); `None` when not even
    /// an IP header is there.
    pub fn sliced(&self) -> Option<LaxSlicedPacket<'a>> {
        LaxSlicedPacket::from_ip(self.original).ok()
    }
}

/// ICMP types that quote the datagram that caused them: destination
/// unreachable, source quench, redirect, time exceeded, parameter problem,
/// datagram conversion error (RFC 1475).
pub fn is_error_v4(icmp_type: u8) -> bool {
    matches!(icmp_type, 3 | 4 | 5 | 11 | 12 | 31)
}

/// ICMPv6 error types with a quote in a known layout (RFC 4443 makes types
/// 0-127 errors; 1-4 are destination unreachable, packet too big, time
/// exceeded and parameter problem).
pub fn is_error_v6(icmp_type: u8) -> bool {
    matches!(icmp_type, 1..=4)
}

/// The quote of an ICMP error; `None` for other messages.
pub fn quote_v4<'a>(icmp: &Icmpv4Slice<'a>) -> Option<ErrorQuote<'a>> {
    let icmp_type = icmp.type_u8();
    if !is_error_v4(icmp_type) {
        return None;
    }
    // RFC 4884's length attribute: byte 6 of unreachable, time exceeded and
    // parameter problem messages, in 32-bit words.
    let length = if matches!(icmp_type, 3 | 11 | 12) { icmp.bytes5to8()[1] } else { 0 };
    Some(split_rfc4884(icmp.payload(), length, 4))
}

/// The quote of an ICMPv6 error; `None` for other messages.
pub fn quote_v6<'a>(icmp: &Icmpv6Slice<'a>) -> Option<ErrorQuote<'a>> {
    let icmp_type = icmp.type_u8();
    if !is_error_v6(icmp_type) {
        return None;
    }
    // RFC 4884's length attribute: byte 5 of unreachable and time exceeded
    // messages, in 64-bit words.
    let length = if matches!(icmp_type, 1 | 3) { icmp.bytes5to8()[0] } else { 0 };
    Some(split_rfc4884(icmp.payload(), length, 8))
}

/// Splits an error's payload into the original datagram and the RFC 4884
/// extension structure, using the length attribute (in `unit`-byte words)
/// when the sender set it.
pub fn split_rfc4884(payload: &[u8], length_words: u8, unit: usize) -> ErrorQuote<'_> {
    /// Where senders without the length attribute put extensions.
    const LEGACY_OFFSET: usize = 128;
    if length_words == 0 {
        // RFC 4884 section 5: older senders (RFC 4950 MPLS, early RFC 5837)
        // leave the length at 0 and put the extension after exactly 128
        // bytes of quote; accept one there only if its version and checksum
        // say it is one.
        let legacy = payload.get(LEGACY_OFFSET..).filter(|ext| {
            ext.len() >= 8 && ext[0] >> 4 == 2 && Sum16BitWords::new().add_slice(ext).ones_complement() == 0
        });
        return match legacy {
            Some(ext) => ErrorQuote { original: &payload[..LEGACY_OFFSET], extension: Some(ext) },
            None => ErrorQuote { original: payload, extension: None },
        };
    }
    let original_len = usize::from(length_words) * unit;
    if original_len >= payload.len() {
        return ErrorQuote { original: payload, extension: None };
    }
    ErrorQuote { original: &payload[..original_len], extension: Some(&payload[original_len..]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_attribute_or_the_legacy_offset_splits_off_the_extension() {
        let payload = [0x45u8; 200];
        let split = split_rfc4884(&payload, 32, 4);
        assert_eq!((split.original.len(), split.extension.map(<[u8]>::len)), (128, Some(72)));
        let split = split_rfc4884(&payload, 0, 4);
        assert_eq!((split.original.len(), split.extension), (200, None), "no length, no valid legacy extension");
        let split = split_rfc4884(&payload, 200, 4);
        assert_eq!((split.original.len(), split.extension), (200, None), "a length past the end quotes everything");
        // No length attribute, but a valid extension at byte 128: version 2,
        // checksum 0xdffb, one 4-byte object.
        let mut legacy = vec![0u8; 128];
        legacy.extend_from_slice(&[0x20, 0, 0xdf, 0xfb, 0, 4, 0, 0]);
        let split = split_rfc4884(&legacy, 0, 4);
        assert_eq!((split.original.len(), split.extension.map(<[u8]>::len)), (128, Some(8)));
        legacy[135] = 1;
        assert_eq!(split_rfc4884(&legacy, 0, 4).original.len(), 136, "a bad checksum: not an extension");
    }
}
