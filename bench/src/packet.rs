//! Frames written byte by byte (Ethernet, IPv4/IPv6, UDP, TCP, ICMP) with
//! correct lengths and checksums, into one reusable buffer per conversation.

/// An IP address of either family.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    pub fn v4(a: u8, b: u8, c: u8, d: u8) -> Addr {
        Addr::V4([a, b, c, d])
    }

    /// A locally administered MAC derived from the address.
    fn mac(self) -> [u8; 6] {
        match self {
            Addr::V4([255, 255, 255, 255]) => [0xff; 6],
            Addr::V4([a, b, c, d]) => [0x02, 0x42, a, b, c, d],
            Addr::V6(x) => [0x02, 0x66, x[12], x[13], x[14], x[15]],
        }
    }
}

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One packet of a script: capture time (µs) and where its frame lies in the buffer.
#[derive(Clone, Copy)]
pub struct Pkt {
    pub time_us: u64,
    pub start: u32,
    pub len: u32,
}

/// The packets of one conversation, generated up front and replayed by the scheduler.
#[derive(Default)]
pub struct Script {
    pub buf: Vec<u8>,
    pub pkts: Vec<Pkt>,
    pub next: usize,
    /// Scratch space for a transport header and payload before it is framed.
    l4: Vec<u8>,
    ip_id: u16,
}

/// Filler bytes for application payloads nobody decodes (TLS records, file data).
static FILL: [u8; 1500] = {
    let mut b = [0u8; 1500];
    let mut i = 0;
    while i < b.len() {
        b[i] = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0];
        i += 1;
    }
    b
};

pub fn fill(len: usize) -> &'static [u8] {
    &FILL[..len.min(FILL.len())]
}

impl Script {
    pub fn reset(&mut self, ip_id: u16) {
        self.buf.clear();
        self.pkts.clear();
        self.next = 0;
        self.ip_id = ip_id;
    }

    /// Orders the packets by time (stable: equal times keep their generation order).
    pub fn finish(&mut self) {
        self.pkts.sort_by_key(|p| p.time_us);
    }

    pub fn frame(&self, i: usize) -> &[u8] {
        let p = self.pkts[i];
        &self.buf[p.start as usize..(p.start + p.len) as usize]
    }

    /// A raw Ethernet frame (ARP and anything else that is not IP).
    pub fn raw(&mut self, time_us: u64, frame: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(frame);
        self.push(time_us, start);
    }

    fn push(&mut self, time_us: u64, start: usize) {
        let len = self.buf.len() - start;
        self.pkts.push(Pkt { time_us, start: start as u32, len: len as u32 });
    }

    pub fn udp(&mut self, time_us: u64, src: Addr, dst: Addr, sport: u16, dport: u16, payload: &[u8]) {
        self.udp_ttl(time_us, src, dst, sport, dport, 64, payload);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn udp_ttl(&mut self, time_us: u64, src: Addr, dst: Addr, sport: u16, dport: u16, ttl: u8, payload: &[u8]) {
        self.l4.clear();
        self.l4.extend_from_slice(&sport.to_be_bytes());
        self.l4.extend_from_slice(&dport.to_be_bytes());
        self.l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        self.l4.extend_from_slice(&[0, 0]);
        self.l4.extend_from_slice(payload);
        self.emit(time_us, src, dst, PROTO_UDP, ttl, Some(6));
    }

    /// A TCP segment; `options` must be a multiple of 4 bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        time_us: u64,
        (src, sport): (Addr, u16),
        (dst, dport): (Addr, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: &[u8],
        payload: &[u8],
    ) {
        self.l4.clear();
        self.l4.extend_from_slice(&sport.to_be_bytes());
        self.l4.extend_from_slice(&dport.to_be_bytes());
        self.l4.extend_from_slice(&seq.to_be_bytes());
        self.l4.extend_from_slice(&ack.to_be_bytes());
        self.l4.push((((20 + options.len()) / 4) << 4) as u8);
        self.l4.push(flags);
        self.l4.extend_from_slice(&window.to_be_bytes());
        self.l4.extend_from_slice(&[0, 0, 0, 0]);
        self.l4.extend_from_slice(options);
        self.l4.extend_from_slice(payload);
        self.emit(time_us, src, dst, PROTO_TCP, 64, Some(16));
    }

    /// ICMPv4 (`rest` is the second word of the header) or ICMPv6, by the addresses' family.
    #[allow(clippy::too_many_arguments)]
    pub fn icmp(
        &mut self,
        time_us: u64,
        src: Addr,
        dst: Addr,
        ttl: u8,
        kind: u8,
        code: u8,
        rest: [u8; 4],
        body: &[u8],
    ) {
        self.l4.clear();
        self.l4.extend_from_slice(&[kind, code, 0, 0]);
        self.l4.extend_from_slice(&rest);
        self.l4.extend_from_slice(body);
        let proto = if matches!(src, Addr::V4(_)) { PROTO_ICMP } else { PROTO_ICMPV6 };
        self.emit(time_us, src, dst, proto, ttl, Some(2));
    }

    /// Ethernet + IP header around `self.l4`, checksums filled in.
    fn emit(&mut self, time_us: u64, src: Addr, dst: Addr, proto: u8, ttl: u8, checksum_at: Option<usize>) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&dst.mac());
        self.buf.extend_from_slice(&src.mac());
        let l4_len = self.l4.len();
        let mut sum = 0u32;
        match (src, dst) {
            (Addr::V4(s), Addr::V4(d)) => {
                self.buf.extend_from_slice(&[0x08, 0x00]);
                self.ip_id = self.ip_id.wrapping_add(1);
                ipv4_header(&mut self.buf, s, d, proto, ttl, self.ip_id, l4_len);
                if proto != PROTO_ICMP {
                    sum = pseudo_sum(&s, &d, proto, l4_len);
                }
            }
            (Addr::V6(s), Addr::V6(d)) => {
                self.buf.extend_from_slice(&[0x86, 0xdd]);
                self.buf.extend_from_slice(&[0x60, 0, 0, 0]);
                self.buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
                self.buf.extend_from_slice(&[proto, ttl]);
                self.buf.extend_from_slice(&s);
                self.buf.extend_from_slice(&d);
                sum = pseudo_sum(&s, &d, proto, l4_len);
            }
            _ => unreachable!("mixed address families"),
        }
        if let Some(at) = checksum_at {
            let mut c = !fold(sum + raw_sum(&self.l4));
            if c == 0 && proto == PROTO_UDP {
                c = 0xffff;
            }
            self.l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        self.buf.extend_from_slice(&self.l4);
        self.push(time_us, start);
    }
}

/// An IPv4 header (no options) with its checksum.
pub fn ipv4_header(out: &mut Vec<u8>, src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, id: u16, payload_len: usize) {
    let at = out.len();
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&((20 + payload_len) as u16).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x40, 0, ttl, proto, 0, 0]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    let c = !fold(raw_sum(&out[at..at + 20]));
    out[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
}

fn pseudo_sum(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u32 {
    raw_sum(src) + raw_sum(dst) + proto as u32 + (len as u32 & 0xffff) + (len as u32 >> 16)
}

fn raw_sum(bytes: &[u8]) -> u32 {
    let mut sum = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes(c.try_into().unwrap());
        sum += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        sum += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = rest.remainder() {
        sum += (*last as u64) << 8;
    }
    while sum >> 32 != 0 {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let mut out = Vec::new();
        ipv4_header(&mut out, [10, 0, 0, 1], [10, 0, 0, 2], PROTO_UDP, 64, 7, 30);
        assert_eq!(fold(raw_sum(&out)), 0xffff);
    }

    #[test]
    fn udp_checksum_verifies() {
        let mut s = Script::default();
        let (a, b) = (Addr::v4(10, 1, 0, 1), Addr::v4(10, 0, 0, 53));
        s.udp(0, a, b, 40000, 53, b"odd length payload!");
        let f = s.frame(0);
        let udp = &f[34..];
        let sum = pseudo_sum(&[10, 1, 0, 1], &[10, 0, 0, 53], PROTO_UDP, udp.len()) + raw_sum(udp);
        assert_eq!(fold(sum), 0xffff);
    }
}
