//! From one direction's reassembled TCP bytes to TLS records, and from
//! handshake records to whole handshake messages.
//!
//! Written by hand, and only the framing: a record is a 5-byte header
//! (content type, version, length) and a handshake message a 4-byte one
//! (type, 24-bit length). tls-parser reads whole records and whole
//! messages; it cannot say where a record split across TCP segments, or a
//! handshake message split across records, ends, which is exactly what the
//! real captures do (a ClientHello over several segments, a certificate
//! chain over several records). What a message says is read by tls-parser
//! (see `hello.rs`).
//!
//! Bounded: a record is buffered only while its header and a handshake or
//! alert body are incomplete (at most one record, 18 KiB); a handshake
//! message only up to [`MAX_HANDSHAKE_MESSAGE`]; application data is counted
//! and skipped without being buffered, so a gap inside it does not lose the
//! stream's place.

/// TLS record content types (RFC 8446 §5.1, RFC 6520).
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;
pub const HEARTBEAT: u8 = 24;

/// Largest record body: 2^14 bytes plus the 2048 of expansion TLS 1.2
/// allows a protected record (RFC 5246 §6.2.3).
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;
/// Largest handshake message kept whole for parsing; longer ones (huge
/// certificate chains) are counted and skipped.
pub const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;

/// What a direction's bytes held, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole plaintext handshake message: its type and body.
    Handshake {
        kind: u8,
        body: &'a [u8],
    },
    /// An SSL 2.0-format ClientHello (RFC 5246 §E.2), which older clients
    /// open a TLS connection with: its body from the message type on.
    Sslv2ClientHello {
        body: &'a [u8],
    },
    /// A handshake record sent after ChangeCipherSpec: encrypted (the
    /// Finished message, renegotiation).
    EncryptedHandshake,
    ChangeCipherSpec,
    /// A plaintext alert.
    Alert {
        level: u8,
        description: u8,
    },
    /// An alert record sent after ChangeCipherSpec.
    EncryptedAlert,
    /// One application data record (TLS 1.3's encrypted handshake too) of
    /// this many bytes.
    ApplicationData {
        bytes: usize,
    },
    Heartbeat {
        bytes: usize,
    },
    /// A handshake message longer than [`MAX_HANDSHAKE_MESSAGE`]: not parsed.
    OversizedHandshake {
        kind: u8,
        length: usize,
    },
    /// The bytes stopped looking like TLS records (or a gap hid where the
    /// next record starts): nothing more of this direction is read.
    LostSync,
}

/// The record layer of one direction.
#[derive(Debug, Default)]
pub struct RecordReader {
    /// A record begun but not complete: its header, and for handshake and
    /// alert records its body so far.
    partial: Vec<u8>,
    /// Body bytes of the current record still to skip (application data,
    /// encrypted handshake, heartbeat): counted, never buffered.
    skip_record: usize,
    /// Handshake bytes carried over from earlier records: a message split
    /// across records.
    handshake: Vec<u8>,
    /// Bytes of an oversized handshake message still to skip.
    skip_handshake: usize,
    /// ChangeCipherSpec seen: later handshake and alert records are encrypted.
    encrypted: bool,
    /// Not TLS, or lost its place: nothing more is read.
    lost: bool,
    /// Records read (complete headers).
    pub records: u64,
}

/// Whether `header` (1 to 5 bytes) can begin a record.
fn plausible_header(header: &[u8]) -> bool {
    let kind_ok = header.first().is_none_or(|t| (CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(t));
    // SSL 3.0 to TLS 1.3 all put 3 in the major version.
    let major_ok = header.get(1).is_none_or(|&m| m == 3);
    let minor_ok = header.get(2).is_none_or(|&m| m <= 4);
    let length_ok = header.len() < 5 || body_length(header) <= MAX_RECORD_BODY;
    kind_ok && major_ok && minor_ok && length_ok
}

fn body_length(header: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([header[3], header[4]]))
}

/// Whether records of this type are counted and skipped rather than read.
fn skipped(kind: u8) -> bool {
    matches!(kind, APPLICATION_DATA | HEARTBEAT)
}

/// Handshake message types a plaintext record may carry.
const KNOWN_HANDSHAKE_TYPES: [u8; 17] = [0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 22, 24];

/// Whether a handshake record sent after ChangeCipherSpec is plaintext
/// after all: whole messages of known types, their lengths adding up to
/// the record's. TLS 1.3 clients send a ChangeCipherSpec for middleboxes'
/// sake (RFC 8446 §D.4) and then, after a HelloRetryRequest, their second
/// ClientHello in the clear; an encrypted Finished passes this test with a
/// chance of about 2^-24.
fn whole_plaintext_messages(mut body: &[u8]) -> bool {
    if body.is_empty() {
        return false;
    }
    while !body.is_empty() {
        if body.len() < 4 || !KNOWN_HANDSHAKE_TYPES.contains(&body[0]) {
            return false;
        }
        let length = usize::from(body[1]) << 16 | usize::from(body[2]) << 8 | usize::from(body[3]);
        if body.len() < 4 + length {
            return false;
        }
        body = &body[4 + length..];
    }
    true
}

/// An SSL 2.0 record's length, its 2-byte header included (the header's
/// high bit marks the format).
fn sslv2_record_length(header: &[u8]) -> usize {
    2 + (usize::from(header[0] & 0x7f) << 8 | usize::from(header[1]))
}

/// Whether `payload` begins with an SSL 2.0-format ClientHello: a 2-byte
/// header with the high bit set, message type 1, version SSL 2.0 or 3.x,
/// and lengths that add up (RFC 5246 §E.2).
pub fn is_sslv2_client_hello(payload: &[u8]) -> bool {
    if payload.len() < 11 || payload[0] & 0x80 == 0 || payload[2] != 1 {
        return false;
    }
    let u16_at = |at: usize| usize::from(u16::from_be_bytes([payload[at], payload[at + 1]]));
    let length = sslv2_record_length(payload) - 2;
    let version_ok = matches!((payload[3], payload[4]), (0, 2) | (3, 0..=3));
    let (specs, session, challenge) = (u16_at(5), u16_at(7), u16_at(9));
    version_ok
        && specs > 0
        && specs % 3 == 0
        && (16..=32).contains(&challenge)
        && 9 + specs + session + challenge == length
}

impl RecordReader {
    /// Bytes held for incomplete records and messages.
    pub fn held(&self) -> usize {
        self.partial.len() + self.handshake.len()
    }

    /// Whether the direction stopped being read.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// Reads the next bytes of the stream.
    pub fn feed(&mut self, mut data: &[u8], on: &mut dyn FnMut(Event<'_>)) {
        while !data.is_empty() && !self.lost {
            if self.skip_record > 0 {
                let n = self.skip_record.min(data.len());
                self.skip_record -= n;
                data = &data[n..];
                continue;
            }
            if self.records == 0 && self.partial.is_empty() && is_sslv2_client_hello(data) {
                let length = sslv2_record_length(data);
                if data.len() < length {
                    // Older clients send it in one segment; a split one is not followed.
                    self.lose(on);
                    return;
                }
                self.records += 1;
                on(Event::Sslv2ClientHello { body: &data[2..length] });
                data = &data[length..];
                continue;
            }
            if self.partial.is_empty() && data.len() >= 5 {
                // The common case: a whole header in hand.
                if !plausible_header(&data[..5]) {
                    self.lose(on);
                    return;
                }
                self.records += 1;
                let (kind, length) = (data[0], body_length(data));
                if skipped(kind) {
                    self.skipped_record(kind, length, on);
                    data = &data[5..];
                    self.skip_record = length;
                    continue;
                }
                if data.len() >= 5 + length {
                    self.record(kind, &data[5..5 + length], on);
                    data = &data[5 + length..];
                } else {
                    self.partial.extend_from_slice(data);
                    data = &[];
                }
                continue;
            }
            // A header or body split across deliveries.
            if self.partial.len() < 5 {
                let n = (5 - self.partial.len()).min(data.len());
                self.partial.extend_from_slice(&data[..n]);
                data = &data[n..];
                if !plausible_header(&self.partial) {
                    self.lose(on);
                    return;
                }
                if self.partial.len() < 5 {
                    return;
                }
                self.records += 1;
                let (kind, length) = (self.partial[0], body_length(&self.partial));
                if skipped(kind) {
                    self.partial.clear();
                    self.skipped_record(kind, length, on);
                    self.skip_record = length;
                    continue;
                }
            }
            let total = 5 + body_length(&self.partial);
            let n = (total - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.partial.len() == total {
                let record = std::mem::take(&mut self.partial);
                self.record(record[0], &record[5..], on);
                // Keep the allocation for the next split record.
                self.partial = record;
                self.partial.clear();
            }
        }
    }

    /// `missing` bytes of the stream were not captured.
    pub fn gap(&mut self, missing: u64, on: &mut dyn FnMut(Event<'_>)) {
        if self.lost {
            return;
        }
        if self.partial.is_empty() && (missing as usize as u64) == missing && missing as usize <= self.skip_record {
            // Inside a record whose body is skipped anyway: still in step.
            self.skip_record -= missing as usize;
            return;
        }
        self.lose(on);
    }

    fn lose(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        self.lost = true;
        self.partial = Vec::new();
        self.handshake = Vec::new();
        on(Event::LostSync);
    }

    fn skipped_record(&mut self, kind: u8, length: usize, on: &mut dyn FnMut(Event<'_>)) {
        on(if kind == HEARTBEAT {
            Event::Heartbeat { bytes: length }
        } else {
            Event::ApplicationData { bytes: length }
        });
    }

    /// A whole handshake, alert or ChangeCipherSpec record.
    fn record(&mut self, kind: u8, body: &[u8], on: &mut dyn FnMut(Event<'_>)) {
        match kind {
            HANDSHAKE if self.encrypted && !whole_plaintext_messages(body) => on(Event::EncryptedHandshake),
            HANDSHAKE => self.handshake_bytes(body, on),
            CHANGE_CIPHER_SPEC => {
                on(Event::ChangeCipherSpec);
                self.encrypted = true;
                // A message begun before it cannot continue after it.
                self.handshake.clear();
                self.skip_handshake = 0;
            }
            // A protected alert is longer than two bytes (it carries a MAC
            // or an AEAD tag); TLS 1.3's compatibility ChangeCipherSpec
            // changes nothing, so a plaintext alert may still follow it.
            // A plaintext alert is two bytes, warning (1) or fatal (2);
            // anything else is encrypted, also where this reader missed the
            // ChangeCipherSpec (a direction picked up again from a
            // retransmission after its FIN).
            ALERT if body.len() != 2 || !matches!(body[0], 1 | 2) => on(Event::EncryptedAlert),
            ALERT => on(Event::Alert { level: body[0], description: body[1] }),
            _ => {}
        }
    }

    /// The body of a plaintext handshake record: whole messages are handed
    /// on, a message's beginning is kept for the next record.
    fn handshake_bytes(&mut self, mut body: &[u8], on: &mut dyn FnMut(Event<'_>)) {
        if self.skip_handshake > 0 {
            let n = self.skip_handshake.min(body.len());
            self.skip_handshake -= n;
            body = &body[n..];
        }
        if self.handshake.is_empty() {
            let rest = self.messages(body, on);
            self.handshake.extend_from_slice(rest);
        } else {
            let mut carried = std::mem::take(&mut self.handshake);
            carried.extend_from_slice(body);
            let consumed = carried.len() - self.messages(&carried, on).len();
            carried.drain(..consumed);
            self.handshake = carried;
        }
    }

    /// Hands on every whole message at the start of `bytes`; returns the
    /// incomplete rest.
    fn messages<'b>(&mut self, mut bytes: &'b [u8], on: &mut dyn FnMut(Event<'_>)) -> &'b [u8] {
        while bytes.len() >= 4 {
            let kind = bytes[0];
            let length = usize::from(bytes[1]) << 16 | usize::from(bytes[2]) << 8 | usize::from(bytes[3]);
            if length > MAX_HANDSHAKE_MESSAGE {
                on(Event::OversizedHandshake { kind, length });
                let here = (bytes.len() - 4).min(length);
                self.skip_handshake = length - here;
                return &[];
            }
            if bytes.len() < 4 + length {
                break;
            }
            on(Event::Handshake { kind, body: &bytes[4..4 + length] });
            bytes = &bytes[4 + length..];
        }
        bytes
    }
}

/// Records and handshake messages built for the tests (TLS 1.2 record version).
#[cfg(test)]
pub(crate) mod build {
    pub fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::build::{message, record};
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Seen {
        Handshake(u8, Vec<u8>),
        Other(String),
    }

    fn read_in_pieces(stream: &[u8], piece: usize) -> (Vec<Seen>, RecordReader) {
        let mut reader = RecordReader::default();
        let mut seen = Vec::new();
        for chunk in stream.chunks(piece) {
            reader.feed(chunk, &mut |e| {
                seen.push(match e {
                    Event::Handshake { kind, body } => Seen::Handshake(kind, body.to_vec()),
                    other => Seen::Other(format!("{other:?}")),
                })
            });
        }
        (seen, reader)
    }

    #[test]
    fn messages_split_across_records_and_segments_are_whole() {
        let hello = message(2, &[7; 70]);
        let certificate = message(11, &[9; 300]);
        let done = message(14, &[]);
        let mut flight = hello.clone();
        flight.extend_from_slice(&certificate);
        flight.extend_from_slice(&done);
        // The certificate message starts in the first record and ends in the second.
        let cut = hello.len() + 100;
        let mut stream = record(HANDSHAKE, &flight[..cut]);
        stream.extend(record(HANDSHAKE, &flight[cut..]));
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        stream.extend(record(HANDSHAKE, &[0xee; 40]));
        stream.extend(record(APPLICATION_DATA, &[0xaa; 1000]));
        stream.extend(record(ALERT, &[0xbb; 26]));
        let expected = vec![
            Seen::Handshake(2, vec![7; 70]),
            Seen::Handshake(11, vec![9; 300]),
            Seen::Handshake(14, vec![]),
            Seen::Other("ChangeCipherSpec".into()),
            Seen::Other("EncryptedHandshake".into()),
            Seen::Other("ApplicationData { bytes: 1000 }".into()),
            Seen::Other("EncryptedAlert".into()),
        ];
        for piece in [1, 3, 5, 7, 64, 4096] {
            let (seen, reader) = read_in_pieces(&stream, piece);
            assert_eq!(seen, expected, "in pieces of {piece}");
            assert_eq!(reader.held(), 0);
            assert_eq!(reader.records, 6);
        }
    }

    #[test]
    fn a_compatibility_change_cipher_spec_leaves_a_second_client_hello_readable() {
        let hello = message(1, &[0x33; 90]);
        let mut stream = record(CHANGE_CIPHER_SPEC, &[1]);
        stream.extend(record(HANDSHAKE, &hello));
        stream.extend(record(ALERT, &[2, 40]));
        // A protected Finished: not whole messages.
        stream.extend(record(HANDSHAKE, &[0x14, 0, 0, 12, 0xee, 0xee]));
        let (seen, _) = read_in_pieces(&stream, 4096);
        assert_eq!(
            seen,
            vec![
                Seen::Other("ChangeCipherSpec".into()),
                Seen::Handshake(1, vec![0x33; 90]),
                Seen::Other("Alert { level: 2, description: 40 }".into()),
                Seen::Other("EncryptedHandshake".into()),
            ]
        );
    }

    /// zeek_tls1_1.pcap: the client's encrypted alert sent again after its
    /// FIN is read by a fresh reader, which never saw ChangeCipherSpec.
    #[test]
    fn an_alert_record_that_is_not_two_plaintext_bytes_is_encrypted() {
        let mut stream = record(ALERT, &[0x15; 48]);
        stream.extend(record(ALERT, &[1, 0]));
        stream.extend(record(ALERT, &[0x9c, 0x21]));
        let (seen, _) = read_in_pieces(&stream, 4096);
        assert_eq!(
            seen,
            vec![
                Seen::Other("EncryptedAlert".into()),
                Seen::Other("Alert { level: 1, description: 0 }".into()),
                Seen::Other("EncryptedAlert".into()),
            ]
        );
    }

    #[test]
    fn an_sslv2_client_hello_opens_a_connection() {
        // Type 1, version TLS 1.0, 2 cipher specs, no session ID, a 16-byte challenge.
        let mut body = vec![1, 3, 1, 0, 6, 0, 0, 0, 16];
        body.extend_from_slice(&[0, 0, 0x2f, 0, 0, 0x35]);
        body.extend_from_slice(&[0x44; 16]);
        let mut stream = vec![0x80, body.len() as u8];
        stream.extend_from_slice(&body);
        assert!(is_sslv2_client_hello(&stream));
        assert!(!is_sslv2_client_hello(&stream[..stream.len() - 1]) || stream.len() > 11);
        let mut wrong = stream.clone();
        wrong[1] += 1;
        assert!(!is_sslv2_client_hello(&wrong), "lengths must add up");
        stream.extend(record(HANDSHAKE, &message(2, &[5; 40])));
        let mut reader = RecordReader::default();
        let mut seen = Vec::new();
        reader.feed(&stream, &mut |e| seen.push(format!("{e:?}")));
        assert_eq!(seen.len(), 2);
        assert!(seen[0].starts_with("Sslv2ClientHello"), "{seen:?}");
        let hello = crate::hello::ClientHello::parse_sslv2(&body).unwrap();
        assert_eq!((hello.legacy_version, hello.cipher_suites), (0x0301, 2));
    }

    #[test]
    fn plaintext_alerts_and_lost_sync() {
        let mut stream = record(ALERT, &[2, 40]);
        stream.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let (seen, reader) = read_in_pieces(&stream, 4096);
        assert_eq!(
            seen,
            vec![Seen::Other("Alert { level: 2, description: 40 }".into()), Seen::Other("LostSync".into())]
        );
        assert!(reader.is_lost());
    }

    #[test]
    fn buffers_stay_bounded_and_gaps_in_skipped_bodies_keep_the_place() {
        // A message claiming more than the cap is skipped, not buffered.
        let mut huge = vec![11];
        huge.extend_from_slice(&((MAX_HANDSHAKE_MESSAGE + 1) as u32).to_be_bytes()[1..]);
        huge.extend_from_slice(&[0; 100]);
        let mut reader = RecordReader::default();
        let mut events = Vec::new();
        reader.feed(&record(HANDSHAKE, &huge), &mut |e| events.push(format!("{e:?}")));
        assert_eq!(events, [format!("OversizedHandshake {{ kind: 11, length: {} }}", MAX_HANDSHAKE_MESSAGE + 1)]);
        assert_eq!(reader.held(), 0);

        let mut reader = RecordReader::default();
        let data = record(APPLICATION_DATA, &[0; 2000]);
        let mut count = 0;
        reader.feed(&data[..500], &mut |_| count += 1);
        reader.gap(1000, &mut |_| count += 100);
        reader.feed(&data[1500..], &mut |_| count += 1);
        reader.feed(&record(APPLICATION_DATA, &[0; 10]), &mut |_| count += 1);
        assert_eq!(count, 2, "one record, a gap inside it, then the next record");
        assert!(!reader.is_lost());
        reader.gap(5, &mut |_| count += 100);
        assert!(reader.is_lost(), "a gap between records loses the place");
    }
}
