//! The one TCP reassembler: turns the segments of each direction of a TCP
//! connection into an in-order byte stream for an analyzer's parser, the way
//! Suricata's engine feeds its protocol parsers.
//!
//! - Bytes are delivered once and in order. A segment that arrives ahead of
//!   a hole is held until the hole fills; retransmitted bytes are dropped.
//! - A hole that cannot fill any more is delivered as a [`Delivery::Gap`] of
//!   the missing length, and the parser resynchronises. A hole is given up
//!   when the other direction acknowledges bytes the capture never showed
//!   (the peer got them; the tap missed them), when the held bytes pass the
//!   per-stream bound, when the connection is reset, and at the end of the
//!   capture. A segment cut short by the snapshot length ends in a gap too.
//! - Everything is bounded: streams at once (the oldest is evicted), bytes
//!   held out of order per stream, and bytes held in total, counting what
//!   the parsers themselves buffer ([`StreamState::held`]).
//!
//! Analyzers decide which directions to follow (`open` in
//! [`Reassembler::segment`]) and keep their parser state in the stream; the
//! `tcp` analyzer keeps its own sequence analysis (Wireshark's flags), which
//! needs every segment rather than the bytes.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use etherparse::TransportSlice;

use crate::decode::Decoded;
use crate::fast_hash::HashMap;
use crate::{Packet, Timestamp};

/// One direction of a TCP connection: from the sender's address and port
/// to the receiver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Direction {
    /// Sender's address.
    pub src: IpAddr,
    /// Sender's port.
    pub src_port: u16,
    /// Receiver's address.
    pub dst: IpAddr,
    /// Receiver's port.
    pub dst_port: u16,
}

impl Direction {
    /// The other direction of the same connection.
    pub fn reverse(&self) -> Direction {
        Direction { src: self.dst, src_port: self.dst_port, dst: self.src, dst_port: self.src_port }
    }
}

/// The capture frame that carried a segment, handed back with its bytes so
/// that a message is reported at the frame that completed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Frame {
    /// Packet number in the capture (1-based).
    pub number: u64,
    /// Its capture time.
    pub timestamp: Option<Timestamp>,
}

/// The parts of a TCP segment that reassembly reads.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Sequence number of the first byte (of the SYN, when `syn`).
    pub seq: u32,
    /// Acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The payload bytes the capture holds.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire: more than
    /// `payload.len()` when the snapshot length cut the frame.
    pub wire_len: usize,
    /// The frame that carried it.
    pub frame: Frame,
}

impl<'a> Segment<'a> {
    /// The direction and segment of a decoded TCP packet; `None` for
    /// anything else, IP fragments included (the packet path delivers the
    /// reassembled datagram with the last fragment).
    pub fn of(packet: &Packet<'_>, decoded: &Decoded<'a>) -> Option<(Direction, Segment<'a>)> {
        let Some(TransportSlice::Tcp(tcp)) = decoded.transport() else { return None };
        if decoded.is_fragment() {
            return None;
        }
        let (src, dst) = decoded.ip_addrs()?;
        let payload = tcp.payload();
        let wire_len = if decoded.ip_payload_incomplete() {
            // What the IP header promised, less the headers in front of the payload.
            let ip_start = decoded.ip_header_start().unwrap_or(payload.as_ptr() as usize);
            let headers = (payload.as_ptr() as usize).saturating_sub(ip_start);
            decoded.ip_bytes_on_wire(packet).saturating_sub(headers).max(payload.len())
        } else {
            payload.len()
        };
        let direction = Direction { src, src_port: tcp.source_port(), dst, dst_port: tcp.destination_port() };
        let segment = Segment {
            seq: tcp.sequence_number(),
            ack: tcp.ack().then(|| tcp.acknowledgment_number()),
            syn: tcp.syn(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload,
            wire_len,
            frame: Frame { number: packet.number, timestamp: packet.timestamp },
        };
        Some((direction, segment))
    }
}

/// What a stream's parser is handed, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// The next bytes of the stream, and the frame that completed them: the
    /// one that carried them, or a later one that filled the hole before them.
    Data { bytes: &'a [u8], frame: Frame },
    /// This many bytes of the stream were not captured: whatever the parser
    /// had half-read before cannot be completed.
    Gap(u64),
    /// The stream is over, at this frame (none when it was evicted or the
    /// capture ended); its state is dropped after this.
    End(End, Option<Frame>),
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The sender's FIN, with every byte before it delivered.
    Closed,
    /// A RST from either side.
    Reset,
    /// A new SYN with another sequence number reused the ports.
    Reused,
    /// Dropped to stay within the bounds ([`Limits`]).
    Evicted,
    /// The capture ended first.
    CaptureEnded,
}

/// A stream's parser state, as the reassembler sees it.
pub trait StreamState {
    /// Bytes the parser holds (a partial message), counted against
    /// [`Limits::max_total_bytes`].
    fn held(&self) -> usize {
        0
    }
}

/// Bounds of one reassembler.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directions followed at once; opening one more evicts the oldest.
    pub max_streams: usize,
    /// Bytes one direction may hold ahead of a hole before the hole is
    /// given up as a gap.
    pub max_out_of_order_bytes: usize,
    /// Bytes held in all streams (out of order and by the parsers); past it
    /// the current stream gives up its holes, then the oldest streams are
    /// evicted.
    pub max_total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_streams: 4096, max_out_of_order_bytes: 256 * 1024, max_total_bytes: 16 * 1024 * 1024 }
    }
}

/// What reassembly counted, for the result's capture facts and warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReassemblyCounts {
    /// Directions followed.
    pub streams: u64,
    /// Segments that arrived ahead of a hole and were held.
    pub out_of_order_segments: u64,
    /// Bytes dropped because they had been delivered already.
    pub retransmitted_bytes: u64,
    /// Holes given up (each delivered as one [`Delivery::Gap`]).
    pub gaps: u64,
    /// Bytes those holes were missing.
    pub gap_bytes: u64,
    /// Holes given up early because a bound was reached.
    pub gaps_forced_by_limits: u64,
    /// Streams evicted to stay within the bounds.
    pub streams_evicted: u64,
}

/// Per-segment cost of a held segment beyond its bytes (its allocation and
/// map entry), so that a flood of one-byte segments is bounded too.
const HELD_SEGMENT_OVERHEAD: usize = 64;

struct Stream<S> {
    state: S,
    /// Sequence number of the stream's first byte (offset 0).
    base_seq: u32,
    /// Stream offset of the next byte to deliver: bytes delivered plus gaps.
    offset: u64,
    /// Segments ahead of a hole, by stream offset.
    held: BTreeMap<u64, (Vec<u8>, Frame)>,
    held_bytes: usize,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    /// Sequence number after the SYN that began the stream, if one did.
    syn_next: Option<u32>,
    /// False for a stream followed before its first segment, which sets
    /// `base_seq`.
    started: bool,
    /// Order of last activity, for a deterministic end-of-capture order.
    last_active: u64,
}

/// What one stream counts for in the reassembler's running totals.
#[derive(Debug, Clone, Copy, Default)]
struct Footprint {
    /// Bytes counted against the total bound.
    cost: usize,
    /// Segments held ahead of a hole.
    has_holes: bool,
}

impl<S: StreamState> Stream<S> {
    fn footprint(&self) -> Footprint {
        Footprint { cost: self.held_bytes + self.state.held(), has_holes: !self.held.is_empty() }
    }

    /// Stream offset of a sequence number, relative to the next expected
    /// byte (sequence numbers wrap; a peer is never 2 GiB apart).
    fn offset_of(&self, seq: u32) -> i128 {
        let next_seq = self.base_seq.wrapping_add(self.offset as u32);
        i128::from(self.offset) + i128::from(seq.wrapping_sub(next_seq) as i32)
    }
}

/// Reassembles the TCP directions an analyzer follows; `S` is its parser
/// state per direction.
pub struct Reassembler<S> {
    limits: Limits,
    streams: HashMap<Direction, Stream<S>>,
    /// Directions in the order they were opened (entries of closed streams
    /// are skipped, and compacted away when they pile up).
    order: VecDeque<Direction>,
    total: usize,
    /// Streams holding segments ahead of a hole: only then are ACKs of the
    /// other direction looked at.
    streams_with_holes: usize,
    activity: u64,
    counts: ReassemblyCounts,
}

impl<S: StreamState> Reassembler<S> {
    /// An empty reassembler with these bounds.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            streams: HashMap::default(),
            order: VecDeque::new(),
            total: 0,
            streams_with_holes: 0,
            activity: 0,
            counts: ReassemblyCounts::default(),
        }
    }

    /// What was counted so far.
    pub fn counts(&self) -> &ReassemblyCounts {
        &self.counts
    }

    /// Moves the running totals from a stream's footprint before a change
    /// to its footprint after it (the default footprint: no stream).
    fn settle(&mut self, before: Footprint, after: Footprint) {
        self.total = (self.total + after.cost).saturating_sub(before.cost);
        self.streams_with_holes =
            self.streams_with_holes + usize::from(after.has_holes) - usize::from(before.has_holes);
    }

    /// Whether this direction is followed.
    pub fn contains(&self, direction: &Direction) -> bool {
        self.streams.contains_key(direction)
    }

    /// The parser state of a followed direction.
    pub fn state_mut(&mut self, direction: &Direction) -> Option<&mut S> {
        self.streams.get_mut(direction).map(|s| &mut s.state)
    }

    /// Follows a direction before its first segment (an analyzer that
    /// learns from one direction what the other will carry); its first
    /// segment sets where it starts.
    pub fn follow(&mut self, direction: Direction, state: S, on: &mut impl FnMut(Direction, &mut S, Delivery<'_>)) {
        if !self.streams.contains_key(&direction) {
            self.open(direction, state, on);
        }
    }

    /// Follows a direction from the sequence number its next byte will
    /// have (the other direction acknowledged it), before its first segment:
    /// segments that arrive ahead of that byte are held until it comes, as
    /// they are in a stream followed from its SYN. (With [`Self::follow`],
    /// the first segment to arrive sets where the stream starts.)
    pub fn follow_from(
        &mut self,
        direction: Direction,
        next_seq: u32,
        state: S,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        if self.streams.contains_key(&direction) {
            return;
        }
        self.open(direction, state, on);
        if let Some(stream) = self.streams.get_mut(&direction) {
            stream.started = true;
            stream.base_seq = next_seq;
        }
    }

    /// Stops following a direction, without a [`Delivery::End`].
    pub fn forget(&mut self, direction: &Direction) -> Option<S> {
        let stream = self.streams.remove(direction)?;
        self.settle(stream.footprint(), Footprint::default());
        Some(stream.state)
    }

    /// Feeds one segment. A direction not followed yet is followed when
    /// `open` returns a state for the segment's payload (it is not called
    /// for a direction already followed). `on` receives what each stream
    /// delivers, this one's and, when this segment's ACK shows that the
    /// capture missed bytes of the other direction, that one's.
    pub fn segment(
        &mut self,
        direction: Direction,
        segment: &Segment<'_>,
        open: impl FnOnce(&[u8]) -> Option<S>,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        self.activity += 1;
        if self.streams_with_holes > 0
            && let Some(ack) = segment.ack
        {
            self.acknowledged(direction.reverse(), ack, segment.frame, on);
        }
        let start = if segment.syn { segment.seq.wrapping_add(1) } else { segment.seq };
        if segment.syn
            && let Some(stream) = self.streams.get(&direction)
            && stream.syn_next != Some(start)
            && (stream.offset > 0 || !stream.held.is_empty())
            && !(stream.syn_next.is_none() && (0..=i128::from(stream.offset)).contains(&stream.offset_of(start)))
        {
            // A new connection on the same ports (a retransmitted SYN has the
            // sequence number of the first). A stream followed from its data
            // whose SYN arrives late (reordered, or captured twice) is not
            // one: that SYN leads to the bytes already delivered.
            self.end(direction, End::Reused, Some(segment.frame), on);
        }
        if !self.streams.contains_key(&direction) {
            let Some(state) = open(segment.payload) else { return };
            self.open(direction, state, on);
        }
        let Some(stream) = self.streams.get_mut(&direction) else { return };
        let before = stream.footprint();
        stream.last_active = self.activity;
        if !stream.started || (segment.syn && stream.offset == 0 && stream.held.is_empty()) {
            stream.started = true;
            stream.base_seq = start;
        }
        if segment.syn {
            stream.syn_next = Some(start);
        }
        let at = stream.offset_of(start);
        Self::add(stream, &mut self.counts, &self.limits, direction, at, segment, on);
        let closed = stream.fin_at.is_some_and(|fin| stream.offset >= fin);
        let after = stream.footprint();
        self.settle(before, after);
        if segment.rst {
            self.end(direction, End::Reset, Some(segment.frame), on);
            // A RST ends the connection, so the other direction too.
            self.end(direction.reverse(), End::Reset, Some(segment.frame), on);
        } else if closed {
            self.end(direction, End::Closed, Some(segment.frame), on);
        }
        if self.total > self.limits.max_total_bytes {
            self.shed(direction, on);
        }
    }

    /// Places a segment's bytes: delivered when they continue the stream,
    /// held when they are ahead of a hole, dropped when already delivered.
    fn add(
        stream: &mut Stream<S>,
        counts: &mut ReassemblyCounts,
        limits: &Limits,
        direction: Direction,
        at: i128,
        segment: &Segment<'_>,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        let wire_end = at + segment.wire_len as i128;
        if segment.fin && stream.fin_at.is_none() && wire_end >= 0 {
            stream.fin_at = Some(wire_end as u64);
        }
        let next = i128::from(stream.offset);
        if wire_end <= next {
            counts.retransmitted_bytes += segment.wire_len as u64;
            return;
        }
        if at > next {
            if segment.payload.is_empty() {
                return;
            }
            counts.out_of_order_segments += 1;
            let key = at as u64;
            let bytes = segment.payload;
            // Of two held segments that start at one offset, the longer stays.
            let grew = match stream.held.get(&key) {
                Some((old, _)) if old.len() >= bytes.len() => 0,
                old => {
                    let old_len = old.map_or(0, |(o, _)| o.len() + HELD_SEGMENT_OVERHEAD);
                    stream.held.insert(key, (bytes.to_vec(), segment.frame));
                    bytes.len() + HELD_SEGMENT_OVERHEAD - old_len
                }
            };
            stream.held_bytes += grew;
            if stream.held_bytes > limits.max_out_of_order_bytes {
                counts.gaps_forced_by_limits += 1;
                Self::give_up_holes(stream, counts, direction, u64::MAX, on);
            }
            return;
        }
        let skip = (next - at) as usize;
        if skip > 0 {
            counts.retransmitted_bytes += skip.min(segment.wire_len) as u64;
        }
        if let Some(fresh) = segment.payload.get(skip..)
            && !fresh.is_empty()
        {
            stream.offset += fresh.len() as u64;
            on(direction, &mut stream.state, Delivery::Data { bytes: fresh, frame: segment.frame });
        }
        if segment.wire_len > segment.payload.len() {
            // The snapshot length cut this segment: its tail is lost (a
            // retransmission would be cut the same way).
            Self::give_up_holes(stream, counts, direction, wire_end as u64, on);
        } else {
            Self::drain(stream, counts, direction, Some(segment.frame), on);
        }
    }

    /// Delivers held segments that the stream has reached; `filler` is the
    /// frame that filled the hole before them (none when it was given up).
    fn drain(
        stream: &mut Stream<S>,
        counts: &mut ReassemblyCounts,
        direction: Direction,
        filler: Option<Frame>,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        while let Some(entry) = stream.held.first_entry() {
            let at = *entry.key();
            if at > stream.offset {
                break;
            }
            let (bytes, held_frame) = entry.remove();
            stream.held_bytes -= (bytes.len() + HELD_SEGMENT_OVERHEAD).min(stream.held_bytes);
            let skip = (stream.offset - at) as usize;
            if skip >= bytes.len() {
                counts.retransmitted_bytes += bytes.len() as u64;
                continue;
            }
            counts.retransmitted_bytes += skip as u64;
            let fresh = &bytes[skip..];
            stream.offset += fresh.len() as u64;
            let frame = match filler {
                Some(filler) if filler.number > held_frame.number => filler,
                _ => held_frame,
            };
            on(direction, &mut stream.state, Delivery::Data { bytes: fresh, frame });
        }
    }

    /// Declares the next `missing` bytes lost.
    fn gap(
        stream: &mut Stream<S>,
        counts: &mut ReassemblyCounts,
        direction: Direction,
        missing: u64,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        if missing == 0 {
            return;
        }
        counts.gaps += 1;
        counts.gap_bytes += missing;
        stream.offset += missing;
        on(direction, &mut stream.state, Delivery::Gap(missing));
    }

    /// Gives up every hole before `until` (a stream offset; `u64::MAX` for
    /// all of them), delivering what was held behind each.
    fn give_up_holes(
        stream: &mut Stream<S>,
        counts: &mut ReassemblyCounts,
        direction: Direction,
        until: u64,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        loop {
            Self::drain(stream, counts, direction, None, on);
            let hole_end = match stream.held.keys().next() {
                Some(&first) => first.min(until),
                None if until != u64::MAX => until,
                None => break,
            };
            if hole_end <= stream.offset {
                break;
            }
            Self::gap(stream, counts, direction, hole_end - stream.offset, on);
        }
    }

    /// The other side acknowledged up to `ack`: holes of `direction` before
    /// it will not fill any more.
    fn acknowledged(
        &mut self,
        direction: Direction,
        ack: u32,
        frame: Frame,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        let Some(stream) = self.streams.get_mut(&direction) else { return };
        if stream.held.is_empty() {
            return;
        }
        let acked = stream.offset_of(ack);
        // Acknowledging a FIN acknowledges one sequence number more than the bytes.
        let acked = stream.fin_at.map_or(acked, |fin| acked.min(i128::from(fin)));
        if acked <= i128::from(stream.offset) {
            return;
        }
        let before = stream.footprint();
        Self::give_up_holes(stream, &mut self.counts, direction, acked as u64, on);
        let closed = stream.fin_at.is_some_and(|fin| stream.offset >= fin);
        let after = stream.footprint();
        self.settle(before, after);
        if closed {
            self.end(direction, End::Closed, Some(frame), on);
        }
    }

    fn open(&mut self, direction: Direction, state: S, on: &mut impl FnMut(Direction, &mut S, Delivery<'_>)) {
        if self.streams.len() >= self.limits.max_streams.max(1) {
            self.evict_oldest(None, on);
        }
        if self.order.len() >= 2 * self.limits.max_streams.max(1) {
            let streams = &self.streams;
            let mut seen = crate::fast_hash::HashSet::default();
            self.order.retain(|d| streams.contains_key(d) && seen.insert(*d));
        }
        self.counts.streams += 1;
        let stream = Stream {
            state,
            base_seq: 0,
            offset: 0,
            held: BTreeMap::new(),
            held_bytes: 0,
            fin_at: None,
            syn_next: None,
            started: false,
            last_active: self.activity,
        };
        self.settle(Footprint::default(), stream.footprint());
        self.streams.insert(direction, stream);
        self.order.push_back(direction);
    }

    /// Ends a stream: holes are given up (what was held behind them is
    /// delivered), then [`Delivery::End`].
    fn end(
        &mut self,
        direction: Direction,
        why: End,
        frame: Option<Frame>,
        on: &mut impl FnMut(Direction, &mut S, Delivery<'_>),
    ) {
        let Some(mut stream) = self.streams.remove(&direction) else { return };
        self.settle(stream.footprint(), Footprint::default());
        if why != End::Evicted {
            Self::give_up_holes(&mut stream, &mut self.counts, direction, u64::MAX, on);
        }
        on(direction, &mut stream.state, Delivery::End(why, frame));
    }

    fn evict_oldest(&mut self, keep: Option<Direction>, on: &mut impl FnMut(Direction, &mut S, Delivery<'_>)) {
        let mut rotated = 0;
        while let Some(old) = self.order.pop_front() {
            if Some(old) == keep {
                self.order.push_back(old);
                rotated += 1;
                if rotated > 1 {
                    return;
                }
                continue;
            }
            if self.streams.contains_key(&old) {
                self.counts.streams_evicted += 1;
                self.end(old, End::Evicted, None, on);
                return;
            }
        }
    }

    /// Over the total bound: the current stream gives up its holes, then the
    /// oldest other streams go.
    fn shed(&mut self, current: Direction, on: &mut impl FnMut(Direction, &mut S, Delivery<'_>)) {
        if let Some(stream) = self.streams.get_mut(&current)
            && !stream.held.is_empty()
        {
            let before = stream.footprint();
            self.counts.gaps_forced_by_limits += 1;
            Self::give_up_holes(stream, &mut self.counts, current, u64::MAX, on);
            let after = stream.footprint();
            self.settle(before, after);
        }
        while self.total > self.limits.max_total_bytes && self.streams.len() > 1 {
            let evicted = self.counts.streams_evicted;
            self.evict_oldest(Some(current), on);
            if self.counts.streams_evicted == evicted {
                break;
            }
        }
    }

    /// At the end of the capture: every stream gives up its holes and ends,
    /// the least recently active first.
    pub fn finish(&mut self, on: &mut impl FnMut(Direction, &mut S, Delivery<'_>)) {
        let mut directions: Vec<(u64, Direction)> = self.streams.iter().map(|(d, s)| (s.last_active, *d)).collect();
        directions.sort_unstable_by_key(|(active, _)| *active);
        for (_, direction) in directions {
            self.end(direction, End::CaptureEnded, None, on);
        }
        self.order.clear();
        self.total = 0;
    }

    /// Warnings for the result, naming the traffic (`"DNS"`, `"SIP"`) the
    /// streams carried.
    pub fn warnings(&self, traffic: &str) -> Vec<String> {
        let c = &self.counts;
        let mut warnings = Vec::new();
        if c.gaps > 0 {
            warnings.push(format!(
                "{} gaps in {traffic} TCP streams ({} bytes the capture does not hold); messages spanning a gap were \
                 skipped",
                c.gaps, c.gap_bytes
            ));
        }
        if c.streams_evicted > 0 {
            warnings.push(format!(
                "{} {traffic} TCP streams were dropped because too many were open or buffered at once",
                c.streams_evicted
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const CLIENT: Direction = Direction {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        src_port: 40000,
        dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        dst_port: 80,
    };

    /// A parser that writes down what it is handed.
    #[derive(Default)]
    struct Log {
        bytes: Vec<u8>,
        gaps: Vec<u64>,
        end: Option<End>,
        held: usize,
    }

    impl StreamState for Log {
        fn held(&self) -> usize {
            self.held
        }
    }

    /// Every delivery, with the direction it came for.
    type Seen = std::cell::RefCell<Vec<(Direction, String)>>;

    fn record(seen: &Seen) -> impl FnMut(Direction, &mut Log, Delivery<'_>) + '_ {
        |d, state, delivery| {
            let text = match delivery {
                Delivery::Data { bytes: b, .. } => {
                    state.bytes.extend_from_slice(b);
                    String::from_utf8_lossy(b).into_owned()
                }
                Delivery::Gap(n) => {
                    state.gaps.push(n);
                    format!("<gap {n}>")
                }
                Delivery::End(why, _) => {
                    state.end = Some(why);
                    format!("<{why:?}>")
                }
            };
            seen.borrow_mut().push((d, text));
        }
    }

    fn data(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            seq,
            ack: None,
            syn: false,
            fin: false,
            rst: false,
            payload,
            wire_len: payload.len(),
            frame: Frame { number: u64::from(seq), timestamp: None },
        }
    }

    fn texts(seen: &Seen) -> Vec<String> {
        seen.borrow().iter().map(|(_, t)| t.clone()).collect()
    }

    fn always(_: &[u8]) -> Option<Log> {
        Some(Log::default())
    }

    #[test]
    fn in_order_bytes_once_and_out_of_order_held_until_the_hole_fills() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        let syn = Segment { syn: true, ..data(999, b"") };
        r.segment(CLIENT, &syn, always, on);
        r.segment(CLIENT, &data(1000, b"abc"), always, on);
        r.segment(CLIENT, &data(1006, b"ghi"), always, on);
        r.segment(CLIENT, &data(1000, b"abc"), always, on);
        r.segment(CLIENT, &data(1002, b"cdef"), always, on);
        r.segment(CLIENT, &Segment { fin: true, ..data(1009, b"j") }, always, on);
        assert_eq!(texts(&seen), ["abc", "def", "ghi", "j", "<Closed>"]);
        let c = r.counts();
        assert_eq!((c.out_of_order_segments, c.retransmitted_bytes, c.gaps), (1, 4, 0));
        assert!(!r.contains(&CLIENT), "a closed stream is dropped");
    }

    #[test]
    fn a_direction_followed_from_an_acknowledged_sequence_holds_what_arrives_early() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.follow_from(CLIENT, 1000, Log::default(), on);
        // The second segment arrives first: held, not taken for the start.
        r.segment(CLIENT, &data(1003, b"def"), |_| None, on);
        assert!(texts(&seen).is_empty());
        r.segment(CLIENT, &data(1000, b"abc"), |_| None, on);
        assert_eq!(texts(&seen), ["abc", "def"]);
        // Followed already: a second call changes nothing.
        r.follow_from(CLIENT, 5, Log::default(), on);
        r.segment(CLIENT, &data(1006, b"g"), |_| None, on);
        assert_eq!(texts(&seen), ["abc", "def", "g"]);
    }

    #[test]
    fn a_hole_the_peer_acknowledged_is_a_gap() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.segment(CLIENT, &data(1, b"aaaa"), always, on);
        r.segment(CLIENT, &data(9, b"cccc"), always, on);
        assert_eq!(texts(&seen), ["aaaa"]);
        // The server acknowledges bytes 5..9 that the capture never showed.
        let server_ack = Segment { ack: Some(13), ..data(500, b"") };
        r.segment(CLIENT.reverse(), &server_ack, |_| None, on);
        assert_eq!(texts(&seen), ["aaaa", "<gap 4>", "cccc"]);
        assert_eq!((r.counts().gaps, r.counts().gap_bytes), (1, 4));
        // An acknowledgment of bytes already delivered changes nothing.
        r.segment(CLIENT.reverse(), &server_ack, |_| None, on);
        r.segment(CLIENT, &data(13, b"d"), always, on);
        assert_eq!(texts(&seen).last().map(String::as_str), Some("d"));
    }

    #[test]
    fn holes_are_given_up_at_the_end_in_order_of_activity() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        let other = Direction { src_port: 40001, ..CLIENT };
        r.segment(CLIENT, &data(1, b"x"), always, on);
        r.segment(other, &data(1, b"p"), always, on);
        r.segment(CLIENT, &data(5, b"z"), always, on);
        r.finish(on);
        assert_eq!(seen.borrow()[0], (CLIENT, "x".into()));
        assert_eq!(seen.borrow()[1], (other, "p".into()));
        assert_eq!(
            &seen.borrow()[2..],
            [
                (other, "<CaptureEnded>".into()),
                (CLIENT, "<gap 3>".into()),
                (CLIENT, "z".into()),
                (CLIENT, "<CaptureEnded>".into())
            ]
        );
    }

    #[test]
    fn a_segment_cut_by_the_snapshot_length_ends_in_a_gap() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.segment(CLIENT, &Segment { wire_len: 10, ..data(1, b"abcd") }, always, on);
        r.segment(CLIENT, &data(11, b"next"), always, on);
        assert_eq!(texts(&seen), ["abcd", "<gap 6>", "next"]);
    }

    #[test]
    fn reset_ends_both_directions_and_a_new_syn_ends_the_old_stream() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        let syn = Segment { syn: true, ..data(100, b"") };
        r.segment(CLIENT, &syn, always, on);
        r.segment(CLIENT, &data(101, b"one"), always, on);
        r.segment(CLIENT, &syn, always, on);
        r.segment(CLIENT, &data(104, b"two"), always, on);
        assert_eq!(texts(&seen), ["one", "two"], "a retransmitted SYN changes nothing");
        r.segment(CLIENT, &Segment { syn: true, ..data(7000, b"") }, always, on);
        r.segment(CLIENT, &data(7001, b"new"), always, on);
        assert_eq!(texts(&seen), ["one", "two", "<Reused>", "new"]);
        r.segment(CLIENT.reverse(), &data(1, b"reply"), always, on);
        r.segment(CLIENT.reverse(), &Segment { rst: true, ..data(6, b"") }, always, on);
        assert_eq!(&texts(&seen)[4..], ["reply", "<Reset>", "<Reset>"]);
        assert!(!r.contains(&CLIENT) && !r.contains(&CLIENT.reverse()));
    }

    #[test]
    fn a_late_syn_of_a_stream_followed_from_its_data_changes_nothing() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        let with_data = |p: &[u8]| (!p.is_empty()).then(Log::default);
        r.segment(CLIENT, &Segment { syn: true, ..data(100, b"") }, with_data, on);
        r.segment(CLIENT, &data(101, b"one"), with_data, on);
        r.segment(CLIENT, &Segment { syn: true, ..data(100, b"") }, with_data, on);
        r.segment(CLIENT, &data(101, b"one"), with_data, on);
        r.segment(CLIENT, &data(104, b"two"), with_data, on);
        assert_eq!(texts(&seen), ["one", "two"]);
        r.segment(CLIENT, &Segment { syn: true, ..data(9000, b"") }, with_data, on);
        r.segment(CLIENT, &data(9001, b"new"), with_data, on);
        assert_eq!(texts(&seen), ["one", "two", "<Reused>", "new"], "a SYN elsewhere is a new connection");
    }

    #[test]
    fn a_fin_ahead_of_a_hole_waits_for_it() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.segment(CLIENT, &data(1, b"ab"), always, on);
        r.segment(CLIENT, &Segment { fin: true, ..data(5, b"ef") }, always, on);
        assert!(r.contains(&CLIENT));
        r.segment(CLIENT, &data(3, b"cd"), always, on);
        assert_eq!(texts(&seen), ["ab", "cd", "ef", "<Closed>"]);
    }

    #[test]
    fn data_is_reported_at_the_frame_that_completed_it() {
        let mut r = Reassembler::new(Limits::default());
        let mut frames = Vec::new();
        let on = &mut |_, _: &mut Log, delivery: Delivery<'_>| {
            if let Delivery::Data { bytes, frame } = delivery {
                frames.push((String::from_utf8_lossy(bytes).into_owned(), frame.number));
            }
        };
        let at = |number| Frame { number, timestamp: None };
        r.segment(CLIENT, &Segment { frame: at(10), ..data(1, b"ab") }, always, on);
        r.segment(CLIENT, &Segment { frame: at(11), ..data(5, b"ef") }, always, on);
        r.segment(CLIENT, &Segment { frame: at(12), ..data(3, b"cd") }, always, on);
        r.segment(CLIENT, &Segment { frame: at(13), ..data(11, b"kl") }, always, on);
        let ack = Segment { ack: Some(13), frame: at(14), ..data(900, b"") };
        r.segment(CLIENT.reverse(), &ack, |_| None, on);
        let expected = [("ab", 10), ("cd", 12), ("ef", 12), ("kl", 13)];
        assert_eq!(frames, expected.map(|(t, n)| (t.to_string(), n)), "filled by 12; after a gap, its own frame");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut r = Reassembler::new(Limits::default());
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.segment(CLIENT, &data(u32::MAX - 1, b"ab"), always, on);
        r.segment(CLIENT, &data(2, b"ef"), always, on);
        r.segment(CLIENT, &data(0, b"cd"), always, on);
        assert_eq!(texts(&seen), ["ab", "cd", "ef"]);
    }

    #[test]
    fn held_bytes_are_bounded_per_stream_and_in_total() {
        let limits = Limits { max_streams: 8, max_out_of_order_bytes: 1000, max_total_bytes: 3000 };
        let mut r = Reassembler::new(limits);
        let seen = Seen::default();
        let on = &mut record(&seen);
        r.segment(CLIENT, &data(1, b"a"), always, on);
        for i in 0..20u32 {
            r.segment(CLIENT, &data(100 + i * 100, &[b'x'; 100]), always, on);
            assert!(r.total <= limits.max_total_bytes);
        }
        assert!(r.counts().gaps_forced_by_limits >= 1);
        assert!(seen.borrow().iter().any(|(_, t)| t.starts_with("<gap")));
        // Parsers' own buffers count too: the oldest stream goes.
        let mut r = Reassembler::new(limits);
        let big = |_: &[u8]| Some(Log { held: 2000, ..Log::default() });
        r.segment(CLIENT, &data(1, b"a"), big, on);
        let other = Direction { src_port: 1, ..CLIENT };
        r.segment(other, &data(1, b"b"), big, on);
        assert!(!r.contains(&CLIENT) && r.contains(&other));
        assert_eq!(r.counts().streams_evicted, 1);
    }

    #[test]
    fn streams_are_bounded() {
        let limits = Limits { max_streams: 16, ..Limits::default() };
        let mut r = Reassembler::new(limits);
        let seen = Seen::default();
        let on = &mut record(&seen);
        for port in 0..100u16 {
            r.segment(Direction { src_port: port, ..CLIENT }, &data(1, b"a"), always, on);
            assert!(r.streams.len() <= 16 && r.order.len() <= 32);
        }
        assert_eq!(r.counts().streams_evicted, 84);
        assert_eq!(seen.borrow().iter().filter(|(_, t)| t == "<Evicted>").count(), 84);
    }

    /// Hostile input: random flags, sequence and acknowledgment numbers,
    /// lengths and directions never panic, and the bounds hold throughout.
    #[test]
    fn random_segments_keep_the_bounds() {
        let limits = Limits { max_streams: 32, max_out_of_order_bytes: 4096, max_total_bytes: 64 * 1024 };
        let mut r = Reassembler::new(limits);
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let payload = vec![b'p'; 2000];
        let mut delivered = 0u64;
        let on = &mut |_, state: &mut Log, delivery: Delivery<'_>| {
            if let Delivery::Data { bytes, .. } = delivery {
                delivered += bytes.len() as u64;
                state.held = bytes.len() % 3000;
            }
        };
        for _ in 0..50_000 {
            let bits = next();
            let direction = Direction { src_port: (bits % 48) as u16, ..CLIENT };
            let direction = if bits & (1 << 8) != 0 { direction.reverse() } else { direction };
            let len = (next() % 1500) as usize;
            let segment = Segment {
                seq: if bits & (1 << 9) != 0 { next() as u32 } else { (next() % 20_000) as u32 },
                ack: (bits & (1 << 10) != 0).then(|| (next() % 20_000) as u32),
                syn: bits & (1 << 11) != 0 && bits & (1 << 12) != 0,
                fin: bits & (1 << 13) != 0 && bits & (1 << 14) != 0,
                rst: bits & (0x1f << 15) == 0,
                payload: &payload[..len],
                wire_len: if bits & (1 << 20) != 0 { len + (next() % 100) as usize } else { len },
                frame: Frame::default(),
            };
            r.segment(direction, &segment, always, on);
            assert!(r.streams.len() <= limits.max_streams);
            assert!(r.order.len() <= 2 * limits.max_streams);
            assert!(r.total <= limits.max_total_bytes + 3000, "{}", r.total);
            for stream in r.streams.values() {
                assert!(stream.held_bytes <= limits.max_out_of_order_bytes);
            }
            let holes = r.streams.values().filter(|s| !s.held.is_empty()).count();
            assert_eq!(r.streams_with_holes, holes);
            let cost: usize = r.streams.values().map(|s| s.footprint().cost).sum();
            assert_eq!(r.total, cost, "the running total is the streams' cost");
        }
        r.finish(on);
        assert!(delivered > 0 && r.streams.is_empty() && r.streams_with_holes == 0);
    }

    /// Any order of a stream's segments, with duplicates and overlapping
    /// retransmissions, delivers the stream's bytes exactly once.
    #[test]
    fn shuffled_duplicated_segments_deliver_the_stream_once() {
        let stream: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        for round in 0..50 {
            let isn = (round as u32).wrapping_mul(0x9e37_79b9);
            let mut pieces = Vec::new();
            let mut at = 0;
            while at < stream.len() {
                let len = 1 + next(300);
                let end = (at + len).min(stream.len());
                pieces.push((at, end));
                // Now and then a retransmission that straddles the next piece.
                if next(4) == 0 {
                    pieces.push((at, (end + next(200)).min(stream.len())));
                }
                at = end;
            }
            // The first piece stays first: it sets where the stream starts.
            for i in (2..pieces.len()).rev() {
                let j = 1 + next(i);
                pieces.swap(i, j);
            }
            let mut r = Reassembler::new(Limits::default());
            let seen = Seen::default();
            let on = &mut record(&seen);
            for &(from, to) in &pieces {
                r.segment(CLIENT, &data(isn.wrapping_add(from as u32), &stream[from..to]), always, on);
            }
            let held_before_end = r.streams.get(&CLIENT).map_or(0, |s| s.held.len());
            assert_eq!(held_before_end, 0, "round {round}: every hole filled");
            let (mut got, mut gaps) = (Vec::new(), Vec::new());
            r.finish(&mut |_, state: &mut Log, _| (got, gaps) = (state.bytes.clone(), state.gaps.clone()));
            assert_eq!(gaps, [] as [u64; 0], "round {round}");
            assert_eq!(got.len(), stream.len(), "round {round}");
            assert!(got == stream, "round {round}: bytes differ");
            assert_eq!(r.counts().gaps, 0);
        }
    }
}
