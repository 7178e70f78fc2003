//! Deterministic randomness and the network the traffic runs on: clients,
//! servers (one of them clearly the busiest), resolvers, a DHCP server, a SIP
//! proxy and the routers between them.

use crate::packet::Addr;

/// xoshiro256** seeded by splitmix64: fast, deterministic, good enough.
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `lo..hi` (`hi` exclusive, `hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + (((self.next_u64() >> 11) as u128 * (hi - lo) as u128) >> 53) as u64
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.range(0, len as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index in `0..len` skewed toward 0 (a few popular items, a long tail).
    pub fn skewed(&mut self, len: usize) -> usize {
        let u = self.unit();
        ((u * u * u) * len as f64) as usize
    }

    /// Exponentially distributed with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

pub const CLIENTS: usize = 6000;
pub const SERVERS: usize = 400;

/// Fixed parts of the network, and counters that keep flows apart.
pub struct World {
    next_port: Vec<u16>,
    pub next_xid: u32,
}

impl World {
    pub fn new() -> World {
        World { next_port: vec![0; CLIENTS], next_xid: 0x3903_f326 }
    }

    /// Client `i`: thousands of hosts in 10.1.0.0/16.
    pub fn client(i: usize) -> Addr {
        Addr::v4(10, 1, (i / 250) as u8, (i % 250 + 1) as u8)
    }

    /// Server `i`: spread over the three documentation ranges; server 0 is the busiest.
    pub fn server(i: usize) -> Addr {
        let nets = [(203, 0, 113), (198, 51, 100), (192, 0, 2)];
        let (a, b, c) = nets[i % 3];
        Addr::v4(a, b, c, (10 + i / 3) as u8)
    }

    /// The server the traffic-flow benchmark asks about.
    pub fn busiest_server() -> Addr {
        World::server(0)
    }

    pub fn phone(i: usize) -> Addr {
        Addr::v4(10, 2, (i / 250) as u8, (i % 250 + 1) as u8)
    }

    pub fn client6(i: usize) -> Addr {
        let mut a = [0xfd, 0x00, 0, 0x42, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        a[14..].copy_from_slice(&(i as u16 + 1).to_be_bytes());
        Addr::V6(a)
    }

    pub fn server6(i: usize) -> Addr {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        a[14..].copy_from_slice(&(i as u16 + 1).to_be_bytes());
        Addr::V6(a)
    }

    pub const GATEWAY: Addr = Addr::V4([10, 0, 0, 1]);
    pub const DHCP_SERVER: Addr = Addr::V4([10, 0, 0, 2]);
    pub const RESOLVERS: [Addr; 3] = [Addr::V4([10, 0, 0, 53]), Addr::V4([10, 0, 0, 54]), Addr::V4([9, 9, 9, 9])];
    pub const SIP_PROXY: Addr = Addr::V4([10, 0, 0, 60]);
    pub const MEDIA_SERVER: Addr = Addr::V4([10, 0, 0, 70]);

    /// Router `hop` on the way out (for traceroute and time-exceeded errors).
    pub fn router(hop: u8) -> Addr {
        match hop {
            0 => World::GATEWAY,
            1 => Addr::v4(100, 64, 0, 1),
            h => Addr::v4(172, 16, h, 1),
        }
    }

    /// A fresh ephemeral port for client `i` (never reused within a capture of
    /// reasonable size: 28,000 ports per client before wrapping).
    pub fn ephemeral_port(&mut self, i: usize) -> u16 {
        let p = &mut self.next_port[i];
        let port = 32768 + (*p as u32 * 7919 % 28232) as u16;
        *p = p.wrapping_add(1) % 28232;
        port
    }

    pub fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.next_xid
    }
}
