//! DHCPv6 message decoding (RFC 8415), relay messages included.
//!
//! `dhcproto` decodes the leaf option values here (DUIDs, option request,
//! status codes, DNS servers and search lists, user/vendor classes, NTP
//! servers, ...), but the message and option framing is walked in this
//! module, because dhcproto's v6 decoder cannot be pointed at capture bytes
//! safely or faithfully:
//!
//! - it recurses through relay-message and IA options with no depth limit,
//!   and nested options cost as little as 4 bytes each, so one hostile packet
//!   could exhaust the sandbox's stack;
//! - it stops silently at the first option it cannot decode and sorts the
//!   rest by code, losing what followed and the wire order;
//! - `Message::decode` reads a relay message's hop count and link address as
//!   a transaction id (the caller has to pick `RelayMessage` first);
//! - status code, vendor class/options and authentication subtract a fixed
//!   size from the length unchecked, which panics in debug builds.
//!
//! So the TLVs, IA_NA/IA_TA/IA_PD and their address and prefix options, and
//! the relay header are read here (with a depth limit), and each leaf option
//! is handed to dhcproto once its length is known to be sane.

use std::net::Ipv6Addr;

use dhcproto::v6::DhcpOption as O;
use dhcproto::{Decodable, Decoder};
use pcapsule_guest::conventions::OrderedMap;
use serde_json::{Value, json};

use crate::names;
use crate::result::{IaEntry, IaLease, RelayFields, StatusEntry, V6Fields};
use crate::util::{clip, hex_colon, text_or_hex};

/// Deepest nesting followed (relay in relay, IA in relay, address in IA ...):
/// real relay chains are a few hops (RFC 8415 caps hop counts at 8 by default).
const MAX_DEPTH: usize = 8;
/// At most this many IA options (and addresses or prefixes per IA) are kept
/// per message.
const MAX_IA_ENTRIES: usize = 32;

/// A DHCPv6 status code option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Numeric status.
    pub code: u16,
    /// The server's message text.
    pub message: String,
}

/// An address (IA_NA/IA_TA) or a prefix (IA_PD) inside an IA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The address, or the prefix's first address.
    pub address: Ipv6Addr,
    /// Prefix length; `None` for an address.
    pub prefix_len: Option<u8>,
    /// Preferred lifetime in seconds.
    pub preferred: u32,
    /// Valid lifetime in seconds.
    pub valid: u32,
    /// Status code attached to it.
    pub status: Option<Status>,
}

/// An identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ia {
    /// IAID.
    pub iaid: u32,
    /// T1 and T2 (absent for IA_TA).
    pub timers: Option<(u32, u32)>,
    /// Addresses or prefixes.
    pub leases: Vec<Lease>,
    /// Status code of the IA.
    pub status: Option<Status>,
}

/// Relay header of RELAY-FORW / RELAY-REPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHeader {
    /// Hop count.
    pub hop_count: u8,
    /// Link address.
    pub link_address: Ipv6Addr,
    /// Peer address.
    pub peer_address: Ipv6Addr,
}

/// One decoded DHCPv6 message.
#[derive(Debug, Clone, Default)]
pub struct V6Message {
    /// Message type.
    pub msg_type: u8,
    /// Transaction id (not in relay messages).
    pub xid: Option<u32>,
    /// Relay header, for relay messages.
    pub relay: Option<RelayHeader>,
    /// Client identifier (DUID).
    pub client_duid: Option<Vec<u8>>,
    /// Server identifier (DUID).
    pub server_duid: Option<Vec<u8>>,
    /// IA_NA options.
    pub ia_na: Vec<Ia>,
    /// IA_TA options.
    pub ia_ta: Vec<Ia>,
    /// IA_PD options.
    pub ia_pd: Vec<Ia>,
    /// Top-level status code.
    pub status: Option<Status>,
    /// Other options, named, in wire order.
    pub options: Vec<(String, Value)>,
    /// The message inside a relay message.
    pub inner: Option<Box<V6Message>>,
}

/// Damage found while decoding.
#[derive(Debug, Default)]
pub struct Diagnostics {
    /// Set when the message is truncated or structurally broken.
    pub malformed: bool,
    /// What was wrong, in words.
    pub problems: Vec<String>,
}

impl Diagnostics {
    fn broken(&mut self, problem: String) {
        self.malformed = true;
        self.problems.push(problem);
    }
}

impl V6Message {
    /// The message types of this message and every message relayed inside it.
    pub fn types_in_chain(&self) -> Vec<u8> {
        let mut out = vec![self.msg_type];
        let mut next = self.inner.as_deref();
        while let Some(m) = next {
            out.push(m.msg_type);
            next = m.inner.as_deref();
        }
        out
    }

    /// The innermost message: the client's or server's own, under any relays.
    pub fn innermost(&self) -> &V6Message {
        let mut m = self;
        while let Some(inner) = m.inner.as_deref() {
            m = inner;
        }
        m
    }
}

/// Decodes a DHCPv6 payload. `Err` only when it is empty; a message cut short
/// keeps its type and is flagged in `diag`.
pub fn parse(payload: &[u8], diag: &mut Diagnostics) -> Result<V6Message, String> {
    parse_at(payload, 0, diag)
}

fn parse_at(payload: &[u8], depth: usize, diag: &mut Diagnostics) -> Result<V6Message, String> {
    let Some(&msg_type) = payload.first() else {
        return Err("empty DHCPv6 message".into());
    };
    let mut msg = V6Message { msg_type, ..Default::default() };
    let options = if matches!(msg_type, 12 | 13) {
        if payload.len() < 34 {
            // The type is still worth counting, as Wireshark does.
            diag.broken(format!("truncated relay message: {} bytes, the header needs 34", payload.len()));
            return Ok(msg);
        }
        let addr = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&payload[at..at + 16]).expect("16 bytes"));
        msg.relay = Some(RelayHeader { hop_count: payload[1], link_address: addr(2), peer_address: addr(18) });
        &payload[34..]
    } else {
        if payload.len() < 4 {
            diag.broken(format!("truncated message: {} bytes, the header needs 4", payload.len()));
            return Ok(msg);
        }
        msg.xid = Some(u32::from_be_bytes([0, payload[1], payload[2], payload[3]]));
        &payload[4..]
    };
    for (code, data, whole) in walk(options, diag) {
        msg.take_option(code, data, whole, depth, diag);
    }
    Ok(msg)
}

/// Splits an option area into (code, data, whole option) triples, reporting
/// a truncated last option.
fn walk<'a>(mut area: &'a [u8], diag: &mut Diagnostics) -> Vec<(u16, &'a [u8], &'a [u8])> {
    let mut out = Vec::new();
    while !area.is_empty() {
        if area.len() < 4 {
            diag.broken(format!("{} stray bytes where an option header (4 bytes) should be", area.len()));
            break;
        }
        let code = u16::from_be_bytes([area[0], area[1]]);
        let len = usize::from(u16::from_be_bytes([area[2], area[3]]));
        if area.len() < 4 + len {
            diag.broken(format!(
                "option {code} ({}) claims {len} bytes but {} remain",
                names::v6_option(code),
                area.len() - 4
            ));
            break;
        }
        out.push((code, &area[4..4 + len], &area[..4 + len]));
        area = &area[4 + len..];
    }
    out
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fn ipv6_at(data: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&data[at..at + 16]).expect("16 bytes"))
}

fn status(data: &[u8], diag: &mut Diagnostics) -> Option<Status> {
    if data.len() < 2 {
        diag.broken(format!("status code option of {} bytes, at least 2 needed", data.len()));
        return None;
    }
    Some(Status {
        code: u16::from_be_bytes([data[0], data[1]]),
        message: clip(String::from_utf8_lossy(&data[2..]).into_owned()),
    })
}

impl V6Message {
    fn take_option(&mut self, code: u16, data: &[u8], whole: &[u8], depth: usize, diag: &mut Diagnostics) {
        match code {
            1 => self.client_duid = Some(data.to_vec()),
            2 => self.server_duid = Some(data.to_vec()),
            3 | 4 | 25 => {
                let fixed = if code == 4 { 4 } else { 12 };
                if data.len() < fixed {
                    diag.broken(format!(
                        "{} option of {} bytes, at least {fixed} needed",
                        names::v6_option(code),
                        data.len()
                    ));
                    return;
                }
                if depth >= MAX_DEPTH {
                    diag.broken(format!("options nested deeper than {MAX_DEPTH} levels: not followed"));
                    return;
                }
                let mut ia = Ia {
                    iaid: u32_at(data, 0),
                    timers: (code != 4).then(|| (u32_at(data, 4), u32_at(data, 8))),
                    leases: Vec::new(),
                    status: None,
                };
                for (sub, sub_data, _) in walk(&data[fixed..], diag) {
                    match (code, sub) {
                        (3 | 4, 5) | (25, 26) => {
                            if ia.leases.len() == MAX_IA_ENTRIES {
                                continue;
                            }
                            if let Some(lease) = lease(sub, sub_data, depth + 1, diag) {
                                ia.leases.push(lease);
                            }
                        }
                        (_, 13) => ia.status = status(sub_data, diag),
                        _ => {}
                    }
                }
                let list = match code {
                    3 => &mut self.ia_na,
                    4 => &mut self.ia_ta,
                    _ => &mut self.ia_pd,
                };
                if list.len() < MAX_IA_ENTRIES {
                    list.push(ia);
                }
            }
            9 => {
                if depth >= MAX_DEPTH {
                    diag.broken(format!("relay messages nested deeper than {MAX_DEPTH} levels: not followed"));
                    return;
                }
                match parse_at(data, depth + 1, diag) {
                    Ok(inner) => self.inner = Some(Box::new(inner)),
                    Err(e) => diag.broken(format!("relayed message: {e}")),
                }
            }
            13 => self.status = status(data, diag),
            _ => {
                let value = leaf_value(code, data, whole, diag);
                self.options.push((names::v6_option(code), value));
            }
        }
    }
}

/// An IA address (5) or IA prefix (26) option.
fn lease(code: u16, data: &[u8], depth: usize, diag: &mut Diagnostics) -> Option<Lease> {
    let fixed = if code == 5 { 24 } else { 25 };
    if data.len() < fixed {
        diag.broken(format!("{} option of {} bytes, at least {fixed} needed", names::v6_option(code), data.len()));
        return None;
    }
    let (address, prefix_len, preferred, valid) = if code == 5 {
        (ipv6_at(data, 0), None, u32_at(data, 16), u32_at(data, 20))
    } else {
        (ipv6_at(data, 9), Some(data[8]), u32_at(data, 0), u32_at(data, 4))
    };
    let mut lease = Lease { address, prefix_len, preferred, valid, status: None };
    if depth < MAX_DEPTH {
        for (sub, sub_data, _) in walk(&data[fixed..], diag) {
            if sub == 13 {
                lease.status = status(sub_data, diag);
            }
        }
    }
    Some(lease)
}

/// The value of a leaf option: dhcproto's decoding where it has one, the
/// registry's simple formats otherwise, text or hex as a last resort.
fn leaf_value(code: u16, data: &[u8], whole: &[u8], diag: &mut Diagnostics) -> Value {
    // Options whose dhcproto decoder subtracts a fixed size unchecked, or
    // recurses (vendor options are parsed as nested DHCPv6 options).
    let needs = match code {
        11 => 11,
        16 => 4,
        17 => 4,
        _ => 0,
    };
    if data.len() < needs {
        diag.broken(format!("{} option of {} bytes, at least {needs} needed", names::v6_option(code), data.len()));
        return Value::String(text_or_hex(data));
    }
    if code == 17 {
        return Value::String(format!("enterprise {}: {}", u32_at(data, 0), clip(hex_colon(&data[4..]))));
    }
    if let Some(value) = registry_format(code, data) {
        return value;
    }
    match O::decode(&mut Decoder::new(whole)) {
        Ok(option) => dhcproto_format(option).unwrap_or_else(|| Value::String(text_or_hex(data))),
        Err(e) => {
            diag.problems.push(format!("option {code} ({}) could not be decoded: {e}", names::v6_option(code)));
            Value::String(text_or_hex(data))
        }
    }
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    clip(items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

fn dhcproto_format(option: O) -> Option<Value> {
    let text = match option {
        O::ORO(oro) => return Some(json!(oro.opts.iter().map(|c| u16::from(*c)).collect::<Vec<_>>())),
        O::Preference(p) => p.to_string(),
        O::ElapsedTime(t) => format!("{:.2} seconds", f64::from(t) / 100.0),
        O::ServerUnicast(a) => a.to_string(),
        O::RapidCommit | O::ReconfAccept => "present".into(),
        O::UserClass(c) => join(c.data.iter().map(|d| text_or_hex(d))),
        O::VendorClass(c) => format!("enterprise {}: {}", c.num, join(c.data.iter().map(|d| text_or_hex(d)))),
        O::InterfaceId(id) => text_or_hex(&id),
        O::ReconfMsg(t) => names::v6_message_type(u8::from(t)),
        O::DomainNameServers(list) => join(list),
        O::DomainSearchList(list) => join(list),
        O::NtpServer(subs) => join(subs.iter().map(|s| match s {
            dhcproto::v6::NtpSuboption::ServerAddress(a) | dhcproto::v6::NtpSuboption::MulticastAddress(a) => {
                a.to_string()
            }
            dhcproto::v6::NtpSuboption::FQDN(n) => n.to_string(),
        })),
        O::ClientArchType(list) => join(list.iter().map(|a| a.0)),
        O::Authentication(a) => {
            format!("protocol {}, algorithm {}, replay detection {}", a.proto, a.algo, a.replay_detection)
        }
        _ => return None,
    };
    Some(Value::String(text))
}

/// Options dhcproto leaves undecoded, in the simple formats their RFCs define.
fn registry_format(code: u16, data: &[u8]) -> Option<Value> {
    let text = match code {
        // Lists of IPv6 addresses.
        22 | 27 | 28 | 31 | 34 | 40 | 52 | 89 if data.len().is_multiple_of(16) => {
            join(data.chunks_exact(16).map(|c| ipv6_at(c, 0)))
        }
        // One DNS name or a list of them, uncompressed wire format (RFC 8415 10).
        21 | 29 | 30 | 33 | 39 | 57 | 64 | 65 => {
            let start = usize::from(code == 39).min(data.len());
            join(dns_names(&data[start..]))
        }
        // Seconds.
        32 | 46 | 82 | 83 if data.len() == 4 => format!("{} seconds", u32_at(data, 0)),
        // Text.
        41 | 42 | 59 | 103 | 112 => text_or_hex(data),
        // Enterprise number and an id.
        37 if data.len() >= 4 => format!("enterprise {}: {}", u32_at(data, 0), text_or_hex(&data[4..])),
        38 => text_or_hex(data),
        // Hardware type and link-layer address.
        79 if data.len() >= 2 => hex_colon(&data[2..]),
        // Lists of length-prefixed strings.
        60 | 136 => join(length_prefixed(data).iter().map(|d| text_or_hex(d))),
        _ => return None,
    };
    Some(Value::String(clip(text)))
}

/// Labels of uncompressed DNS names, one name per root label.
fn dns_names(mut data: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len);
        if len == 0 {
            names.push(labels.join("."));
            labels.clear();
            data = rest;
            continue;
        }
        let Some(label) = rest.get(..len) else { break };
        labels.push(String::from_utf8_lossy(label).into_owned());
        data = &rest[len..];
    }
    if !labels.is_empty() {
        // A partial name (RFC 4704 allows one without the root label).
        names.push(labels.join("."));
    }
    names
}

fn length_prefixed(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let Some(item) = data.get(2..2 + len) else { break };
        out.push(item);
        data = &data[2 + len..];
    }
    out
}

/// The DUID's type name and, for link-layer DUIDs of Ethernet, the MAC.
pub fn duid_info(duid: &[u8]) -> (Option<&'static str>, Option<String>) {
    if duid.len() < 2 {
        return (None, None);
    }
    let kind = u16::from_be_bytes([duid[0], duid[1]]);
    let hw = |at: usize| (duid.len() == at + 6 && duid.get(2..4) == Some(&[0, 1])).then(|| hex_colon(&duid[at..]));
    match kind {
        1 => (Some("DUID-LLT"), hw(8)),
        2 => (Some("DUID-EN"), None),
        3 => (Some("DUID-LL"), hw(4)),
        4 => (Some("DUID-UUID"), None),
        _ => (None, None),
    }
}

fn status_entry(s: &Status) -> StatusEntry {
    StatusEntry { code: s.code, name: names::v6_status(s.code), message: s.message.clone() }
}

fn ia_entry(ia: &Ia) -> IaEntry {
    let leases: Vec<IaLease> = ia
        .leases
        .iter()
        .map(|l| IaLease {
            address: l.prefix_len.is_none().then(|| l.address.to_string()),
            prefix: l.prefix_len.map(|len| format!("{}/{len}", l.address)),
            preferred_lifetime: l.preferred,
            valid_lifetime: l.valid,
            status: l.status.as_ref().map(status_entry),
        })
        .collect();
    let is_pd = ia.leases.first().is_some_and(|l| l.prefix_len.is_some());
    let (addresses, prefixes) = if is_pd { (None, Some(leases)) } else { (Some(leases), None) };
    IaEntry {
        iaid: ia.iaid,
        t1: ia.timers.map(|(t1, _)| t1),
        t2: ia.timers.map(|(_, t2)| t2),
        addresses,
        prefixes,
        status: ia.status.as_ref().map(status_entry),
    }
}

/// A DHCPv6 message's fields for a packet entry (recursively for relays).
pub fn fields(msg: &V6Message) -> V6Fields {
    let duid = |d: &Option<Vec<u8>>| {
        let Some(d) = d else { return (None, None, None) };
        let (kind, mac) = duid_info(d);
        (Some(clip(hex_colon(d))), kind, mac)
    };
    let (client_duid, client_duid_type, client_link_layer_address) = duid(&msg.client_duid);
    let (server_duid, server_duid_type, server_link_layer_address) = duid(&msg.server_duid);
    V6Fields {
        message_type: names::v6_message_type(msg.msg_type),
        message_type_code: msg.msg_type,
        transaction_id: msg.xid.map(|xid| format!("0x{xid:06x}")),
        relay: msg.relay.as_ref().map(|r| RelayFields {
            hop_count: r.hop_count,
            link_address: r.link_address.to_string(),
            peer_address: r.peer_address.to_string(),
        }),
        client_duid,
        client_duid_type,
        client_link_layer_address,
        server_duid,
        server_duid_type,
        server_link_layer_address,
        ia_na: msg.ia_na.iter().map(ia_entry).collect(),
        ia_ta: msg.ia_ta.iter().map(ia_entry).collect(),
        ia_pd: msg.ia_pd.iter().map(ia_entry).collect(),
        status: msg.status.as_ref().map(status_entry),
        options: OrderedMap(msg.options.clone()),
        relayed_message: msg.inner.as_deref().map(|inner| Box::new(fields(inner))),
    }
}

#[cfg(test)]
pub(crate) mod build {
    //! DHCPv6 payloads for tests.

    /// One option: code, length, data.
    pub fn opt(code: u16, data: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&(data.len() as u16).to_be_bytes());
        o.extend_from_slice(data);
        o
    }

    /// A DUID-LL for an Ethernet MAC.
    pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
        let mut d = vec![0, 3, 0, 1];
        d.extend_from_slice(&mac);
        d
    }

    /// An IA_NA holding one address.
    pub fn ia_na(iaid: u32, addr: [u8; 16], preferred: u32, valid: u32) -> Vec<u8> {
        let mut a = addr.to_vec();
        a.extend_from_slice(&preferred.to_be_bytes());
        a.extend_from_slice(&valid.to_be_bytes());
        let mut ia = iaid.to_be_bytes().to_vec();
        ia.extend_from_slice(&3600u32.to_be_bytes());
        ia.extend_from_slice(&5400u32.to_be_bytes());
        ia.extend_from_slice(&opt(5, &a));
        opt(3, &ia)
    }

    /// A message: type, transaction id, options.
    pub fn message(msg_type: u8, xid: u32, options: &[Vec<u8>]) -> Vec<u8> {
        let mut m = vec![msg_type];
        m.extend_from_slice(&xid.to_be_bytes()[1..]);
        for o in options {
            m.extend_from_slice(o);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];

    #[test]
    fn advertise_with_ia_na_duids_and_dns() {
        let m = build::message(
            2,
            0x123456,
            &[
                build::opt(1, &build::duid_ll([2, 0, 0, 0, 0, 1])),
                build::opt(2, &build::duid_ll([2, 0, 0, 0, 0, 2])),
                build::ia_na(7, ADDR, 100, 200),
                build::opt(23, &ADDR),
                build::opt(6, &[0, 23, 0, 24]),
            ],
        );
        let mut d = Diagnostics::default();
        let msg = parse(&m, &mut d).unwrap();
        assert!(!d.malformed, "{:?}", d.problems);
        assert_eq!((msg.msg_type, msg.xid), (2, Some(0x123456)));
        assert_eq!(msg.ia_na[0].leases[0].address.to_string(), "2001:db8::10");
        assert_eq!(msg.ia_na[0].timers, Some((3600, 5400)));
        let out = serde_json::to_value(fields(&msg)).unwrap();
        assert_eq!(out["client_link_layer_address"], "02:00:00:00:00:01");
        assert_eq!(out["client_duid_type"], "DUID-LL");
        assert_eq!(out["options"]["dns_servers"], "2001:db8::10");
        assert_eq!(out["options"]["option_request"], json!([23, 24]));
        assert_eq!(out["ia_na"][0]["addresses"][0]["valid_lifetime"], 200);
    }

    #[test]
    fn relay_forward_carries_the_client_message() {
        let inner = build::message(1, 9, &[build::opt(1, &build::duid_ll([2, 0, 0, 0, 0, 1]))]);
        let mut relay = vec![12, 0];
        relay.extend_from_slice(&ADDR);
        relay.extend_from_slice(&ADDR);
        relay.extend_from_slice(&build::opt(18, b"eth1"));
        relay.extend_from_slice(&build::opt(9, &inner));
        let mut d = Diagnostics::default();
        let msg = parse(&relay, &mut d).unwrap();
        assert_eq!(msg.types_in_chain(), vec![12, 1]);
        assert_eq!(msg.innermost().xid, Some(9));
        assert_eq!(msg.xid, None);
        let out = serde_json::to_value(fields(&msg)).unwrap();
        assert_eq!(out["relayed_message"]["message_type"], "SOLICIT");
        assert_eq!(out["options"]["interface_id"], "eth1");
    }

    #[test]
    fn hostile_nesting_and_lengths_are_bounded_and_flagged() {
        // 200 relay levels: followed to MAX_DEPTH, then flagged.
        let mut m = build::message(1, 1, &[]);
        for _ in 0..200 {
            let mut r = vec![12, 0];
            r.extend_from_slice(&[0; 32]);
            r.extend_from_slice(&build::opt(9, &m));
            m = r;
        }
        let mut d = Diagnostics::default();
        let msg = parse(&m, &mut d).unwrap();
        assert!(d.malformed);
        assert!(msg.types_in_chain().len() <= MAX_DEPTH + 1);
        let mut d = Diagnostics::default();
        let short = build::message(7, 1, &[build::opt(13, &[0]), build::opt(16, &[0]), build::opt(11, &[1])]);
        parse(&short, &mut d).unwrap();
        assert_eq!(d.problems.len(), 3, "{:?}", d.problems);
        let mut d = Diagnostics::default();
        let mut cut = build::message(1, 1, &[build::opt(1, &[0; 10])]);
        cut.truncate(cut.len() - 3);
        parse(&cut, &mut d).unwrap();
        assert!(d.malformed);
        let mut d = Diagnostics::default();
        assert_eq!(parse(&[12, 0, 0], &mut d).unwrap().msg_type, 12, "the type counts even when cut short");
        assert!(d.malformed);
        assert!(parse(&[], &mut d).is_err());
    }
}
