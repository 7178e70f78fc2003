//! From packets to TLS record events per TCP direction. A direction is
//! followed from the first segment that begins with a TLS record header,
//! on any port: so TLS after a STARTTLS command (SMTP, IMAP, POP3, LDAP,
//! FTP, XMPP) is read from its first record, and a connection whose start
//! the capture missed from its first segment that begins a record. UDP
//! goes to DTLS's reader (`dtls`), and what is not DTLS to QUIC's (`quic`).

use std::net::IpAddr;

use pcapsule_guest::Packet;
use pcapsule_guest::decode::Decoded;
use pcapsule_guest::identify::is_tls_record;
use pcapsule_guest::reassembly::{Delivery, Direction, End, Frame, Limits, Reassembler, Segment, StreamState};

use crate::dtls::DtlsScanner;
use crate::fingerprint::Transport;
use crate::quic::QuicScanner;
use crate::records::{Event, RecordReader, is_sslv2_client_hello};

/// Directions followed at once, bytes one may hold ahead of a hole, and
/// bytes held in all (out of order, partial records and messages).
const TCP_LIMITS: Limits =
    Limits { max_streams: 4096, max_out_of_order_bytes: 256 * 1024, max_total_bytes: 32 * 1024 * 1024 };

/// One followed direction.
pub struct Stream {
    reader: RecordReader,
}

impl Stream {
    fn new() -> Self {
        Stream { reader: RecordReader::default() }
    }
}

impl StreamState for Stream {
    fn held(&self) -> usize {
        self.reader.held()
    }
}

/// Where an event happened.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub direction: Direction,
    pub frame: Frame,
    /// TLS over TCP, QUIC's handshake, or DTLS.
    pub transport: Transport,
}

/// An address and port.
pub type Endpoint = (IpAddr, u16);

/// A UDP datagram (not an IP fragment), read once for DTLS's and QUIC's
/// readers: its flow, with the endpoints in a fixed order, and payload.
pub struct Datagram<'a> {
    pub from: Endpoint,
    pub flow: (Endpoint, Endpoint),
    pub payload: &'a [u8],
    direction: Direction,
    frame: Frame,
}

impl<'a> Datagram<'a> {
    fn of(packet: &Packet<'_>, decoded: &Decoded<'a>) -> Option<Datagram<'a>> {
        let (src_port, dst_port, payload) = decoded.udp()?;
        if decoded.is_fragment() {
            return None;
        }
        let (src, dst) = decoded.ip_addrs()?;
        let (from, to) = ((src, src_port), (dst, dst_port));
        Some(Datagram {
            from,
            flow: if from <= to { (from, to) } else { (to, from) },
            payload,
            direction: Direction { src, src_port, dst, dst_port },
            frame: Frame { number: packet.number, timestamp: packet.timestamp },
        })
    }

    /// Where its events happened, read as `transport`.
    pub fn at(&self, transport: Transport) -> At {
        At { direction: self.direction, frame: self.frame, transport }
    }
}

/// What a direction delivered, besides record events.
pub enum Happening<'a> {
    Record(Event<'a>),
    /// The direction ended (FIN, RST, reuse, eviction or the capture's end).
    Ended(End),
    /// A connection over UDP began: QUIC's of this version (its first
    /// Initial), or DTLS's (none).
    Began {
        quic_version: Option<u32>,
    },
}

/// Turns packets into record events.
pub struct Scanner {
    pub tcp: Reassembler<Stream>,
    pub quic: QuicScanner,
    pub dtls: DtlsScanner,
    /// Times a direction stopped looking like TLS (it is followed again
    /// from its next segment that begins a record).
    pub lost_sync: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            tcp: Reassembler::new(TCP_LIMITS),
            quic: QuicScanner::default(),
            dtls: DtlsScanner::default(),
            lost_sync: 0,
        }
    }
}

fn open(payload: &[u8]) -> Option<Stream> {
    (is_tls_record(payload) || is_sslv2_client_hello(payload)).then(Stream::new)
}

impl Scanner {
    /// Feeds one decoded packet; `on` receives what it completes.
    pub fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, on: &mut dyn FnMut(At, Happening<'_>)) {
        let Some((direction, segment)) = Segment::of(packet, decoded) else {
            if let Some(datagram) = Datagram::of(packet, decoded)
                && !self.dtls.datagram(&datagram, on)
            {
                self.quic.datagram(&datagram, on);
            }
            return;
        };
        let mut lost = Vec::new();
        let followed = self.tcp.contains(&direction);
        self.tcp.segment(direction, &segment, open, &mut |d, stream: &mut Stream, delivery: Delivery<'_>| {
            deliver(d, stream, delivery, &mut lost, on)
        });
        // A direction that starts TLS (a ClientHello, usually) has its peer
        // followed from the byte this segment acknowledges: the peer's
        // answer is then read even when its first segment arrives after
        // later ones.
        if !followed
            && self.tcp.contains(&direction)
            && let Some(ack) = segment.ack
        {
            let on_peer =
                &mut |d, stream: &mut Stream, delivery: Delivery<'_>| deliver(d, stream, delivery, &mut lost, on);
            self.tcp.follow_from(direction.reverse(), ack, Stream::new(), on_peer);
        }
        // A direction that lost its place is dropped, so that a later
        // segment beginning a record picks it up again.
        for d in lost {
            self.lost_sync += 1;
            self.tcp.forget(&d);
        }
    }

    /// Call at the end of the capture.
    pub fn finish(&mut self, on: &mut dyn FnMut(At, Happening<'_>)) {
        let mut lost = Vec::new();
        self.tcp
            .finish(&mut |d, stream: &mut Stream, delivery: Delivery<'_>| deliver(d, stream, delivery, &mut lost, on));
        self.lost_sync += lost.len() as u64;
    }
}

fn deliver(
    direction: Direction,
    stream: &mut Stream,
    delivery: Delivery<'_>,
    lost: &mut Vec<Direction>,
    on: &mut dyn FnMut(At, Happening<'_>),
) {
    let was_lost = stream.reader.is_lost();
    match delivery {
        Delivery::Data { bytes, frame } => {
            let at = At { direction, frame, transport: Transport::Tcp };
            stream.reader.feed(bytes, &mut |event| on(at, Happening::Record(event)));
        }
        Delivery::Gap(missing) => {
            let at = At { direction, frame: Frame::default(), transport: Transport::Tcp };
            stream.reader.gap(missing, &mut |event| on(at, Happening::Record(event)));
        }
        Delivery::End(end, frame) => {
            on(At { direction, frame: frame.unwrap_or_default(), transport: Transport::Tcp }, Happening::Ended(end));
        }
    }
    if !was_lost && stream.reader.is_lost() {
        lost.push(direction);
    }
}
