//! Tunnels and shims between one layer etherparse sliced and the next:
//! IP in IP, GRE (with ERSPAN I/II/III and PPTP), MPLS, PPPoE, VN-Tag, NSH,
//! LLC/SNAP, and the UDP tunnels VXLAN, Geneve, GTP-U, Teredo, GRE-in-UDP and
//! MPLS-in-UDP. The analyzers see the innermost packet.
//!
//! Hand-written on purpose: etherparse stops at these headers. Each is a
//! fixed header with a few flags that say how long it is; every reader
//! checks that length once and then indexes within it. UDP tunnels are
//! recognised by their registered destination port *and* a header that
//! checks out, so ordinary traffic on those ports stays what it is.

use etherparse::{IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};

use super::encapsulation::{Encapsulation, Encapsulations};
use super::layer_chain::Layer;
use super::{DecodeError, DecodeProblem, Next, short};

/// EtherTypes of the shims this module unwraps.
pub(super) mod ether_type {
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// PPPoE session stage.
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging (Ethernet inside GRE, Geneve, NSH).
    pub const TEB: u16 = 0x6558;
    /// ERSPAN types I and II inside GRE.
    pub const ERSPAN: u16 = 0x88be;
    /// ERSPAN type III inside GRE.
    pub const ERSPAN_III: u16 = 0x22eb;
    /// PPP inside GRE (PPTP).
    pub const PPP: u16 = 0x880b;
    /// Cisco VN-Tag.
    pub const VNTAG: u16 = 0x8926;
    /// 802.1ah provider backbone bridging (MAC-in-MAC).
    pub const PBB: u16 = 0x88e7;
    /// Network Service Header.
    pub const NSH: u16 = 0x894f;
    /// Cisco MetaData.
    pub const CISCO_METADATA: u16 = 0x8909;
}

/// UDP destination ports of tunnels, as IANA registers them.
mod udp_port {
    pub const VXLAN: u16 = 4789;
    pub const VXLAN_GPE: u16 = 4790;
    pub const GENEVE: u16 = 6081;
    pub const GTP_U: u16 = 2152;
    pub const TEREDO: u16 = 3544;
    pub const GRE_IN_UDP: u16 = 4754;
    pub const MPLS_IN_UDP: u16 = 6635;
    pub const AYIYA: u16 = 5072;

    /// Whether a datagram between these ports may be a tunnel's
    /// ([`super::udp_tunnel`] decides).
    #[inline(always)]
    pub fn may_tunnel(source: u16, destination: u16) -> bool {
        matches!(destination, VXLAN | VXLAN_GPE | GENEVE | GTP_U | GRE_IN_UDP | MPLS_IN_UDP | TEREDO | AYIYA)
            || matches!(source, TEREDO | AYIYA)
    }
}

/// Label stack entries read at most; real stacks hold a handful.
const MAX_MPLS_LABELS: usize = 16;
/// GTP-U extension headers followed at most.
const MAX_GTP_EXTENSIONS: usize = 8;

/// What is inside `layers`, when they end at a tunnel or a shim:
/// `None` when they are the innermost packet, `Some(Err)` when the tunnel's
/// own header is broken (the outer layers then stand, flagged).
///
/// Most packets are TCP, ICMP or UDP on ports no tunnel uses: they are told
/// apart here, inlined into the caller, and only the rest pays for the call
/// that unwraps (measured: the call alone was 3 % of dhcp's time in the sandbox).
#[inline(always)]
pub(super) fn inner<'a>(
    layers: &LaxSlicedPacket<'a>,
    encaps: &mut Encapsulations,
) -> Option<Result<Next<'a>, DecodeProblem>> {
    match layers.transport.as_ref() {
        Some(TransportSlice::Tcp(_) | TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_)) => None,
        Some(TransportSlice::Udp(udp)) if !udp_port::may_tunnel(udp.source_port(), udp.destination_port()) => None,
        _ => unwrap(layers, encaps),
    }
}

#[inline(never)]
fn unwrap<'a>(layers: &LaxSlicedPacket<'a>, encaps: &mut Encapsulations) -> Option<Result<Next<'a>, DecodeProblem>> {
    let Some(net) = layers.net.as_ref() else {
        // No network layer: the link ended at an EtherType etherparse does not read.
        let payload = layers.ether_payload()?;
        return by_ether_type(payload.ether_type.0, payload.payload, encaps).map(|r| r.map_err(problem));
    };
    let (outer_v6, payload) = match net {
        LaxNetSlice::Ipv4(v4) => (false, v4.payload()),
        LaxNetSlice::Ipv6(v6) => (true, v6.payload()),
        LaxNetSlice::Arp(_) => return None,
    };
    if payload.fragmented {
        return None;
    }
    let next = match payload.ip_number {
        IpNumber::UDP => {
            let Some(TransportSlice::Udp(udp)) = layers.transport.as_ref() else { return None };
            return udp_tunnel(udp.source_port(), udp.destination_port(), udp.payload(), encaps);
        }
        IpNumber::TCP => return None,
        IpNumber::IPV4 => {
            encaps.insert(if outer_v6 { Encapsulation::FourInSix } else { Encapsulation::IpInIp });
            Ok(Next::Ip(payload.payload))
        }
        IpNumber::IPV6 => {
            encaps.insert(if outer_v6 { Encapsulation::SixInSix } else { Encapsulation::SixInFour });
            Ok(Next::Ip(payload.payload))
        }
        IpNumber::GRE => gre(payload.payload, encaps),
        // MPLS in IP (RFC 4023).
        IpNumber(137) => mpls(payload.payload, encaps),
        _ => return None,
    };
    Some(next.map_err(problem))
}

fn problem(e: DecodeError) -> DecodeProblem {
    match e {
        DecodeError::Malformed(p) => p,
        DecodeError::UnsupportedLinkType(t) => DecodeProblem { layer: "tunnel", message: format!("link type {t}") },
    }
}

fn tunnel_problem(message: String) -> DecodeError {
    DecodeError::Malformed(DecodeProblem { layer: "tunnel", message })
}

/// Shims named by an EtherType; `None` for EtherTypes that are not one.
fn by_ether_type<'a>(
    ether_type: u16,
    data: &'a [u8],
    encaps: &mut Encapsulations,
) -> Option<Result<Next<'a>, DecodeError>> {
    Some(match ether_type {
        ether_type::MPLS | ether_type::MPLS_MULTICAST => mpls(data, encaps),
        ether_type::PPPOE_SESSION => super::link::pppoe_session(data, encaps),
        ether_type::TEB => Ok(Next::Ethernet(data)),
        ether_type::PPP => {
            encaps.insert(Encapsulation::Ppp);
            encaps.push(Layer::Ppp);
            super::link::ppp(data)
        }
        // 802.1ah provider backbone bridging: an I-TAG (4 bytes), then the customer's frame.
        ether_type::PBB => {
            encaps.insert(Encapsulation::Vlan);
            encaps.push(Layer::Ieee8021ah);
            match data.get(4..) {
                Some(frame) => Ok(Next::Ethernet(frame)),
                None => Err(tunnel_problem(short("802.1ah I-TAG", 4, data.len()))),
            }
        }
        ether_type::VNTAG => {
            // Four bytes of tag, then the EtherType of what follows.
            encaps.insert(Encapsulation::VnTag);
            encaps.push(Layer::VnTag);
            match data.get(..6) {
                Some(h) => Ok(Next::EtherType(u16::from_be_bytes([h[4], h[5]]), &data[6..])),
                None => Err(tunnel_problem(short("VN-Tag", 6, data.len()))),
            }
        }
        ether_type::NSH => nsh(data, encaps),
        ether_type::CISCO_METADATA => {
            // Version, length, option type, the security group tag, then the EtherType.
            encaps.insert(Encapsulation::CiscoMetadata);
            encaps.push(Layer::CiscoMetadata);
            match data.get(..8) {
                Some(h) => Ok(Next::EtherType(u16::from_be_bytes([h[6], h[7]]), &data[8..])),
                None => Err(tunnel_problem(short("Cisco MetaData header", 8, data.len()))),
            }
        }
        // An 802.3 length field instead of an EtherType: LLC, with SNAP when it carries IP.
        len if len < 0x0600 => {
            encaps.push(Layer::Llc);
            let next = super::link::llc_snap(data)?;
            encaps.insert(Encapsulation::LlcSnap);
            Ok(next)
        }
        _ => return None,
    })
}

/// An MPLS label stack (RFC 3032), then what the bottom label carries:
/// IPv4 or IPv6 by the version nibble, or an Ethernet pseudowire (RFC 4448),
/// with a control word (first nibble 0, RFC 4385) or without one. Most
/// vendors' MAC addresses start with nibble 0 too, so that alone cannot tell
/// them apart: see [`pseudowire_has_control_word`].
pub(super) fn mpls<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    encaps.insert(Encapsulation::Mpls);
    encaps.push(Layer::Mpls);
    let mut at = 0;
    loop {
        let entry =
            data.get(at..at + 4).ok_or_else(|| tunnel_problem(short("MPLS label stack", at + 4, data.len())))?;
        at += 4;
        if entry[2] & 0x01 != 0 {
            break;
        }
        if at / 4 >= MAX_MPLS_LABELS {
            return Err(tunnel_problem(format!("MPLS label stack deeper than {MAX_MPLS_LABELS} labels")));
        }
    }
    let rest = &data[at..];
    Ok(match rest.first().map(|b| b >> 4) {
        None => Next::NotIp,
        Some(4 | 6) => Next::Ip(rest),
        Some(0) if pseudowire_has_control_word(rest) => Next::Ethernet(rest.get(4..).unwrap_or(&[])),
        Some(1) => Next::NotIp, // a pseudowire associated channel (OAM), not traffic
        Some(_) => Next::Ethernet(rest),
    })
}

/// Whether an Ethernet pseudowire payload whose first nibble is 0 starts
/// with a control word: when only one reading (frame at 0, or frame after
/// 4 bytes) puts a common EtherType where Ethernet has one, that reading;
/// when both or neither do, the control word (RFC 4385 makes the first
/// nibble 0 for it). Wireshark asks its OUI table instead, which the guest
/// does not carry.
fn pseudowire_has_control_word(payload: &[u8]) -> bool {
    let common_ether_type_at = |at: usize| {
        payload.get(at..at + 2).is_some_and(|t| {
            matches!(
                u16::from_be_bytes([t[0], t[1]]),
                0x0800 | 0x86dd | 0x0806 | 0x8100 | 0x88a8 | 0x9100 | 0x8847 | 0x8848 | 0x8863 | 0x8864
            )
        })
    };
    common_ether_type_at(16) || !common_ether_type_at(12)
}

/// GRE (RFC 2784 and 2890; version 1 is PPTP's enhanced GRE, RFC 2637): the
/// flags say which optional fields follow, the protocol type what is inside.
fn gre<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    let header = data.get(..4).ok_or_else(|| tunnel_problem(short("GRE header", 4, data.len())))?;
    let flags = u16::from_be_bytes([header[0], header[1]]);
    let protocol = u16::from_be_bytes([header[2], header[3]]);
    const CHECKSUM: u16 = 0x8000;
    const ROUTING: u16 = 0x4000;
    const KEY: u16 = 0x2000;
    const SEQUENCE: u16 = 0x1000;
    const ACK: u16 = 0x0080;
    let version = flags & 0x7;
    if version > 1 {
        return Err(tunnel_problem(format!("GRE version {version}")));
    }
    if flags & ROUTING != 0 {
        // Source routing (RFC 1701) is deprecated and absent from real traffic.
        return Err(tunnel_problem("GRE with source routing".into()));
    }
    let mut len = 4;
    for (bit, size) in [(CHECKSUM, 4), (KEY, 4), (SEQUENCE, 4)] {
        if flags & bit != 0 {
            len += size;
        }
    }
    if version == 1 && flags & ACK != 0 {
        len += 4;
    }
    let payload = data.get(len..).ok_or_else(|| tunnel_problem(short("GRE header", len, data.len())))?;
    encaps.insert(Encapsulation::Gre);
    encaps.push(Layer::Gre);
    Ok(match protocol {
        0x0800 | 0x86dd => Next::Ip(payload),
        ether_type::ERSPAN if flags & SEQUENCE == 0 => {
            encaps.insert(Encapsulation::ErspanI);
            encaps.push(Layer::Erspan);
            Next::Ethernet(payload)
        }
        ether_type::ERSPAN => {
            // Type II: an 8-byte header whose version nibble is 1.
            encaps.insert(Encapsulation::ErspanII);
            encaps.push(Layer::Erspan);
            let h = payload.get(..8).ok_or_else(|| tunnel_problem(short("ERSPAN II header", 8, payload.len())))?;
            if h[0] >> 4 != 1 {
                return Err(tunnel_problem(format!("ERSPAN version {} under type II", h[0] >> 4)));
            }
            Next::Ethernet(&payload[8..])
        }
        ether_type::ERSPAN_III => {
            // Type III: 12 bytes, 8 more when the O flag (last bit) is set;
            // the frame type (5 bits of byte 10) says Ethernet (0) or IP (2).
            encaps.insert(Encapsulation::ErspanIII);
            encaps.push(Layer::Erspan);
            let h = payload.get(..12).ok_or_else(|| tunnel_problem(short("ERSPAN III header", 12, payload.len())))?;
            let len = if h[11] & 0x01 != 0 { 20 } else { 12 };
            let frame_type = (h[10] >> 2) & 0x1f;
            let inner =
                payload.get(len..).ok_or_else(|| tunnel_problem(short("ERSPAN III header", len, payload.len())))?;
            match frame_type {
                0 => Next::Ethernet(inner),
                2 => Next::Ip(inner),
                other => return Err(tunnel_problem(format!("ERSPAN III frame type {other}"))),
            }
        }
        ether_type::CISCO_METADATA => {
            // Inside GRE the EtherType comes first, then version, length,
            // option and the security group tag (Wireshark reads it so).
            encaps.insert(Encapsulation::CiscoMetadata);
            encaps.push(Layer::CiscoMetadata);
            let h = payload.get(..8).ok_or_else(|| tunnel_problem(short("Cisco MetaData header", 8, payload.len())))?;
            Next::EtherType(u16::from_be_bytes([h[0], h[1]]), &payload[8..])
        }
        // Protocol type 0 is a keepalive; GRE's types are EtherTypes, never 802.3 lengths.
        0..0x0600 => Next::NotIp,
        other => match by_ether_type(other, payload, encaps) {
            Some(next) => next?,
            None => Next::EtherType(other, payload),
        },
    })
}

/// NSH (RFC 8300): its length (in 4-byte words) and next protocol are in
/// the base header.
fn nsh<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Result<Next<'a>, DecodeError> {
    encaps.insert(Encapsulation::Nsh);
    encaps.push(Layer::Nsh);
    let h = data.get(..8).ok_or_else(|| tunnel_problem(short("NSH header", 8, data.len())))?;
    // RFC 8300: version (2 bits), O, U, TTL (6 bits), then the length in
    // 4-byte words (6 bits): the low six bits of the second byte.
    let len = usize::from(h[1] & 0x3f) * 4;
    let inner = data.get(len.max(8)..).ok_or_else(|| tunnel_problem(short("NSH header", len, data.len())))?;
    Ok(match h[3] {
        1 | 2 => Next::Ip(inner),
        3 => Next::Ethernet(inner),
        5 => mpls(inner, encaps)?,
        _ => Next::NotIp,
    })
}

/// UDP tunnels, by destination port (Teredo: either port) and header.
fn udp_tunnel<'a>(
    sport: u16,
    dport: u16,
    data: &'a [u8],
    encaps: &mut Encapsulations,
) -> Option<Result<Next<'a>, DecodeProblem>> {
    let next = match dport {
        udp_port::VXLAN => {
            // Flags with the I bit; the VNI; reserved bytes.
            let h = data.get(..8)?;
            if h[0] & 0x08 == 0 || data.len() < 8 + 14 {
                return None;
            }
            encaps.insert(Encapsulation::Vxlan);
            encaps.push(Layer::Vxlan);
            Next::Ethernet(&data[8..])
        }
        udp_port::VXLAN_GPE => {
            let h = data.get(..8)?;
            if h[0] & 0x0c != 0x0c {
                return None;
            }
            encaps.insert(Encapsulation::Vxlan);
            encaps.push(Layer::Vxlan);
            match h[3] {
                1 | 2 => Next::Ip(&data[8..]),
                3 => Next::Ethernet(&data[8..]),
                4 => return Some(nsh(&data[8..], encaps).map_err(problem)),
                5 => return Some(mpls(&data[8..], encaps).map_err(problem)),
                _ => return None,
            }
        }
        udp_port::GENEVE => {
            // Version (2 bits, 0), options length in 4-byte words, flags,
            // protocol type, VNI; then the options.
            let h = data.get(..8)?;
            if h[0] >> 6 != 0 {
                return None;
            }
            let len = 8 + usize::from(h[0] & 0x3f) * 4;
            let inner = data.get(len..)?;
            encaps.insert(Encapsulation::Geneve);
            encaps.push(Layer::Geneve);
            match u16::from_be_bytes([h[2], h[3]]) {
                ether_type::TEB => Next::Ethernet(inner),
                other => Next::EtherType(other, inner),
            }
        }
        udp_port::GTP_U => return gtp_u(data, encaps),
        udp_port::GRE_IN_UDP => return Some(gre(data, encaps).map_err(problem)),
        udp_port::MPLS_IN_UDP => return Some(mpls(data, encaps).map_err(problem)),
        _ if sport == udp_port::TEREDO || dport == udp_port::TEREDO => return teredo(data, encaps),
        _ if sport == udp_port::AYIYA || dport == udp_port::AYIYA => return ayiya(data, encaps),
        _ => return None,
    };
    Some(Ok(next))
}

/// GTP-U (3GPP TS 29.281): version 1, protocol type GTP, message type
/// G-PDU; the optional fields and a chain of extension headers come before
/// the user's IP packet. Signalling messages (echo, end marker) carry none.
fn gtp_u<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Option<Result<Next<'a>, DecodeProblem>> {
    let h = data.get(..8)?;
    const G_PDU: u8 = 255;
    if h[0] >> 5 != 1 || h[0] & 0x10 == 0 || h[1] != G_PDU {
        return None;
    }
    encaps.insert(Encapsulation::GtpU);
    encaps.push(Layer::Gtp);
    let broken = |m: &str| Some(Err(DecodeProblem { layer: "tunnel", message: format!("GTP-U: {m}") }));
    let mut at = 8;
    if h[0] & 0x07 != 0 {
        // Sequence number, N-PDU number and the first extension type.
        let Some(opt) = data.get(8..12) else { return broken("optional fields cut short") };
        at = 12;
        let mut next_type = opt[3];
        let mut followed = 0;
        while next_type != 0 {
            followed += 1;
            let Some(&words) = data.get(at) else { return broken("extension header cut short") };
            let len = usize::from(words) * 4;
            if len == 0 || followed > MAX_GTP_EXTENSIONS {
                return broken("bad extension header chain");
            }
            let Some(ext) = data.get(at..at + len) else { return broken("extension header cut short") };
            next_type = ext[len - 1];
            at += len;
        }
    }
    let inner = &data[at..];
    match inner.first().map(|b| b >> 4) {
        Some(4 | 6) => Some(Ok(Next::Ip(inner))),
        _ => Some(Ok(Next::NotIp)),
    }
}

/// AYIYA (draft-massar-v6ops-ayiya): identity length (as a power of two)
/// and type, signature length (in 4-byte words) and hash method,
/// authentication method and opcode, next header, a 4-byte epoch time, the
/// identity, the signature; then the packet when the opcode is "forward"
/// and the next header is IPv4 or IPv6.
fn ayiya<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Option<Result<Next<'a>, DecodeProblem>> {
    let h = data.get(..8)?;
    const FORWARD: u8 = 1;
    let len = 8 + (1usize << (h[0] >> 4)) + usize::from(h[1] >> 4) * 4;
    let inner = data.get(len..)?;
    // Keepalives and echoes (no next header) are AYIYA too, with nothing inside.
    encaps.push(Layer::Ayiya);
    if h[2] & 0x0f != FORWARD || !matches!(h[3], 4 | 41) || !matches!(inner.first().map(|b| b >> 4), Some(4 | 6)) {
        return None;
    }
    encaps.insert(Encapsulation::Ayiya);
    Some(Ok(Next::Ip(inner)))
}

/// Teredo (RFC 4380): optional authentication and origin indications, then
/// an IPv6 packet whose length fits in the datagram; anything else on port
/// 3544 is left as UDP.
fn teredo<'a>(data: &'a [u8], encaps: &mut Encapsulations) -> Option<Result<Next<'a>, DecodeProblem>> {
    let mut at = 0;
    if data.get(..2)? == [0, 1] {
        // Authentication: type, id length, auth length, id, auth, nonce (8), confirmation (1).
        let h = data.get(..4)?;
        at = 4 + usize::from(h[2]) + usize::from(h[3]) + 9;
    }
    if data.get(at..at + 2)? == [0, 0] {
        at += 8; // origin indication
    }
    let ipv6 = data.get(at..)?;
    let h = ipv6.get(..40)?;
    // A bubble may carry bytes after its empty IPv6 packet (Wireshark reads it so).
    if h[0] >> 4 != 6 || 40 + usize::from(u16::from_be_bytes([h[4], h[5]])) > ipv6.len() {
        return None;
    }
    encaps.insert(Encapsulation::Teredo);
    encaps.push(Layer::Teredo);
    Some(Ok(Next::Ip(ipv6)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encaps() -> Encapsulations {
        Encapsulations::default()
    }

    #[test]
    fn mpls_stacks_end_at_the_bottom_label() {
        let mut e = encaps();
        let two_labels = [0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64, 0x45, 0, 0, 20];
        assert!(matches!(mpls(&two_labels, &mut e), Ok(Next::Ip(ip)) if ip[0] == 0x45));
        assert!(e.contains(Encapsulation::Mpls));
        let with_cw = [0, 0x10, 0x01, 64, 0, 0, 0, 0, 0xaa, 0xbb];
        assert!(matches!(mpls(&with_cw, &mut e), Ok(Next::Ethernet(eth)) if eth == [0xaa, 0xbb]));
        // An Ethernet pseudowire without a control word, to a vendor MAC
        // (first nibble 0): the EtherType sits where a plain frame has it.
        let label = [0, 0x10, 0x01, 64];
        let frame = [&[0x00, 0x1b, 0x21, 0, 0, 2, 0x00, 0x50, 0x56, 0, 0, 1, 0x08, 0x00][..], &[0x45; 8]].concat();
        let plain = [&label[..], &frame].concat();
        assert!(matches!(mpls(&plain, &mut e), Ok(Next::Ethernet(eth)) if eth == frame));
        let after_cw = [&label[..], &[0, 0, 0, 0], &frame].concat();
        assert!(matches!(mpls(&after_cw, &mut e), Ok(Next::Ethernet(eth)) if eth == frame));
        let endless = [0u8; 4 * 40];
        assert!(mpls(&endless, &mut e).is_err());
        assert!(mpls(&[0, 0], &mut e).is_err());
    }

    #[test]
    fn gre_options_and_erspan_types() {
        let mut e = encaps();
        // Key and sequence present, IPv4 inside.
        let gre_ip = [0x30, 0, 0x08, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0x45];
        assert!(matches!(gre(&gre_ip, &mut e), Ok(Next::Ip([0x45]))));
        // ERSPAN II: sequence number, then the 8-byte header.
        let erspan2 = [0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xee];
        assert!(matches!(gre(&erspan2, &mut e), Ok(Next::Ethernet([0xee]))));
        assert!(e.contains(Encapsulation::ErspanII));
        // ERSPAN I: no sequence number, Ethernet straight after.
        assert!(matches!(gre(&[0, 0, 0x88, 0xbe, 0xee], &mut e), Ok(Next::Ethernet([0xee]))));
        // ERSPAN III with the optional subheader and frame type IP.
        let mut erspan3 = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 1];
        erspan3.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 << 2, 0x01]);
        erspan3.extend_from_slice(&[0; 8]);
        erspan3.push(0x45);
        assert!(matches!(gre(&erspan3, &mut e), Ok(Next::Ip([0x45]))));
        assert!(gre(&[0x00, 0x03, 0x08, 0x00], &mut e).is_err(), "version 3");
        assert!(gre(&[0x80, 0, 0x08, 0x00, 0], &mut e).is_err(), "checksum field cut short");
    }

    #[test]
    fn udp_tunnels_need_their_port_and_a_sane_header() {
        let mut e = encaps();
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vxlan.extend_from_slice(&[0u8; 14]);
        assert!(matches!(udp_tunnel(1000, 4789, &vxlan, &mut e), Some(Ok(Next::Ethernet(_)))));
        assert!(udp_tunnel(4789, 1000, &vxlan, &mut e).is_none(), "source port alone is not a tunnel");
        vxlan[0] = 0;
        assert!(udp_tunnel(1000, 4789, &vxlan, &mut e).is_none(), "no I flag: not VXLAN");
        let geneve = [0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 9, 9, 9, 9, 0xee];
        assert!(matches!(udp_tunnel(1, 6081, &geneve, &mut e), Some(Ok(Next::Ethernet([0xee])))));
        // GTP-U G-PDU with a sequence number and one extension header.
        let gtp = [0x32, 0xff, 0, 12, 0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0xaa, 0xbb, 0, 0x45];
        assert!(matches!(udp_tunnel(2152, 2152, &gtp, &mut e), Some(Ok(Next::Ip([0x45])))));
        let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        assert!(udp_tunnel(2152, 2152, &echo, &mut e).is_none(), "echo request is signalling");
        let looping = [0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 1, 0, 0x85, 0, 0, 0, 0];
        assert!(matches!(udp_tunnel(2152, 2152, &looping, &mut e), Some(Err(_))), "zero-length extension");
        // Teredo: an IPv6 packet that fits the datagram (a bubble may have bytes after it).
        let mut teredo6 = vec![0x60, 0, 0, 0, 0, 1, 59, 64];
        teredo6.extend_from_slice(&[0; 32]);
        teredo6.push(0);
        assert!(matches!(udp_tunnel(3544, 50000, &teredo6, &mut e), Some(Ok(Next::Ip(_)))));
        teredo6.push(0);
        assert!(matches!(udp_tunnel(3544, 50000, &teredo6, &mut e), Some(Ok(Next::Ip(_)))), "bytes after it");
        teredo6.truncate(40);
        assert!(udp_tunnel(3544, 50000, &teredo6, &mut e).is_none(), "longer than the datagram: plain UDP");
    }
}
