//! QUIC's handshake, read as Wireshark reads it: the TLS messages a QUIC
//! connection opens with travel in CRYPTO frames of Initial packets, which
//! are protected with keys anyone can derive from the client's first
//! Destination Connection ID (RFC 9001 §5.2; RFC 9369 for version 2). So
//! the ClientHello (SNI, ALPN, JA4 with its `q`) and the ServerHello are
//! decrypted, reassembled across packets and frames, and handed on as the
//! same events TLS over TCP yields; later packets (Handshake, 0-RTT,
//! 1-RTT) are counted per side, as encrypted handshake and application
//! data.
//!
//! Headers and frames are parsed here: no maintained QUIC crate parses
//! packets without running a connection (quinn-proto and quiche are
//! endpoints), and the wire format needed is a few variable-length
//! integers and the three frame types an Initial may carry.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::{AeadInOut, Aes128Gcm};
use hkdf::Hkdf;
use pcapsule_guest::bounded::OldestFirst;
use sha2::Sha256;

use crate::fingerprint::Transport;
use crate::records::Event;
use crate::result::QuicFacts;
use crate::scan::{At, Datagram, Endpoint, Happening};

/// QUIC connections followed at once.
const MAX_CONNECTIONS: usize = 4096;
/// CRYPTO stream offsets read per direction: a ClientHello with a
/// post-quantum key share and a ServerHello fit many times over;
/// certificates travel in Handshake packets, which cannot be read.
const MAX_CRYPTO_BYTES: u64 = 64 * 1024;
/// CRYPTO pieces held ahead of a hole per direction (a ClientHello comes in
/// a few; a flood of tiny pieces is refused rather than sorted).
const MAX_AHEAD_PIECES: usize = 32;
/// CRYPTO bytes held across all connections.
const MAX_HELD_BYTES: usize = 16 * 1024 * 1024;

const VERSION_1: u32 = 1;
const VERSION_2: u32 = 0x6b33_43cf;

/// Salts of the Initial secrets (RFC 9001 §5.2, RFC 9369 §3.3.1, drafts).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e,
    0xd9,
];
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8,
    0x99,
];

/// A QUIC version as people write it: `1`, `2`, `draft-29`, or hex.
pub fn version_name(version: u32) -> String {
    match version {
        VERSION_1 => "1".into(),
        VERSION_2 => "2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", version & 0xff),
        v => format!("0x{v:08x}"),
    }
}

/// What the versions pcapsule decrypts differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    salt: &'static [u8; 20],
    /// Key labels (`quic key` or `quicv2 key`, ...).
    v2: bool,
}

impl Version {
    fn of(version: u32) -> Option<Version> {
        match version {
            VERSION_1 => Some(Version { salt: &SALT_V1, v2: false }),
            VERSION_2 => Some(Version { salt: &SALT_V2, v2: true }),
            0xff00_001d..=0xff00_0022 => Some(Version { salt: &SALT_DRAFT_29, v2: false }),
            _ => None,
        }
    }

    /// The packet type a long header's bits 4-5 name (RFC 9369 §3.2
    /// permutes them in version 2).
    fn packet_type(self, bits: u8) -> LongType {
        match (self.v2, bits) {
            (false, 0) | (true, 1) => LongType::Initial,
            (false, 1) | (true, 2) => LongType::ZeroRtt,
            (false, 2) | (true, 3) => LongType::Handshake,
            _ => LongType::Retry,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// One direction's Initial keys.
struct Keys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    header: aes::Aes128,
}

impl Keys {
    /// The client's (`client in`) or the server's (`server in`) Initial
    /// keys for a client's first Destination Connection ID.
    fn initial(version: Version, dcid: &[u8], label: &[u8]) -> Keys {
        let (initial_secret, _) = Hkdf::<Sha256>::extract(Some(version.salt), dcid);
        let secret: [u8; 32] = expand_label(&initial_secret, label);
        let (key_label, iv_label, hp_label): (&[u8], &[u8], &[u8]) = if version.v2 {
            (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
        } else {
            (b"quic key", b"quic iv", b"quic hp")
        };
        let key: [u8; 16] = expand_label(&secret, key_label);
        let hp: [u8; 16] = expand_label(&secret, hp_label);
        Keys {
            aead: Aes128Gcm::new(&key.into()),
            iv: expand_label(&secret, iv_label),
            header: aes::Aes128::new(&hp.into()),
        }
    }

    /// Removes header protection and decrypts a long-header packet whose
    /// packet number starts at `pn_offset` and which ends at `end`; returns
    /// the plaintext payload, or `None` when it does not authenticate.
    fn open(&self, packet: &mut [u8], pn_offset: usize, end: usize) -> Option<usize> {
        let sample = packet.get(pn_offset + 4..pn_offset + 20)?;
        let mut mask = aes::Block::try_from(sample).ok()?;
        self.header.encrypt_block(&mut mask);
        packet[0] ^= mask[0] & 0x0f;
        let pn_length = usize::from(packet[0] & 0x03) + 1;
        let mut number = 0u64;
        for i in 0..pn_length {
            packet[pn_offset + i] ^= mask[1 + i];
            number = number << 8 | u64::from(packet[pn_offset + i]);
        }
        let mut nonce = self.iv;
        for (i, byte) in number.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= byte;
        }
        let payload_start = pn_offset + pn_length;
        let tag_start = end.checked_sub(16).filter(|t| *t >= payload_start)?;
        let (header, rest) = packet.split_at_mut(payload_start);
        let (ciphertext, tag) = rest[..end - payload_start].split_at_mut(tag_start - payload_start);
        let tag = aes_gcm::Tag::try_from(&tag[..]).ok()?;
        self.aead.decrypt_inout_detached(&nonce.into(), header, ciphertext.into(), &tag).ok()?;
        Some(ciphertext.len())
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label<const N: usize>(secret: &[u8], label: &[u8]) -> [u8; N] {
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&(N as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = [0u8; N];
    Hkdf::<Sha256>::from_prk(secret).expect("a SHA-256 PRK").expand(&info, &mut out).expect("a short output");
    out
}

/// A QUIC variable-length integer (RFC 9000 §16) at the start of `bytes`,
/// and the rest.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let first = *bytes.first()?;
    let length = 1usize << (first >> 6);
    let raw = bytes.get(..length)?;
    let mut value = u64::from(first & 0x3f);
    for byte in &raw[1..] {
        value = value << 8 | u64::from(*byte);
    }
    Some((value, &bytes[length..]))
}

/// CRYPTO data of one direction, in order.
///
/// Written here rather than with the shared TCP reassembler: CRYPTO
/// offsets are 62-bit and start at 0 in each packet number space, with no
/// sequence wrap, no connection state and at most a few kilobytes.
#[derive(Default)]
struct CryptoStream {
    /// The stream offset of `data[0]`: what came before was handed on.
    base: u64,
    /// Contiguous bytes from `base`, not yet handed on as whole messages.
    data: Vec<u8>,
    /// Pieces that arrived ahead of a hole, with their offsets.
    ahead: Vec<(u64, Vec<u8>)>,
    ahead_bytes: usize,
}

impl CryptoStream {
    /// Bytes held.
    fn held(&self) -> usize {
        self.data.len() + self.ahead_bytes
    }

    /// Takes a CRYPTO frame's bytes, within `room` (what every stream may
    /// still hold, updated); false when they had to be dropped.
    fn add(&mut self, offset: u64, bytes: &[u8], room: &mut usize) -> bool {
        let before = self.held();
        let end = offset.saturating_add(bytes.len() as u64);
        let have = self.base + self.data.len() as u64;
        if end <= have {
            return true; // a retransmission of bytes already read
        }
        if end > MAX_CRYPTO_BYTES || bytes.len() > *room {
            return false;
        }
        if offset > have {
            if self.ahead.len() >= MAX_AHEAD_PIECES {
                return false;
            }
            self.ahead.push((offset, bytes.to_vec()));
            self.ahead_bytes += bytes.len();
        } else {
            self.data.extend_from_slice(&bytes[(have - offset) as usize..]);
        }
        // Pieces the new bytes reach.
        while let Some(i) = self.ahead.iter().position(|(o, _)| *o <= self.base + self.data.len() as u64) {
            let (o, piece) = self.ahead.swap_remove(i);
            self.ahead_bytes -= piece.len();
            let have = self.base + self.data.len() as u64;
            if o + piece.len() as u64 > have {
                self.data.extend_from_slice(&piece[(have - o) as usize..]);
            }
        }
        *room = (*room + before).saturating_sub(self.held());
        true
    }

    /// Hands on each whole handshake message, then lets its bytes go
    /// (giving them back to `room`).
    fn messages(&mut self, room: &mut usize, on: &mut dyn FnMut(u8, &[u8])) {
        let mut delivered = 0;
        while let Some(header) = self.data.get(delivered..delivered + 4) {
            let length = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
            let start = delivered + 4;
            let Some(body) = self.data.get(start..start + length) else { break };
            on(header[0], body);
            delivered = start + length;
        }
        self.data.drain(..delivered);
        self.base += delivered as u64;
        *room += delivered;
    }
}

struct Connection {
    version: Version,
    client: Endpoint,
    /// The keys of each side (client, server), from the client's first
    /// Destination Connection ID (or the one a Retry gave it).
    keys: [Keys; 2],
    crypto: [CryptoStream; 2],
}

/// Follows QUIC connections over UDP, on any port.
pub struct QuicScanner {
    /// The oldest is forgotten first when the table is full.
    connections: OldestFirst<(Endpoint, Endpoint), Connection>,
    pub counts: QuicFacts,
    /// Scratch for decryption.
    buffer: Vec<u8>,
    /// What the CRYPTO streams may still hold, in all.
    room: usize,
}

impl Default for QuicScanner {
    fn default() -> Self {
        QuicScanner {
            connections: OldestFirst::new(MAX_CONNECTIONS),
            counts: QuicFacts::default(),
            buffer: Vec::new(),
            room: MAX_HELD_BYTES,
        }
    }
}

impl QuicScanner {
    /// Reads one UDP datagram; `on` receives what it completes.
    pub fn datagram(&mut self, datagram: &Datagram<'_>, on: &mut dyn FnMut(At, Happening<'_>)) {
        let (from, flow, payload) = (datagram.from, datagram.flow, datagram.payload);
        let at = datagram.at(Transport::Quic);
        let Some(&first) = payload.first() else { return };
        if first & 0x80 == 0 {
            // A short header: 1-RTT data of a connection already followed.
            if first & 0x40 != 0 && self.connections.contains_key(&flow) {
                on(at, Happening::Record(Event::ApplicationData { bytes: payload.len() }));
            }
            return;
        }
        let mut rest = payload;
        let mut counted = false;
        while let Some(&first) = rest.first() {
            if first & 0x80 == 0 {
                if self.connections.contains_key(&flow) {
                    on(at, Happening::Record(Event::ApplicationData { bytes: rest.len() }));
                }
                return;
            }
            let Some(header) = LongHeader::parse(rest) else { return };
            // A version negotiation, or a version pcapsule reads with the
            // fixed bit set: other UDP payloads with the first bit set
            // (RTP's, say) are not QUIC.
            let version = Version::of(header.version).filter(|_| first & 0x40 != 0);
            if header.version != 0 && version.is_none() {
                return;
            }
            if !counted {
                self.counts.long_header_datagrams += 1;
                counted = true;
            }
            let Some(version) = version else {
                self.counts.version_negotiations += 1;
                return;
            };
            let kind = version.packet_type(first >> 4 & 0x03);
            if kind == LongType::Retry {
                // The client's next Initial is protected with keys from the
                // connection ID the Retry chose: found when it comes.
                self.counts.retry_packets += 1;
                return;
            }
            let Some(end) = header.end else {
                // A client Initial cut by the capture's snap length still
                // names the connection ID both sides' keys come from.
                if header.truncated && kind == LongType::Initial {
                    self.counts.initial_packets += 1;
                    self.counts.truncated_initials += 1;
                    self.follow(flow, from, version, header.version, header.dcid, at, on);
                }
                return;
            };
            let packet_bytes = &rest[..end];
            rest = &rest[end..];
            match kind {
                LongType::Initial => {
                    self.counts.initial_packets += 1;
                    self.initial(flow, from, version, header.version, &header, packet_bytes, at, on);
                }
                LongType::Handshake if self.connections.contains_key(&flow) => {
                    on(at, Happening::Record(Event::EncryptedHandshake));
                }
                LongType::ZeroRtt if self.connections.contains_key(&flow) => {
                    on(at, Happening::Record(Event::ApplicationData { bytes: packet_bytes.len() }));
                }
                _ => {}
            }
        }
    }

    /// The connection a flow's Initial belongs to, followed from now on if
    /// it is new (its first Initial is the client's: that packet's
    /// Destination Connection ID keys both sides).
    #[allow(clippy::too_many_arguments)]
    fn follow(
        &mut self,
        flow: (Endpoint, Endpoint),
        from: Endpoint,
        version: Version,
        wire_version: u32,
        dcid: &[u8],
        at: At,
        on: &mut dyn FnMut(At, Happening<'_>),
    ) {
        if !self.connections.contains_key(&flow) {
            let connection = Connection {
                version,
                client: from,
                keys: [Keys::initial(version, dcid, b"client in"), Keys::initial(version, dcid, b"server in")],
                crypto: Default::default(),
            };
            let (room, counts) = (&mut self.room, &mut self.counts);
            self.connections.insert(flow, connection, &mut |gone| {
                *room += gone.crypto.iter().map(CryptoStream::held).sum::<usize>();
                counts.evicted_connections += 1;
            });
            on(at, Happening::Began { quic_version: Some(wire_version) });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn initial(
        &mut self,
        flow: (Endpoint, Endpoint),
        from: Endpoint,
        version: Version,
        wire_version: u32,
        header: &LongHeader<'_>,
        packet: &[u8],
        at: At,
        on: &mut dyn FnMut(At, Happening<'_>),
    ) {
        self.follow(flow, from, version, wire_version, header.dcid, at, on);
        let connection = self.connections.get_mut(&flow).expect("followed");
        if connection.version != version {
            return;
        }
        let side = usize::from(from != connection.client);
        self.buffer.clear();
        self.buffer.extend_from_slice(packet);
        let mut opened = connection.keys[side].open(&mut self.buffer, header.pn_offset, packet.len());
        if opened.is_none() && side == 0 {
            // After a Retry the client keys its Initials with the
            // connection ID the (first) Retry gave it, which is this
            // packet's destination; a server sending several Retries
            // leaves only the client to say which it took.
            let keys =
                [Keys::initial(version, header.dcid, b"client in"), Keys::initial(version, header.dcid, b"server in")];
            self.buffer.clear();
            self.buffer.extend_from_slice(packet);
            opened = keys[0].open(&mut self.buffer, header.pn_offset, packet.len());
            if opened.is_some() {
                connection.keys = keys;
                self.room += connection.crypto.iter().map(CryptoStream::held).sum::<usize>();
                connection.crypto = Default::default();
            }
        }
        let Some(length) = opened else {
            self.counts.undecryptable_initials += 1;
            return;
        };
        let pn_length = usize::from(self.buffer[0] & 0x03) + 1;
        let start = header.pn_offset + pn_length;
        let mut frames = &self.buffer[start..start + length];
        let crypto = &mut connection.crypto[side];
        while let Some(&kind) = frames.first() {
            match kind {
                0x00 | 0x01 => frames = &frames[1..],
                0x02 | 0x03 => {
                    let Some(after) = skip_ack(&frames[1..], kind == 0x03) else { break };
                    frames = after;
                }
                0x06 => {
                    let Some((offset, after)) = varint(&frames[1..]) else { break };
                    let Some((length, after)) = varint(after) else { break };
                    let Some(data) = usize::try_from(length).ok().and_then(|l| after.get(..l)) else { break };
                    if !crypto.add(offset, data, &mut self.room) {
                        self.counts.crypto_bytes_dropped += data.len() as u64;
                    }
                    frames = &after[data.len()..];
                }
                0x1c | 0x1d => {
                    // CONNECTION_CLOSE: a TLS alert travels as CRYPTO_ERROR
                    // 0x0100 + its description (RFC 9001 §4.8).
                    if let Some((code, _)) = varint(&frames[1..])
                        && (0x100..0x200).contains(&code)
                    {
                        on(at, Happening::Record(Event::Alert { level: 2, description: (code - 0x100) as u8 }));
                    }
                    break;
                }
                _ => break,
            }
        }
        crypto.messages(&mut self.room, &mut |kind, body| on(at, Happening::Record(Event::Handshake { kind, body })));
    }
}

/// Skips an ACK frame's fields (after its type).
fn skip_ack(bytes: &[u8], with_ecn: bool) -> Option<&[u8]> {
    let (_, rest) = varint(bytes)?; // largest acknowledged
    let (_, rest) = varint(rest)?; // delay
    let (ranges, mut rest) = varint(rest)?;
    (_, rest) = varint(rest)?; // first range
    for _ in 0..ranges.min(1 << 16) {
        (_, rest) = varint(rest)?; // gap
        (_, rest) = varint(rest)?; // range
    }
    if with_ecn {
        for _ in 0..3 {
            (_, rest) = varint(rest)?;
        }
    }
    Some(rest)
}

/// The invariant fields of a long header (RFC 8999), and for packets with
/// a Length field where the packet number starts and where it ends.
struct LongHeader<'a> {
    version: u32,
    dcid: &'a [u8],
    pn_offset: usize,
    /// The packet's end in the datagram (Initial, 0-RTT and Handshake).
    end: Option<usize>,
    /// Its Length field runs past the bytes captured.
    truncated: bool,
}

impl<'a> LongHeader<'a> {
    fn parse(bytes: &'a [u8]) -> Option<LongHeader<'a>> {
        let version = u32::from_be_bytes(bytes.get(1..5)?.try_into().ok()?);
        let dcid_length = usize::from(*bytes.get(5)?);
        let dcid = bytes.get(6..6 + dcid_length)?;
        let scid_length = usize::from(*bytes.get(6 + dcid_length)?);
        let scid_at = 7 + dcid_length;
        bytes.get(scid_at..scid_at + scid_length)?;
        if version == 0 || dcid_length > 20 || scid_length > 20 {
            return Some(LongHeader { version, dcid, pn_offset: 0, end: None, truncated: false });
        }
        let mut at = scid_at + scid_length;
        let kind = Version::of(version).map(|v| v.packet_type(bytes[0] >> 4 & 0x03));
        if kind == Some(LongType::Initial) {
            let (token_length, rest) = varint(&bytes[at..])?;
            at = bytes.len() - rest.len() + usize::try_from(token_length).ok()?;
        }
        if kind == Some(LongType::Retry) || kind.is_none() {
            return Some(LongHeader { version, dcid, pn_offset: 0, end: None, truncated: false });
        }
        let (length, rest) = varint(bytes.get(at..)?)?;
        let pn_offset = bytes.len() - rest.len();
        let end = pn_offset.checked_add(usize::try_from(length).ok()?)?;
        let truncated = end > bytes.len();
        Some(LongHeader { version, dcid, pn_offset, end: (!truncated).then_some(end), truncated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcapsule_guest::reassembly::{Direction, Frame};
    use std::net::IpAddr;

    /// A flow's key as the scanner makes it (client side first here).
    fn key(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
        if a <= b { (a, b) } else { (b, a) }
    }

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap()).collect()
    }

    /// RFC 9001 Appendix A: the keys of connection ID 0x8394c8f03e515708.
    #[test]
    fn initial_keys_match_rfc_9001_appendix_a() {
        let dcid = hex("8394c8f03e515708");
        let v1 = Version::of(VERSION_1).unwrap();
        let (initial, _) = Hkdf::<Sha256>::extract(Some(v1.salt), &dcid);
        let client: [u8; 32] = expand_label(&initial, b"client in");
        assert_eq!(client.to_vec(), hex("c00cf151ca5be075ed0ebfb5c80323c4 2d6b7db67881289af4008f1f6c357aea"));
        let key: [u8; 16] = expand_label(&client, b"quic key");
        assert_eq!(key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        let iv: [u8; 12] = expand_label(&client, b"quic iv");
        assert_eq!(iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        let hp: [u8; 16] = expand_label(&client, b"quic hp");
        assert_eq!(hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        let server: [u8; 32] = expand_label(&initial, b"server in");
        let key: [u8; 16] = expand_label(&server, b"quic key");
        assert_eq!(key.to_vec(), hex("cf3a5331653c364c88f0f379b6067e37"));
        // RFC 9369 Appendix A: version 2's client key.
        let v2 = Version::of(VERSION_2).unwrap();
        let (initial, _) = Hkdf::<Sha256>::extract(Some(v2.salt), &dcid);
        let client: [u8; 32] = expand_label(&initial, b"client in");
        let key: [u8; 16] = expand_label(&client, b"quicv2 key");
        assert_eq!(key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
    }

    /// RFC 9001 Appendix A.3: the server's Initial, decrypted.
    #[test]
    fn the_rfc_9001_server_initial_decrypts() {
        let packet = hex("cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
             5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
             dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
             022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
             2158407dd074ee");
        let header = LongHeader::parse(&packet).unwrap();
        assert_eq!((header.version, header.end), (1, Some(packet.len())));
        let keys = Keys::initial(Version::of(VERSION_1).unwrap(), &hex("8394c8f03e515708"), b"server in");
        let mut buffer = packet.clone();
        let length = keys.open(&mut buffer, header.pn_offset, packet.len()).expect("authenticates");
        let start = header.pn_offset + usize::from(buffer[0] & 0x03) + 1;
        let plaintext = &buffer[start..start + length];
        // An ACK frame, then CRYPTO at offset 0 holding the ServerHello.
        assert_eq!(&plaintext[..6], hex("02000000000600").get(..6).unwrap());
        assert_eq!(plaintext[7..11], hex("40 5a 02 00")[..]);
        // A flipped ciphertext bit does not authenticate.
        let mut tampered = packet.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(keys.open(&mut tampered, header.pn_offset, packet.len()).is_none());
    }

    /// Every truncation and every one-byte change of a real Initial is
    /// read without a panic (and a changed byte after the header never
    /// authenticates).
    #[test]
    fn damaged_initials_are_refused_not_misread() {
        let packet = hex("cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
             5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
             dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
             022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
             2158407dd074ee");
        let keys = Keys::initial(Version::of(VERSION_1).unwrap(), &hex("8394c8f03e515708"), b"server in");
        for length in 0..packet.len() {
            if let Some(LongHeader { end: Some(end), pn_offset, .. }) = LongHeader::parse(&packet[..length]) {
                let mut buffer = packet[..length].to_vec();
                let _ = keys.open(&mut buffer, pn_offset, end);
            }
        }
        let pn_offset = LongHeader::parse(&packet).unwrap().pn_offset;
        for at in 0..packet.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = packet.clone();
                damaged[at] ^= flip;
                let Some(LongHeader { end: Some(end), pn_offset: offset, .. }) = LongHeader::parse(&damaged) else {
                    continue;
                };
                let opened = keys.open(&mut damaged.clone(), offset, end);
                // The packet number's own bytes are protected too: any
                // change there or later fails authentication.
                if at >= pn_offset && end == packet.len() {
                    assert!(opened.is_none(), "byte {at} ^ {flip:#x} authenticated");
                }
            }
        }
    }

    #[test]
    fn the_oldest_connection_makes_room_for_a_new_one() {
        let mut scanner = QuicScanner::default();
        let server: Endpoint = (IpAddr::from([192, 0, 2, 1]), 443);
        let version = Version::of(VERSION_1).unwrap();
        let mut began = 0;
        for port in 0..=MAX_CONNECTIONS as u16 {
            let client: Endpoint = (IpAddr::from([10, 0, 0, 1]), 1024 + port);
            let at = At {
                direction: Direction { src: client.0, src_port: client.1, dst: server.0, dst_port: server.1 },
                frame: Frame::default(),
                transport: Transport::Quic,
            };
            scanner.follow(key(client, server), client, version, VERSION_1, &[1, 2, 3, 4], at, &mut |_, h| {
                began += usize::from(matches!(h, Happening::Began { .. }));
            });
        }
        assert_eq!((scanner.connections.len(), scanner.counts.evicted_connections), (MAX_CONNECTIONS, 1));
        assert_eq!(began, MAX_CONNECTIONS + 1);
        let first: Endpoint = (IpAddr::from([10, 0, 0, 1]), 1024);
        assert!(!scanner.connections.contains_key(&key(first, server)), "the oldest goes");
    }

    #[test]
    fn crypto_pieces_are_put_in_order_within_bounds() {
        let mut room = 1000;
        let mut stream = CryptoStream::default();
        let message = [1u8, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'];
        let mut seen = Vec::new();
        assert!(stream.add(6, &message[6..], &mut room));
        assert!(stream.add(3, &message[3..7], &mut room));
        stream.messages(&mut room, &mut |kind, body| seen.push((kind, body.to_vec())));
        assert!(seen.is_empty());
        assert_eq!(room, 1000 - 7);
        assert!(stream.add(0, &message[..4], &mut room));
        stream.messages(&mut room, &mut |kind, body| seen.push((kind, body.to_vec())));
        assert_eq!(seen, [(1, b"hello".to_vec())]);
        // Delivered bytes are let go; a retransmission of them is not kept.
        assert_eq!((stream.held(), room), (0, 1000));
        assert!(stream.add(0, &message, &mut room));
        assert_eq!((stream.held(), room), (0, 1000));
        // Beyond the offsets read, the room, or the pieces held ahead of a
        // hole, nothing is kept.
        assert!(!stream.add(MAX_CRYPTO_BYTES, b"x", &mut room));
        assert!(!stream.add(100, &[0; 1001], &mut room));
        for i in 0..MAX_AHEAD_PIECES as u64 {
            assert!(stream.add(100 + 2 * i, b"x", &mut room));
        }
        assert!(!stream.add(1000, b"x", &mut room));
        assert_eq!((stream.held(), room), (MAX_AHEAD_PIECES, 1000 - MAX_AHEAD_PIECES));
    }
}
