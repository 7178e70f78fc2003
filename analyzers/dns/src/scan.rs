//! From packets to DNS messages: UDP datagrams on DNS ports (or any port
//! whose payload is unmistakably DNS), and DNS over TCP with its two-byte
//! length framing, reassembled per direction (several messages in one
//! segment, one message across several segments).

use std::collections::VecDeque;

use pcapsule_guest::fast_hash::HashMap;
use std::net::IpAddr;

use etherparse::TransportSlice;
use pcapsule_guest::decode::Decoded;
use pcapsule_guest::{Packet, Timestamp};

/// Ports where DNS is expected: DNS, mDNS, LLMNR, and 8053 (a common
/// alternative for resolvers and tests).
pub const DNS_PORTS: [u16; 4] = [53, 5353, 5355, 8053];

/// Streams tracked at once; beyond this the oldest is forgotten (a SYN flood
/// on port 53 must not exhaust memory).
const MAX_TCP_STREAMS: usize = 4096;

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
/// it could not decode).
#[derive(Debug, Default, Clone)]
pub struct ScanCounts {
    /// TCP segments on DNS ports that skipped ahead of the stream (lost
    /// data): the stream restarts at the next segment.
    pub tcp_gaps: u64,
    /// TCP streams forgotten because too many were open at once.
    pub tcp_streams_evicted: u64,
    /// Bytes left in TCP streams when the capture ended (an incomplete message).
    pub tcp_incomplete_bytes: u64,
}

type StreamKey = (IpAddr, u16, IpAddr, u16);

struct Stream {
    next_seq: Option<u32>,
    buffer: Vec<u8>,
}

/// Turns packets into DNS messages.
pub struct Scanner {
    detect_any_port: bool,
    streams: HashMap<StreamKey, Stream>,
    stream_order: VecDeque<StreamKey>,
    /// Counters for everything that was not a DNS message.
    pub counts: ScanCounts,
}

impl Scanner {
    /// `detect_any_port`: also take UDP payloads on other ports that parse as DNS.
    pub fn new(detect_any_port: bool) -> Self {
        Scanner {
            detect_any_port,
            streams: HashMap::default(),
            stream_order: VecDeque::new(),
            counts: ScanCounts::default(),
        }
    }

    /// Feeds one decoded packet; `found` receives each DNS message it completes.
    pub fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, mut found: impl FnMut(FoundMessage<'_>)) {
        let Some((src, dst)) = decoded.ip_addrs() else { return };
        if decoded.is_fragment() {
            return;
        }
        // Every message of this packet shares these; each sets its own ports and bytes.
        let base = FoundMessage {
            packet_number: packet.number,
            timestamp: packet.timestamp,
            src,
            dst,
            src_port: 0,
            dst_port: 0,
            transport: Transport::Udp,
            bytes: &[],
            on_dns_port: true,
        };
        match decoded.transport() {
            Some(TransportSlice::Udp(udp)) => {
                let (sport, dport) = (udp.source_port(), udp.destination_port());
                let payload = udp.payload();
                let on_port = DNS_PORTS.contains(&sport) || DNS_PORTS.contains(&dport);
                if on_port || (self.detect_any_port && looks_like_dns(payload)) {
                    found(FoundMessage {
                        src_port: sport,
                        dst_port: dport,
                        bytes: payload,
                        on_dns_port: on_port,
                        ..base
                    });
                }
            }
            Some(TransportSlice::Tcp(tcp)) => {
                let (sport, dport) = (tcp.source_port(), tcp.destination_port());
                if !(DNS_PORTS.contains(&sport) || DNS_PORTS.contains(&dport)) {
                    return;
                }
                let key = (src, sport, dst, dport);
                let mut complete = Vec::new();
                self.segment(
                    key,
                    tcp.sequence_number(),
                    tcp.syn(),
                    tcp.fin() || tcp.rst(),
                    tcp.payload(),
                    &mut complete,
                );
                for bytes in complete {
                    found(FoundMessage {
                        src_port: sport,
                        dst_port: dport,
                        transport: Transport::Tcp,
                        bytes: &bytes,
                        ..base
                    });
                }
            }
            _ => {}
        }
    }

    /// Adds a segment to its stream and pulls out every complete message.
    fn segment(&mut self, key: StreamKey, seq: u32, syn: bool, closing: bool, payload: &[u8], out: &mut Vec<Vec<u8>>) {
        if !self.streams.contains_key(&key) {
            if payload.is_empty() && !syn {
                return;
            }
            if self.streams.len() >= MAX_TCP_STREAMS {
                self.evict_oldest();
            }
            self.streams.insert(key, Stream { next_seq: None, buffer: Vec::new() });
            self.stream_order.push_back(key);
        }
        let stream = self.streams.get_mut(&key).expect("inserted above");
        let mut data = payload;
        if syn {
            // The SYN takes one sequence number; data on it (TCP Fast Open) follows.
            stream.next_seq = Some(seq.wrapping_add(1));
            stream.buffer.clear();
        } else {
            match stream.next_seq {
                None => stream.next_seq = Some(seq),
                Some(expected) => {
                    let ahead = seq.wrapping_sub(expected) as i32;
                    if ahead > 0 {
                        // Data was lost: what is buffered can no longer be framed.
                        self.counts.tcp_gaps += 1;
                        stream.buffer.clear();
                        stream.next_seq = Some(seq);
                    } else if ahead < 0 {
                        // A retransmission: keep only the bytes not seen yet.
                        let seen = (-(ahead as i64)) as usize;
                        data = payload.get(seen..).unwrap_or(&[]);
                    }
                }
            }
        }
        if !data.is_empty() {
            stream.buffer.extend_from_slice(data);
            stream.next_seq = stream.next_seq.map(|s| s.wrapping_add(data.len() as u32));
        }
        loop {
            if stream.buffer.len() < 2 {
                break;
            }
            let len = usize::from(u16::from_be_bytes([stream.buffer[0], stream.buffer[1]]));
            if stream.buffer.len() < 2 + len {
                break;
            }
            out.push(stream.buffer[2..2 + len].to_vec());
            stream.buffer.drain(..2 + len);
        }
        if closing {
            self.counts.tcp_incomplete_bytes += stream.buffer.len() as u64;
            self.streams.remove(&key);
        }
    }

    fn evict_oldest(&mut self) {
        while let Some(old) = self.stream_order.pop_front() {
            if self.streams.remove(&old).is_some() {
                self.counts.tcp_streams_evicted += 1;
                return;
            }
        }
    }

    /// Call at the end of the capture.
    pub fn finish(&mut self) {
        self.counts.tcp_incomplete_bytes += self.streams.values().map(|s| s.buffer.len() as u64).sum::<u64>();
        self.streams.clear();
    }
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

    const KEY: StreamKey =
        (IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 53);

    #[test]
    fn tcp_framing_splits_and_joins_messages() {
        let a = query_bytes(1, "a.example.");
        let b = query_bytes(2, "b.example.");
        let c = query_bytes(3, "c.example.");
        let stream = framed(&[a.clone(), b.clone(), c.clone()]);
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        s.segment(KEY, 999, true, false, &[], &mut out);
        // Two messages and a half in the first segment, the rest in the second.
        let cut = 2 + a.len() + 2 + b.len() + 5;
        s.segment(KEY, 1000, false, false, &stream[..cut], &mut out);
        assert_eq!(out, vec![a.clone(), b.clone()]);
        // A retransmission of bytes already seen adds nothing twice.
        s.segment(KEY, 1000 + cut as u32 - 3, false, false, &stream[cut - 3..], &mut out);
        assert_eq!(out, vec![a, b, c]);
        assert_eq!(s.counts.tcp_gaps, 0);
    }

    #[test]
    fn tcp_gaps_are_counted_and_resynchronize() {
        let a = query_bytes(1, "a.example.");
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        s.segment(KEY, 10, false, false, &framed(std::slice::from_ref(&a))[..5], &mut out);
        s.segment(KEY, 5000, false, false, &framed(std::slice::from_ref(&a)), &mut out);
        assert_eq!(s.counts.tcp_gaps, 1);
        assert_eq!(out, vec![a]);
    }

    #[test]
    fn streams_are_bounded() {
        let mut s = Scanner::new(false);
        let mut out = Vec::new();
        for port in 0..(MAX_TCP_STREAMS as u16 + 10) {
            let key = (KEY.0, port, KEY.2, 53);
            s.segment(key, 1, false, false, &[0, 50, 1], &mut out);
        }
        assert_eq!(s.streams.len(), MAX_TCP_STREAMS);
        assert_eq!(s.counts.tcp_streams_evicted, 10);
        s.finish();
        assert_eq!(s.counts.tcp_incomplete_bytes, MAX_TCP_STREAMS as u64 * 3, "evicted streams are counted as such");
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
