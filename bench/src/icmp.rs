//! ICMP: ping sessions (v4 and v6) with some loss and dead targets answered by
//! host-unreachable errors, traceroutes answered by time-exceeded and a final
//! port-unreachable, and UDP to closed ports. Every error quotes the datagram
//! that caused it (its IP header and first 8 bytes).

use crate::packet::{Addr, PROTO_ICMP, PROTO_UDP, Script, ipv4_header};
use crate::world::{CLIENTS, Rng, SERVERS, World};

const ECHO_REPLY: u8 = 0;
const UNREACHABLE: u8 = 3;
const ECHO_REQUEST: u8 = 8;
const TIME_EXCEEDED: u8 = 11;
const ECHO6_REQUEST: u8 = 128;
const ECHO6_REPLY: u8 = 129;

fn echo_body(seq: u16, t: u64) -> [u8; 56] {
    let mut b = [0u8; 56];
    b[..8].copy_from_slice(&t.to_le_bytes());
    for (i, x) in b[8..].iter_mut().enumerate() {
        *x = (i as u8 + 8) ^ seq as u8;
    }
    b
}

/// The IP header and first 8 bytes of an IPv4 datagram, as an ICMP error quotes them.
fn quote(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, id: u16, first8: [u8; 8], payload_len: usize) -> Vec<u8> {
    let mut q = Vec::with_capacity(28);
    ipv4_header(&mut q, src, dst, proto, ttl, id, payload_len);
    q.extend_from_slice(&first8);
    q
}

pub fn ping(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let dead = rng.chance(0.08);
    let target = if dead { Addr::v4(192, 0, 2, 200 + rng.index(50) as u8) } else { World::server(rng.skewed(SERVERS)) };
    let rtt = rng.range(300, 90_000);
    let id = rng.u32() as u16;
    let count = rng.range(3, 11) as u16;
    let (Addr::V4(c), Addr::V4(d)) = (client, target) else { unreachable!() };
    let mut t = t0;
    for seq in 1..=count {
        let body = echo_body(seq, t);
        let rest = [(id >> 8) as u8, id as u8, (seq >> 8) as u8, seq as u8];
        s.icmp(t, client, target, 64, ECHO_REQUEST, 0, rest, &body);
        if dead {
            if seq % 3 == 0 {
                let mut first8 = [ECHO_REQUEST, 0, 0, 0, rest[0], rest[1], rest[2], rest[3]];
                first8[2..4].copy_from_slice(&[0x4c, 0x1d]);
                let q = quote(c, d, PROTO_ICMP, 63, seq, first8, 64);
                s.icmp(t + 3_000_000, World::GATEWAY, client, 64, UNREACHABLE, 1, [0; 4], &q);
            }
        } else if !rng.chance(0.04) {
            let jitter = rng.range(0, rtt / 10 + 1);
            s.icmp(t + rtt + jitter, target, client, 52, ECHO_REPLY, 0, rest, &body);
        }
        t += 1_000_000 + rng.range(0, 2_000);
    }
}

pub fn ping6(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let client = World::client6(rng.index(CLIENTS));
    let target = World::server6(rng.index(200));
    let rtt = rng.range(500, 60_000);
    let id = rng.u32() as u16;
    let mut t = t0;
    for seq in 1..=rng.range(3, 6) as u16 {
        let body = echo_body(seq, t);
        let rest = [(id >> 8) as u8, id as u8, (seq >> 8) as u8, seq as u8];
        s.icmp(t, client, target, 64, ECHO6_REQUEST, 0, rest, &body);
        if !rng.chance(0.03) {
            s.icmp(t + rtt, target, client, 57, ECHO6_REPLY, 0, rest, &body);
        }
        t += 1_000_000;
    }
}

/// UDP traceroute: three probes per TTL, routers answer time-exceeded, the
/// target answers port-unreachable; a few probes go unanswered.
pub fn traceroute(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let target = World::server(rng.skewed(SERVERS));
    let (Addr::V4(c), Addr::V4(d)) = (client, target) else { unreachable!() };
    let hops = rng.range(4, 11) as u8;
    let sport = w.ephemeral_port(ci);
    let payload = [0x40u8; 32];
    let mut t = t0;
    let mut dport = 33434u16;
    for ttl in 1..=hops {
        let hop_rtt = 400 + ttl as u64 * rng.range(1_000, 6_000);
        for _ in 0..3 {
            s.udp_ttl(t, client, target, sport, dport, ttl, &payload);
            let mut first8 = [0u8; 8];
            first8[..2].copy_from_slice(&sport.to_be_bytes());
            first8[2..4].copy_from_slice(&dport.to_be_bytes());
            first8[4..6].copy_from_slice(&40u16.to_be_bytes());
            let q = quote(c, d, PROTO_UDP, 1, dport, first8, 40);
            if ttl == hops {
                s.icmp(t + hop_rtt, target, client, 52, UNREACHABLE, 3, [0; 4], &q);
            } else if !rng.chance(0.07) {
                s.icmp(t + hop_rtt, World::router(ttl - 1), client, 255 - ttl, TIME_EXCEEDED, 0, [0; 4], &q);
            }
            dport += 1;
            t += hop_rtt + rng.range(50, 500);
        }
    }
}

/// A UDP datagram to a port nobody listens on, answered by port-unreachable.
pub fn closed_port(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let client = World::client(ci);
    let target = World::server(rng.index(SERVERS));
    let (Addr::V4(c), Addr::V4(d)) = (client, target) else { unreachable!() };
    let sport = w.ephemeral_port(ci);
    let dport = *rng.pick(&[514u16, 1434, 7777, 9999, 11211, 27015]);
    let payload = [0x30u8; 40];
    for k in 0..rng.range(1, 3) {
        let t = t0 + k * 1_000_000;
        s.udp(t, client, target, sport, dport, &payload);
        let mut first8 = [0u8; 8];
        first8[..2].copy_from_slice(&sport.to_be_bytes());
        first8[2..4].copy_from_slice(&dport.to_be_bytes());
        first8[4..6].copy_from_slice(&48u16.to_be_bytes());
        let q = quote(c, d, PROTO_UDP, 60, k as u16, first8, 48);
        s.icmp(t + rng.range(500, 40_000), target, client, 60, UNREACHABLE, 3, [0; 4], &q);
    }
}
