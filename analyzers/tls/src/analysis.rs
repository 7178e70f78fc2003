//! From record events to connections and statistics. A connection is a TCP
//! address and port pair; its client is the side that sent the
//! ClientHello (or, with none seen, the side the ServerHello went to). Every
//! table is bounded: the first connections are tracked, later ones only
//! counted.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::bounded::TopCounter;
use pcapsule_guest::conventions::{OrderedMap, PageCollector, PageInfo};
use pcapsule_guest::fast_hash::HashMap;
use pcapsule_guest::reassembly::End;

use crate::certificates::{Certificates, Presentation};
use crate::fingerprint::Transport;
use crate::hello::{
    ClientHello, ServerHello, alert_name, cipher_suite_name, group_name, handshake_name, is_grease, rank, version_name,
    weak_cipher_suite,
};
use crate::records::Event;
use crate::result::{AlertEntry, CertificateSummary, ConnectionEntry, Outcome, Side, Statistics};
use crate::scan::{At, Happening};

/// Connections tracked; later ones are counted in the statistics only.
const MAX_CONNECTIONS: usize = 20_000;
/// Handshake steps kept per connection, and alerts.
const MAX_STEPS: usize = 24;
const MAX_ALERTS: usize = 4;
/// Entries in the statistics' top lists.
const TOP: usize = 20;
/// Ports where TLS is expected: HTTPS and its alternatives, the
/// implicit-TLS ports of mail, LDAP, DNS, SIP, IRC and others, and the
/// ports of protocols that upgrade to TLS (STARTTLS in SMTP, POP3, IMAP,
/// LDAP, FTP, XMPP, NNTP, IRC; MySQL and PostgreSQL's SSL requests); for
/// DTLS, CoAP's, TURN's, CAPWAP's, syslog's and SNMP's.
const TLS_PORTS: [u16; 37] = [
    443, 8443, 4433, 465, 993, 995, 636, 853, 5061, 989, 990, 992, 994, 563, 3269, 6697, 25, 587, 110, 143, 389, 21,
    5222, 5269, 119, 6667, 3306, 5432, 4190, 3389, 5684, 5349, 5246, 5247, 6514, 10161, 10162,
];

type Endpoint = (IpAddr, u16);

/// A TCP connection, its two endpoints in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnectionKey(Endpoint, Endpoint);

impl ConnectionKey {
    fn of(at: &At) -> Self {
        let a = (at.direction.src, at.direction.src_port);
        let b = (at.direction.dst, at.direction.dst_port);
        if a <= b { ConnectionKey(a, b) } else { ConnectionKey(b, a) }
    }
}

#[derive(Default)]
struct Connection {
    first_frame: u64,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    /// The client's endpoint, once a hello says which side it is.
    client: Option<Endpoint>,
    /// The first endpoint seen sending TLS, when no hello says.
    first_sender: Option<Endpoint>,
    client_hello: Option<ClientHello>,
    client_hellos: u32,
    server_hello: Option<ServerHello>,
    hello_retry: bool,
    /// Certificate messages' count.
    certificates: u32,
    /// The server's certificate, in brief.
    certificate: Option<CertificateSummary>,
    steps: Vec<(Side, &'static str)>,
    steps_dropped: u32,
    change_cipher_spec: [bool; 2],
    application_records: [u64; 2],
    application_bytes: [u64; 2],
    alerts: Vec<AlertEntry>,
    fatal_alert: Option<(Side, u8)>,
    lost_sync: bool,
    ended: Option<End>,
    transport: Transport,
    /// Encrypted handshake records each side sent (the first is its Finished).
    encrypted_handshakes: [u32; 2],
    /// TLS 1.2 or earlier: a side sent another handshake record after its
    /// Finished and application data.
    renegotiated: bool,
    /// A QUIC connection's version.
    quic_version: Option<u32>,
}

impl Connection {
    fn side(&self, from: Endpoint) -> Side {
        match self.client.or(self.first_sender) {
            Some(client) if client == from => Side::Client,
            Some(_) => Side::Server,
            None => Side::Client,
        }
    }

    fn established(&self) -> bool {
        self.server_hello.as_ref().is_some_and(|h| !h.hello_retry_request)
            && (self.change_cipher_spec == [true, true]
                || (self.application_records[0] > 0 && self.application_records[1] > 0))
    }

    fn outcome(&self) -> Outcome {
        if self.established() {
            return Outcome::Established;
        }
        if self.fatal_alert.is_some() {
            return Outcome::Alert;
        }
        match (&self.client_hello, &self.server_hello) {
            (None, None) => Outcome::HandshakeNotSeen,
            (Some(_), None) => Outcome::NoServerHello,
            _ => Outcome::Incomplete,
        }
    }

    fn step(&mut self, side: Side, what: &'static str) {
        if self.steps.len() < MAX_STEPS {
            self.steps.push((side, what));
        } else {
            self.steps_dropped += 1;
        }
    }
}

/// The statistics' counters, and the connection table.
pub struct Analysis {
    connections: HashMap<ConnectionKey, Connection>,
    order: Vec<ConnectionKey>,
    untracked_events: u64,
    handshake_messages: BTreeMap<&'static str, u64>,
    encrypted_handshake_records: u64,
    change_cipher_specs: u64,
    application_data_records: u64,
    application_data_bytes: u64,
    heartbeats: u64,
    oversized_handshakes: u64,
    malformed_hellos: u64,
    sslv2_client_hellos: u64,
    alerts: BTreeMap<String, u64>,
    encrypted_alerts: u64,
    versions: TopCounter<String>,
    versions_offered: TopCounter<String>,
    cipher_suites: TopCounter<String>,
    server_names: TopCounter<String>,
    alpn_offered: TopCounter<String>,
    alpn_selected: TopCounter<String>,
    ja4: TopCounter<String>,
    ja3: TopCounter<String>,
    ja3s: TopCounter<String>,
    key_shares: TopCounter<String>,
    /// JA4S, when asked for (its license: see the tool's `ja4_plus`).
    ja4s: Option<TopCounter<String>>,
    client_hellos_without_sni: u64,
    quic_connections: u64,
    dtls_connections: u64,
    certificate_table: Certificates,
    page: PageCollector<ConnectionEntry>,
}

/// What [`Analysis::finish`] hands back.
pub struct Finished {
    pub statistics: Statistics,
    pub connections: Vec<ConnectionEntry>,
    pub pagination: PageInfo,
    pub connection_count: usize,
    pub certificates: Certificates,
}

impl Analysis {
    pub fn new(page: PageCollector<ConnectionEntry>, ja4_plus: bool) -> Self {
        Analysis {
            connections: HashMap::default(),
            order: Vec::new(),
            untracked_events: 0,
            handshake_messages: BTreeMap::new(),
            encrypted_handshake_records: 0,
            change_cipher_specs: 0,
            application_data_records: 0,
            application_data_bytes: 0,
            heartbeats: 0,
            oversized_handshakes: 0,
            malformed_hellos: 0,
            sslv2_client_hellos: 0,
            alerts: BTreeMap::new(),
            encrypted_alerts: 0,
            versions: TopCounter::new(64),
            versions_offered: TopCounter::new(64),
            cipher_suites: TopCounter::new(256),
            server_names: TopCounter::new(4096),
            alpn_offered: TopCounter::new(256),
            alpn_selected: TopCounter::new(256),
            ja4: TopCounter::new(4096),
            ja3: TopCounter::new(4096),
            ja3s: TopCounter::new(4096),
            key_shares: TopCounter::new(64),
            ja4s: ja4_plus.then(|| TopCounter::new(4096)),
            client_hellos_without_sni: 0,
            quic_connections: 0,
            dtls_connections: 0,
            certificate_table: Certificates::default(),
            page,
        }
    }

    /// Takes one thing a direction delivered.
    pub fn happening(&mut self, at: At, happening: Happening<'_>) {
        let key = ConnectionKey::of(&at);
        let from = (at.direction.src, at.direction.src_port);
        let tracked = if self.connections.contains_key(&key) {
            true
        } else if self.connections.len() < MAX_CONNECTIONS && !matches!(happening, Happening::Ended(_)) {
            self.order.push(key);
            self.connections.insert(
                key,
                Connection {
                    first_frame: at.frame.number,
                    first_time: at.frame.timestamp,
                    first_sender: Some(from),
                    transport: at.transport,
                    ..Connection::default()
                },
            );
            true
        } else {
            false
        };
        let event = match happening {
            Happening::Record(event) => event,
            Happening::Ended(end) => {
                if let Some(c) = self.connections.get_mut(&key) {
                    c.ended.get_or_insert(end);
                }
                return;
            }
            Happening::Began { quic_version } => {
                match quic_version {
                    Some(_) => self.quic_connections += 1,
                    None => self.dtls_connections += 1,
                }
                if let Some(c) = self.connections.get_mut(&key) {
                    c.quic_version = quic_version;
                }
                return;
            }
        };
        self.count(&event);
        if !tracked {
            self.untracked_events += 1;
            if let Event::Handshake { kind: 11, body } = event {
                let at = Presentation {
                    frame: at.frame.number,
                    time: at.frame.timestamp,
                    sender: from,
                    by_client: false,
                    server_name: None,
                };
                self.certificate_table.message(body, &at);
            }
            return;
        }
        let connection = self.connections.get_mut(&key).expect("tracked");
        if at.frame.timestamp.is_some() {
            connection.last_time = at.frame.timestamp;
        }
        // The hellos say which side is the client; every other event is
        // placed by it.
        match event {
            Event::Handshake { kind: 1, .. } | Event::Sslv2ClientHello { .. } => {
                connection.client.get_or_insert(from);
            }
            Event::Handshake { kind: 2, .. } => {
                connection.client.get_or_insert((at.direction.dst, at.direction.dst_port));
            }
            _ => {}
        }
        let side = connection.side(from);
        match event {
            Event::Handshake { kind: 1, body: hello } | Event::Sslv2ClientHello { body: hello } => {
                connection.client_hellos += 1;
                let parsed = if matches!(event, Event::Sslv2ClientHello { .. }) {
                    ClientHello::parse_sslv2(hello)
                } else {
                    ClientHello::parse(hello, at.transport)
                };
                match parsed {
                    Some(hello) => {
                        if let (Some(ja3), Some(ja4)) = (&hello.ja3, &hello.ja4) {
                            self.ja3.add(ja3.as_str());
                            self.ja4.add(ja4.as_str());
                        }
                        if connection.client_hello.is_none() {
                            self.versions_offered.add(&version_name(hello.highest_version()));
                            for protocol in &hello.alpn {
                                self.alpn_offered.add(protocol.as_str());
                            }
                            for group in &hello.key_shares {
                                self.key_shares.add(&group_name(*group));
                            }
                            match &hello.server_name {
                                Some(name) => self.server_names.add(name.as_str()),
                                None => self.client_hellos_without_sni += 1,
                            }
                            connection.client_hello = Some(hello);
                        } else if let Some(first) = &mut connection.client_hello {
                            // After a HelloRetryRequest: a share for the group the server asked for.
                            for group in hello.key_shares {
                                if !first.key_shares.contains(&group) {
                                    first.key_shares.push(group);
                                }
                            }
                        }
                    }
                    None => self.malformed_hellos += 1,
                }
                connection.step(Side::Client, "client_hello");
            }
            Event::Handshake { kind: 2, body } => {
                match ServerHello::parse(body, at.transport) {
                    Some(hello) => {
                        self.ja3s.add(hello.ja3s.as_str());
                        if let Some(counter) = &mut self.ja4s {
                            counter.add(&server_ja4s(&hello, at.transport));
                        }
                        connection
                            .step(side, if hello.hello_retry_request { "hello_retry_request" } else { "server_hello" });
                        // Until a ServerHello agrees, a later one replaces a retry request.
                        let replaces = connection.server_hello.as_ref().is_none_or(|h| h.hello_retry_request);
                        if hello.hello_retry_request {
                            connection.hello_retry = true;
                        } else if replaces {
                            self.versions.add(&version_name(hello.version));
                            self.cipher_suites.add(&cipher_suite_name(hello.cipher_suite));
                            if let Some(alpn) = &hello.alpn {
                                self.alpn_selected.add(alpn.as_str());
                            }
                        }
                        if replaces {
                            connection.server_hello = Some(hello);
                        }
                    }
                    None => {
                        self.malformed_hellos += 1;
                        connection.step(side, "server_hello");
                    }
                }
            }
            Event::Handshake { kind: 11, body } => {
                connection.certificates += 1;
                connection.step(side, handshake_name(11));
                let presented = Presentation {
                    frame: at.frame.number,
                    time: at.frame.timestamp,
                    sender: from,
                    by_client: side == Side::Client,
                    server_name: connection.client_hello.as_ref().and_then(|h| h.server_name.as_deref()),
                };
                let summary = self.certificate_table.message(body, &presented);
                if side == Side::Server && connection.certificate.is_none() {
                    connection.certificate = summary;
                }
            }
            Event::Handshake { kind, .. } => connection.step(side, handshake_name(kind)),
            Event::OversizedHandshake { kind, .. } => connection.step(side, handshake_name(kind)),
            Event::EncryptedHandshake => {
                // Before TLS 1.3, nothing but a new handshake (or the
                // server's HelloRequest asking for one) follows a side's
                // Finished. (A client may send application data before the
                // server's Finished: TLS False Start, RFC 7918.)
                let before_tls13 = connection.server_hello.as_ref().is_some_and(|h| rank(h.version) < 0x0304);
                let after_finished = connection.encrypted_handshakes[side as usize] > 0;
                connection.encrypted_handshakes[side as usize] += 1;
                if before_tls13
                    && after_finished
                    && connection.application_records != [0, 0]
                    && !connection.renegotiated
                {
                    connection.renegotiated = true;
                    connection.step(side, "renegotiation");
                }
                connection.step(side, "encrypted_handshake");
            }
            Event::ChangeCipherSpec => {
                connection.change_cipher_spec[side as usize] = true;
                connection.step(side, "change_cipher_spec");
            }
            Event::Alert { level, description } => {
                connection.step(side, "alert");
                if level == 2 && connection.fatal_alert.is_none() && !connection.established() {
                    connection.fatal_alert = Some((side, description));
                }
                if connection.alerts.len() < MAX_ALERTS {
                    connection.alerts.push(AlertEntry {
                        frame: at.frame.number,
                        from: side,
                        level: if level == 2 { "fatal" } else { "warning" },
                        description: alert_name(description),
                    });
                }
            }
            Event::EncryptedAlert => connection.step(side, "encrypted_alert"),
            Event::ApplicationData { bytes } => {
                connection.application_records[side as usize] += 1;
                connection.application_bytes[side as usize] += bytes as u64;
            }
            Event::Heartbeat { .. } => connection.step(side, "heartbeat"),
            Event::LostSync => connection.lost_sync = true,
        }
    }

    /// The capture-wide counters.
    fn count(&mut self, event: &Event<'_>) {
        match event {
            Event::Handshake { kind, .. } => *self.handshake_messages.entry(handshake_name(*kind)).or_default() += 1,
            Event::Sslv2ClientHello { .. } => {
                *self.handshake_messages.entry("client_hello").or_default() += 1;
                self.sslv2_client_hellos += 1;
            }
            Event::OversizedHandshake { kind, .. } => {
                self.oversized_handshakes += 1;
                *self.handshake_messages.entry(handshake_name(*kind)).or_default() += 1;
            }
            Event::EncryptedHandshake => self.encrypted_handshake_records += 1,
            Event::ChangeCipherSpec => self.change_cipher_specs += 1,
            Event::Alert { description, .. } => {
                *self.alerts.entry(alert_name(*description).to_string()).or_default() += 1
            }
            Event::EncryptedAlert => self.encrypted_alerts += 1,
            Event::ApplicationData { bytes } => {
                self.application_data_records += 1;
                self.application_data_bytes += *bytes as u64;
            }
            Event::Heartbeat { .. } => self.heartbeats += 1,
            Event::LostSync => {}
        }
    }

    pub fn finish(mut self) -> Finished {
        let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        let mut on_other_ports = 0u64;
        let mut resumed = 0u64;
        let mut downgrades: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut renegotiated = 0u64;
        let order = std::mem::take(&mut self.order);
        for key in &order {
            let c = &self.connections[key];
            let outcome = c.outcome();
            *outcomes.entry(outcome).or_default() += 1;
            if let Some((side, description)) = c.fatal_alert {
                *failures.entry(format!("{} from {}", alert_name(description), side.name())).or_default() += 1;
            }
            let (client, server) = endpoints(key, c);
            if !TLS_PORTS.contains(&server.1) {
                on_other_ports += 1;
            }
            let resumed_here = resumed_session(c);
            resumed += u64::from(resumed_here);
            let downgrade = downgrade_signs(c);
            for sign in &downgrade {
                *downgrades.entry(sign).or_default() += 1;
            }
            renegotiated += u64::from(c.renegotiated);
            let ja4s = self.ja4s.is_some();
            self.page.offer(|| entry(c, client, server, outcome, resumed_here, downgrade, ja4s));
        }
        let (connections, pagination) = self.page.finish();
        let counts = |c: &TopCounter<String>| OrderedMap(c.top(TOP));
        let tables_exact = [
            &self.versions,
            &self.versions_offered,
            &self.cipher_suites,
            &self.server_names,
            &self.alpn_offered,
            &self.alpn_selected,
            &self.ja4,
            &self.ja3,
            &self.ja3s,
            &self.key_shares,
        ]
        .iter()
        .all(|t| t.is_exact())
            && self.ja4s.as_ref().is_none_or(TopCounter::is_exact);
        let statistics = Statistics {
            connections: order.len() as u64,
            connections_untracked_events: self.untracked_events,
            outcomes: outcomes.into_iter().map(|(o, n)| (o.name().to_string(), n)).collect(),
            failures: failures.into_iter().collect(),
            handshake_messages: self.handshake_messages.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            encrypted_handshake_records: self.encrypted_handshake_records,
            change_cipher_specs: self.change_cipher_specs,
            application_data_records: self.application_data_records,
            application_data_bytes: self.application_data_bytes,
            heartbeats: self.heartbeats,
            alerts: self.alerts.into_iter().collect(),
            encrypted_alerts: self.encrypted_alerts,
            versions: counts(&self.versions),
            highest_versions_offered: counts(&self.versions_offered),
            cipher_suites: counts(&self.cipher_suites),
            server_names: counts(&self.server_names),
            client_hellos_without_server_name: self.client_hellos_without_sni,
            alpn_offered: counts(&self.alpn_offered),
            alpn_selected: counts(&self.alpn_selected),
            ja4: counts(&self.ja4),
            ja3: counts(&self.ja3),
            ja3s: counts(&self.ja3s),
            key_shares: counts(&self.key_shares),
            ja4s: self.ja4s.as_ref().map(counts),
            resumed_sessions: resumed,
            downgrades: downgrades.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            renegotiated_connections: renegotiated,
            on_other_ports,
            quic_connections: self.quic_connections,
            dtls_connections: self.dtls_connections,
            malformed_hellos: self.malformed_hellos,
            sslv2_client_hellos: self.sslv2_client_hellos,
            oversized_handshake_messages: self.oversized_handshakes,
            tables_exact,
        };
        Finished {
            statistics,
            connections,
            pagination,
            connection_count: order.len(),
            certificates: self.certificate_table,
        }
    }
}

/// Client and server endpoints: by the hellos, else the first sender is
/// taken for the client unless it sent from a TLS port.
fn endpoints(key: &ConnectionKey, c: &Connection) -> (Endpoint, Endpoint) {
    let other = |e: Endpoint| if e == key.0 { key.1 } else { key.0 };
    if let Some(client) = c.client {
        return (client, other(client));
    }
    let first = c.first_sender.unwrap_or(key.0);
    if TLS_PORTS.contains(&first.1) && !TLS_PORTS.contains(&other(first).1) {
        (other(first), first)
    } else {
        (first, other(first))
    }
}

/// TLS 1.2 and earlier: the server echoed the client's session ID (an
/// abbreviated handshake). TLS 1.3 resumption is in encrypted messages.
fn resumed_session(c: &Connection) -> bool {
    match (&c.client_hello, &c.server_hello) {
        (Some(ch), Some(sh)) => !ch.session_id.is_empty() && ch.session_id == sh.session_id && sh.version < 0x0304,
        _ => false,
    }
}

/// A ServerHello's JA4S.
fn server_ja4s(hello: &ServerHello, transport: Transport) -> String {
    crate::fingerprint::ja4s(transport, hello.version, hello.cipher_suite, &hello.extensions, &hello.alpn_bytes)
}

/// What says a connection agreed to less than its client could do: see
/// [`ConnectionEntry::downgrade`].
fn downgrade_signs(c: &Connection) -> Vec<&'static str> {
    let mut signs = Vec::new();
    let ch = c.client_hello.as_ref();
    if ch.is_some_and(|h| h.fallback_scsv) {
        signs.push("fallback_scsv");
    }
    let Some(sh) = c.server_hello.as_ref().filter(|h| !h.hello_retry_request) else { return signs };
    if let Some(ch) = ch {
        let offered = ch.highest_version();
        if rank(sh.version) < rank(offered) {
            signs.push("version_below_offered");
        }
        if sh.downgrade_sentinel && rank(offered) >= 0x0304 {
            signs.push("downgrade_sentinel");
        }
    }
    if weak_cipher_suite(sh.cipher_suite) {
        signs.push("weak_cipher");
    }
    signs
}

fn entry(
    c: &Connection,
    client: Endpoint,
    server: Endpoint,
    outcome: Outcome,
    resumed: bool,
    downgrade: Vec<&'static str>,
    with_ja4s: bool,
) -> ConnectionEntry {
    let ch = c.client_hello.as_ref();
    let sh = c.server_hello.as_ref().filter(|h| !h.hello_retry_request);
    let versions_offered = ch.map(|h| {
        let listed =
            if h.supported_versions.is_empty() { vec![h.legacy_version] } else { h.supported_versions.clone() };
        listed.into_iter().filter(|v| !is_grease(*v)).map(version_name).collect()
    });
    ConnectionEntry {
        client: client.0.to_string(),
        client_port: client.1,
        server: server.0.to_string(),
        server_port: server.1,
        first_frame: c.first_frame,
        start: c.first_time.map(|t| t.to_rfc3339()),
        duration_s: match (c.first_time, c.last_time) {
            (Some(first), Some(last)) => Some((last.seconds_since(first) * 1e6).round() / 1e6),
            _ => None,
        },
        server_name: ch.and_then(|h| h.server_name.clone()),
        alpn_offered: ch.map(|h| h.alpn.clone()).unwrap_or_default(),
        alpn: sh.and_then(|h| h.alpn.clone()),
        versions_offered: versions_offered.unwrap_or_default(),
        version: sh.map(|h| version_name(h.version)),
        cipher_suite: sh.map(|h| cipher_suite_name(h.cipher_suite)),
        cipher_suites_offered: ch.map(|h| h.cipher_suites),
        ja4: ch.and_then(|h| h.ja4.clone()),
        ja3: ch.and_then(|h| h.ja3.clone()),
        ja3s: sh.map(|h| h.ja3s.clone()),
        groups_offered: ch.map(|h| h.groups.iter().map(|g| group_name(*g)).collect()).unwrap_or_default(),
        key_shares: ch.map(|h| h.key_shares.iter().map(|g| group_name(*g)).collect()).unwrap_or_default(),
        ja4s: sh.filter(|_| with_ja4s).map(|h| server_ja4s(h, c.transport)),
        client_hellos: c.client_hellos,
        hello_retry_request: c.hello_retry,
        resumed,
        downgrade,
        renegotiated: c.renegotiated,
        resumption_offered: ch.is_some_and(|h| h.resumption_offered),
        encrypted_client_hello: ch.is_some_and(|h| h.encrypted_client_hello),
        certificate_messages: c.certificates,
        certificate: c.certificate.clone(),
        transport: c.transport.name(),
        quic_version: c.quic_version.map(crate::quic::version_name),
        outcome,
        failure: c.fatal_alert.map(|(side, d)| format!("{} from {}", alert_name(d), side.name())),
        alerts: c.alerts.clone(),
        handshake: c.steps.iter().map(|(side, what)| format!("{}: {what}", side.name())).collect(),
        handshake_steps_dropped: c.steps_dropped,
        application_data_records_client: c.application_records[0],
        application_data_records_server: c.application_records[1],
        application_data_bytes_client: c.application_bytes[0],
        application_data_bytes_server: c.application_bytes[1],
        lost_sync: c.lost_sync,
        ended: c.ended.map(end_name),
    }
}

fn end_name(end: End) -> &'static str {
    match end {
        End::Closed => "fin",
        End::Reset => "reset",
        End::Reused => "port_reused",
        End::Evicted => "evicted",
        End::CaptureEnded => "capture_ended",
    }
}
