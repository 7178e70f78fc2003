//! The datagram an ICMP error quotes (RFC 792: the IP header and at least 8
//! bytes of its payload; RFC 4443: as much of the invoking packet as fits in
//! the minimum MTU): who sent it, to whom, over which protocol and ports, so a
//! reader sees which flow failed.

use std::net::IpAddr;

use etherparse::{IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use schemars::JsonSchema;
use serde::Serialize;

/// The quoted ("original") datagram of an ICMP error, as far as it was quoted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Quoted {
    /// 4 or 6.
    pub ip_version: u8,
    /// Who sent the datagram that failed.
    pub src_ip: IpAddr,
    /// Where it was going.
    pub dst_ip: IpAddr,
    /// IP protocol (IPv6: the last next header).
    pub protocol: u8,
    /// `UDP`, `TCP`, `ICMP`, `IPv6-ICMP`, ... (IANA keyword).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_name: Option<&'static str>,
    /// TTL or hop limit left when the datagram was dropped (usually 1 or 0 in
    /// a time exceeded; not the TTL it was sent with).
    pub ttl: u8,
    /// IPv4 identification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_id: Option<u16>,
    /// TCP, UDP, SCTP, DCCP or UDP-Lite source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// TCP, UDP, SCTP, DCCP or UDP-Lite destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// When the quoted datagram is itself ICMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// When the quoted datagram is itself ICMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// Quoted ICMP echo identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_id: Option<u16>,
    /// Quoted ICMP echo sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_seq: Option<u16>,
    /// Bytes of the original datagram the error carries.
    pub quoted_bytes: usize,
    /// Why part of the quote could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Identity of the original datagram for matching it to the probe that
    /// was captured on its way out (see [`probe_key`]).
    #[serde(skip)]
    pub probe_key: u64,
}

/// Protocols whose header starts with a 16-bit source and destination port.
fn has_ports(protocol: IpNumber) -> bool {
    matches!(protocol, IpNumber::TCP | IpNumber::UDP | IpNumber::SCTP | IpNumber::DCCP | IpNumber::UDP_LITE)
}

/// Decodes a quoted datagram; `None` when not even its IP header is there.
pub fn parse(bytes: &[u8]) -> Result<Quoted, String> {
    let packet = LaxSlicedPacket::from_ip(bytes).map_err(|e| format!("quoted IP header unreadable: {e}"))?;
    let Some(net) = packet.net.as_ref() else {
        return Err("quoted datagram has no IP header".into());
    };
    let (ip_version, src_ip, dst_ip, ttl, ip_id): (u8, IpAddr, IpAddr, u8, Option<u16>) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (4, h.source_addr().into(), h.destination_addr().into(), h.ttl(), Some(h.identification()))
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            (6, h.source_addr().into(), h.destination_addr().into(), h.hop_limit(), None)
        }
        LaxNetSlice::Arp(_) => return Err("quoted datagram is not IP".into()),
    };
    let Some(payload) = net.ip_payload_ref() else {
        return Err("quoted datagram has no IP payload".into());
    };
    let protocol = payload.ip_number;
    let mut quoted = Quoted {
        ip_version,
        src_ip,
        dst_ip,
        protocol: protocol.0,
        protocol_name: protocol.keyword_str(),
        ttl,
        ip_id,
        src_port: None,
        dst_port: None,
        icmp_type: None,
        icmp_code: None,
        icmp_id: None,
        icmp_seq: None,
        quoted_bytes: bytes.len(),
        problem: None,
        probe_key: 0,
    };
    let head = &payload.payload[..payload.payload.len().min(8)];
    quoted.probe_key = probe_key(dst_ip, protocol.0, ip_id, head);
    if payload.fragmented && crate::message::fragment_offset(net) != 0 {
        quoted.problem = Some("the quoted datagram is a non-first fragment: no transport header".into());
        return Ok(quoted);
    }
    match packet.transport.as_ref() {
        Some(TransportSlice::Udp(udp)) => {
            quoted.src_port = Some(udp.source_port());
            quoted.dst_port = Some(udp.destination_port());
        }
        Some(TransportSlice::Tcp(tcp)) => {
            quoted.src_port = Some(tcp.source_port());
            quoted.dst_port = Some(tcp.destination_port());
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            quoted.icmp_type = Some(icmp.type_u8());
            quoted.icmp_code = Some(icmp.code_u8());
            if let etherparse::Icmpv4Type::EchoRequest(e) | etherparse::Icmpv4Type::EchoReply(e) = icmp.icmp_type() {
                quoted.icmp_id = Some(e.id);
                quoted.icmp_seq = Some(e.seq);
            }
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            quoted.icmp_type = Some(icmp.type_u8());
            quoted.icmp_code = Some(icmp.code_u8());
            if let etherparse::Icmpv6Type::EchoRequest(e) | etherparse::Icmpv6Type::EchoReply(e) = icmp.icmp_type() {
                quoted.icmp_id = Some(e.id);
                quoted.icmp_seq = Some(e.seq);
            }
        }
        _ => {
            // Hand-read: RFC 792 guarantees only 8 bytes of the payload, too
            // few for etherparse's TCP slicer (20-byte header) and for its
            // timestamp-message check, and etherparse has no SCTP, DCCP or
            // UDP-Lite slicers. The ports are the first 4 bytes of each, the
            // ICMP type and code the first 2.
            let b = payload.payload;
            if has_ports(protocol) && b.len() >= 4 {
                quoted.src_port = Some(u16::from_be_bytes([b[0], b[1]]));
                quoted.dst_port = Some(u16::from_be_bytes([b[2], b[3]]));
            } else if matches!(protocol, IpNumber::ICMP | IpNumber::IPV6_ICMP) && b.len() >= 2 {
                quoted.icmp_type = Some(b[0]);
                quoted.icmp_code = Some(b[1]);
            } else if has_ports(protocol) || matches!(protocol, IpNumber::ICMP | IpNumber::IPV6_ICMP) {
                quoted.problem = Some(format!("only {} bytes of the quoted transport header", b.len()));
            }
        }
    }
    Ok(quoted)
}

/// A 64-bit digest of what identifies one datagram along its path, for
/// matching an ICMP error to the probe captured on its way out: the
/// destination, protocol, IPv4 identification, and per protocol the fields
/// that tell one probe from the next (UDP destination port and length, TCP
/// destination port and sequence number, ICMP type, code and sequence
/// number). Routers change the TTL and the IP checksum on the way, never
/// these, and an ICMP error quotes at least all of them. The source address
/// and port (or ICMP identifier) and the transport checksum are left out on
/// purpose: a source NAT between the capture and the router rewrites them,
/// so a router beyond it quotes the probe with the NAT's address. What is
/// lost is only telling apart two hosts that trace the same destination at
/// the same time with the same IP identification and ports.
pub fn probe_key(dst: IpAddr, protocol: u8, ip_id: Option<u16>, transport_head: &[u8]) -> u64 {
    let mut h = Fnv::new();
    match dst {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.write(&[protocol]);
    h.write(&ip_id.unwrap_or(0).to_be_bytes());
    // Byte ranges (start, end) of the transport header that identify a
    // probe and that NAT leaves alone.
    let kept: &[(usize, usize)] = match IpNumber(protocol) {
        IpNumber::UDP | IpNumber::UDP_LITE => &[(2, 6)],
        IpNumber::TCP => &[(2, 8)],
        IpNumber::ICMP | IpNumber::IPV6_ICMP => &[(0, 2), (6, 8)],
        p if has_ports(p) => &[(2, 4)],
        _ => &[],
    };
    for &(start, end) in kept {
        h.write(transport_head.get(start..end.min(8)).unwrap_or(&[]));
    }
    h.finish()
}

/// FNV-1a: tiny, deterministic, and good enough to tell datagrams and
/// payloads apart (not an adversarial setting: a collision only mismatches a
/// probe or a payload comparison).
pub struct Fnv(u64);

impl Fnv {
    /// A fresh digest.
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn ip_packet(builder: etherparse::PacketBuilderStep<etherparse::UdpHeader>, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn udp_quote_cut_to_eight_bytes() {
        let full = ip_packet(PacketBuilder::ipv4([10, 0, 0, 1], [8, 8, 8, 8], 1).udp(40000, 53), &[0u8; 40]);
        let q = parse(&full[..28]).unwrap();
        assert_eq!((q.src_ip.to_string(), q.dst_ip.to_string()), ("10.0.0.1".into(), "8.8.8.8".into()));
        assert_eq!(
            (q.protocol, q.protocol_name, q.src_port, q.dst_port, q.ttl),
            (17, Some("UDP"), Some(40000), Some(53), 1)
        );
        assert_eq!(q.quoted_bytes, 28);
        assert!(q.problem.is_none());
    }

    #[test]
    fn tcp_quote_of_eight_bytes_still_gives_ports() {
        let mut out = Vec::new();
        PacketBuilder::ipv6([1; 16], [2; 16], 3).tcp(5555, 443, 1, 100).write(&mut out, b"").unwrap();
        let q = parse(&out[..40 + 8]).unwrap();
        assert_eq!((q.ip_version, q.protocol, q.src_port, q.dst_port, q.ip_id), (6, 6, Some(5555), Some(443), None));
    }

    #[test]
    fn quoted_icmp_echo_and_broken_quotes() {
        let mut out = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 1).icmpv4_echo_request(7, 9).write(&mut out, b"abcd").unwrap();
        let q = parse(&out).unwrap();
        assert_eq!((q.icmp_type, q.icmp_code, q.icmp_id, q.icmp_seq), (Some(8), Some(0), Some(7), Some(9)));
        assert!(parse(&out[..10]).is_err());
        assert!(parse(&[]).is_err());
        let q = parse(&out[..22]).unwrap();
        assert_eq!((q.icmp_type, q.icmp_id, q.problem.as_deref()), (Some(8), None, None), "type and code only");
        let q = parse(&out[..21]).unwrap();
        assert_eq!((q.icmp_type, q.problem.is_some()), (None, true), "1 byte of ICMP: flagged");
    }

    #[test]
    fn probe_keys_ignore_ttl_but_not_ports() {
        let a = ip_packet(PacketBuilder::ipv4([10, 0, 0, 1], [8, 8, 8, 8], 1).udp(40000, 33434), &[0u8; 8]);
        let b = ip_packet(PacketBuilder::ipv4([10, 0, 0, 1], [8, 8, 8, 8], 9).udp(40000, 33434), &[0u8; 8]);
        let c = ip_packet(PacketBuilder::ipv4([10, 0, 0, 1], [8, 8, 8, 8], 1).udp(40000, 33435), &[0u8; 8]);
        let (a, b, c) = (parse(&a).unwrap(), parse(&b).unwrap(), parse(&c).unwrap());
        assert_eq!(a.probe_key, b.probe_key);
        assert_ne!(a.probe_key, c.probe_key);
    }

    #[test]
    fn probe_keys_survive_a_source_nat_and_tell_probes_apart() {
        let inside = ip_packet(PacketBuilder::ipv4([192, 168, 1, 10], [8, 8, 8, 8], 1).udp(40000, 33434), &[0u8; 8]);
        let outside = ip_packet(PacketBuilder::ipv4([203, 0, 113, 5], [8, 8, 8, 8], 1).udp(61000, 33434), &[0u8; 8]);
        let (inside, outside) = (parse(&inside).unwrap(), parse(&outside).unwrap());
        assert_eq!(inside.probe_key, outside.probe_key);
        let next = ip_packet(PacketBuilder::ipv4([203, 0, 113, 5], [8, 8, 8, 8], 1).udp(61000, 33435), &[0u8; 8]);
        assert_ne!(inside.probe_key, parse(&next).unwrap().probe_key, "the next probe's port");
        // ICMP: the identifier is what a NAT rewrites; the sequence number is kept.
        let echo = |src: [u8; 4], id: u16, seq: u16| {
            let mut out = Vec::new();
            PacketBuilder::ipv4(src, [8, 8, 8, 8], 1).icmpv4_echo_request(id, seq).write(&mut out, &[0u8; 8]).unwrap();
            parse(&out).unwrap().probe_key
        };
        assert_eq!(echo([192, 168, 1, 10], 77, 3), echo([203, 0, 113, 5], 4242, 3));
        assert_ne!(echo([192, 168, 1, 10], 77, 3), echo([192, 168, 1, 10], 77, 4));
    }
}
