//! The `filter` parameter: a small capture-filter language in the spirit of
//! tcpdump's (pcap-filter(7)) primitives, matched against what the packet
//! path decoded (the innermost packet, so a tunnelled flow is selected by
//! its own addresses and ports).
//!
//! Written by hand: libpcap's compiler is C and builds BPF for a raw frame,
//! which cannot see inside the tunnels and fragments the packet path opens;
//! the grammar is a few dozen lines of recursive descent.
//!
//! ```text
//! expr      := term (("or" | "||") term)*
//! term      := factor (("and" | "&&") factor)*
//! factor    := ("not" | "!") factor | "(" expr ")" | primitive | value
//! primitive := [proto] [dir] host ADDR | [dir] net CIDR
//!            | [proto] [dir] port PORT | [proto] [dir] portrange N-M
//!            | ip | ip6 | tcp | udp | sctp | icmp | icmp6 | vlan | mpls
//!            | ip proto N | less LEN | greater LEN
//! dir       := src | dst | src or dst | src and dst
//! ```
//!
//! As in tcpdump, a bare value after `and`/`or` repeats the qualifiers of
//! the primitive before it: `port 80 or 443`, `host 10.0.0.1 and 10.0.0.2`.

use std::fmt;
use std::net::IpAddr;

/// Longest filter accepted, in bytes: a filter is typed by a person or an
/// assistant, and the bound keeps parsing and matching work small.
pub const MAX_FILTER_LEN: usize = 2048;
/// Deepest nesting of parentheses and `not`: the parser recurses on them.
const MAX_DEPTH: usize = 64;

/// Well-known service names a port may be given by (tcpdump reads
/// /etc/services; the sandbox has none, so the common ones are listed).
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("dns", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("ntp", 123),
    ("netbios-ns", 137),
    ("imap", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("smb", 445),
    ("syslog", 514),
    ("submission", 587),
    ("ldaps", 636),
    ("dot", 853),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("rdp", 3389),
    ("sip", 5060),
    ("sips", 5061),
    ("mdns", 5353),
    ("llmnr", 5355),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    root: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Match(Primitive),
}

/// Which address or port of a packet a primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Src,
    Dst,
    /// Either (no qualifier, or `src or dst`).
    Any,
    /// Both (`src and dst`).
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Primitive {
    Host {
        dir: Dir,
        addr: IpAddr,
        proto: Option<u8>,
    },
    Net {
        dir: Dir,
        net: Cidr,
    },
    Port {
        dir: Dir,
        low: u16,
        high: u16,
        proto: Option<u8>,
    },
    /// The innermost IP packet's protocol number.
    Protocol(u8),
    Ipv4,
    Ipv6,
    Vlan,
    Mpls,
    /// Wire length at most this (tcpdump's `less`).
    Less(u32),
    /// Wire length at least this (tcpdump's `greater`).
    Greater(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const SCTP: u8 = 132;

/// What a filter looks at in one packet: gathered once per packet from the
/// packet path's decoding ([`crate::selection::Selection`] fills it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketFacts {
    /// The innermost IP packet's source and destination.
    pub addrs: Option<(IpAddr, IpAddr)>,
    /// IPv4 or IPv6 (4 or 6) of the innermost IP packet.
    pub ip_version: Option<u8>,
    /// Its protocol number (also for a fragment).
    pub protocol: Option<u8>,
    /// TCP, UDP or SCTP source and destination ports.
    pub ports: Option<(u16, u16)>,
    /// The packet went through a VLAN tag.
    pub vlan: bool,
    /// The packet went through an MPLS label.
    pub mpls: bool,
    /// Bytes on the wire.
    pub wire_len: u32,
}

impl Filter {
    /// Parses `text`. The error names the offending token and where it is.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                at: MAX_FILTER_LEN,
                message: format!("the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted", text.len()),
            });
        }
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(FilterError {
                at: 0,
                message: "the filter is empty: leave it out to select every packet".into(),
            });
        }
        let mut parser = Parser { tokens, next: 0, end: text.len(), last: None, depth: 0 };
        let root = parser.expr()?;
        if let Some(token) = parser.peek() {
            return Err(
                parser.error_at(token, format!("expected `and`, `or` or the end of the filter, got `{}`", token.text))
            );
        }
        Ok(Filter { root })
    }

    /// Whether a packet with these facts is selected.
    pub fn matches(&self, facts: &PacketFacts) -> bool {
        self.root.matches(facts)
    }
}

impl Expr {
    fn matches(&self, f: &PacketFacts) -> bool {
        match self {
            Expr::And(a, b) => a.matches(f) && b.matches(f),
            Expr::Or(a, b) => a.matches(f) || b.matches(f),
            Expr::Not(e) => !e.matches(f),
            Expr::Match(p) => p.matches(f),
        }
    }
}

impl Primitive {
    fn matches(&self, f: &PacketFacts) -> bool {
        match *self {
            Primitive::Host { dir, addr, proto } => {
                proto.is_none_or(|p| f.protocol == Some(p))
                    && f.addrs.is_some_and(|(s, d)| dir.test(s == addr, d == addr))
            }
            Primitive::Net { dir, net } => f.addrs.is_some_and(|(s, d)| dir.test(net.contains(s), net.contains(d))),
            Primitive::Port { dir, low, high, proto } => {
                proto.is_none_or(|p| f.protocol == Some(p))
                    && f.ports.is_some_and(|(s, d)| {
                        let within = |port: u16| (low..=high).contains(&port);
                        dir.test(within(s), within(d))
                    })
            }
            Primitive::Protocol(p) => f.protocol == Some(p),
            Primitive::Ipv4 => f.ip_version == Some(4),
            Primitive::Ipv6 => f.ip_version == Some(6),
            Primitive::Vlan => f.vlan,
            Primitive::Mpls => f.mpls,
            Primitive::Less(n) => f.wire_len <= n,
            Primitive::Greater(n) => f.wire_len >= n,
        }
    }
}

impl Dir {
    fn test(self, source: bool, destination: bool) -> bool {
        match self {
            Dir::Src => source,
            Dir::Dst => destination,
            Dir::Any => source || destination,
            Dir::Both => source && destination,
        }
    }
}

/// Why a filter does not parse: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset into the filter text.
    pub at: usize,
    /// What was wrong, naming the token.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    at: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let len = match c {
            b'(' | b')' => 1,
            b'!' => 1,
            b'&' | b'|' => {
                if bytes.get(i + 1) != Some(&c) {
                    let op = if c == b'&' { "&&" } else { "||" };
                    return Err(FilterError {
                        at: i,
                        message: format!("`{}` alone is not an operator: write `{op}`", c as char),
                    });
                }
                2
            }
            _ if is_word_byte(c) => bytes[i..].iter().take_while(|b| is_word_byte(**b)).count(),
            _ => {
                let shown = text[i..].chars().next().unwrap_or('?');
                return Err(FilterError { at: i, message: format!("unexpected character `{shown}`") });
            }
        };
        tokens.push(Token { text: &text[i..i + len], at: i });
        i += len;
    }
    Ok(tokens)
}

/// Bytes of a word: names, numbers, addresses (IPv6 colons, CIDR slashes)
/// and port ranges.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'-' | b'_')
}

/// The qualifiers of the last primitive, for a bare value after it.
#[derive(Debug, Clone, Copy)]
enum Repeat {
    Host { dir: Dir, proto: Option<u8> },
    Net { dir: Dir },
    Port { dir: Dir, proto: Option<u8>, range: bool },
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    next: usize,
    /// The filter's length, where "the end" is.
    end: usize,
    last: Option<Repeat>,
    depth: usize,
}

const PRIMITIVES: &str = "host, src host, dst host, net CIDR, port, portrange, tcp, udp, sctp, icmp, icmp6, ip, ip6, \
                          ip proto N, vlan, mpls, less, greater";

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.next).copied()
    }

    fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.text.eq_ignore_ascii_case(word))
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let token = self.peek();
        self.next += token.is_some() as usize;
        token
    }

    fn error_at(&self, token: Token<'_>, message: String) -> FilterError {
        FilterError { at: token.at, message }
    }

    /// The next token, or an error saying what was expected at the end.
    fn expect(&mut self, what: &str) -> Result<Token<'a>, FilterError> {
        self.bump()
            .ok_or_else(|| FilterError { at: self.end, message: format!("the filter ends where {what} was expected") })
    }

    fn expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.term()?;
        while self.peek_is("or") || self.peek_is("||") {
            self.bump();
            let right = self.term()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.factor()?;
        while self.peek_is("and") || self.peek_is("&&") {
            self.bump();
            let right = self.factor()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, FilterError> {
        let token = self.expect("a primitive (host, port, tcp, ...), `not` or `(`")?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(token, format!("more than {MAX_DEPTH} nested parentheses or `not`s")));
        }
        let expr = match token.text.to_ascii_lowercase().as_str() {
            "not" | "!" => Expr::Not(Box::new(self.factor()?)),
            "(" => {
                let inner = self.expr()?;
                match self.bump() {
                    Some(t) if t.text == ")" => inner,
                    Some(t) => return Err(self.error_at(t, format!("expected `)`, got `{}`", t.text))),
                    None => {
                        return Err(FilterError { at: token.at, message: "this `(` is never closed".into() });
                    }
                }
            }
            _ => Expr::Match(self.primitive(token)?),
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn primitive(&mut self, first: Token<'a>) -> Result<Primitive, FilterError> {
        let word = first.text.to_ascii_lowercase();
        // A protocol that qualifies the primitive after it (`tcp port 80`).
        let proto = match word.as_str() {
            "tcp" => Some(TCP),
            "udp" => Some(UDP),
            "sctp" => Some(SCTP),
            _ => None,
        };
        if let Some(p) = proto {
            if self.peek().is_some_and(|t| is_dir_or_kind(t.text)) {
                let next = self.bump().expect("peeked");
                return self.qualified(next, Some(p));
            }
            return Ok(Primitive::Protocol(p));
        }
        match word.as_str() {
            "icmp" => Ok(Primitive::Protocol(ICMP)),
            "icmp6" => Ok(Primitive::Protocol(ICMPV6)),
            "ip" if self.peek_is("proto") => {
                self.bump();
                let n = self.expect("a protocol number")?;
                let protocol = protocol_number(n.text).ok_or_else(|| {
                    self.error_at(
                        n,
                        format!("expected a protocol number (0-255) or tcp/udp/icmp/sctp, got `{}`", n.text),
                    )
                })?;
                Ok(Primitive::Protocol(protocol))
            }
            "ip" => Ok(Primitive::Ipv4),
            "ip6" => Ok(Primitive::Ipv6),
            "vlan" | "mpls" => {
                if let Some(t) = self.peek().filter(|t| t.text.bytes().all(|b| b.is_ascii_digit())) {
                    return Err(self.error_at(
                        t,
                        format!("`{word} {}`: {word} IDs are not matched; write `{word}` alone", t.text),
                    ));
                }
                Ok(if word == "vlan" { Primitive::Vlan } else { Primitive::Mpls })
            }
            "less" | "greater" => {
                let n = self.expect("a length in bytes")?;
                let len: u32 = n.text.parse().map_err(|_| {
                    self.error_at(n, format!("expected a length in bytes after `{word}`, got `{}`", n.text))
                })?;
                Ok(if word == "less" { Primitive::Less(len) } else { Primitive::Greater(len) })
            }
            _ if is_dir_or_kind(&word) => self.qualified(first, None),
            _ => self.repeated(first),
        }
    }

    /// `[src|dst|src or dst|src and dst] host|net|port|portrange VALUE`,
    /// starting at `first`.
    fn qualified(&mut self, first: Token<'a>, proto: Option<u8>) -> Result<Primitive, FilterError> {
        let mut kind = first;
        let dir = match first.text.to_ascii_lowercase().as_str() {
            "src" | "dst" => {
                let mut dir = if first.text.eq_ignore_ascii_case("src") { Dir::Src } else { Dir::Dst };
                // `src or dst host X` / `src and dst host X`: the operator
                // belongs to the qualifier only when the other direction
                // follows it.
                let other = if dir == Dir::Src { "dst" } else { "src" };
                let joined = self.tokens.get(self.next + 1).is_some_and(|t| t.text.eq_ignore_ascii_case(other));
                if joined && (self.peek_is("or") || self.peek_is("and")) {
                    dir = if self.peek_is("or") { Dir::Any } else { Dir::Both };
                    self.next += 2;
                }
                kind = self.expect("host, net, port or portrange")?;
                dir
            }
            _ => Dir::Any,
        };
        let repeat = match kind.text.to_ascii_lowercase().as_str() {
            "host" => Repeat::Host { dir, proto },
            "net" if proto.is_none() => Repeat::Net { dir },
            "port" => Repeat::Port { dir, proto, range: false },
            "portrange" => Repeat::Port { dir, proto, range: true },
            "net" => return Err(self.error_at(kind, "`net` takes no protocol: write `tcp and net ...`".into())),
            other => {
                return Err(self.error_at(kind, format!("expected host, net, port or portrange, got `{other}`")));
            }
        };
        let value = self.expect("a value")?;
        self.value(repeat, value)
    }

    /// A bare value: the last primitive's qualifiers apply to it.
    fn repeated(&mut self, value: Token<'a>) -> Result<Primitive, FilterError> {
        match self.last {
            Some(repeat) if !value.text.starts_with(|c: char| c.is_ascii_alphabetic()) || value.text.contains(':') => {
                self.value(repeat, value)
            }
            Some(repeat @ Repeat::Port { range: false, .. }) if port(value.text).is_some() => self.value(repeat, value),
            _ => {
                Err(self.error_at(value, format!("unknown primitive `{}`; the filter knows {PRIMITIVES}", value.text)))
            }
        }
    }

    fn value(&mut self, repeat: Repeat, value: Token<'a>) -> Result<Primitive, FilterError> {
        self.last = Some(repeat);
        let text = value.text;
        match repeat {
            Repeat::Host { dir, proto } => {
                let addr = text.parse::<IpAddr>().map_err(|_| {
                    self.error_at(
                        value,
                        format!("expected an IPv4 or IPv6 address, got `{text}` (names are not resolved)"),
                    )
                })?;
                Ok(Primitive::Host { dir, addr, proto })
            }
            Repeat::Net { dir } => {
                let net = cidr(text).ok_or_else(|| {
                    self.error_at(
                        value,
                        format!("expected a network as ADDRESS/PREFIX (10.0.0.0/8, 2001:db8::/32), got `{text}`"),
                    )
                })?;
                Ok(Primitive::Net { dir, net })
            }
            Repeat::Port { dir, proto, range: false } => {
                let p = port(text).ok_or_else(|| {
                    self.error_at(
                        value,
                        format!("expected a port number (0-65535) or a service name (http, domain, ...), got `{text}`"),
                    )
                })?;
                Ok(Primitive::Port { dir, low: p, high: p, proto })
            }
            Repeat::Port { dir, proto, range: true } => {
                let range = text.split_once('-').and_then(|(a, b)| Some((port(a)?, port(b)?)));
                match range {
                    Some((low, high)) if low <= high => Ok(Primitive::Port { dir, low, high, proto }),
                    _ => {
                        Err(self.error_at(value, format!("expected a port range LOW-HIGH (1024-65535), got `{text}`")))
                    }
                }
            }
        }
    }
}

fn is_dir_or_kind(word: &str) -> bool {
    ["src", "dst", "host", "net", "port", "portrange"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

fn port(text: &str) -> Option<u16> {
    text.parse().ok().or_else(|| SERVICES.iter().find(|(name, _)| text.eq_ignore_ascii_case(name)).map(|(_, p)| *p))
}

fn protocol_number(text: &str) -> Option<u8> {
    text.parse().ok().or_else(|| match text.to_ascii_lowercase().as_str() {
        "tcp" => Some(TCP),
        "udp" => Some(UDP),
        "icmp" => Some(ICMP),
        "icmp6" => Some(ICMPV6),
        "sctp" => Some(SCTP),
        _ => None,
    })
}

fn cidr(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str, dst: &str, protocol: u8, ports: Option<(u16, u16)>) -> PacketFacts {
        let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        PacketFacts {
            addrs: Some((s, d)),
            ip_version: Some(if s.is_ipv4() { 4 } else { 6 }),
            protocol: Some(protocol),
            ports,
            vlan: false,
            mpls: false,
            wire_len: 100,
        }
    }

    fn dns_query() -> PacketFacts {
        facts("10.0.0.1", "10.0.0.53", UDP, Some((40000, 53)))
    }

    fn web() -> PacketFacts {
        facts("10.0.0.1", "93.184.216.34", TCP, Some((51000, 443)))
    }

    fn ping6() -> PacketFacts {
        facts("2001:db8::1", "2001:db8::2", ICMPV6, None)
    }

    fn sel(filter: &str, f: &PacketFacts) -> bool {
        Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}")).matches(f)
    }

    #[test]
    fn hosts_and_directions() {
        let q = dns_query();
        assert!(sel("host 10.0.0.53", &q));
        assert!(sel("src host 10.0.0.1", &q));
        assert!(!sel("dst host 10.0.0.1", &q));
        assert!(sel("dst host 10.0.0.53", &q));
        assert!(sel("src or dst host 10.0.0.53", &q));
        assert!(!sel("src and dst host 10.0.0.53", &q));
        let to_self = facts("10.0.0.9", "10.0.0.9", UDP, Some((1, 2)));
        assert!(sel("src and dst host 10.0.0.9", &to_self));
        assert!(sel("host 2001:db8::2", &ping6()));
        assert!(!sel("host 2001:db8::3", &ping6()));
        assert!(!sel("host 10.0.0.1", &ping6()), "an IPv4 address never matches an IPv6 packet");
        assert!(sel("udp host 10.0.0.53", &q) && !sel("tcp host 10.0.0.53", &q));
    }

    #[test]
    fn networks() {
        let q = dns_query();
        assert!(sel("net 10.0.0.0/8", &q));
        assert!(sel("dst net 10.0.0.0/26", &q));
        assert!(!sel("src net 10.0.0.32/27", &q));
        assert!(sel("net 0.0.0.0/0", &q));
        assert!(sel("net 10.0.0.53", &q), "without a prefix, one address");
        assert!(sel("net 2001:db8::/32", &ping6()));
        assert!(!sel("net 2001:db9::/32", &ping6()));
        assert!(sel("net ::/0", &ping6()));
    }

    #[test]
    fn ports_ranges_and_names() {
        let (q, w) = (dns_query(), web());
        assert!(sel("port 53", &q) && !sel("port 53", &w));
        assert!(sel("port domain", &q) && sel("port https", &w));
        assert!(sel("dst port 53", &q) && !sel("src port 53", &q));
        assert!(sel("udp port 53", &q) && !sel("tcp port 53", &q));
        assert!(sel("tcp dst port 443", &w));
        assert!(sel("portrange 40000-40010", &q) && !sel("portrange 1-52", &q));
        assert!(sel("src portrange 50000-52000", &w));
        assert!(!sel("port 53", &ping6()), "no ports, no match");
    }

    #[test]
    fn protocols_and_versions() {
        let (q, w, p) = (dns_query(), web(), ping6());
        assert!(sel("udp", &q) && !sel("udp", &w) && sel("tcp", &w));
        assert!(sel("icmp6", &p) && !sel("icmp", &p));
        assert!(sel("ip", &q) && !sel("ip6", &q) && sel("ip6", &p));
        assert!(sel("ip proto 17", &q) && sel("ip proto udp", &q) && !sel("ip proto 6", &q));
        let mut tagged = q;
        tagged.vlan = true;
        assert!(sel("vlan", &tagged) && !sel("vlan", &q) && !sel("mpls", &tagged));
        assert!(sel("less 100", &q) && !sel("less 99", &q) && sel("greater 100", &q) && !sel("greater 101", &q));
        let unknown = PacketFacts::default();
        assert!(!sel("ip", &unknown) && !sel("tcp", &unknown) && sel("not host 10.0.0.1", &unknown));
    }

    #[test]
    fn precedence_negation_and_parentheses() {
        let (q, w) = (dns_query(), web());
        // `and` binds tighter than `or`.
        assert!(sel("tcp and port 80 or udp", &q));
        assert!(!sel("tcp and (port 80 or udp)", &q));
        assert!(sel("not tcp", &q) && !sel("! udp", &q));
        assert!(sel("not (tcp or icmp)", &q));
        assert!(sel("not not udp", &q));
        assert!(sel("udp && port 53 || tcp", &w));
        assert!(sel("host 10.0.0.1 and not port 53", &w) && !sel("host 10.0.0.1 and not port 53", &q));
        assert!(sel("HOST 10.0.0.1 AND UDP", &q), "keywords in any case");
    }

    #[test]
    fn a_bare_value_repeats_the_last_qualifiers() {
        let (q, w) = (dns_query(), web());
        assert!(sel("port 80 or 443", &w) && !sel("port 80 or 8080", &w));
        assert!(sel("port 80 or https", &w), "a service name after a port");
        assert!(sel("dst port 80 or 53", &q) && !sel("src port 80 or 53", &q));
        assert!(sel("host 10.0.0.9 or 10.0.0.53", &q));
        assert!(sel("host 10.0.0.1 and 10.0.0.53", &q) && !sel("host 10.0.0.1 and 10.0.0.54", &q));
        assert!(sel("net 192.168.0.0/16 or 10.0.0.0/8", &q));
    }

    fn error(filter: &str) -> FilterError {
        match Filter::parse(filter) {
            Ok(f) => panic!("`{filter}` parsed as {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let e = error("host 10.0.0.1 and port htp");
        assert_eq!(e.at, 23);
        assert!(e.message.contains("`htp`") && e.message.contains("port number"), "{e}");
        assert!(e.to_string().ends_with("(at character 24)"), "{e}");
        let e = error("host example.com");
        assert!(e.message.contains("not resolved") && e.at == 5, "{e}");
        let e = error("prot 53");
        assert!(e.message.contains("unknown primitive `prot`") && e.at == 0, "{e}");
        let e = error("(udp or tcp");
        assert!(e.message.contains("never closed") && e.at == 0, "{e}");
        let e = error("udp)");
        assert!(e.message.contains("`)`") && e.at == 3, "{e}");
        let e = error("udp and");
        assert!(e.message.contains("ends") && e.at == 7, "{e}");
        let e = error("port 53 & udp");
        assert!(e.message.contains("`&&`") && e.at == 8, "{e}");
        let e = error("net 10.0.0.0/33");
        assert!(e.message.contains("ADDRESS/PREFIX"), "{e}");
        let e = error("portrange 90-80");
        assert!(e.message.contains("LOW-HIGH"), "{e}");
        let e = error("port 65536");
        assert!(e.message.contains("`65536`"), "{e}");
        let e = error("vlan 100");
        assert!(e.message.contains("IDs are not matched") && e.at == 5, "{e}");
        let e = error("src foo 1");
        assert!(e.message.contains("expected host, net, port or portrange"), "{e}");
        let e = error("tcp net 10.0.0.0/8");
        assert!(e.message.contains("`net` takes no protocol"), "{e}");
        let e = error("udp 53");
        assert!(e.message.contains("expected `and`, `or`"), "{e}");
        let e = error("host 10.0.0.1 $");
        assert!(e.message.contains("unexpected character `$`") && e.at == 14, "{e}");
        assert!(error("   ").message.contains("empty"));
        assert!(error("less big").message.contains("length in bytes"));
        assert!(error("ip proto 300").message.contains("protocol number"));
    }

    #[test]
    fn hostile_filters_are_bounded() {
        let deep = format!("{}udp{}", "(".repeat(100), ")".repeat(100));
        assert!(error(&deep).message.contains("nested"));
        let nots = format!("{}udp", "not ".repeat(100));
        assert!(error(&nots).message.contains("nested"));
        let long = "port 53 or ".repeat(300);
        assert!(error(&long).message.contains("at most"));
        // Within the bounds, long flat filters are fine.
        let flat = format!("port {}", (1..200).map(|p| p.to_string()).collect::<Vec<_>>().join(" or "));
        assert!(sel(&flat, &dns_query()) && !sel(&flat, &web()));
    }

    /// Every prefix of real filters, and each with one character replaced
    /// by each of a set of troublemakers, parses or fails cleanly (and a
    /// failure points inside the text or at its end).
    #[test]
    fn prefixes_and_mutations_never_panic() {
        let filters = [
            "host 10.0.0.1 and (udp port 53 or tcp dst portrange 1-1023)",
            "not src or dst net 2001:db8::/32 || ! (ip proto 17 && greater 100)",
            "port 80 or https and vlan or mpls and less 64",
        ];
        let odd = ['(', ')', '!', '&', '|', ' ', ':', '/', '-', '9', 'é', '\0', 'x'];
        for filter in filters {
            let chars: Vec<char> = filter.chars().collect();
            let mut texts: Vec<String> = (0..=chars.len()).map(|n| chars[..n].iter().collect()).collect();
            for at in 0..chars.len() {
                for c in odd {
                    let mut mutated = chars.clone();
                    mutated[at] = c;
                    texts.push(mutated.into_iter().collect());
                }
            }
            for text in texts {
                if let Err(e) = Filter::parse(&text) {
                    assert!(e.at <= text.len(), "`{text}`: {e}");
                }
            }
        }
    }
}
