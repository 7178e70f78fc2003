//! From a captured frame to the TCP facts the analysis needs: addresses,
//! ports, sequence and acknowledgment numbers, flags, window and the segment
//! length as the IP header declares it (so a frame cut by the snaplen still
//! counts the bytes it carried on the wire, as Wireshark counts them).

use std::net::IpAddr;

use etherparse::{IpNumber, LaxNetSlice};
use pcapsule_guest::Packet;
use pcapsule_guest::decode::{DecodeError, Decoded};

/// TCP flag bits as they sit in the header's 12-bit flags field.
pub mod flag {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// ACK.
    pub const ACK: u16 = 0x010;
}

/// One TCP segment, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// 1-based frame number.
    pub number: u64,
    /// Capture time in nanoseconds since the epoch (good until 2262); 0 when
    /// the record has none (Wireshark uses 0 too, which keeps the timing
    /// rules identical).
    pub time_ns: i64,
    /// Captured frame length (what mcpcap counts as a packet's bytes).
    pub frame_len: u32,
    /// Frame length on the wire (the record's original length; never less
    /// than what was captured), as Wireshark's conversations count bytes.
    pub wire_len: u32,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful with ACK set).
    pub ack: u32,
    /// The 12 flag bits (FIN..NS plus the reserved bits).
    pub flags: u16,
    /// The window field as sent, unscaled.
    pub window: u16,
    /// Payload length from the IP length fields, not from the captured bytes.
    pub seglen: u32,
    /// IPv4 TTL or IPv6 hop limit as captured: a host's packets to one
    /// capture point arrive with one value, so a RST with another was
    /// likely sent by someone else (see `Connection::suspicious_rst`).
    pub ttl: u8,
}

impl Segment {
    /// Whether every bit of `mask` is set.
    pub fn has(&self, mask: u16) -> bool {
        self.flags & mask == mask
    }

    /// SYN without ACK: a connection request.
    pub fn is_syn(&self) -> bool {
        self.flags & (flag::SYN | flag::ACK) == flag::SYN
    }

    /// SYN with ACK: the answer to a connection request.
    pub fn is_syn_ack(&self) -> bool {
        self.has(flag::SYN | flag::ACK)
    }
}

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A TCP segment.
    Tcp(Segment),
    /// Decoded, but not TCP (or not IP).
    Other,
    /// A fragment of an IP datagram: TCP inside is not reassembled.
    Fragment,
    /// The link layer or IP header could not be decoded.
    Undecodable,
    /// TCP, but the header is cut short or inconsistent.
    BadTcp,
}

/// Reads the TCP segment out of a packet the shared packet path decoded
/// (through any tunnel, IP fragments reassembled).
pub fn parse(packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) -> Parsed {
    let Ok(decoded) = decoded else { return Parsed::Undecodable };
    let Some(net) = decoded.layers.net.as_ref() else { return Parsed::Other };
    let (src, dst, ttl): (IpAddr, IpAddr, u8) = match net {
        LaxNetSlice::Ipv4(v4) => {
            (v4.header().source_addr().into(), v4.header().destination_addr().into(), v4.header().ttl())
        }
        LaxNetSlice::Ipv6(v6) => {
            (v6.header().source_addr().into(), v6.header().destination_addr().into(), v6.header().hop_limit())
        }
        LaxNetSlice::Arp(_) => return Parsed::Other,
    };
    let Some(payload) = net.ip_payload_ref() else { return Parsed::Other };
    if payload.ip_number != IpNumber::TCP {
        return Parsed::Other;
    }
    if payload.fragmented {
        return Parsed::Fragment;
    }
    let on_wire = decoded.ip_bytes_on_wire(packet);
    let Some(declared) = declared_payload_len(net, on_wire) else { return Parsed::BadTcp };
    let bytes = payload.payload;
    if bytes.len() < 20 {
        return Parsed::BadTcp;
    }
    let header_len = usize::from(bytes[12] >> 4) * 4;
    if header_len < 20 || declared < header_len {
        return Parsed::BadTcp;
    }
    let be16 = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let be32 = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let time_ns = packet.timestamp.map_or(0, |t| t.saturating_nanos());
    Parsed::Tcp(Segment {
        number: packet.number,
        time_ns,
        frame_len: packet.data.len() as u32,
        wire_len: packet.original_len.max(packet.data.len() as u32),
        src,
        dst,
        sport: be16(0),
        dport: be16(2),
        seq: be32(4),
        ack: be32(8),
        flags: be16(12) & 0x0fff,
        window: be16(14),
        seglen: (declared - header_len) as u32,
        ttl,
    })
}

/// The IP payload length as Wireshark takes it: what the IP header declares,
/// but no more than the frame carried on the wire (`on_wire` bytes from the
/// IP header on); a zero length (TCP segmentation offload) means "the rest
/// of the frame". `None` when the header contradicts itself (a total length
/// shorter than the header), which Wireshark treats as a bogus packet.
fn declared_payload_len(net: &LaxNetSlice<'_>, on_wire: usize) -> Option<usize> {
    let (declared, headers) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            if total != 0 && total < h.slice().len() {
                return None;
            }
            let auth = v4.extensions().auth.map_or(0, |a| a.slice().len());
            (if total == 0 { on_wire } else { total }, h.slice().len() + auth)
        }
        LaxNetSlice::Ipv6(v6) => {
            let payload = usize::from(v6.header().payload_length());
            let total = if payload == 0 { on_wire } else { 40 + payload };
            (total, 40 + v6.extensions().slice().len())
        }
        LaxNetSlice::Arp(_) => return None,
    };
    declared.min(on_wire).checked_sub(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use pcapsule_guest::decode::decode;
    use pcapsule_guest::linktype;

    /// Decodes without reassembly, as a single packet needs.
    fn parse(packet: &Packet<'_>) -> Parsed {
        super::parse(packet, &decode(packet.link_type, packet.data))
    }

    fn packet(data: &[u8], link_type: u32) -> Packet<'_> {
        cut(data, data.len(), link_type)
    }

    /// A frame of `wire` bytes on the wire of which `data` was captured.
    fn cut(data: &[u8], wire: usize, link_type: u32) -> Packet<'_> {
        Packet { number: 7, timestamp: None, original_len: wire as u32, interface: 0, link_type, data }
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 80, 1000, 512)
            .syn()
            .write(&mut out, payload)
            .unwrap();
        out
    }

    #[test]
    fn fields_and_declared_length_of_a_cut_frame() {
        let whole = frame(b"hello world");
        let Parsed::Tcp(s) = parse(&packet(&whole, linktype::ETHERNET)) else { panic!() };
        assert_eq!((s.sport, s.dport, s.seq, s.window, s.seglen), (1234, 80, 1000, 512, 11));
        assert!(s.is_syn());
        // Cut by the snaplen inside the payload: the IP header still says 11 bytes.
        let Parsed::Tcp(short) = parse(&cut(&whole[..whole.len() - 5], whole.len(), linktype::ETHERNET)) else {
            panic!()
        };
        assert_eq!(short.seglen, 11);
        assert_eq!(short.frame_len as usize, whole.len() - 5);
        assert_eq!(short.wire_len as usize, whole.len(), "the wire length is the record's original length");
        // An IP length beyond what the wire carried counts only what was carried (as Wireshark does).
        let Parsed::Tcp(lying) = parse(&packet(&whole[..whole.len() - 5], linktype::ETHERNET)) else { panic!() };
        assert_eq!(lying.seglen, 6);
        // Cut inside the TCP header: not a usable segment.
        assert_eq!(parse(&packet(&whole[..14 + 20 + 10], linktype::ETHERNET)), Parsed::BadTcp);
    }

    #[test]
    fn pppoe_sessions_are_unwrapped() {
        let eth = frame(b"x");
        let ip = &eth[14..];
        let mut pppoe = eth[..12].to_vec();
        pppoe.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x12, 0x34]);
        pppoe.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        pppoe.extend_from_slice(&[0x00, 0x21]);
        pppoe.extend_from_slice(ip);
        let Parsed::Tcp(s) = parse(&packet(&pppoe, linktype::ETHERNET)) else { panic!() };
        assert_eq!((s.sport, s.seglen), (1234, 1));
    }

    #[test]
    fn other_protocols_and_garbage() {
        let mut udp = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([1; 4], [2; 4], 1).udp(1, 2).write(&mut udp, b"x").unwrap();
        assert_eq!(parse(&packet(&udp, linktype::ETHERNET)), Parsed::Other);
        assert_eq!(parse(&packet(&[0; 3], linktype::ETHERNET)), Parsed::Undecodable);
        let mut bogus = frame(b"");
        bogus[14 + 20 + 12] = 0x20; // data offset 2 words
        assert_eq!(parse(&packet(&bogus, linktype::ETHERNET)), Parsed::BadTcp);
    }
}
