//! Which application protocol a TCP or UDP payload carries: by what its
//! first bytes look like where the protocol has a signature (a TLS record
//! header, an HTTP request line, an SSH banner, a QUIC long header, ...),
//! on any port; by a structure check on the protocol's own port where it
//! has none (DNS, DHCP, NTP, ...); by the port alone as a last resort, and
//! then said so. Zeek's dynamic protocol detection and Wireshark's
//! heuristic dissectors work the same way.
//!
//! Hand-written on purpose: recognising a protocol is a few bytes per
//! protocol, and a parser crate per protocol (most of which would not build
//! for wasm32-wasip2, or parse far more than needed) would cost more than
//! the check. The protocol analyzers parse for real; this only says which
//! one a payload belongs to.

/// The transport a payload came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// How a payload's protocol was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifiedBy {
    /// The payload has the protocol's signature or structure.
    Content,
    /// Only the port says so: a hint, not a finding.
    Port,
}

impl IdentifiedBy {
    /// `content` or `port`, as results say it.
    pub fn name(self) -> &'static str {
        match self {
            IdentifiedBy::Content => "content",
            IdentifiedBy::Port => "port",
        }
    }
}

/// Application protocols recognised. Names are Wireshark's filter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum AppProtocol {
    Dns,
    Mdns,
    Llmnr,
    Nbns,
    Nbdgm,
    Dhcp,
    Dhcpv6,
    Tls,
    Dtls,
    Http,
    Http2,
    Rtsp,
    Sip,
    Ssh,
    Nbss,
    Smb,
    Smb2,
    Quic,
    Gquic,
    Ntp,
    Snmp,
    Ssdp,
    Stun,
    Syslog,
    Ftp,
    Smtp,
    Pop,
    Imap,
    Telnet,
    BitTorrent,
    Ldap,
    Kerberos,
    Tftp,
    Radius,
    Isakmp,
    Bgp,
    Rdp,
    Mysql,
    Pgsql,
    Redis,
    Mqtt,
    Openflow,
    Msrpc,
    Nfs,
    Vnc,
    Portmap,
    Tds,
    Tns,
    Mongo,
}

impl AppProtocol {
    /// Every protocol, in declaration order.
    pub const ALL: [AppProtocol; 49] = {
        use AppProtocol::*;
        [
            Dns, Mdns, Llmnr, Nbns, Nbdgm, Dhcp, Dhcpv6, Tls, Dtls, Http, Http2, Rtsp, Sip, Ssh, Nbss, Smb, Smb2, Quic,
            Gquic, Ntp, Snmp, Ssdp, Stun, Syslog, Ftp, Smtp, Pop, Imap, Telnet, BitTorrent, Ldap, Kerberos, Tftp,
            Radius, Isakmp, Bgp, Rdp, Mysql, Pgsql, Redis, Mqtt, Openflow, Msrpc, Nfs, Vnc, Portmap, Tds, Tns, Mongo,
        ]
    };

    /// Wireshark's filter name.
    pub const fn name(self) -> &'static str {
        use AppProtocol::*;
        match self {
            Dns => "dns",
            Mdns => "mdns",
            Llmnr => "llmnr",
            Nbns => "nbns",
            Nbdgm => "nbdgm",
            Dhcp => "dhcp",
            Dhcpv6 => "dhcpv6",
            Tls => "tls",
            Dtls => "dtls",
            Http => "http",
            Http2 => "http2",
            Rtsp => "rtsp",
            Sip => "sip",
            Ssh => "ssh",
            Nbss => "nbss",
            Smb => "smb",
            Smb2 => "smb2",
            Quic => "quic",
            Gquic => "gquic",
            Ntp => "ntp",
            Snmp => "snmp",
            Ssdp => "ssdp",
            Stun => "stun",
            Syslog => "syslog",
            Ftp => "ftp",
            Smtp => "smtp",
            Pop => "pop",
            Imap => "imap",
            Telnet => "telnet",
            BitTorrent => "bittorrent",
            Ldap => "ldap",
            Kerberos => "kerberos",
            Tftp => "tftp",
            Radius => "radius",
            Isakmp => "isakmp",
            Bgp => "bgp",
            Rdp => "rdp",
            Mysql => "mysql",
            Pgsql => "pgsql",
            Redis => "redis",
            Mqtt => "mqtt",
            Openflow => "openflow",
            Msrpc => "dcerpc",
            Nfs => "nfs",
            Vnc => "vnc",
            Portmap => "portmap",
            Tds => "tds",
            Tns => "tns",
            Mongo => "mongo",
        }
    }

    /// The layers Wireshark shows for it above the transport: SMB rides on
    /// a NetBIOS session header (`nbss`), even on port 445.
    pub fn layers(self) -> &'static [&'static str] {
        match self {
            AppProtocol::Smb => &["nbss", "smb"],
            AppProtocol::Smb2 => &["nbss", "smb2"],
            other => std::slice::from_ref(&NAMES[other as usize]),
        }
    }

    /// Whether a session of this protocol can turn into TLS midway
    /// (STARTTLS and its kin, HTTP's CONNECT), so TLS records are still
    /// looked for once it is known.
    pub fn may_start_tls(self) -> bool {
        use AppProtocol::*;
        matches!(self, Smtp | Pop | Imap | Ftp | Ldap | Http)
    }
}

/// Names by discriminant, for [`AppProtocol::layers`].
static NAMES: [&str; AppProtocol::ALL.len()] = {
    let mut names = [""; AppProtocol::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = AppProtocol::ALL[i].name();
        i += 1;
    }
    names
};

/// Wireshark's name for an IP protocol number, for the ones met in
/// captures (IANA's registry holds many more, nearly all unused).
pub fn ip_protocol_name(number: u8) -> Option<&'static str> {
    Some(match number {
        1 => "icmp",
        2 => "igmp",
        4 => "ip",
        6 => "tcp",
        8 => "egp",
        17 => "udp",
        41 => "ipv6",
        46 => "rsvp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        88 => "eigrp",
        89 => "ospf",
        97 => "etherip",
        103 => "pim",
        108 => "ipcomp",
        112 => "vrrp",
        115 => "l2tp",
        132 => "sctp",
        137 => "mpls",
        _ => return None,
    })
}

/// Wireshark's name for the protocol of a non-IP EtherType, for the ones
/// met on real links.
pub fn ether_type_name(ether_type: u16) -> Option<&'static str> {
    Some(match ether_type {
        0x0842 => "wol",
        // Cisco's discovery protocol where GRE names it by protocol type.
        0x2000 => "cdp",
        0x8035 => "arp",
        0x8863 => "pppoed",
        0x8809 => "slow",
        0x888e => "eapol",
        0x8892 => "pn_rt",
        0x88cc => "lldp",
        0x88e1 => "homeplug-av",
        0x88f7 => "ptp",
        0x893a => "ieee1905",
        0x9000 => "loop",
        0x22f0 => "avtp",
        0x88b8 => "goose",
        0x88ba => "sv",
        0x890d => "fcoe",
        0x8906 => "fcoe",
        0x8914 => "fip",
        _ => return None,
    })
}

/// Wireshark's name for what an 802.2 LLC header carries, for the common
/// ones: spanning tree, and Cisco's discovery protocols over SNAP.
pub fn llc_payload_name(llc: &[u8]) -> Option<&'static str> {
    match llc {
        [0x42, 0x42, ..] => Some("stp"),
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, ..] => Some("cdp"),
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x0b, ..] => Some("stp"),
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x03, ..] => Some("vtp"),
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x04, ..] => Some("dtp"),
        [0xe0, 0xe0, ..] => Some("ipx"),
        [0xf0, 0xf0, ..] => Some("netbios"),
        _ => None,
    }
}

/// Payload packets of a flow whose content is looked at before the flow is
/// left unidentified (and its port, if any, taken as the only answer).
pub const CONTENT_TRIES: u8 = 6;

/// What a flow's payload has shown of its application protocol so far:
/// two bytes to keep per flow. A TCP stream keeps the protocol its content
/// first showed (its later segments start mid-message), except that a
/// session able to upgrade (STARTTLS) turns into TLS when records start;
/// UDP datagrams are each looked at first, since one port pair may carry
/// several protocols (WebRTC's STUN, DTLS and RTP), and the flow's
/// protocol answers for those that say nothing themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowIdentity {
    protocol: Option<AppProtocol>,
    upgraded_from: Option<AppProtocol>,
    tries: u8,
}

impl FlowIdentity {
    /// The protocol content showed so far (the last, after an upgrade).
    pub fn protocol(&self) -> Option<AppProtocol> {
        self.protocol
    }

    /// The plain-text protocol a session started with before it turned
    /// into TLS (STARTTLS, HTTP CONNECT).
    pub fn upgraded_from(&self) -> Option<AppProtocol> {
        self.upgraded_from
    }

    /// Looks at one payload of the flow: the protocol this packet belongs
    /// to by content, if the flow's content has said one.
    pub fn observe(
        &mut self,
        transport: Transport,
        source_port: u16,
        destination_port: u16,
        payload: &[u8],
    ) -> Option<AppProtocol> {
        if payload.is_empty() {
            return self.protocol;
        }
        match (transport, self.protocol) {
            (Transport::Tcp, Some(known)) => {
                if known.may_start_tls() && is_tls_record(payload) {
                    self.upgraded_from = Some(known);
                    self.protocol = Some(AppProtocol::Tls);
                }
            }
            (Transport::Udp, _) | (Transport::Tcp, None) => {
                if self.protocol.is_none() && self.tries >= CONTENT_TRIES {
                    return None;
                }
                self.tries = self.tries.saturating_add(1);
                if let Some(found) = by_content(transport, source_port, destination_port, payload) {
                    self.protocol = Some(found);
                    return Some(found);
                }
            }
        }
        self.protocol
    }
}

/// The application protocol of a TCP or UDP payload, and how it was told:
/// by a signature (on any port), by the structure expected on the
/// protocol's port, or by the port alone.
pub fn identify(
    transport: Transport,
    source_port: u16,
    destination_port: u16,
    payload: &[u8],
) -> Option<(AppProtocol, IdentifiedBy)> {
    if payload.is_empty() {
        return None;
    }
    if let Some(found) = by_content(transport, source_port, destination_port, payload) {
        return Some((found, IdentifiedBy::Content));
    }
    by_port(transport, source_port, destination_port).map(|p| (p, IdentifiedBy::Port))
}

/// [`identify`] without the port-only guess.
pub fn by_content(
    transport: Transport,
    source_port: u16,
    destination_port: u16,
    payload: &[u8],
) -> Option<AppProtocol> {
    if payload.is_empty() {
        return None;
    }
    if let Some(found) = by_signature(transport, payload) {
        // Plain-text request lines say HTTP; on SSDP's port they are SSDP.
        if found == AppProtocol::Http && transport == Transport::Udp && [source_port, destination_port].contains(&1900)
        {
            return Some(AppProtocol::Ssdp);
        }
        return Some(found);
    }
    let (low, high) = ordered(source_port, destination_port);
    by_structure(transport, low, payload).or_else(|| by_structure(transport, high, payload))
}

/// The protocol the port pair's well-known port is registered for, the
/// lower port first (a client's port is usually the higher).
pub fn by_port(transport: Transport, source_port: u16, destination_port: u16) -> Option<AppProtocol> {
    let (low, high) = ordered(source_port, destination_port);
    registered(transport, low).or_else(|| registered(transport, high))
}

fn ordered(a: u16, b: u16) -> (u16, u16) {
    if a <= b { (a, b) } else { (b, a) }
}

/// True when `payload` starts with a TLS record header: a content type
/// (change_cipher_spec, alert, handshake, application_data), version 3.x
/// and a length within what a record may hold.
pub fn is_tls_record(payload: &[u8]) -> bool {
    match payload {
        // SSL 3.0 and TLS 1.0-1.3; 2^14 plus expansion at most.
        [20..=23, 3, 0..=4, len_hi, len_lo, ..] => (1..=18_432).contains(&u16::from_be_bytes([*len_hi, *len_lo])),
        _ => false,
    }
}

/// True when `payload` starts with a DTLS record header (1.0 or 1.2).
fn is_dtls_record(payload: &[u8]) -> bool {
    match payload {
        [20..=23, 0xfe, 0xff | 0xfd, rest @ ..] if rest.len() >= 10 => {
            let len = usize::from(u16::from_be_bytes([rest[8], rest[9]]));
            len > 0 && len <= rest.len() - 10
        }
        _ => false,
    }
}

/// Protocols with a signature of their own, recognised on any port.
fn by_signature(transport: Transport, payload: &[u8]) -> Option<AppProtocol> {
    use AppProtocol::*;
    if let Some(found) = by_first_line(payload) {
        return Some(found);
    }
    match transport {
        Transport::Tcp => {
            if is_tls_record(payload) {
                return Some(Tls);
            }
            if payload.starts_with(b"SSH-") && payload.get(4).is_some_and(u8::is_ascii_digit) {
                return Some(Ssh);
            }
            if payload.starts_with(b"PRI * HTTP/2.0\r\n") {
                return Some(Http2);
            }
            if payload.starts_with(b"\x13BitTorrent protocol") {
                return Some(BitTorrent);
            }
            if payload.starts_with(b"RFB 00") {
                return Some(Vnc);
            }
            if payload.len() >= 19 && payload[..16].iter().all(|b| *b == 0xff) {
                return Some(Bgp);
            }
            // A NetBIOS session message (type 0, 17-bit length), then SMB's magic.
            if let [0, _, _, _, magic, b'S', b'M', b'B', ..] = payload {
                match magic {
                    0xff => return Some(Smb),
                    0xfe | 0xfd => return Some(Smb2),
                    _ => {}
                }
            }
            None
        }
        Transport::Udp => {
            if let Some(quic) = quic_long_header(payload) {
                return Some(quic);
            }
            if gquic_public_header(payload) {
                return Some(Gquic);
            }
            // STUN: two zero bits, a length that fits, the magic cookie.
            if let [0..=0x3f, _, len_hi, len_lo, 0x21, 0x12, 0xa4, 0x42, ..] = payload
                && usize::from(u16::from_be_bytes([*len_hi, *len_lo])) + 20 == payload.len()
            {
                return Some(Stun);
            }
            if is_dtls_record(payload) {
                return Some(Dtls);
            }
            None
        }
    }
}

/// A QUIC long header (RFC 9000 17.2: the form and fixed bits, then a
/// version): v1, v2, the IETF drafts, Google's Q046 and later on the same
/// header, and version negotiation (version 0).
fn quic_long_header(payload: &[u8]) -> Option<AppProtocol> {
    let [first, v0, v1, v2, v3, dcid_len, ..] = *payload else { return None };
    if first & 0x80 == 0 {
        return None;
    }
    // Q046 and later put both connection ID lengths in one byte: no check on it.
    if [v0, v1] == *b"Q0" && v2.is_ascii_digit() && v3.is_ascii_digit() {
        return Some(AppProtocol::Gquic);
    }
    if dcid_len > 20 || payload.len() < 7 + usize::from(dcid_len) {
        return None;
    }
    match u32::from_be_bytes([v0, v1, v2, v3]) {
        0 => Some(AppProtocol::Quic),
        1 | 0x6b33_43cf | 0xff00_001d..=0xff00_0022 if first & 0x40 != 0 => Some(AppProtocol::Quic),
        _ => None,
    }
}

/// Google QUIC before Q046: public flags with the version bit and an
/// 8-byte connection ID, then a version `Q0nn`.
fn gquic_public_header(payload: &[u8]) -> bool {
    matches!(payload, [flags, _, _, _, _, _, _, _, _, b'Q', b'0', d1, d2, ..]
        if flags & 0x09 == 0x09 && flags & 0x80 == 0 && d1.is_ascii_digit() && d2.is_ascii_digit())
}

/// Whether `payload` begins an HTTP/1 message: a request line (a method
/// HTTP knows, or any with an `HTTP/1.x` version) or a status line, as the
/// content rules above tell HTTP.
pub fn begins_http_message(payload: &[u8]) -> bool {
    by_first_line(payload) == Some(AppProtocol::Http)
}

/// Text protocols told by their first line: HTTP, RTSP and SIP requests
/// (method, target, version) and responses (version first), and the
/// announcements of SSDP.
fn by_first_line(payload: &[u8]) -> Option<AppProtocol> {
    use AppProtocol::*;
    let head = &payload[..payload.len().min(2048)];
    if head.starts_with(b"HTTP/1.") {
        return Some(Http);
    }
    if head.starts_with(b"SIP/2.0 ") {
        return Some(Sip);
    }
    if head.starts_with(b"RTSP/1.0 ") {
        return Some(Rtsp);
    }
    let method_len = head.iter().take(17).position(|b| *b == b' ')?;
    let method = &head[..method_len];
    if method.is_empty() || !method.iter().all(|b| b.is_ascii_uppercase() || *b == b'-') {
        return None;
    }
    let line_end = head.windows(2).position(|w| w == b"\r\n");
    let line = &head[..line_end.unwrap_or(head.len())];
    if line.ends_with(b" SIP/2.0") {
        return Some(Sip);
    }
    if line.ends_with(b" RTSP/1.0") {
        return Some(Rtsp);
    }
    let http_method = matches!(
        method,
        b"GET"
            | b"POST"
            | b"HEAD"
            | b"PUT"
            | b"DELETE"
            | b"OPTIONS"
            | b"CONNECT"
            | b"PATCH"
            | b"TRACE"
            | b"PROPFIND"
            | b"PROPPATCH"
            | b"MKCOL"
            | b"COPY"
            | b"MOVE"
            | b"LOCK"
            | b"UNLOCK"
            | b"M-SEARCH"
            | b"NOTIFY"
            | b"SUBSCRIBE"
    );
    if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
        return Some(Http);
    }
    // A request line longer than the segment (a long URL) still starts so.
    (http_method && line_end.is_none() && matches!(head.get(method_len + 1), Some(b'/' | b'*' | b'h'))).then_some(Http)
}

/// A DNS-style header (DNS, mDNS, LLMNR, NBNS): an opcode in use and a
/// sane question count.
fn dns_header(message: &[u8]) -> bool {
    let [_, _, flags, _, qd_hi, qd_lo, ..] = *message else { return false };
    message.len() >= 12
        && matches!((flags >> 3) & 0x0f, 0 | 1 | 2 | 4 | 5 | 6)
        && u16::from_be_bytes([qd_hi, qd_lo]) <= 16
}

/// Protocols without a signature, checked on their own port for the
/// structure they must have.
fn by_structure(transport: Transport, port: u16, payload: &[u8]) -> Option<AppProtocol> {
    use AppProtocol::*;
    use Transport::{Tcp, Udp};
    let text_reply =
        |p: &[u8]| p.len() >= 4 && p[..3].iter().all(u8::is_ascii_digit) && matches!(p[3], b' ' | b'-' | b'\r');
    let text_command = |p: &[u8]| {
        let word = p.iter().take(9).position(|b| matches!(b, b' ' | b'\r')).unwrap_or(0);
        (3..=8).contains(&word) && p[..word].iter().all(u8::is_ascii_alphabetic)
    };
    match (transport, port) {
        (Udp, 53) => dns_header(payload).then_some(Dns),
        (Tcp, 53) => (payload.len() >= 14 && dns_header(&payload[2..])).then_some(Dns),
        (Udp, 5353) => dns_header(payload).then_some(Mdns),
        (Udp, 5355) => dns_header(payload).then_some(Llmnr),
        (Udp, 137) => dns_header(payload).then_some(Nbns),
        (Udp, 138) => matches!(payload.first(), Some(0x10..=0x16)).then_some(Nbdgm),
        (Udp, 67 | 68) => (payload.len() >= 236 && matches!(payload[0], 1 | 2)).then_some(Dhcp),
        (Udp, 546 | 547) => matches!(payload.first(), Some(1..=13)).then_some(Dhcpv6),
        (Udp, 123) => (payload.len() >= 48 && matches!((payload[0] >> 3) & 7, 1..=4)).then_some(Ntp),
        (Udp, 161 | 162) => (payload.first() == Some(&0x30)).then_some(Snmp),
        (Tcp | Udp, 389) => (payload.first() == Some(&0x30)).then_some(Ldap),
        (Udp, 514) => {
            (payload.first() == Some(&b'<') && payload.get(1).is_some_and(u8::is_ascii_digit)).then_some(Syslog)
        }
        (Udp, 69) => matches!(payload, [0, 1..=6, ..]).then_some(Tftp),
        (Udp, 1812 | 1813) => (payload.len() >= 20
            && usize::from(u16::from_be_bytes([payload[2], payload[3]])) == payload.len())
        .then_some(Radius),
        (Udp, 500) => (payload.len() >= 28 && matches!(payload[17], 0x10 | 0x20)).then_some(Isakmp),
        // NAT traversal: IKE behind a zero marker; anything else there is ESP.
        (Udp, 4500) => {
            (payload.len() >= 32 && payload[..4] == [0; 4] && matches!(payload[21], 0x10 | 0x20)).then_some(Isakmp)
        }
        // A NetBIOS session message, request, response or keepalive with its length.
        (Tcp, 139 | 445) => match payload {
            [0x00 | 0x81..=0x85, flags, hi, lo, ..] if flags & 0xfe == 0 => {
                let len = (usize::from(flags & 1) << 16) | usize::from(u16::from_be_bytes([*hi, *lo]));
                (len > 0 || payload.len() == 4).then_some(Nbss)
            }
            _ => None,
        },
        (Tcp, 21) => (text_reply(payload) || text_command(payload)).then_some(Ftp),
        (Tcp, 25 | 587) => (text_reply(payload) || text_command(payload)).then_some(Smtp),
        (Tcp, 110) => {
            (payload.starts_with(b"+OK") || payload.starts_with(b"-ERR") || text_command(payload)).then_some(Pop)
        }
        (Tcp, 143) => (payload.starts_with(b"* ") || payload.iter().take(32).any(|b| *b == b' ')).then_some(Imap),
        (Tcp, 3389) => payload.starts_with(&[3, 0]).then_some(Rdp),
        _ => None,
    }
}

/// The protocol registered for a well-known port, as a hint.
fn registered(transport: Transport, port: u16) -> Option<AppProtocol> {
    use AppProtocol::*;
    use Transport::{Tcp, Udp};
    Some(match (transport, port) {
        (_, 53) => Dns,
        (Udp, 5353) => Mdns,
        (Udp, 5355) => Llmnr,
        (Udp, 137) => Nbns,
        (Udp, 138) => Nbdgm,
        (Udp, 67 | 68) => Dhcp,
        (Udp, 546 | 547) => Dhcpv6,
        (Udp, 69) => Tftp,
        (Udp, 123) => Ntp,
        (Udp, 161 | 162) => Snmp,
        (Udp, 500) => Isakmp,
        (Udp, 514) => Syslog,
        (Udp, 1900) => Ssdp,
        (Udp, 1812 | 1813) => Radius,
        (Udp, 3478) => Stun,
        (Udp, 443) => Quic,
        (_, 5060) => Sip,
        (Tcp, 5061 | 443 | 8443 | 465 | 993 | 995 | 636) => Tls,
        (Tcp, 20 | 21) => Ftp,
        (Tcp, 22) => Ssh,
        (Tcp, 23) => Telnet,
        (Tcp, 25 | 587) => Smtp,
        (Tcp, 80 | 8080) => Http,
        (Tcp, 110) => Pop,
        (Tcp, 143) => Imap,
        (Tcp, 135) => Msrpc,
        (Tcp, 139 | 445) => Nbss,
        (Tcp, 179) => Bgp,
        (_, 389) => Ldap,
        (_, 88) => Kerberos,
        (_, 2049) => Nfs,
        (Tcp, 1883) => Mqtt,
        (Tcp, 3306) => Mysql,
        (Tcp, 3389) => Rdp,
        (Tcp, 5432) => Pgsql,
        (Tcp, 5900) => Vnc,
        (Tcp, 6379) => Redis,
        (Tcp, 6653) => Openflow,
        (_, 111) => Portmap,
        (Tcp, 1433) => Tds,
        (Tcp, 1521) => Tns,
        (Tcp, 27017) => Mongo,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppProtocol::*;
    use IdentifiedBy::{Content, Port};
    use Transport::{Tcp, Udp};

    #[test]
    fn names_follow_the_declaration_order() {
        for (i, p) in AppProtocol::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i, "{p:?} out of order in ALL");
            assert!(!p.name().is_empty());
        }
        assert_eq!(Http.layers(), ["http"]);
        assert_eq!(Smb2.layers(), ["nbss", "smb2"]);
        assert_eq!(Msrpc.layers(), ["dcerpc"]);
    }

    #[test]
    fn signatures_are_found_on_any_port() {
        let cases: [(Transport, &[u8], AppProtocol); 14] = [
            (Tcp, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc", Tls),
            (Tcp, b"\x17\x03\x03\x00\x20", Tls),
            (Tcp, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", Http),
            (Tcp, b"GET /a-very-long-url-cut-by-the-segment", Http),
            (Tcp, b"HTTP/1.1 200 OK\r\n", Http),
            (Udp, b"INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n", Sip),
            (Tcp, b"OPTIONS sip:x SIP/2.0\r\n", Sip),
            (Udp, b"SIP/2.0 180 Ringing\r\n", Sip),
            (Tcp, b"OPTIONS rtsp://cam/stream RTSP/1.0\r\n", Rtsp),
            (Tcp, b"SSH-2.0-OpenSSH_9.6\r\n", Ssh),
            (Tcp, b"\x00\x00\x00\x45\xfeSMB\x40\x00", Smb2),
            (Tcp, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Http2),
            (Udp, &[0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0], Quic),
            (Udp, &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], Stun),
        ];
        for (transport, payload, expected) in cases {
            assert_eq!(identify(transport, 40000, 40001, payload), Some((expected, Content)), "{payload:?}");
        }
        let ssdp = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n";
        assert_eq!(identify(Udp, 50000, 1900, ssdp), Some((Ssdp, Content)));
    }

    #[test]
    fn structure_on_the_port_and_port_alone_are_told_apart() {
        let query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 0, 0, 1, 0, 1];
        assert_eq!(identify(Udp, 40000, 53, &query), Some((Dns, Content)));
        assert_eq!(identify(Udp, 5353, 5353, &query), Some((Mdns, Content)));
        let mut tcp_query = vec![0, query.len() as u8];
        tcp_query.extend_from_slice(&query);
        assert_eq!(identify(Tcp, 53, 40000, &tcp_query), Some((Dns, Content)));
        // Not a DNS header (opcode 15): the port is all that is left.
        let junk = [0xff; 20];
        assert_eq!(identify(Udp, 40000, 53, &junk), Some((Dns, Port)));
        assert_eq!(identify(Tcp, 40000, 443, b"\x01\x02\x03\x04\x05\x06"), Some((Tls, Port)));
        // A NetBIOS keepalive on SMB's port is the session layer alone.
        assert_eq!(identify(Tcp, 445, 50000, &[0x85, 0, 0, 0]), Some((Nbss, Content)));
        // ESP behind NAT on IKE's NAT-T port is not IKE.
        assert_eq!(identify(Udp, 4500, 4500, &[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1]), None);
        // Google QUIC's public header (Q043) on any port.
        let gquic = [0x0d, 1, 2, 3, 4, 5, 6, 7, 8, b'Q', b'0', b'4', b'3', 0x20];
        assert_eq!(identify(Udp, 50000, 50001, &gquic), Some((Gquic, Content)));
        assert_eq!(identify(Tcp, 40000, 25, b"220 mail.example.com ESMTP\r\n"), Some((Smtp, Content)));
        assert_eq!(identify(Tcp, 40000, 110, b"+OK POP3 ready\r\n"), Some((Pop, Content)));
        let mut dhcp = vec![0u8; 240];
        dhcp[0] = 1;
        dhcp[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
        assert_eq!(identify(Udp, 68, 67, &dhcp), Some((Dhcp, Content)));
        // Nothing known: no answer, and nothing for an empty payload.
        assert_eq!(identify(Udp, 40000, 40001, &junk), None);
        assert_eq!(identify(Tcp, 40000, 40001, b"hello there"), None);
        assert_eq!(identify(Tcp, 40000, 80, b""), None, "no payload, nothing to say");
    }

    #[test]
    fn record_headers_need_a_plausible_length() {
        assert!(is_tls_record(&[0x16, 3, 3, 0, 5]));
        assert!(!is_tls_record(&[0x16, 3, 3, 0, 0]), "an empty record");
        assert!(!is_tls_record(&[0x16, 3, 3, 0x50, 0]), "longer than a record may be");
        assert!(!is_tls_record(&[0x18, 3, 3, 0, 5]), "heartbeat is not a start");
        assert!(!is_tls_record(&[0x16, 3]));
    }
}
