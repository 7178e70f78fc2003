//! One ICMP or ICMPv6 message, decoded from a packet with etherparse's slices
//! (type, code, echo fields, MTU, pointer, gateway, neighbor discovery) plus
//! the few structures etherparse does not model (MLD, RFC 8335 extended echo,
//! RFC 4884 extension objects), read by hand with bounds checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::checksum::Sum16BitWords;
use etherparse::icmpv4::{DestUnreachableHeader, ParameterProblemHeader};
use etherparse::icmpv6::{Icmpv6PayloadSlice, NdpOptionSlice, NdpOptionsIterator};
use etherparse::{Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type, IpNumber, LaxNetSlice, LenSource, TransportSlice};
use pcapsule_guest::conventions::hex_colon;
use pcapsule_guest::decode::icmp_error::{self, ErrorQuote};
use pcapsule_guest::decode::{Decoded, IPV6_FRAGMENT, IPV6_ROUTING, ipv6_extensions};
use schemars::JsonSchema;
use serde::Serialize;

use crate::names::{self, Family};
use crate::quoted::{self, Fnv, Quoted};
use crate::result::{Details, Timestamps};

/// Decoded objects listed per message at most; more are counted, not listed.
const MAX_LISTED: usize = 16;

/// What kind of damage a message shows. Flags, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// Shorter than its fixed header or type-specific part.
    Truncated,
    /// Captured short of the length the IP header gives (snaplen).
    Snaplen,
    /// A length that does not fit the type (e.g. a timestamp message not 20 bytes).
    BadLength,
    /// The checksum does not match the captured message.
    BadChecksum,
    /// The quoted original datagram could not be read.
    QuotedDatagram,
    /// A neighbor discovery option or an extension object is malformed.
    Options,
}

impl ProblemKind {
    /// The name used in results.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Truncated => "truncated",
            ProblemKind::Snaplen => "snaplen",
            ProblemKind::BadLength => "bad_length",
            ProblemKind::BadChecksum => "bad_checksum",
            ProblemKind::QuotedDatagram => "quoted_datagram",
            ProblemKind::Options => "options",
        }
    }
}

/// One problem found in a message.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Its kind, counted in the statistics.
    pub kind: ProblemKind,
    /// What exactly.
    pub detail: String,
}

/// An ICMP or ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Message {
    /// ICMP or ICMPv6.
    pub family: Family,
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// The checksum field, when captured.
    pub checksum: Option<u16>,
    /// Whether the checksum matches; `None` when the message was not captured
    /// whole (snaplen, fragment) so it cannot be checked.
    pub checksum_valid: Option<bool>,
    /// Identifier (echo, timestamp, information, address mask, extended echo).
    pub id: Option<u16>,
    /// Sequence number, with [`Message::id`].
    pub seq: Option<u16>,
    /// Captured bytes after the 8-byte header (echo data, quoted datagram, ND body).
    pub payload_len: usize,
    /// Digest of an echo payload captured whole, to compare requests and replies.
    pub payload_digest: Option<u64>,
    /// Next-hop MTU of a fragmentation-needed or packet-too-big message.
    pub mtu: Option<u32>,
    /// Parameter problem pointer.
    pub pointer: Option<u32>,
    /// ICMPv4 redirect: the better gateway.
    pub gateway: Option<IpAddr>,
    /// The datagram an error (or an ICMPv6 redirect) quotes.
    pub original: Option<Quoted>,
    /// Neighbor discovery body (ICMPv6 133-137).
    pub nd: Option<NeighborDiscovery>,
    /// Multicast listener discovery body (ICMPv6 130-132, 143).
    pub mld: Option<Mld>,
    /// RFC 8335 extended echo (ICMP 42/43, ICMPv6 160/161).
    pub extended_echo: Option<ExtendedEcho>,
    /// RFC 4884 extension objects after the quoted datagram (RFC 4950 MPLS, RFC 5837 interfaces).
    pub extensions: Vec<ExtensionObject>,
    /// ICMPv4 timestamp request/reply times, milliseconds since midnight UT.
    pub timestamps: Option<[u32; 3]>,
    /// ICMPv4 address mask reply/request.
    pub address_mask: Option<Ipv4Addr>,
    /// Carried in the first fragment of a fragmented IP datagram.
    pub fragmented: bool,
    /// Damage found.
    pub problems: Vec<Problem>,
}

/// What a packet carries, as far as ICMP goes.
pub enum Found {
    /// A message with at least its type byte.
    Message(Box<Message>),
    /// A later fragment of a datagram whose first fragment holds the ICMP header.
    LaterFragment,
    /// IP says ICMP, but not one byte of it was captured.
    Empty,
}

/// The ICMP or ICMPv6 message of a decoded packet, if it has one.
pub fn find(decoded: &Decoded<'_>) -> Option<Found> {
    let net = decoded.layers.net.as_ref()?;
    let payload = net.ip_payload_ref()?;
    // The family follows the protocol number, not the IP version, as in
    // Wireshark: ICMPv6 inside IPv4 is odd but still ICMPv6.
    let family = match payload.ip_number {
        IpNumber::ICMP => Family::V4,
        IpNumber::IPV6_ICMP => Family::V6,
        _ => return None,
    };
    if payload.fragmented && fragment_offset(net) != 0 {
        return Some(Found::LaterFragment);
    }
    let complete = !payload.fragmented && !payload.incomplete;
    let pseudo_header = match net {
        // A routing header changes the destination the checksum covers;
        // rather than guess, such messages go unchecked.
        LaxNetSlice::Ipv6(v6) if !has_routing_header(v6.extensions()) => {
            Some((v6.header().source(), v6.header().destination()))
        }
        _ => None,
    };
    let mut message = match (family, decoded.transport()) {
        (Family::V4, Some(TransportSlice::Icmpv4(slice))) => from_v4(slice, complete),
        (Family::V6, Some(TransportSlice::Icmpv6(slice))) => from_v6(slice, complete, pseudo_header),
        // etherparse's lax slicer does not slice transports of fragments:
        // the first fragment's ICMP header is sliced here the same way.
        _ => {
            let bytes = payload.payload;
            let sliced = match family {
                Family::V4 => Icmpv4Slice::from_slice(bytes).ok().map(|s| from_v4(&s, complete)),
                Family::V6 => Icmpv6Slice::from_slice(bytes).ok().map(|s| from_v6(&s, complete, pseudo_header)),
            };
            match sliced {
                Some(m) => m,
                None if bytes.is_empty() => return Some(Found::Empty),
                None => from_unsliceable(family, bytes, payload.incomplete),
            }
        }
    };
    message.fragmented = payload.fragmented;
    if payload.len_source == LenSource::Slice && !payload.incomplete {
        message.problems.push(Problem {
            kind: ProblemKind::BadLength,
            detail: "the IP length field is zero or too small: ICMP read to the end of the frame".into(),
        });
    }
    if payload.incomplete {
        message.problems.push(Problem {
            kind: ProblemKind::Snaplen,
            detail: format!("captured {} bytes of ICMP, the IP header says more", payload.payload.len()),
        });
    }
    Some(Found::Message(Box::new(message)))
}

fn has_routing_header(exts: &etherparse::Ipv6ExtensionsSlice<'_>) -> bool {
    ipv6_extensions(exts).any(|(kind, _)| kind == IPV6_ROUTING)
}

/// Fragment offset of an IP packet (0 when not fragmented).
pub fn fragment_offset(net: &LaxNetSlice<'_>) -> u16 {
    match net {
        LaxNetSlice::Ipv4(v4) => v4.header().fragments_offset().value(),
        LaxNetSlice::Ipv6(v6) => ipv6_extensions(v6.extensions())
            .find(|(kind, _)| *kind == IPV6_FRAGMENT)
            .and_then(|(_, bytes)| etherparse::Ipv6FragmentHeaderSlice::from_slice(bytes).ok())
            .map_or(0, |f| f.fragment_offset().value()),
        LaxNetSlice::Arp(_) => 0,
    }
}

impl Message {
    fn new(family: Family, icmp_type: u8, code: u8) -> Self {
        Message {
            family,
            icmp_type,
            code,
            checksum: None,
            checksum_valid: None,
            id: None,
            seq: None,
            payload_len: 0,
            payload_digest: None,
            mtu: None,
            pointer: None,
            gateway: None,
            original: None,
            nd: None,
            mld: None,
            extended_echo: None,
            extensions: Vec::new(),
            timestamps: None,
            address_mask: None,
            fragmented: false,
            problems: Vec::new(),
        }
    }

    fn check(&mut self, valid: bool) {
        self.checksum_valid = Some(valid);
        if !valid {
            let field = self.checksum.unwrap_or(0);
            self.problem(ProblemKind::BadChecksum, format!("checksum 0x{field:04x} does not match the message"));
        }
    }

    fn problem(&mut self, kind: ProblemKind, detail: impl Into<String>) {
        self.problems.push(Problem { kind, detail: detail.into() });
    }

    /// Echo request (ICMP 8, ICMPv6 128) or extended echo request (42, 160).
    pub fn echo_request_kind(&self) -> Option<EchoKind> {
        match (self.family, self.icmp_type) {
            (Family::V4, 8) | (Family::V6, 128) => Some(EchoKind::Echo),
            (Family::V4, 42) | (Family::V6, 160) => Some(EchoKind::Extended),
            _ => None,
        }
    }

    /// Echo reply (ICMP 0, ICMPv6 129) or extended echo reply (43, 161).
    pub fn echo_reply_kind(&self) -> Option<EchoKind> {
        match (self.family, self.icmp_type) {
            (Family::V4, 0) | (Family::V6, 129) => Some(EchoKind::Echo),
            (Family::V4, 43) | (Family::V6, 161) => Some(EchoKind::Extended),
            _ => None,
        }
    }

    /// Destination unreachable (ICMP 3, ICMPv6 1).
    pub fn is_unreachable(&self) -> bool {
        matches!((self.family, self.icmp_type), (Family::V4, 3) | (Family::V6, 1))
    }

    /// Time exceeded in transit (TTL or hop limit ran out), the traceroute reply.
    pub fn is_ttl_exceeded(&self) -> bool {
        matches!((self.family, self.icmp_type, self.code), (Family::V4, 11, 0) | (Family::V6, 3, 0))
    }

    /// Redirect (ICMP 5, ICMPv6 137).
    pub fn is_redirect(&self) -> bool {
        matches!((self.family, self.icmp_type), (Family::V4, 5) | (Family::V6, 137))
    }

    /// The type's name.
    pub fn type_name(&self) -> String {
        names::type_name(self.family, self.icmp_type)
    }

    /// The code's name.
    pub fn code_name(&self) -> String {
        names::code_name(self.family, self.icmp_type, self.code)
    }

    /// Type-specific fields for the packet entry.
    pub fn details(&self) -> Details {
        Details {
            mtu: self.mtu,
            pointer: self.pointer,
            gateway: self.gateway,
            original: self.original.clone(),
            neighbor_discovery: self.nd.clone(),
            mld: self.mld.clone(),
            extended_echo: self.extended_echo.clone(),
            extensions: self.extensions.clone(),
            timestamps: self.timestamps.map(|[originate_ms, receive_ms, transmit_ms]| Timestamps {
                originate_ms,
                receive_ms,
                transmit_ms,
            }),
            address_mask: self.address_mask,
        }
    }
}

/// Plain echo or RFC 8335 extended echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EchoKind {
    /// Echo request/reply (ping).
    Echo,
    /// Extended echo (PROBE, RFC 8335).
    Extended,
}

impl EchoKind {
    /// The name used in results.
    pub fn as_str(self) -> &'static str {
        match self {
            EchoKind::Echo => "echo",
            EchoKind::Extended => "extended_echo",
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

fn ipv6_at(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    let bytes: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(bytes))
}

fn digest(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.write(bytes);
    h.finish()
}

fn from_v4(s: &Icmpv4Slice<'_>, complete: bool) -> Message {
    let mut m = Message::new(Family::V4, s.type_u8(), s.code_u8());
    m.checksum = Some(s.checksum());
    if complete {
        m.check(Sum16BitWords::new().add_slice(s.slice()).ones_complement() == 0);
    }
    let payload = s.payload();
    m.payload_len = payload.len();
    match s.icmp_type() {
        Icmpv4Type::EchoRequest(e) | Icmpv4Type::EchoReply(e) => {
            m.id = Some(e.id);
            m.seq = Some(e.seq);
            if complete {
                m.payload_digest = Some(digest(payload));
            }
        }
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded { next_hop_mtu }) => {
            m.mtu = Some(next_hop_mtu.into());
        }
        Icmpv4Type::Redirect(r) => m.gateway = Some(Ipv4Addr::from(r.gateway_internet_address).into()),
        Icmpv4Type::ParameterProblem(ParameterProblemHeader::PointerIndicatesError(p)) => m.pointer = Some(p.into()),
        Icmpv4Type::TimestampRequest(t) | Icmpv4Type::TimestampReply(t) => {
            m.id = Some(t.id);
            m.seq = Some(t.seq);
            m.timestamps = Some([t.originate_timestamp, t.receive_timestamp, t.transmit_timestamp]);
        }
        Icmpv4Type::Unknown { type_u8, bytes5to8: b, .. } => {
            // etherparse hands over bytes 4..8 raw for what it does not
            // model: echo with a non-zero code, information and address
            // mask messages, extended echo.
            if names::v4_has_id_seq(type_u8) {
                m.id = Some(u16::from_be_bytes([b[0], b[1]]));
                m.seq = Some(u16::from_be_bytes([b[2], b[3]]));
                if matches!(type_u8, 0 | 8) && complete {
                    m.payload_digest = Some(digest(payload));
                }
            }
            if matches!(type_u8, 17 | 18) {
                // The mask is the 4 bytes after the header (RFC 950).
                match payload.get(..4) {
                    Some(mask) => m.address_mask = Some(Ipv4Addr::new(mask[0], mask[1], mask[2], mask[3])),
                    None => m.problem(ProblemKind::Truncated, "address mask message without its mask"),
                }
            }
            if matches!(type_u8, 42 | 43) {
                extended_echo(&mut m, type_u8 == 42, b, payload);
            }
        }
        _ => {}
    }
    if let Some(error_quote) = icmp_error::quote_v4(s) {
        quote(&mut m, error_quote);
    }
    m
}

fn from_v6(s: &Icmpv6Slice<'_>, complete: bool, pseudo_header: Option<([u8; 16], [u8; 16])>) -> Message {
    let mut m = Message::new(Family::V6, s.type_u8(), s.code_u8());
    m.checksum = Some(s.checksum());
    if let (true, Some((src, dst))) = (complete, pseudo_header) {
        m.check(s.is_checksum_valid(src, dst));
    }
    let payload = s.payload();
    m.payload_len = payload.len();
    let icmp_type = s.icmp_type();
    match icmp_type {
        Icmpv6Type::EchoRequest(e) | Icmpv6Type::EchoReply(e) => {
            m.id = Some(e.id);
            m.seq = Some(e.seq);
            if complete {
                m.payload_digest = Some(digest(payload));
            }
        }
        Icmpv6Type::PacketTooBig { mtu } => m.mtu = Some(mtu),
        Icmpv6Type::ParameterProblem(p) => m.pointer = Some(p.pointer),
        Icmpv6Type::RouterSolicitation
        | Icmpv6Type::RouterAdvertisement(_)
        | Icmpv6Type::NeighborSolicitation
        | Icmpv6Type::NeighborAdvertisement(_)
        | Icmpv6Type::Redirect => neighbor_discovery(&mut m, s, &icmp_type),
        Icmpv6Type::Unknown { type_u8, bytes5to8: b, .. } => match type_u8 {
            128 | 129 => {
                // Echo with a non-zero code: etherparse leaves it unmodeled.
                m.id = Some(u16::from_be_bytes([b[0], b[1]]));
                m.seq = Some(u16::from_be_bytes([b[2], b[3]]));
                if complete {
                    m.payload_digest = Some(digest(payload));
                }
            }
            130..=132 | 143 => mld(&mut m, s.slice()),
            160 | 161 => extended_echo(&mut m, type_u8 == 160, b, payload),
            _ => {}
        },
        _ => {}
    }
    if let Some(error_quote) = icmp_error::quote_v6(s) {
        quote(&mut m, error_quote);
    }
    m
}

/// A message etherparse would not slice: shorter than 8 bytes, or a timestamp
/// message of the wrong length. Its type and code (and, from 4 bytes on, the
/// checksum) are read by hand so it is still counted by type and flagged.
fn from_unsliceable(family: Family, bytes: &[u8], snaplen_cut: bool) -> Message {
    let mut m = Message::new(family, bytes[0], bytes.get(1).copied().unwrap_or(0));
    m.checksum = be16(bytes, 2);
    if bytes.len() < 8 {
        let why = if snaplen_cut { "the capture cut it" } else { "the IP length ends it" };
        m.problem(ProblemKind::Truncated, format!("ICMP header needs 8 bytes, {} captured ({why})", bytes.len()));
    } else {
        m.problem(ProblemKind::BadLength, format!("{} message is {} bytes, expected 20", m.type_name(), bytes.len()));
        if names::v4_has_id_seq(m.icmp_type) {
            m.id = be16(bytes, 4);
            m.seq = be16(bytes, 6);
        }
        m.payload_len = bytes.len() - 8;
    }
    m
}

fn quote(m: &mut Message, ErrorQuote { original, extension }: ErrorQuote<'_>) {
    if original.is_empty() {
        m.problem(ProblemKind::QuotedDatagram, "the error quotes no datagram");
        return;
    }
    match quoted::parse(original) {
        Ok(q) => m.original = Some(q),
        Err(e) => m.problem(ProblemKind::QuotedDatagram, e),
    }
    if let Some(ext) = extension {
        let (objects, problem) = extension_objects(ext);
        m.extensions = objects;
        if let Some(e) = problem {
            m.problem(ProblemKind::Options, e);
        }
    }
}

/// Neighbor discovery fields (RFC 4861).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct NeighborDiscovery {
    /// Neighbor solicitation/advertisement and redirect target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_address: Option<Ipv6Addr>,
    /// Redirect: the destination being redirected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_address: Option<Ipv6Addr>,
    /// Neighbor advertisement R flag: the sender is a router.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_flag: Option<bool>,
    /// Neighbor advertisement S flag: an answer to a solicitation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solicited_flag: Option<bool>,
    /// Neighbor advertisement O flag: override cached link-layer addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_flag: Option<bool>,
    /// Source link-layer address option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_link_layer_address: Option<String>,
    /// Target link-layer address option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_link_layer_address: Option<String>,
    /// Router advertisement: hop limit hosts should use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cur_hop_limit: Option<u8>,
    /// Router advertisement M flag (addresses from DHCPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_flag: Option<bool>,
    /// Router advertisement O flag (other configuration from DHCPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_config_flag: Option<bool>,
    /// Router advertisement: seconds the router may be a default router (0: not one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_lifetime_s: Option<u16>,
    /// Router advertisement reachable time, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable_time_ms: Option<u32>,
    /// Router advertisement retransmission timer, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrans_timer_ms: Option<u32>,
    /// Prefix information options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<PrefixInfo>,
    /// MTU option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu_option: Option<u32>,
    /// Types of other options (RDNSS, route information, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_options: Vec<u8>,
}

/// A prefix information option.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PrefixInfo {
    /// `prefix/length`.
    pub prefix: String,
    /// L flag.
    pub on_link: bool,
    /// A flag (SLAAC).
    pub autonomous: bool,
    /// Seconds.
    pub valid_lifetime_s: u32,
    /// Seconds.
    pub preferred_lifetime_s: u32,
}

fn neighbor_discovery(m: &mut Message, s: &Icmpv6Slice<'_>, icmp_type: &Icmpv6Type) {
    let mut nd = NeighborDiscovery::default();
    let body = match Icmpv6PayloadSlice::from_slice(icmp_type, s.payload()) {
        Ok(body) => body,
        Err(e) => {
            m.problem(ProblemKind::Truncated, format!("{}: {e}", m.type_name()));
            m.nd = Some(nd);
            return;
        }
    };
    let options: NdpOptionsIterator<'_> = match &body {
        Icmpv6PayloadSlice::RouterSolicitation(p) => p.options_iterator(),
        Icmpv6PayloadSlice::RouterAdvertisement(p) => {
            if let Icmpv6Type::RouterAdvertisement(h) = icmp_type {
                nd.cur_hop_limit = Some(h.cur_hop_limit);
                nd.managed_flag = Some(h.managed_address_config);
                nd.other_config_flag = Some(h.other_config);
                nd.router_lifetime_s = Some(h.router_lifetime);
            }
            nd.reachable_time_ms = Some(p.reachable_time());
            nd.retrans_timer_ms = Some(p.retrans_timer());
            p.options_iterator()
        }
        Icmpv6PayloadSlice::NeighborSolicitation(p) => {
            nd.target_address = Some(p.target_address());
            p.options_iterator()
        }
        Icmpv6PayloadSlice::NeighborAdvertisement(p) => {
            if let Icmpv6Type::NeighborAdvertisement(h) = icmp_type {
                nd.router_flag = Some(h.router);
                nd.solicited_flag = Some(h.solicited);
                nd.override_flag = Some(h.r#override);
            }
            nd.target_address = Some(p.target_address());
            p.options_iterator()
        }
        Icmpv6PayloadSlice::Redirect(p) => {
            nd.target_address = Some(p.target_address());
            nd.destination_address = Some(p.destination_address());
            p.options_iterator()
        }
        _ => NdpOptionsIterator::from_slice(&[]),
    };
    for option in options.take(64) {
        match option {
            Ok(NdpOptionSlice::SourceLinkLayerAddress(o)) => {
                nd.source_link_layer_address = Some(hex_colon(o.link_layer_address()))
            }
            Ok(NdpOptionSlice::TargetLinkLayerAddress(o)) => {
                nd.target_link_layer_address = Some(hex_colon(o.link_layer_address()))
            }
            Ok(NdpOptionSlice::PrefixInformation(p)) => {
                if nd.prefixes.len() < MAX_LISTED {
                    nd.prefixes.push(PrefixInfo {
                        prefix: format!("{}/{}", Ipv6Addr::from(p.prefix()), p.prefix_length()),
                        on_link: p.on_link(),
                        autonomous: p.autonomous_address_configuration(),
                        valid_lifetime_s: p.valid_lifetime(),
                        preferred_lifetime_s: p.preferred_lifetime(),
                    });
                }
            }
            Ok(NdpOptionSlice::Mtu(o)) => nd.mtu_option = Some(o.mtu()),
            Ok(NdpOptionSlice::RedirectedHeader(o)) => match quoted::parse(o.redirected_packet()) {
                Ok(q) => m.original = Some(q),
                Err(e) => m.problem(ProblemKind::QuotedDatagram, e),
            },
            Ok(other) => {
                if nd.other_options.len() < MAX_LISTED {
                    nd.other_options.push(other.option_type().0);
                }
            }
            Err(e) => m.problem(ProblemKind::Options, format!("neighbor discovery option: {e}")),
        }
    }
    m.nd = Some(nd);
}

/// Multicast listener discovery (RFC 2710, RFC 3810).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Mld {
    /// The group a query, report or done is about (`::` in a general query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multicast_address: Option<Ipv6Addr>,
    /// Query: maximum response delay, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_delay_ms: Option<u16>,
    /// MLDv2 query: number of sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<u16>,
    /// MLDv2 report: records the header announces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_total: Option<u16>,
    /// MLDv2 report: the first records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<MldRecord>,
}

/// One MLDv2 multicast address record.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MldRecord {
    /// `MODE_IS_INCLUDE`, `CHANGE_TO_EXCLUDE_MODE`, ...
    pub record_type: String,
    /// The group.
    pub multicast_address: Ipv6Addr,
    /// Sources listed.
    pub sources: u16,
}

fn mld_record_type(t: u8) -> String {
    match t {
        1 => "MODE_IS_INCLUDE".into(),
        2 => "MODE_IS_EXCLUDE".into(),
        3 => "CHANGE_TO_INCLUDE_MODE".into(),
        4 => "CHANGE_TO_EXCLUDE_MODE".into(),
        5 => "ALLOW_NEW_SOURCES".into(),
        6 => "BLOCK_OLD_SOURCES".into(),
        other => format!("Unknown ({other})"),
    }
}

/// Hand-read: etherparse has no MLD types. `b` is the whole message.
fn mld(m: &mut Message, b: &[u8]) {
    let mut mld = Mld::default();
    if m.icmp_type == 143 {
        mld.records_total = be16(b, 6);
        let mut at = 8usize;
        for _ in 0..mld.records_total.unwrap_or(0) {
            let (Some(&record_type), Some(&aux_words), Some(sources), Some(group)) =
                (b.get(at), b.get(at + 1), be16(b, at + 2), ipv6_at(b, at + 4))
            else {
                m.problem(ProblemKind::Truncated, "MLDv2 report ends inside a record");
                break;
            };
            if mld.records.len() < MAX_LISTED {
                mld.records.push(MldRecord {
                    record_type: mld_record_type(record_type),
                    multicast_address: group,
                    sources,
                });
            }
            at += 20 + 16 * usize::from(sources) + 4 * usize::from(aux_words);
        }
    } else {
        mld.max_response_delay_ms = be16(b, 4).filter(|_| m.icmp_type == 130);
        mld.multicast_address = ipv6_at(b, 8);
        if mld.multicast_address.is_none() {
            m.problem(ProblemKind::Truncated, format!("{} needs 24 bytes, has {}", m.type_name(), b.len()));
        }
        if m.icmp_type == 130 && b.len() >= 28 {
            mld.sources = be16(b, 26);
        }
    }
    m.mld = Some(mld);
}

/// RFC 8335 extended echo (PROBE) fields.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ExtendedEcho {
    /// Request: L bit, the probed interface is on the probed node itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
    /// Reply: neighbor state of the probed interface (`Reachable`, `Stale`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// Reply A bit: the interface is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Reply 4 bit: IPv4 is running on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<bool>,
    /// Reply 6 bit: IPv6 is running on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<bool>,
    /// Request: the interface asked about, from the interface identification object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probed_interface: Option<Interface>,
}

/// Hand-read: etherparse models neither message. Bytes 4..8 are identifier
/// (16 bits), sequence (8 bits) and flags (RFC 8335 section 2 and 3).
fn extended_echo(m: &mut Message, request: bool, b: [u8; 4], payload: &[u8]) {
    m.id = Some(u16::from_be_bytes([b[0], b[1]]));
    m.seq = Some(u16::from(b[2]));
    let mut ext = ExtendedEcho::default();
    if request {
        ext.local = Some(b[3] & 0x01 != 0);
        let (objects, problem) = extension_objects(payload);
        ext.probed_interface = objects.iter().find_map(|o| o.interface.clone().filter(|_| o.class_num == 3));
        if let Some(e) = problem {
            m.problem(ProblemKind::Options, e);
        } else if ext.probed_interface.is_none() {
            m.problem(ProblemKind::Options, "extended echo request without an interface identification object");
        }
    } else {
        ext.state = Some(match b[3] >> 5 {
            0 => "Reserved",
            1 => "Incomplete",
            2 => "Reachable",
            3 => "Stale",
            4 => "Delay",
            5 => "Probe",
            6 => "Failed",
            _ => "Unknown",
        });
        ext.active = Some(b[3] & 0x04 != 0);
        ext.ipv4 = Some(b[3] & 0x02 != 0);
        ext.ipv6 = Some(b[3] & 0x01 != 0);
    }
    m.extended_echo = Some(ext);
}

/// One RFC 4884 extension object.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExtensionObject {
    /// Class number.
    pub class_num: u8,
    /// Class sub-type.
    pub c_type: u8,
    /// `MPLS Label Stack`, `Interface Information`, `Interface Identification`, ...
    pub name: String,
    /// Object length in bytes, header included.
    pub length: u16,
    /// RFC 4950 label stack entries (label values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpls_labels: Option<Vec<u32>>,
    /// RFC 5837 interface information or RFC 8335 interface identification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
}

/// An interface as RFC 5837 describes it (or RFC 8335 identifies it).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Interface {
    /// RFC 5837 role: `incoming IP interface`, `outgoing IP interface`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// ifIndex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_index: Option<u32>,
    /// Address of the interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Interface name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Interface MTU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// An address by its IANA address family number (1 IPv4, 2 IPv6).
fn afi_address(afi: u16, bytes: &[u8]) -> Option<String> {
    match (afi, bytes.len()) {
        (1, 4) => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        (2, 16) => Some(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches('\0').to_string()
}

/// Hand-read: etherparse does not decode RFC 4884 extension structures.
/// A 4-byte header (version 2, checksum), then objects of length, class,
/// c-type and data. The objects before a damaged one are kept.
fn extension_objects(b: &[u8]) -> (Vec<ExtensionObject>, Option<String>) {
    let mut objects = Vec::new();
    let Some(&version_byte) = b.first() else { return (objects, Some("empty ICMP extension structure".into())) };
    if version_byte >> 4 != 2 {
        return (objects, Some(format!("ICMP extension structure version {} (expected 2)", version_byte >> 4)));
    }
    if b.len() < 4 {
        return (objects, Some("ICMP extension header cut short".into()));
    }
    let mut at = 4usize;
    while at < b.len() && objects.len() < MAX_LISTED {
        let (Some(length), Some(&class_num), Some(&c_type)) = (be16(b, at), b.get(at + 2), b.get(at + 3)) else {
            return (objects, Some(format!("ICMP extension object header cut short at byte {at}")));
        };
        let end = at + usize::from(length);
        if length < 4 || end > b.len() {
            return (objects, Some(format!("ICMP extension object of length {length} does not fit at byte {at}")));
        }
        let data = &b[at + 4..end];
        let mut object = ExtensionObject {
            class_num,
            c_type,
            name: match class_num {
                1 => "MPLS Label Stack",
                2 => "Interface Information",
                3 => "Interface Identification",
                4 => "Extended Information",
                _ => "Unknown",
            }
            .into(),
            length,
            mpls_labels: None,
            interface: None,
        };
        match class_num {
            1 => object.mpls_labels = Some(data.chunks_exact(4).map(|e| be32(e, 0).unwrap_or(0) >> 12).collect()),
            2 => object.interface = Some(interface_information(c_type, data)),
            3 => object.interface = interface_identification(c_type, data),
            _ => {}
        }
        objects.push(object);
        at = end;
    }
    (objects, None)
}

/// RFC 5837 section 4: c-type bits say which fields follow, in order.
fn interface_information(c_type: u8, data: &[u8]) -> Interface {
    let mut i = Interface {
        role: Some(match c_type >> 6 {
            0 => "incoming IP interface",
            1 => "sub-IP component of incoming IP interface",
            2 => "outgoing IP interface",
            _ => "IP next hop",
        }),
        ..Interface::default()
    };
    let mut at = 0usize;
    if c_type & 0x08 != 0 {
        i.if_index = be32(data, at);
        at += 4;
    }
    if c_type & 0x04 != 0 {
        let afi = be16(data, at).unwrap_or(0);
        let len = if afi == 2 { 16 } else { 4 };
        i.address = data.get(at + 4..at + 4 + len).and_then(|a| afi_address(afi, a));
        at += 4 + len;
    }
    if c_type & 0x02 != 0 {
        let len = usize::from(data.get(at).copied().unwrap_or(0));
        i.name = data.get(at + 1..at + len.max(1)).map(text);
        at += len.max(1);
    }
    if c_type & 0x01 != 0 {
        i.mtu = be32(data, at);
    }
    i
}

/// RFC 8335 section 2.1: by name, by index, or by address.
fn interface_identification(c_type: u8, data: &[u8]) -> Option<Interface> {
    let mut i = Interface::default();
    match c_type {
        1 => i.name = Some(text(data)),
        2 => i.if_index = be32(data, 0),
        3 => {
            let afi = be16(data, 0)?;
            let len = usize::from(*data.get(2)?);
            i.address = afi_address(afi, data.get(4..4 + len)?).or_else(|| Some(format!("AFI {afi}")));
        }
        _ => return None,
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_objects_are_bounds_checked() {
        assert!(extension_objects(&[]).1.is_some());
        assert!(extension_objects(&[0x10, 0, 0, 0]).1.is_some(), "version 1");
        assert!(extension_objects(&[0x20, 0, 0, 0, 0, 200, 2, 1]).1.is_some(), "object longer than the data");
        assert!(extension_objects(&[0x20, 0, 0, 0, 0, 2, 2, 1]).1.is_some(), "object shorter than its header");
        // A good object, then garbage: the good one is kept.
        let (objects, problem) = extension_objects(&[0x20, 0, 0, 0, 0, 8, 3, 2, 0, 0, 0, 1, 0x65, 0x93, 0x3a, 0x33]);
        assert_eq!((objects.len(), problem.is_some()), (1, true));
        assert_eq!(objects[0].interface.as_ref().unwrap().if_index, Some(1));
        // MPLS label 16000, S bit, TTL 1.
        let label = (16000u32 << 12) | 0x100 | 1;
        let mut b = vec![0x20, 0, 0, 0, 0, 8, 1, 1];
        b.extend_from_slice(&label.to_be_bytes());
        let objects = extension_objects(&b).0;
        assert_eq!(objects[0].mpls_labels, Some(vec![16000]));
        // Interface identification by address: 192.0.2.1.
        let b = [0x20, 0, 0, 0, 0, 12, 3, 3, 0, 1, 4, 0, 192, 0, 2, 1];
        let objects = extension_objects(&b).0;
        assert_eq!(objects[0].interface.as_ref().unwrap().address.as_deref(), Some("192.0.2.1"));
        // Interface information with every field, cut in the middle: no panic.
        let b = [0x20, 0, 0, 0, 0, 10, 2, 0x0f, 0, 0, 0, 7, 0, 1];
        let objects = extension_objects(&b).0;
        assert_eq!(objects[0].interface.as_ref().unwrap().if_index, Some(7));
    }
}
