//! DTLS (RFC 6347, RFC 9147) over UDP, found by content on any port: its
//! records, and its handshake messages put back together from their
//! fragments, handed on as the same events TLS over TCP yields.
//!
//! Only the framing is read here, by hand: a record is a 13-byte header
//! (type, version, epoch, sequence number, length) and a handshake message
//! a 12-byte one (type, length, message_seq, fragment offset and length).
//! tls-parser's DTLS reader refuses a record holding a handshake type it
//! does not parse (ServerKeyExchange, Finished) and leaves fragments to its
//! caller, and a datagram usually holds several records, some encrypted.
//! What the hellos say is read by tls-parser (`hello.rs`).
//!
//! DTLS resends a flight it has no answer to: a message whose message_seq
//! was already read is a retransmission, counted and not read again.
//! Fragments may come in any order; a message is read when every byte of
//! it has come. Bounded: [`MAX_CONNECTIONS`] flows (the oldest forgotten),
//! [`MAX_PENDING`] incomplete messages per direction, each at most
//! [`MAX_HANDSHAKE_MESSAGE`] bytes, and [`MAX_HELD_BYTES`] in all.

use pcapsule_guest::bounded::OldestFirst;

use crate::fingerprint::Transport;
use crate::records::{ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, Event, HANDSHAKE, HEARTBEAT, MAX_HANDSHAKE_MESSAGE};
use crate::result::DtlsFacts;
use crate::scan::{At, Datagram, Endpoint, Happening};

/// DTLS flows followed at once.
const MAX_CONNECTIONS: usize = 4096;
/// Messages being put together per direction (a flight holds a few).
const MAX_PENDING: usize = 8;
/// Distinct pieces of one message (a certificate chain in 200-byte
/// fragments takes tens; a flood of tiny ones is refused).
const MAX_PIECES: usize = 256;
/// Bytes of incomplete messages held across all flows.
const MAX_HELD_BYTES: usize = 16 * 1024 * 1024;
/// Record header length (RFC 6347 §4.1) and handshake header length (§4.2.2).
const RECORD_HEADER: usize = 13;
const HANDSHAKE_HEADER: usize = 12;
/// RFC 9146's record with a connection ID, whose header length depends on
/// the ID's length, which only the endpoints know.
const TLS12_CID: u8 = 25;
/// Largest record body: 2^14 plus the expansion a protected record may add.
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;

/// A record header, checked: its fields and its body's extent.
struct RecordHeader {
    kind: u8,
    epoch: u16,
    length: usize,
}

impl RecordHeader {
    /// The header at the start of `bytes` if it is a DTLS one (major version
    /// 0xfe) whose body fits in `bytes`.
    fn parse(bytes: &[u8]) -> Option<RecordHeader> {
        let header = bytes.get(..RECORD_HEADER)?;
        let kind = header[0];
        let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
        let plausible = (CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&kind)
            && header[1] == 0xfe
            && header[2] >= 0xfc
            && length <= MAX_RECORD_BODY
            && RECORD_HEADER + length <= bytes.len();
        plausible.then(|| RecordHeader { kind, epoch: u16::from_be_bytes([header[3], header[4]]), length })
    }
}

/// Whether a datagram is DTLS records end to end (the check a flow not yet
/// followed must pass: three fixed bytes and a length that ends exactly
/// where the datagram or the next header does).
fn all_records(mut payload: &[u8]) -> bool {
    if payload.is_empty() {
        return false;
    }
    while !payload.is_empty() {
        let Some(header) = RecordHeader::parse(payload) else { return false };
        payload = &payload[RECORD_HEADER + header.length..];
    }
    true
}

/// A handshake message whose fragments are being put together.
struct Pending {
    seq: u16,
    kind: u8,
    body: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    have: Vec<(usize, usize)>,
}

impl Pending {
    fn add(&mut self, offset: usize, bytes: &[u8]) -> bool {
        let end = offset + bytes.len();
        self.body[offset..end].copy_from_slice(bytes);
        let at = self.have.partition_point(|&(_, e)| e < offset);
        let mut merged = (offset, end);
        while let Some(&(s, e)) = self.have.get(at)
            && s <= merged.1
        {
            merged = (merged.0.min(s), merged.1.max(e));
            self.have.remove(at);
        }
        if self.have.len() >= MAX_PIECES {
            return false;
        }
        self.have.insert(at, merged);
        true
    }

    fn complete(&self) -> bool {
        self.have.first() == Some(&(0, self.body.len()))
    }
}

/// Message sequence numbers read in one direction: all below `low`, and
/// those of the 64 after it whose bit is set.
#[derive(Default)]
struct Seen {
    low: u16,
    window: u64,
}

impl Seen {
    fn contains(&self, seq: u16) -> bool {
        seq < self.low || (seq - self.low < 64 && self.window >> (seq - self.low) & 1 == 1)
    }

    fn insert(&mut self, seq: u16) {
        if seq < self.low {
            return;
        }
        if seq - self.low >= 64 {
            // Messages far behind will not come now.
            let shift = seq - self.low - 63;
            self.window = self.window.checked_shr(u32::from(shift)).unwrap_or(0);
            self.low += shift;
        }
        self.window |= 1 << (seq - self.low);
        while self.window & 1 == 1 {
            self.window >>= 1;
            self.low = self.low.wrapping_add(1);
        }
    }
}

#[derive(Default)]
struct Side {
    seen: Seen,
    pending: Vec<Pending>,
}

impl Side {
    fn held(&self) -> usize {
        self.pending.iter().map(|p| p.body.len()).sum()
    }
}

struct Connection {
    /// The endpoint that sent first: index 0 of `sides`.
    first: Endpoint,
    sides: [Side; 2],
}

/// Follows DTLS flows.
pub struct DtlsScanner {
    /// The oldest is forgotten first when the table is full.
    connections: OldestFirst<(Endpoint, Endpoint), Connection>,
    pub counts: DtlsFacts,
    /// What incomplete messages may still hold, in all.
    room: usize,
}

impl Default for DtlsScanner {
    fn default() -> Self {
        DtlsScanner {
            connections: OldestFirst::new(MAX_CONNECTIONS),
            counts: DtlsFacts::default(),
            room: MAX_HELD_BYTES,
        }
    }
}

impl DtlsScanner {
    /// Reads a UDP datagram if it is DTLS; false when it is not (for QUIC's
    /// reader to look at).
    pub fn datagram(&mut self, datagram: &Datagram<'_>, on: &mut dyn FnMut(At, Happening<'_>)) -> bool {
        let (from, flow, payload) = (datagram.from, datagram.flow, datagram.payload);
        // Record types 20 to 25, or DTLS 1.3's unified header: anything
        // else (QUIC, most DNS) is let go before a table lookup.
        if !matches!(payload.first(), Some(20..=25 | 0x20..=0x3f)) {
            return false;
        }
        let at = datagram.at(Transport::Dtls);
        if !self.connections.contains_key(&flow) {
            if !all_records(payload) {
                return false;
            }
            self.follow(flow, from);
            on(at, Happening::Began { quic_version: None });
        }
        let connection = self.connections.get_mut(&flow).expect("followed");
        let side = usize::from(from != connection.first);
        let mut rest = payload;
        while let Some(&first) = rest.first() {
            if first & 0xe0 == 0x20 {
                // DTLS 1.3's unified header (RFC 9147 §4): encrypted.
                rest = unified_record(rest, at, on);
                continue;
            }
            if first == TLS12_CID {
                on(at, Happening::Record(Event::ApplicationData { bytes: rest.len() }));
                break;
            }
            let Some(header) = RecordHeader::parse(rest) else {
                self.counts.malformed_records += 1;
                break;
            };
            let body = &rest[RECORD_HEADER..RECORD_HEADER + header.length];
            rest = &rest[RECORD_HEADER + header.length..];
            let encrypted = header.epoch > 0;
            match header.kind {
                HANDSHAKE if encrypted => on(at, Happening::Record(Event::EncryptedHandshake)),
                HANDSHAKE => self.handshake(flow, side, body, at, on),
                CHANGE_CIPHER_SPEC => on(at, Happening::Record(Event::ChangeCipherSpec)),
                ALERT if encrypted || body.len() != 2 => on(at, Happening::Record(Event::EncryptedAlert)),
                ALERT => on(at, Happening::Record(Event::Alert { level: body[0], description: body[1] })),
                APPLICATION_DATA => on(at, Happening::Record(Event::ApplicationData { bytes: body.len() })),
                _ => on(at, Happening::Record(Event::Heartbeat { bytes: body.len() })),
            }
        }
        true
    }

    fn follow(&mut self, flow: (Endpoint, Endpoint), from: Endpoint) {
        let (room, counts) = (&mut self.room, &mut self.counts);
        self.connections.insert(flow, Connection { first: from, sides: Default::default() }, &mut |gone| {
            *room += gone.sides.iter().map(Side::held).sum::<usize>();
            counts.evicted_connections += 1;
        });
    }

    /// The handshake messages (or fragments) of one plaintext record.
    fn handshake(
        &mut self,
        flow: (Endpoint, Endpoint),
        side: usize,
        mut body: &[u8],
        at: At,
        on: &mut dyn FnMut(At, Happening<'_>),
    ) {
        let direction = &mut self.connections.get_mut(&flow).expect("followed").sides[side];
        while !body.is_empty() {
            let Some(header) = body.get(..HANDSHAKE_HEADER) else {
                self.counts.malformed_records += 1;
                return;
            };
            let u24 = |at: usize| {
                usize::from(header[at]) << 16 | usize::from(header[at + 1]) << 8 | usize::from(header[at + 2])
            };
            let (kind, length, seq) = (header[0], u24(1), u16::from_be_bytes([header[4], header[5]]));
            let (offset, fragment_length) = (u24(6), u24(9));
            let Some(fragment) = body.get(HANDSHAKE_HEADER..HANDSHAKE_HEADER + fragment_length) else {
                self.counts.malformed_records += 1;
                return;
            };
            body = &body[HANDSHAKE_HEADER + fragment_length..];
            if offset + fragment_length > length {
                self.counts.malformed_records += 1;
                continue;
            }
            if direction.seen.contains(seq) {
                // Fragments of a message already read, sent again.
                if offset == 0 {
                    self.counts.retransmitted_messages += 1;
                }
                continue;
            }
            if fragment_length == length {
                direction.seen.insert(seq);
                if let Some(i) = direction.pending.iter().position(|p| p.seq == seq) {
                    self.room += direction.pending.swap_remove(i).body.len();
                }
                on(at, Happening::Record(Event::Handshake { kind, body: fragment }));
                continue;
            }
            if length > MAX_HANDSHAKE_MESSAGE {
                direction.seen.insert(seq);
                on(at, Happening::Record(Event::OversizedHandshake { kind, length }));
                continue;
            }
            let index = match direction.pending.iter().position(|p| p.seq == seq) {
                Some(i) if direction.pending[i].body.len() == length && direction.pending[i].kind == kind => i,
                Some(_) => {
                    // Fragments that disagree on the message's type or length.
                    self.counts.malformed_records += 1;
                    continue;
                }
                None if direction.pending.len() < MAX_PENDING && self.room >= length => {
                    self.room -= length;
                    direction.pending.push(Pending { seq, kind, body: vec![0; length], have: Vec::new() });
                    direction.pending.len() - 1
                }
                None => {
                    self.counts.fragments_dropped += 1;
                    continue;
                }
            };
            let pending = &mut direction.pending[index];
            if !pending.add(offset, fragment) {
                self.counts.fragments_dropped += 1;
                self.room += pending.body.len();
                direction.pending.swap_remove(index);
                continue;
            }
            if pending.complete() {
                let done = direction.pending.swap_remove(index);
                self.room += done.body.len();
                direction.seen.insert(seq);
                on(at, Happening::Record(Event::Handshake { kind: done.kind, body: &done.body }));
            }
        }
    }
}

/// One DTLS 1.3 record with a unified header (`001CSLEE`): epoch 2 (its
/// low bits) protects the handshake, later ones application data. Without
/// a length, the record runs to the datagram's end; with a connection ID,
/// whose length the header does not say, the rest of the datagram is
/// taken for one record. Returns what follows it.
fn unified_record<'a>(bytes: &'a [u8], at: At, on: &mut dyn FnMut(At, Happening<'_>)) -> &'a [u8] {
    let flags = bytes[0];
    let (with_cid, long_seq, with_length) = (flags & 0x10 != 0, flags & 0x08 != 0, flags & 0x04 != 0);
    let header = 1 + if long_seq { 2 } else { 1 } + if with_length { 2 } else { 0 };
    let length = match bytes.get(header - 2..header) {
        Some(l) if with_length && !with_cid => usize::from(u16::from_be_bytes([l[0], l[1]])),
        _ => bytes.len().saturating_sub(header),
    };
    let end = (header + length).min(bytes.len());
    if flags & 0x03 == 2 {
        on(at, Happening::Record(Event::EncryptedHandshake));
    } else {
        on(at, Happening::Record(Event::ApplicationData { bytes: length }));
    }
    if with_cid { &[] } else { &bytes[end..] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_sequence_numbers_slide() {
        let mut seen = Seen::default();
        assert!(!seen.contains(0));
        seen.insert(1);
        assert!(seen.contains(1) && !seen.contains(0) && !seen.contains(2));
        seen.insert(0);
        assert_eq!((seen.low, seen.window), (2, 0));
        seen.insert(200);
        assert!(seen.contains(200) && seen.contains(136) && !seen.contains(137) && !seen.contains(199));
        seen.insert(u16::MAX);
        assert!(seen.contains(u16::MAX));
    }

    #[test]
    fn fragments_in_any_order_and_overlapping_make_the_message() {
        let mut pending = Pending { seq: 0, kind: 1, body: vec![0; 10], have: Vec::new() };
        assert!(pending.add(6, b"6789"));
        assert!(!pending.complete());
        assert!(pending.add(0, b"0123"));
        assert!(pending.add(3, b"3456"));
        assert!(pending.complete());
        assert_eq!(pending.body, b"0123456789");
        assert_eq!(pending.have, [(0, 10)]);
    }

    #[test]
    fn a_datagram_is_dtls_only_if_its_records_tile_it() {
        let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3];
        assert!(all_records(&record));
        record.push(0);
        assert!(!all_records(&record));
        assert!(!all_records(&[23, 3, 3, 0, 0]));
        assert!(!all_records(&[]));
    }
}
