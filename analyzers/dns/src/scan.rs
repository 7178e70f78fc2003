//! From packets to DNS messages: UDP datagrams on DNS ports (or any port
//! whose payload is unmistakably DNS), and DNS over TCP with its two-byte
//! length framing, reassembled per direction (several messages in one
//! segment, one message across several segments).

use std::net::IpAddr;

use etherparse::TransportSlice;
use pcapsule_guest::decode::Decoded;
use pcapsule_guest::reassembly::{Delivery, Direction, End, Limits, Reassembler, Segment, StreamState};
use pcapsule_guest::{Packet, Timestamp};

/// Ports where DNS is expected: DNS, mDNS, LLMNR, and 8053 (a common
/// alternative for resolvers and tests).
pub const DNS_PORTS: [u16; 4] = [53, 5353, 5355, 8053];

/// Transport a message arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// One message per datagram.
    Udp,
    /// Length-prefixed messages in a byte stream.
    Tcp,
}

impl Transport {
    /// "UDP" or "TCP", as mcpcap writes it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// One DNS message as found in the capture, not yet parsed.
#[derive(Clone, Copy)]
pub struct FoundMessage<'a> {
    /// The frame that carried (or completed) the message.
    pub packet_number: u64,
    /// That frame's capture time.
    pub timestamp: Option<Timestamp>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub transport: Transport,
    /// The DNS message bytes, borrowed from the packet (UDP) or the stream (TCP).
    pub bytes: &'a [u8],
    /// Found on a DNS port (false: recognized by content on another port).
    pub on_dns_port: bool,
}

/// What the scanner saw besides DNS messages (the packet path counts what
/// it could not decode, the reassembler what TCP lost).
#[derive(Debug, Default, Clone)]
pub struct ScanCounts {
    /// Bytes of DNS messages that TCP never completed: left when a stream
    /// ended, or cut off by a gap.
    pub tcp_incomplete_bytes: u64,
}

/// Streams tracked at once and bytes held for them: a SYN flood on port 53
/// must not exhaust memory.
const TCP_LIMITS: Limits =
    Limits { max_streams: 4096, max_out_of_order_bytes: 128 * 1024, max_total_bytes: 16 * 1024 * 1024 };

/// One direction of DNS over TCP: bytes of a message not complete yet.
#[derive(Default)]
pub struct DnsStream {
    buffer: Vec<u8>,
}

impl StreamState for DnsStream {
    fn held(&self) -> usize {
        self.buffer.len()
    }
}

/// Turns packets into DNS messages.
pub struct Scanner {
    detect_any_port: bool,
    /// DNS over TCP, per direction.
    pub tcp: Reassembler<DnsStream>,
    /// Counters for everything that was not a DNS message.
    pub counts: ScanCounts,
}

impl Scanner {
    /// `detect_any_port`: also take UDP payloads on other ports that parse as DNS.
    pub fn new(detect_any_port: bool) -> Self {
        Scanner { detect_any_port, tcp: Reassembler::new(TCP_LIMITS), counts: ScanCounts::default() }
    }

    /// Feeds one decoded packet; `found` receives each DNS message it completes.
    pub fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, mut found: impl FnMut(FoundMessage<'_>)) {
        match decoded.transport() {
            Some(TransportSlice::Udp(udp)) => {
                let Some((src, dst)) = decoded.ip_addrs() else { return };
                if decoded.is_fragment() {
                    return;
                }
                let (sport, dport) = (udp.source_port(), udp.destination_port());
                let payload = udp.payload();
                let on_port = DNS_PORTS.contains(&sport) || DNS_PORTS.contains(&dport);
                if on_port || (self.detect_any_port && looks_like_dns(payload)) {
                    found(FoundMessage {
                        packet_number: packet.number,
                        timestamp: packet.timestamp,
                        src,
                        dst,
                        src_port: sport,
                        dst_port: dport,
                        transport: Transport::Udp,
                        bytes: payload,
                        on_dns_port: on_port,
                    });
                }
            }
            Some(TransportSlice::Tcp(tcp)) => {
                if !(DNS_PORTS.contains(&tcp.source_port()) || DNS_PORTS.contains(&tcp.destination_port())) {
                    return;
                }
                let Some((direction, segment)) = Segment::of(packet, decoded) else { return };
                let counts = &mut self.counts;
                self.tcp.segment(
                    direction,
                    &segment,
                    |payload| (!payload.is_empty() || segment.syn).then(DnsStream::default),
                    &mut |direction, stream, delivery| deliver(direction, stream, delivery, counts, &mut found),
                );
            }
            _ => {}
        }
    }

    /// Call at the end of the capture: streams end, and messages still
    /// held behind a hole are delivered.
    pub fn finish(&mut self, mut found: impl FnMut(FoundMessage<'_>)) {
        let counts = &mut self.counts;
        self.tcp.finish(&mut |direction, stream, delivery| deliver(direction, stream, delivery, counts, &mut found));
    }
}

/// Frames what a TCP direction delivers into DNS messages (a two-byte
/// length, then the message; several in one segment, one across several).
fn deliver(
    direction: Direction,
    stream: &mut DnsStream,
    delivery: Delivery<'_>,
    counts: &mut ScanCounts,
    found: &mut impl FnMut(FoundMessage<'_>),
) {
    let (bytes, frame) = match delivery {
        Delivery::Data { bytes, frame } => (bytes, frame),
        Delivery::Gap(_) => {
            // What was buffered can no longer be framed; the stream restarts
            // at the next byte, as after a FIN the next message would.
            counts.tcp_incomplete_bytes += stream.buffer.len() as u64;
            stream.buffer.clear();
            return;
        }
        Delivery::End(why, _) => {
            if why != End::Evicted {
                counts.tcp_incomplete_bytes += stream.buffer.len() as u64;
            }
            stream.buffer.clear();
            return;
        }
    };
    let mut emit = |message: &[u8]| {
        found(FoundMessage {
            packet_number: frame.number,
            timestamp: frame.timestamp,
            src: direction.src,
            dst: direction.dst,
            src_port: direction.src_port,
            dst_port: direction.dst_port,
            transport: Transport::Tcp,
            bytes: message,
            on_dns_port: true,
        })
    };
    // Messages are read where they lie in the delivered bytes; only a
    // message split across deliveries is copied, once, into the buffer (a
    // cursor over the data, so the work stays linear in the bytes however
    // they are cut).
    let mut rest = bytes;
    if !stream.buffer.is_empty() {
        // Complete the length prefix, then the message it announces.
        complete_to(&mut stream.buffer, 2, &mut rest);
        let [high, low, ..] = stream.buffer[..] else { return };
        let length = usize::from(u16::from_be_bytes([high, low]));
        complete_to(&mut stream.buffer, 2 + length, &mut rest);
        let message = &stream.buffer[2..];
        if message.len() < length {
            return;
        }
        emit(message);
        stream.buffer.clear();
    }
    while let Some(&[high, low]) = rest.get(..2) {
        let end = 2 + usize::from(u16::from_be_bytes([high, low]));
        let Some(message) = rest.get(2..end) else { break };
        emit(message);
        rest = &rest[end..];
    }
    stream.buffer.extend_from_slice(rest);
}

/// Moves bytes from the front of `rest` to `buffer` until it holds `wanted`.
fn complete_to(buffer: &mut Vec<u8>, wanted: usize, rest: &mut &[u8]) {
    let take = wanted.saturating_sub(buffer.len()).min(rest.len());
    buffer.extend_from_slice(&rest[..take]);
    *rest = &rest[take..];
}

/// A UDP payload on a non-DNS port counts as DNS only if it parses fully
/// and looks like ordinary DNS: one question of a known type and a standard
/// class, a standard opcode, the reserved Z bit clear. Strict on purpose:
/// random payloads must not pass.
fn looks_like_dns(payload: &[u8]) -> bool {
    if payload.len() < 17 {
        return false;
    }
    let qdcount = u16::from_be_bytes([payload[4], payload[5]]);
    let opcode = (payload[2] >> 3) & 0x0f;
    if qdcount != 1 || !matches!(opcode, 0 | 1 | 2 | 4 | 5) || payload[3] & 0x40 != 0 {
        return false;
    }
    if crate::compression::check(payload).is_err() {
        return false;
    }
    let Ok(message) = hickory_proto::op::Message::from_vec(payload) else { return false };
    let Some(query) = message.queries.first() else { return false };
    let class = u16::from(query.query_class);
    matches!(class, 1 | 3 | 255)
        && !query.name.is_root()
        && !matches!(query.query_type, hickory_proto::rr::RecordType::Unknown(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcapsule_guest::reassembly::Frame;

    fn query_bytes(id: u16, name: &str) -> Vec<u8> {
        use hickory_proto::op::{Message, Query};
        use hickory_proto::rr::{Name, RecordType};
        let mut m = Message::query();
        m.metadata.id = id;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        m.to_vec().unwrap()
    }

    fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in messages {
            out.extend_from_slice(&(m.len() as u16).to_be_bytes());
            out.extend_from_slice(m);
        }
        out
    }

    const CLIENT: Direction = Direction {
        src: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        src_port: 40000,
        dst: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        dst_port: 53,
    };

    /// Feeds one segment's delivery straight to the framing, as `packet` does.
    fn feed(s: &mut Scanner, direction: Direction, seq: u32, syn: bool, payload: &[u8], out: &mut Vec<Vec<u8>>) {
        let segment = Segment {
            seq,
            ack: None,
            syn,
            fin: false,
            rst: false,
            payload,
            wire_len: payload.len(),
            frame: Frame::default(),
        };
        let counts = &mut s.counts;
        let found = &mut |m: FoundMessage<'_>| out.push(m.bytes.to_vec());
        s.tcp.segment(direction, &segment, |_| Some(DnsStream::default()), &mut |d, stream, delivery| {
            deliver(d, stream, delivery, counts, found)
        });
    }

    #[test]
    fn tcp_framing_finds_every_message_however_the_stream_is_cut() {
        let messages: Vec<Vec<u8>> = (0..6).map(|i| query_bytes(i, &format!("n{i}.example."))).collect();
        let mut stream = framed(&messages);
        // An empty message is framed too (and found malformed later).
        stream.extend_from_slice(&[0, 0]);
        let mut expected = messages.clone();
        expected.push(Vec::new());
        for cut in 1..=stream.len() {
            let mut s = Scanner::new(false);
            let mut out = Vec::new();
            feed(&mut s, CLIENT, 999, true, &[], &mut out);
            for (index, piece) in stream.chunks(cut).enumerate() {
                feed(&mut s, CLIENT, 1000 + (index * cut) as u32, false, piece, &mut out);
            }
            assert_eq!(out, expected, "segments of {cut} bytes");
        }
    }

    #[test]
    fn tcp_framing_splits_and_joins_messages() {
        let a = query_bytes(1, "a.example.");
        let b = query_bytes(2, "b.example.");
        let c = query_bytes(3, "c.example.");
        let stream = framed(&[a.clone(), b.clone(), c.clone()]);
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        feed(&mut s, CLIENT, 999, true, &[], &mut out);
        // Two messages and a half in the first segment, the rest in the second.
        let cut = 2 + a.len() + 2 + b.len() + 5;
        feed(&mut s, CLIENT, 1000, false, &stream[..cut], &mut out);
        assert_eq!(out, vec![a.clone(), b.clone()]);
        // A retransmission of bytes already seen adds nothing twice.
        feed(&mut s, CLIENT, 1000 + cut as u32 - 3, false, &stream[cut - 3..], &mut out);
        assert_eq!(out, vec![a, b, c]);
        assert_eq!(s.tcp.counts().gaps, 0);
    }

    #[test]
    fn tcp_gaps_resynchronize() {
        let a = query_bytes(1, "a.example.");
        let framed_a = framed(std::slice::from_ref(&a));
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        feed(&mut s, CLIENT, 10, false, &framed_a[..5], &mut out);
        feed(&mut s, CLIENT, 5000, false, &framed_a, &mut out);
        assert!(out.is_empty(), "held behind the hole");
        s.finish(|m| out.push(m.bytes.to_vec()));
        assert_eq!(s.tcp.counts().gaps, 1);
        assert_eq!(s.counts.tcp_incomplete_bytes, 5, "the half message before the gap");
        assert_eq!(out, vec![a]);
    }

    #[test]
    fn streams_are_bounded() {
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        for port in 0..(TCP_LIMITS.max_streams as u16 + 10) {
            feed(&mut s, Direction { src_port: port, ..CLIENT }, 1, false, &[0, 50, 1], &mut out);
        }
        assert_eq!(s.tcp.counts().streams_evicted, 10);
        s.finish(|_| {});
        assert_eq!(
            s.counts.tcp_incomplete_bytes,
            TCP_LIMITS.max_streams as u64 * 3,
            "evicted streams are not counted as incomplete"
        );
    }

    #[test]
    fn content_detection_is_strict() {
        assert!(looks_like_dns(&query_bytes(7, "www.example.com.")));
        assert!(!looks_like_dns(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
        assert!(!looks_like_dns(&[0u8; 64]));
        let mut trailing = query_bytes(7, "www.example.com.");
        trailing[4] = 0;
        trailing[5] = 2;
        assert!(!looks_like_dns(&trailing));
    }
}
