//! The packet path every analyzer shares: from a capture record of any
//! link type, through VLAN tags, MPLS, PPP(oE), 802.11 and every tunnel in
//! [`tunnel`], down to the innermost IP packet and its UDP/TCP/ICMP layer,
//! with IPv4/IPv6 fragments reassembled ([`PacketPath`]). etherparse's lax
//! slicer reads Ethernet, VLAN, IP and transport headers, so a truncated or
//! malformed packet still yields the layers before the damage, plus a flag
//! saying which layer broke and why.
//!
//! Analyzers call [`PacketPath::decode`] once per packet and see the traffic
//! inside the tunnels; the path counts what it decoded through
//! ([`Encapsulation`]) and what it could not read, and words both as
//! warnings ([`PacketPath::warnings`]) so nothing is dropped in silence.

mod defrag;
mod encapsulation;
pub mod icmp_error;
mod layer_chain;
mod link;
mod tunnel;

use std::net::IpAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

pub use defrag::{Added, DefragCounts, Defragmenter, Fragment, FragmentKey};
pub use encapsulation::{Encapsulation, Encapsulations};
pub use layer_chain::{Layer, LayerChain, MAX_LAYERS};

use crate::Packet;

/// Tunnels inside tunnels followed at most; real traffic nests two or three.
const MAX_NESTING: usize = 8;

/// A decoded packet: etherparse's layer slices of the innermost packet, plus
/// what the path went through to get there.
pub struct Decoded<'a> {
    /// The layers of the innermost packet (for a tunnelled packet, the
    /// tunnelled one; for a reassembled datagram, the whole datagram).
    pub layers: LaxSlicedPacket<'a>,
    /// Set when decoding stopped early (truncated or malformed header).
    pub problem: Option<DecodeProblem>,
    /// The encapsulations around the innermost packet.
    pub encapsulations: Encapsulations,
    /// For a datagram reassembled from fragments, its length.
    reassembled_len: Option<usize>,
    /// This fragment's datagram can never be reassembled (inconsistent,
    /// oversized or cut-short fragments): Wireshark then dissects a first
    /// fragment's payload as far as it goes, and analyzers may too.
    pub reassembly_failed: bool,
    /// Where the bytes the innermost layers were sliced from end (an
    /// address): before the frame's end when a length field of the layer
    /// around them (PPPoE, UDP, an outer IP header) bounded them.
    slice_end: usize,
    /// The innermost level's layers, left out of the recorded chain (most
    /// packets never ask for it): see [`Decoded::layer_chain`].
    unrecorded: Option<UnrecordedLevel>,
}

/// Where the innermost level's layers belong in the chain, and the
/// EtherType it started with (which names its first tag).
#[derive(Clone, Copy)]
struct UnrecordedLevel {
    ether_type: Option<u16>,
    at: u8,
}

/// Which layer stopped decoding and why. A flag on the packet, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeProblem {
    /// `link`, `vlan`, `ip`, `ip-extension`, `tunnel`, `udp`, `tcp`, ...
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

/// The next layer to slice, as the link layer or a tunnel names it.
pub(crate) enum Next<'a> {
    /// An Ethernet II frame (with any VLAN tags).
    Ethernet(&'a [u8]),
    /// A payload of the given EtherType.
    EtherType(u16, &'a [u8]),
    /// An IPv4 or IPv6 packet, by its version nibble.
    Ip(&'a [u8]),
    /// Something that is not IP (PPP control, 802.11 management, OAM):
    /// decoding ends at the layers before it.
    NotIp,
}

/// Decodes one captured frame of the given LINKTYPE_*, through every
/// encapsulation, without reassembling fragments (a fragment comes back
/// flagged, see [`Decoded::is_fragment`]). Analyzers use [`PacketPath`].
#[inline]
pub fn decode(link_type: u32, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut encapsulations = Encapsulations::default();
    // Ethernet is most captures' link type: taken without a call.
    let first = if link_type == crate::linktype::ETHERNET {
        Next::Ethernet(data)
    } else {
        link::entry(link_type, data, &mut encapsulations)?
    };
    descend(first, encapsulations, None)
}

/// The frame's outermost level as etherparse slices it, with no tunnel or
/// encapsulation followed: the link layer's payload read as Ethernet, IP or
/// the EtherType it names, whatever the link type (Ethernet, Linux cooked,
/// raw IP, loopback, PPP, ...). For showing a tunnelled packet's outer
/// headers (get_packets): [`Decoded`] keeps only the innermost level's.
pub fn outermost_level(link_type: u32, data: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    let mut encapsulations = Encapsulations::default();
    match link::entry(link_type, data, &mut encapsulations).ok()? {
        Next::Ethernet(frame) => LaxSlicedPacket::from_ethernet(frame).ok(),
        Next::Ip(packet) => LaxSlicedPacket::from_ip(packet).ok(),
        Next::EtherType(ether_type, payload) => Some(LaxSlicedPacket::from_ether_type(EtherType(ether_type), payload)),
        Next::NotIp => None,
    }
}

fn end_of(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize + bytes.len()
}

/// Slices `first`, and the layers inside it while they are tunnels.
///
/// Written so that etherparse's sliced layers (over 300 bytes) are built
/// once and moved once, into the returned value: the copies a chain of
/// tuples and wrappers cost measured 10-25 % of a light analyzer's time.
#[inline]
fn descend<'a>(
    first: Next<'a>,
    mut encapsulations: Encapsulations,
    reassembled_len: Option<usize>,
) -> Result<Decoded<'a>, DecodeError> {
    let mut next = first;
    let mut outer: Option<(LaxSlicedPacket<'a>, usize)> = None;
    for _ in 0..MAX_NESTING {
        let (end, ether_type) = match next {
            Next::Ethernet(bytes) | Next::Ip(bytes) => (end_of(bytes), None),
            Next::EtherType(ether_type, bytes) => (end_of(bytes), Some(ether_type)),
            Next::NotIp => (0, None),
        };
        // Each arm hands etherparse's value straight on (no map_err, no
        // tuple): every wrapper would be one more copy of it.
        let failed = match next {
            Next::Ethernet(frame) => match LaxSlicedPacket::from_ethernet(frame) {
                Ok(layers) => Ok(layers),
                Err(e) => Err(link_problem(e.to_string())),
            },
            Next::EtherType(ether_type, payload) => {
                Ok(LaxSlicedPacket::from_ether_type(EtherType(ether_type), payload))
            }
            Next::Ip(ip) => match LaxSlicedPacket::from_ip(ip) {
                Ok(layers) => Ok(layers),
                Err(e) => Err(DecodeError::Malformed(DecodeProblem { layer: "ip", message: e.to_string() })),
            },
            Next::NotIp => {
                // Nothing IP inside: the layers around it are the packet.
                let (layers, end) =
                    outer.unwrap_or_else(|| (LaxSlicedPacket::from_ether_type(EtherType(0xffff), &[]), 0));
                return Ok(Decoded::new(layers, None, encapsulations, reassembled_len, end, None));
            }
        };
        let layers = match failed {
            Ok(layers) => layers,
            Err(e) => {
                return match (e, outer) {
                    (e, None) => Err(e),
                    // A tunnel whose inside does not decode: the outer packet stands, flagged.
                    (DecodeError::Malformed(problem), Some((layers, end))) => {
                        Ok(Decoded::new(layers, Some(problem), encapsulations, reassembled_len, end, None))
                    }
                    (DecodeError::UnsupportedLinkType(_), Some((layers, end))) => {
                        Ok(Decoded::new(layers, None, encapsulations, reassembled_len, end, None))
                    }
                };
            }
        };
        if !layers.link_exts.is_empty() {
            encapsulations.insert(Encapsulation::Vlan);
        }
        // The chain is recorded before the tunnel's own layers; the
        // innermost level's layers are read from it when asked for.
        let chain_before = encapsulations.chain().len_recorded();
        match tunnel::inner(&layers, &mut encapsulations) {
            None => {
                let level = Some(UnrecordedLevel { ether_type, at: chain_before });
                return Ok(Decoded::new(layers, None, encapsulations, reassembled_len, end, level));
            }
            Some(Err(problem)) => {
                let level = Some(UnrecordedLevel { ether_type, at: chain_before });
                return Ok(Decoded::new(layers, Some(problem), encapsulations, reassembled_len, end, level));
            }
            Some(Ok(inner)) => {
                encapsulations.chain_mut().record_level(&layers, ether_type, chain_before);
                outer = Some((layers, end));
                next = inner;
            }
        }
    }
    let problem = DecodeProblem { layer: "tunnel", message: format!("more than {MAX_NESTING} nested encapsulations") };
    let (layers, end) = outer.expect("the loop ran at least once");
    Ok(Decoded::new(layers, Some(problem), encapsulations, reassembled_len, end, None))
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
    #[inline(always)]
    fn new(
        layers: LaxSlicedPacket<'a>,
        tunnel_problem: Option<DecodeProblem>,
        encapsulations: Encapsulations,
        reassembled_len: Option<usize>,
        slice_end: usize,
        unrecorded: Option<UnrecordedLevel>,
    ) -> Self {
        let problem = tunnel_problem.or_else(|| {
            layers
                .stop_err
                .as_ref()
                .map(|(err, layer)| DecodeProblem { layer: layer_name(*layer), message: err.to_string() })
        });
        Decoded { layers, problem, encapsulations, reassembled_len, reassembly_failed: false, slice_end, unrecorded }
    }

    /// Every layer the packet was decoded through, outermost first, as
    /// Wireshark's `frame.protocols` names them (without its `ethertype`
    /// pseudo-layers and without what lies above the transport layer).
    pub fn layer_chain(&self) -> LayerChain {
        let mut chain = *self.encapsulations.chain();
        if let Some(level) = self.unrecorded {
            chain.record_level(&self.layers, level.ether_type, level.at);
        }
        chain
    }

    /// IP version (4 or 6), when an IP header was found.
    pub fn ip_version(&self) -> Option<u8> {
        match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(_) => Some(4),
            LaxNetSlice::Ipv6(_) => Some(6),
            LaxNetSlice::Arp(_) => None,
        }
    }

    /// Source and destination addresses of the (innermost) IP header.
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

    /// True when the IP payload is a fragment that was not (or not yet)
    /// reassembled, so transport headers may be absent.
    pub fn is_fragment(&self) -> bool {
        self.layers.net.as_ref().and_then(|n| n.ip_payload_ref()).is_some_and(|p| p.fragmented)
    }

    /// True when this frame completed a datagram reassembled from fragments.
    pub fn is_reassembled(&self) -> bool {
        self.reassembled_len.is_some()
    }

    /// True when the IP payload is shorter than the IP header says (snaplen cut).
    pub fn ip_payload_incomplete(&self) -> bool {
        self.layers.net.as_ref().and_then(|n| n.ip_payload_ref()).is_some_and(|p| p.incomplete)
    }

    /// Bytes of the innermost IP packet as the wire carried them, from its
    /// header on: what the frame's original length leaves after the headers
    /// in front (a snaplen cut does not shorten it), or what the layer
    /// around it said (PPPoE's length, a tunnel's UDP or IP length, which
    /// leave out an Ethernet trailer, as Wireshark does), or a reassembled
    /// datagram's whole length.
    pub fn ip_bytes_on_wire(&self, packet: &Packet<'_>) -> usize {
        if let Some(len) = self.reassembled_len {
            return len;
        }
        let Some(ip_start) = self.ip_header_start() else { return 0 };
        let offset = ip_start.saturating_sub(packet.data.as_ptr() as usize);
        let on_wire = (packet.original_len as usize).max(packet.data.len()).saturating_sub(offset);
        if self.slice_end < end_of(packet.data) {
            on_wire.min(self.slice_end.saturating_sub(ip_start))
        } else {
            on_wire
        }
    }

    /// Address of the innermost IP header's first byte, to measure what
    /// comes before or after it in the same buffer.
    pub fn ip_header_start(&self) -> Option<usize> {
        let start = match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(v4) => v4.header().slice().as_ptr(),
            LaxNetSlice::Ipv6(v6) => v6.header().slice().as_ptr(),
            LaxNetSlice::Arp(_) => return None,
        };
        Some(start as usize)
    }

    /// Protocol number and payload of the innermost IP packet, unless it is
    /// a fragment (for protocols etherparse does not slice, such as SCTP).
    pub fn ip_payload(&self) -> Option<(u8, &'a [u8])> {
        let payload = self.layers.net.as_ref()?.ip_payload_ref()?;
        (!payload.fragmented).then_some((payload.ip_number.0, payload.payload))
    }

    /// The innermost IP packet's protocol number (its last extension
    /// header's next header for IPv6), also for a fragment.
    pub fn ip_protocol(&self) -> Option<u8> {
        Some(self.layers.net.as_ref()?.ip_payload_ref()?.ip_number.0)
    }

    /// Source and destination ports of a TCP, UDP or SCTP packet.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.layers.transport.as_ref() {
            Some(TransportSlice::Tcp(t)) => Some((t.source_port(), t.destination_port())),
            Some(TransportSlice::Udp(u)) => Some((u.source_port(), u.destination_port())),
            Some(_) => None,
            // etherparse slices no SCTP: its common header starts with the ports.
            None => match self.ip_payload()? {
                (132, [a, b, c, d, ..]) => Some((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))),
                _ => None,
            },
        }
    }

    /// The transport layer, when one was sliced.
    pub fn transport(&self) -> Option<&TransportSlice<'a>> {
        self.layers.transport.as_ref()
    }

    /// The datagram quoted by an ICMP or ICMPv6 error, when this packet's
    /// innermost layer is one.
    pub fn icmp_error_quote(&self) -> Option<icmp_error::ErrorQuote<'a>> {
        match self.layers.transport.as_ref()? {
            TransportSlice::Icmpv4(icmp) => icmp_error::quote_v4(icmp),
            TransportSlice::Icmpv6(icmp) => icmp_error::quote_v6(icmp),
            _ => None,
        }
    }

    /// UDP source port, destination port and payload.
    pub fn udp(&self) -> Option<(u16, u16, &'a [u8])> {
        match self.layers.transport.as_ref()? {
            TransportSlice::Udp(u) => Some((u.source_port(), u.destination_port(), u.payload())),
            _ => None,
        }
    }

    /// The fragment this packet's innermost IP layer is, for reassembly.
    fn fragment<'s>(&'s self, scratch: &'s mut Vec<u8>) -> Option<Fragment<'s>> {
        match self.layers.net.as_ref()? {
            LaxNetSlice::Ipv4(v4) => {
                let h = v4.header();
                let payload = v4.payload();
                if payload.incomplete {
                    return None;
                }
                Some(Fragment {
                    key: FragmentKey {
                        src: h.source_addr().into(),
                        dst: h.destination_addr().into(),
                        id: u32::from(h.identification()),
                        protocol: h.protocol().0,
                    },
                    header: h.slice(),
                    next_header: 0,
                    offset: h.fragments_offset(),
                    more: h.more_fragments(),
                    payload: payload.payload,
                })
            }
            LaxNetSlice::Ipv6(v6) => {
                let payload = v6.payload();
                if payload.incomplete {
                    return None;
                }
                // The fragmentable part starts right after the fragment
                // header; etherparse may have read headers behind it as
                // extensions, so those bytes are put back in front.
                let mut fragment_header = None;
                scratch.clear();
                for (kind, bytes) in ipv6_extensions(v6.extensions()) {
                    if kind == IPV6_FRAGMENT && fragment_header.is_none() {
                        fragment_header = Some(etherparse::Ipv6FragmentHeaderSlice::from_slice(bytes).ok()?);
                    } else if fragment_header.is_some() {
                        scratch.extend_from_slice(bytes);
                    }
                }
                let f = fragment_header?;
                let bytes = if scratch.is_empty() {
                    payload.payload
                } else {
                    scratch.extend_from_slice(payload.payload);
                    &scratch[..]
                };
                let h = v6.header();
                Some(Fragment {
                    key: FragmentKey {
                        src: h.source_addr().into(),
                        dst: h.destination_addr().into(),
                        id: f.identification(),
                        protocol: 0,
                    },
                    header: h.slice(),
                    next_header: f.next_header().0,
                    offset: f.fragment_offset(),
                    more: f.more_fragments(),
                    payload: bytes,
                })
            }
            LaxNetSlice::Arp(_) => None,
        }
    }
}

/// IPv6's fragment and routing header numbers.
pub const IPV6_FRAGMENT: u8 = 44;
pub const IPV6_ROUTING: u8 = 43;

/// The IPv6 extension headers etherparse's lax parse kept, as (type,
/// bytes): use this, never `Ipv6ExtensionsSlice`'s own iterator (see
/// [`Ipv6Extensions`]).
pub fn ipv6_extensions<'a>(extensions: &etherparse::Ipv6ExtensionsSlice<'a>) -> impl Iterator<Item = (u8, &'a [u8])> {
    Ipv6Extensions::new(extensions.first_header().map(|n| n.0), extensions.slice())
}

/// The IPv6 extension headers etherparse's lax parse kept, as (type,
/// bytes), walked by their own lengths within the slice. Not by
/// etherparse's iterator: it trusts each header's next-header field, and
/// when a later header was cut off (a fragment header naming a hop-by-hop
/// header longer than the packet), reads past the slice (found by
/// fuzzing: an out-of-bounds read in its unchecked constructor).
struct Ipv6Extensions<'a> {
    kind: Option<u8>,
    rest: &'a [u8],
}

impl<'a> Ipv6Extensions<'a> {
    fn new(first: Option<u8>, slice: &'a [u8]) -> Self {
        Ipv6Extensions { kind: first, rest: slice }
    }
}

impl<'a> Iterator for Ipv6Extensions<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let kind = self.kind.take()?;
        let length = match kind {
            // Hop-by-hop, routing, destination options: 8-byte units after the first 8.
            0 | IPV6_ROUTING | 60 => (usize::from(*self.rest.get(1)?) + 1) * 8,
            IPV6_FRAGMENT => 8,
            // Authentication: 4-byte units, plus 2.
            51 => (usize::from(*self.rest.get(1)?) + 2) * 4,
            _ => return None,
        };
        let bytes = self.rest.get(..length)?;
        self.rest = &self.rest[length..];
        self.kind = Some(bytes[0]);
        Some((kind, bytes))
    }
}

fn count(counts: &mut PathCounts, encapsulations: &Encapsulations) {
    if !encapsulations.is_empty() {
        for e in encapsulations.iter() {
            counts.by_encapsulation[e as usize] += 1;
        }
    }
}

/// What the packet path met over a whole capture.
#[derive(Debug, Default, Clone)]
pub struct PathCounts {
    /// Packets decoded through each [`Encapsulation`] (indexed by its discriminant).
    pub by_encapsulation: [u64; Encapsulation::ALL.len()],
    /// Packets of link types the path cannot read, per link type.
    pub unsupported_link_types: Vec<(u32, u64)>,
    /// Packets whose link-layer or IP header was broken.
    pub malformed: u64,
    /// Packets inside a tunnel whose inner packet did not decode (the outer one was used).
    pub tunnel_problems: u64,
    /// Fragments that could not be handed to reassembly (cut short by the snaplen).
    pub unreadable_fragments: u64,
    /// IP reassembly.
    pub defrag: DefragCounts,
}

impl PathCounts {
    /// Packets whose IP fragment reached no analyzer: fragments of
    /// datagrams never completed, and fragments too short to reassemble.
    pub fn fragments_lost(&self) -> u64 {
        self.defrag.fragments_lost + self.unreadable_fragments
    }

    /// Packets whose link type or headers the path could not read.
    pub fn undecodable(&self) -> u64 {
        self.malformed + self.unsupported_link_types.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// Packets decoded through `e`.
    pub fn encapsulated(&self, e: Encapsulation) -> u64 {
        self.by_encapsulation[e as usize]
    }

    /// Packets per encapsulation met (those met only), for a result's
    /// capture facts.
    pub fn encapsulation_counts(&self) -> crate::conventions::OrderedMap<&'static str, u64> {
        let met = Encapsulation::ALL.iter().map(|e| (e.name(), self.encapsulated(*e))).filter(|(_, n)| *n > 0);
        crate::conventions::OrderedMap(met.collect())
    }

    /// A result's `capture` object: the packet path's facts
    /// (`undecodable_packets`, `ip_fragments_skipped`, `encapsulations`) then
    /// `own`, the analyzer's.
    pub fn facts<E>(&self, own: E) -> crate::conventions::CaptureFacts<E> {
        crate::conventions::CaptureFacts {
            undecodable_packets: self.undecodable(),
            ip_fragments_skipped: self.fragments_lost(),
            encapsulations: self.encapsulation_counts(),
            own,
        }
    }
}

/// The stateful packet path one analyzer run uses: [`decode`] plus IP
/// reassembly and the counts its warnings come from.
#[derive(Default)]
pub struct PacketPath {
    defrag: Defragmenter,
    scratch: Vec<u8>,
    counts: PathCounts,
}

impl PacketPath {
    /// A fresh path.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one packet. A fragment that completes a datagram comes back
    /// as the whole datagram ([`Decoded::is_reassembled`]); the others come
    /// back flagged ([`Decoded::is_fragment`]) and carry no transport layer.
    #[inline]
    pub fn decode<'a>(&'a mut self, packet: &Packet<'a>) -> Result<Decoded<'a>, DecodeError> {
        // `result` is what every path returns, so it is built in the
        // caller's slot: a fragment is reassembled in place rather than
        // moved out and back (the move cost 15 % of decoding in the sandbox).
        let mut result = decode(packet.link_type, packet.data);
        let fragment = match &result {
            Err(e) => {
                self.count_error(e);
                false
            }
            Ok(decoded) => {
                if decoded.problem.as_ref().is_some_and(|p| p.layer == "tunnel") {
                    self.counts.tunnel_problems += 1;
                }
                count(&mut self.counts, &decoded.encapsulations);
                decoded.is_fragment()
            }
        };
        if fragment {
            self.reassemble(packet, &mut result);
        }
        result
    }

    #[cold]
    fn count_error(&mut self, e: &DecodeError) {
        match e {
            DecodeError::UnsupportedLinkType(t) => {
                match self.counts.unsupported_link_types.iter_mut().find(|(lt, _)| lt == t) {
                    Some((_, n)) => *n += 1,
                    None => self.counts.unsupported_link_types.push((*t, 1)),
                }
            }
            DecodeError::Malformed(_) => self.counts.malformed += 1,
        }
    }

    /// Hands the fragment in `result` to reassembly: `result` becomes the
    /// whole datagram when the fragment completes one, else stays the
    /// fragment, flagged.
    #[inline(never)]
    fn reassemble<'a>(&'a mut self, packet: &Packet<'a>, result: &mut Result<Decoded<'a>, DecodeError>) {
        let Ok(decoded) = result else { return };
        let time_ns = packet.timestamp.map_or(0, |t| t.saturating_nanos());
        let Some(fragment) = decoded.fragment(&mut self.scratch) else {
            self.counts.unreadable_fragments += 1;
            decoded.reassembly_failed = true;
            return;
        };
        let datagram = match self.defrag.add(fragment, time_ns) {
            Added::Complete(datagram) => datagram,
            waiting_or_failed => {
                decoded.reassembly_failed = matches!(waiting_or_failed, Added::Failed);
                return;
            }
        };
        // The fragment's encapsulations were counted with it; the datagram
        // adds the reassembly and whatever it tunnels.
        let before = decoded.encapsulations;
        let mut encapsulations = before;
        encapsulations.insert(Encapsulation::IpFragments);
        // The fragment's layers lead to the datagram, less its IP header,
        // which the datagram's own takes the place of.
        *encapsulations.chain_mut() = decoded.layer_chain();
        encapsulations.chain_mut().pop_ip();
        *result = descend(Next::Ip(datagram), encapsulations, Some(datagram.len()));
        if let Ok(whole) = result {
            for e in whole.encapsulations.iter().filter(|e| !before.contains(*e)) {
                self.counts.by_encapsulation[e as usize] += 1;
            }
        }
    }

    /// Call at the end of the capture: fragments still waiting are counted incomplete.
    pub fn finish(&mut self) {
        self.defrag.finish();
    }

    /// What the path met so far.
    pub fn counts(&self) -> PathCounts {
        PathCounts { defrag: self.defrag.counts, ..self.counts.clone() }
    }

    /// Warnings for a result: packets the path could not read, by reason,
    /// and fragments it could not reassemble. Empty when everything decoded.
    pub fn warnings(&self) -> Vec<String> {
        let c = &self.counts();
        let mut out = Vec::new();
        for (link_type, n) in &c.unsupported_link_types {
            let (name, _) = crate::linktype::names(*link_type);
            out.push(format!(
                "{n} packets have a link type pcapsule cannot decode ({name}, {link_type}); they were skipped"
            ));
        }
        if c.malformed > 0 {
            out.push(format!("{} packets have a broken link-layer or IP header; they were skipped", c.malformed));
        }
        if c.tunnel_problems > 0 {
            out.push(format!(
                "{} tunnelled packets have a broken inner packet; only their outer headers were read",
                c.tunnel_problems
            ));
        }
        let d = &c.defrag;
        let lost = d.timed_out + d.evicted + d.incomplete_at_end + d.invalid;
        if lost > 0 {
            out.push(format!(
                "{lost} fragmented IP datagrams could not be reassembled ({} incomplete at the end, {} timed out, \
                 {} dropped to stay within bounds, {} inconsistent); their {} fragments were skipped",
                d.incomplete_at_end, d.timed_out, d.evicted, d.invalid, d.fragments_lost
            ));
        }
        if c.unreadable_fragments > 0 {
            out.push(format!(
                "{} IP fragments were cut short by the capture's snapshot length and could not be reassembled",
                c.unreadable_fragments
            ));
        }
        if d.overlapping > 0 {
            out.push(format!(
                "{} IP fragments overlapped data already received (a sign of evasion or a broken stack); \
                 the later bytes were used",
                d.overlapping
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype;
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
        let vlans: Vec<u16> = d.layers.vlan_ids().iter().map(|v| v.value()).collect();
        assert_eq!(vlans, vec![100, 200]);
        assert!(d.encapsulations.contains(Encapsulation::Vlan));
        assert_eq!(
            chain_of(&d),
            "eth:ieee8021ad:vlan:ipv6:udp",
            "etherparse's double_vlan writes an 802.1ad outer tag"
        );
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

        // Named as Wireshark's frame.protocols names them.
        let chain = |lt, data: &[u8]| chain_of(&decode(lt, data).unwrap());
        assert_eq!(chain(linktype::RAW, ip), "raw:ip:udp");
        assert_eq!(chain(linktype::IPV4, ip), "ip:udp", "LINKTYPE_IPV4 has no link layer of its own");
        assert_eq!(chain(linktype::NULL, &null), "null:ip:udp");
        assert_eq!(chain(linktype::LINUX_SLL, &sll), "sll:ip:udp");
        assert_eq!(chain(linktype::LINUX_SLL2, &sll2), "sll:ip:udp");
        // An 802.3 frame whose LLC is not SNAP (spanning tree) ends at LLC.
        let stp = [&[1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 7][..], &[0x42, 0x42, 0x03, 0, 0, 0, 0]].concat();
        assert_eq!(chain(linktype::ETHERNET, &stp), "eth:llc");
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
        assert_eq!(chain_of(&decode(linktype::FDDI, &fddi).unwrap()), "fddi:llc:ip:udp");
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

    /// An IPv4 header with the given protocol around `payload` (checksum left 0: nothing here checks it).
    fn ipv4(protocol: u8, id: u16, flags_offset: u16, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&flags_offset.to_be_bytes());
        h.extend_from_slice(&[64, protocol, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        h.extend_from_slice(payload);
        h
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        e.extend_from_slice(&ether_type.to_be_bytes());
        e.extend_from_slice(payload);
        e
    }

    /// The innermost UDP datagram every tunnel test carries: 10.0.0.1:5353 -> 10.0.0.2:53.
    fn inner_ip() -> Vec<u8> {
        udp_over_ethernet(b"inner")[14..].to_vec()
    }

    fn chain_of(d: &Decoded<'_>) -> String {
        d.layer_chain().as_slice().iter().map(|l| l.name()).collect::<Vec<_>>().join(":")
    }

    fn assert_inner(d: &Decoded<'_>, through: &[Encapsulation]) {
        assert_eq!(d.udp(), Some((5353, 53, &b"inner"[..])), "{:?}", d.problem);
        assert_eq!(d.ip_addrs().unwrap().0.to_string(), "10.0.0.1");
        for e in through {
            assert!(d.encapsulations.contains(*e), "{e:?} missing from {:?}", d.encapsulations);
        }
    }

    #[test]
    fn every_tunnel_reaches_the_inner_packet() {
        let ip = inner_ip();
        let inner_eth = ethernet(0x0800, &ip);
        let gre = |flags: u16, proto: u16, extra: &[u8], payload: &[u8]| {
            let mut g = flags.to_be_bytes().to_vec();
            g.extend_from_slice(&proto.to_be_bytes());
            g.extend_from_slice(extra);
            g.extend_from_slice(payload);
            ethernet(0x0800, &ipv4(47, 1, 0, &g))
        };
        let cases: Vec<(&str, Vec<u8>, Vec<Encapsulation>)> = vec![
            ("ip-in-ip", ethernet(0x0800, &ipv4(4, 1, 0, &ip)), vec![Encapsulation::IpInIp]),
            ("gre ip", gre(0x2000, 0x0800, &[0, 0, 0, 9], &ip), vec![Encapsulation::Gre]),
            ("gre teb", gre(0, 0x6558, &[], &inner_eth), vec![Encapsulation::Gre]),
            ("erspan i", gre(0, 0x88be, &[], &inner_eth), vec![Encapsulation::ErspanI]),
            (
                "erspan ii",
                gre(0x1000, 0x88be, &[0, 0, 0, 1, 0x10, 0, 0, 0, 0, 0, 0, 0], &inner_eth),
                vec![Encapsulation::ErspanII],
            ),
            (
                "erspan iii",
                gre(0x1000, 0x22eb, &[0, 0, 0, 1, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &inner_eth),
                vec![Encapsulation::ErspanIII],
            ),
            ("mpls", ethernet(0x8847, &[&[0, 0x10, 0x01, 64][..], &ip].concat()), vec![Encapsulation::Mpls]),
            (
                "mpls pseudowire",
                ethernet(0x8847, &[&[0, 0x10, 0x01, 64, 0, 0, 0, 0][..], &inner_eth].concat()),
                vec![Encapsulation::Mpls],
            ),
            (
                "pppoe",
                ethernet(
                    0x8864,
                    &[&[0x11, 0, 0, 1][..], &((ip.len() + 2) as u16).to_be_bytes(), &[0, 0x21], &ip].concat(),
                ),
                vec![Encapsulation::Pppoe, Encapsulation::Ppp],
            ),
            (
                "vxlan",
                ethernet(
                    0x0800,
                    &ipv4(17, 1, 0, &udp(40000, 4789, &[&[8, 0, 0, 0, 0, 0, 1, 0][..], &inner_eth].concat())),
                ),
                vec![Encapsulation::Vxlan],
            ),
            (
                "geneve with an option",
                ethernet(
                    0x0800,
                    &ipv4(
                        17,
                        1,
                        0,
                        &udp(40000, 6081, &[&[1, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4][..], &inner_eth].concat()),
                    ),
                ),
                vec![Encapsulation::Geneve],
            ),
            (
                "gtp-u",
                ethernet(
                    0x0800,
                    &ipv4(
                        17,
                        1,
                        0,
                        &udp(
                            2152,
                            2152,
                            &[&[0x30, 0xff][..], &(ip.len() as u16).to_be_bytes(), &[0, 0, 0, 1], &ip].concat(),
                        ),
                    ),
                ),
                vec![Encapsulation::GtpU],
            ),
            (
                "llc snap",
                ethernet((ip.len() + 8) as u16, &[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], &ip].concat()),
                vec![Encapsulation::LlcSnap],
            ),
            (
                "vlan, mpls, gre, erspan ii, vlan",
                {
                    let tagged_inner = [&inner_eth[..12], &[0x81, 0, 0, 7], &inner_eth[12..]].concat();
                    let g = gre(0x1000, 0x88be, &[0, 0, 0, 1, 0x10, 0, 0, 0, 0, 0, 0, 0], &tagged_inner);
                    let outer_ip = &g[14..];
                    let labelled = [&[0, 0x10, 0x01, 64][..], outer_ip].concat();
                    [&g[..12], &[0x81, 0, 0, 5, 0x88, 0x47], &labelled].concat()
                },
                vec![Encapsulation::Vlan, Encapsulation::Mpls, Encapsulation::Gre, Encapsulation::ErspanII],
            ),
        ];
        // Wireshark's frame.protocols for each, without its ethertype pseudo-layers.
        let chains = [
            "eth:ip:ip:udp",
            "eth:ip:gre:ip:udp",
            "eth:ip:gre:eth:ip:udp",
            "eth:ip:gre:erspan:eth:ip:udp",
            "eth:ip:gre:erspan:eth:ip:udp",
            "eth:ip:gre:erspan:eth:ip:udp",
            "eth:mpls:ip:udp",
            "eth:mpls:eth:ip:udp",
            "eth:pppoes:ppp:ip:udp",
            "eth:ip:udp:vxlan:eth:ip:udp",
            "eth:ip:udp:geneve:eth:ip:udp",
            "eth:ip:udp:gtp:ip:udp",
            "eth:llc:ip:udp",
            "eth:vlan:mpls:ip:gre:erspan:eth:vlan:ip:udp",
        ];
        assert_eq!(cases.len(), chains.len());
        for ((name, frame, through), chain) in cases.into_iter().zip(chains) {
            let d = decode(linktype::ETHERNET, &frame).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(d.problem.is_none(), "{name}: {:?}", d.problem);
            assert_inner(&d, &through);
            assert_eq!(chain_of(&d), chain, "{name}");
        }
    }

    #[test]
    fn ipv6_tunnels_and_teredo() {
        let ip = inner_ip();
        let mut v6 = Vec::new();
        PacketBuilder::ipv6([0x20; 16], [0x30; 16], 64).udp(5353, 53).write(&mut v6, b"inner").unwrap();
        let mut six_in_four = ipv4(41, 1, 0, &v6);
        {
            let d = decode(linktype::RAW, &six_in_four).unwrap();
            assert_eq!(d.udp(), Some((5353, 53, &b"inner"[..])));
            assert!(d.encapsulations.contains(Encapsulation::SixInFour));
        }
        // 4in6: IPv6 with next header 4.
        let mut four_in_six = vec![0x60, 0, 0, 0];
        four_in_six.extend_from_slice(&(ip.len() as u16).to_be_bytes());
        four_in_six.extend_from_slice(&[4, 64]);
        four_in_six.extend_from_slice(&[0x20; 32]);
        four_in_six.extend_from_slice(&ip);
        let d = decode(linktype::RAW, &four_in_six).unwrap();
        assert_inner(&d, &[Encapsulation::FourInSix]);
        let teredo = ipv4(17, 1, 0, &udp(3544, 50000, &v6));
        let d = decode(linktype::RAW, &teredo).unwrap();
        assert_eq!(d.udp(), Some((5353, 53, &b"inner"[..])));
        assert!(d.encapsulations.contains(Encapsulation::Teredo));
        // A tunnel whose inside is broken leaves the outer packet, flagged.
        six_in_four.truncate(20 + 10);
        six_in_four[2..4].copy_from_slice(&30u16.to_be_bytes());
        let d = decode(linktype::RAW, &six_in_four).unwrap();
        assert_eq!(d.ip_addrs().unwrap().0.to_string(), "192.0.2.1");
        assert!(d.problem.is_some());
    }

    #[test]
    fn nesting_is_bounded() {
        let mut packet = inner_ip();
        for _ in 0..(MAX_NESTING + 4) {
            packet = ipv4(4, 1, 0, &packet);
        }
        let d = decode(linktype::RAW, &packet).unwrap();
        assert!(matches!(&d.problem, Some(p) if p.layer == "tunnel"), "{:?}", d.problem);
    }

    fn record(data: &[u8], secs: i64) -> Packet<'_> {
        Packet {
            number: 1,
            timestamp: Some(crate::Timestamp { secs, nanos: 0 }),
            original_len: data.len() as u32,
            interface: 0,
            link_type: linktype::RAW,
            data,
        }
    }

    /// The inner UDP datagram split into IPv4 fragments of `size` bytes of payload.
    fn ipv4_fragments(id: u16, size: usize) -> Vec<Vec<u8>> {
        let whole = udp(5353, 53, &[7u8; 100]);
        whole
            .chunks(size)
            .enumerate()
            .map(|(i, chunk)| {
                let offset = (i * size / 8) as u16;
                let more = if (i + 1) * size < whole.len() { 0x2000 } else { 0 };
                ipv4(17, id, more | offset, chunk)
            })
            .collect()
    }

    fn reassemble(path: &mut PacketPath, frames: &[Vec<u8>]) -> Vec<Option<(u16, usize)>> {
        frames
            .iter()
            .map(|f| {
                let d = path.decode(&record(f, 1)).unwrap();
                d.is_reassembled().then(|| {
                    let (sport, _, payload) = d.udp().expect("reassembled UDP");
                    (sport, payload.len())
                })
            })
            .collect()
    }

    #[test]
    fn ipv4_fragments_in_order_reversed_and_overlapping() {
        let frames = ipv4_fragments(1, 32);
        assert_eq!(frames.len(), 4);
        let mut path = PacketPath::new();
        assert_eq!(reassemble(&mut path, &frames), vec![None, None, None, Some((5353, 100))]);
        let mut fresh = PacketPath::new();
        let chains: Vec<String> = frames.iter().map(|f| chain_of(&fresh.decode(&record(f, 1)).unwrap())).collect();
        assert_eq!(
            chains,
            ["raw:ip", "raw:ip", "raw:ip", "raw:ip:udp"],
            "a datagram replaces its last fragment's IP layer"
        );
        let reversed: Vec<_> = ipv4_fragments(2, 32).into_iter().rev().collect();
        assert_eq!(reassemble(&mut path, &reversed), vec![None, None, None, Some((5353, 100))]);
        // The second fragment sent twice, the second time overlapping the third.
        let mut overlapping = ipv4_fragments(3, 32);
        let over = ipv4(17, 3, 0x2000 | 4, &[9u8; 48]);
        overlapping.insert(2, over);
        let out = reassemble(&mut path, &overlapping);
        assert_eq!(out.last().unwrap(), &Some((5353, 100)));
        let counts = path.counts();
        assert_eq!(counts.defrag.reassembled, 3);
        assert_eq!(
            counts.defrag.overlapping, 2,
            "the repeat overlaps the second fragment, the third overlaps the repeat"
        );
        assert_eq!(counts.encapsulated(Encapsulation::IpFragments), 3);
        assert!(path.warnings().iter().any(|w| w.contains("overlapped")), "{:?}", path.warnings());
    }

    #[test]
    fn ipv4_fragments_that_never_complete_are_reported() {
        let mut path = PacketPath::new();
        let frames = ipv4_fragments(9, 32);
        // The first fragment alone, then a fragment of another datagram 2 minutes later.
        path.decode(&record(&frames[0], 1)).unwrap();
        path.decode(&record(&ipv4_fragments(10, 32)[0], 121)).unwrap();
        // Past 64 KiB.
        path.decode(&record(&ipv4(17, 11, 0x1fff, &[0u8; 16]), 121)).unwrap();
        path.finish();
        let d = path.counts().defrag;
        assert_eq!((d.timed_out, d.incomplete_at_end, d.invalid), (1, 1, 1), "{d:?}");
        assert!(path.warnings().iter().any(|w| w.contains("3 fragmented IP datagrams")), "{:?}", path.warnings());
    }

    #[test]
    fn repeated_first_fragments_do_not_fill_the_table() {
        // A first fragment sent again and again (a retransmitting sender)
        // must not count against the byte bound more than once.
        let mut path = PacketPath::new();
        let first = &ipv4_fragments(7, 32)[0];
        for _ in 0..(defrag::MAX_HELD_BYTES / 20 + 10) {
            path.decode(&record(first, 1)).unwrap();
        }
        assert_eq!(path.counts().defrag.evicted, 0);
        assert!(path.defrag.held_bytes() <= 20 + 32, "{}", path.defrag.held_bytes());
    }

    #[test]
    fn pending_datagrams_are_bounded() {
        let mut path = PacketPath::new();
        for id in 0..(defrag::MAX_PENDING_DATAGRAMS as u16 + 5) {
            path.decode(&record(&ipv4_fragments(id, 32)[0], 1)).unwrap();
        }
        assert_eq!(path.counts().defrag.evicted, 5);
    }

    #[test]
    fn ipv6_fragments_reassemble() {
        let payload = udp(5353, 53, &[5u8; 100]);
        let fragment = |offset: usize, more: bool, chunk: &[u8]| {
            let mut p = vec![0x60, 0, 0, 0];
            p.extend_from_slice(&((8 + chunk.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[44, 64]);
            p.extend_from_slice(&[0x20; 32]);
            let off = ((offset / 8) as u16) << 3 | u16::from(more);
            p.extend_from_slice(&[17, 0]);
            p.extend_from_slice(&off.to_be_bytes());
            p.extend_from_slice(&0xdead_beefu32.to_be_bytes());
            p.extend_from_slice(chunk);
            p
        };
        let frames = [fragment(56, false, &payload[56..]), fragment(0, true, &payload[..56])];
        let mut path = PacketPath::new();
        let first = path.decode(&record(&frames[0], 1)).unwrap();
        assert!(first.is_fragment() && first.udp().is_none());
        drop(first);
        let d = path.decode(&record(&frames[1], 1)).unwrap();
        assert!(d.is_reassembled());
        assert_eq!(d.udp().map(|(s, dp, p)| (s, dp, p.len())), Some((5353, 53, 100)));
        assert_eq!(d.ip_bytes_on_wire(&record(&frames[1], 1)), 40 + 108);
    }

    /// fuzz/artifacts (analyzer_tls): a fragment header naming a hop-by-hop
    /// header 1,096 bytes long in a 32-byte rest; etherparse's iterator read
    /// past its slice there.
    #[test]
    fn an_ipv6_extension_chain_cut_short_is_walked_within_its_bytes() {
        let mut fragment_then_long = vec![0, 0, 0x02, 0x02, 0, 0, 0, 0];
        fragment_then_long.extend_from_slice(&[0x01, 0x88, 0xe7, 0, 0, 1, 0, 2]);
        let walked: Vec<(u8, usize)> =
            Ipv6Extensions::new(Some(44), &fragment_then_long).map(|(kind, b)| (kind, b.len())).collect();
        assert_eq!(walked, [(44, 8)]);
        let mut chain = vec![44, 0, 1, 4, 0, 0, 0, 0];
        chain.extend_from_slice(&[17, 0, 0, 1, 0, 0, 0, 7]);
        let walked: Vec<(u8, usize)> = Ipv6Extensions::new(Some(0), &chain).map(|(kind, b)| (kind, b.len())).collect();
        assert_eq!(walked, [(0, 8), (44, 8)]);
        assert_eq!(Ipv6Extensions::new(Some(0), &[]).count(), 0);

        // The whole packet of the crash, through the packet path.
        let mut packet = vec![0x60, 0, 0, 0, 0, 40, 44, 64];
        packet.extend_from_slice(&[0x20; 32]);
        packet.extend_from_slice(&[0, 0, 0x02, 0x02, 0, 0, 0, 0]);
        packet.extend_from_slice(&[0x01, 0x88, 0xe7, 0, 0, 1, 0, 2]);
        packet.extend_from_slice(&[0; 24]);
        let mut path = PacketPath::new();
        let decoded = path.decode(&record(&packet, 1)).unwrap();
        assert!(decoded.udp().is_none());
    }
}
