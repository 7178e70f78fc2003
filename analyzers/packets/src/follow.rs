//! `follow_stream`: one TCP or UDP conversation's payload in order, both
//! directions, as Wireshark's Follow Stream shows it. TCP goes through the
//! shared reassembler ([`pcapsule_guest::reassembly`]): bytes in order and
//! once, retransmissions dropped and counted, holes the capture never
//! filled marked as gaps. UDP datagrams are shown as they came.
//!
//! Paged by bytes: `offset` is a position in the conversation's payload
//! (both directions, in the order they were delivered), and a page shows
//! what fits the result's budget once rendered (text with escapes, or hex).

use std::net::SocketAddr;

use pcapsule_guest::Packet;
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::PacketHandler;
use pcapsule_guest::reassembly::{Delivery, Direction, End, Frame, Limits, Reassembler, Segment, StreamState};
use pcapsule_guest::streams::{Stream, StreamNumbers};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dump::push_hex;
use crate::result::Chunk;

/// The transport of the conversation followed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamProtocol {
    /// A TCP connection (reassembled).
    #[default]
    Tcp,
    /// UDP datagrams between the two endpoints.
    Udp,
}

/// How payload bytes are written out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// Printable ASCII as is, `\r`, `\n` and `\t` as themselves, a backslash
    /// as `\\`, every other byte as `\xNN`.
    #[default]
    Text,
    /// Two lowercase hex digits per byte.
    Hex,
}

impl PayloadFormat {
    /// Writes `byte` to `out`; returns what it adds to the result's JSON
    /// (a quote, a backslash and control characters are escaped there too).
    fn render(self, byte: u8, out: &mut String) -> usize {
        match self {
            PayloadFormat::Hex => {
                push_hex(out, byte);
                2
            }
            PayloadFormat::Text => match byte {
                b'\\' => {
                    out.push_str("\\\\");
                    4
                }
                b'\r' | b'\n' | b'\t' | b'"' => {
                    out.push(char::from(byte));
                    2
                }
                0x20..=0x7e => {
                    out.push(char::from(byte));
                    1
                }
                _ => {
                    out.push_str("\\x");
                    push_hex(out, byte);
                    5
                }
            },
        }
    }
}

/// What a chunk's fields besides its data add to the result's JSON, at most.
const CHUNK_OVERHEAD: usize = 200;

/// Which side a reassembled direction is: sent by endpoint `a` or not.
struct Side {
    from_a: bool,
}

impl StreamState for Side {}

/// Which conversation to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every packet between two endpoints (port reuse included: each
    /// connection's end is marked).
    Endpoints(SocketAddr, SocketAddr),
    /// One stream, by its number ([`pcapsule_guest::streams`]).
    Stream(u64),
}

/// Follows one conversation.
pub struct Follower {
    protocol: StreamProtocol,
    target: Target,
    /// The endpoints, `a` first: given, or for a stream its first packet's
    /// sender and receiver once seen.
    pub ends: Option<(SocketAddr, SocketAddr)>,
    /// Stream numbers, when following a stream by number.
    streams: StreamNumbers,
    reassembler: Reassembler<Side>,
    /// What the page shows, and the totals.
    pub transcript: Transcript,
}

impl Follower {
    /// A follower of the `protocol` conversation between `a` and `b`, whose
    /// page starts at payload byte `offset` and ends after `max_bytes`
    /// bytes or `max_chars` rendered characters.
    pub fn new(
        protocol: StreamProtocol,
        target: Target,
        format: PayloadFormat,
        offset: u64,
        (max_bytes, max_chars): (u64, usize),
    ) -> Self {
        Follower {
            protocol,
            target,
            ends: match target {
                Target::Endpoints(a, b) => Some((a, b)),
                Target::Stream(_) => None,
            },
            streams: StreamNumbers::default(),
            reassembler: Reassembler::new(Limits::default()),
            transcript: Transcript {
                format,
                window_start: offset,
                window_end: offset.saturating_add(max_bytes),
                chars_left: max_chars,
                position: 0,
                next_offset: None,
                chunks: Vec::new(),
                packets: 0,
                bytes_from_a: 0,
                bytes_from_b: 0,
                first_sender_is_a: None,
                ended: [false; 2],
                bytes_after_end: 0,
            },
        }
    }

    /// Whether a packet from `src` to `dst` belongs to the conversation,
    /// and if so whether `a` sent it; `number` gives its stream.
    fn side(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        number: impl FnOnce(&mut StreamNumbers) -> Option<Stream>,
    ) -> Option<bool> {
        match self.target {
            Target::Endpoints(a, b) if (src, dst) == (a, b) => Some(true),
            Target::Endpoints(a, b) if (src, dst) == (b, a) => Some(false),
            Target::Endpoints(..) => None,
            Target::Stream(wanted) => {
                if number(&mut self.streams)?.number != wanted {
                    return None;
                }
                let (a, _) = *self.ends.get_or_insert((src, dst));
                Some(src == a)
            }
        }
    }

    /// The reassembler's counts (TCP).
    pub fn reassembly(&self) -> &pcapsule_guest::reassembly::ReassemblyCounts {
        self.reassembler.counts()
    }
}

impl PacketHandler for Follower {
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        let Ok(decoded) = decoded else { return };
        match self.protocol {
            StreamProtocol::Tcp => {
                let Some((direction, segment)) = Segment::of(packet, decoded) else { return };
                let src = SocketAddr::new(direction.src, direction.src_port);
                let dst = SocketAddr::new(direction.dst, direction.dst_port);
                let Some(from_a) = self.side(src, dst, |streams| streams.of_decoded(decoded, true)) else { return };
                self.transcript.packets += 1;
                self.transcript.first_sender_is_a.get_or_insert(from_a);
                // A direction that ended (FIN or RST) starts again only with
                // a SYN: what comes after is a copy (a retransmitted last
                // segment) or out of place, and Wireshark shows neither.
                let ended = &mut self.transcript.ended[usize::from(!from_a)];
                if *ended && !segment.syn {
                    self.transcript.bytes_after_end += segment.payload.len() as u64;
                    return;
                }
                *ended = false;
                let transcript = &mut self.transcript;
                self.reassembler.segment(direction, &segment, |_| Some(Side { from_a }), &mut |_, side, delivery| {
                    transcript.deliver(side.from_a, delivery)
                });
            }
            StreamProtocol::Udp => {
                let (Some((src_ip, dst_ip)), Some((sport, dport, payload))) = (decoded.ip_addrs(), decoded.udp())
                else {
                    return;
                };
                let (src, dst) = (SocketAddr::new(src_ip, sport), SocketAddr::new(dst_ip, dport));
                let Some(from_a) = self.side(src, dst, |streams| streams.udp((src_ip, sport), (dst_ip, dport))) else {
                    return;
                };
                self.transcript.packets += 1;
                self.transcript.first_sender_is_a.get_or_insert(from_a);
                let frame = Frame { number: packet.number, timestamp: packet.timestamp };
                self.transcript.deliver(from_a, Delivery::Data { bytes: payload, frame });
            }
        }
    }

    fn sees_unselected(&self) -> bool {
        matches!(self.target, Target::Stream(_))
    }

    /// Numbers the streams a selection leaves out, so that a number means
    /// what it means without one.
    fn on_unselected(&mut self, _packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.streams.of_decoded(decoded, self.protocol == StreamProtocol::Tcp);
        }
    }

    fn finish(&mut self) {
        let transcript = &mut self.transcript;
        self.reassembler
            .finish(&mut |_: Direction, side: &mut Side, delivery| transcript.deliver(side.from_a, delivery));
    }
}

/// The page of the conversation and its totals.
pub struct Transcript {
    format: PayloadFormat,
    /// Payload positions the page shows at most: from, to (exclusive).
    window_start: u64,
    window_end: u64,
    /// Rendered characters the page may still take.
    chars_left: usize,
    /// Payload bytes delivered so far, both directions.
    pub position: u64,
    /// The first payload byte past the page, once one is known.
    pub next_offset: Option<u64>,
    /// The page.
    pub chunks: Vec<Chunk>,
    /// Packets of the conversation (TCP segments or UDP datagrams).
    pub packets: u64,
    /// Payload bytes delivered from `a`, and from `b`.
    pub bytes_from_a: u64,
    pub bytes_from_b: u64,
    /// Whether `a` sent the conversation's first packet.
    pub first_sender_is_a: Option<bool>,
    /// Whether `a`'s direction, and `b`'s, ended (FIN or RST).
    ended: [bool; 2],
    /// Payload bytes that came in a direction after it ended, not shown.
    pub bytes_after_end: u64,
}

impl Transcript {
    fn deliver(&mut self, from_a: bool, delivery: Delivery<'_>) {
        match delivery {
            Delivery::Data { bytes, frame } => self.data(from_a, bytes, frame),
            Delivery::Gap(missing) => {
                if self.room_for_marker() {
                    self.chunks.push(Chunk::marker(from_a, self.position, Some(missing), None, None));
                }
            }
            Delivery::End(end, frame) => {
                if matches!(end, End::Closed | End::Reset) {
                    self.ended[usize::from(!from_a)] = true;
                }
                if self.room_for_marker() {
                    let how = match end {
                        End::Closed => "closed",
                        End::Reset => "reset",
                        End::Reused => "reused",
                        End::Evicted => "evicted",
                        End::CaptureEnded => "capture_ended",
                    };
                    self.chunks.push(Chunk::marker(from_a, self.position, None, Some(how), frame));
                }
            }
        }
    }

    /// Whether a marker at the current position falls on the page and fits
    /// it (if it does not, the page ends there).
    fn room_for_marker(&mut self) -> bool {
        if self.next_offset.is_some() || !(self.window_start..=self.window_end).contains(&self.position) {
            return false;
        }
        if self.chars_left < CHUNK_OVERHEAD {
            self.next_offset = Some(self.position);
            return false;
        }
        self.chars_left -= CHUNK_OVERHEAD;
        true
    }

    fn data(&mut self, from_a: bool, bytes: &[u8], frame: Frame) {
        if bytes.is_empty() {
            return;
        }
        let start = self.position;
        self.position += bytes.len() as u64;
        if from_a {
            self.bytes_from_a += bytes.len() as u64;
        } else {
            self.bytes_from_b += bytes.len() as u64;
        }
        if self.next_offset.is_some() || self.position <= self.window_start {
            return;
        }
        let first = self.window_start.max(start);
        if first >= self.window_end || self.chars_left < CHUNK_OVERHEAD + 8 {
            self.next_offset = Some(first);
            return;
        }
        self.chars_left -= CHUNK_OVERHEAD;
        let mut text = String::new();
        let mut shown = 0u64;
        for &byte in &bytes[(first - start) as usize..] {
            if first + shown >= self.window_end || self.chars_left < 5 {
                break;
            }
            self.chars_left -= self.format.render(byte, &mut text);
            shown += 1;
        }
        if shown > 0 {
            self.chunks.push(Chunk::data(from_a, first, shown, text, frame));
        }
        if first + shown < self.position {
            self.next_offset = Some(first + shown);
        }
    }
}
