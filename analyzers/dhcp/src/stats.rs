//! Statistics built while streaming: transactions, clients, servers, leases,
//! DHCPv6 identities. Every table is bounded: the first or busiest
//! [`LISTED`] entries are reported with a count of the rest, and what is
//! tracked to compute them stops growing at a fixed size whatever the capture.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use pcapsule_guest::Timestamp;
use pcapsule_guest::conventions::{Observation, OrderedMap};
use pcapsule_guest::fast_hash::{HashMap, HashSet, map_with_capacity};
use serde_json::Value;

use crate::names;
use crate::result::{
    ClientEntry, Clients, Finding, Latencies, LatencySummary, LeaseEntry, Leases, ServerEntry, Servers,
    TransactionEntry, TransactionMessage, TransactionSummary, V4Statistics, V6Client, V6LeaseEntry, V6Leases,
    V6Statistics,
};
use crate::util::{clip, hex_colon};
use crate::v4::{Cookie, V4Message};
use crate::v6::{V6Message, duid_info};
use pcapsule_guest::bounded::DistinctCounter;

/// Entries listed per table in the result. Four tables of them (clients,
/// leases, transactions twice) sit beside the packets page: at 10 they take
/// about 15 KB on a busy network, leaving the page room within the result's
/// 40 KB (at 40 they alone took 54 KB). The counts beside each cover all.
pub const LISTED: usize = 10;
/// Messages listed per transaction (retransmission storms reuse one xid).
const MESSAGES_PER_TRANSACTION: usize = 20;
/// Clients tracked in detail (the busiest [`LISTED`] of them are reported).
const TRACKED_CLIENTS: usize = 1000;
/// Servers tracked in detail.
const TRACKED_SERVERS: usize = 256;
/// Transactions past the listed ones followed for timing; the oldest is
/// dropped when a new one needs room, so a flood of unanswered DISCOVERs
/// cannot crowd out the exchanges after it.
const OPEN_TRANSACTIONS: usize = 4096;
/// Distinct values kept per small set (servers per client, DNS servers ...).
const SMALL_SET: usize = 4;
/// Clients counted per server before saying "at least".
const CLIENTS_PER_SERVER: usize = 1000;
/// Distinct DISCOVER senders from which a mostly unanswered flood is called
/// possible starvation.
const STARVATION_CLIENTS: u64 = 50;

/// Where and when a DHCP message was seen.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// DHCP message ordinal (mcpcap's `packet_number`).
    pub packet_number: u64,
    /// Frame number in the capture.
    pub frame_number: u64,
    /// Capture time.
    pub timestamp: Option<Timestamp>,
    /// IP source.
    pub src_ip: IpAddr,
    /// Ethernet source, when the link is Ethernet.
    pub src_mac: Option<[u8; 6]>,
}

/// Seconds as mcpcap reports times.
pub fn secs(t: Option<Timestamp>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

fn iso(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

fn between(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<f64> {
    Some(to?.seconds_since(from?))
}

fn push_small<T: PartialEq>(set: &mut Vec<T>, item: T) {
    if set.len() < SMALL_SET && !set.contains(&item) {
        set.push(item);
    }
}

/// Counts per code in order of first appearance.
#[derive(Default)]
struct CodeCounts(Vec<(u8, u64)>);

impl CodeCounts {
    fn add(&mut self, code: u8) {
        match self.0.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => self.0.push((code, 1)),
        }
    }

    fn get(&self, code: u8) -> u64 {
        self.0.iter().find(|(c, _)| *c == code).map_or(0, |(_, n)| *n)
    }

    fn named(&self, name: fn(u8) -> String) -> OrderedMap<String, u64> {
        OrderedMap(self.0.iter().map(|(c, n)| (name(*c), *n)).collect())
    }
}

/// Minimum, maximum and mean of a latency.
#[derive(Default)]
struct Latency {
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
}

impl Latency {
    fn add(&mut self, seconds: Option<f64>) {
        let Some(s) = seconds.filter(|s| *s >= 0.0) else { return };
        if self.count == 0 {
            self.min = s;
            self.max = s;
        }
        self.count += 1;
        self.min = self.min.min(s);
        self.max = self.max.max(s);
        self.sum += s;
    }

    fn summary(&self) -> LatencySummary {
        let some = |v: f64| (self.count > 0).then_some(v);
        LatencySummary {
            count: self.count,
            min_seconds: some(self.min),
            max_seconds: some(self.max),
            mean_seconds: (self.count > 0).then(|| self.sum / self.count as f64),
        }
    }
}

/// One message of a transaction (DHCPv4 or DHCPv6), as mcpcap lists it.
struct TxMessage {
    packet_number: u64,
    frame_number: u64,
    message_type: String,
    timestamp: Option<Timestamp>,
}

impl TxMessage {
    fn entry(&self) -> TransactionMessage {
        TransactionMessage {
            packet_number: self.packet_number,
            frame_number: self.frame_number,
            message_type: self.message_type.clone(),
            timestamp: secs(self.timestamp),
        }
    }
}

/// What is known about one DHCPv4 transaction (xid).
struct TxRecord {
    client_mac: String,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    discover: Option<Timestamp>,
    offer: Option<Timestamp>,
    request: Option<Timestamp>,
    answered: Option<Timestamp>,
    outcome: Option<u8>,
    offered_ip: Option<Ipv4Addr>,
    assigned_ip: Option<Ipv4Addr>,
    servers: Vec<Ipv4Addr>,
    sequence: Vec<u8>,
}

impl TxRecord {
    fn new(msg: &V4Message, at: Option<Timestamp>) -> Self {
        TxRecord {
            client_mac: msg.client_mac(),
            first: at,
            last: at,
            discover: None,
            offer: None,
            request: None,
            answered: None,
            outcome: None,
            offered_ip: None,
            assigned_ip: None,
            servers: Vec::new(),
            sequence: Vec::new(),
        }
    }
}

/// One listed (first [`LISTED`]) transaction.
struct ListedTx {
    xid: u32,
    messages: Vec<TxMessage>,
    omitted: u64,
    record: TxRecord,
}

/// Per-client (by hardware address) details.
struct ClientRecord {
    mac: String,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    messages: u64,
    types: CodeCounts,
    hostname: Option<String>,
    vendor_class_id: Option<String>,
    client_id: Option<String>,
    requested_ip: Option<Ipv4Addr>,
    assigned_ip: Option<Ipv4Addr>,
    lease_time: Option<u32>,
    servers: Vec<Ipv4Addr>,
    relays: Vec<Ipv4Addr>,
}

/// Per-server details (by server identifier, or source address when the
/// reply has none).
struct ServerRecord {
    server_id: Ipv4Addr,
    source_ips: Vec<IpAddr>,
    source_macs: Vec<String>,
    offers: u64,
    acks: u64,
    naks: u64,
    other_replies: u64,
    clients: HashSet<[u8; 16]>,
    clients_overflow: bool,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    relayed_replies: u64,
    routers: Vec<String>,
    dns_servers: Vec<String>,
    lease_times: Vec<u32>,
}

/// A lease granted by an ACK.
struct LeaseRecord {
    client_mac: String,
    hostname: Option<String>,
    ip: Ipv4Addr,
    server_id: Option<Ipv4Addr>,
    xid: u32,
    packet_number: u64,
    frame_number: u64,
    granted: Option<Timestamp>,
    lease_time: Option<u32>,
    renewal_time: Option<u32>,
    rebinding_time: Option<u32>,
    ended: Option<(Timestamp, &'static str)>,
}

/// Everything counted over DHCPv4 messages.
#[derive(Default)]
pub struct V4Stats {
    /// DHCPv4/BOOTP messages seen.
    pub messages: u64,
    types: CodeCounts,
    clients_counter: DistinctCounter,
    clients_listed: Vec<String>,
    servers_counter: DistinctCounter,
    servers_listed: Vec<String>,
    xids: DistinctCounter,
    listed_tx: Vec<ListedTx>,
    listed_index: HashMap<u32, usize>,
    open_tx: HashMap<u32, TxRecord>,
    open_order: VecDeque<u32>,
    discover_to_offer: Latency,
    discover_to_ack: Latency,
    request_to_ack: Latency,
    completed: u64,
    refused: u64,
    multi_server_transactions: u64,
    clients: HashMap<[u8; 16], ClientRecord>,
    servers: HashMap<Ipv4Addr, ServerRecord>,
    servers_untracked: u64,
    leases: Vec<LeaseRecord>,
    leases_total: u64,
    discover_senders: DistinctCounter,
    /// Plain BOOTP messages (no DHCP cookie).
    pub bootp_only: u64,
    /// Messages with a bad magic cookie.
    pub bad_cookie: u64,
    mac_mismatch: u64,
    mac_mismatch_examples: Vec<String>,
}

impl V4Stats {
    /// Empty statistics, their capped tables sized for their caps at once:
    /// they never grow, so a long capture costs no more than a busy short one.
    pub fn new() -> Self {
        V4Stats {
            // Twice the cap: completed transactions leave tombstones.
            open_tx: map_with_capacity(2 * OPEN_TRANSACTIONS),
            open_order: VecDeque::with_capacity(OPEN_TRANSACTIONS),
            clients: map_with_capacity(TRACKED_CLIENTS),
            servers: map_with_capacity(TRACKED_SERVERS),
            ..Default::default()
        }
    }

    /// Counts one message.
    pub fn add(&mut self, msg: &V4Message, seen: &Seen) {
        self.messages += 1;
        match msg.cookie {
            Cookie::Bootp => self.bootp_only += 1,
            Cookie::Bad => self.bad_cookie += 1,
            Cookie::Dhcp => {}
        }
        let mac = msg.client_mac();
        if self.clients_counter.insert(msg.client_key()) == Some(true) && self.clients_listed.len() < LISTED {
            self.clients_listed.push(mac.clone());
        }
        if let Some(id) = msg.server_id
            && self.servers_counter.insert(id) == Some(true)
            && self.servers_listed.len() < LISTED
        {
            self.servers_listed.push(id.to_string());
        }
        if let Some(t) = msg.message_type {
            self.types.add(t);
            if t == 1 {
                self.discover_senders.insert(msg.client_key());
            }
        }
        self.transaction(msg, seen);
        self.client(msg, seen);
        if msg.op == 2 {
            self.server(msg, seen);
        }
        self.lease(msg, seen);
        // A client's own message (not relayed) whose chaddr is not the frame's
        // source: spoofed, or a host forwarding for others.
        if msg.op == 1
            && msg.giaddr.is_unspecified()
            && msg.htype == 1
            && msg.hlen == 6
            && let Some(src) = seen.src_mac
            && src != msg.chaddr[..6]
        {
            self.mac_mismatch += 1;
            if self.mac_mismatch_examples.len() < 5 {
                self.mac_mismatch_examples.push(format!(
                    "frame {}: chaddr {} sent from {}",
                    seen.frame_number,
                    mac,
                    hex_colon(&src)
                ));
            }
        }
    }

    fn transaction(&mut self, msg: &V4Message, seen: &Seen) {
        let fresh = self.xids.insert(msg.xid);
        let entry = TxMessage {
            packet_number: seen.packet_number,
            frame_number: seen.frame_number,
            message_type: msg.message_type_name().unwrap_or_else(|| "Unknown".into()),
            timestamp: seen.timestamp,
        };
        let record = if let Some(&i) = self.listed_index.get(&msg.xid) {
            let listed = &mut self.listed_tx[i];
            if listed.messages.len() < MESSAGES_PER_TRANSACTION {
                listed.messages.push(entry);
            } else {
                listed.omitted += 1;
            }
            &mut listed.record
        } else if fresh == Some(true) && self.listed_tx.len() < LISTED {
            self.listed_index.insert(msg.xid, self.listed_tx.len());
            self.listed_tx.push(ListedTx {
                xid: msg.xid,
                messages: vec![entry],
                omitted: 0,
                record: TxRecord::new(msg, seen.timestamp),
            });
            &mut self.listed_tx.last_mut().expect("just pushed").record
        } else {
            if !self.open_tx.contains_key(&msg.xid) {
                if self.open_tx.len() >= OPEN_TRANSACTIONS
                    && let Some(oldest) = self.open_order.pop_front()
                {
                    self.open_tx.remove(&oldest);
                }
                self.open_order.push_back(msg.xid);
                self.open_tx.insert(msg.xid, TxRecord::new(msg, seen.timestamp));
            }
            self.open_tx.get_mut(&msg.xid).expect("inserted above")
        };
        let events = update_transaction(record, msg, seen);
        self.discover_to_offer.add(events.discover_to_offer);
        self.discover_to_ack.add(events.discover_to_ack);
        self.request_to_ack.add(events.request_to_ack);
        self.completed += u64::from(events.completed);
        self.refused += u64::from(events.refused);
        self.multi_server_transactions += u64::from(events.second_server);
    }

    fn client(&mut self, msg: &V4Message, seen: &Seen) {
        let key = msg.client_key();
        if !self.clients.contains_key(&key) {
            if self.clients.len() >= TRACKED_CLIENTS {
                return;
            }
            self.clients.insert(
                key,
                ClientRecord {
                    mac: msg.client_mac(),
                    first: seen.timestamp,
                    last: seen.timestamp,
                    messages: 0,
                    types: CodeCounts::default(),
                    hostname: None,
                    vendor_class_id: None,
                    client_id: None,
                    requested_ip: None,
                    assigned_ip: None,
                    lease_time: None,
                    servers: Vec::new(),
                    relays: Vec::new(),
                },
            );
        }
        let c = self.clients.get_mut(&key).expect("inserted above");
        c.messages += 1;
        if seen.timestamp.is_some() {
            c.first = c.first.or(seen.timestamp);
            c.last = seen.timestamp;
        }
        if let Some(t) = msg.message_type {
            c.types.add(t);
        }
        if msg.op == 1 {
            c.hostname = msg.hostname.clone().or(c.hostname.take());
            c.vendor_class_id = msg.vendor_class_id.clone().or(c.vendor_class_id.take());
            c.client_id = msg.client_id.as_ref().map(|id| clip(hex_colon(id))).or(c.client_id.take());
            c.requested_ip = msg.requested_ip.or(c.requested_ip);
        }
        if msg.message_type == Some(5) {
            if !msg.yiaddr.is_unspecified() {
                c.assigned_ip = Some(msg.yiaddr);
                c.lease_time = msg.lease_time.or(c.lease_time);
            }
            if let Some(id) = msg.server_id {
                push_small(&mut c.servers, id);
            }
        }
        if !msg.giaddr.is_unspecified() {
            push_small(&mut c.relays, msg.giaddr);
        }
    }

    fn server(&mut self, msg: &V4Message, seen: &Seen) {
        let id = match (msg.server_id, seen.src_ip) {
            (Some(id), _) => id,
            (None, IpAddr::V4(src)) => src,
            (None, IpAddr::V6(_)) => return,
        };
        if !self.servers.contains_key(&id) {
            if self.servers.len() >= TRACKED_SERVERS {
                self.servers_untracked += 1;
                return;
            }
            self.servers.insert(
                id,
                ServerRecord {
                    server_id: id,
                    source_ips: Vec::new(),
                    source_macs: Vec::new(),
                    offers: 0,
                    acks: 0,
                    naks: 0,
                    other_replies: 0,
                    clients: HashSet::default(),
                    clients_overflow: false,
                    first: seen.timestamp,
                    last: seen.timestamp,
                    relayed_replies: 0,
                    routers: Vec::new(),
                    dns_servers: Vec::new(),
                    lease_times: Vec::new(),
                },
            );
        }
        let s = self.servers.get_mut(&id).expect("inserted above");
        push_small(&mut s.source_ips, seen.src_ip);
        if let Some(mac) = seen.src_mac {
            push_small(&mut s.source_macs, hex_colon(&mac));
        }
        match msg.message_type {
            Some(2) => s.offers += 1,
            Some(5) => s.acks += 1,
            Some(6) => s.naks += 1,
            _ => s.other_replies += 1,
        }
        if s.clients.len() < CLIENTS_PER_SERVER {
            s.clients.insert(msg.client_key());
        } else if !s.clients.contains(&msg.client_key()) {
            s.clients_overflow = true;
        }
        if seen.timestamp.is_some() {
            s.first = s.first.or(seen.timestamp);
            s.last = seen.timestamp;
        }
        if !msg.giaddr.is_unspecified() {
            s.relayed_replies += 1;
        }
        for (key, value) in &msg.options {
            let set = match key.as_str() {
                "router" => &mut s.routers,
                "dns_servers" => &mut s.dns_servers,
                _ => continue,
            };
            if let Value::String(v) = value {
                push_small(set, v.clone());
            }
        }
        if let Some(t) = msg.lease_time {
            push_small(&mut s.lease_times, t);
        }
    }

    fn lease(&mut self, msg: &V4Message, seen: &Seen) {
        match msg.message_type {
            Some(5) if !msg.yiaddr.is_unspecified() => {
                self.leases_total += 1;
                if self.leases.len() < LISTED {
                    let hostname = self.clients.get(&msg.client_key()).and_then(|c| c.hostname.clone());
                    self.leases.push(LeaseRecord {
                        client_mac: msg.client_mac(),
                        hostname: hostname.or(msg.hostname.clone()),
                        ip: msg.yiaddr,
                        server_id: msg.server_id,
                        xid: msg.xid,
                        packet_number: seen.packet_number,
                        frame_number: seen.frame_number,
                        granted: seen.timestamp,
                        lease_time: msg.lease_time,
                        renewal_time: msg.renewal_time,
                        rebinding_time: msg.rebinding_time,
                        ended: None,
                    });
                }
            }
            Some(t @ (4 | 7)) => {
                let ip = if t == 7 { Some(msg.ciaddr) } else { msg.requested_ip };
                let mac = msg.client_mac();
                if let (Some(ip), Some(at)) = (ip, seen.timestamp)
                    && let Some(lease) =
                        self.leases.iter_mut().rev().find(|l| l.ip == ip && l.client_mac == mac && l.ended.is_none())
                {
                    lease.ended = Some((at, if t == 7 { "RELEASE" } else { "DECLINE" }));
                }
            }
            _ => {}
        }
    }

    /// mcpcap's `statistics` fields, plus counts of what the caps left out
    /// (`lib.rs` adds the rest).
    pub fn statistics(&self) -> V4Statistics {
        let transactions = self
            .listed_tx
            .iter()
            .map(|t| (format!("0x{:08x}", t.xid), t.messages.iter().map(TxMessage::entry).collect()))
            .collect();
        V4Statistics {
            unique_clients_count: self.clients_counter.count(),
            unique_servers_count: self.servers_counter.count(),
            unique_clients: self.clients_listed.clone(),
            unique_servers: self.servers_listed.clone(),
            message_type_counts: self.types.named(names::v4_message_type),
            transaction_count: self.xids.count(),
            transactions: OrderedMap(transactions),
            unique_clients_omitted: self.clients_counter.count().saturating_sub(self.clients_listed.len() as u64),
            unique_servers_omitted: self.servers_counter.count().saturating_sub(self.servers_listed.len() as u64),
            transactions_omitted: self.xids.count().saturating_sub(self.listed_tx.len() as u64),
            transaction_messages_omitted: self.listed_tx.iter().map(|t| t.omitted).sum(),
            counts_estimated: !self.clients_counter.is_exact()
                || !self.servers_counter.is_exact()
                || !self.xids.is_exact(),
        }
    }

    /// Transaction timing and outcomes.
    pub fn transaction_summary(&self) -> TransactionSummary {
        let listed = self
            .listed_tx
            .iter()
            .map(|t| {
                let r = &t.record;
                let acked = r.outcome == Some(5);
                TransactionEntry {
                    transaction_id: format!("0x{:08x}", t.xid),
                    client_mac: r.client_mac.clone(),
                    sequence: r.sequence.iter().map(|c| names::v4_message_type(*c)).collect(),
                    first_seen: secs(r.first),
                    duration_seconds: between(r.first, r.last).unwrap_or(0.0),
                    outcome: match r.outcome {
                        Some(5) => "ACK",
                        Some(6) => "NAK",
                        _ if r.offer.is_some() => "offered, not acknowledged",
                        _ => "unanswered",
                    },
                    discover_to_offer_seconds: between(r.discover, r.offer),
                    discover_to_ack_seconds: if acked { between(r.discover, r.answered) } else { None },
                    request_to_ack_seconds: if acked { between(r.request, r.answered) } else { None },
                    offered_ip: r.offered_ip.map(|ip| ip.to_string()),
                    assigned_ip: r.assigned_ip.map(|ip| ip.to_string()),
                    servers: r.servers.iter().map(Ipv4Addr::to_string).collect(),
                }
            })
            .collect();
        TransactionSummary {
            count: self.xids.count(),
            completed: self.completed,
            refused: self.refused,
            answered_by_several_servers: self.multi_server_transactions,
            latency: Latencies {
                discover_to_offer: self.discover_to_offer.summary(),
                discover_to_ack: self.discover_to_ack.summary(),
                request_to_ack: self.request_to_ack.summary(),
            },
            listed,
            omitted: self.xids.count().saturating_sub(self.listed_tx.len() as u64),
        }
    }

    /// Clients by hardware address, busiest first.
    pub fn clients(&self) -> Clients {
        let mut clients: Vec<&ClientRecord> = self.clients.values().collect();
        clients.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.first.cmp(&b.first)).then(a.mac.cmp(&b.mac)));
        let listed: Vec<ClientEntry> = clients
            .iter()
            .take(LISTED)
            .map(|c| ClientEntry {
                client_mac: c.mac.clone(),
                messages: c.messages,
                message_type_counts: c.types.named(names::v4_message_type),
                first_seen: secs(c.first),
                last_seen: secs(c.last),
                hostname: c.hostname.clone(),
                vendor_class_id: c.vendor_class_id.clone(),
                client_id: c.client_id.clone(),
                requested_ip: c.requested_ip.map(|v| v.to_string()),
                assigned_ip: c.assigned_ip.map(|v| v.to_string()),
                lease_time: c.lease_time,
                servers: c.servers.iter().map(Ipv4Addr::to_string).collect(),
                relays: c.relays.iter().map(Ipv4Addr::to_string).collect(),
            })
            .collect();
        let count = self.clients_counter.count();
        Clients { count, omitted: count.saturating_sub(listed.len() as u64), listed }
    }

    /// Servers that answered (sent BOOTREPLYs).
    pub fn servers(&self) -> Servers {
        let mut servers: Vec<&ServerRecord> = self.servers.values().collect();
        servers.sort_by(|a, b| {
            (b.offers + b.acks + b.naks + b.other_replies)
                .cmp(&(a.offers + a.acks + a.naks + a.other_replies))
                .then(a.server_id.cmp(&b.server_id))
        });
        let listed = servers
            .iter()
            .take(LISTED)
            .map(|s| ServerEntry {
                server_id: s.server_id.to_string(),
                source_ips: s.source_ips.iter().map(IpAddr::to_string).collect(),
                source_macs: s.source_macs.clone(),
                offers: s.offers,
                acks: s.acks,
                naks: s.naks,
                other_replies: s.other_replies,
                clients: s.clients.len(),
                clients_at_least: s.clients_overflow,
                relayed_replies: s.relayed_replies,
                routers: s.routers.clone(),
                dns_servers: s.dns_servers.clone(),
                lease_times: s.lease_times.clone(),
                first_seen: secs(s.first),
                last_seen: secs(s.last),
            })
            .collect();
        let count = self.servers.len() as u64 + self.servers_untracked.min(1);
        Servers {
            count: self.servers.len(),
            more_untracked: self.servers_untracked > 0,
            multiple_servers: count > 1,
            listed,
        }
    }

    /// Leases granted (ACKs with an address), in time order.
    pub fn leases(&self) -> Leases {
        let listed = self
            .leases
            .iter()
            .map(|l| LeaseEntry {
                ip: l.ip.to_string(),
                client_mac: l.client_mac.clone(),
                hostname: l.hostname.clone(),
                server_id: l.server_id.map(|s| s.to_string()),
                transaction_id: format!("0x{:08x}", l.xid),
                packet_number: l.packet_number,
                frame_number: l.frame_number,
                granted_at: secs(l.granted),
                granted_at_iso: iso(l.granted),
                lease_time: l.lease_time,
                renewal_time: l.renewal_time,
                rebinding_time: l.rebinding_time,
                // 0xffffffff is an infinite lease (RFC 2131 3.3).
                expires_at_iso: l.granted.zip(l.lease_time.filter(|&s| s != u32::MAX)).map(|(t, lease)| {
                    Timestamp { secs: t.secs.saturating_add(i64::from(lease)), nanos: t.nanos }.to_rfc3339()
                }),
                ended_at_iso: l.ended.map(|(at, _)| at.to_rfc3339()),
                ended_by: l.ended.map(|(_, by)| by),
            })
            .collect();
        Leases { count: self.leases_total, listed, omitted: self.leases_total.saturating_sub(self.leases.len() as u64) }
    }

    /// Things worth a look.
    pub fn observations(&self, out: &mut Vec<Observation<Finding>>) {
        let answering: Vec<String> = self.servers.keys().map(Ipv4Addr::to_string).collect();
        if answering.len() > 1 || self.servers_untracked > 0 {
            let mut ids = answering.clone();
            ids.sort();
            ids.truncate(10);
            out.push(
                Observation::new(
                    Finding::SeveralServers,
                    format!(
                        "{} DHCP servers answered{}: more than one server answering on a segment is either \
                         deliberate redundancy or a rogue server; compare their offers in `servers`",
                        answering.len(),
                        if self.servers_untracked > 0 { ", and more not tracked" } else { "" }
                    ),
                )
                .with_examples(ids),
            );
        }
        if self.multi_server_transactions > 0 {
            out.push(Observation::new(
                Finding::TransactionsAnsweredTwice,
                format!("{} transactions were answered by more than one server", self.multi_server_transactions),
            ));
        }
        let naks = self.types.get(6);
        if naks > 0 {
            out.push(Observation::new(
                Finding::Naks,
                format!(
                    "{naks} NAKs: servers refused the addresses clients asked for (client moved networks, \
                     expired lease, or competing servers)"
                ),
            ));
        }
        let declines = self.types.get(4);
        if declines > 0 {
            out.push(Observation::new(
                Finding::Declines,
                format!("{declines} DECLINEs: clients found their offered address already in use"),
            ));
        }
        let discovering = self.discover_senders.count();
        if discovering >= STARVATION_CLIENTS && self.completed * 5 < discovering {
            out.push(Observation::new(
                Finding::PossibleStarvation,
                format!(
                    "{discovering} distinct hardware addresses sent DISCOVERs but only {} transactions completed: \
                     possible DHCP starvation (a flood of spoofed client MACs exhausting the pool)",
                    self.completed
                ),
            ));
        }
        if self.mac_mismatch > 0 {
            out.push(
                Observation::new(
                    Finding::ChaddrMismatch,
                    format!(
                        "{} client messages (not relayed) carry a chaddr different from the Ethernet source, a sign \
                         of MAC spoofing or of a host requesting for others",
                        self.mac_mismatch
                    ),
                )
                .with_examples(&self.mac_mismatch_examples),
            );
        }
        if self.bad_cookie > 0 {
            out.push(Observation::new(
                Finding::BadMagicCookie,
                format!("{} messages have a bad magic cookie; their options were not decoded", self.bad_cookie),
            ));
        }
    }
}

/// What one message changed in a transaction.
#[derive(Default)]
struct TxEvents {
    discover_to_offer: Option<f64>,
    discover_to_ack: Option<f64>,
    request_to_ack: Option<f64>,
    completed: bool,
    refused: bool,
    second_server: bool,
}

fn update_transaction(r: &mut TxRecord, msg: &V4Message, seen: &Seen) -> TxEvents {
    let mut ev = TxEvents::default();
    let at = seen.timestamp;
    if at.is_some() {
        r.first = r.first.or(at);
        r.last = at;
    }
    let Some(t) = msg.message_type else { return ev };
    if r.sequence.len() < 16 {
        r.sequence.push(t);
    }
    if msg.op == 2 {
        let server = match (msg.server_id, seen.src_ip) {
            (Some(id), _) => Some(id),
            (None, IpAddr::V4(src)) => Some(src),
            _ => None,
        };
        if let Some(s) = server
            && !r.servers.contains(&s)
        {
            push_small(&mut r.servers, s);
            ev.second_server = r.servers.len() == 2;
        }
    }
    match t {
        1 => r.discover = r.discover.or(at),
        2 => {
            if r.offer.is_none() {
                r.offer = at;
                ev.discover_to_offer = between(r.discover, at);
            }
            r.offered_ip = Some(msg.yiaddr);
        }
        3 => r.request = r.request.or(at),
        5 | 6 if r.outcome.is_none() => {
            r.outcome = Some(t);
            r.answered = at;
            if t == 5 {
                ev.completed = true;
                ev.discover_to_ack = between(r.discover, at);
                ev.request_to_ack = between(r.request, at);
                if !msg.yiaddr.is_unspecified() {
                    r.assigned_ip = Some(msg.yiaddr);
                }
            } else {
                ev.refused = true;
            }
        }
        _ => {}
    }
    ev
}

/// An address or prefix a server assigned in a REPLY.
struct V6Lease {
    client_duid: Option<Vec<u8>>,
    server_duid: Option<Vec<u8>>,
    iaid: u32,
    kind: &'static str,
    lease: String,
    preferred: u32,
    valid: u32,
    frame_number: u64,
    at: Option<Timestamp>,
}

/// Everything counted over DHCPv6 messages.
#[derive(Default)]
pub struct V6Stats {
    /// DHCPv6 messages seen (packets; relayed messages inside them are
    /// counted in the type counts).
    pub messages: u64,
    types: CodeCounts,
    relayed: u64,
    clients: DistinctCounter,
    clients_listed: Vec<(String, Option<String>)>,
    servers: DistinctCounter,
    servers_listed: Vec<String>,
    xids: DistinctCounter,
    transactions: Vec<(u32, Vec<TxMessage>, u64)>,
    transaction_index: HashMap<u32, usize>,
    leases: Vec<V6Lease>,
    leases_total: u64,
}

impl V6Stats {
    /// Counts one message (and what it relays).
    pub fn add(&mut self, msg: &V6Message, seen: &Seen) {
        self.messages += 1;
        for t in msg.types_in_chain() {
            self.types.add(t);
        }
        if msg.inner.is_some() {
            self.relayed += 1;
        }
        let m = msg.innermost();
        if let Some(d) = &m.client_duid
            && self.clients.insert(d) == Some(true)
            && self.clients_listed.len() < LISTED
        {
            self.clients_listed.push((clip(hex_colon(d)), duid_info(d).1));
        }
        if let Some(d) = &m.server_duid
            && self.servers.insert(d) == Some(true)
            && self.servers_listed.len() < LISTED
        {
            self.servers_listed.push(clip(hex_colon(d)));
        }
        if let Some(xid) = m.xid {
            let fresh = self.xids.insert(xid);
            let entry = TxMessage {
                packet_number: seen.packet_number,
                frame_number: seen.frame_number,
                message_type: names::v6_message_type(m.msg_type),
                timestamp: seen.timestamp,
            };
            if let Some(&i) = self.transaction_index.get(&xid) {
                let (_, list, omitted) = &mut self.transactions[i];
                if list.len() < MESSAGES_PER_TRANSACTION {
                    list.push(entry);
                } else {
                    *omitted += 1;
                }
            } else if fresh == Some(true) && self.transactions.len() < LISTED {
                self.transaction_index.insert(xid, self.transactions.len());
                self.transactions.push((xid, vec![entry], 0));
            }
        }
        if m.msg_type == 7 {
            for (kind, list) in [("address", &m.ia_na), ("temporary_address", &m.ia_ta), ("prefix", &m.ia_pd)] {
                for ia in list {
                    for l in ia.leases.iter().filter(|l| l.valid > 0 && l.status.as_ref().is_none_or(|s| s.code == 0)) {
                        self.leases_total += 1;
                        if self.leases.len() < LISTED {
                            self.leases.push(V6Lease {
                                client_duid: m.client_duid.clone(),
                                server_duid: m.server_duid.clone(),
                                iaid: ia.iaid,
                                kind,
                                lease: match l.prefix_len {
                                    Some(len) => format!("{}/{len}", l.address),
                                    None => l.address.to_string(),
                                },
                                preferred: l.preferred,
                                valid: l.valid,
                                frame_number: seen.frame_number,
                                at: seen.timestamp,
                            });
                        }
                    }
                }
            }
        }
    }

    /// The `statistics.dhcpv6` object.
    pub fn statistics(&self) -> V6Statistics {
        let transactions = self
            .transactions
            .iter()
            .map(|(xid, list, _)| (format!("0x{xid:06x}"), list.iter().map(TxMessage::entry).collect()))
            .collect();
        let clients = self
            .clients_listed
            .iter()
            .map(|(duid, mac)| V6Client { duid: duid.clone(), link_layer_address: mac.clone() })
            .collect();
        let leases = self
            .leases
            .iter()
            .map(|l| {
                let lease = |kind: &str| (l.kind == kind).then(|| l.lease.clone());
                V6LeaseEntry {
                    address: lease("address"),
                    temporary_address: lease("temporary_address"),
                    prefix: lease("prefix"),
                    iaid: l.iaid,
                    client_duid: l.client_duid.as_ref().map(|d| clip(hex_colon(d))),
                    client_link_layer_address: l.client_duid.as_ref().and_then(|d| duid_info(d).1),
                    server_duid: l.server_duid.as_ref().map(|d| clip(hex_colon(d))),
                    preferred_lifetime: l.preferred,
                    valid_lifetime: l.valid,
                    frame_number: l.frame_number,
                    assigned_at: secs(l.at),
                    assigned_at_iso: iso(l.at),
                }
            })
            .collect();
        V6Statistics {
            messages: self.messages,
            relayed_messages: self.relayed,
            message_type_counts: self.types.named(names::v6_message_type),
            unique_clients_count: self.clients.count(),
            unique_clients: clients,
            unique_servers_count: self.servers.count(),
            unique_servers: self.servers_listed.clone(),
            transaction_count: self.xids.count(),
            transactions: OrderedMap(transactions),
            transactions_omitted: self.xids.count().saturating_sub(self.transactions.len() as u64),
            leases: V6Leases {
                count: self.leases_total,
                listed: leases,
                omitted: self.leases_total.saturating_sub(self.leases.len() as u64),
            },
        }
    }
}
