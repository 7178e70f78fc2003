//! Link types the shared decoder (`pcapsule_guest::decode`) does not handle
//! but that carry ICMP in the shared captures: PPP, Cisco HDLC and Frame
//! Relay. Their headers are a few fixed bytes in front of IP, stripped here by
//! hand; everything from the IP header on is sliced by etherparse, exactly as
//! the shared decoder does. This belongs in the shared decoder eventually.

use etherparse::{EtherType, LaxSlicedPacket};
use pcapsule_guest::decode::{DecodeError, DecodeProblem, Decoded, decode};

/// LINKTYPE_PPP: RFC 1661 framing, with or without address/control bytes.
const PPP: u32 = 9;
/// LINKTYPE_PPP_HDLC: RFC 1662 framing.
const PPP_HDLC: u32 = 50;
/// LINKTYPE_C_HDLC: Cisco HDLC (address, control, EtherType).
const C_HDLC: u32 = 104;
/// LINKTYPE_FRELAY: Frame Relay with a Q.922 address.
const FRELAY: u32 = 107;

/// Decodes a frame: the shared decoder first, then the link types above.
pub fn decode_frame(link_type: u32, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let ip = match link_type {
        PPP | PPP_HDLC => ppp(data),
        C_HDLC => data.get(4..).map(|rest| (ether_type(data, 2), rest)),
        FRELAY => frame_relay(data),
        _ => return decode(link_type, data),
    };
    let Some((ether_type, payload)) = ip else {
        return Err(DecodeError::Malformed(DecodeProblem {
            layer: "link",
            message: format!("link type {link_type}: header too short"),
        }));
    };
    // Not IP (LCP, CDP, ...): an EtherType nobody uses leaves it undecoded,
    // like any non-IP frame.
    let layers = LaxSlicedPacket::from_ether_type(ether_type.unwrap_or(EtherType(0xffff)), payload);
    let problem = layers.stop_err.as_ref().map(|(e, _)| DecodeProblem { layer: "ip", message: e.to_string() });
    Ok(Decoded { layers, vlan_ids: Vec::new(), problem })
}

fn ether_type(data: &[u8], at: usize) -> Option<EtherType> {
    Some(EtherType(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?])))
}

/// PPP: optional `ff 03`, then a 1- or 2-byte protocol (protocol field
/// compression leaves the low, odd byte only).
fn ppp(data: &[u8]) -> Option<(Option<EtherType>, &[u8])> {
    let data = data.strip_prefix(&[0xff, 0x03]).unwrap_or(data);
    let (protocol, rest) = match *data.first()? {
        b if b & 1 == 1 => (u16::from(b), data.get(1..)?),
        _ => (u16::from_be_bytes([data[0], *data.get(1)?]), data.get(2..)?),
    };
    let ether_type = match protocol {
        0x0021 => Some(EtherType::IPV4),
        0x0057 => Some(EtherType::IPV6),
        _ => None,
    };
    Some((ether_type, rest))
}

/// Frame Relay: a Q.922 address of 2 to 4 bytes (the last has the EA bit),
/// then either RFC 2427 (control 0x03, optional pad, NLPID) or Cisco's
/// encapsulation (an EtherType right after the address).
fn frame_relay(data: &[u8]) -> Option<(Option<EtherType>, &[u8])> {
    let address_len = data.iter().take(4).position(|b| b & 1 == 1)? + 1;
    let rest = data.get(address_len..)?;
    if rest.first() != Some(&0x03) {
        return Some((ether_type(rest, 0), rest.get(2..)?));
    }
    let mut at = 1;
    if rest.get(at) == Some(&0x00) {
        at += 1;
    }
    match *rest.get(at)? {
        0xcc => Some((Some(EtherType::IPV4), rest.get(at + 1..)?)),
        0x8e => Some((Some(EtherType::IPV6), rest.get(at + 1..)?)),
        // SNAP: OUI (3 bytes), then the EtherType.
        0x80 => Some((ether_type(rest, at + 4), rest.get(at + 6..)?)),
        _ => Some((None, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPV4_ICMP: [u8; 28] =
        [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 8, 0, 0xf7, 0xfe, 0, 1, 0, 0];

    fn with(header: &[u8]) -> Vec<u8> {
        let mut v = header.to_vec();
        v.extend_from_slice(&IPV4_ICMP);
        v
    }

    fn has_icmp(link_type: u32, frame: &[u8]) -> bool {
        matches!(decode_frame(link_type, frame).map(|d| d.transport().is_some()), Ok(true))
    }

    #[test]
    fn ppp_hdlc_and_frame_relay_reach_icmp() {
        assert!(has_icmp(PPP, &with(&[0xff, 0x03, 0x00, 0x21])));
        assert!(has_icmp(PPP, &with(&[0x00, 0x21])));
        assert!(has_icmp(PPP_HDLC, &with(&[0x21])));
        assert!(has_icmp(C_HDLC, &with(&[0x0f, 0x00, 0x08, 0x00])));
        assert!(has_icmp(FRELAY, &with(&[0x18, 0x61, 0x08, 0x00])), "Cisco encapsulation");
        assert!(has_icmp(FRELAY, &with(&[0x18, 0x61, 0x03, 0xcc])), "RFC 2427 NLPID");
        assert!(has_icmp(FRELAY, &with(&[0x18, 0x61, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00])), "SNAP");
    }

    #[test]
    fn short_or_foreign_frames_are_errors_not_panics() {
        for (lt, frame) in [
            (PPP, &[][..]),
            (PPP, &[0xff, 0x03][..]),
            (PPP, &[0xc0, 0x21, 1, 2][..]),
            (C_HDLC, &[0x0f, 0x00][..]),
            (FRELAY, &[0x18][..]),
            (FRELAY, &[0x18, 0x60, 0x60, 0x60, 0x60][..]),
            (FRELAY, &[0x18, 0x61, 0x03][..]),
            (FRELAY, &[0x18, 0x61, 0x03, 0x80, 0][..]),
        ] {
            assert!(!has_icmp(lt, frame), "{lt} {frame:?}");
        }
        assert!(matches!(decode_frame(284, &[0; 40]), Err(DecodeError::UnsupportedLinkType(284))));
    }
}
