//! From packets to SIP messages. SIP is recognised by content (a request or
//! status line), on any port: UDP datagrams carry one message each; TCP
//! streams are reassembled per direction and split into messages by the
//! blank line after the headers and Content-Length (several messages in one
//! segment, one message across several). Stream buffers are bounded, per
//! stream and in total. A TCP connection that starts with a WebSocket
//! upgrade for the `sip` subprotocol (RFC 7118, on any port) is decoded as
//! WebSocket frames in both directions instead (see `ws`).

use std::net::IpAddr;

use etherparse::TransportSlice;
use pcapsule_guest::decode::Decoded;
use pcapsule_guest::reassembly::{Delivery, Direction, End, Frame, Limits, Reassembler, Segment, StreamState};
use pcapsule_guest::sctp::SctpReader;
use pcapsule_guest::{Packet, Timestamp};

use crate::message::{
    MAX_START_LINE, first_line, header_end, leading_crlf, looks_like_sip, scan_content_length, start_line_offset,
};
use crate::ws::{self, Answer, Decoder, WsCounts};

/// Ports where SIP is expected (5060 UDP/TCP, 5061 TLS, and two common alternatives).
pub const SIP_PORTS: [u16; 4] = [5060, 5061, 5080, 6060];
/// Bytes one direction may buffer: a message needing more is reported with
/// the part that fits and the rest of its body is skipped.
pub const MAX_STREAM_BUFFER: usize = 128 * 1024;
/// A header block with no blank line after this many bytes is cut here.
const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Bytes held across all streams; the oldest streams are dropped beyond it.
const MAX_TOTAL_BUFFERED: usize = 8 * 1024 * 1024;

/// Transport a message arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// One message per SCTP user message (RFC 4168).
    Sctp,
    /// WebSocket over TCP (RFC 7118), without TLS.
    Ws,
}

impl Transport {
    /// "UDP", "TCP" (as mcpcap writes them), "SCTP" or "WS".
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
        }
    }
}

/// One SIP message as found in the capture, not yet parsed.
pub struct Found<'a> {
    /// The frame that carried (or completed) the message.
    pub packet_number: u64,
    pub timestamp: Option<Timestamp>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub transport: Transport,
    pub bytes: &'a [u8],
    /// Flags the framing adds (the parser cannot see them).
    pub framing_flags: &'a [&'static str],
}

/// What the scanner saw besides SIP messages (the reassembler counts gaps
/// and evicted streams).
#[derive(Debug, Default, Clone)]
pub struct ScanCounts {
    /// Bytes in SIP streams that were not part of a message.
    pub tcp_junk_bytes: u64,
    /// Body bytes skipped because a message did not fit the stream buffer.
    pub tcp_skipped_body_bytes: u64,
    pub ws: WsCounts,
}

/// Streams tracked at once, bytes one may hold ahead of a hole, and bytes
/// held in all (out of order and in partial messages).
const TCP_LIMITS: Limits =
    Limits { max_streams: 1024, max_out_of_order_bytes: MAX_STREAM_BUFFER, max_total_bytes: MAX_TOTAL_BUFFERED };

/// How a stream's bytes are read.
enum Mode {
    /// SIP messages framed by Content-Length.
    Sip,
    /// A client's HTTP upgrade request, until its header block ends.
    UpgradeRequest,
    /// The server's answer to an upgrade request.
    UpgradeAnswer,
    WebSocket(Box<Decoder>),
}

/// What a handshake step asks of the other direction.
enum Handshake {
    Requested,
    Answered { deflate: bool },
    Refused,
    NotWebSocket,
}

/// One direction of a TCP connection that carries SIP.
pub struct Stream {
    mode: Mode,
    buffer: Vec<u8>,
    /// Body bytes still to discard from a message too large to buffer.
    skip: usize,
    /// Junk was dropped before the next message.
    junk_pending: bool,
    /// The frame that delivered the last bytes: a message cut off by the
    /// end of its stream is reported there.
    last_frame: Frame,
}

impl Stream {
    fn new(mode: Mode) -> Self {
        Stream { mode, buffer: Vec::new(), skip: 0, junk_pending: false, last_frame: Frame::default() }
    }

    /// Only a segment that starts a SIP message (or a WebSocket upgrade for
    /// SIP) opens a stream, so non-SIP TCP (TLS on 5061, HTTP anywhere) is
    /// never buffered.
    fn open(payload: &[u8]) -> Option<Stream> {
        if payload.is_empty() {
            None
        } else if looks_like_sip(payload) {
            Some(Stream::new(Mode::Sip))
        } else if ws::may_start_upgrade(payload) {
            Some(Stream::new(Mode::UpgradeRequest))
        } else {
            None
        }
    }
}

impl StreamState for Stream {
    fn held(&self) -> usize {
        self.buffer.len() + if let Mode::WebSocket(d) = &self.mode { d.held() } else { 0 }
    }
}

/// Turns packets into SIP messages.
pub struct Scanner {
    /// SIP over TCP and WebSocket, per direction.
    pub tcp: Reassembler<Stream>,
    /// SIP over SCTP.
    pub sctp: SctpReader,
    pub counts: ScanCounts,
}

struct Meta {
    packet_number: u64,
    timestamp: Option<Timestamp>,
    key: Direction,
}

impl Meta {
    fn found<'a>(&self, bytes: &'a [u8], framing_flags: &'a [&'static str]) -> Found<'a> {
        self.found_on(Transport::Tcp, bytes, framing_flags)
    }

    fn found_on<'a>(&self, transport: Transport, bytes: &'a [u8], framing_flags: &'a [&'static str]) -> Found<'a> {
        Found {
            packet_number: self.packet_number,
            timestamp: self.timestamp,
            src: self.key.src,
            src_port: self.key.src_port,
            dst: self.key.dst,
            dst_port: self.key.dst_port,
            transport,
            bytes,
            framing_flags,
        }
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Scanner { tcp: Reassembler::new(TCP_LIMITS), sctp: SctpReader::new(), counts: ScanCounts::default() }
    }

    /// Feeds one decoded packet; `found` receives each SIP message it completes.
    pub fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, found: &mut dyn FnMut(Found<'_>)) {
        match decoded.transport() {
            Some(TransportSlice::Udp(udp)) => {
                let Some((src, dst)) = decoded.ip_addrs() else { return };
                let payload = udp.payload();
                if !decoded.is_fragment() && looks_like_sip(payload) {
                    found(Found {
                        packet_number: packet.number,
                        timestamp: packet.timestamp,
                        src,
                        dst,
                        src_port: udp.source_port(),
                        dst_port: udp.destination_port(),
                        transport: Transport::Udp,
                        bytes: payload,
                        framing_flags: &[],
                    });
                }
            }
            Some(TransportSlice::Tcp(_)) => {
                if let Some((direction, segment)) = Segment::of(packet, decoded) {
                    self.segment(direction, &segment, found);
                }
            }
            Some(_) => {}
            None => {
                let frame = Frame { number: packet.number, timestamp: packet.timestamp };
                self.sctp.packet(decoded, frame, &mut |message| {
                    if looks_like_sip(message.bytes) {
                        found(Found {
                            packet_number: message.frame.number,
                            timestamp: message.frame.timestamp,
                            src: message.direction.src,
                            dst: message.direction.dst,
                            src_port: message.direction.src_port,
                            dst_port: message.direction.dst_port,
                            transport: Transport::Sctp,
                            bytes: message.bytes,
                            framing_flags: &[],
                        });
                    }
                });
            }
        }
    }

    fn segment(&mut self, direction: Direction, segment: &Segment<'_>, found: &mut dyn FnMut(Found<'_>)) {
        let Scanner { tcp, counts, .. } = self;
        let mut steps = Vec::new();
        tcp.segment(direction, segment, Stream::open, &mut |d, stream: &mut Stream, delivery: Delivery<'_>| {
            deliver(d, stream, delivery, counts, &mut steps, found)
        });
        for (key, handshake) in steps {
            let reverse = key.reverse();
            match handshake {
                Handshake::Requested => {
                    counts.ws.handshakes += 1;
                    // Following a direction can only evict another, which delivers nothing.
                    tcp.follow(reverse, Stream::new(Mode::UpgradeAnswer), &mut |_, _, _| {});
                }
                Handshake::Answered { deflate } => {
                    counts.ws.upgrades += 1;
                    if let Some(Stream { mode: Mode::WebSocket(client), .. }) = tcp.state_mut(&reverse) {
                        client.deflate = deflate;
                    }
                }
                Handshake::Refused => {
                    tcp.forget(&key);
                    if matches!(tcp.state_mut(&reverse), Some(Stream { mode: Mode::WebSocket(_), .. })) {
                        tcp.forget(&reverse);
                    }
                }
                Handshake::NotWebSocket => {
                    tcp.forget(&key);
                }
            }
        }
    }

    /// Call at the end of the capture: partial messages still buffered are
    /// reported (flagged) as of the stream's last packet.
    pub fn finish(&mut self, found: &mut dyn FnMut(Found<'_>)) {
        self.sctp.finish();
        let Scanner { tcp, counts, .. } = self;
        tcp.finish(&mut |d, stream: &mut Stream, delivery: Delivery<'_>| {
            deliver(d, stream, delivery, counts, &mut Vec::new(), found)
        });
    }
}

/// Hands what a direction delivers to its reader (SIP framing, the upgrade
/// handshake or WebSocket frames); handshake steps, which act on the other
/// direction, are pushed to `handshakes` for the caller. `now` is the frame being read; `None` at
/// the end of the capture.
fn deliver(
    key: Direction,
    stream: &mut Stream,
    delivery: Delivery<'_>,
    counts: &mut ScanCounts,
    handshakes: &mut Vec<(Direction, Handshake)>,
    found: &mut dyn FnMut(Found<'_>),
) {
    // A message is reported at the frame that completed it, or that ended
    // its stream.
    if let Delivery::Data { frame, .. } | Delivery::End(_, Some(frame)) = delivery {
        stream.last_frame = frame;
    }
    let meta = Meta { packet_number: stream.last_frame.number, timestamp: stream.last_frame.timestamp, key };
    let mut data = match delivery {
        Delivery::Data { bytes, .. } => bytes,
        Delivery::Gap(missing) => {
            if let Mode::WebSocket(decoder) = &mut stream.mode {
                let ws_found =
                    &mut |bytes: &[u8], flags: &[&'static str]| found(meta.found_on(Transport::Ws, bytes, flags));
                decoder.gap(missing, &mut counts.ws, ws_found);
                return;
            }
            let skipped = (stream.skip as u64).min(missing);
            stream.skip -= skipped as usize;
            counts.tcp_skipped_body_bytes += skipped;
            if skipped < missing {
                // The partial message before the gap cannot be completed.
                counts.tcp_junk_bytes += stream.buffer.len() as u64;
                stream.buffer.clear();
                stream.skip = 0;
                stream.junk_pending = true;
            }
            return;
        }
        Delivery::End(End::Evicted, _) => return,
        Delivery::End(..) => {
            flush(stream, &meta, counts, found);
            return;
        }
    };
    if stream.skip > 0 {
        let n = stream.skip.min(data.len());
        stream.skip -= n;
        counts.tcp_skipped_body_bytes += n as u64;
        data = &data[n..];
    }
    match &mut stream.mode {
        Mode::WebSocket(decoder) => {
            let ws_found =
                &mut |bytes: &[u8], flags: &[&'static str]| found(meta.found_on(Transport::Ws, bytes, flags));
            decoder.feed(data, &mut counts.ws, ws_found);
        }
        Mode::Sip => {
            stream.buffer.extend_from_slice(data);
            frame(stream, &meta, counts, found);
        }
        Mode::UpgradeRequest | Mode::UpgradeAnswer => {
            stream.buffer.extend_from_slice(data);
            if let Some(step) = handshake(stream, &meta, counts, found) {
                handshakes.push((key, step));
            }
        }
    }
}

/// Pulls every complete message out of a stream's buffer.
fn frame(stream: &mut Stream, meta: &Meta, counts: &mut ScanCounts, found: &mut dyn FnMut(Found<'_>)) {
    let mut consumed = 0;
    loop {
        let buf = &stream.buffer[consumed..];
        if buf.is_empty() {
            break;
        }
        let crlf = leading_crlf(buf);
        if crlf > 0 {
            consumed += crlf;
            continue;
        }
        let (line, terminated) = first_line(buf);
        if !terminated {
            if buf.len() > MAX_START_LINE {
                counts.tcp_junk_bytes += buf.len() as u64;
                stream.junk_pending = true;
                consumed += buf.len();
            }
            break;
        }
        match start_line_offset(line) {
            Some(0) => {}
            Some(junk) => {
                counts.tcp_junk_bytes += junk as u64;
                stream.junk_pending = true;
                consumed += junk;
                continue;
            }
            None => {
                let skip = memchr::memchr(b'\n', buf).expect("terminated") + 1;
                counts.tcp_junk_bytes += skip as u64;
                stream.junk_pending = true;
                consumed += skip;
                continue;
            }
        }
        let flags: &'static [&'static str] = if stream.junk_pending { &["junk_before_start_line"] } else { &[] };
        let Some(end) = header_end(buf) else {
            if buf.len() >= MAX_HEADER_BLOCK {
                stream.junk_pending = false;
                found(meta.found(buf, flags));
                consumed += buf.len();
            }
            break;
        };
        let body = match scan_content_length(&buf[..end]) {
            Some(Ok(n)) => n,
            _ => 0,
        };
        let total = end.saturating_add(body);
        if buf.len() >= total {
            stream.junk_pending = false;
            found(meta.found(&buf[..total], flags));
            consumed += total;
            continue;
        }
        if total > MAX_STREAM_BUFFER {
            stream.junk_pending = false;
            let flags: &'static [&'static str] = if flags.is_empty() {
                &["body_exceeds_stream_buffer"]
            } else {
                &["junk_before_start_line", "body_exceeds_stream_buffer"]
            };
            found(meta.found(buf, flags));
            stream.skip = total - buf.len();
            consumed += buf.len();
        }
        break;
    }
    stream.buffer.drain(..consumed);
}

/// Reads an upgrade request or its answer once the header block is complete,
/// switching the stream to WebSocket when it succeeds.
fn handshake(
    stream: &mut Stream,
    meta: &Meta,
    counts: &mut ScanCounts,
    found: &mut dyn FnMut(Found<'_>),
) -> Option<Handshake> {
    let Some(end) = header_end(&stream.buffer) else {
        return (stream.buffer.len() > MAX_HEADER_BLOCK).then_some(Handshake::NotWebSocket);
    };
    let block = &stream.buffer[..end];
    let (decoder, result) = match stream.mode {
        Mode::UpgradeRequest if ws::is_upgrade_request(block) => (Decoder::new(true), Handshake::Requested),
        Mode::UpgradeRequest => return Some(Handshake::NotWebSocket),
        _ => match ws::upgrade_answer(block) {
            Answer::Accepted { deflate } => {
                let mut decoder = Decoder::new(false);
                decoder.deflate = deflate;
                (decoder, Handshake::Answered { deflate })
            }
            Answer::Rejected => return Some(Handshake::Refused),
        },
    };
    // Frames may follow the handshake in the same segment.
    let rest = stream.buffer.split_off(end);
    stream.buffer = Vec::new();
    let mut decoder = Box::new(decoder);
    decoder.feed(&rest, &mut counts.ws, &mut |bytes: &[u8], flags: &[&'static str]| {
        found(meta.found_on(Transport::Ws, bytes, flags))
    });
    stream.mode = Mode::WebSocket(decoder);
    Some(result)
}

/// At the end of a stream: a buffered message start is reported as it is
/// (the parser flags the missing body); anything else is junk. A WebSocket
/// message in progress is reported the same way.
fn flush(stream: &mut Stream, meta: &Meta, counts: &mut ScanCounts, found: &mut dyn FnMut(Found<'_>)) {
    match &mut stream.mode {
        Mode::Sip => {}
        Mode::WebSocket(decoder) => {
            decoder.flush(&mut counts.ws, &mut |bytes: &[u8], flags: &[&'static str]| {
                found(meta.found_on(Transport::Ws, bytes, flags))
            });
            return;
        }
        Mode::UpgradeRequest | Mode::UpgradeAnswer => {
            stream.buffer.clear();
            return;
        }
    }
    if stream.buffer.is_empty() {
        return;
    }
    if looks_like_sip(&stream.buffer) {
        let flags: &'static [&'static str] = if stream.junk_pending {
            &["junk_before_start_line", "stream_ended_mid_message"]
        } else {
            &["stream_ended_mid_message"]
        };
        found(meta.found(&stream.buffer, flags));
    } else {
        counts.tcp_junk_bytes += stream.buffer.len() as u64;
    }
    stream.buffer.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Direction = Direction {
        src: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        src_port: 40000,
        dst: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        dst_port: 5060,
    };

    fn collect(s: &mut Scanner, n: u64, seq: u32, data: &[u8], out: &mut Vec<Vec<u8>>) {
        let segment = Segment {
            seq,
            ack: None,
            syn: false,
            fin: false,
            rst: false,
            payload: data,
            wire_len: data.len(),
            frame: Frame { number: n, timestamp: None },
        };
        s.segment(KEY, &segment, &mut |f: Found<'_>| out.push(f.bytes.to_vec()));
    }

    #[test]
    fn streams_split_and_join_messages() {
        let a = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 4\r\n\r\nabcd".to_vec();
        let b = b"SIP/2.0 200 OK\r\nCall-ID: 1\r\nl: 0\r\n\r\n".to_vec();
        let mut all = a.clone();
        all.extend_from_slice(b"\r\n\r\n");
        all.extend_from_slice(&b);
        all.extend_from_slice(&a);
        let mut s = Scanner::new();
        let mut out = Vec::new();
        let cut = all.len() - 10;
        collect(&mut s, 1, 100, &all[..cut], &mut out);
        assert_eq!(out, vec![a.clone(), b.clone()]);
        collect(&mut s, 2, 100 + cut as u32 - 4, &all[cut - 4..], &mut out);
        assert_eq!(out, vec![a.clone(), b, a], "keep-alives skipped, retransmitted bytes not repeated");
        assert_eq!(s.counts.tcp_junk_bytes, 0);
    }

    #[test]
    fn non_sip_streams_are_not_buffered_and_buffers_are_bounded() {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        collect(&mut s, 1, 1, b"\x16\x03\x01\x02\x00 TLS hello", &mut out);
        assert!(!s.tcp.contains(&KEY));
        let head = b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 1000000\r\n\r\n";
        collect(&mut s, 2, 1, head, &mut out);
        assert_eq!(out.len(), 1, "a body that cannot fit is not waited for");
        let mut seq = 1 + head.len() as u32;
        for n in 0..20 {
            collect(&mut s, 3 + n, seq, &[b'x'; 60_000], &mut out);
            seq += 60_000;
            assert!(s.tcp.state_mut(&KEY).expect("followed").buffer.len() <= MAX_STREAM_BUFFER);
        }
        assert_eq!(out.len(), 1);
        assert!(s.counts.tcp_skipped_body_bytes > 0);
    }
}
