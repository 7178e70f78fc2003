//! Packet decoding shared by every analyzer: from a link-layer frame down to
//! IPv4/IPv6 and UDP/TCP/ICMP/ICMPv6, with `etherparse`'s lax slicer so a
//! truncated or malformed packet still yields the layers before the damage,
//! plus a flag saying which layer broke and why.

use std::net::IpAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

use crate::linktype;

/// A decoded packet: etherparse's layer slices plus what the link layer said.
pub struct Decoded<'a> {
    /// The layers etherparse could slice.
    pub layers: LaxSlicedPacket<'a>,
    /// 802.1Q / QinQ VLAN ids, outermost first.
    pub vlan_ids: Vec<u16>,
    /// Set when decoding stopped early (truncated or malformed header).
    pub problem: Option<DecodeProblem>,
}

/// Which layer stopped decoding and why. A flag on the packet, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeProblem {
    /// `link`, `vlan`, `ip`, `ipv6-ext`, `transport`, ...
    pub layer: &'static str,
    /// Human-readable detail from the decoder.
    pub message: String,
}

/// Why a packet could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The link type has no decoder here (the packet is counted, not dissected).
    UnsupportedLinkType(u32),
    /// The link-layer header itself is broken.
    Malformed(DecodeProblem),
}

/// Decodes one captured frame of the given LINKTYPE_*.
pub fn decode(link_type: u32, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let layers = match link_type {
        linktype::ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|e| link_problem(e.to_string()))?,
        linktype::RAW | linktype::RAW_OPENBSD => from_ip(data)?,
        // These link types promise one IP version: a header of the other is
        // malformed (as Wireshark judges it), not silently accepted.
        linktype::IPV4 => from_ip(expect_version(data, 4)?)?,
        linktype::IPV6 => from_ip(expect_version(data, 6)?)?,
        linktype::FDDI => fddi(data)?,
        linktype::NFLOG => nflog(data)?,
        linktype::NULL | linktype::LOOP => {
            // BSD loopback: a 4-byte address family, in the capturing host's byte
            // order for NULL and network order for LOOP. Either way it only tells
            // IPv4 from IPv6, which the IP version nibble tells as well, so the
            // family is checked for sanity and the payload sliced as IP.
            let payload = data.get(4..).ok_or_else(|| link_problem(short("BSD loopback header", 4, data.len())))?;
            from_ip(payload)?
        }
        linktype::LINUX_SLL => cooked(data, 16, 14)?,
        linktype::LINUX_SLL2 => cooked(data, 20, 0)?,
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    };
    let vlan_ids = layers
        .link_exts
        .iter()
        .filter_map(|ext| match ext {
            etherparse::LaxLinkExtSlice::Vlan(v) => Some(v.vlan_identifier().value()),
            _ => None,
        })
        .collect();
    let problem = layers
        .stop_err
        .as_ref()
        .map(|(err, layer)| DecodeProblem { layer: layer_name(*layer), message: err.to_string() });
    Ok(Decoded { layers, vlan_ids, problem })
}

/// Linux cooked capture (v1: 16-byte header, EtherType at 14; v2: 20 bytes,
/// EtherType at 0). etherparse's lax slicer has no entry point for either and
/// knows nothing of v2, so the fixed header is skipped here and the rest is
/// handed to etherparse by EtherType.
fn cooked(data: &[u8], header_len: usize, ether_type_at: usize) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    if data.len() < header_len {
        return Err(link_problem(short("Linux cooked header", header_len, data.len())));
    }
    let ether_type = u16::from_be_bytes([data[ether_type_at], data[ether_type_at + 1]]);
    Ok(LaxSlicedPacket::from_ether_type(EtherType(ether_type), &data[header_len..]))
}

fn expect_version(data: &[u8], version: u8) -> Result<&[u8], DecodeError> {
    match data.first() {
        Some(b) if b >> 4 == version => Ok(data),
        Some(b) => Err(DecodeError::Malformed(DecodeProblem {
            layer: "ip",
            message: format!("the link type promises IPv{version}, the header says version {}", b >> 4),
        })),
        None => Err(link_problem("empty packet".into())),
    }
}

/// FDDI: a 13-byte MAC header, then 802.2 LLC with SNAP carrying an
/// EtherType. etherparse has no FDDI support, and only the SNAP case (the one
/// IP uses) matters here.
fn fddi(data: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    const MAC: usize = 13;
    const SNAP: usize = 8;
    if data.len() < MAC + SNAP {
        return Err(link_problem(short("FDDI header with LLC/SNAP", MAC + SNAP, data.len())));
    }
    if data[MAC..MAC + 3] != [0xaa, 0xaa, 0x03] {
        return Err(link_problem("FDDI frame without an LLC/SNAP header (not IP)".into()));
    }
    let ether_type = u16::from_be_bytes([data[MAC + 6], data[MAC + 7]]);
    Ok(LaxSlicedPacket::from_ether_type(EtherType(ether_type), &data[MAC + SNAP..]))
}

/// NFLOG: a 4-byte header, then TLVs (16-bit length and type in the
/// capturing host's byte order, little-endian in practice, values padded to
/// 4 bytes); type 9 carries the IP packet. etherparse has no NFLOG support.
fn nflog(data: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    const PAYLOAD: u16 = 9;
    let mut rest = data.get(4..).ok_or_else(|| link_problem(short("NFLOG header", 4, data.len())))?;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let kind = u16::from_le_bytes([rest[2], rest[3]]) & 0x7fff;
        if len < 4 || len > rest.len() {
            return Err(link_problem(format!("NFLOG TLV of length {len} with {} bytes left", rest.len())));
        }
        if kind == PAYLOAD {
            return from_ip(&rest[4..len]);
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    Err(link_problem("NFLOG record without a packet payload".into()))
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    LaxSlicedPacket::from_ip(data)
        .map_err(|e| DecodeError::Malformed(DecodeProblem { layer: "ip", message: e.to_string() }))
}

fn short(what: &str, needed: usize, got: usize) -> String {
    format!("{what} needs {needed} bytes, the packet has {got}")
}

fn link_problem(message: String) -> DecodeError {
    DecodeError::Malformed(DecodeProblem { layer: "link", message })
}

fn layer_name(layer: etherparse::err::Layer) -> &'static str {
    use etherparse::err::Layer as L;
    match layer {
        L::Ethernet2Header | L::LinuxSllHeader | L::EtherPayload => "link",
        L::VlanHeader | L::MacsecHeader | L::MacsecPacket => "vlan",
        L::Ipv4Header | L::Ipv6Header | L::IpHeader | L::Ipv4Packet | L::Ipv6Packet => "ip",
        L::IpAuthHeader
        | L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => "ip-extension",
        L::UdpHeader | L::UdpPayload => "udp",
        L::TcpHeader => "tcp",
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply => "icmp",
        L::Icmpv6 => "icmpv6",
        L::Igmp => "igmp",
        L::Arp => "arp",
    }
}

impl<'a> Decoded<'a> {
    /// IP version (4 or 6), when an IP header was found.
    pub fn ip_version(&self) -> Option<u8> {
        match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(_) => Some(4),
            LaxNetSlice::Ipv6(_) => Some(6),
            LaxNetSlice::Arp(_) => None,
        }
    }

    /// Source and destination addresses of the (outermost) IP header.
    pub fn ip_addrs(&self) -> Option<(IpAddr, IpAddr)> {
        match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(v4) => {
                let h = v4.header();
                Some((h.source_addr().into(), h.destination_addr().into()))
            }
            LaxNetSlice::Ipv6(v6) => {
                let h = v6.header();
                Some((h.source_addr().into(), h.destination_addr().into()))
            }
            LaxNetSlice::Arp(_) => None,
        }
    }

    /// IPv4 TTL or IPv6 hop limit.
    pub fn ttl(&self) -> Option<u8> {
        match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(v4) => Some(v4.header().ttl()),
            LaxNetSlice::Ipv6(v6) => Some(v6.header().hop_limit()),
            LaxNetSlice::Arp(_) => None,
        }
    }

    /// True when the IP payload is a fragment (so transport headers may be absent).
    pub fn is_fragment(&self) -> bool {
        self.layers.net.as_ref().and_then(|n| n.ip_payload_ref()).is_some_and(|p| p.fragmented)
    }

    /// True when the IP payload is shorter than the IP header says (snaplen cut).
    pub fn ip_payload_incomplete(&self) -> bool {
        self.layers.net.as_ref().and_then(|n| n.ip_payload_ref()).is_some_and(|p| p.incomplete)
    }

    /// The transport layer, when one was sliced.
    pub fn transport(&self) -> Option<&TransportSlice<'a>> {
        self.layers.transport.as_ref()
    }

    /// UDP source port, destination port and payload.
    pub fn udp(&self) -> Option<(u16, u16, &'a [u8])> {
        match self.layers.transport.as_ref()? {
            TransportSlice::Udp(u) => Some((u.source_port(), u.destination_port(), u.payload())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_over_ethernet(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(5353, 53);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ethernet_ipv4_udp() {
        let frame = udp_over_ethernet(b"hello");
        let d = decode(linktype::ETHERNET, &frame).unwrap();
        assert_eq!(d.ip_version(), Some(4));
        assert_eq!(d.ip_addrs().unwrap().0.to_string(), "10.0.0.1");
        assert_eq!(d.ttl(), Some(64));
        assert_eq!(d.udp(), Some((5353, 53, &b"hello"[..])));
        assert!(d.problem.is_none());
        assert!(!d.is_fragment());
    }

    #[test]
    fn qinq_vlan_ids_in_order() {
        let builder = PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(etherparse::VlanId::try_new(100).unwrap(), etherparse::VlanId::try_new(200).unwrap())
            .ipv6([1; 16], [2; 16], 9)
            .udp(1, 2);
        let mut frame = Vec::new();
        builder.write(&mut frame, b"x").unwrap();
        let d = decode(linktype::ETHERNET, &frame).unwrap();
        assert_eq!(d.vlan_ids, vec![100, 200]);
        assert_eq!(d.ip_version(), Some(6));
        assert_eq!(d.ttl(), Some(9));
    }

    #[test]
    fn raw_ip_null_and_cooked_link_types() {
        let frame = udp_over_ethernet(b"abc");
        let ip = &frame[14..];
        for lt in [linktype::RAW, linktype::IPV4] {
            assert_eq!(decode(lt, ip).unwrap().udp().unwrap().2, b"abc");
        }
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        assert_eq!(decode(linktype::NULL, &null).unwrap().udp().unwrap().2, b"abc");

        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(ip);
        assert_eq!(decode(linktype::LINUX_SLL, &sll).unwrap().udp().unwrap().0, 5353);

        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        assert_eq!(decode(linktype::LINUX_SLL2, &sll2).unwrap().udp().unwrap().1, 53);
    }

    #[test]
    fn truncated_transport_is_flagged_not_fatal() {
        let frame = udp_over_ethernet(b"payload");
        // Cut inside the UDP header: IP survives, UDP is flagged.
        let cut = &frame[..14 + 20 + 4];
        let d = decode(linktype::ETHERNET, cut).unwrap();
        assert_eq!(d.ip_version(), Some(4));
        assert!(d.udp().is_none());
        let problem = d.problem.expect("truncation flagged");
        assert_eq!(problem.layer, "udp");
    }

    #[test]
    fn short_link_headers_and_unknown_link_types_are_errors() {
        assert!(matches!(decode(linktype::ETHERNET, &[0; 5]), Err(DecodeError::Malformed(p)) if p.layer == "link"));
        assert!(matches!(decode(linktype::LINUX_SLL2, &[0; 10]), Err(DecodeError::Malformed(_))));
        assert_eq!(decode(284, &[0; 40]).err(), Some(DecodeError::UnsupportedLinkType(284)));
        assert!(matches!(decode(linktype::RAW, &[0x45, 0]), Err(DecodeError::Malformed(p)) if p.layer == "ip"));
        let v4 = &udp_over_ethernet(b"x")[14..];
        assert!(matches!(decode(linktype::IPV6, v4), Err(DecodeError::Malformed(p)) if p.message.contains("IPv6")));
    }

    #[test]
    fn fddi_and_nflog_carry_ip() {
        let frame = udp_over_ethernet(b"abc");
        let ip = &frame[14..];
        let mut fddi = vec![0x50; 13];
        fddi.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        fddi.extend_from_slice(ip);
        assert_eq!(decode(linktype::FDDI, &fddi).unwrap().udp().unwrap().2, b"abc");
        // NFLOG: header, a prefix TLV (type 10, padded), then the payload TLV.
        let mut nflog = vec![2, 0, 0, 1];
        nflog.extend_from_slice(&7u16.to_le_bytes());
        nflog.extend_from_slice(&10u16.to_le_bytes());
        nflog.extend_from_slice(&[b'x', b'y', b'z', 0]);
        nflog.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
        nflog.extend_from_slice(&9u16.to_le_bytes());
        nflog.extend_from_slice(ip);
        assert_eq!(decode(linktype::NFLOG, &nflog).unwrap().udp().unwrap().2, b"abc");
        assert!(matches!(decode(linktype::NFLOG, &[2, 0, 0, 1, 0xff, 0xff, 9, 0]), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn ipv4_fragments_are_flagged() {
        let mut frame = udp_over_ethernet(&[0u8; 32]);
        // Set "more fragments" and fix nothing else: the lax slicer reports
        // the payload as fragmented and does not slice UDP from it.
        frame[14 + 6] |= 0x20;
        let d = decode(linktype::ETHERNET, &frame).unwrap();
        assert!(d.is_fragment());
        assert!(d.udp().is_none());
    }
}
