//! Writes realistic captures of any size for `just bench`: thousands of
//! hosts, DNS, DHCP, ICMP, TCP sessions (with their trouble), SIP calls with
//! RTP, NTP and ARP, interleaved in time order, in one of several [`Mix`]es.
//! Deterministic for a given seed.
//!
//! The `bench-capture` binary writes one to a file; tests that need a busy
//! capture call [`generate`].

mod dhcp;
mod dns;
mod http;
mod icmp;
mod packet;
mod sip;
mod tcp;
mod tls;
mod world;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use packet::{Addr, Script};
use world::{CLIENTS, Rng, SERVERS, World};

type Generator = fn(&mut Script, &mut Rng, &mut World, u64);

/// A conversation kind: its name, how often it starts (a relative
/// weight), and what writes it.
type Kind = (&'static str, u32, Generator);

/// The traffic mixes `just bench` measures every tool on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// An office network's: TCP (mostly TLS) and DNS by volume, with plain
    /// HTTP, DHCP, ICMP, SIP, NTP and ARP beside them.
    Mixed,
    /// A resolver's or a mail relay's: DNS by far, among a hundred times
    /// as many names, with answers too large for UDP retried over TCP.
    DnsHeavy,
    /// A VoIP carrier's signalling link: calls (with SDP, mostly without
    /// RTP) and registrations with long headers, many over TCP.
    SipHeavy,
    /// A web client network's uplink: TLS 1.3 and 1.2 over TCP (1.2 with
    /// certificates in the clear), QUIC with protected Initials, some
    /// DTLS, and the DNS that goes with them.
    TlsHeavy,
}

impl Mix {
    /// Every mix, in the order BENCHMARKS.md shows them.
    pub const ALL: [Mix; 4] = [Mix::Mixed, Mix::DnsHeavy, Mix::SipHeavy, Mix::TlsHeavy];

    /// Its name on the command line and in BENCHMARKS.md.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Mixed => "mixed",
            Mix::DnsHeavy => "dns-heavy",
            Mix::SipHeavy => "sip-heavy",
            Mix::TlsHeavy => "tls-heavy",
        }
    }

    /// The mix called `name`.
    pub fn named(name: &str) -> Option<Mix> {
        Mix::ALL.into_iter().find(|mix| mix.name() == name)
    }

    fn kinds(self) -> &'static [Kind] {
        match self {
            Mix::Mixed => &MIXED,
            Mix::DnsHeavy => &DNS_HEAVY,
            Mix::SipHeavy => &SIP_HEAVY,
            Mix::TlsHeavy => &TLS_HEAVY,
        }
    }
}

const MIXED: [Kind; 13] = [
    ("dns", 640, dns::lookup),
    ("tcp", 190, tcp::session),
    ("http", 4, http::session),
    ("tcp_scan", 1, tcp::port_scan),
    ("icmp_ping", 40, icmp::ping),
    ("icmp_ping6", 5, icmp::ping6),
    ("icmp_traceroute", 4, icmp::traceroute),
    ("icmp_closed_port", 20, icmp::closed_port),
    ("dhcp", 25, dhcp::exchange),
    ("sip_call", 5, sip::call),
    ("sip_register", 12, sip::register),
    ("ntp", 40, ntp),
    ("arp", 50, arp),
];

const DNS_HEAVY: [Kind; 9] = [
    ("dns", 1000, dns::lookup),
    ("dns_many_names", 1000, dns::lookup_many_names),
    ("dns_tcp", 60, dns::lookup_tcp),
    ("tcp", 60, tcp::session),
    ("icmp_closed_port", 20, icmp::closed_port),
    ("dhcp", 10, dhcp::exchange),
    ("sip_register", 5, sip::register),
    ("ntp", 20, ntp),
    ("arp", 20, arp),
];

const SIP_HEAVY: [Kind; 9] = [
    ("sip_call", 10, sip::call),
    ("sip_call_long_headers", 150, sip::call_long_headers),
    ("sip_call_tcp", 100, sip::call_tcp),
    ("sip_register", 150, sip::register),
    ("sip_register_tcp", 100, sip::register_tcp),
    ("dns", 60, dns::lookup),
    ("tcp", 10, tcp::session),
    ("ntp", 10, ntp),
    ("arp", 10, arp),
];

const TLS_HEAVY: [Kind; 8] = [
    ("tls13", 500, tls::tls13_session),
    ("tls12", 200, tls::tls12_session),
    ("quic", 250, tls::quic_session),
    ("dtls", 5, tls::dtls_session),
    ("dns", 300, dns::lookup),
    ("tcp", 40, tcp::session),
    ("ntp", 10, ntp),
    ("arp", 10, arp),
];

/// Conversations in flight at once.
const SLOTS: usize = 1500;
/// The seed `bench-capture` uses unless told another.
pub const DEFAULT_SEED: u64 = 0x9cab_5a1e;
/// Capture start: 2024-05-14 08:00:00 UTC.
const EPOCH_US: u64 = 1_715_673_600_000_000;

/// Writes a classic pcap (microseconds, Ethernet) of `packets` packets of
/// `mix` to `out`, the same capture for the same `seed`, and returns its
/// facts as one line of JSON (mix, packets, bytes, per-kind counts, the
/// busiest server).
pub fn generate(out: &mut impl Write, packets: u64, seed: u64, mix: Mix) -> std::io::Result<String> {
    let kinds = mix.kinds();
    // Classic pcap, microseconds, Ethernet.
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
    out.write_all(&262_144u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    let mut bytes = 24u64;

    let mut rng = Rng::new(seed);
    let mut world = World::new();
    let total_weight: u32 = kinds.iter().map(|k| k.1).sum();
    let mut slots: Vec<(usize, Script)> = (0..SLOTS).map(|_| (0, Script::default())).collect();
    let mut queue = BinaryHeap::with_capacity(SLOTS);
    let mut per_kind = vec![0u64; kinds.len()];
    let mut bytes_per_kind = vec![0u64; kinds.len()];
    let start = |slot: &mut (usize, Script), rng: &mut Rng, world: &mut World, t: u64| {
        let mut pick = rng.range(0, total_weight as u64) as u32;
        let kind = kinds
            .iter()
            .position(|k| {
                pick < k.1 || {
                    pick -= k.1;
                    false
                }
            })
            .expect("weights");
        slot.0 = kind;
        slot.1.reset(rng.u32() as u16);
        (kinds[kind].2)(&mut slot.1, rng, world, t);
        slot.1.finish();
        slot.1.pkts.first().map(|p| p.time_us)
    };
    for (i, slot) in slots.iter_mut().enumerate() {
        let t = EPOCH_US + rng.range(0, 2_000_000);
        if let Some(first) = start(slot, &mut rng, &mut world, t) {
            queue.push(Reverse((first, i)));
        }
    }
    let mut written = 0u64;
    let mut last = EPOCH_US;
    let mut header = [0u8; 16];
    while written < packets {
        let Reverse((time, i)) = queue.pop().expect("a conversation is always in flight");
        let slot = &mut slots[i];
        let n = slot.1.next;
        let frame = slot.1.frame(n);
        last = time;
        header[0..4].copy_from_slice(&((time / 1_000_000) as u32).to_le_bytes());
        header[4..8].copy_from_slice(&((time % 1_000_000) as u32).to_le_bytes());
        header[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        header[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        out.write_all(&header)?;
        out.write_all(frame)?;
        bytes += 16 + frame.len() as u64;
        per_kind[slot.0] += 1;
        bytes_per_kind[slot.0] += 16 + frame.len() as u64;
        written += 1;
        slot.1.next += 1;
        if let Some(p) = slot.1.pkts.get(slot.1.next) {
            queue.push(Reverse((p.time_us, i)));
        } else {
            // The next conversation in this slot starts a little later.
            let mut t = time + rng.exp(20_000.0) as u64;
            loop {
                if let Some(first) = start(slot, &mut rng, &mut world, t) {
                    queue.push(Reverse((first, i)));
                    break;
                }
                t += 1;
            }
        }
    }
    let named = |values: &[u64]| {
        let named: Vec<String> = kinds
            .iter()
            .zip(values)
            .filter(|(_, n)| **n > 0)
            .map(|((name, ..), n)| format!("\"{name}\": {n}"))
            .collect();
        named.join(", ")
    };
    let Addr::V4([a, b, c, d]) = World::busiest_server() else { unreachable!() };
    Ok(format!(
        "{{\"mix\": \"{}\", \"packets\": {written}, \"bytes\": {bytes}, \"bytes_per_packet\": {:.1}, \"duration_s\": {:.1}, \
         \"clients\": {CLIENTS}, \"servers\": {SERVERS}, \"busiest_server\": \"{a}.{b}.{c}.{d}\", \
         \"packets_by_kind\": {{{}}}, \"bytes_by_kind\": {{{}}}}}",
        mix.name(),
        bytes as f64 / written.max(1) as f64,
        (last - EPOCH_US) as f64 / 1e6,
        named(&per_kind),
        named(&bytes_per_kind)
    ))
}

/// An NTP client query and the server's answer.
fn ntp(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let server = Addr::v4(10, 0, 0, 123);
    let mut msg = [0u8; 48];
    msg[0] = 0x23; // v4, client
    msg[40..48].copy_from_slice(&(t0 / 1_000_000 + 2_208_988_800).to_be_bytes());
    let sport = if rng.chance(0.5) { 123 } else { w.ephemeral_port(ci) };
    s.udp(t0, client, server, sport, 123, &msg);
    msg[0] = 0x24; // v4, server
    msg[1] = 2;
    s.udp(t0 + rng.range(300, 5_000), server, client, 123, sport, &msg);
}

/// An ARP request for a neighbour and its reply.
fn arp(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let Addr::V4(asker) = World::client(rng.index(CLIENTS)) else { unreachable!() };
    let target = if rng.chance(0.5) { [10, 0, 0, 1] } else { [10, 1, rng.index(24) as u8, 1 + rng.index(250) as u8] };
    let mac = |ip: [u8; 4]| [0x02, 0x42, ip[0], ip[1], ip[2], ip[3]];
    let mut f = Vec::with_capacity(42);
    for (op, dst_mac, sender, target_ip, target_mac) in
        [(1u8, [0xff; 6], asker, target, [0; 6]), (2, mac(asker), target, asker, mac(asker))]
    {
        f.clear();
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&mac(sender));
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op]);
        f.extend_from_slice(&mac(sender));
        f.extend_from_slice(&sender);
        f.extend_from_slice(&target_mac);
        f.extend_from_slice(&target_ip);
        let t = if op == 1 { t0 } else { t0 + rng.range(50, 2_000) };
        s.raw(t, &f);
    }
}
