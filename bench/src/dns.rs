//! DNS over UDP: A/AAAA pairs, MX, TXT and PTR lookups against three resolvers,
//! cache hits and misses, CNAME chains, NXDOMAIN, SERVFAIL and unanswered
//! queries retried after a timeout; answers too large for UDP retried over
//! TCP.

use crate::packet::{Addr, Script};
use crate::tcp::Stream;
use crate::world::{CLIENTS, Rng, SERVERS, World};

const A: u16 = 1;
const CNAME: u16 = 5;
const PTR: u16 = 12;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;

const SUBS: [&str; 10] = ["www", "api", "cdn", "mail", "static", "login", "img", "video", "m", "assets"];
const WORDS: [&str; 12] =
    ["shop", "news", "cloud", "stream", "bank", "social", "search", "games", "travel", "weather", "maps", "docs"];
const TLDS: [&str; 6] = ["com", "net", "org", "io", "de", "example"];

/// Distinct registered names of the usual lookups, and of the many-names
/// ones (a DNS-heavy network: crawlers, mail servers, CDNs' long tails).
const NAMES: usize = 3_000;
const MANY_NAMES: usize = 300_000;

/// One client resolving one name (sometimes two record types at once).
pub fn lookup(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    lookup_among(s, rng, w, t0, NAMES)
}

/// [`lookup`] among a hundred times as many names, so that the analyzer's
/// name tables fill.
pub fn lookup_many_names(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    lookup_among(s, rng, w, t0, MANY_NAMES)
}

/// A lookup whose answer does not fit UDP: the resolver answers with TC
/// set and no records, and the client asks again over TCP (RFC 7766),
/// where a long list of records comes back.
pub fn lookup_tcp(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let resolver = World::RESOLVERS[rng.index(World::RESOLVERS.len())];
    let mut name = String::with_capacity(64);
    random_name(rng, &mut name, MANY_NAMES);
    let qtype = if rng.chance(0.5) { TXT } else { A };
    let id = rng.u32() as u16;
    let sport = w.ephemeral_port(ci);
    let mut msg = Vec::with_capacity(2048);
    query(&mut msg, id, &name, qtype, false);
    s.udp(t0, client, resolver, sport, 53, &msg);
    msg.clear();
    header(&mut msg, id, 0x8380, 1, 0, 0);
    question(&mut msg, &name, qtype);
    let t = t0 + rng.range(300, 20_000);
    s.udp(t, resolver, client, 53, sport, &msg);

    let opened = t + rng.range(100, 2_000);
    let mut stream = Stream::open(s, rng, opened, (client, w.ephemeral_port(ci)), (resolver, 53));
    msg.clear();
    query(&mut msg, id, &name, qtype, false);
    let asked = stream.send(s, 0, true, &framed_for_tcp(&msg));
    msg.clear();
    large_response(&mut msg, rng, id, &name, qtype);
    let answered = stream.send(s, asked + rng.range(300, 30_000), false, &framed_for_tcp(&msg));
    stream.close(s, answered + rng.range(100, 5_000));
}

fn lookup_among(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64, names: usize) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let resolver = World::RESOLVERS[[0, 0, 0, 1, 1, 2][rng.index(6)]];
    let mut name = String::with_capacity(64);
    let roll = rng.unit();
    let qtypes: &[u16] = if roll < 0.08 {
        let server = World::server(rng.skewed(SERVERS));
        let Addr::V4([a, b, c, d]) = server else { unreachable!() };
        name.push_str(&format!("{d}.{c}.{b}.{a}.in-addr.arpa"));
        &[PTR]
    } else {
        random_name(rng, &mut name, names);
        match rng.index(20) {
            0..=9 => &[A, AAAA],
            10..=15 => &[A],
            16 => &[AAAA],
            17 => &[MX],
            _ => &[TXT],
        }
    };
    // Outcome for the whole lookup.
    let outcome = rng.unit();
    let (rcode, answered) = if outcome < 0.06 {
        (3, true) // NXDOMAIN
    } else if outcome < 0.075 {
        (2, true) // SERVFAIL
    } else if outcome < 0.095 {
        (0, false) // lost
    } else {
        (0, true)
    };
    let latency = if rng.chance(0.7) { rng.range(200, 3_000) } else { rng.range(8_000, 180_000) };
    let mut t = t0;
    let mut msg = Vec::with_capacity(512);
    for &qtype in qtypes {
        let id = rng.u32() as u16;
        let sport = w.ephemeral_port(ci);
        let edns = rng.chance(0.6);
        msg.clear();
        query(&mut msg, id, &name, qtype, edns);
        s.udp(t, client, resolver, sport, 53, &msg);
        if answered {
            msg.clear();
            response(&mut msg, rng, id, &name, qtype, rcode, edns);
            s.udp(t + latency + rng.range(0, 400), resolver, client, 53, sport, &msg);
        } else {
            // The stub retries once after a second; half the retries are answered.
            msg.clear();
            query(&mut msg, id, &name, qtype, edns);
            let retry = t + 1_000_000 + rng.range(0, 5_000);
            s.udp(retry, client, resolver, sport, 53, &msg);
            if rng.chance(0.5) {
                msg.clear();
                response(&mut msg, rng, id, &name, qtype, 0, edns);
                s.udp(retry + latency, resolver, client, 53, sport, &msg);
            }
        }
        t += rng.range(20, 300);
    }
}

/// A name under one of `names` registered domains (popular ones more often).
fn random_name(rng: &mut Rng, out: &mut String, names: usize) {
    use std::fmt::Write;
    if rng.chance(0.004) {
        // A random-looking (DGA-like) name.
        for _ in 0..rng.range(12, 24) {
            out.push(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.index(36)] as char);
        }
        out.push_str(".info");
        return;
    }
    let word = WORDS[rng.skewed(WORDS.len())];
    let n = rng.skewed(names);
    let tld = TLDS[rng.index(TLDS.len())];
    let sub = SUBS[rng.skewed(SUBS.len())];
    let _ = write!(out, "{sub}.{word}{n}.{tld}");
}

/// An answer of 40 to 120 A records, or of 20 to 60 TXT strings.
fn large_response(msg: &mut Vec<u8>, rng: &mut Rng, id: u16, name: &str, qtype: u16) {
    header(msg, id, 0x8180, 1, 0, 0);
    question(msg, name, qtype);
    let mut answers = 0u16;
    if qtype == A {
        for _ in 0..rng.range(40, 120) {
            let Addr::V4(ip) = World::server(rng.index(SERVERS)) else { unreachable!() };
            record(msg, 12, A, 300, &ip);
            answers += 1;
        }
    } else {
        let mut rdata = Vec::with_capacity(128);
        for k in 0..rng.range(20, 60) {
            let text = format!("site-verification-{k}={:016x}{:016x}", rng.next_u64(), rng.next_u64());
            rdata.clear();
            rdata.push(text.len() as u8);
            rdata.extend_from_slice(text.as_bytes());
            record(msg, 12, TXT, 3600, &rdata);
            answers += 1;
        }
    }
    msg[6..8].copy_from_slice(&answers.to_be_bytes());
}

/// A DNS message as TCP carries it: after its length (RFC 1035 §4.2.2).
fn framed_for_tcp(msg: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(2 + msg.len());
    framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    framed.extend_from_slice(msg);
    framed
}

/// The question section's one entry: `name`, `qtype`, class IN.
fn question(msg: &mut Vec<u8>, name: &str, qtype: u16) {
    labels(msg, name);
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&[0, 1]);
}

fn header(msg: &mut Vec<u8>, id: u16, flags: u16, qd: u16, an: u16, ar: u16) {
    for v in [id, flags, qd, an, 0, ar] {
        msg.extend_from_slice(&v.to_be_bytes());
    }
}

fn labels(msg: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
}

fn opt_record(msg: &mut Vec<u8>) {
    msg.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
}

fn query(msg: &mut Vec<u8>, id: u16, name: &str, qtype: u16, edns: bool) {
    header(msg, id, 0x0100, 1, 0, edns as u16);
    question(msg, name, qtype);
    if edns {
        opt_record(msg);
    }
}

/// A resource record whose owner is at `owner` (a compression pointer target);
/// returns the offset of its RDATA.
fn record(msg: &mut Vec<u8>, owner: u16, rtype: u16, ttl: u32, rdata: &[u8]) -> u16 {
    msg.extend_from_slice(&(0xc000 | owner).to_be_bytes());
    msg.extend_from_slice(&rtype.to_be_bytes());
    msg.extend_from_slice(&[0, 1]);
    msg.extend_from_slice(&ttl.to_be_bytes());
    msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    let at = msg.len() as u16;
    msg.extend_from_slice(rdata);
    at
}

fn response(msg: &mut Vec<u8>, rng: &mut Rng, id: u16, name: &str, qtype: u16, rcode: u16, edns: bool) {
    header(msg, id, 0x8180 | rcode, 1, 0, edns as u16);
    question(msg, name, qtype);
    let mut answers = 0u16;
    if rcode == 0 {
        let ttl = [60, 300, 300, 3600, 86400][rng.index(5)];
        let mut owner = 12u16;
        let mut rdata = Vec::with_capacity(64);
        if matches!(qtype, A | AAAA) && rng.chance(0.25) {
            labels(&mut rdata, &format!("edge{}.cdn-provider.net", rng.index(40)));
            owner = record(msg, owner, CNAME, ttl, &rdata);
            answers += 1;
        }
        let hash = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        match qtype {
            A => {
                for k in 0..1 + hash % 3 {
                    let Addr::V4(ip) = World::server(((hash + k) as usize) % SERVERS) else { unreachable!() };
                    record(msg, owner, A, ttl, &ip);
                    answers += 1;
                }
            }
            AAAA => {
                let Addr::V6(ip) = World::server6((hash % 200) as usize) else { unreachable!() };
                record(msg, owner, AAAA, ttl, &ip);
                answers += 1;
            }
            MX => {
                for pref in [10u16, 20] {
                    rdata.clear();
                    rdata.extend_from_slice(&pref.to_be_bytes());
                    rdata.extend_from_slice(&[3, b'm', b'x', b'0' + (pref / 10) as u8, 0xc0, 12]);
                    record(msg, owner, MX, ttl, &rdata);
                    answers += 1;
                }
            }
            TXT => {
                let text = format!("v=spf1 include:_spf.{name} ip4:203.0.113.0/24 ~all");
                rdata.clear();
                rdata.push(text.len() as u8);
                rdata.extend_from_slice(text.as_bytes());
                record(msg, owner, TXT, ttl, &rdata);
                answers += 1;
            }
            PTR => {
                rdata.clear();
                labels(&mut rdata, &format!("host-{}.hosting.example.net", hash % 10_000));
                record(msg, owner, PTR, ttl, &rdata);
                answers += 1;
            }
            _ => {}
        }
    }
    msg[6..8].copy_from_slice(&answers.to_be_bytes());
    if edns {
        opt_record(msg);
    }
}
