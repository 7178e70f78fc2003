//! DHCPv4: DISCOVER/OFFER/REQUEST/ACK exchanges (some DISCOVERs retried),
//! renewals unicast to the server, a few NAKs and RELEASEs.

use crate::packet::{Addr, Script};
use crate::world::{CLIENTS, Rng, World};

const DISCOVER: u8 = 1;
const OFFER: u8 = 2;
const REQUEST: u8 = 3;
const ACK: u8 = 5;
const NAK: u8 = 6;
const RELEASE: u8 = 7;

struct Lease {
    xid: u32,
    mac: [u8; 6],
    ip: [u8; 4],
    hostname: String,
}

pub fn exchange(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let Addr::V4(ip) = World::client(ci) else { unreachable!() };
    let lease =
        Lease { xid: w.xid(), mac: [0x3c, 0x22, 0xfb, ip[1], ip[2], ip[3]], ip, hostname: format!("host-{ci}") };
    let server = World::DHCP_SERVER;
    let bcast = Addr::v4(255, 255, 255, 255);
    let zero = Addr::v4(0, 0, 0, 0);
    let client = Addr::V4(ip);
    let mut msg = Vec::with_capacity(400);
    let roll = rng.unit();
    let mut t = t0;
    if roll < 0.55 {
        // Renewal (T1): unicast REQUEST with ciaddr, ACK (rarely NAK).
        message(&mut msg, &lease, REQUEST, ip, [0; 4], false);
        s.udp(t, client, server, 68, 67, &msg);
        t += rng.range(500, 20_000);
        let kind = if rng.chance(0.03) { NAK } else { ACK };
        message(&mut msg, &lease, kind, ip, if kind == ACK { ip } else { [0; 4] }, true);
        s.udp(t, server, client, 67, 68, &msg);
        if kind == ACK && rng.chance(0.1) {
            t += rng.range(1_000_000, 30_000_000);
            message(&mut msg, &lease, RELEASE, ip, [0; 4], false);
            s.udp(t, client, server, 68, 67, &msg);
        }
        return;
    }
    // Full DORA, the DISCOVER sometimes retried.
    let tries = if rng.chance(0.1) { 2 } else { 1 };
    for attempt in 0..tries {
        if attempt > 0 {
            t += rng.range(3_000_000, 5_000_000);
        }
        message(&mut msg, &lease, DISCOVER, [0; 4], [0; 4], false);
        s.udp(t, zero, bcast, 68, 67, &msg);
    }
    t += rng.range(5_000, 60_000);
    message(&mut msg, &lease, OFFER, [0; 4], ip, true);
    s.udp(t, server, bcast, 67, 68, &msg);
    t += rng.range(500, 15_000);
    message(&mut msg, &lease, REQUEST, [0; 4], [0; 4], false);
    s.udp(t, zero, bcast, 68, 67, &msg);
    t += rng.range(500, 15_000);
    let kind = if rng.chance(0.04) { NAK } else { ACK };
    message(&mut msg, &lease, kind, [0; 4], if kind == ACK { ip } else { [0; 4] }, true);
    s.udp(t, server, bcast, 67, 68, &msg);
}

fn message(msg: &mut Vec<u8>, lease: &Lease, kind: u8, ciaddr: [u8; 4], yiaddr: [u8; 4], reply: bool) {
    msg.clear();
    msg.extend_from_slice(&[if reply { 2 } else { 1 }, 1, 6, 0]);
    msg.extend_from_slice(&lease.xid.to_be_bytes());
    msg.extend_from_slice(&[0, 0]); // secs
    msg.extend_from_slice(&if ciaddr == [0; 4] { [0x80, 0] } else { [0, 0] }); // broadcast flag
    msg.extend_from_slice(&ciaddr);
    msg.extend_from_slice(&yiaddr);
    msg.extend_from_slice(&[0; 8]); // siaddr, giaddr
    msg.extend_from_slice(&lease.mac);
    msg.extend_from_slice(&[0; 10 + 64 + 128]); // chaddr padding, sname, file
    msg.extend_from_slice(&[99, 130, 83, 99]);
    msg.extend_from_slice(&[53, 1, kind]);
    let Addr::V4(server) = World::DHCP_SERVER else { unreachable!() };
    if reply {
        msg.extend_from_slice(&[54, 4]);
        msg.extend_from_slice(&server);
        if kind != NAK {
            msg.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10, 58, 4, 0, 0, 0x07, 0x08, 59, 4, 0, 0, 0x0c, 0x4e]);
            msg.extend_from_slice(&[1, 4, 255, 255, 0, 0, 3, 4, 10, 0, 0, 1, 6, 8, 10, 0, 0, 53, 10, 0, 0, 54]);
            msg.extend_from_slice(&[15, 9]);
            msg.extend_from_slice(b"corp.lan.");
        }
    } else {
        msg.extend_from_slice(&[61, 7, 1]);
        msg.extend_from_slice(&lease.mac);
        if kind == REQUEST && ciaddr == [0; 4] {
            msg.extend_from_slice(&[50, 4]);
            msg.extend_from_slice(&lease.ip);
            msg.extend_from_slice(&[54, 4]);
            msg.extend_from_slice(&server);
        }
        if kind != RELEASE {
            msg.extend_from_slice(&[12, lease.hostname.len() as u8]);
            msg.extend_from_slice(lease.hostname.as_bytes());
            msg.extend_from_slice(&[55, 8, 1, 3, 6, 15, 31, 33, 43, 119, 57, 2, 5, 220]);
            msg.extend_from_slice(&[60, 8]);
            msg.extend_from_slice(b"MSFT 5.0");
        }
    }
    msg.push(255);
    if msg.len() < 300 {
        msg.resize(300, 0);
    }
}
