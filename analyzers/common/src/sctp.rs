//! SCTP (RFC 9260): user messages out of DATA and I-DATA (RFC 8260) chunks,
//! fragmented ones reassembled, for analyzers that read messages (SIP over
//! SCTP, RFC 4168; Diameter; SIGTRAN).
//!
//! Hand-written, smoltcp-style (lengths checked once, then plain reads):
//! etherparse stops at the IP payload for SCTP, and the Rust crates that know
//! SCTP (`sctp-proto`, `webrtc-sctp`) are whole protocol stacks with
//! association state, not parsers of captured packets.
//!
//! Messages are delivered as the capture shows them: a chunk retransmitted
//! is a message seen twice, as Wireshark dissects it twice. Fragments are
//! held per stream and message, bounded in messages and bytes, and a message
//! whose fragments do not all arrive is counted, not delivered.

use std::collections::{BTreeMap, VecDeque};

use crate::decode::Decoded;
use crate::fast_hash::HashMap;
use crate::reassembly::{Direction, Frame};

/// IP protocol number of SCTP.
pub const IP_PROTOCOL: u8 = 132;

const CHUNK_DATA: u8 = 0;
const CHUNK_IDATA: u8 = 64;
/// Chunks read from one packet at most (a jumbo frame holds ~2,000 empty
/// ones; real packets bundle a handful).
const MAX_CHUNKS_PER_PACKET: usize = 256;
/// Messages in reassembly at once; the oldest is dropped past this.
const MAX_PARTIAL_MESSAGES: usize = 1024;
/// Bytes held in fragments in total, and in one message.
const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// One user message, whole.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Addresses and ports of the association, as the sender sent it.
    pub direction: Direction,
    /// SCTP stream identifier.
    pub stream: u16,
    /// Payload protocol identifier (e.g. 46 for Diameter, 3 for M3UA; SIP
    /// uses 0).
    pub ppid: u32,
    /// The message bytes.
    pub bytes: &'a [u8],
    /// The frame that completed it.
    pub frame: Frame,
}

/// What SCTP reading counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SctpCounts {
    /// SCTP packets read.
    pub packets: u64,
    /// DATA and I-DATA chunks.
    pub data_chunks: u64,
    /// Other chunks (INIT, SACK, HEARTBEAT, ...).
    pub control_chunks: u64,
    /// Packets whose common header or a chunk length was broken (the chunks
    /// before the break are read).
    pub malformed_packets: u64,
    /// Messages delivered, of which reassembled from fragments.
    pub messages: u64,
    pub reassembled_messages: u64,
    /// Messages given up: fragments missing at the end of the capture,
    /// dropped past a bound, or larger than a message may be.
    pub incomplete_messages: u64,
}

/// A DATA or I-DATA chunk, checked.
struct DataChunk<'a> {
    begin: bool,
    end: bool,
    unordered: bool,
    stream: u16,
    /// Which message: the SSN of DATA, the MID of I-DATA.
    message_id: u32,
    /// Order of the fragment in its message: the TSN of DATA, the FSN of
    /// I-DATA (0 for the first fragment).
    fragment: u32,
    ppid: u32,
    data: &'a [u8],
}

impl<'a> DataChunk<'a> {
    /// `value`: the chunk after its 4-byte header, without padding.
    fn parse(kind: u8, flags: u8, value: &'a [u8]) -> Option<Self> {
        let word = |at: usize| -> u32 { u32::from_be_bytes([value[at], value[at + 1], value[at + 2], value[at + 3]]) };
        let (unordered, begin, end) = (flags & 0x04 != 0, flags & 0x02 != 0, flags & 0x01 != 0);
        match kind {
            CHUNK_DATA if value.len() >= 12 => Some(DataChunk {
                begin,
                end,
                unordered,
                stream: (word(4) >> 16) as u16,
                message_id: if unordered { u32::MAX } else { word(4) & 0xffff },
                fragment: word(0),
                ppid: word(8),
                data: &value[12..],
            }),
            CHUNK_IDATA if value.len() >= 16 => Some(DataChunk {
                begin,
                end,
                unordered,
                stream: (word(4) >> 16) as u16,
                message_id: word(8),
                // The first fragment carries the PPID where the others carry their FSN.
                fragment: if begin { 0 } else { word(12) },
                ppid: if begin { word(12) } else { 0 },
                data: &value[16..],
            }),
            _ => None,
        }
    }
}

/// A message in reassembly: direction, stream, unordered, message id.
/// Unordered DATA has no message id, so two unordered messages fragmented
/// at once on one stream would mix; senders rarely interleave them.
type PartialKey = (Direction, u16, bool, u32);

/// Fragments of one message.
struct Partial {
    ppid: u32,
    /// Fragments by order; the first has `begin`, the last `end`.
    fragments: BTreeMap<u32, Vec<u8>>,
    first: Option<u32>,
    last: Option<u32>,
    bytes: usize,
}

/// Reads SCTP packets into messages; one per analyzer run.
#[derive(Default)]
pub struct SctpReader {
    partial: HashMap<PartialKey, Partial>,
    order: VecDeque<PartialKey>,
    held: usize,
    counts: SctpCounts,
}

impl SctpReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was counted so far.
    pub fn counts(&self) -> &SctpCounts {
        &self.counts
    }

    /// Reads one decoded packet: nothing unless it is SCTP; `found` gets
    /// each message it completes.
    pub fn packet(&mut self, decoded: &Decoded<'_>, frame: Frame, found: &mut impl FnMut(Message<'_>)) {
        let Some((IP_PROTOCOL, payload)) = decoded.ip_payload() else { return };
        let Some((src, dst)) = decoded.ip_addrs() else { return };
        self.counts.packets += 1;
        // Common header: source port, destination port, verification tag, checksum.
        let Some(chunks) = payload.get(12..) else {
            self.counts.malformed_packets += 1;
            return;
        };
        let direction = Direction {
            src,
            src_port: u16::from_be_bytes([payload[0], payload[1]]),
            dst,
            dst_port: u16::from_be_bytes([payload[2], payload[3]]),
        };
        let mut rest = chunks;
        for _ in 0..MAX_CHUNKS_PER_PACKET {
            if rest.is_empty() {
                return;
            }
            let Some(&[kind, flags, high, low]) = rest.get(..4) else { break };
            let length = usize::from(u16::from_be_bytes([high, low]));
            let Some(value) = rest.get(4..length.max(4)).filter(|_| length >= 4) else { break };
            rest = rest.get(length.next_multiple_of(4)..).unwrap_or(&[]);
            if kind != CHUNK_DATA && kind != CHUNK_IDATA {
                self.counts.control_chunks += 1;
                continue;
            }
            self.counts.data_chunks += 1;
            let Some(chunk) = DataChunk::parse(kind, flags, value) else { break };
            self.data(direction, chunk, frame, found);
        }
        if !rest.is_empty() {
            self.counts.malformed_packets += 1;
        }
    }

    fn data(&mut self, direction: Direction, chunk: DataChunk<'_>, frame: Frame, found: &mut impl FnMut(Message<'_>)) {
        if chunk.begin && chunk.end {
            self.counts.messages += 1;
            let message = Message { direction, stream: chunk.stream, ppid: chunk.ppid, bytes: chunk.data, frame };
            found(message);
            return;
        }
        let key = (direction, chunk.stream, chunk.unordered, chunk.message_id);
        if !self.partial.contains_key(&key) {
            if self.partial.len() >= MAX_PARTIAL_MESSAGES {
                self.drop_oldest();
            }
            if self.order.len() >= 2 * MAX_PARTIAL_MESSAGES {
                // Drop the places of messages that completed, so the order stays bounded.
                let partial = &self.partial;
                self.order.retain(|k| partial.contains_key(k));
            }
            let partial = Partial { ppid: 0, fragments: BTreeMap::new(), first: None, last: None, bytes: 0 };
            self.partial.insert(key, partial);
            self.order.push_back(key);
        }
        let partial = self.partial.get_mut(&key).expect("inserted above");
        if chunk.begin {
            partial.first = Some(chunk.fragment);
            partial.ppid = chunk.ppid;
        }
        if chunk.end {
            partial.last = Some(chunk.fragment);
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = partial.fragments.entry(chunk.fragment) {
            slot.insert(chunk.data.to_vec());
            partial.bytes += chunk.data.len();
            self.held += chunk.data.len();
        }
        if partial.bytes > MAX_MESSAGE_BYTES {
            self.give_up(&key);
            return;
        }
        if let (Some(first), Some(last)) = (partial.first, partial.last)
            && u64::from(last.wrapping_sub(first)) + 1 == partial.fragments.len() as u64
            && partial.fragments.keys().all(|k| k.wrapping_sub(first) <= last.wrapping_sub(first))
        {
            let partial = self.partial.remove(&key).expect("present");
            self.held -= partial.bytes;
            // In fragment order from the first, across a wrap of the TSN.
            let mut pieces: Vec<(u32, Vec<u8>)> = partial.fragments.into_iter().collect();
            pieces.sort_by_key(|(n, _)| n.wrapping_sub(first));
            let bytes: Vec<u8> = pieces.into_iter().flat_map(|(_, b)| b).collect();
            self.counts.messages += 1;
            self.counts.reassembled_messages += 1;
            found(Message { direction, stream: chunk.stream, ppid: partial.ppid, bytes: &bytes, frame });
        }
        while self.held > MAX_HELD_BYTES {
            self.drop_oldest();
        }
    }

    fn give_up(&mut self, key: &PartialKey) {
        if let Some(partial) = self.partial.remove(key) {
            self.held -= partial.bytes;
            self.counts.incomplete_messages += 1;
        }
    }

    fn drop_oldest(&mut self) {
        while let Some(key) = self.order.pop_front() {
            if self.partial.contains_key(&key) {
                self.give_up(&key);
                return;
            }
        }
    }

    /// At the end of the capture: messages still missing fragments are counted.
    pub fn finish(&mut self) {
        self.counts.incomplete_messages += self.partial.len() as u64;
        self.partial.clear();
        self.order.clear();
        self.held = 0;
    }

    /// Warnings for the result.
    pub fn warnings(&self) -> Vec<String> {
        let c = &self.counts;
        let mut warnings = Vec::new();
        if c.malformed_packets > 0 {
            warnings.push(format!("{} SCTP packets had a broken header or chunk length", c.malformed_packets));
        }
        if c.incomplete_messages > 0 {
            warnings.push(format!(
                "{} SCTP messages were missing fragments (not captured, or past the reassembly bounds) and were \
                 skipped",
                c.incomplete_messages
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, PacketBuilder};

    /// A chunk: type, flags, value (padded to four bytes).
    fn chunk(kind: u8, flags: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![kind, flags];
        out.extend_from_slice(&(4 + value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    fn data(flags: u8, tsn: u32, stream: u16, ssn: u16, ppid: u32, bytes: &[u8]) -> Vec<u8> {
        let value = [&tsn.to_be_bytes()[..], &stream.to_be_bytes(), &ssn.to_be_bytes(), &ppid.to_be_bytes(), bytes];
        chunk(CHUNK_DATA, flags, &value.concat())
    }

    /// An IPv4 packet carrying SCTP with these chunks.
    fn packet(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut sctp = vec![0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0];
        for c in chunks {
            sctp.extend_from_slice(c);
        }
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).write(&mut out, IpNumber(IP_PROTOCOL), &sctp).unwrap();
        out
    }

    fn read(reader: &mut SctpReader, ip: &[u8], number: u64) -> Vec<(u64, u16, u32, Vec<u8>)> {
        let decoded = crate::decode::decode(crate::linktype::RAW, ip).unwrap();
        let mut out = Vec::new();
        reader.packet(&decoded, Frame { number, timestamp: None }, &mut |m: Message<'_>| {
            assert_eq!((m.direction.src_port, m.direction.dst_port), (5060, 5060));
            out.push((m.frame.number, m.stream, m.ppid, m.bytes.to_vec()));
        });
        out
    }

    #[test]
    fn bundled_chunks_and_fragments_in_any_order() {
        let mut r = SctpReader::new();
        let init = chunk(1, 0, &[0; 16]);
        let whole = data(0x03, 10, 1, 0, 0, b"OPTIONS");
        let sack = chunk(3, 0, &[0; 12]);
        assert_eq!(read(&mut r, &packet(&[init, whole, sack]), 1), [(1, 1, 0, b"OPTIONS".to_vec())]);
        // One message in three fragments, the middle one last.
        let first = data(0x02, 11, 2, 5, 46, b"abc");
        let middle = data(0x00, 12, 2, 5, 0, b"def");
        let last = data(0x01, 13, 2, 5, 0, b"gh");
        assert!(read(&mut r, &packet(&[first]), 2).is_empty());
        assert!(read(&mut r, &packet(&[last]), 3).is_empty());
        assert_eq!(read(&mut r, &packet(&[middle]), 4), [(4, 2, 46, b"abcdefgh".to_vec())]);
        let c = r.counts();
        assert_eq!((c.packets, c.data_chunks, c.control_chunks, c.messages, c.reassembled_messages), (4, 4, 2, 2, 1));
        r.finish();
        assert_eq!(r.counts().incomplete_messages, 0);
    }

    #[test]
    fn i_data_fragments_are_ordered_by_fsn() {
        let mut r = SctpReader::new();
        let idata = |flags: u8, tsn: u32, mid: u32, ppid_or_fsn: u32, bytes: &[u8]| {
            let value = [
                &tsn.to_be_bytes()[..],
                &7u16.to_be_bytes(),
                &[0, 0],
                &mid.to_be_bytes(),
                &ppid_or_fsn.to_be_bytes(),
                bytes,
            ];
            chunk(CHUNK_IDATA, flags, &value.concat())
        };
        let got = read(&mut r, &packet(&[idata(0x01, 102, 9, 2, b"3"), idata(0x00, 101, 9, 1, b"2")]), 1);
        assert!(got.is_empty());
        assert_eq!(read(&mut r, &packet(&[idata(0x02, 100, 9, 51, b"1")]), 2), [(2, 7, 51, b"123".to_vec())]);
    }

    #[test]
    fn broken_chunks_and_missing_fragments_are_counted() {
        let mut r = SctpReader::new();
        let mut bad = data(0x03, 1, 0, 0, 0, b"fine");
        bad.extend_from_slice(&[0, 3, 0, 200]);
        assert_eq!(read(&mut r, &packet(&[bad]), 1).len(), 1, "chunks before the break are read");
        assert!(read(&mut r, &packet(&[vec![0, 3, 0, 2]]), 2).is_empty(), "a chunk length below 4");
        assert_eq!(r.counts().malformed_packets, 2);
        read(&mut r, &packet(&[data(0x02, 5, 0, 1, 0, b"begin")]), 3);
        r.finish();
        assert_eq!(r.counts().incomplete_messages, 1);
        assert_eq!(r.warnings().len(), 2);
    }

    #[test]
    fn fragments_held_are_bounded() {
        let mut r = SctpReader::new();
        for i in 0..(MAX_PARTIAL_MESSAGES as u32 * 3) {
            read(&mut r, &packet(&[data(0x02, i * 2, 0, i as u16, 0, &[b'x'; 900])]), 1);
            assert!(r.partial.len() <= MAX_PARTIAL_MESSAGES && r.order.len() <= 2 * MAX_PARTIAL_MESSAGES);
            assert!(r.held <= MAX_HELD_BYTES);
        }
        assert!(r.counts().incomplete_messages >= 2 * MAX_PARTIAL_MESSAGES as u64);
    }
}
