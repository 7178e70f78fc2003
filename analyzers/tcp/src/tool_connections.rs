//! `analyze_tcp_connections`: mcpcap's summary, issues and connection list,
//! plus Zeek's connection states, close methods and handshake times; the
//! list is paged in order of each connection's first packet.

use std::collections::BTreeMap;

use pcapsule_guest::conventions::{Header, Paging, Spread};
use pcapsule_guest::{RunContext, RunError};
use serde_json::Value;

use crate::conn::{CLIENT, Connection, Handshake, SERVER};
use crate::report;
use crate::result::{ConnectionEntry, ConnectionsResult, ConnectionsSummary, PayloadBytes};
use crate::scan::{Filter, Scanned, round6};
use crate::segment::Segment;
use crate::tracker::Sink;

/// Running min/avg/max.
#[derive(Default)]
pub struct Stat {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Stat {
    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        if self.n == 0 || x < self.min {
            self.min = x;
        }
        if self.n == 0 || x > self.max {
            self.max = x;
        }
        self.n += 1;
        self.sum += x;
    }

    /// `{count, min, avg, max}`, or null without values.
    pub fn summary(&self) -> Option<Spread> {
        (self.n > 0).then(|| Spread {
            count: self.n,
            min: round6(self.min),
            avg: round6(self.sum / self.n as f64),
            max: round6(self.max),
        })
    }
}

/// The sink of `analyze_tcp_connections`.
pub struct Connections {
    detailed: bool,
    paging: Paging,
    page: BTreeMap<u64, ConnectionEntry>,
    total: u64,
    successful: u64,
    failed: u64,
    not_seen: u64,
    reset: u64,
    normal: u64,
    retransmissions: u64,
    zero_windows: u64,
    evicted_open: u64,
    suspicious_rsts: u64,
    conn_states: BTreeMap<&'static str, u64>,
    close_methods: BTreeMap<&'static str, u64>,
    closed_by: BTreeMap<&'static str, u64>,
    payload: [u64; 2],
    handshake_rtt: Stat,
}

impl Connections {
    /// A sink returning the page `paging` of connections.
    pub fn new(detailed: bool, paging: Paging) -> Self {
        Connections {
            detailed,
            paging,
            page: BTreeMap::new(),
            total: 0,
            successful: 0,
            failed: 0,
            not_seen: 0,
            reset: 0,
            normal: 0,
            retransmissions: 0,
            zero_windows: 0,
            evicted_open: 0,
            suspicious_rsts: 0,
            conn_states: BTreeMap::new(),
            close_methods: BTreeMap::new(),
            closed_by: BTreeMap::new(),
            payload: [0; 2],
            handshake_rtt: Stat::default(),
        }
    }
}

impl Sink for Connections {
    fn segment(&mut self, _: &Connection, _: usize, _: &Segment, _: u32) {}

    fn finished(&mut self, c: &Connection) {
        self.total += 1;
        match c.handshake() {
            Handshake::Completed => self.successful += 1,
            Handshake::Failed => self.failed += 1,
            Handshake::NotSeen => self.not_seen += 1,
        }
        match c.close_reason() {
            "reset" => self.reset += 1,
            "normal" => self.normal += 1,
            _ => {}
        }
        self.retransmissions += u64::from(c.total(|d| d.retransmissions));
        self.zero_windows += u64::from(c.total(|d| d.zero_windows));
        self.evicted_open += u64::from(c.evicted && !c.is_closed());
        self.suspicious_rsts += u64::from(c.has_suspicious_rst());
        *self.conn_states.entry(c.conn_state()).or_default() += 1;
        *self.close_methods.entry(c.close_method()).or_default() += 1;
        if let Some(f) = c.first_close {
            *self.closed_by.entry(if f.side == CLIENT { "client" } else { "server" }).or_default() += 1;
        }
        self.payload[CLIENT] += c.sides[CLIENT].stats.payload_bytes;
        self.payload[SERVER] += c.sides[SERVER].stats.payload_bytes;
        if let Some(rtt) = c.handshake_rtt_ms() {
            self.handshake_rtt.add(rtt);
        }
        let id = c.id as usize;
        if id >= self.paging.offset && id - self.paging.offset < self.paging.limit {
            self.page.insert(c.id, report::connection(c, self.detailed));
        }
    }
}

impl Connections {
    /// The result.
    pub fn finish(self, ctx: &RunContext, filter: Filter, scanned: Scanned, budget: usize) -> Result<Value, RunError> {
        let failed = self.failed;
        let state = |s: &str| self.conn_states.get(s).copied().unwrap_or(0);
        let mut issues = Vec::new();
        if self.reset > 0 {
            issues.push(format!("{} connections terminated by RST", self.reset));
        }
        if self.suspicious_rsts > 0 {
            issues.push(format!(
                "{} connections carry a RST likely not sent by the host it names (TTL unlike the host's other \
                 packets, or the host carried on after it): injected or sent by a middlebox, not a refusal; \
                 see suspicious_rst on each connection",
                self.suspicious_rsts
            ));
        }
        if self.retransmissions > 0 {
            issues.push(format!("{} retransmissions detected", self.retransmissions));
        }
        if failed > 0 {
            issues.push(format!("{failed} failed handshakes"));
        }
        if self.not_seen > 0 {
            issues.push(format!(
                "{} connections started before the capture (no SYN captured): their handshake was not seen, \
                 which is not a failure",
                self.not_seen
            ));
        }
        if state("S0") > 0 {
            issues.push(format!("{} connection attempts got no answer (conn_state S0)", state("S0")));
        }
        if state("REJ") > 0 {
            issues.push(format!("{} connection attempts were rejected with RST (conn_state REJ)", state("REJ")));
        }
        if self.zero_windows > 0 {
            issues.push(format!("{} zero-window advertisements (a receiver could not keep up)", self.zero_windows));
        }
        let (connections, pagination) = self.paging.page_of(self.page.into_values(), self.total as usize);
        let message = if scanned.counts.tcp_packets == 0 {
            Some("No TCP packets found in this capture")
        } else if self.total == 0 {
            Some("No TCP packets match the filter")
        } else {
            None
        };
        let result = ConnectionsResult {
            header: Header::new(ctx),
            total_packets: scanned.counts.packets,
            tcp_packets_found: scanned.counts.tcp_packets,
            filter: filter.echo(),
            summary: ConnectionsSummary {
                total_connections: self.total,
                successful_handshakes: self.successful,
                failed_handshakes: failed,
                handshakes_not_seen: self.not_seen,
                established_connections: self.successful,
                reset_connections: self.reset,
                normal_close: self.normal,
                active_connections: self.total - self.reset - self.normal,
                conn_states: self.conn_states,
                close_methods: self.close_methods,
                closed_by: self.closed_by,
                total_retransmissions: self.retransmissions,
                payload_bytes: PayloadBytes {
                    client_to_server: self.payload[CLIENT],
                    server_to_client: self.payload[SERVER],
                },
                handshake_rtt_ms: self.handshake_rtt.summary(),
                connections_evicted_open: self.evicted_open,
                suspicious_rst_connections: self.suspicious_rsts,
            },
            connections,
            pagination,
            issues,
            message,
            tail: scanned.tail(),
        };
        pcapsule_guest::conventions::into_paged_result(&result, "connections", self.paging, budget)
    }
}
