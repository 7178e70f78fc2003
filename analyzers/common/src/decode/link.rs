//! From a capture record of some LINKTYPE_* to the first layer etherparse
//! slices: an Ethernet frame, an EtherType with its payload, or an IP packet.
//!
//! Hand-written on purpose: etherparse reads Ethernet II and Linux SLL only,
//! and every other link type here is a few fixed bytes (or a length and a
//! type) in front of a layer it does read. Each reader checks the length it
//! needs once, then indexes within it.

use super::encapsulation::{Encapsulation, Encapsulations};
use super::layer_chain::Layer;
use super::{DecodeError, Next, link_problem, short};
use crate::linktype;

/// Link types that wrap another link type (PPI, PKTAP) may nest; real files
/// nest once, so a few levels is plenty and a crafted loop stops quickly.
const MAX_LINK_NESTING: u8 = 3;

/// The first layer inside a record of `link_type`.
pub(super) fn entry<'a>(link_type: u32, data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    entry_nested(link_type, data, encaps, 0)
}

fn entry_nested<'a>(
    link_type: u32,
    data: &'a [u8],
    encaps: &mut Encapsulations,
    depth: u8,
) -> Result<Next<'a>, DecodeError> {
    Ok(match link_type {
        linktype::ETHERNET => Next::Ethernet(data),
        linktype::RAW | linktype::RAW_OPENBSD | linktype::RAW_OLD => {
            encaps.push(Layer::Raw);
            Next::Ip(data)
        }
        // These link types promise one IP version: a header of the other is
        // malformed (as Wireshark judges it), not silently accepted.
        linktype::IPV4 => Next::Ip(expect_version(data, 4)?),
        linktype::IPV6 => Next::Ip(expect_version(data, 6)?),
        linktype::NULL | linktype::LOOP => {
            // BSD loopback: a 4-byte address family, in the capturing host's
            // byte order for NULL and network order for LOOP. It only tells
            // IPv4 from IPv6, which the version nibble tells as well.
            encaps.push(Layer::Null);
            Next::Ip(data.get(4..).ok_or_else(|| link_problem(short("BSD loopback header", 4, data.len())))?)
        }
        linktype::LINUX_SLL => cooked(data, 16, 14, encaps)?,
        linktype::LINUX_SLL2 => cooked(data, 20, 0, encaps)?,
        linktype::FDDI => fddi(data, encaps)?,
        linktype::NFLOG => {
            encaps.push(Layer::Nflog);
            nflog(data)?
        }
        linktype::PPP | linktype::PPP_HDLC => {
            encaps.insert(Encapsulation::Ppp);
            encaps.push(Layer::Ppp);
            ppp(data)?
        }
        linktype::PPP_ETHER => pppoe_session(data, encaps)?,
        linktype::C_HDLC => {
            let header = data.get(..4).ok_or_else(|| link_problem(short("Cisco HDLC header", 4, data.len())))?;
            encaps.push(Layer::Chdlc);
            Next::EtherType(u16::from_be_bytes([header[2], header[3]]), &data[4..])
        }
        linktype::FRELAY => {
            encaps.push(Layer::FrameRelay);
            frame_relay(data)?
        }
        linktype::MPLS => super::tunnel::mpls(data, encaps)?,
        linktype::IPOIB => {
            // As libpcap writes it and tcpdump and Wireshark read it: a
            // 40-byte pseudo-header (the InfiniBand GRH, or 20 unused bytes
            // and the destination address), then RFC 4391's 4-byte header:
            // an EtherType and 2 reserved bytes.
            const HEADER: usize = 44;
            let header = data.get(..HEADER).ok_or_else(|| link_problem(short("IPoIB header", HEADER, data.len())))?;
            encaps.push(Layer::Infiniband);
            Next::EtherType(u16::from_be_bytes([header[40], header[41]]), &data[HEADER..])
        }
        linktype::IEEE802_11 => ieee80211(data, encaps)?,
        linktype::IEEE802_11_RADIOTAP => {
            // Radiotap: version, pad, then the whole header's length, little-endian.
            let header = data.get(..4).ok_or_else(|| link_problem(short("radiotap header", 4, data.len())))?;
            let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
            encaps.insert(Encapsulation::RadioHeader);
            encaps.push(Layer::Radiotap);
            ieee80211(data.get(len..).ok_or_else(|| link_problem(short("radiotap header", len, data.len())))?, encaps)?
        }
        linktype::IEEE802_11_PRISM => {
            // Prism: a message code, then the header's length, both 32-bit little-endian.
            let header = data.get(..8).ok_or_else(|| link_problem(short("Prism header", 8, data.len())))?;
            let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
            encaps.insert(Encapsulation::RadioHeader);
            encaps.push(Layer::Prism);
            ieee80211(data.get(len..).ok_or_else(|| link_problem(short("Prism header", len, data.len())))?, encaps)?
        }
        linktype::PPI if depth < MAX_LINK_NESTING => {
            // PPI: version, flags, header length (LE 16), then the inner link type (LE 32).
            let header = data.get(..8).ok_or_else(|| link_problem(short("PPI header", 8, data.len())))?;
            let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
            let inner = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            encaps.insert(Encapsulation::RadioHeader);
            encaps.push(Layer::Ppi);
            let rest = data.get(len..).ok_or_else(|| link_problem(short("PPI header", len, data.len())))?;
            entry_nested(inner, rest, encaps, depth + 1)?
        }
        linktype::PKTAP if depth < MAX_LINK_NESTING => {
            // Apple PKTAP: header length (LE 32), record type, then the
            // inner link type (LE 32) at byte 8; the packet follows the header.
            let header = data.get(..12).ok_or_else(|| link_problem(short("PKTAP header", 12, data.len())))?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let inner = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
            encaps.insert(Encapsulation::Pktap);
            encaps.push(Layer::Pktap);
            let rest = data.get(len..).ok_or_else(|| link_problem(short("PKTAP header", len, data.len())))?;
            entry_nested(inner, rest, encaps, depth + 1)?
        }
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    })
}

/// Linux cooked capture (v1: 16-byte header, protocol at 14; v2: 20 bytes,
/// protocol at 0). etherparse knows v1 only, and this is two lines.
fn cooked<'a>(
    data: &'a [u8],
    header_len: usize,
    protocol_at: usize,
    encaps: &mut Encapsulations,
) -> Result<Next<'a>, DecodeError> {
    let header =
        data.get(..header_len).ok_or_else(|| link_problem(short("Linux cooked header", header_len, data.len())))?;
    encaps.push(Layer::LinuxSll);
    let protocol = u16::from_be_bytes([header[protocol_at], header[protocol_at + 1]]);
    Ok(Next::EtherType(protocol, &data[header_len..]))
}

fn expect_version(data: &[u8], version: u8) -> Result<&[u8], DecodeError> {
    match data.first() {
        Some(b) if b >> 4 == version => Ok(data),
        Some(b) => Err(DecodeError::Malformed(super::DecodeProblem {
            layer: "ip",
            message: format!("the link type promises IPv{version}, the header says version {}", b >> 4),
        })),
        None => Err(link_problem("empty packet".into())),
    }
}

/// FDDI: a 13-byte MAC header, then 802.2 LLC with SNAP carrying an
/// EtherType (the only case IP uses).
fn fddi<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    const MAC: usize = 13;
    const SNAP: usize = 8;
    let header = data
        .get(..MAC + SNAP)
        .ok_or_else(|| link_problem(short("FDDI header with LLC/SNAP", MAC + SNAP, data.len())))?;
    if header[MAC..MAC + 3] != [0xaa, 0xaa, 0x03] {
        return Err(link_problem("FDDI frame without an LLC/SNAP header (not IP)".into()));
    }
    encaps.push(Layer::Fddi);
    encaps.push(Layer::Llc);
    Ok(Next::EtherType(u16::from_be_bytes([header[MAC + 6], header[MAC + 7]]), &data[MAC + SNAP..]))
}

/// NFLOG: a 4-byte header, then TLVs (16-bit length and type in the
/// capturing host's byte order, little-endian in practice, values padded to
/// 4 bytes); type 9 carries the IP packet.
fn nflog(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    const PAYLOAD: u16 = 9;
    let mut rest = data.get(4..).ok_or_else(|| link_problem(short("NFLOG header", 4, data.len())))?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let kind = u16::from_le_bytes([rest[2], rest[3]]) & 0x7fff;
        if len < 4 || len > rest.len() {
            return Err(link_problem(format!("NFLOG TLV of length {len} with {} bytes left", rest.len())));
        }
        if kind == PAYLOAD {
            return Ok(Next::Ip(&rest[4..len]));
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    Err(link_problem("NFLOG record without a packet payload".into()))
}

/// PPP: optional `ff 03` (address and control), then a 1- or 2-byte protocol
/// (protocol field compression leaves the low, odd byte only). Protocols
/// that are not IP or MPLS (LCP, IPCP, ...) leave the frame without a
/// network layer, like any non-IP frame.
pub(super) fn ppp(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let data = data.strip_prefix(&[0xff, 0x03]).unwrap_or(data);
    let too_short = || link_problem(short("PPP header", 2, data.len()));
    let (protocol, rest) = match *data.first().ok_or_else(too_short)? {
        b if b & 1 == 1 => (u16::from(b), &data[1..]),
        b => (u16::from_be_bytes([b, *data.get(1).ok_or_else(too_short)?]), &data[2..]),
    };
    Ok(match protocol {
        0x0021 | 0x0057 => Next::Ip(rest),
        0x0281 | 0x0283 => Next::EtherType(super::tunnel::ether_type::MPLS, rest),
        _ => Next::NotIp,
    })
}

/// A PPPoE session header (RFC 2516: version/type, code, session id,
/// length), then PPP.
pub(super) fn pppoe_session<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    let header = data.get(..6).ok_or_else(|| link_problem(short("PPPoE header", 6, data.len())))?;
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let payload = &data[6..];
    encaps.insert(Encapsulation::Pppoe);
    encaps.insert(Encapsulation::Ppp);
    encaps.push(Layer::Pppoes);
    encaps.push(Layer::Ppp);
    ppp(&payload[..length.min(payload.len())])
}

/// Frame Relay: a Q.922 address of 2 to 4 bytes (the last has the EA bit),
/// then either RFC 2427 (control 0x03, optional pad, NLPID) or Cisco's
/// encapsulation (an EtherType right after the address).
fn frame_relay(data: &[u8]) -> Result<Next<'_>, DecodeError> {
    let bad = || link_problem("Frame Relay header too short or without an address end".into());
    let address_len = data.iter().take(4).position(|b| b & 1 == 1).ok_or_else(bad)? + 1;
    let rest = &data[address_len..];
    if rest.first() != Some(&0x03) {
        let header = rest.get(..2).ok_or_else(bad)?;
        return Ok(Next::EtherType(u16::from_be_bytes([header[0], header[1]]), &rest[2..]));
    }
    let at = if rest.get(1) == Some(&0x00) { 2 } else { 1 };
    Ok(match *rest.get(at).ok_or_else(bad)? {
        0xcc | 0x8e => Next::Ip(&rest[at + 1..]),
        // SNAP: OUI (3 bytes), then the EtherType.
        0x80 => {
            let snap = rest.get(at + 1..at + 6).ok_or_else(bad)?;
            Next::EtherType(u16::from_be_bytes([snap[3], snap[4]]), &rest[at + 6..])
        }
        _ => Next::NotIp,
    })
}

/// IEEE 802.11: data frames only (management and control frames carry no
/// IP), unprotected (an encrypted body cannot be read), with the header
/// length the frame control field implies, then LLC/SNAP and an EtherType.
fn ieee80211<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    encaps.insert(Encapsulation::Ieee80211);
    encaps.push(Layer::Wlan);
    let fc = data.get(..2).ok_or_else(|| link_problem(short("802.11 frame control", 2, data.len())))?;
    let (kind, subtype, flags) = ((fc[0] >> 2) & 0x3, fc[0] >> 4, fc[1]);
    const DATA: u8 = 2;
    const PROTECTED: u8 = 0x40;
    const ORDER: u8 = 0x80;
    // A null-function subtype (bit 2 of the subtype) carries no body.
    if kind != DATA || subtype & 0x4 != 0 || flags & PROTECTED != 0 {
        return Ok(Next::NotIp);
    }
    let to_and_from_ds = flags & 0x3 == 0x3;
    let qos = subtype & 0x8 != 0;
    let header_len = 24
        + if to_and_from_ds { 6 } else { 0 }
        + if qos { 2 } else { 0 }
        + if qos && flags & ORDER != 0 { 4 } else { 0 };
    let body =
        data.get(header_len..).ok_or_else(|| link_problem(short("802.11 data header", header_len, data.len())))?;
    if body.first() == Some(&0xaa) {
        encaps.push(Layer::Llc);
    }
    Ok(llc_snap(body).unwrap_or(Next::NotIp))
}

/// 802.2 LLC with SNAP (`aa aa 03`, an OUI, an EtherType), as 802.11, FDDI
/// and 802.3 length-field frames carry IP.
/// Only the OUIs that say the protocol ID is an EtherType (RFC 1042's
/// zero, 802.1H's 00-00-F8) lead on: under a vendor's OUI (Cisco's CDP,
/// DTP, PVST+) the ID is the vendor's own.
pub(super) fn llc_snap(data: &[u8]) -> Option<Next<'_>> {
    let header = data.get(..8)?;
    (header[..3] == [0xaa, 0xaa, 0x03] && matches!(header[3..6], [0, 0, 0] | [0, 0, 0xf8]))
        .then(|| Next::EtherType(u16::from_be_bytes([header[6], header[7]]), &data[8..]))
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

    fn reaches_ip(link_type: u32, frame: &[u8]) -> bool {
        let mut encaps = Encapsulations::default();
        match entry(link_type, frame, &mut encaps) {
            Ok(Next::Ip(ip)) => ip == IPV4_ICMP,
            Ok(Next::EtherType(0x0800, ip)) => ip == IPV4_ICMP,
            _ => false,
        }
    }

    #[test]
    fn ppp_hdlc_and_frame_relay_reach_ip() {
        assert!(reaches_ip(linktype::PPP, &with(&[0xff, 0x03, 0x00, 0x21])));
        assert!(reaches_ip(linktype::PPP, &with(&[0x00, 0x21])));
        assert!(reaches_ip(linktype::PPP_HDLC, &with(&[0x21])));
        assert!(reaches_ip(linktype::C_HDLC, &with(&[0x0f, 0x00, 0x08, 0x00])));
        assert!(reaches_ip(linktype::FRELAY, &with(&[0x18, 0x61, 0x08, 0x00])), "Cisco encapsulation");
        assert!(reaches_ip(linktype::FRELAY, &with(&[0x18, 0x61, 0x03, 0xcc])), "RFC 2427 NLPID");
        assert!(reaches_ip(linktype::FRELAY, &with(&[0x18, 0x61, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00])), "SNAP");
        assert!(reaches_ip(linktype::PPP_ETHER, &with(&[0x11, 0, 0, 1, 0, 30, 0x00, 0x21])));
        let mut ipoib = [0u8; 44];
        ipoib[40] = 0x08;
        assert!(reaches_ip(linktype::IPOIB, &with(&ipoib)), "pseudo-header, then EtherType and reserved");
        assert!(!reaches_ip(linktype::IPOIB, &with(&[0x08, 0x00, 0, 0])), "the 4-byte header alone is too short");
    }

    #[test]
    fn wrapping_link_types_reach_the_packet_they_wrap() {
        // PKTAP: 12+ byte header naming LINKTYPE_RAW.
        let mut pktap = vec![0u8; 16];
        pktap[0] = 16;
        pktap[8] = linktype::RAW as u8;
        assert!(reaches_ip(linktype::PKTAP, &with(&pktap)));
        // PPI naming raw IP, then PKTAP naming PPI naming PKTAP...: bounded.
        let ppi = [0, 0, 8, 0, linktype::RAW as u8, 0, 0, 0];
        assert!(reaches_ip(linktype::PPI, &with(&ppi)));
        let mut looped = Vec::new();
        for _ in 0..10 {
            looped.extend_from_slice(&[0, 0, 8, 0, linktype::PPI as u8, 0, 0, 0]);
        }
        assert!(matches!(
            entry(linktype::PPI, &looped, &mut Encapsulations::default()),
            Err(DecodeError::UnsupportedLinkType(_))
        ));
    }

    #[test]
    fn ieee80211_data_frames_reach_ip_and_others_do_not() {
        let mut data = vec![0x08, 0x01];
        data.extend_from_slice(&[0; 22]);
        data.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        assert!(reaches_ip(linktype::IEEE802_11, &with(&data)));
        let mut qos = vec![0x88, 0x03];
        qos.extend_from_slice(&[0; 22 + 6 + 2]);
        qos.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        assert!(reaches_ip(linktype::IEEE802_11, &with(&qos)), "QoS data, four addresses");
        let mut radiotap = vec![0, 0, 8, 0, 0, 0, 0, 0];
        radiotap.extend_from_slice(&data);
        assert!(reaches_ip(linktype::IEEE802_11_RADIOTAP, &with(&radiotap)));
        let beacon = with(&[0x80, 0x00, 0, 0]);
        assert!(matches!(entry(linktype::IEEE802_11, &beacon, &mut Encapsulations::default()), Ok(Next::NotIp)));
        let mut protected = data.clone();
        protected[1] |= 0x40;
        assert!(!reaches_ip(linktype::IEEE802_11, &with(&protected)));
    }

    #[test]
    fn short_or_foreign_frames_are_errors_or_not_ip() {
        for (lt, frame) in [
            (linktype::PPP, &[][..]),
            (linktype::PPP, &[0xff, 0x03][..]),
            (linktype::PPP, &[0xc0, 0x21, 1, 2][..]),
            (linktype::C_HDLC, &[0x0f, 0x00][..]),
            (linktype::FRELAY, &[0x18][..]),
            (linktype::FRELAY, &[0x18, 0x60, 0x60, 0x60, 0x60][..]),
            (linktype::FRELAY, &[0x18, 0x61, 0x03][..]),
            (linktype::FRELAY, &[0x18, 0x61, 0x03, 0x80, 0][..]),
            (linktype::IEEE802_11_RADIOTAP, &[0, 0, 0xff, 0xff][..]),
            (linktype::PKTAP, &[0xff; 12][..]),
            (linktype::IPOIB, &[8][..]),
        ] {
            assert!(!reaches_ip(lt, frame), "{lt} {frame:?}");
        }
        assert!(matches!(
            entry(284, &[0; 40], &mut Encapsulations::default()),
            Err(DecodeError::UnsupportedLinkType(284))
        ));
    }
}
