//! TLS, QUIC and DTLS as browsers and devices send them: TLS 1.3 and 1.2
//! over TCP (1.2 with a certificate chain in the clear), a few refused
//! with an alert or never answered; QUIC version 1 with real Initial
//! packet protection (RFC 9001: a reader must decrypt them to find the
//! ClientHello, which is the cost `just bench` should see); DTLS 1.2 with
//! its cookie exchange. Everything after the handshake is random bytes of
//! realistic sizes.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::{AeadInOut, Aes128Gcm};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::tcp::Stream;
use crate::world::{CLIENTS, Rng, SERVERS, World};

const HANDSHAKE: u8 = 22;
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const APPLICATION_DATA: u8 = 23;

/// RFC 9001 §5.2: QUIC version 1's Initial salt.
const INITIAL_SALT: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];

/// Random bytes (ciphertext, keys, randoms).
fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

fn random_between(rng: &mut Rng, shortest: u64, longest: u64) -> Vec<u8> {
    let len = rng.range(shortest, longest) as usize;
    random(rng, len)
}

fn u16_prefixed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn u24(n: usize) -> [u8; 3] {
    let b = (n as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&u16_prefixed(body));
}

/// A handshake message: type, 24-bit length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(body);
    out
}

/// TLS records of one content type holding `body` (split at 2^14).
fn records(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    for chunk in body.chunks(1 << 14) {
        out.extend_from_slice(&[kind, 3, 3]);
        out.extend_from_slice(&u16_prefixed(chunk));
    }
    out
}

/// The names clients ask for: the busiest servers have the most.
fn server_name(si: usize) -> String {
    match si % 7 {
        0 => format!("www{si}.example.com"),
        1 => format!("api.service{si}.example.net"),
        2 => format!("cdn{si}.static.example.org"),
        3 => format!("mail{si}.example.com"),
        4 => format!("login.app{si}.example.com"),
        5 => format!("updates{si}.vendor.example"),
        _ => format!("s{si}.example.io"),
    }
}

/// Two client profiles (a browser's and a library's), so fingerprints vary.
struct Profile {
    grease: bool,
    ciphers: &'static [u16],
    groups: &'static [u16],
}

const BROWSER: Profile = Profile {
    grease: true,
    ciphers: &[
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
        0x0035,
    ],
    groups: &[0x001d, 0x0017, 0x0018],
};
const LIBRARY: Profile = Profile {
    grease: false,
    ciphers: &[
        0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f, 0x009e, 0xc024, 0xc028,
        0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c,
        0x0035, 0x002f, 0x00ff,
    ],
    groups: &[0x001d, 0x0017, 0x001e, 0x0019, 0x0018],
};

/// A ClientHello message (header included).
fn client_hello(rng: &mut Rng, name: &str, alpn: &[&str], tls13: bool, quic: bool, profile: &Profile) -> Vec<u8> {
    // GREASE (RFC 8701): 0x?a?a, both bytes alike.
    let nibble = rng.index(16) as u16;
    let grease = 0x0a0a | nibble << 12 | nibble << 4;
    let mut body = vec![3, 3];
    body.extend_from_slice(&random(rng, 32));
    if tls13 && !quic {
        body.push(32);
        body.extend_from_slice(&random(rng, 32));
    } else {
        body.push(0);
    }
    let mut ciphers = Vec::new();
    if profile.grease {
        ciphers.extend_from_slice(&grease.to_be_bytes());
    }
    for c in profile.ciphers.iter().filter(|c| !quic || (0x1301..=0x1303).contains(*c)) {
        ciphers.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(&u16_prefixed(&ciphers));
    body.extend_from_slice(&[1, 0]);
    let mut e = Vec::new();
    if profile.grease {
        extension(&mut e, grease, &[]);
    }
    let mut sni = vec![0];
    sni.extend_from_slice(&u16_prefixed(name.as_bytes()));
    extension(&mut e, 0, &u16_prefixed(&sni));
    extension(&mut e, 23, &[]);
    extension(&mut e, 0xff01, &[0]);
    let mut groups = Vec::new();
    if profile.grease {
        groups.extend_from_slice(&grease.to_be_bytes());
    }
    for g in profile.groups {
        groups.extend_from_slice(&g.to_be_bytes());
    }
    extension(&mut e, 10, &u16_prefixed(&groups));
    extension(&mut e, 11, &[1, 0]);
    extension(&mut e, 35, &[]);
    let mut protocols = Vec::new();
    for p in alpn {
        protocols.push(p.len() as u8);
        protocols.extend_from_slice(p.as_bytes());
    }
    extension(&mut e, 16, &u16_prefixed(&protocols));
    extension(&mut e, 5, &[1, 0, 0, 0, 0]);
    let algorithms: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
    let algorithms: Vec<u8> = algorithms.iter().flat_map(|a| a.to_be_bytes()).collect();
    extension(&mut e, 13, &u16_prefixed(&algorithms));
    extension(&mut e, 18, &[]);
    if tls13 {
        let mut share = vec![0x00, 0x1d, 0x00, 0x20];
        share.extend_from_slice(&random(rng, 32));
        extension(&mut e, 51, &u16_prefixed(&share));
        extension(&mut e, 45, &[1, 1]);
        let mut versions = vec![if profile.grease { 6 } else { 4 }];
        if profile.grease {
            versions.extend_from_slice(&grease.to_be_bytes());
        }
        versions.extend_from_slice(&[3, 4, 3, 3]);
        extension(&mut e, 43, &versions);
    }
    if quic {
        extension(&mut e, 0x39, &random(rng, 60));
    }
    body.extend_from_slice(&u16_prefixed(&e));
    message(1, &body)
}

/// A ServerHello message agreeing on `cipher`.
fn server_hello(rng: &mut Rng, session_id: &[u8], cipher: u16, tls13: bool, alpn: &str) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&random(rng, 32));
    body.push(session_id.len() as u8);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    let mut e = Vec::new();
    if tls13 {
        let mut share = vec![0x00, 0x1d, 0x00, 0x20];
        share.extend_from_slice(&random(rng, 32));
        extension(&mut e, 51, &share);
        extension(&mut e, 43, &[3, 4]);
    } else {
        extension(&mut e, 0xff01, &[0]);
        extension(&mut e, 23, &[]);
        extension(&mut e, 11, &[1, 0]);
        if !alpn.is_empty() {
            let mut protocol = vec![alpn.len() as u8];
            protocol.extend_from_slice(alpn.as_bytes());
            extension(&mut e, 16, &u16_prefixed(&protocol));
        }
    }
    body.extend_from_slice(&u16_prefixed(&e));
    message(2, &body)
}

/// DER: a tag and its content, with the length in between.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

fn common_name(name: &str) -> Vec<u8> {
    let attribute = [der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, name.as_bytes())].concat();
    der(0x30, &der(0x31, &der(0x30, &attribute)))
}

/// An X.509 v3 certificate for `subject` (a DNS name in its SAN too),
/// issued by `issuer`, RSA 2048 with SHA-256, valid between two UTCTimes
/// (`YYMMDDhhmmssZ`). The signature is random bytes: nothing verifies it.
fn certificate(rng: &mut Rng, subject: &str, issuer: &str, not_before: &str, not_after: &str) -> Vec<u8> {
    let sha256_rsa = der(0x30, &[der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 11]), vec![5, 0]].concat());
    let mut modulus = vec![0];
    modulus.extend_from_slice(&random(rng, 256));
    modulus[1] |= 0x80;
    let rsa_key = der(0x30, &[der(0x02, &modulus), der(0x02, &[1, 0, 1])].concat());
    let mut key_bits = vec![0];
    key_bits.extend_from_slice(&rsa_key);
    let spki = der(
        0x30,
        &[
            der(0x30, &[der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1]), vec![5, 0]].concat()),
            der(0x03, &key_bits),
        ]
        .concat(),
    );
    let san = der(0x30, &der(0x82, subject.as_bytes()));
    let extensions = der(0xa3, &der(0x30, &der(0x30, &[der(0x06, &[0x55, 0x1d, 0x11]), der(0x04, &san)].concat())));
    let mut serial = random(rng, 16);
    serial[0] &= 0x7f;
    let tbs = der(
        0x30,
        &[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &serial),
            sha256_rsa.clone(),
            common_name(issuer),
            der(0x30, &[der(0x17, not_before.as_bytes()), der(0x17, not_after.as_bytes())].concat()),
            common_name(subject),
            spki,
            extensions,
        ]
        .concat(),
    );
    let mut signature = vec![0];
    signature.extend_from_slice(&random(rng, 256));
    der(0x30, &[tbs, sha256_rsa, der(0x03, &signature)].concat())
}

/// A TLS session over TCP to a server's 443 (or another TLS port): the
/// handshake, requests and responses as application data, close_notify
/// and FIN. One in twenty is refused with a fatal alert, one in fifty gets
/// no answer.
fn tls_session(s: &mut crate::packet::Script, rng: &mut Rng, w: &mut World, t0: u64, tls13: bool) {
    let ci = rng.index(CLIENTS);
    let si = rng.skewed(SERVERS);
    let port = *rng.pick(&[443, 443, 443, 443, 443, 8443, 993, 465]);
    let client = (World::client(ci), w.ephemeral_port(ci));
    let mut stream = Stream::open(s, rng, t0, client, (World::server(si), port));
    let profile = if rng.chance(0.7) { &BROWSER } else { &LIBRARY };
    let name = server_name(si);
    let alpn: &[&str] = if port == 443 { &["h2", "http/1.1"] } else { &[] };
    let hello = client_hello(rng, &name, alpn, tls13, false, profile);
    let mut t = stream.send(s, t0, true, &records(HANDSHAKE, &hello));
    let roll = rng.unit();
    if roll < 0.02 {
        stream.close(s, t + 3_000_000);
        return;
    }
    t += rng.range(500, 20_000);
    if roll < 0.07 {
        stream.send(s, t, false, &records(ALERT, &[2, 40]));
        stream.close(s, t + 1_000);
        return;
    }
    let session_id = if tls13 { hello[39..71].to_vec() } else { Vec::new() };
    if tls13 {
        let cipher = *rng.pick(&[0x1301, 0x1301, 0x1302, 0x1303]);
        let mut flight = records(HANDSHAKE, &server_hello(rng, &session_id, cipher, true, ""));
        flight.extend_from_slice(&records(CHANGE_CIPHER_SPEC, &[1]));
        let encrypted = rng.range(2_500, 5_000) as usize;
        flight.extend_from_slice(&records(APPLICATION_DATA, &random(rng, encrypted)));
        t = stream.send(s, t, false, &flight);
        let mut finished = records(CHANGE_CIPHER_SPEC, &[1]);
        finished.extend_from_slice(&records(APPLICATION_DATA, &random(rng, 53)));
        t = stream.send(s, t + 200, true, &finished);
    } else {
        let cipher = *rng.pick(&[0xc02f, 0xc02f, 0xc030, 0xc02b, 0xc013]);
        let alpn = if port == 443 { "h2" } else { "" };
        let session_id = random(rng, 32);
        let mut flight = server_hello(rng, &session_id, cipher, false, alpn);
        // Each server has its own certificate (one in twenty has expired),
        // all from one issuing CA.
        let mut its_own = Rng::new(0xce47 ^ si as u64);
        let (from, to) =
            if si % 20 == 7 { ("230101000000Z", "240301000000Z") } else { ("240101000000Z", "250101000000Z") };
        let leaf = certificate(&mut its_own, &name, "Bench Issuing CA", from, to);
        let ca =
            certificate(&mut Rng::new(0xca), "Bench Issuing CA", "Bench Root CA", "200101000000Z", "300101000000Z");
        let mut chain = Vec::new();
        for cert in [&leaf, &ca] {
            chain.extend_from_slice(&u24(cert.len()));
            chain.extend_from_slice(cert);
        }
        let mut body = u24(chain.len()).to_vec();
        body.extend_from_slice(&chain);
        flight.extend_from_slice(&message(11, &body));
        flight.extend_from_slice(&message(12, &random(rng, 329)));
        flight.extend_from_slice(&message(14, &[]));
        t = stream.send(s, t, false, &records(HANDSHAKE, &flight));
        let mut keys = records(HANDSHAKE, &message(16, &random(rng, 66)));
        keys.extend_from_slice(&records(CHANGE_CIPHER_SPEC, &[1]));
        keys.extend_from_slice(&records(HANDSHAKE, &random(rng, 40)));
        t = stream.send(s, t + 200, true, &keys);
        let mut finished = records(HANDSHAKE, &message(4, &random(rng, 190)));
        finished.extend_from_slice(&records(CHANGE_CIPHER_SPEC, &[1]));
        finished.extend_from_slice(&records(HANDSHAKE, &random(rng, 40)));
        t = stream.send(s, t + 200, false, &finished);
    }
    for i in 0..1 + rng.skewed(6) {
        t += if i == 0 { rng.range(100, 2_000) } else { rng.exp(60_000.0) as u64 };
        let request = rng.range(80, 600) as usize;
        t = stream.send(s, t, true, &records(APPLICATION_DATA, &random(rng, request)));
        let response = match rng.unit() {
            x if x < 0.6 => rng.range(60, 1_500),
            x if x < 0.9 => rng.range(1_500, 12_000),
            _ => rng.range(12_000, 60_000),
        } as usize;
        t = stream.send(s, t + rng.range(1_000, 30_000), false, &records(APPLICATION_DATA, &random(rng, response)));
    }
    let close_notify =
        if tls13 { records(APPLICATION_DATA, &random(rng, 19)) } else { records(ALERT, &random(rng, 26)) };
    t = stream.send(s, t + rng.range(200, 30_000), true, &close_notify);
    stream.close(s, t);
}

/// A TLS 1.3 session over TCP.
pub fn tls13_session(s: &mut crate::packet::Script, rng: &mut Rng, w: &mut World, t0: u64) {
    tls_session(s, rng, w, t0, true);
}

/// A TLS 1.2 session over TCP, its certificates in the clear.
pub fn tls12_session(s: &mut crate::packet::Script, rng: &mut Rng, w: &mut World, t0: u64) {
    tls_session(s, rng, w, t0, false);
}

/// HKDF-Expand-Label (RFC 8446 §7.1), empty context.
fn expand_label<const N: usize>(secret: &[u8], label: &[u8]) -> [u8; N] {
    let mut info = (N as u16).to_be_bytes().to_vec();
    info.push(6 + label.len() as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = [0; N];
    Hkdf::<Sha256>::from_prk(secret).expect("PRK").expand(&info, &mut out).expect("length");
    out
}

/// QUIC v1 Initial packet protection for one side.
struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: aes::Aes128,
}

impl InitialKeys {
    fn new(dcid: &[u8], label: &[u8]) -> InitialKeys {
        let (initial, _) = Hkdf::<Sha256>::extract(Some(&INITIAL_SALT), dcid);
        let secret: [u8; 32] = expand_label(&initial, label);
        let key: [u8; 16] = expand_label(&secret, b"quic key");
        let hp: [u8; 16] = expand_label(&secret, b"quic hp");
        InitialKeys {
            aead: Aes128Gcm::new(&key.into()),
            iv: expand_label(&secret, b"quic iv"),
            hp: aes::Aes128::new(&hp.into()),
        }
    }

    /// An Initial packet carrying `frames` (padded to `min_len` bytes in
    /// all), packet number `pn`, protected.
    fn initial(&self, dcid: &[u8], scid: &[u8], pn: u8, frames: &[u8], min_len: usize) -> Vec<u8> {
        let mut packet = vec![0xc0, 0, 0, 0, 1, dcid.len() as u8];
        packet.extend_from_slice(dcid);
        packet.push(scid.len() as u8);
        packet.extend_from_slice(scid);
        packet.push(0); // token length
        let header_len = packet.len() + 2 + 1;
        let payload_len = frames.len().max(min_len.saturating_sub(header_len + 16));
        let length = 1 + payload_len + 16;
        packet.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
        let pn_offset = packet.len();
        packet.push(pn);
        let mut payload = frames.to_vec();
        payload.resize(payload_len, 0); // PADDING frames
        let mut nonce = self.iv;
        nonce[11] ^= pn;
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce.into(), &packet, payload.as_mut_slice().into())
            .expect("a short packet");
        packet.extend_from_slice(&payload);
        packet.extend_from_slice(&tag);
        let mut mask = aes::Block::try_from(&packet[pn_offset + 4..pn_offset + 20]).expect("16 bytes");
        self.hp.encrypt_block(&mut mask);
        packet[0] ^= mask[0] & 0x0f;
        packet[pn_offset] ^= mask[1];
        packet
    }
}

/// A QUIC varint of two bytes.
fn varint2(n: usize) -> [u8; 2] {
    (0x4000 | n as u16).to_be_bytes()
}

fn crypto_frame(data: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x06, 0];
    frame.extend_from_slice(&varint2(data.len()));
    frame.extend_from_slice(data);
    frame
}

/// A Handshake packet: a long header and `len` bytes it protects (random here).
fn handshake_packet(rng: &mut Rng, dcid: &[u8], scid: &[u8], len: usize) -> Vec<u8> {
    let mut packet = vec![0xe0, 0, 0, 0, 1, dcid.len() as u8];
    packet.extend_from_slice(dcid);
    packet.push(scid.len() as u8);
    packet.extend_from_slice(scid);
    packet.extend_from_slice(&varint2(len));
    packet.extend_from_slice(&random(rng, len));
    packet
}

/// A QUIC (HTTP/3) connection to a server's UDP 443: the client's Initial
/// (its ClientHello, padded to 1200 bytes), the server's Initial
/// (ServerHello) with its Handshake packets, the client's answer, then
/// 1-RTT packets both ways.
pub fn quic_session(s: &mut crate::packet::Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let si = rng.skewed(SERVERS);
    let (client, server) = (World::client(ci), World::server(si));
    let port = w.ephemeral_port(ci);
    let (dcid, client_cid, server_cid) = (random(rng, 8), random(rng, 8), random(rng, 8));
    let client_keys = InitialKeys::new(&dcid, b"client in");
    let profile = if rng.chance(0.8) { &BROWSER } else { &LIBRARY };
    let hello = client_hello(rng, &server_name(si), &["h3"], true, true, profile);
    let first = client_keys.initial(&dcid, &client_cid, 0, &crypto_frame(&hello), 1200);
    s.udp(t0, client, server, port, 443, &first);
    let rtt = 2_000 + rng.exp(20_000.0) as u64;
    let mut t = t0 + rtt;
    if rng.chance(0.03) {
        // Nobody answers: the Initial is sent again, twice.
        for (i, wait) in [300_000u64, 900_000].into_iter().enumerate() {
            let again = client_keys.initial(&dcid, &client_cid, 1 + i as u8, &crypto_frame(&hello), 1200);
            s.udp(t0 + wait, client, server, port, 443, &again);
        }
        return;
    }
    let server_keys = InitialKeys::new(&dcid, b"server in");
    let cipher = *rng.pick(&[0x1301, 0x1301, 0x1302, 0x1303]);
    let mut frames = vec![0x02, 0, 0, 0, 0]; // ACK of packet 0
    frames.extend_from_slice(&crypto_frame(&server_hello(rng, &[], cipher, true, "")));
    let mut datagram = server_keys.initial(&client_cid, &server_cid, 0, &frames, 0);
    let rest = 1200usize.saturating_sub(datagram.len() + 30);
    datagram.extend_from_slice(&handshake_packet(rng, &client_cid, &server_cid, rest));
    s.udp(t, server, client, 443, port, &datagram);
    let more = rng.range(1_000, 3_000) as usize;
    for chunk in 0..more.div_ceil(1200) {
        let len = (more - chunk * 1200).min(1200);
        s.udp(
            t + 20 * (chunk as u64 + 1),
            server,
            client,
            443,
            port,
            &handshake_packet(rng, &client_cid, &server_cid, len),
        );
    }
    t += rtt / 2 + 500;
    let mut answer = client_keys.initial(&server_cid, &client_cid, 1, &[0x02, 0, 0, 0, 0], 0);
    answer.extend_from_slice(&handshake_packet(rng, &server_cid, &client_cid, 60));
    s.udp(t, client, server, port, 443, &answer);
    let short = |rng: &mut Rng, cid: &[u8], len: usize| {
        let mut packet = vec![0x40 | (rng.index(64) as u8 & 0x3f)];
        packet.extend_from_slice(cid);
        packet.extend_from_slice(&random(rng, len));
        packet
    };
    for _ in 0..1 + rng.skewed(6) {
        t += rng.range(200, 40_000);
        let length = rng.range(40, 400) as usize;
        let request = short(rng, &server_cid, length);
        s.udp(t, client, server, port, 443, &request);
        t += rtt;
        let response = rng.range(100, 20_000) as usize;
        for chunk in 0..response.div_ceil(1250) {
            let len = (response - chunk * 1250).min(1250);
            let packet = short(rng, &client_cid, len);
            s.udp(t + 15 * chunk as u64, server, client, 443, port, &packet);
        }
        t += 15 * response.div_ceil(1250) as u64 + rtt / 2;
        let ack = short(rng, &server_cid, 30);
        s.udp(t, client, server, port, 443, &ack);
    }
}

/// A DTLS 1.2 record of epoch `epoch`.
fn dtls_record(kind: u8, epoch: u16, sequence: u64, body: &[u8]) -> Vec<u8> {
    let mut record = vec![kind, 0xfe, 0xfd];
    record.extend_from_slice(&epoch.to_be_bytes());
    record.extend_from_slice(&sequence.to_be_bytes()[2..]);
    record.extend_from_slice(&u16_prefixed(body));
    record
}

/// A TLS handshake message in DTLS's framing (not fragmented).
fn dtls_message(tls_message: &[u8], seq: u16) -> Vec<u8> {
    let body = &tls_message[4..];
    let mut out = vec![tls_message[0]];
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(body);
    out
}

/// A device's DTLS 1.2 session (CoAP over DTLS, UDP 5684): ClientHello,
/// HelloVerifyRequest, ClientHello with the cookie, the server's flight,
/// Finished both ways, then a few application records.
pub fn dtls_session(s: &mut crate::packet::Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let si = rng.skewed(SERVERS);
    let (client, server) = (World::client(ci), World::server(si));
    let port = w.ephemeral_port(ci);
    let tls = client_hello(rng, &server_name(si), &["coap"], false, false, &LIBRARY);
    let with_cookie = |cookie: &[u8]| {
        let mut body = tls[4..].to_vec();
        body[..2].copy_from_slice(&[0xfe, 0xfd]);
        let after_session = 35 + usize::from(body[34]);
        let mut field = vec![cookie.len() as u8];
        field.extend_from_slice(cookie);
        body.splice(after_session..after_session, field);
        message(1, &body)
    };
    let rtt = 1_000 + rng.exp(30_000.0) as u64;
    let mut t = t0;
    s.udp(t, client, server, port, 5684, &dtls_record(HANDSHAKE, 0, 0, &dtls_message(&with_cookie(&[]), 0)));
    t += rtt;
    let cookie = random(rng, 32);
    let mut verify = vec![0xfe, 0xfd, 32];
    verify.extend_from_slice(&cookie);
    s.udp(t, server, client, 5684, port, &dtls_record(HANDSHAKE, 0, 0, &dtls_message(&message(3, &verify), 0)));
    t += rtt / 10;
    s.udp(t, client, server, port, 5684, &dtls_record(HANDSHAKE, 0, 1, &dtls_message(&with_cookie(&cookie), 1)));
    t += rtt;
    let session_id = random(rng, 32);
    let mut hello = server_hello(rng, &session_id, 0xc0ae, false, "coap");
    hello[4..6].copy_from_slice(&[0xfe, 0xfd]);
    let mut flight = dtls_record(HANDSHAKE, 0, 1, &dtls_message(&hello, 1));
    flight.extend_from_slice(&dtls_record(HANDSHAKE, 0, 2, &dtls_message(&message(14, &[]), 2)));
    s.udp(t, server, client, 5684, port, &flight);
    t += rtt / 10;
    let mut keys = dtls_record(HANDSHAKE, 0, 2, &dtls_message(&message(16, &random(rng, 18)), 2));
    keys.extend_from_slice(&dtls_record(CHANGE_CIPHER_SPEC, 0, 3, &[1]));
    keys.extend_from_slice(&dtls_record(HANDSHAKE, 1, 0, &random(rng, 40)));
    s.udp(t, client, server, port, 5684, &keys);
    t += rtt;
    let mut finished = dtls_record(CHANGE_CIPHER_SPEC, 0, 3, &[1]);
    finished.extend_from_slice(&dtls_record(HANDSHAKE, 1, 0, &random(rng, 40)));
    s.udp(t, server, client, 5684, port, &finished);
    for i in 1..=rng.range(1, 6) {
        t += rng.range(1_000, 500_000);
        s.udp(t, client, server, port, 5684, &dtls_record(APPLICATION_DATA, 1, i, &random_between(rng, 20, 200)));
        t += rtt;
        s.udp(t, server, client, 5684, port, &dtls_record(APPLICATION_DATA, 1, i, &random_between(rng, 20, 400)));
    }
}
