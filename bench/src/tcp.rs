//! TCP: web, database and interactive (ssh-like) sessions with handshakes,
//! data both ways, ACKs, FIN teardown, and the usual trouble: retransmissions
//! after a timeout, dup ACKs and fast retransmissions, zero windows, resets,
//! unanswered and refused SYNs, and the odd port scan. The capture point sits
//! between client and server, so a segment lost downstream is seen twice.

use crate::packet::{ACK, Addr, FIN, PSH, RST, SYN, Script, fill};
use crate::world::{CLIENTS, Rng, SERVERS, World};

const SYN_OPTIONS: [u8; 8] = [2, 4, 0x05, 0xb4, 1, 1, 4, 2];
const MSS: usize = 1448;
const WINDOW: u16 = 65535;

/// An address and port.
pub type End = (Addr, u16);

/// The two ends of one connection and what each has sent so far.
struct Conn {
    c: End,
    s: End,
    cseq: u32,
    sseq: u32,
    /// Half the round trip between the capture point and the client (µs).
    half_rtt: u64,
}

impl Conn {
    fn client(&self, s: &mut Script, t: u64, flags: u8, payload: &[u8]) {
        s.tcp(t, self.c, self.s, self.cseq, self.sseq, flags, WINDOW, &[], payload);
    }

    fn server(&self, s: &mut Script, t: u64, flags: u8, payload: &[u8]) {
        s.tcp(t, self.s, self.c, self.sseq, self.cseq, flags, WINDOW, &[], payload);
    }
}

/// A TCP connection carrying an application's messages (DNS or SIP over
/// TCP): a handshake, then each message sent whole (in MSS-sized segments)
/// and ACKed by the other side a moment later, then FINs both ways.
pub struct Stream {
    k: Conn,
    /// When its last packet was sent: the next one is never earlier.
    last: u64,
}

impl Stream {
    /// Opens a connection from `client` to `server` at `t0`.
    pub fn open(s: &mut Script, rng: &mut Rng, t0: u64, client: End, server: End) -> Stream {
        let rtt = 200 + rng.exp(4_000.0) as u64;
        let mut k = Conn { c: client, s: server, cseq: rng.u32(), sseq: rng.u32(), half_rtt: rtt / 2 };
        s.tcp(t0, k.c, k.s, k.cseq, 0, SYN, 64240, &SYN_OPTIONS, &[]);
        k.cseq = k.cseq.wrapping_add(1);
        s.tcp(t0 + rtt, k.s, k.c, k.sseq, k.cseq, SYN | ACK, 65160, &SYN_OPTIONS, &[]);
        k.sseq = k.sseq.wrapping_add(1);
        let last = t0 + rtt + k.half_rtt * 2;
        k.client(s, last, ACK, &[]);
        Stream { k, last }
    }

    /// Sends `payload` from the client (or the server) at `t`, or right
    /// after the stream's last packet if that is later; returns the time of
    /// the other side's ACK, the stream's last packet.
    pub fn send(&mut self, s: &mut Script, t: u64, from_client: bool, payload: &[u8]) -> u64 {
        let mut t = t.max(self.last + 1);
        for segment in payload.chunks(MSS) {
            if from_client {
                self.k.client(s, t, PSH | ACK, segment);
                self.k.cseq = self.k.cseq.wrapping_add(segment.len() as u32);
            } else {
                self.k.server(s, t, PSH | ACK, segment);
                self.k.sseq = self.k.sseq.wrapping_add(segment.len() as u32);
            }
            t += 12;
        }
        t += 150;
        if from_client {
            self.k.server(s, t, ACK, &[])
        } else {
            self.k.client(s, t, ACK, &[])
        }
        self.last = t;
        t
    }

    /// The client closes at `t` (or after the last packet), the server
    /// follows; returns the time of the last ACK.
    pub fn close(mut self, s: &mut Script, t: u64) -> u64 {
        let t = t.max(self.last + 1);
        self.k.client(s, t, FIN | ACK, &[]);
        self.k.cseq = self.k.cseq.wrapping_add(1);
        let at = t + self.k.half_rtt * 2;
        self.k.server(s, at, FIN | ACK, &[]);
        self.k.sseq = self.k.sseq.wrapping_add(1);
        self.k.client(s, at + 100, ACK, &[]);
        at + 100
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Trouble {
    None,
    Timeout,
    FastRetransmit,
    ZeroWindow,
}

pub fn session(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let si = rng.skewed(SERVERS);
    let port = if si == 0 { 443 } else { *rng.pick(&[443, 443, 443, 443, 80, 80, 22, 5432, 8080, 3306, 993]) };
    let cport = w.ephemeral_port(ci);
    let rtt = 200 + rng.exp(18_000.0) as u64;
    let mut k = Conn {
        c: (World::client(ci), cport),
        s: (World::server(si), port),
        cseq: rng.u32(),
        sseq: rng.u32(),
        half_rtt: rtt / 2,
    };
    let roll = rng.unit();
    if roll < 0.025 {
        // Nobody answers: the SYN is retried after 1 s and 3 s.
        for d in [0, 1_000_000, 3_000_000] {
            s.tcp(t0 + d, k.c, k.s, k.cseq, 0, SYN, 64240, &SYN_OPTIONS, &[]);
        }
        return;
    }
    if roll < 0.05 {
        // Closed port: RST/ACK.
        s.tcp(t0, k.c, k.s, k.cseq, 0, SYN, 64240, &SYN_OPTIONS, &[]);
        s.tcp(t0 + rtt, k.s, k.c, 0, k.cseq.wrapping_add(1), RST | ACK, 0, &[], &[]);
        return;
    }
    s.tcp(t0, k.c, k.s, k.cseq, 0, SYN, 64240, &SYN_OPTIONS, &[]);
    k.cseq = k.cseq.wrapping_add(1);
    s.tcp(t0 + rtt, k.s, k.c, k.sseq, k.cseq, SYN | ACK, 65160, &SYN_OPTIONS, &[]);
    k.sseq = k.sseq.wrapping_add(1);
    let mut t = t0 + rtt + k.half_rtt * 2;
    k.client(s, t, ACK, &[]);

    let trouble = match rng.unit() {
        x if x < 0.05 => Trouble::Timeout,
        x if x < 0.09 => Trouble::FastRetransmit,
        x if x < 0.11 => Trouble::ZeroWindow,
        _ => Trouble::None,
    };
    if port == 22 {
        t = interactive(s, rng, &mut k, t);
    } else {
        let exchanges = 1 + rng.skewed(8);
        for i in 0..exchanges {
            t += if i == 0 { rng.range(100, 2_000) } else { rng.exp(60_000.0) as u64 };
            let request = rng.range(60, 320) as usize;
            k.client(s, t, PSH | ACK, fill(request));
            k.cseq = k.cseq.wrapping_add(request as u32);
            let mut response = match rng.unit() {
                x if x < 0.7 => rng.range(40, 500),
                x if x < 0.93 => rng.range(500, 1_600),
                _ => rng.range(2_000, 8_000),
            } as usize;
            t += k.half_rtt * 2 + rng.range(100, 8_000);
            let this_trouble = if i == exchanges - 1 { trouble } else { Trouble::None };
            match this_trouble {
                Trouble::FastRetransmit => response = response.max(6 * MSS + 200),
                Trouble::ZeroWindow => response = response.max(3 * MSS),
                _ => {}
            }
            t = respond(s, rng, &mut k, t, response, this_trouble);
        }
    }

    // Teardown.
    t += rng.range(200, 30_000);
    match rng.unit() {
        x if x < 0.07 => k.client(s, t, RST | ACK, &[]),
        x if x < 0.11 => k.server(s, t, RST | ACK, &[]),
        x => {
            let client_first = x < 0.6;
            let h = k.half_rtt * 2;
            if client_first {
                k.client(s, t, FIN | ACK, &[]);
                k.cseq = k.cseq.wrapping_add(1);
                k.server(s, t + h, FIN | ACK, &[]);
                k.sseq = k.sseq.wrapping_add(1);
                k.client(s, t + h + h, ACK, &[]);
            } else {
                k.server(s, t, FIN | ACK, &[]);
                k.sseq = k.sseq.wrapping_add(1);
                k.client(s, t + h, FIN | ACK, &[]);
                k.cseq = k.cseq.wrapping_add(1);
                k.server(s, t + h + h, ACK, &[]);
            }
        }
    }
}

/// The server sends `len` bytes in MSS-sized segments; the client ACKs every
/// second one (and the last). Returns the time of the last packet.
fn respond(s: &mut Script, rng: &mut Rng, k: &mut Conn, mut t: u64, len: usize, trouble: Trouble) -> u64 {
    let segments = len.div_ceil(MSS);
    let start = k.sseq;
    let seg_seq = |i: usize| start.wrapping_add((i * MSS) as u32);
    let seg_len = |i: usize| (len - i * MSS).min(MSS);
    let end = start.wrapping_add(len as u32);
    let ack_delay = k.half_rtt * 2;
    let lost = match trouble {
        Trouble::FastRetransmit if segments >= 5 => Some(1),
        Trouble::Timeout => Some(segments - 1),
        _ => None,
    };
    let mut last = t;
    for i in 0..segments {
        k.sseq = seg_seq(i);
        let flags = if i + 1 == segments { PSH | ACK } else { ACK };
        k.server(s, t, flags, fill(seg_len(i)));
        let acked = seg_seq(i).wrapping_add(seg_len(i) as u32);
        match lost {
            Some(l) if i >= l => {
                if i > l && trouble == Trouble::FastRetransmit {
                    // Everything after the lost segment draws a duplicate ACK.
                    k.sseq = seg_seq(l);
                    k.client(s, t + ack_delay, ACK, &[]);
                    last = t + ack_delay;
                }
            }
            _ => {
                if i % 2 == 1 || i + 1 == segments {
                    k.sseq = acked;
                    k.client(s, t + ack_delay, ACK, &[]);
                    last = t + ack_delay;
                }
            }
        }
        if trouble == Trouble::ZeroWindow && i == 0 && segments > 1 {
            // The receiver's buffer is full: zero window, a probe, then an update.
            let t1 = t + ack_delay + 10;
            k.sseq = acked;
            s.tcp(t1, k.c, k.s, k.cseq, acked, ACK, 0, &[], &[]);
            let probe = t1 + k.half_rtt * 2 + 200_000;
            s.tcp(probe, k.s, k.c, acked, k.cseq, ACK, WINDOW, &[], &fill(1)[..1]);
            s.tcp(probe + ack_delay, k.c, k.s, k.cseq, acked, ACK, 0, &[], &[]);
            let update = probe + ack_delay + rng.range(50_000, 400_000);
            s.tcp(update, k.c, k.s, k.cseq, acked, ACK, WINDOW, &[], &[]);
            t = update + k.half_rtt * 2;
            last = t;
            continue;
        }
        t += rng.range(15, 250);
    }
    if let Some(l) = lost {
        let at = if trouble == Trouble::Timeout { last.max(t) + 200_000 + k.half_rtt * 4 } else { last + 50 };
        k.sseq = seg_seq(l);
        k.server(s, at, ACK, fill(seg_len(l)));
        k.sseq = end;
        k.client(s, at + ack_delay, ACK, &[]);
        last = at + ack_delay;
    }
    k.sseq = end;
    last.max(t)
}

/// Keystrokes echoed by the server and ACKed by the client.
fn interactive(s: &mut Script, rng: &mut Rng, k: &mut Conn, mut t: u64) -> u64 {
    let h = k.half_rtt * 2;
    // Banner exchange and key exchange, in short.
    k.server(s, t + 2_000, PSH | ACK, fill(41));
    k.sseq = k.sseq.wrapping_add(41);
    k.client(s, t + 2_000 + h, PSH | ACK, fill(41));
    k.cseq = k.cseq.wrapping_add(41);
    t += 2_000 + h * 2;
    for _ in 0..rng.range(10, 80) {
        t += 30_000 + rng.exp(250_000.0) as u64;
        let n = *rng.pick(&[36u32, 36, 36, 52]);
        k.client(s, t, PSH | ACK, fill(n as usize));
        k.cseq = k.cseq.wrapping_add(n);
        k.server(s, t + h, PSH | ACK, fill(n as usize));
        k.sseq = k.sseq.wrapping_add(n);
        k.client(s, t + 2 * h + 40, ACK, &[]);
        t += 2 * h + 40;
    }
    t
}

/// One host SYNs a few dozen ports of one server; closed ports answer RST,
/// open ones SYN/ACK (and get a RST back).
pub fn port_scan(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let scanner = World::client(rng.index(CLIENTS));
    let target = World::server(1 + rng.index(SERVERS - 1));
    let sport = 40_000 + rng.index(20_000) as u16;
    let rtt = rng.range(300, 20_000);
    let mut t = t0;
    let first = 1 + rng.index(900) as u16;
    for p in first..first + rng.range(30, 120) as u16 {
        let seq = rng.u32();
        s.tcp(t, (scanner, sport), (target, p), seq, 0, SYN, 1024, &[2, 4, 0x05, 0xb4], &[]);
        if matches!(p, 22 | 80 | 443 | 25 | 110 | 143) {
            let sseq = rng.u32();
            s.tcp(
                t + rtt,
                (target, p),
                (scanner, sport),
                sseq,
                seq.wrapping_add(1),
                SYN | ACK,
                65160,
                &SYN_OPTIONS,
                &[],
            );
            s.tcp(t + rtt + 20, (scanner, sport), (target, p), seq.wrapping_add(1), 0, RST, 0, &[], &[]);
        } else if rng.chance(0.9) {
            s.tcp(t + rtt, (target, p), (scanner, sport), 0, seq.wrapping_add(1), RST | ACK, 0, &[], &[]);
        }
        t += rng.range(100, 3_000);
    }
}
