//! From packets to HTTP messages per TCP direction, over the shared
//! reassembler. A direction is followed from its first segment that begins
//! an HTTP/1 message (a request line or a status line), on any port, so a
//! connection whose start the capture missed is read from its next
//! message. Bodies are framed as RFC 9112 §6 says: by Content-Length, by
//! chunks, or (responses) until the connection closes; a response's framing
//! depends on its request (HEAD, CONNECT), taken from the other direction.
//! After a gap the direction is read again from its next message start.

use std::collections::VecDeque;

use pcapsule_guest::Packet;
use pcapsule_guest::decode::Decoded;
use pcapsule_guest::fast_hash::HashMap;
use pcapsule_guest::identify::begins_http_message;
use pcapsule_guest::reassembly::{Delivery, Direction, End, Frame, Limits, Reassembler, Segment, StreamState};

use crate::body::{Body, BodySummary};
use crate::message::{Head, Line, Parsed, parse};

/// Directions followed at once, bytes one may hold ahead of a hole, and
/// bytes held in all (out of order, partial heads, inflaters).
const TCP_LIMITS: Limits =
    Limits { max_streams: 4096, max_out_of_order_bytes: 256 * 1024, max_total_bytes: 32 * 1024 * 1024 };
/// Longest head read; a longer one loses the direction's sync.
const MAX_HEAD: usize = 64 * 1024;
/// Requests awaiting their responses per connection (pipelining).
const MAX_PENDING: usize = 64;
/// HTTP/2's connection preface, sent first with prior knowledge (h2c).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a request tells the framing of its response.
#[derive(Debug, Clone, Copy)]
struct Asked {
    head: bool,
    connect: bool,
}

/// Where a body's end is.
#[derive(Debug)]
enum Framing {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug)]
enum Chunk {
    /// Reading a chunk-size line (gathered in `Stream::pending`).
    Size,
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer fields up to the blank line.
    Trailer,
}

enum State {
    Head,
    Body(Framing),
    /// Protocol switched (101), or a CONNECT tunnel that carries no HTTP/1:
    /// what follows is not read.
    Tunnel,
    /// HTTP/2 with prior knowledge: seen, not decoded.
    Http2,
    /// Not at a message start: wait for one.
    Lost,
    /// After a CONNECT: HTTP again (a proxy's plain tunnel), or anything
    /// else (TLS, mostly), which makes it a tunnel.
    Connected,
}

/// One followed direction.
pub struct Stream {
    state: State,
    /// A partial head, chunk-size line or trailer.
    pending: Vec<u8>,
    body: Option<Body>,
    /// The last head was a response's.
    response: bool,
}

impl StreamState for Stream {
    fn held(&self) -> usize {
        self.pending.capacity() + self.body.as_ref().map_or(0, Body::footprint)
    }
}

/// What a direction delivered.
pub enum Happening {
    Head(Box<Head>),
    /// The message whose head came last ended (a response's, or a
    /// request's), with its body (none for a message framed without one).
    MessageEnd {
        body: Option<BodySummary>,
        frame: Frame,
        response: bool,
    },
    /// The direction ended (FIN, RST, reuse, eviction, the capture's end).
    Ended,
}

/// Counts of the scan, for the result's capture facts.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanCounts {
    pub lost_sync: u64,
    pub tunnels: u64,
    pub http2_prior_knowledge: u64,
}

/// Turns packets into messages.
pub struct Scanner {
    pub tcp: Reassembler<Stream>,
    /// Per request direction, what its requests asked, oldest first.
    asked: HashMap<Direction, VecDeque<Asked>>,
    /// Whether bodies are decoded and hashed (objects are asked for).
    digest: bool,
    pub counts: ScanCounts,
}

fn open(payload: &[u8]) -> Option<Stream> {
    let http2 = payload.starts_with(HTTP2_PREFACE);
    (begins_http_message(payload) || http2).then(|| Stream {
        state: State::Head,
        pending: Vec::new(),
        body: None,
        response: false,
    })
}

impl Scanner {
    pub fn new(digest: bool) -> Self {
        Scanner { tcp: Reassembler::new(TCP_LIMITS), asked: HashMap::default(), digest, counts: ScanCounts::default() }
    }

    /// Feeds one decoded packet; `on` receives what it completes.
    pub fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, on: &mut dyn FnMut(Direction, Happening)) {
        let Some((direction, segment)) = Segment::of(packet, decoded) else { return };
        let mut reader = Reader { asked: &mut self.asked, digest: self.digest, counts: &mut self.counts, on };
        self.tcp.segment(direction, &segment, open, &mut |d, stream, delivery| reader.deliver(d, stream, delivery));
    }

    /// The capture ended: streams still open end.
    pub fn finish(&mut self, on: &mut dyn FnMut(Direction, Happening)) {
        let mut reader = Reader { asked: &mut self.asked, digest: self.digest, counts: &mut self.counts, on };
        self.tcp.finish(&mut |d, stream, delivery| reader.deliver(d, stream, delivery));
    }
}

/// The parsing side of a delivery: what it needs besides the stream.
struct Reader<'a, 'b> {
    asked: &'a mut HashMap<Direction, VecDeque<Asked>>,
    digest: bool,
    counts: &'a mut ScanCounts,
    on: &'a mut (dyn FnMut(Direction, Happening) + 'b),
}

impl Reader<'_, '_> {
    fn deliver(&mut self, direction: Direction, stream: &mut Stream, delivery: Delivery<'_>) {
        match delivery {
            Delivery::Data { bytes, frame } => self.data(direction, stream, bytes, frame),
            Delivery::Gap(missing) => self.gap(direction, stream, missing),
            Delivery::End(end, frame) => {
                if let Some(body) = stream.body.take() {
                    // A body read until the close ends completely with it.
                    let complete = matches!(stream.state, State::Body(Framing::UntilClose)) && end == End::Closed;
                    let body = Some(body.finish(complete));
                    let frame = frame.unwrap_or_default();
                    (self.on)(direction, Happening::MessageEnd { body, frame, response: stream.response });
                }
                self.asked.remove(&direction);
                (self.on)(direction, Happening::Ended);
            }
        }
    }

    fn gap(&mut self, direction: Direction, stream: &mut Stream, missing: u64) {
        match &mut stream.state {
            State::Body(Framing::Length(left)) => {
                let lost = missing.min(*left);
                *left -= lost;
                if let Some(body) = &mut stream.body {
                    body.gap(lost);
                }
                if *left == 0 {
                    self.end_message(direction, stream, Frame::default(), true);
                }
                if missing > lost {
                    self.lose(stream);
                }
            }
            State::Body(Framing::UntilClose) => {
                if let Some(body) = &mut stream.body {
                    body.gap(missing);
                }
            }
            State::Tunnel | State::Http2 | State::Lost | State::Connected => {}
            State::Head | State::Body(Framing::Chunked(_)) => {
                if let Some(mut body) = stream.body.take() {
                    body.gap(missing);
                    let body = Some(body.finish(false));
                    (self.on)(
                        direction,
                        Happening::MessageEnd { body, frame: Frame::default(), response: stream.response },
                    );
                }
                self.lose(stream);
            }
        }
    }

    fn lose(&mut self, stream: &mut Stream) {
        stream.state = State::Lost;
        stream.pending = Vec::new();
        stream.body = None;
        self.counts.lost_sync += 1;
    }

    fn data(&mut self, direction: Direction, stream: &mut Stream, mut bytes: &[u8], frame: Frame) {
        while !bytes.is_empty() {
            bytes = match stream.state {
                State::Tunnel | State::Http2 => return,
                State::Lost | State::Connected => {
                    // Blank lines may come between messages (RFC 9112 §2.2).
                    let Some(start) = bytes.iter().position(|b| !matches!(b, b'\r' | b'\n')) else { return };
                    let bytes = &bytes[start..];
                    if !begins_http_message(bytes) {
                        if matches!(stream.state, State::Connected) {
                            stream.state = State::Tunnel;
                            self.counts.tunnels += 1;
                        }
                        return;
                    }
                    stream.state = State::Head;
                    bytes
                }
                State::Head => match self.head(direction, stream, bytes, frame) {
                    Some(rest) => rest,
                    None => return,
                },
                State::Body(Framing::Length(left)) => {
                    let take = bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    if let Some(body) = &mut stream.body {
                        body.data(&bytes[..take]);
                    }
                    let left = left - take as u64;
                    stream.state = State::Body(Framing::Length(left));
                    if left == 0 {
                        self.end_message(direction, stream, frame, true);
                    }
                    &bytes[take..]
                }
                State::Body(Framing::UntilClose) => {
                    if let Some(body) = &mut stream.body {
                        body.data(bytes);
                    }
                    return;
                }
                State::Body(Framing::Chunked(_)) => match self.chunked(direction, stream, bytes, frame) {
                    Some(rest) => rest,
                    None => return,
                },
            };
        }
    }

    /// Reads a head from `bytes` (after what `pending` holds); returns the
    /// bytes after it, or `None` when all were taken.
    fn head<'b>(
        &mut self,
        direction: Direction,
        stream: &mut Stream,
        bytes: &'b [u8],
        frame: Frame,
    ) -> Option<&'b [u8]> {
        // Blank lines between messages are allowed (RFC 9112 §2.2).
        let bytes = if stream.pending.is_empty() {
            let start = bytes.iter().position(|b| !matches!(b, b'\r' | b'\n')).unwrap_or(bytes.len());
            &bytes[start..]
        } else {
            bytes
        };
        if bytes.is_empty() {
            return None;
        }
        if stream.pending.is_empty() && bytes.starts_with(HTTP2_PREFACE) {
            stream.state = State::Http2;
            self.counts.http2_prior_knowledge += 1;
            return None;
        }
        let joined;
        let (input, before) = if stream.pending.is_empty() {
            (bytes, 0)
        } else {
            let before = stream.pending.len();
            stream.pending.extend_from_slice(bytes);
            joined = std::mem::take(&mut stream.pending);
            (&joined[..], before)
        };
        let response = input.starts_with(b"HTTP/");
        match parse(input, response, frame) {
            Parsed::Partial if input.len() <= MAX_HEAD => {
                stream.pending = input.to_vec();
                None
            }
            Parsed::Partial | Parsed::Invalid => {
                self.lose(stream);
                None
            }
            Parsed::Head(head, length) => {
                let rest = &bytes[length - before..];
                stream.response = response;
                self.framing(direction, stream, &head);
                let bodiless = matches!(stream.state, State::Head | State::Tunnel | State::Connected);
                let switched = matches!(stream.state, State::Tunnel);
                (self.on)(direction, Happening::Head(head));
                if bodiless {
                    (self.on)(direction, Happening::MessageEnd { body: None, frame, response });
                }
                if switched {
                    self.counts.tunnels += 1;
                    return None;
                }
                if matches!(stream.state, State::Body(Framing::Length(0))) {
                    self.end_message(direction, stream, frame, true);
                }
                Some(rest)
            }
        }
    }

    /// Sets the state after `head`: its body's framing, or none.
    fn framing(&mut self, direction: Direction, stream: &mut Stream, head: &Head) {
        let fields = &head.fields;
        let framing = match &head.line {
            Line::Request { method, .. } => {
                let queue = self.asked.entry(direction).or_default();
                if queue.len() == MAX_PENDING {
                    queue.pop_front();
                }
                queue.push_back(Asked { head: method == "HEAD", connect: method == "CONNECT" });
                if method == "CONNECT" {
                    stream.state = State::Connected;
                    return;
                }
                if fields.chunked {
                    Some(Framing::Chunked(Chunk::Size))
                } else {
                    fields.content_length.filter(|n| *n > 0).map(Framing::Length)
                }
            }
            Line::Response { status, .. } => {
                let status = *status;
                let interim = (100..200).contains(&status) && status != 101;
                let asked = if interim {
                    self.asked.get(&direction.reverse()).and_then(|q| q.front().copied())
                } else {
                    self.asked.get_mut(&direction.reverse()).and_then(VecDeque::pop_front)
                };
                let asked = asked.unwrap_or(Asked { head: false, connect: false });
                if status == 101 {
                    stream.state = State::Tunnel;
                    return;
                }
                if asked.connect && (200..300).contains(&status) {
                    stream.state = State::Connected;
                    return;
                }
                if interim || asked.head || status == 204 || status == 304 {
                    None
                } else if fields.chunked {
                    Some(Framing::Chunked(Chunk::Size))
                } else if let Some(length) = fields.content_length {
                    (length > 0).then_some(Framing::Length(length))
                } else {
                    Some(Framing::UntilClose)
                }
            }
        };
        match framing {
            Some(framing) => {
                stream.body = Some(Body::new(fields.content_encoding.as_deref(), self.digest));
                stream.state = State::Body(framing);
            }
            None => stream.state = State::Head,
        }
    }

    fn end_message(&mut self, direction: Direction, stream: &mut Stream, frame: Frame, complete: bool) {
        stream.state = State::Head;
        let body = stream.body.take().map(|b| b.finish(complete));
        (self.on)(direction, Happening::MessageEnd { body, frame, response: stream.response });
    }

    /// Reads chunked framing from `bytes`; returns what follows the last
    /// chunk's trailer, or `None` when all were taken.
    fn chunked<'b>(
        &mut self,
        direction: Direction,
        stream: &mut Stream,
        mut bytes: &'b [u8],
        frame: Frame,
    ) -> Option<&'b [u8]> {
        loop {
            let State::Body(Framing::Chunked(chunk)) = &mut stream.state else { return Some(bytes) };
            match chunk {
                Chunk::Data(left) => {
                    let take = bytes.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    if let Some(body) = &mut stream.body {
                        body.data(&bytes[..take]);
                    }
                    *left -= take as u64;
                    if *left == 0 {
                        *chunk = Chunk::DataEnd;
                    }
                    bytes = &bytes[take..];
                }
                Chunk::Size | Chunk::DataEnd | Chunk::Trailer => {
                    // Lines: the chunk size (extensions after `;`), the CRLF
                    // ending a chunk's data, trailer fields.
                    let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
                        if stream.pending.len() + bytes.len() > 4096 {
                            self.lose(stream);
                        } else {
                            stream.pending.extend_from_slice(bytes);
                        }
                        return None;
                    };
                    stream.pending.extend_from_slice(&bytes[..end]);
                    bytes = &bytes[end + 1..];
                    let line = std::mem::take(&mut stream.pending);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    match chunk {
                        Chunk::DataEnd if line.is_empty() => *chunk = Chunk::Size,
                        Chunk::Size => {
                            let digits = line.split(|b| *b == b';').next().unwrap_or(b"");
                            let size =
                                std::str::from_utf8(digits).ok().and_then(|d| u64::from_str_radix(d.trim(), 16).ok());
                            match size {
                                Some(0) => *chunk = Chunk::Trailer,
                                Some(size) => *chunk = Chunk::Data(size),
                                None => {
                                    self.lose(stream);
                                    return None;
                                }
                            }
                        }
                        Chunk::Trailer if line.is_empty() => {
                            self.end_message(direction, stream, frame, true);
                            return Some(bytes);
                        }
                        Chunk::Trailer => {}
                        Chunk::DataEnd | Chunk::Data(_) => {
                            self.lose(stream);
                            return None;
                        }
                    }
                }
            }
            if bytes.is_empty() {
                return None;
            }
        }
    }
}
