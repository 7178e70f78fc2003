//! Conversations at one layer, as Wireshark's conversation table counts
//! them: a pair of endpoints (MAC addresses, IP addresses, or address and
//! port pairs), packets and bytes on the wire each way, A being the side
//! that sent the first packet. TCP and UDP conversations are streams,
//! numbered by [`pcapsule_guest::streams`] (a TCP SYN that reuses the pair
//! opens a new one, as in Wireshark).

use std::net::IpAddr;

use etherparse::{LaxNetSlice, LinkSlice, TransportSlice};
use pcapsule_guest::conventions::{Header, PacketBudget, Paging, into_paged_result};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{PacketHandler, Pass};
use pcapsule_guest::fast_hash::HashMap;
use pcapsule_guest::streams::{Stream, StreamNumbers};
use pcapsule_guest::{Packet, RunContext, RunError, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::result::{ConversationEntry, ConversationsResult, Handshake, NotTracked, TcpEnd, TcpProgress};
use pcapsule_guest::identify::{self, AppProtocol, FlowIdentity, Transport};

/// Conversations tracked per call; traffic of later ones is counted in
/// `not_tracked`. About 200 bytes each with the index.
pub const MAX_CONVERSATIONS: usize = 100_000;

/// A stream number with no conversation in the list.
const NOT_LISTED: u32 = u32::MAX;

/// The layer whose conversations are listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConversationType {
    Eth,
    #[default]
    Ip,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
}

/// The order of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    #[default]
    Bytes,
    Packets,
    Start,
    Duration,
}

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Endpoint {
    Mac([u8; 6]),
    Ip(IpAddr),
    Socket(IpAddr, u16),
}

impl Endpoint {
    pub(crate) fn address(&self) -> String {
        match self {
            Endpoint::Mac(m) => pcapsule_guest::conventions::hex_colon(m),
            Endpoint::Ip(ip) | Endpoint::Socket(ip, _) => ip.to_string(),
        }
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Mac(_) => None,
            Endpoint::Ip(ip) | Endpoint::Socket(ip, _) => Some(*ip),
        }
    }

    pub(crate) fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Socket(_, port) => Some(*port),
            _ => None,
        }
    }
}

/// Packets and bytes one way.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Volume {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

/// What the TCP flags of one direction showed.
#[derive(Debug, Clone, Copy, Default)]
struct TcpSide {
    syn: bool,
    syn_ack: bool,
    fin: bool,
    rst: bool,
}

/// The TCP header fields the table needs.
#[derive(Debug, Clone, Copy)]
struct TcpBits {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}

/// What a packet shows above the conversation's layer: its TCP header, the
/// IP protocol it carries, its TCP/UDP payload.
#[derive(Default)]
struct Layered<'p> {
    /// TCP, UDP: the packet's stream (`None` when it got no number); `None`
    /// for the other layers, whose conversations are found by their pair.
    stream: Option<Option<Stream>>,
    tcp: Option<TcpBits>,
    protocol: Option<u8>,
    payload: Option<(Transport, u16, u16, &'p [u8])>,
}

pub(crate) struct Conversation {
    pub(crate) a: Endpoint,
    pub(crate) b: Endpoint,
    pub(crate) a_to_b: Volume,
    pub(crate) b_to_a: Volume,
    pub(crate) first_frame: u64,
    /// TCP, UDP: the stream number (Wireshark's `tcp.stream`, `udp.stream`).
    pub(crate) stream: Option<u64>,
    pub(crate) first: Option<Timestamp>,
    pub(crate) last: Option<Timestamp>,
    /// TCP: whether the first packet was a SYN without ACK.
    opened_with_syn: bool,
    tcp: [TcpSide; 2],
    /// IP: packets per IP protocol number (few distinct per pair).
    protocols: Vec<(u8, u64)>,
    /// TCP, UDP: the application protocol its payload showed.
    identity: FlowIdentity,
}

impl Conversation {
    fn duration(&self) -> Option<f64> {
        Some(self.last?.seconds_since(self.first?).max(0.0))
    }

    fn bytes(&self) -> u64 {
        self.a_to_b.bytes + self.b_to_a.bytes
    }

    fn packets(&self) -> u64 {
        self.a_to_b.packets + self.b_to_a.packets
    }

    fn progress(&self) -> TcpProgress {
        let [a, b] = self.tcp;
        let syn = a.syn || b.syn;
        let syn_ack = a.syn_ack || b.syn_ack;
        let handshake = if !self.opened_with_syn {
            Handshake::NotSeen
        } else if syn_ack {
            Handshake::Completed
        } else if syn && (a.rst || b.rst) {
            Handshake::Rejected
        } else {
            Handshake::SynOnly
        };
        let end = if a.rst || b.rst {
            TcpEnd::Reset
        } else if a.fin && b.fin {
            TcpEnd::Closed
        } else if a.fin || b.fin {
            TcpEnd::HalfClosed
        } else {
            TcpEnd::Open
        };
        TcpProgress { handshake, end }
    }
}

/// The conversation table of one layer.
pub struct Conversations {
    pub(crate) kind: ConversationType,
    capacity: usize,
    /// Ethernet, IP: the conversation of each (lower, higher) endpoint pair.
    index: HashMap<(Endpoint, Endpoint), usize>,
    /// TCP, UDP: stream numbers, given over the whole capture (a selection
    /// leaves them as they are), up to `capacity`.
    streams: StreamNumbers,
    /// TCP, UDP: each stream number's position in `list` ([`NOT_LISTED`]
    /// for streams the selection left out).
    by_stream: Vec<u32>,
    pub(crate) list: Vec<Conversation>,
    pub(crate) not_tracked: Volume,
    pub(crate) counted: Volume,
    pub(crate) total: Volume,
    pub(crate) capture_first: Option<Timestamp>,
    pub(crate) capture_last: Option<Timestamp>,
}

impl Conversations {
    /// An empty table for `kind`, bounded to `capacity` conversations.
    pub fn new(kind: ConversationType, capacity: usize) -> Self {
        Conversations {
            kind,
            capacity,
            index: HashMap::default(),
            streams: StreamNumbers::new(capacity),
            by_stream: Vec::new(),
            list: Vec::new(),
            not_tracked: Volume::default(),
            counted: Volume::default(),
            total: Volume::default(),
            capture_first: None,
            capture_last: None,
        }
    }

    fn packet(&mut self, packet: &Packet<'_>, decoded: Option<&Decoded<'_>>) {
        let bytes = u64::from(packet.original_len);
        self.total.packets += 1;
        self.total.bytes += bytes;
        if let Some(t) = packet.timestamp {
            self.capture_first = Some(self.capture_first.map_or(t, |f| f.min(t)));
            self.capture_last = Some(self.capture_last.map_or(t, |l| l.max(t)));
        }
        if self.kind == ConversationType::Eth {
            // The innermost Ethernet header: a tunnel's (ERSPAN, VXLAN) when
            // the innermost layers have one, else the frame's own, which a
            // tunnel without Ethernet inside (GRE, IP in IP) or a packet
            // that is not IP (PPPoE discovery, LLDP) still has.
            let macs = match decoded.map(|d| &d.layers.link) {
                Some(Some(LinkSlice::Ethernet2(eth))) => Some((eth.source(), eth.destination())),
                _ => frame_macs(packet),
            };
            if let Some((src, dst)) = macs {
                self.counted.packets += 1;
                self.counted.bytes += bytes;
                self.record(Endpoint::Mac(src), Endpoint::Mac(dst), bytes, packet, Layered::default());
            }
            return;
        }
        let Some(decoded) = decoded else { return };
        let layers = &decoded.layers;
        let (src, dst, stream, tcp, protocol, payload) = match self.kind {
            ConversationType::Eth => return,
            ConversationType::Ip | ConversationType::Ipv4 | ConversationType::Ipv6 => {
                let (src, dst, protocol) = match &layers.net {
                    Some(LaxNetSlice::Ipv4(v4)) if self.kind != ConversationType::Ipv6 => {
                        let h = v4.header();
                        (IpAddr::from(h.source_addr()), IpAddr::from(h.destination_addr()), h.protocol().0)
                    }
                    Some(LaxNetSlice::Ipv6(v6)) if self.kind != ConversationType::Ipv4 => {
                        let h = v6.header();
                        let protocol = v6.payload().ip_number.0;
                        (IpAddr::from(h.source_addr()), IpAddr::from(h.destination_addr()), protocol)
                    }
                    _ => return,
                };
                (Endpoint::Ip(src), Endpoint::Ip(dst), None, None, Some(protocol), None)
            }
            ConversationType::Tcp => {
                let (Some(TransportSlice::Tcp(tcp)), Some((src, dst))) = (&layers.transport, decoded.ip_addrs()) else {
                    return;
                };
                let bits = TcpBits { syn: tcp.syn(), ack: tcp.ack(), fin: tcp.fin(), rst: tcp.rst() };
                let (sport, dport) = (tcp.source_port(), tcp.destination_port());
                let stream = self.streams.tcp_segment((src, dst), tcp);
                let payload = Some((Transport::Tcp, sport, dport, tcp.payload()));
                (Endpoint::Socket(src, sport), Endpoint::Socket(dst, dport), Some(stream), Some(bits), None, payload)
            }
            ConversationType::Udp => {
                let (Some(TransportSlice::Udp(udp)), Some((src, dst))) = (&layers.transport, decoded.ip_addrs()) else {
                    return;
                };
                let (sport, dport) = (udp.source_port(), udp.destination_port());
                let stream = self.streams.udp((src, sport), (dst, dport));
                let payload = Some((Transport::Udp, sport, dport, udp.payload()));
                (Endpoint::Socket(src, sport), Endpoint::Socket(dst, dport), Some(stream), None, None, payload)
            }
        };
        self.counted.packets += 1;
        self.counted.bytes += bytes;
        self.record(src, dst, bytes, packet, Layered { stream, tcp, protocol, payload });
    }

    fn record(&mut self, src: Endpoint, dst: Endpoint, bytes: u64, packet: &Packet<'_>, layered: Layered<'_>) {
        let Layered { stream, tcp, protocol, payload } = layered;
        let at = match stream {
            None => {
                let key = if src <= dst { (src, dst) } else { (dst, src) };
                let at = self.index.get(&key).copied();
                if at.is_none() && self.list.len() < self.capacity {
                    self.index.insert(key, self.list.len());
                }
                at
            }
            Some(Some(stream)) => {
                let n = stream.number as usize;
                if n >= self.by_stream.len() {
                    self.by_stream.resize(n + 1, NOT_LISTED);
                }
                match self.by_stream[n] {
                    NOT_LISTED => {
                        self.by_stream[n] = self.list.len() as u32;
                        None
                    }
                    i => Some(i as usize),
                }
            }
            // Numbers ran out (at `capacity` streams, as the table does).
            Some(None) => {
                self.not_tracked.packets += 1;
                self.not_tracked.bytes += bytes;
                return;
            }
        };
        let i = match at {
            Some(i) => i,
            None => {
                if self.list.len() >= self.capacity {
                    self.not_tracked.packets += 1;
                    self.not_tracked.bytes += bytes;
                    return;
                }
                self.list.push(Conversation {
                    a: src,
                    b: dst,
                    a_to_b: Volume::default(),
                    b_to_a: Volume::default(),
                    first_frame: packet.number,
                    stream: stream.flatten().map(|s| s.number),
                    first: packet.timestamp,
                    last: packet.timestamp,
                    opened_with_syn: tcp.is_some_and(|t| t.syn && !t.ack),
                    tcp: [TcpSide::default(); 2],
                    protocols: Vec::new(),
                    identity: FlowIdentity::default(),
                });
                self.list.len() - 1
            }
        };
        let c = &mut self.list[i];
        // A packet from an endpoint to itself goes A to B.
        let side = usize::from(c.a != src);
        let volume = if side == 0 { &mut c.a_to_b } else { &mut c.b_to_a };
        volume.packets += 1;
        volume.bytes += bytes;
        if let Some(t) = packet.timestamp {
            c.first = Some(c.first.map_or(t, |f| f.min(t)));
            c.last = Some(c.last.map_or(t, |l| l.max(t)));
        }
        if let Some((transport, sport, dport, payload)) = payload {
            c.identity.observe(transport, sport, dport, payload);
        }
        if let Some(bits) = tcp {
            let s = &mut c.tcp[side];
            s.syn |= bits.syn && !bits.ack;
            s.syn_ack |= bits.syn && bits.ack;
            s.fin |= bits.fin;
            s.rst |= bits.rst;
        }
        if let Some(p) = protocol {
            match c.protocols.iter_mut().find(|(n, _)| *n == p) {
                Some((_, count)) => *count += 1,
                None => c.protocols.push((p, 1)),
            }
        }
    }

    fn entry(&self, c: &Conversation) -> ConversationEntry {
        let duration = c.duration();
        let rate = |bytes: u64| duration.filter(|d| *d > 0.0).map(|d| (bytes as f64 * 8.0 / d).round());
        let transport = match self.kind {
            ConversationType::Tcp => Some((Transport::Tcp, 6u8)),
            ConversationType::Udp => Some((Transport::Udp, 17u8)),
            _ => None,
        };
        let (community_id, service) = match (transport, c.a.ip(), c.b.ip(), c.a.port(), c.b.port()) {
            (Some((transport, number)), Some(ip_a), Some(ip_b), Some(port_a), Some(port_b)) => (
                community_id::calculate_community_id(0, ip_a, ip_b, Some(port_a), Some(port_b), number, false).ok(),
                identify::by_port(transport, port_a, port_b).map(AppProtocol::name),
            ),
            _ => (None, None),
        };
        let protocols = matches!(self.kind, ConversationType::Ip | ConversationType::Ipv4 | ConversationType::Ipv6)
            .then(|| {
                let mut list: Vec<(String, u64)> =
                    c.protocols.iter().map(|(n, count)| (protocol_name(*n), *count)).collect();
                list.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
                list
            });
        ConversationEntry {
            address_a: c.a.address(),
            port_a: c.a.port(),
            address_b: c.b.address(),
            port_b: c.b.port(),
            packets: c.packets(),
            bytes: c.bytes(),
            packets_a_to_b: c.a_to_b.packets,
            bytes_a_to_b: c.a_to_b.bytes,
            packets_b_to_a: c.b_to_a.packets,
            bytes_b_to_a: c.b_to_a.bytes,
            first_frame: c.first_frame,
            stream: c.stream,
            start: c.first.map(|t| t.to_rfc3339()),
            relative_start_s: match (c.first, self.capture_first) {
                (Some(first), Some(origin)) => Some(round_micros(first.seconds_since(origin))),
                _ => None,
            },
            duration_s: duration.map(round_micros),
            bits_per_second_a_to_b: rate(c.a_to_b.bytes),
            bits_per_second_b_to_a: rate(c.b_to_a.bytes),
            community_id,
            service,
            application: c.identity.protocol().map(AppProtocol::name),
            upgraded_from: c.identity.upgraded_from().map(AppProtocol::name),
            protocols,
            tcp: (self.kind == ConversationType::Tcp).then(|| c.progress()),
        }
    }

    /// The conversations in `sort_by` order (ties: first frame first).
    fn sorted(&self, sort_by: SortBy) -> Vec<&Conversation> {
        let mut list: Vec<&Conversation> = self.list.iter().collect();
        match sort_by {
            SortBy::Bytes => list.sort_by(|x, y| y.bytes().cmp(&x.bytes()).then(x.first_frame.cmp(&y.first_frame))),
            SortBy::Packets => {
                list.sort_by(|x, y| y.packets().cmp(&x.packets()).then(x.first_frame.cmp(&y.first_frame)))
            }
            SortBy::Start => list.sort_by_key(|c| c.first_frame),
            SortBy::Duration => list.sort_by(|x, y| {
                let (dx, dy) = (x.duration().unwrap_or(0.0), y.duration().unwrap_or(0.0));
                dy.total_cmp(&dx).then(x.first_frame.cmp(&y.first_frame))
            }),
        }
        list
    }
}

/// Source and destination MAC of an Ethernet frame, from its first 12 bytes.
fn frame_macs(packet: &Packet<'_>) -> Option<([u8; 6], [u8; 6])> {
    if packet.link_type != pcapsule_guest::linktype::ETHERNET {
        return None;
    }
    let header = packet.data.get(..14)?;
    let (dst, src) = (header[..6].try_into().ok()?, header[6..12].try_into().ok()?);
    Some((src, dst))
}

pub(crate) fn round_micros(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// The name results give an IP protocol number.
fn protocol_name(number: u8) -> String {
    match pcapsule_guest::identify::ip_protocol_name(number) {
        Some(name) => name.into(),
        None => format!("ip-proto-{number}"),
    }
}

impl PacketHandler for Conversations {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        self.packet(packet, decoded.as_ref().ok());
    }

    fn sees_unselected(&self) -> bool {
        matches!(self.kind, ConversationType::Tcp | ConversationType::Udp)
    }

    /// Numbers the streams a selection leaves out, so that a stream's number
    /// is the one the whole capture gives it.
    fn on_unselected(&mut self, _packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.streams.of_decoded(decoded, self.kind == ConversationType::Tcp);
        }
    }
}

impl Conversations {
    /// What limits the table's figures.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.not_tracked.packets > 0 {
            warnings.push(format!(
                "the conversation table holds {} conversations: {} packets ({} bytes) of later ones are counted \
                 in not_tracked, not listed (use max_packets, or a shorter capture, for a complete list)",
                self.capacity, self.not_tracked.packets, self.not_tracked.bytes
            ));
        }
        warnings
    }
}

/// The result of `analyze_conversations` from a finished table.
pub(crate) fn result_of(
    table: &Conversations,
    pass: &Pass,
    budget: &PacketBudget,
    ctx: &RunContext,
    sort_by: SortBy,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let total = table.list.len();
    let sorted = table.sorted(sort_by);
    let (conversations, pagination) = paging.page_of(sorted.iter().skip(paging.offset).map(|c| table.entry(c)), total);
    let result = ConversationsResult {
        header: Header::new(ctx),
        conversation_type: table.kind,
        sort_by,
        total_packets: table.total.packets,
        total_bytes: table.total.bytes,
        packets_in_conversations: table.counted.packets,
        bytes_in_conversations: table.counted.bytes,
        conversation_count: total,
        not_tracked: (table.not_tracked.packets > 0)
            .then_some(NotTracked { packets: table.not_tracked.packets, bytes: table.not_tracked.bytes }),
        capture_start: table.capture_first.map(|t| t.to_rfc3339()),
        capture_end: table.capture_last.map(|t| t.to_rfc3339()),
        conversations,
        pagination,
        capture: pass.path.facts(pcapsule_guest::conventions::NoMoreFacts {}),
        envelope: pass.envelope(budget, table.warnings()),
    };
    into_paged_result(&result, "conversations", paging, result_bytes)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
impl Conversations {
    /// Conversations listed and packets not tracked, for tests.
    pub fn counts(&self) -> (usize, u64) {
        (self.list.len(), self.not_tracked.packets)
    }
}
