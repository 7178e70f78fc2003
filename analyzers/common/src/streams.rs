//! Stream numbers: Wireshark's `tcp.stream` and `udp.stream`, so that every
//! tool names a conversation by the same number, and an analyst can hand it
//! to `follow_stream` (or type `tcp.stream eq N` in Wireshark).
//!
//! A stream is numbered from 0 at its first packet, in capture order, TCP
//! and UDP each counting their own. On the same addresses and ports, TCP
//! starts a new stream when a SYN without ACK carries another sequence number
//! than its direction's base (Wireshark's port-reuse rule; this is the one
//! place pcapsule writes it). A direction's base is what Wireshark's relative
//! sequence numbers count from: its first segment's sequence number (less
//! one unless a SYN), or the other direction's first acknowledgment less one. Only a packet's innermost transport
//! header counts, the flow every tool analyzes: tshark also numbers the outer
//! UDP or TCP header of a tunnel (VXLAN, GTP-U, ...) and a header an ICMP
//! error quotes for a flow never seen, so from the first such packet on its
//! numbers run ahead of these.
//!
//! The table remembers every stream of the capture, as Wireshark does, up to
//! its capacity of numbers: a stream first seen once they are spent gets
//! none (so numbers always run from 0 without holes), and
//! [`StreamNumbers::unnumbered_packets`] says how many packets that left out.

use std::net::IpAddr;

use etherparse::{TcpSlice, TransportSlice};

use crate::decode::Decoded;
use crate::fast_hash::HashMap;

/// Streams one table numbers by default: about 80 bytes each, so the table
/// stays near 20 MiB while no ordinary capture comes near it.
pub const MAX_STREAMS: usize = 200_000;

/// A packet's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// The stream number (Wireshark's `tcp.stream` or `udp.stream`).
    pub number: u64,
    /// This packet is the stream's first.
    pub first_packet: bool,
    /// The stream began on addresses and ports an earlier TCP stream used
    /// (port reuse); set on its first packet only.
    pub reused_ports: bool,
}

/// One endpoint: address and port.
type Endpoint = (IpAddr, u16);

/// A stream's addresses and ports, the lower endpoint first, as plain
/// integers (they hash in a few steps, where `IpAddr` hashes field by
/// field): an IPv4 address in the low 32 bits, `kind` telling it apart
/// from the IPv6 address with the same bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    low_ip: u128,
    high_ip: u128,
    ports: u32,
    /// Bit 0: TCP; bit 1: IPv6.
    kind: u8,
}

impl Key {
    fn new(low: Endpoint, high: Endpoint, tcp: bool) -> Key {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(v4.to_bits()),
            IpAddr::V6(v6) => v6.to_bits(),
        };
        Key {
            low_ip: bits(low.0),
            high_ip: bits(high.0),
            ports: u32::from(low.1) << 16 | u32::from(high.1),
            kind: u8::from(tcp) | u8::from(low.0.is_ipv6()) << 1,
        }
    }
}

/// The current stream on a key.
#[derive(Clone, Copy)]
struct Current {
    number: u32,
    /// TCP: each direction's base sequence number (the lower endpoint's
    /// first), the reference of the port-reuse rule.
    base_seq: [Option<u32>; 2],
}

/// What the numbering reads of a TCP header.
#[derive(Clone, Copy)]
struct TcpFacts {
    syn: bool,
    seq: u32,
    /// The acknowledgment number, with the ACK flag.
    ack: Option<u32>,
}

impl TcpFacts {
    /// Sets the bases this segment is the first to show: its sender's, and
    /// with an acknowledgment its receiver's.
    fn learn_bases(self, base_seq: &mut [Option<u32>; 2], side: usize) {
        base_seq[side].get_or_insert(if self.syn { self.seq } else { self.seq.wrapping_sub(1) });
        if let Some(ack) = self.ack {
            base_seq[1 - side].get_or_insert(ack.wrapping_sub(1));
        }
    }
}

/// Numbers TCP and UDP streams as Wireshark does; see the module docs.
pub struct StreamNumbers {
    current: HashMap<Key, Current>,
    capacity: usize,
    next: [u32; 2],
    /// Packets of streams first seen when the table was full.
    pub unnumbered_packets: u64,
}

impl Default for StreamNumbers {
    fn default() -> Self {
        StreamNumbers::new(MAX_STREAMS)
    }
}

impl StreamNumbers {
    /// A table giving at most `capacity` numbers (TCP and UDP together).
    pub fn new(capacity: usize) -> Self {
        StreamNumbers { current: HashMap::default(), capacity, next: [0; 2], unnumbered_packets: 0 }
    }

    /// The stream of a TCP segment from `src` to `dst` with the SYN flag
    /// `syn`, sequence number `seq` and, with the ACK flag, `ack`.
    pub fn tcp(&mut self, src: Endpoint, dst: Endpoint, syn: bool, seq: u32, ack: Option<u32>) -> Option<Stream> {
        self.number(src, dst, Some(TcpFacts { syn, seq, ack }))
    }

    /// The stream of a TCP segment as etherparse slices it, sent from
    /// `addrs.0` to `addrs.1`.
    pub fn tcp_segment(&mut self, (src, dst): (IpAddr, IpAddr), tcp: &TcpSlice<'_>) -> Option<Stream> {
        let ack = tcp.ack().then(|| tcp.acknowledgment_number());
        self.tcp((src, tcp.source_port()), (dst, tcp.destination_port()), tcp.syn(), tcp.sequence_number(), ack)
    }

    /// The stream of a decoded packet's innermost TCP segment (`tcp`) or
    /// UDP datagram; `None` when it has no such header, or no number.
    pub fn of_decoded(&mut self, decoded: &Decoded<'_>, tcp: bool) -> Option<Stream> {
        let addrs = decoded.ip_addrs()?;
        match &decoded.layers.transport {
            Some(TransportSlice::Tcp(segment)) if tcp => self.tcp_segment(addrs, segment),
            Some(TransportSlice::Udp(udp)) if !tcp => {
                self.udp((addrs.0, udp.source_port()), (addrs.1, udp.destination_port()))
            }
            _ => None,
        }
    }

    /// The stream of a UDP datagram from `src` to `dst`.
    pub fn udp(&mut self, src: Endpoint, dst: Endpoint) -> Option<Stream> {
        self.number(src, dst, None)
    }

    /// Streams numbered so far: TCP, UDP.
    pub fn counts(&self) -> (u64, u64) {
        (u64::from(self.next[0]), u64::from(self.next[1]))
    }

    fn number(&mut self, src: Endpoint, dst: Endpoint, tcp: Option<TcpFacts>) -> Option<Stream> {
        let (key, side) =
            if src <= dst { (Key::new(src, dst, tcp.is_some()), 0) } else { (Key::new(dst, src, tcp.is_some()), 1) };
        let full = self.next[0] as usize + self.next[1] as usize >= self.capacity;
        let counter = &mut self.next[usize::from(tcp.is_none())];
        let mut reused_ports = false;
        if let Some(current) = self.current.get_mut(&key) {
            let reused = match (tcp, current.base_seq[side]) {
                (Some(t), Some(base)) => t.syn && t.ack.is_none() && t.seq != base,
                _ => false,
            };
            if !reused {
                if let Some(t) = tcp {
                    t.learn_bases(&mut current.base_seq, side);
                }
                return Some(Stream { number: u64::from(current.number), first_packet: false, reused_ports: false });
            }
            if full {
                // The old stream ended, the new one gets no number.
                self.current.remove(&key);
                self.unnumbered_packets += 1;
                return None;
            }
            reused_ports = true;
        } else if full {
            self.unnumbered_packets += 1;
            return None;
        }
        let mut base_seq = [None; 2];
        if let Some(t) = tcp {
            t.learn_bases(&mut base_seq, side);
        }
        let number = *counter;
        *counter += 1;
        self.current.insert(key, Current { number, base_seq });
        Some(Stream { number: u64::from(number), first_packet: true, reused_ports })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn at(last: u8, port: u16) -> Endpoint {
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port)
    }

    #[test]
    fn streams_are_numbered_in_order_of_first_packet_both_directions_alike() {
        let mut n = StreamNumbers::default();
        let (a, b, c) = (at(1, 1000), at(2, 80), at(3, 53));
        assert_eq!(n.tcp(a, b, true, 7, None), Some(Stream { number: 0, first_packet: true, reused_ports: false }));
        assert_eq!(n.udp(a, c).map(|s| s.number), Some(0), "UDP counts on its own");
        assert_eq!(n.tcp(b, a, true, 100, Some(8)).map(|s| (s.number, s.first_packet)), Some((0, false)));
        assert_eq!(n.tcp(a, c, false, 1, Some(1)).map(|s| s.number), Some(1));
        assert_eq!(n.udp(c, a).map(|s| (s.number, s.first_packet)), Some((0, false)));
        assert_eq!(n.counts(), (2, 1));
    }

    #[test]
    fn a_syn_with_another_initial_sequence_number_starts_a_new_tcp_stream() {
        let mut n = StreamNumbers::default();
        let (a, b) = (at(1, 1000), at(2, 80));
        n.tcp(a, b, true, 7, None);
        n.tcp(b, a, true, 900, Some(8));
        assert_eq!(n.tcp(a, b, true, 7, None).map(|s| s.number), Some(0), "a retransmitted SYN is the same stream");
        assert_eq!(n.tcp(a, b, true, 5000, Some(901)).map(|s| s.number), Some(0), "a SYN with ACK never reuses");
        let reused = n.tcp(a, b, true, 5000, None).unwrap();
        assert_eq!((reused.number, reused.first_packet, reused.reused_ports), (1, true, true));
        // The server's base is the new stream's to learn: its SYN-ACK is not a reuse.
        assert_eq!(n.tcp(b, a, true, 1, Some(5001)).map(|s| s.number), Some(1));
        // Seen from the middle: a side's base is its first sequence number
        // less one, or the other side's first acknowledgment less one.
        let mut m = StreamNumbers::default();
        m.tcp(a, b, false, 10, Some(300));
        assert_eq!(m.tcp(a, b, true, 9, None).map(|s| (s.number, s.first_packet)), Some((0, false)));
        assert_eq!(m.tcp(b, a, true, 299, None).map(|s| (s.number, s.first_packet)), Some((0, false)));
        assert_eq!(m.tcp(b, a, true, 4, None).map(|s| (s.number, s.reused_ports)), Some((1, true)));
        // A side whose base is unknown learns it from its SYN: no new stream.
        let mut k = StreamNumbers::default();
        k.tcp(a, b, false, 10, None);
        assert_eq!(k.tcp(b, a, true, 3, None).map(|s| (s.number, s.first_packet)), Some((0, false)));
    }

    #[test]
    fn streams_first_seen_when_full_get_no_number_and_are_counted() {
        let mut n = StreamNumbers::new(2);
        assert!(n.udp(at(1, 1), at(2, 2)).is_some());
        assert!(n.udp(at(1, 1), at(2, 3)).is_some());
        assert_eq!(n.udp(at(1, 1), at(2, 4)), None);
        assert_eq!(n.udp(at(2, 4), at(1, 1)), None);
        assert_eq!(n.udp(at(2, 2), at(1, 1)).map(|s| s.number), Some(0), "known streams keep their number");
        assert_eq!(n.unnumbered_packets, 2);
        // A reuse needs a number too: without one, the old stream's number
        // is not lent to the new one's packets.
        let mut t = StreamNumbers::new(1);
        t.tcp(at(1, 1), at(2, 2), true, 1, None);
        assert_eq!(t.tcp(at(1, 1), at(2, 2), true, 2, None), None);
        assert_eq!(t.tcp(at(2, 2), at(1, 1), false, 9, Some(3)), None);
        assert_eq!(t.unnumbered_packets, 2);
    }
}
