//! SIP over WebSocket (RFC 7118) without TLS: the HTTP/1.1 upgrade handshake
//! that switches a TCP connection to WebSocket with the `sip` subprotocol,
//! and a streaming RFC 6455 frame decoder (masking, fragmentation, control
//! frames) whose data messages are SIP messages. Memory is bounded: a frame
//! header is at most 14 bytes and a message is cut at `MAX_STREAM_BUFFER`.

use std::collections::BTreeMap;

use crate::message::{contains_ignoring_case, header_end, looks_like_sip};
use crate::scan::MAX_STREAM_BUFFER;

/// What the WebSocket decoding saw, over every connection.
#[derive(Debug, Default, Clone)]
pub struct WsCounts {
    /// Client upgrade requests for the `sip` subprotocol.
    pub handshakes: u64,
    /// Requests answered with 101 Switching Protocols.
    pub upgrades: u64,
    pub frames: u64,
    pub control_frames: u64,
    /// Complete data messages (text or binary), SIP or not.
    pub messages: u64,
    pub non_sip_messages: u64,
    /// permessage-deflate messages, which are not decompressed.
    pub compressed_messages: u64,
    /// Frames breaking RFC 6455 (counted once each), and by problem.
    pub malformed_frames: u64,
    pub problems: BTreeMap<&'static str, u64>,
    /// Payload bytes not kept: beyond the message cap, compressed, in
    /// malformed frames, in TCP gaps or after the framing was lost.
    pub skipped_bytes: u64,
}

/// Whether the first segment of a stream may be a WebSocket upgrade request
/// for SIP (the whole request is checked once its header block is complete).
pub fn may_start_upgrade(payload: &[u8]) -> bool {
    if !payload.starts_with(b"GET ") {
        return false;
    }
    match header_end(payload) {
        Some(end) => is_upgrade_request(&payload[..end]),
        None => contains_ignoring_case(payload, b"websocket"),
    }
}

fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// The values of every `name` header of an HTTP header block.
fn header_values<'a>(block: &'a [u8], name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    lines(block).skip(1).filter_map(move |line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon].trim_ascii().eq_ignore_ascii_case(name).then(|| line[colon + 1..].trim_ascii())
    })
}

/// Whether a `name` header lists `token` (comma-separated, parameters after `;` ignored).
fn has_token(block: &[u8], name: &[u8], token: &[u8]) -> bool {
    header_values(block, name).any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.split(|&b| b == b';').next().unwrap_or(t).trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// `GET <target> HTTP/1.x` with `Upgrade: websocket` and `Sec-WebSocket-Protocol: sip`.
pub fn is_upgrade_request(block: &[u8]) -> bool {
    let first = lines(block).next().unwrap_or_default();
    first.starts_with(b"GET ")
        && first.rsplit(|&b| b == b' ').next().is_some_and(|v| v.starts_with(b"HTTP/1."))
        && has_token(block, b"upgrade", b"websocket")
        && has_token(block, b"sec-websocket-protocol", b"sip")
}

/// The server's answer to an upgrade request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 101 Switching Protocols to `sip` (or no subprotocol named);
    /// `deflate`: permessage-deflate was negotiated.
    Accepted {
        deflate: bool,
    },
    Rejected,
}

pub fn upgrade_answer(block: &[u8]) -> Answer {
    let first = lines(block).next().unwrap_or_default();
    let switched = first.starts_with(b"HTTP/1.")
        && first.get(8..12) == Some(b" 101".as_slice())
        && first.get(12).is_none_or(|&b| b == b' ');
    let other_protocol = header_values(block, b"sec-websocket-protocol").next().is_some()
        && !has_token(block, b"sec-websocket-protocol", b"sip");
    if !switched || other_protocol {
        return Answer::Rejected;
    }
    Answer::Accepted { deflate: has_token(block, b"sec-websocket-extensions", b"permessage-deflate") }
}

struct Frame {
    /// Payload belongs to the current data message (else it is skipped).
    data: bool,
    /// Ping, pong or close: its payload is not counted as skipped.
    control: bool,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes already read (the masking key position).
    pos: u64,
}

#[derive(Default)]
struct Message {
    bytes: Vec<u8>,
    malformed: bool,
    oversized: bool,
    /// Not decodable (compressed, or part of it was lost in a TCP gap).
    discard: bool,
    extra: Vec<&'static str>,
}

/// One direction of a WebSocket connection, decoded as bytes arrive.
pub struct Decoder {
    from_client: bool,
    /// permessage-deflate was negotiated: RSV1 marks a compressed message.
    pub deflate: bool,
    head: Vec<u8>,
    frame: Option<Frame>,
    message: Option<Message>,
    /// The framing could not be followed any more (a TCP gap, an impossible length).
    lost: bool,
}

type Out<'o> = dyn FnMut(&[u8], &[&'static str]) + 'o;

impl Decoder {
    pub fn new(from_client: bool) -> Self {
        Decoder { from_client, deflate: false, head: Vec::new(), frame: None, message: None, lost: false }
    }

    /// Bytes held in memory.
    pub fn held(&self) -> usize {
        self.head.len() + self.message.as_ref().map_or(0, |m| m.bytes.len())
    }

    /// Feeds stream bytes; `out` receives each complete SIP message with its flags.
    pub fn feed(&mut self, mut data: &[u8], counts: &mut WsCounts, out: &mut Out<'_>) {
        while !data.is_empty() {
            if self.lost {
                counts.skipped_bytes += data.len() as u64;
                return;
            }
            if let Some(frame) = &mut self.frame {
                let n = frame.remaining.min(data.len() as u64) as usize;
                let (chunk, rest) = data.split_at(n);
                data = rest;
                let kept = match (&mut self.message, frame.data) {
                    (Some(m), true) if !m.discard => {
                        let room = MAX_STREAM_BUFFER.saturating_sub(m.bytes.len());
                        let take = room.min(n);
                        let start = m.bytes.len();
                        m.bytes.extend_from_slice(&chunk[..take]);
                        if let Some(mask) = frame.mask {
                            for (i, b) in m.bytes[start..].iter_mut().enumerate() {
                                *b ^= mask[((frame.pos + i as u64) % 4) as usize];
                            }
                        }
                        if take < n && !m.oversized {
                            m.oversized = true;
                            counts.malformed_frames += 1;
                            *counts.problems.entry("oversized_message").or_default() += 1;
                        }
                        take
                    }
                    _ => 0,
                };
                if !frame.control {
                    counts.skipped_bytes += (n - kept) as u64;
                }
                frame.remaining -= n as u64;
                frame.pos += n as u64;
                if frame.remaining == 0 {
                    self.end_frame(counts, out);
                }
                continue;
            }
            let need = if self.head.len() < 2 { 2 } else { header_len(&self.head) };
            if self.head.len() < need {
                let take = (need - self.head.len()).min(data.len());
                self.head.extend_from_slice(&data[..take]);
                data = &data[take..];
                continue;
            }
            self.start_frame(counts, out);
        }
        if self.frame.is_none() && !self.lost && self.head.len() >= 2 && self.head.len() == header_len(&self.head) {
            self.start_frame(counts, out);
        }
    }

    /// `head` holds a complete frame header.
    fn start_frame(&mut self, counts: &mut WsCounts, out: &mut Out<'_>) {
        let head = std::mem::take(&mut self.head);
        let (b0, b1) = (head[0], head[1]);
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let opcode = b0 & 0x0f;
        let masked = b1 & 0x80 != 0;
        let len = match b1 & 0x7f {
            126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
            127 => u64::from_be_bytes(head[2..10].try_into().expect("8 bytes")),
            n => u64::from(n),
        };
        let mask = masked.then(|| head[head.len() - 4..].try_into().expect("4 bytes"));
        counts.frames += 1;
        let mut problems: Vec<&'static str> = Vec::new();
        if len >> 63 != 0 {
            // RFC 6455: the most significant bit must be 0. Nothing after
            // this frame can be located.
            note(counts, &["invalid_length"]);
            self.lost = true;
            if let Some(mut m) = self.message.take() {
                m.malformed = true;
                m.extra.push("stream_ended_mid_message");
                deliver(m, counts, out);
            }
            return;
        }
        if masked != self.from_client {
            problems.push(if self.from_client { "unmasked_client_frame" } else { "masked_server_frame" });
        }
        let data = match opcode {
            0x8..=0xA => {
                counts.control_frames += 1;
                if !fin {
                    problems.push("fragmented_control_frame");
                }
                if len > 125 {
                    problems.push("control_frame_too_long");
                }
                if rsv != 0 {
                    problems.push("reserved_bits");
                }
                false
            }
            0x1 | 0x2 => {
                if let Some(mut m) = self.message.take() {
                    problems.push("unfinished_message");
                    m.extra.push("ws_message_interrupted");
                    deliver(m, counts, out);
                }
                let compressed = self.deflate && rsv & 0x4 != 0;
                if rsv & if self.deflate { 0x3 } else { 0x7 } != 0 {
                    problems.push("reserved_bits");
                }
                if compressed {
                    counts.compressed_messages += 1;
                }
                self.message = Some(Message { discard: compressed, ..Message::default() });
                true
            }
            0x0 => match &self.message {
                None => {
                    problems.push("unexpected_continuation");
                    false
                }
                Some(_) => {
                    if rsv != 0 {
                        problems.push("reserved_bits");
                    }
                    true
                }
            },
            _ => {
                problems.push("bad_opcode");
                false
            }
        };
        if !problems.is_empty() {
            note(counts, &problems);
            if data && let Some(m) = &mut self.message {
                m.malformed = true;
            }
        }
        let control = (0x8..=0xA).contains(&opcode);
        self.frame = Some(Frame { data, control, fin, mask, remaining: len, pos: 0 });
        if len == 0 {
            self.end_frame(counts, out);
        }
    }

    fn end_frame(&mut self, counts: &mut WsCounts, out: &mut Out<'_>) {
        let Some(frame) = self.frame.take() else { return };
        if frame.data
            && frame.fin
            && let Some(m) = self.message.take()
        {
            deliver(m, counts, out);
        }
    }

    /// `n` bytes of the stream were not captured.
    pub fn gap(&mut self, n: u64, counts: &mut WsCounts, out: &mut Out<'_>) {
        if self.lost {
            return;
        }
        match &mut self.frame {
            // Inside one frame's payload the framing survives; the message does not.
            Some(frame) if frame.remaining >= n => {
                frame.remaining -= n;
                frame.pos += n;
                counts.skipped_bytes += n;
                if frame.data
                    && let Some(m) = &mut self.message
                {
                    m.discard = true;
                    m.bytes = Vec::new();
                }
                if frame.remaining == 0 {
                    self.end_frame(counts, out);
                }
            }
            _ => {
                self.lost = true;
                self.frame = None;
                self.message = None;
                self.head.clear();
            }
        }
    }

    /// The stream ended: a message in progress is reported as it is.
    pub fn flush(&mut self, counts: &mut WsCounts, out: &mut Out<'_>) {
        if let Some(frame) = self.frame.take()
            && frame.remaining > 0
        {
            note(counts, &["truncated_frame"]);
        }
        if let Some(mut m) = self.message.take() {
            m.extra.push("stream_ended_mid_message");
            deliver(m, counts, out);
        }
        self.head.clear();
    }
}

/// The length of a frame header from its first two bytes.
fn header_len(head: &[u8]) -> usize {
    let extended = match head[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + if head[1] & 0x80 != 0 { 4 } else { 0 }
}

fn note(counts: &mut WsCounts, problems: &[&'static str]) {
    counts.malformed_frames += 1;
    for p in problems {
        *counts.problems.entry(p).or_default() += 1;
    }
}

fn deliver(m: Message, counts: &mut WsCounts, out: &mut Out<'_>) {
    counts.messages += 1;
    if m.discard {
        return;
    }
    if !looks_like_sip(&m.bytes) {
        counts.non_sip_messages += 1;
        return;
    }
    let mut flags = Vec::new();
    if m.malformed {
        flags.push("ws_malformed_frame");
    }
    if m.oversized {
        flags.push("ws_message_exceeds_buffer");
    }
    flags.extend(m.extra);
    out(&m.bytes, &flags);
}

/// A frame as a client (masked) or server sends it.
#[cfg(test)]
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_bytewise(d: &mut Decoder, data: &[u8], counts: &mut WsCounts) -> Vec<(Vec<u8>, Vec<&'static str>)> {
        let mut got = Vec::new();
        for b in data {
            d.feed(std::slice::from_ref(b), counts, &mut |m, f| got.push((m.to_vec(), f.to_vec())));
        }
        got
    }

    #[test]
    fn frames_fed_byte_by_byte_with_all_length_forms() {
        let small = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n".to_vec();
        let mut medium = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 2\r\n\r\n".to_vec();
        medium.resize(300, b'x');
        let mut large = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: 3\r\n\r\n".to_vec();
        large.resize(70_000, b'y');
        let k = Some([1, 2, 3, 4]);
        let mut data = frame(true, 1, &small, k);
        data.extend(frame(true, 9, b"ping", k));
        data.extend(frame(true, 2, &medium, k));
        data.extend(frame(false, 1, &large[..10], k));
        data.extend(frame(true, 0, &large[10..], k));
        let mut counts = WsCounts::default();
        let got = decode_bytewise(&mut Decoder::new(true), &data, &mut counts);
        assert_eq!(got, vec![(small, vec![]), (medium, vec![]), (large, vec![])]);
        assert_eq!((counts.frames, counts.control_frames, counts.malformed_frames), (5, 1, 0));
    }

    #[test]
    fn oversized_and_bad_frames_are_bounded_and_counted() {
        let mut big = b"MESSAGE sip:a@b SIP/2.0\r\n\r\n".to_vec();
        big.resize(MAX_STREAM_BUFFER + 5000, b'z');
        let mut data = frame(true, 1, &big, None);
        data.extend(frame(true, 5, b"??", None));
        data.extend(frame(true, 0, b"orphan", None));
        data.extend(frame(true, 1, b"SIP/2.0 200 OK\r\n\r\n", Some([9, 9, 9, 9])));
        let mut counts = WsCounts::default();
        let mut got = Vec::new();
        let mut d = Decoder::new(false);
        d.feed(&data, &mut counts, &mut |m, f| got.push((m.len(), f.to_vec())));
        assert_eq!(got, vec![(MAX_STREAM_BUFFER, vec!["ws_message_exceeds_buffer"]), (18, vec!["ws_malformed_frame"])]);
        assert_eq!(counts.skipped_bytes, 5000 + 2 + 6);
        for p in ["oversized_message", "bad_opcode", "unexpected_continuation", "masked_server_frame"] {
            assert_eq!(counts.problems[p], 1, "{p}");
        }
        // An impossible 64-bit length loses the framing, without failing.
        let mut bad = vec![0x81, 127];
        bad.extend_from_slice(&u64::MAX.to_be_bytes());
        bad.extend_from_slice(b"more bytes");
        d.feed(&bad, &mut counts, &mut |_, _| panic!("nothing to report"));
        assert_eq!(counts.problems["invalid_length"], 1);
        assert!(d.held() == 0);
    }

    #[test]
    fn a_gap_inside_a_frame_drops_its_message_but_keeps_the_framing() {
        let sip = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n";
        let first = frame(true, 1, sip, Some([7, 7, 7, 7]));
        let mut d = Decoder::new(true);
        let mut counts = WsCounts::default();
        let mut got = Vec::new();
        d.feed(&first[..10], &mut counts, &mut |m, _| got.push(m.to_vec()));
        d.gap(5, &mut counts, &mut |m, _| got.push(m.to_vec()));
        d.feed(&first[15..], &mut counts, &mut |m, _| got.push(m.to_vec()));
        assert!(got.is_empty());
        d.feed(&first, &mut counts, &mut |m, _| got.push(m.to_vec()));
        assert_eq!(got, vec![sip.to_vec()]);
        // A gap past the frame loses the framing: the rest is skipped.
        d.gap(1000, &mut counts, &mut |m, _| got.push(m.to_vec()));
        d.feed(&first, &mut counts, &mut |m, _| got.push(m.to_vec()));
        assert_eq!(got.len(), 1);
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn handshakes() {
        let req = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Protocol: xmpp, sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(may_start_upgrade(req));
        assert!(may_start_upgrade(&req[..60]));
        assert!(!may_start_upgrade(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!is_upgrade_request(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"));
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: sip\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        assert_eq!(upgrade_answer(ok), Answer::Accepted { deflate: true });
        assert_eq!(upgrade_answer(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"), Answer::Accepted { deflate: false });
        assert_eq!(upgrade_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n"), Answer::Rejected);
        assert_eq!(upgrade_answer(b"HTTP/1.1 101 OK\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"), Answer::Rejected);
    }
}
