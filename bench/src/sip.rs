//! SIP on port 5060 between phones and a proxy: calls (answered with RTP
//! both ways then BYE, busy, not found, cancelled) and registrations
//! challenged with 401 before they succeed (or are refused). Over UDP with
//! short headers by default; the SIP-heavy mix adds calls over TCP and
//! the long headers of carrier networks (Record-Route, P-Asserted-Identity,
//! a second Via, Allow, Supported, session timers).

use std::io::Write;

use crate::packet::{Addr, Script};
use crate::tcp::Stream;
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
    transport: &'static str,
    /// The headers every message carries besides the usual ones.
    more_headers: String,
}

/// How a conversation's SIP messages travel, and how long their heads are.
#[derive(Clone, Copy)]
struct Style {
    tcp: bool,
    long_headers: bool,
    /// RTP beside the signalling; a carrier's signalling link carries none.
    media: bool,
}

/// The transport of one conversation's SIP messages.
enum Carrier {
    Udp { phone: Addr, proxy: Addr },
    Tcp(Stream),
}

impl Carrier {
    fn new(s: &mut Script, rng: &mut Rng, t: u64, d: &Dialog, tcp: bool) -> Carrier {
        if tcp {
            let port = 40_000 + rng.index(20_000) as u16;
            Carrier::Tcp(Stream::open(s, rng, t, (d.phone, port), (World::SIP_PROXY, 5060)))
        } else {
            Carrier::Udp { phone: d.phone, proxy: World::SIP_PROXY }
        }
    }

    /// Sends `msg` at `t` (or, over TCP, after the stream's last packet);
    /// returns when the last packet it caused was sent.
    fn send(&mut self, s: &mut Script, t: u64, from_phone: bool, msg: &[u8]) -> u64 {
        match self {
            Carrier::Udp { phone, proxy } => {
                let (src, dst) = if from_phone { (*phone, *proxy) } else { (*proxy, *phone) };
                s.udp(t, src, dst, 5060, 5060, msg);
                t
            }
            Carrier::Tcp(stream) => stream.send(s, t, from_phone, msg),
        }
    }

    /// Over TCP, the phone closes the connection a moment after `t`.
    fn close(self, s: &mut Script, rng: &mut Rng, t: u64) {
        if let Carrier::Tcp(stream) = self {
            stream.close(s, t + rng.range(1_000, 50_000));
        }
    }
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
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/{} {ip}:5060;rport;branch=z9hG4bK{:012x}\r\n\
             Max-Forwards: 70\r\nFrom: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: {to}{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{}@{ip}:5060>\r\n\
             User-Agent: BenchPhone/2.1\r\n{}{extra}",
            self.transport,
            self.branch + cseq as u64,
            self.user,
            self.user,
            self.from_tag,
            self.call_id,
            self.user,
            self.more_headers,
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
            "SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/{} {ip}:5060;rport=5060;branch=z9hG4bK{:012x}\r\n\
             From: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: <sip:{to_user}@{DOMAIN}>{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\nServer: BenchProxy/5.4\r\n{}{extra}",
            self.transport,
            self.branch + cseq as u64,
            self.user,
            self.user,
            self.from_tag,
            self.call_id,
            self.more_headers,
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

fn dialog(rng: &mut Rng, style: Style) -> Dialog {
    let i = rng.index(PHONES);
    let user = 2000 + i as u32;
    let more_headers = if style.long_headers {
        format!(
            "Via: SIP/2.0/UDP 10.0.0.61:5060;branch=z9hG4bK{:016x};received=10.0.0.61\r\n\
             Record-Route: <sip:edge1.{DOMAIN};lr;transport=tcp>, <sip:core{}.{DOMAIN};lr>\r\n\
             P-Asserted-Identity: \"Ext {user}\" <sip:{user}@{DOMAIN}>, <tel:+4930{user:06}>\r\n\
             Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE, PRACK\r\n\
             Supported: replaces, timer, 100rel, path, gruu, outbound\r\n\
             Session-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\n\
             X-Trace-Id: {:016x}{:016x}\r\n",
            rng.next_u64(),
            rng.index(8),
            rng.next_u64(),
            rng.next_u64(),
        )
    } else {
        String::new()
    };
    Dialog {
        phone: World::phone(i),
        user,
        peer: 2000 + rng.index(PHONES) as u32,
        call_id: format!("{:016x}@bench.invalid", rng.next_u64()),
        from_tag: rng.u32() | 1,
        to_tag: rng.u32() | 1,
        branch: rng.next_u64() >> 20,
        transport: if style.tcp { "TCP" } else { "UDP" },
        more_headers,
    }
}

/// A call over UDP with short headers, and its RTP.
pub fn call(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    call_in(s, rng, w, t0, Style { tcp: false, long_headers: false, media: true })
}

/// A call's signalling over UDP with a carrier network's long headers.
pub fn call_long_headers(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    call_in(s, rng, w, t0, Style { tcp: false, long_headers: true, media: false })
}

/// A call's signalling over TCP with a carrier network's long headers.
pub fn call_tcp(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    call_in(s, rng, w, t0, Style { tcp: true, long_headers: true, media: false })
}

/// A registration over UDP with short headers.
pub fn register(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    register_in(s, rng, w, t0, Style { tcp: false, long_headers: false, media: false })
}

/// A registration over TCP with long headers.
pub fn register_tcp(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    register_in(s, rng, w, t0, Style { tcp: true, long_headers: true, media: false })
}

fn call_in(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64, style: Style) {
    let d = dialog(rng, style);
    let media = World::MEDIA_SERVER;
    let mut msg = Vec::with_capacity(2000);
    let rtp_port = 10_000 + 2 * rng.index(5_000) as u16;
    let media_port = 30_000 + 2 * rng.index(5_000) as u16;
    let session = rng.u32() >> 1;
    let ip = d.ip();
    let mut link = Carrier::new(s, rng, t0, &d, style.tcp);
    d.request(&mut msg, "INVITE", 1, "", &sdp(&ip, session, rtp_port));
    let mut t = link.send(s, t0, true, &msg);
    d.response(&mut msg, (100, "Trying"), 1, "INVITE", "", "");
    t = link.send(s, t + rng.range(1_000, 20_000), false, &msg);
    let outcome = rng.unit();
    if outcome < 0.15 {
        let (code, reason) = if outcome < 0.07 { (404, "Not Found") } else { (486, "Busy Here") };
        d.response(&mut msg, (code, reason), 1, "INVITE", "", "");
        t = link.send(s, t + rng.range(20_000, 800_000), false, &msg);
        d.request(&mut msg, "ACK", 1, "", "");
        t = link.send(s, t + rng.range(500, 5_000), true, &msg);
        link.close(s, rng, t);
        return;
    }
    d.response(&mut msg, (180, "Ringing"), 1, "INVITE", "", "");
    t = link.send(s, t + rng.range(50_000, 1_500_000), false, &msg);
    if outcome < 0.22 {
        // The caller gives up: CANCEL, 200 for it, 487 for the INVITE, ACK.
        d.request(&mut msg, "CANCEL", 1, "", "");
        t = link.send(s, t + rng.range(2_000_000, 20_000_000), true, &msg);
        d.response(&mut msg, (200, "OK"), 1, "CANCEL", "", "");
        t = link.send(s, t + 2_000, false, &msg);
        d.response(&mut msg, (487, "Request Terminated"), 1, "INVITE", "", "");
        t = link.send(s, t + 2_000, false, &msg);
        d.request(&mut msg, "ACK", 1, "", "");
        t = link.send(s, t + 2_000, true, &msg);
        link.close(s, rng, t);
        return;
    }
    let contact = format!("Contact: <sip:{}@10.0.0.60:5060>\r\n", d.peer);
    d.response(&mut msg, (200, "OK"), 1, "INVITE", &contact, &sdp("10.0.0.70", session ^ 0x5555, media_port));
    t = link.send(s, t + rng.range(1_000_000, 8_000_000), false, &msg);
    d.request(&mut msg, "ACK", 1, "", "");
    t = link.send(s, t + rng.range(2_000, 30_000), true, &msg);

    // RTP both ways, 20 ms of PCMU per packet.
    let frames = rng.range(40, 250);
    if !style.media {
        t += 10_000 + frames * 20_000 + 30_000;
        return hang_up(s, rng, &d, link, t);
    }
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
    // After the last RTP packet (sent at most 8.5 ms after its slot).
    t += 10_000 + frames * 20_000 + 30_000;
    hang_up(s, rng, &d, link, t);
}

/// Either side hangs up at `t`.
fn hang_up(s: &mut Script, rng: &mut Rng, d: &Dialog, mut link: Carrier, mut t: u64) {
    let mut msg = Vec::with_capacity(1000);
    let ip = d.ip();
    if rng.chance(0.5) {
        d.request(&mut msg, "BYE", 2, "", "");
        t = link.send(s, t, true, &msg);
        d.response(&mut msg, (200, "OK"), 2, "BYE", "", "");
        t = link.send(s, t + rng.range(1_000, 20_000), false, &msg);
    } else {
        let bye = format!(
            "BYE sip:{}@{}:5060 SIP/2.0\r\nVia: SIP/2.0/{} 10.0.0.60:5060;branch=z9hG4bK{:012x}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\n\
             Call-ID: {}\r\nCSeq: 1 BYE\r\n{}Content-Length: 0\r\n\r\n",
            d.user,
            ip,
            d.transport,
            d.branch ^ 0xb1e,
            d.peer,
            d.to_tag,
            d.user,
            d.user,
            d.from_tag,
            d.call_id,
            d.more_headers,
        );
        t = link.send(s, t, false, bye.as_bytes());
        let ok = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/{} 10.0.0.60:5060;branch=z9hG4bK{:012x}\r\n\
             From: <sip:{}@{DOMAIN}>;tag={:08x}\r\nTo: \"Ext {}\" <sip:{}@{DOMAIN}>;tag={:08x}\r\n\
             Call-ID: {}\r\nCSeq: 1 BYE\r\n{}Content-Length: 0\r\n\r\n",
            d.transport,
            d.branch ^ 0xb1e,
            d.peer,
            d.to_tag,
            d.user,
            d.user,
            d.from_tag,
            d.call_id,
            d.more_headers,
        );
        t = link.send(s, t + rng.range(1_000, 20_000), true, ok.as_bytes());
    }
    link.close(s, rng, t);
}

fn register_in(s: &mut Script, rng: &mut Rng, _w: &mut World, t0: u64, style: Style) {
    let d = dialog(rng, style);
    let mut msg = Vec::with_capacity(1500);
    let nonce = rng.next_u64();
    let mut link = Carrier::new(s, rng, t0, &d, style.tcp);
    d.request(&mut msg, "REGISTER", 1, "Expires: 3600\r\n", "");
    let mut t = link.send(s, t0, true, &msg);
    let challenge =
        format!("WWW-Authenticate: Digest realm=\"{DOMAIN}\", nonce=\"{nonce:016x}\", algorithm=MD5, qop=\"auth\"\r\n");
    d.response(&mut msg, (401, "Unauthorized"), 1, "REGISTER", &challenge, "");
    t = link.send(s, t + rng.range(500, 10_000), false, &msg);
    let asked = t + rng.range(2_000, 40_000);
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
    t = link.send(s, asked, true, &msg);
    let answered = t + rng.range(500, 10_000);
    if rng.chance(0.06) {
        d.response(&mut msg, (403, "Forbidden"), 2, "REGISTER", "", "");
    } else {
        let contact = format!("Contact: <sip:{}@{}:5060>;expires=3600\r\n", d.user, d.ip());
        d.response(&mut msg, (200, "OK"), 2, "REGISTER", &contact, "");
    }
    t = link.send(s, answered, false, &msg);
    link.close(s, rng, t);
}
