//! DHCPv4 (and plain BOOTP) message decoding.
//!
//! `dhcproto` does the work: [`dhcproto::v4::borrowed::Message`] reads the
//! fixed header without copying, its `DhcpOptionIterator` frames the options
//! (pad, end, RFC 3396 concatenation of split options) in the options field
//! and, under option overload (52), in the `file` and `sname` fields, and
//! `into_option` decodes each value. Three things are done here instead, each
//! because dhcproto cannot do it for a capture analyzer:
//!
//! - The magic cookie: dhcproto's borrowed iterator silently yields no options
//!   when it is wrong, so the cookie is checked here to flag the packet.
//! - Framing damage: the iterator stops quietly at a truncated option;
//!   [`framing_problem`] walks the same bytes to say where and why.
//! - Relay agent information (82): dhcproto's `RelayInfo` decoder reads fixed
//!   sizes for sub-options 4 and 10 whatever their length byte says (so one
//!   odd sub-option misframes the rest) and keeps one sub-option per code; the
//!   sub-option list is a plain TLV walked in [`relay_agent`].
//!
//! Option values that dhcproto decodes with debug assertions or unchecked
//! `len - n` on the length (80, 81, 94, 151-155) are checked first, so a
//! hostile length is reported rather than tripping an assertion in tests.

use std::net::Ipv4Addr;

use dhcproto::v4::DhcpOption as O;
use dhcproto::v4::borrowed::{DhcpOptionIterator, Message};
use pcapsule_guest::conventions::OrderedMap;
use serde_json::{Value, json};

use crate::names;
use crate::result::V4Fields;
use crate::util::{clip, hex_colon, lossy_text, text_or_hex, until_nul};

/// Length of the BOOTP header before the vendor/options area.
pub const BOOTP_HEADER_LEN: usize = 236;
/// The fixed part dhcproto's borrowed message needs: header plus magic cookie.
const DHCP_FIXED_LEN: usize = BOOTP_HEADER_LEN + 4;
/// At most this many relay agent sub-options are listed per packet.
const MAX_RELAY_SUBOPTIONS: usize = 32;

/// What the vendor area says about DHCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// The DHCP magic cookie: options follow.
    Dhcp,
    /// No vendor area, or an all-zero one: plain BOOTP (RFC 951).
    Bootp,
    /// Something else where the cookie belongs: options are not trusted.
    Bad,
}

/// One decoded DHCPv4/BOOTP message.
#[derive(Debug, Clone)]
pub struct V4Message {
    /// 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// The broadcast flag.
    pub broadcast: bool,
    /// ciaddr.
    pub ciaddr: Ipv4Addr,
    /// yiaddr.
    pub yiaddr: Ipv4Addr,
    /// siaddr.
    pub siaddr: Ipv4Addr,
    /// giaddr.
    pub giaddr: Ipv4Addr,
    /// chaddr, all 16 bytes.
    pub chaddr: [u8; 16],
    /// Server host name (sname), when not used for options.
    pub server_name: Option<String>,
    /// Boot file name, when not used for options.
    pub boot_file: Option<String>,
    /// Magic cookie verdict.
    pub cookie: Cookie,
    /// Named options in wire order (mcpcap's `options`: everything except the
    /// message type, server id, requested address and client id, which are
    /// top-level fields).
    pub options: Vec<(String, Value)>,
    /// Option 53.
    pub message_type: Option<u8>,
    /// Option 61, raw.
    pub client_id: Option<Vec<u8>>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 51.
    pub lease_time: Option<u32>,
    /// Option 58.
    pub renewal_time: Option<u32>,
    /// Option 59.
    pub rebinding_time: Option<u32>,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 60.
    pub vendor_class_id: Option<String>,
    /// Option 82 sub-options, named.
    pub relay_agent: Option<Vec<(String, String)>>,
    /// Option 52: 1 = file, 2 = sname, 3 = both.
    pub overload: Option<u8>,
    /// Set when the message is damaged (truncated, bad cookie, broken options).
    pub malformed: bool,
    /// What was wrong or odd, in words.
    pub problems: Vec<String>,
}

impl V4Message {
    /// The client hardware address as mcpcap prints it: `hlen` bytes of
    /// chaddr, or the first six when `hlen` is 0 or out of range (mcpcap
    /// always takes six).
    pub fn client_mac(&self) -> String {
        let len = match self.hlen {
            1..=16 => usize::from(self.hlen),
            _ => 6,
        };
        hex_colon(&self.chaddr[..len])
    }

    /// The client hardware address bytes used as a table key.
    pub fn client_key(&self) -> [u8; 16] {
        let mut key = [0u8; 16];
        let len = match self.hlen {
            1..=16 => usize::from(self.hlen),
            _ => 6,
        };
        key[..len].copy_from_slice(&self.chaddr[..len]);
        key
    }

    /// The message type name, `None` without option 53.
    pub fn message_type_name(&self) -> Option<String> {
        self.message_type.map(names::v4_message_type)
    }
}

/// True when a UDP payload on a port other than 67/68 looks like DHCP: a
/// plausible BOOTP header followed by the magic cookie. Cheap enough to run on
/// every UDP packet.
pub fn looks_like_dhcp(payload: &[u8]) -> bool {
    payload.len() >= DHCP_FIXED_LEN
        && matches!(payload[0], 1 | 2)
        && payload[2] <= 16
        && payload[BOOTP_HEADER_LEN..DHCP_FIXED_LEN] == dhcproto::v4::MAGIC
}

/// Decodes a BOOTP/DHCP payload. `Err` when it is too short to hold even the
/// BOOTP header (the reason, in words).
pub fn parse(payload: &[u8]) -> Result<V4Message, String> {
    if payload.len() < BOOTP_HEADER_LEN {
        return Err(format!("truncated: {} bytes, the BOOTP header alone needs {BOOTP_HEADER_LEN}", payload.len()));
    }
    let mut problems = Vec::new();
    let mut malformed = false;
    let vendor = &payload[BOOTP_HEADER_LEN..];
    let cookie = if vendor.len() >= 4 && vendor[..4] == dhcproto::v4::MAGIC {
        Cookie::Dhcp
    } else if vendor.iter().all(|&b| b == 0) {
        Cookie::Bootp
    } else {
        malformed = true;
        if vendor.len() < 4 {
            problems.push(format!("the vendor area is {} bytes, too short for the magic cookie", vendor.len()));
        } else {
            problems.push(format!(
                "bad magic cookie {}: expected 63:82:53:63, options not decoded",
                hex_colon(&vendor[..4])
            ));
        }
        Cookie::Bad
    };
    // The borrowed message wants header and cookie; a short BOOTP payload is
    // padded with zeros, which only ever lands in the cookie it then ignores.
    let mut padded = [0u8; DHCP_FIXED_LEN];
    let fixed: &[u8] = if payload.len() >= DHCP_FIXED_LEN {
        payload
    } else {
        padded[..payload.len()].copy_from_slice(payload);
        &padded
    };
    let header = Message::new(fixed).map_err(|e| format!("BOOTP header: {e}"))?;
    let mut chaddr = [0u8; 16];
    chaddr.copy_from_slice(&fixed[28..44]);
    let mut msg = V4Message {
        op: header.opcode().into(),
        htype: header.htype().into(),
        hlen: header.hlen(),
        hops: header.hops(),
        xid: header.xid(),
        secs: header.secs(),
        broadcast: header.flags().broadcast(),
        ciaddr: header.ciaddr(),
        yiaddr: header.yiaddr(),
        siaddr: header.siaddr(),
        giaddr: header.giaddr(),
        chaddr,
        server_name: None,
        boot_file: None,
        cookie,
        options: Vec::new(),
        message_type: None,
        client_id: None,
        requested_ip: None,
        server_id: None,
        lease_time: None,
        renewal_time: None,
        rebinding_time: None,
        hostname: None,
        vendor_class_id: None,
        relay_agent: None,
        overload: None,
        malformed,
        problems,
    };
    if msg.hlen > 16 {
        msg.problems.push(format!("hardware address length {} exceeds chaddr's 16 bytes", msg.hlen));
    }
    let sname = &fixed[44..108];
    let file = &fixed[108..236];
    if cookie == Cookie::Dhcp {
        msg.decode_area(&payload[DHCP_FIXED_LEN..], "options");
        let overload = msg.overload.unwrap_or(0);
        // RFC 2131 4.1: the options field first, then file, then sname.
        if overload & 1 != 0 {
            msg.decode_area(file, "file field (overloaded)");
        }
        if overload & 2 != 0 {
            msg.decode_area(sname, "sname field (overloaded)");
        }
        if overload > 3 {
            msg.problems.push(format!("option overload value {overload} is not 1, 2 or 3"));
        }
    }
    let overload = msg.overload.unwrap_or(0);
    if overload & 2 == 0 && !until_nul(sname).is_empty() {
        msg.server_name = Some(text_or_hex(until_nul(sname)));
    }
    if overload & 1 == 0 && !until_nul(file).is_empty() {
        msg.boot_file = Some(text_or_hex(until_nul(file)));
    }
    Ok(msg)
}

impl V4Message {
    fn decode_area(&mut self, area: &[u8], what: &str) {
        if let Some(problem) = framing_problem(area) {
            if problem.fatal {
                self.malformed = true;
            }
            self.problems.push(format!("{what}: {}", problem.message));
        }
        for raw in DhcpOptionIterator::new(area) {
            let code: u8 = raw.code().into();
            let data = raw.data().to_vec();
            self.take_option(code, &data, || raw.into_option());
        }
    }

    fn take_option(&mut self, code: u8, data: &[u8], decode: impl FnOnce() -> Result<O, dhcproto::error::DecodeError>) {
        let as_u32 = || <[u8; 4]>::try_from(data).ok().map(u32::from_be_bytes);
        let as_ip = || <[u8; 4]>::try_from(data).ok().map(Ipv4Addr::from);
        // The fields mcpcap lifts to the top level, read straight from the
        // bytes so an odd length is reported rather than dropped.
        match code {
            53 => {
                match data.first() {
                    Some(&t) => self.message_type = Some(t),
                    None => self.bad_length(code, data.len()),
                }
                return;
            }
            50 | 54 => {
                match as_ip() {
                    Some(ip) if code == 50 => self.requested_ip = Some(ip),
                    Some(ip) => self.server_id = Some(ip),
                    None => self.bad_length(code, data.len()),
                }
                return;
            }
            61 => {
                self.client_id = Some(data.to_vec());
                return;
            }
            51 | 58 | 59 => {
                let Some(secs) = as_u32() else {
                    self.bad_length(code, data.len());
                    return;
                };
                match code {
                    51 => self.lease_time = Some(secs),
                    58 => self.renewal_time = Some(secs),
                    _ => self.rebinding_time = Some(secs),
                }
                // mcpcap's format for the three timers in `options`.
                self.push_option(code, Value::String(format!("{secs} seconds")));
                return;
            }
            55 => {
                self.push_option(code, json!(data));
                return;
            }
            52 => {
                match data.first() {
                    Some(&v) => {
                        self.overload = Some(v);
                        self.push_option(code, Value::String(v.to_string()));
                    }
                    None => self.bad_length(code, data.len()),
                }
                return;
            }
            82 => {
                let subs = relay_agent(data, &mut self.problems);
                let summary = subs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
                self.push_option(code, Value::String(clip(summary)));
                self.relay_agent = Some(subs);
                return;
            }
            12 => self.hostname = Some(lossy_text(data)),
            60 => self.vendor_class_id = Some(text_or_hex(data)),
            // IPv6-only preferred (RFC 8925): dhcproto files it under 106.
            108 => {
                match as_u32() {
                    Some(secs) => self.push_option(code, Value::String(format!("{secs} seconds"))),
                    None => self.bad_length(code, data.len()),
                }
                return;
            }
            _ => {}
        }
        let len = data.len();
        let length_ok = match code {
            80 => len == 0,
            81 => len >= 3,
            94 => len == 3,
            151 => len >= 1,
            152..=155 => len == 4,
            _ => true,
        };
        if !length_ok {
            self.bad_length(code, data.len());
            self.push_option(code, Value::String(text_or_hex(data)));
            return;
        }
        let value = match decode() {
            Ok(option) => format_option(option).unwrap_or_else(|| text_or_hex(data)),
            Err(e) => {
                self.problems.push(format!("option {code} ({}) could not be decoded: {e}", names::v4_option(code)));
                text_or_hex(data)
            }
        };
        self.push_option(code, Value::String(clip(value)));
    }

    fn bad_length(&mut self, code: u8, len: usize) {
        self.malformed = true;
        self.problems.push(format!("option {code} ({}) has an invalid length of {len} bytes", names::v4_option(code)));
    }

    fn push_option(&mut self, code: u8, value: Value) {
        let name = names::v4_option(code);
        // The same code twice (not adjacent, so not an RFC 3396 split): keep
        // both values rather than losing one.
        if let Some((_, existing)) = self.options.iter_mut().find(|(n, _)| *n == name) {
            if let (Value::String(old), Value::String(new)) = (&*existing, &value) {
                *existing = Value::String(clip(format!("{old}; {new}")));
            }
            return;
        }
        self.options.push((name, value));
    }
}

/// A framing problem in an option area.
struct FramingProblem {
    /// Options were cut off (as opposed to a missing End, which is only odd).
    fatal: bool,
    message: String,
}

/// Walks the option framing that dhcproto's iterator walks, to say where it
/// breaks: the iterator itself just stops.
fn framing_problem(area: &[u8]) -> Option<FramingProblem> {
    let mut i = 0;
    while i < area.len() {
        match area[i] {
            0 => i += 1,
            255 => return None,
            code => {
                let Some(&len) = area.get(i + 1) else {
                    return Some(FramingProblem {
                        fatal: true,
                        message: format!("option {code} is cut off before its length byte"),
                    });
                };
                let len = usize::from(len);
                if i + 2 + len > area.len() {
                    return Some(FramingProblem {
                        fatal: true,
                        message: format!(
                            "option {code} ({}) claims {len} bytes but {} remain",
                            names::v4_option(code),
                            area.len() - i - 2
                        ),
                    });
                }
                i += 2 + len;
            }
        }
    }
    if area.is_empty() {
        return None;
    }
    Some(FramingProblem { fatal: false, message: "no End option (255)".into() })
}

/// Relay agent information sub-options (RFC 3046), named.
fn relay_agent(data: &[u8], problems: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let code = data[i];
        let Some(&len) = data.get(i + 1) else {
            problems.push(format!("relay agent sub-option {code} is cut off before its length"));
            break;
        };
        let len = usize::from(len);
        let Some(value) = data.get(i + 2..i + 2 + len) else {
            problems.push(format!("relay agent sub-option {code} claims {len} bytes, {} remain", data.len() - i - 2));
            break;
        };
        i += 2 + len;
        if out.len() == MAX_RELAY_SUBOPTIONS {
            problems.push(format!("more than {MAX_RELAY_SUBOPTIONS} relay agent sub-options: the rest not listed"));
            break;
        }
        let text = match (code, <[u8; 4]>::try_from(value)) {
            (5 | 11, Ok(ip)) => Ipv4Addr::from(ip).to_string(),
            (4, Ok(n)) => u32::from_be_bytes(n).to_string(),
            (10, _) if len == 1 => format!("0x{:02x}", value[0]),
            _ => text_or_hex(value),
        };
        out.push((names::relay_suboption(code), text));
    }
    out
}

fn ips(list: &[Ipv4Addr]) -> String {
    list.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(", ")
}

fn pairs(list: &[(Ipv4Addr, Ipv4Addr)]) -> String {
    list.iter().map(|(a, b)| format!("{a} {b}")).collect::<Vec<_>>().join(", ")
}

fn names_list(list: &[dhcproto::Name]) -> String {
    list.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

/// dhcproto's decoded value as text; `None` for the raw-byte variants, which
/// the caller shows as text or hex.
fn format_option(option: O) -> Option<String> {
    Some(match option {
        O::SubnetMask(a)
        | O::SwapServer(a)
        | O::BroadcastAddr(a)
        | O::RouterSolicitationAddr(a)
        | O::RequestedIpAddress(a)
        | O::ServerIdentifier(a)
        | O::SubnetSelection(a)
        | O::TFTPServerAddress(a) => a.to_string(),
        O::Router(l)
        | O::TimeServer(l)
        | O::NameServer(l)
        | O::DomainNameServer(l)
        | O::LogServer(l)
        | O::QuoteServer(l)
        | O::LprServer(l)
        | O::ImpressServer(l)
        | O::ResourceLocationServer(l)
        | O::NisServers(l)
        | O::NtpServers(l)
        | O::NetBiosNameServers(l)
        | O::NetBiosDatagramDistributionServer(l)
        | O::XFontServer(l)
        | O::XDisplayManager(l)
        | O::NispServers(l)
        | O::MobileIpHomeAgent(l)
        | O::SmtpServer(l)
        | O::Pop3Server(l)
        | O::NntpServer(l)
        | O::WwwServer(l)
        | O::DefaultFingerServer(l)
        | O::IrcServer(l)
        | O::StreetTalkServer(l)
        | O::StreetTalkDirectoryAssistance(l)
        | O::BcmsControllerAddrs(l)
        | O::AssociatedIp(l) => ips(&l),
        O::Hostname(s)
        | O::MeritDumpFile(s)
        | O::DomainName(s)
        | O::RootPath(s)
        | O::ExtensionsPath(s)
        | O::NisDomain(s)
        | O::NetBiosScope(s)
        | O::Message(s)
        | O::NwipDomainName(s)
        | O::NispServiceDomain(s)
        | O::TimezonePosixString(s)
        | O::TimezoneDatabaseString(s)
        | O::CaptivePortal(s) => lossy_text(s.as_bytes()),
        O::TimeOffset(n) => n.to_string(),
        O::BootFileSize(n) | O::MaxDatagramSize(n) | O::InterfaceMtu(n) | O::MaxMessageSize(n) => n.to_string(),
        O::DefaultIpTtl(n) | O::DefaultTcpTtl(n) | O::OptionOverload(n) => n.to_string(),
        O::PathMtuAgingTimeout(n)
        | O::ArpCacheTimeout(n)
        | O::TcpKeepaliveInterval(n)
        | O::ClientLastTransactionTime(n)
        | O::Ipv6OnlyPreferred(n)
        | O::BulkLeaseQueryBaseTime(n)
        | O::BulkLeasQueryStartTimeOfState(n)
        | O::BulkLeaseQueryQueryStartTime(n)
        | O::BulkLeaseQueryQueryEndTime(n)
        | O::AddressLeaseTime(n)
        | O::Renewal(n)
        | O::Rebinding(n) => n.to_string(),
        O::IpForwarding(b)
        | O::NonLocalSrcRouting(b)
        | O::AllSubnetsLocal(b)
        | O::PerformMaskDiscovery(b)
        | O::MaskSupplier(b)
        | O::PerformRouterDiscovery(b)
        | O::TrailerEncapsulated(b)
        | O::EthernetEncapsulation(b)
        | O::TcpKeepaliveGarbage(b) => b.to_string(),
        O::PolicyFilter(p) | O::StaticRoutingTable(p) => pairs(&p),
        O::PathMtuPlateauTable(l) => l.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
        O::ParameterRequestList(l) => l.iter().map(|c| u8::from(*c).to_string()).collect::<Vec<_>>().join(", "),
        O::NetBiosNodeType(t) => format!("{t:?}"),
        O::ClientFQDN(f) => format!("{} (flags 0x{:02x})", f.domain(), u8::from(f.flags())),
        O::BcmsControllerNames(n) | O::DomainSearch(n) => names_list(&n),
        O::ClientSystemArchitecture(a) => format!("{}", a.0),
        O::ClientNetworkInterface(t, major, minor) => format!("type {t}, version {major}.{minor}"),
        O::DisableSLAAC(a) => format!("{a:?}"),
        O::ClasslessStaticRoute(routes) => {
            routes.iter().map(|(net, gw)| format!("{net} via {gw}")).collect::<Vec<_>>().join(", ")
        }
        O::BulkLeaseQueryStatusCode(code, message) => format!("{code:?}: {message}"),
        O::BulkLeaseQueryDhcpState(state) => format!("{state:?}"),
        O::BulkLeaseQueryDataSource(source) => format!("{source:?}"),
        O::RapidCommit => "present".into(),
        _ => return None,
    })
}

/// A packet entry's DHCPv4-specific fields, mcpcap's first, then the added
/// ones (absent fields are left out, as mcpcap does).
pub fn fields(msg: &V4Message) -> V4Fields {
    let message_type = msg.message_type;
    V4Fields {
        op: if msg.op == 1 { "Request" } else { "Reply" },
        transaction_id: format!("0x{:08x}", msg.xid),
        client_ip: msg.ciaddr.to_string(),
        your_ip: msg.yiaddr.to_string(),
        server_ip: msg.siaddr.to_string(),
        relay_ip: msg.giaddr.to_string(),
        client_mac: msg.client_mac(),
        options: (msg.cookie == Cookie::Dhcp).then(|| OrderedMap(msg.options.clone())),
        message_type: message_type.map(names::v4_message_type),
        message_type_code: message_type,
        client_id: msg.client_id.as_ref().map(|id| clip(hex_colon(id))),
        requested_ip: msg.requested_ip.map(|a| a.to_string()),
        lease_time: msg.lease_time,
        renewal_time: msg.renewal_time,
        rebinding_time: msg.rebinding_time,
        server_id: msg.server_id.map(|a| a.to_string()),
        hostname: msg.hostname.clone(),
        vendor_class_id: msg.vendor_class_id.clone(),
        relay_agent: msg.relay_agent.clone().map(OrderedMap),
        option_overload: msg.overload.map(|o| match o {
            1 => "file",
            2 => "sname",
            3 => "file+sname",
            _ => "invalid",
        }),
        server_name: msg.server_name.clone(),
        boot_file: msg.boot_file.clone(),
        htype: msg.htype,
        hops: msg.hops,
        secs: msg.secs,
        broadcast_flag: msg.broadcast,
        bootp_only: msg.cookie == Cookie::Bootp,
    }
}

#[cfg(test)]
pub(crate) mod build {
    //! DHCPv4 payloads for tests.

    /// A BOOTP header for `op`, `xid`, `mac`, with yiaddr, followed by the
    /// magic cookie and `options` (End appended).
    pub fn dhcp(op: u8, xid: u32, mac: [u8; 6], yiaddr: [u8; 4], options: &[u8]) -> Vec<u8> {
        let mut p = vec![op, 1, 6, 0];
        p.extend_from_slice(&xid.to_be_bytes());
        p.extend_from_slice(&[0; 4]); // secs, flags
        p.extend_from_slice(&[0; 4]); // ciaddr
        p.extend_from_slice(&yiaddr);
        p.extend_from_slice(&[0; 8]); // siaddr, giaddr
        p.extend_from_slice(&mac);
        p.extend_from_slice(&[0; 10 + 64 + 128]);
        p.extend_from_slice(&dhcproto::v4::MAGIC);
        p.extend_from_slice(options);
        p.push(255);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn header_and_named_options() {
        let opts = [
            53, 1, 5, 54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0, 3, 8, 10, 0, 0, 1, 10, 0, 0,
            2, 12, 5, b'h', b'o', b's', b't', 0, 55, 3, 1, 3, 6, 61, 7, 1, 0, 0x11, 0x22, 0x33, 0x44, 0x55,
        ];
        let m = parse(&build::dhcp(2, 0xabcd, MAC, [10, 0, 0, 50], &opts)).unwrap();
        assert_eq!(m.cookie, Cookie::Dhcp);
        assert_eq!(m.message_type_name().as_deref(), Some("ACK"));
        assert_eq!(m.server_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(m.lease_time, Some(3600));
        assert_eq!(m.hostname.as_deref(), Some("host"));
        assert_eq!(m.client_mac(), "00:11:22:33:44:55");
        let o = serde_json::to_value(fields(&m).options).unwrap();
        assert_eq!(o["lease_time"], "3600 seconds");
        assert_eq!(o["subnet_mask"], "255.255.255.0");
        assert_eq!(o["router"], "10.0.0.1, 10.0.0.2");
        assert_eq!(o["parameter_request_list"], json!([1, 3, 6]));
        assert!(o.get("server_id").is_none(), "top-level only, as in mcpcap");
        assert!(!m.malformed, "{:?}", m.problems);
    }

    #[test]
    fn relay_agent_suboptions() {
        let opts = [53, 1, 1, 82, 14, 1, 4, b'e', b't', b'h', b'0', 2, 2, 0xde, 0xad, 6, 2, b'i', b'd'];
        let m = parse(&build::dhcp(1, 1, MAC, [0; 4], &opts)).unwrap();
        let r: Vec<(String, String)> = m.relay_agent.unwrap();
        assert_eq!(
            r,
            vec![
                ("circuit_id".into(), "eth0".into()),
                ("remote_id".into(), "de:ad".into()),
                ("subscriber_id".into(), "id".into())
            ]
        );
    }

    #[test]
    fn overloaded_file_and_sname_fields_carry_options() {
        let mut p = build::dhcp(2, 7, MAC, [0; 4], &[53, 1, 2, 52, 1, 3]);
        // file (108..236): a lease time; sname (44..108): a hostname.
        p[108..116].copy_from_slice(&[51, 4, 0, 0, 0, 60, 255, 0]);
        p[44..51].copy_from_slice(&[12, 3, b'a', b'b', b'c', 255, 0]);
        let m = parse(&p).unwrap();
        assert_eq!(m.overload, Some(3));
        assert_eq!(m.lease_time, Some(60));
        assert_eq!(m.hostname.as_deref(), Some("abc"));
        assert!(m.server_name.is_none() && m.boot_file.is_none(), "the fields hold options, not names");
    }

    #[test]
    fn bad_cookie_truncation_and_odd_lengths_are_flagged() {
        let mut p = build::dhcp(1, 1, MAC, [0; 4], &[53, 1, 1]);
        p[236] = 0;
        let m = parse(&p).unwrap();
        assert_eq!((m.cookie, m.malformed, m.message_type), (Cookie::Bad, true, None));
        assert!(parse(&p[..100]).is_err());
        let bootp = parse(&p[..236]).unwrap();
        assert_eq!((bootp.cookie, bootp.malformed), (Cookie::Bootp, false));
        let cut = build::dhcp(1, 1, MAC, [0; 4], &[53, 1, 3, 12, 40, b'x']);
        let m = parse(&cut[..cut.len() - 1]).unwrap();
        assert!(m.malformed && m.problems[0].contains("claims 40 bytes"), "{:?}", m.problems);
        assert_eq!(m.message_type, Some(3), "options before the damage survive");
        // Lengths that would trip dhcproto's debug assertions are caught first.
        let odd = build::dhcp(1, 1, MAC, [0; 4], &[80, 1, 0, 81, 1, 0, 94, 0, 151, 0, 152, 1, 0, 54, 2, 1, 1]);
        let m = parse(&odd).unwrap();
        assert_eq!(m.problems.len(), 6, "{:?}", m.problems);
    }
}
