//! SIP over UDP 5060 between phones and a proxy: calls (answered with RTP
//! both ways then BYE, busy, not found, cancelled) and registrations
//! challenged with 401 before they succeed (or are refused).

use std::io::Write;

use crate::packet::{Addr, Script};
use crate::world::{Rng, World};

const PHONES: usize = 800;
const DOMAIN: &str = "voip.example.com";

struct Dialog {
    phone: Addr,
    user: u32,
    peer: u32,
    call_id: String,
    from_tag: u32,
    to_tag: u32,
    branch: u64,
}

impl Dialog {
    fn ip(&self) -> String {
        let Addr::V4([a, b, c, d]) = self.phone else { unreachable!() };
        format!("{a}.{b}.{c}.{d}")
    }

    fn request(&self, msg: &mut Vec<u8>, method: &str, cseq: u32, extra: &str, body: &str) {
        msg.clear();
        let ip = self.ip();
        let (target, to) = if method == "REGISTER" {
            (format!("sip:{DOMAIN}"), format!("<sip:{}@{DOMAIN}>", self.user))
        } else {
            (format!("sip:{}@{DOMAIN}", self.peer), format!("<sip:{}@{DOMAIN}>", self.peer))
        };
        let to_tag = if matches!(method, "ACK" | "BYE") { format!(";tag={:08x}", self.to_tag) } else { String::new() };
        let _ = write!(
            msg,
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:5060;rport;branch=z9hG4bK{:012x}\r\n\
             Max-Forwards: 70\r\nFrom: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: {to}{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{}@{ip}:5060>\r\n\
             User-Agent: BenchPhone/2.1\r\n{extra}",
            self.branch + cseq as u64,
            self.user,
            self.user,
            self.from_tag,
            self.call_id,
            self.user,
        );
        body_part(msg, body);
    }

    fn response(
        &self,
        msg: &mut Vec<u8>,
        (code, reason): (u16, &str),
        cseq: u32,
        method: &str,
        extra: &str,
        body: &str,
    ) {
        msg.clear();
        let ip = self.ip();
        let to_user = if method == "REGISTER" { self.user } else { self.peer };
        let to_tag = if code > 100 { format!(";tag={:08x}", self.to_tag) } else { String::new() };
        let _ = write!(
            msg,
            "SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP {ip}:5060;rport=5060;branch=z9hG4bK{:012x}\r\n\
             From: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: <sip:{to_user}@{DOMAIN}>{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\nServer: BenchProxy/5.4\r\n{extra}",
            self.branch + cseq as u64,
            self.user,
            self.user,
            self.from_tag,
            self.call_id,
        );
        body_part(msg, body);
    }
}

fn body_part(msg: &mut Vec<u8>, body: &str) {
    if body.is_empty() {
        msg.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    } else {
        let _ = write!(msg, "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    }
}

fn sdp(ip: &str, session: u32, port: u16) -> String {
    format!(
        "v=0\r\no=- {session} {session} IN IP4 {ip}\r\ns=call\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

fn dialog(rng: &mut Rng) -> Dialog {
    let i = rng.index(PHONES);
    Dialog {
        phone: World::phone(i),
        user: 2000 + i as u32,
        peer: 2000 + rng.index(PHONES) as u32,
        call_id: format!("{:016x}@bench.invalid", rng.next_u64()),
        from_tag: rng.u32() | 1,
        to_tag: rng.u32() | 1,
        branch: rng.next_u64() >> 20,
    }
}

pub fn call(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let d = dialog(rng);
    let proxy = World::SIP_PROXY;
    let media = World::MEDIA_SERVER;
    let mut msg = Vec::with_capacity(1200);
    let rtp_port = 10_000 + 2 * rng.index(5_000) as u16;
    let media_port = 30_000 + 2 * rng.index(5_000) as u16;
    let session = rng.u32() >> 1;
    let ip = d.ip();
    let mut t = t0;
    d.request(&mut msg, "INVITE", 1, "", &sdp(&ip, session, rtp_port));
    s.udp(t, d.phone, proxy, 5060, 5060, &msg);
    t += rng.range(1_000, 20_000);
    d.response(&mut msg, (100, "Trying"), 1, "INVITE", "", "");
    s.udp(t, proxy, d.phone, 5060, 5060, &msg);
    let outcome = rng.unit();
    if outcome < 0.07 || (0.07..0.15).contains(&outcome) {
        let (code, reason) = if outcome < 0.07 { (404, "Not Found") } else { (486, "Busy Here") };
        t += rng.range(20_000, 800_000);
        d.response(&mut msg, (code, reason), 1, "INVITE", "", "");
        s.udp(t, proxy, d.phone, 5060, 5060, &msg);
        d.request(&mut msg, "ACK", 1, "", "");
        s.udp(t + rng.range(500, 5_000), d.phone, proxy, 5060, 5060, &msg);
        return;
    }
    t += rng.range(50_000, 1_500_000);
    d.response(&mut msg, (180, "Ringing"), 1, "INVITE", "", "");
    s.udp(t, proxy, d.phone, 5060, 5060, &msg);
    if outcome < 0.22 {
        // The caller gives up: CANCEL, 200 for it, 487 for the INVITE, ACK.
        t += rng.range(2_000_000, 20_000_000);
        d.request(&mut msg, "CANCEL", 1, "", "");
        s.udp(t, d.phone, proxy, 5060, 5060, &msg);
        d.response(&mut msg, (200, "OK"), 1, "CANCEL", "", "");
        s.udp(t + 2_000, proxy, d.phone, 5060, 5060, &msg);
        d.response(&mut msg, (487, "Request Terminated"), 1, "INVITE", "", "");
        s.udp(t + 4_000, proxy, d.phone, 5060, 5060, &msg);
        d.request(&mut msg, "ACK", 1, "", "");
        s.udp(t + 6_000, d.phone, proxy, 5060, 5060, &msg);
        return;
    }
    t += rng.range(1_000_000, 8_000_000);
    let contact = format!("Contact: <sip:{}@10.0.0.60:5060>\r\n", d.peer);
    d.response(&mut msg, (200, "OK"), 1, "INVITE", &contact, &sdp("10.0.0.70", session ^ 0x5555, media_port));
    s.udp(t, proxy, d.phone, 5060, 5060, &msg);
    t += rng.range(2_000, 30_000);
    d.request(&mut msg, "ACK", 1, "", "");
    s.udp(t, d.phone, proxy, 5060, 5060, &msg);

    // RTP both ways, 20 ms of PCMU per packet.
    let frames = rng.range(40, 250);
    let (ssrc_a, ssrc_b) = (rng.u32(), rng.u32());
    let (seq_a, seq_b) = (rng.u32() as u16, rng.u32() as u16);
    let mut rtp = [0u8; 172];
    for n in 0..frames {
        let at = t + 10_000 + n * 20_000;
        for (src, dst, sport, dport, ssrc, seq0, skew) in [
            (d.phone, media, rtp_port, media_port, ssrc_a, seq_a, 0),
            (media, d.phone, media_port, rtp_port, ssrc_b, seq_b, 7_000),
        ] {
            rtp[0] = 0x80;
            rtp[1] = if n == 0 { 0x80 } else { 0 };
            rtp[2..4].copy_from_slice(&seq0.wrapping_add(n as u16).to_be_bytes());
            rtp[4..8].copy_from_slice(&((n as u32).wrapping_mul(160)).to_be_bytes());
            rtp[8..12].copy_from_slice(&ssrc.to_be_bytes());
            rtp[12..].fill(0xff ^ (n as u8 & 0x0f));
            s.udp(at + skew + rng.range(0, 1_500), src, dst, sport, dport, &rtp);
        }
    }
    t += 10_000 + frames * 20_000 + 30_000;
    // Either side hangs up.
    if rng.chance(0.5) {
        d.request(&mut msg, "BYE", 2, "", "");
        s.udp(t, d.phone, proxy, 5060, 5060, &msg);
        d.response(&mut msg, (200, "OK"), 2, "BYE", "", "");
        s.udp(t + rng.range(1_000, 20_000), proxy, d.phone, 5060, 5060, &msg);
    } else {
        let bye = format!(
            "BYE sip:{}@{}:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.60:5060;branch=z9hG4bK{:012x}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\n\
             Call-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            d.user,
            ip,
            d.branch ^ 0xb1e,
            d.peer,
            d.to_tag,
            d.user,
            d.user,
            d.from_tag,
            d.call_id
        );
        s.udp(t, proxy, d.phone, 5060, 5060, bye.as_bytes());
        let ok = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.60:5060;branch=z9hG4bK{:012x}\r\n\
             From: <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\n\
             Call-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            d.branch ^ 0xb1e,
            d.peer,
            d.to_tag,
            d.user,
            d.user,
            d.from_tag,
            d.call_id
        );
        s.udp(t + rng.range(1_000, 20_000), d.phone, proxy, 5060, 5060, ok.as_bytes());
    }
}

pub fn register(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64) {
    let d = dialog(rng);
    let proxy = World::SIP_PROXY;
    let mut msg = Vec::with_capacity(900);
    let nonce = rng.next_u64();
    let mut t = t0;
    d.request(&mut msg, "REGISTER", 1, "Expires: 3600\r\n", "");
    s.udp(t, d.phone, proxy, 5060, 5060, &msg);
    t += rng.range(500, 10_000);
    let challenge =
        format!("WWW-Authenticate: Digest realm=\"{DOMAIN}\", nonce=\"{nonce:016x}\", algorithm=MD5, qop=\"auth\"\r\n");
    d.response(&mut msg, (401, "Unauthorized"), 1, "REGISTER", &challenge, "");
    s.udp(t, proxy, d.phone, 5060, 5060, &msg);
    t += rng.range(2_000, 40_000);
    let auth = format!(
        "Authorization: Digest username=\"{}\", realm=\"{DOMAIN}\", nonce=\"{nonce:016x}\", \
         uri=\"sip:{DOMAIN}\", response=\"{:016x}{:016x}\", algorithm=MD5, qop=auth, nc=00000001, \
         cnonce=\"{:08x}\"\r\nExpires: 3600\r\n",
        d.user,
        rng.next_u64(),
        rng.next_u64(),
        rng.u32()
    );
    d.request(&mut msg, "REGISTER", 2, &auth, "");
    s.udp(t, d.phone, proxy, 5060, 5060, &msg);
    t += rng.range(500, 10_000);
    if rng.chance(0.06) {
        d.response(&mut msg, (403, "Forbidden"), 2, "REGISTER", "", "");
    } else {
        let contact = format!("Contact: <sip:{}@{}:5060>;expires=3600\r\n", d.user, d.ip());
        d.response(&mut msg, (200, "OK"), 2, "REGISTER", &contact, "");
    }
    s.udp(t, proxy, d.phone, 5060, 5060, &msg);
}
