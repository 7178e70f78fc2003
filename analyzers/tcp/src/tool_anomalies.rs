//! `analyze_tcp_anomalies`: mcpcap's statistics and observed patterns, with
//! Wireshark's anomaly counts and what scans and floods look like: SYNs
//! nobody answers, SYNs to many ports of one host or to one port of many
//! hosts, and RSTs by direction.

use std::collections::BTreeMap;

use pcapsule_guest::fast_hash::{HashMap, HashSet, map_with_capacity};
use std::net::{IpAddr, SocketAddr};

use pcapsule_guest::conventions::{Header, Observation, OrderedMap};
use pcapsule_guest::{RunContext, RunError};
use serde_json::{Value, json};

use crate::conn::{Connection, Handshake, SERVER};
use crate::result::{
    AnomaliesResult, AnomalyStatistics, ConnectionStates, Finding, FlagCounts, Handshakes, Outcomes, Pattern,
    PatternSummary, RetransmissionFigures, RstDirections, RstDistribution, Thresholds,
};
use crate::scan::{Filter, Scanned, ratio};
use crate::segment::{Segment, flag};
use crate::seqanalysis::verdict;
use crate::top::TopK;
use crate::tracker::Sink;
use pcapsule_guest::bounded::TopCounter;

/// Distinct ports of one host a source must try to count as a port scan.
pub const PORT_SCAN_MIN_PORTS: usize = 20;
/// Distinct hosts a source must try on one port to count as a host sweep.
pub const HOST_SWEEP_MIN_HOSTS: usize = 20;
/// Unanswered connection attempts to one server endpoint that suggest a SYN flood.
pub const SYN_FLOOD_MIN_UNANSWERED: u64 = 100;
/// Distinct values remembered per scan candidate: enough to cross the
/// thresholds above and report a lower bound beyond them.
const DISTINCT_CAP: usize = 256;
/// Scan candidates (source and target) remembered at once.
const CANDIDATES_CAP: usize = 4096;
/// Entries in lists and maps of the result.
const TOP_N: usize = 20;
/// The largest scans, sweeps or flooded targets a notable observation quotes.
const EXAMPLES: usize = 3;
/// mcpcap's fixed retransmission-rate baseline in the patterns.
const RETRANSMISSION_BASELINE: f64 = 0.02;

/// How a connection attempt (a client SYN) was answered.
impl Outcomes {
    fn add(&mut self, c: &Connection) {
        let server = &c.sides[SERVER].stats;
        self.attempts += 1;
        if server.syn_ack > 0 {
            self.answered += 1;
        } else if server.rst > 0 {
            self.rejected += 1;
        } else if server.packets == 0 {
            self.unanswered += 1;
        }
    }
}

/// Distinct values for one scan candidate, bounded.
struct Distinct<T> {
    seen: HashSet<T>,
    saturated: bool,
    outcomes: Outcomes,
}

impl<T: std::hash::Hash + Eq> Distinct<T> {
    fn insert(&mut self, value: T) {
        if self.seen.len() < DISTINCT_CAP {
            self.seen.insert(value);
        } else if !self.seen.contains(&value) {
            self.saturated = true;
        }
    }
}

/// Scan candidates keyed by `K`, each with the distinct `T`s it tried.
struct Candidates<K, T> {
    map: HashMap<K, Distinct<T>>,
    /// Candidates forgotten to stay bounded (the ones that tried the fewest values).
    dropped: u64,
}

impl<K: std::hash::Hash + Eq + Copy + Ord, T: std::hash::Hash + Eq> Candidates<K, T> {
    fn new() -> Self {
        // Sized once for the cap (twice it: pruning leaves tombstones), so
        // the map never grows however long the capture.
        Candidates { map: map_with_capacity(2 * CANDIDATES_CAP), dropped: 0 }
    }

    fn add(&mut self, key: K, value: T, c: &Connection) {
        if !self.map.contains_key(&key) && self.map.len() >= CANDIDATES_CAP {
            let mut threshold = 1;
            while self.map.len() > CANDIDATES_CAP / 2 {
                let before = self.map.len();
                self.map.retain(|_, d| d.seen.len() > threshold);
                self.dropped += (before - self.map.len()) as u64;
                threshold *= 2;
            }
        }
        let entry = self.map.entry(key).or_insert_with(|| Distinct {
            seen: HashSet::default(),
            saturated: false,
            outcomes: Outcomes::default(),
        });
        entry.insert(value);
        entry.outcomes.add(c);
    }

    /// Candidates with at least `min` distinct values, most first.
    fn over(&self, min: usize) -> (usize, Vec<(K, &Distinct<T>)>) {
        let mut all: Vec<(K, &Distinct<T>)> =
            self.map.iter().filter(|(_, d)| d.seen.len() >= min).map(|(k, d)| (*k, d)).collect();
        all.sort_by(|a, b| b.1.seen.len().cmp(&a.1.seen.len()).then(a.0.cmp(&b.0)));
        let total = all.len();
        all.truncate(TOP_N);
        (total, all)
    }
}

/// The sink of `analyze_tcp_anomalies`.
pub struct Anomalies {
    server_ip: Option<IpAddr>,
    packets: u64,
    flags: [u64; 5],
    verdicts: BTreeMap<&'static str, u64>,
    rst_by_source: TopCounter<IpAddr>,
    rst_to_server: u64,
    rst_from_server: u64,
    rst_connections: Vec<String>,
    rst_connection_count: u64,
    retransmissions: u64,
    retrans_by_connection: TopK<(u32, u64, String)>,
    connections: u64,
    successful: u64,
    failed: u64,
    midstream: u64,
    states: [u64; 4],
    conn_states: BTreeMap<&'static str, u64>,
    attempts: Outcomes,
    unanswered_targets: TopCounter<SocketAddr>,
    port_scans: Candidates<(IpAddr, IpAddr), u16>,
    host_sweeps: Candidates<(IpAddr, u16), IpAddr>,
    zero_window_connections: u64,
    /// Connections with a suspicious RST, and the first few of them.
    suspicious_rst_connections: u64,
    suspicious_rst_examples: Vec<Value>,
}

const VERDICT_NAMES: [(u32, &str); 9] = [
    (verdict::FAST_RETRANSMISSION, "fast_retransmissions"),
    (verdict::SPURIOUS_RETRANSMISSION, "spurious_retransmissions"),
    (verdict::OUT_OF_ORDER, "out_of_order"),
    (verdict::DUPLICATE_ACK, "duplicate_acks"),
    (verdict::LOST_SEGMENT, "lost_segments"),
    (verdict::ZERO_WINDOW, "zero_windows"),
    (verdict::ZERO_WINDOW_PROBE, "zero_window_probes"),
    (verdict::KEEP_ALIVE, "keep_alives"),
    (verdict::WINDOW_UPDATE, "window_updates"),
];

impl Anomalies {
    /// A sink; `server_ip` decides RST directions as mcpcap does when given.
    pub fn new(server_ip: Option<IpAddr>) -> Self {
        Anomalies {
            server_ip,
            packets: 0,
            flags: [0; 5],
            verdicts: VERDICT_NAMES.iter().map(|(_, n)| (*n, 0)).collect(),
            rst_by_source: TopCounter::presized(4096),
            rst_to_server: 0,
            rst_from_server: 0,
            rst_connections: Vec::new(),
            rst_connection_count: 0,
            retransmissions: 0,
            retrans_by_connection: TopK::new(TOP_N, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1))),
            connections: 0,
            successful: 0,
            failed: 0,
            midstream: 0,
            states: [0; 4],
            conn_states: BTreeMap::new(),
            attempts: Outcomes::default(),
            unanswered_targets: TopCounter::presized(4096),
            port_scans: Candidates::new(),
            host_sweeps: Candidates::new(),
            zero_window_connections: 0,
            suspicious_rst_connections: 0,
            suspicious_rst_examples: Vec::new(),
        }
    }
}

impl Sink for Anomalies {
    fn segment(&mut self, _: &Connection, side: usize, s: &Segment, v: u32) {
        self.packets += 1;
        for (i, yes) in [s.has(flag::SYN), s.is_syn_ack(), s.has(flag::RST), s.has(flag::FIN), s.has(flag::ACK)]
            .into_iter()
            .enumerate()
        {
            self.flags[i] += u64::from(yes);
        }
        if s.has(flag::RST) {
            self.rst_by_source.add_n(&s.src, 1);
            let from_server = match self.server_ip {
                Some(ip) => s.src == ip,
                None => side == SERVER,
            };
            if from_server {
                self.rst_from_server += 1;
            } else {
                self.rst_to_server += 1;
            }
        }
        self.retransmissions += u64::from(v & verdict::RETRANSMISSION != 0);
        for (bit, name) in VERDICT_NAMES {
            if v & bit != 0 {
                *self.verdicts.entry(name).or_default() += 1;
            }
        }
    }

    fn finished(&mut self, c: &Connection) {
        self.connections += 1;
        match c.handshake() {
            Handshake::Completed => self.successful += 1,
            Handshake::Failed => self.failed += 1,
            Handshake::NotSeen => self.midstream += 1,
        }
        *self.conn_states.entry(c.conn_state()).or_default() += 1;
        let state = match c.close_reason() {
            "reset" => 1,
            "normal" => 2,
            _ if c.handshake_completed => 0,
            _ => 3,
        };
        self.states[state] += 1;
        if c.has_suspicious_rst() {
            self.suspicious_rst_connections += 1;
            // The entry (and its sentence) is built for the examples only.
            if self.suspicious_rst_examples.len() < EXAMPLES
                && let Some(suspicious) = crate::report::suspicious_rst(c)
            {
                self.suspicious_rst_examples.push(json!({"connection": c.name(), "reason": suspicious.reason}));
            }
        }
        if c.total(|d| d.rst) > 0 {
            self.rst_connection_count += 1;
            if self.rst_connections.len() < TOP_N {
                self.rst_connections.push(c.name());
            }
        }
        let retrans = c.total(|d| d.retransmissions);
        if retrans > 0 {
            self.retrans_by_connection.offer((retrans, c.id, c.name()));
        }
        self.zero_window_connections += u64::from(c.total(|d| d.zero_windows) > 0);
        if c.attempted() {
            self.attempts.add(c);
            let server = &c.sides[SERVER].stats;
            if server.packets == 0 {
                self.unanswered_targets.add_n(&c.server, 1);
            }
            self.port_scans.add((c.client.ip(), c.server.ip()), c.server.port(), c);
            self.host_sweeps.add((c.client.ip(), c.server.port()), c.server.ip(), c);
        }
    }
}

fn pattern(pattern: &'static str, category: &'static str, observations: Value, description: String) -> Pattern {
    Pattern { pattern, category, observations, description }
}

impl Anomalies {
    /// The result.
    pub fn finish(
        mut self,
        ctx: &RunContext,
        filter: Filter,
        scanned: Scanned,
        budget: usize,
    ) -> Result<Value, RunError> {
        let rate = ratio(self.retransmissions, self.packets);
        let failed = self.failed;
        let by_connection =
            OrderedMap(self.retrans_by_connection.into_sorted().into_iter().map(|(n, _, name)| (name, n)).collect());
        let by_source =
            OrderedMap(self.rst_by_source.top(TOP_N).into_iter().map(|(ip, n)| (ip.to_string(), n)).collect());
        let [syn, syn_ack, rst, fin, ack] = self.flags;
        let statistics = AnomalyStatistics {
            total_connections: self.connections,
            total_packets: self.packets,
            handshake: Handshakes { successful: self.successful, failed, incomplete: self.midstream },
            flags: FlagCounts { syn, syn_ack, rst, fin, ack },
            rst_distribution: RstDistribution {
                by_source,
                by_source_exact: self.rst_by_source.is_exact() && self.rst_by_source.len() <= TOP_N,
                by_direction: RstDirections {
                    to_server: self.rst_to_server,
                    from_server: self.rst_from_server,
                    unknown: 0,
                },
                direction_from: if self.server_ip.is_some() { "server_ip" } else { "connection_roles" },
                connections_with_rst: self.rst_connections,
                connections_with_rst_total: self.rst_connection_count,
            },
            retransmissions: RetransmissionFigures { total: self.retransmissions, by_connection, rate },
            connection_states: ConnectionStates {
                established: self.states[0],
                reset: self.states[1],
                closed: self.states[2],
                unknown: self.states[3],
            },
            conn_states: self.conn_states,
            analysis: self.verdicts,
            connection_attempts: self.attempts,
        };

        let mut patterns = Vec::new();
        let mut notable = Vec::new();
        let total_rst = self.rst_to_server + self.rst_from_server;
        if total_rst > 0 {
            let r = ratio(self.rst_to_server, total_rst);
            patterns.push(pattern(
                "rst_directional_asymmetry",
                "connection_termination",
                json!({
                    "rst_to_server": self.rst_to_server,
                    "rst_from_server": self.rst_from_server,
                    "ratio": r,
                    "affected_connections": statistics.rst_distribution.connections_with_rst,
                }),
                format!(
                    "RST packets show directional bias: {} toward server, {} from server",
                    self.rst_to_server, self.rst_from_server
                ),
            ));
            if !(0.1..=0.9).contains(&r) {
                notable.push(Observation::new(
                    Finding::StrongRstAsymmetry,
                    format!("RST packets heavily biased: {:.1}% toward the server", r * 100.0),
                ));
            }
        }
        if self.suspicious_rst_connections > 0 {
            notable.push(
                Observation::new(
                    Finding::PossibleInjectedRst,
                    format!(
                        "{} connections carry a RST likely not sent by the host whose address it has (TTL unlike \
                         that host's other packets, or the host carried on after it): forged resets or a middlebox \
                         in the path, not the host refusing or aborting",
                        self.suspicious_rst_connections
                    ),
                )
                .with_examples(std::mem::take(&mut self.suspicious_rst_examples)),
            );
        }
        if rate > 0.0 {
            let exceeds = rate > RETRANSMISSION_BASELINE;
            patterns.push(pattern(
                "packet_retransmission",
                "reliability",
                json!({
                    "total_retransmissions": self.retransmissions,
                    "total_packets": self.packets,
                    "rate": rate,
                    "threshold": RETRANSMISSION_BASELINE,
                    "exceeds_threshold": exceeds,
                    "by_connection": statistics.retransmissions.by_connection,
                }),
                format!(
                    "Retransmission rate: {:.2}% ({}/{} packets)",
                    rate * 100.0,
                    self.retransmissions,
                    self.packets
                ),
            ));
            if exceeds {
                notable.push(Observation::new(
                    Finding::HighRetransmission,
                    format!("Retransmission rate {:.2}% exceeds the typical threshold of 2%", rate * 100.0),
                ));
            }
        }
        if failed > 0 {
            // Over the handshakes the capture saw: a connection joined
            // mid-stream says nothing about how its handshake went.
            let failure_rate = ratio(failed, self.successful + failed);
            patterns.push(pattern(
                "handshake_completion",
                "connection_establishment",
                json!({"successful": self.successful, "failed": failed, "failure_rate": failure_rate}),
                format!(
                    "Handshake success rate: {:.1}% ({}/{})",
                    (1.0 - failure_rate) * 100.0,
                    self.successful,
                    self.successful + failed
                ),
            ));
        }
        if self.connections > 0 {
            let reset_rate = ratio(self.states[1], self.connections);
            if reset_rate > 0.1 {
                patterns.push(pattern(
                    "abnormal_termination",
                    "connection_lifecycle",
                    json!({"reset_count": self.states[1], "normal_close": self.states[2],
                           "total_connections": self.connections, "reset_rate": reset_rate}),
                    format!(
                        "{:.1}% of connections terminated by RST ({}/{})",
                        reset_rate * 100.0,
                        self.states[1],
                        self.connections
                    ),
                ));
            }
        }
        if syn > 0 {
            let response_ratio = ratio(syn_ack, syn);
            if response_ratio < 0.5 {
                patterns.push(pattern(
                    "syn_response_imbalance",
                    "connection_establishment",
                    json!({"syn_count": syn, "syn_ack_count": syn_ack, "response_ratio": response_ratio}),
                    format!("Only {:.1}% of SYN packets received a SYN-ACK response", response_ratio * 100.0),
                ));
            }
        }
        let a = self.attempts;
        if a.unanswered > 0 {
            let targets: Vec<Value> = self
                .unanswered_targets
                .top(TOP_N)
                .into_iter()
                .map(|(server, n)| json!({"server": server.to_string(), "unanswered": n}))
                .collect();
            patterns.push(pattern(
                "unanswered_syns",
                "connection_establishment",
                json!({"attempts": a.attempts, "answered": a.answered, "rejected": a.rejected,
                       "unanswered": a.unanswered, "unanswered_rate": ratio(a.unanswered, a.attempts),
                       "top_targets": targets}),
                format!("{} of {} connection attempts got no packet back from the server", a.unanswered, a.attempts),
            ));
            let flooded: Vec<Value> = self
                .unanswered_targets
                .top(TOP_N)
                .into_iter()
                .filter(|(_, n)| *n >= SYN_FLOOD_MIN_UNANSWERED)
                .map(|(server, n)| json!({"server": server.to_string(), "unanswered": n}))
                .collect();
            if !flooded.is_empty() {
                let detail = format!(
                    "{} unanswered SYNs to {}: a SYN flood, or a server that is down or filtered",
                    flooded[0]["unanswered"],
                    flooded[0]["server"].as_str().unwrap_or("")
                );
                patterns.push(pattern(
                    "possible_syn_flood",
                    "security",
                    json!({"targets": flooded, "threshold": SYN_FLOOD_MIN_UNANSWERED}),
                    detail.clone(),
                ));
                notable.push(
                    Observation::new(Finding::PossibleSynFlood, detail).with_examples(flooded.iter().take(EXAMPLES)),
                );
            }
        }
        let (scan_total, scans) = self.port_scans.over(PORT_SCAN_MIN_PORTS);
        if scan_total > 0 {
            let list: Vec<Value> = scans
                .iter()
                .map(|((src, dst), d)| {
                    json!({"source": src.to_string(), "target": dst.to_string(), "distinct_ports": d.seen.len(),
                           "distinct_ports_exact": !d.saturated, "outcomes": d.outcomes})
                })
                .collect();
            let detail = format!(
                "{} tried {}{} ports on {}",
                list[0]["source"].as_str().unwrap_or(""),
                list[0]["distinct_ports"],
                if scans[0].1.saturated { "+" } else { "" },
                list[0]["target"].as_str().unwrap_or("")
            );
            patterns.push(pattern(
                "port_scan",
                "security",
                json!({"scans": list, "scans_total": scan_total, "threshold": PORT_SCAN_MIN_PORTS}),
                format!("{scan_total} source/target pairs with connection attempts to many ports; largest: {detail}"),
            ));
            notable.push(Observation::new(Finding::PortScan, detail).with_examples(list.iter().take(EXAMPLES)));
        }
        let (sweep_total, sweeps) = self.host_sweeps.over(HOST_SWEEP_MIN_HOSTS);
        if sweep_total > 0 {
            let list: Vec<Value> = sweeps
                .iter()
                .map(|((src, port), d)| {
                    json!({"source": src.to_string(), "port": port, "distinct_hosts": d.seen.len(),
                           "distinct_hosts_exact": !d.saturated, "outcomes": d.outcomes})
                })
                .collect();
            let detail = format!(
                "{} tried port {} on {} hosts",
                list[0]["source"].as_str().unwrap_or(""),
                list[0]["port"],
                list[0]["distinct_hosts"]
            );
            patterns.push(pattern(
                "host_sweep",
                "security",
                json!({"sweeps": list, "sweeps_total": sweep_total, "threshold": HOST_SWEEP_MIN_HOSTS}),
                format!("{sweep_total} sources tried one port on many hosts; largest: {detail}"),
            ));
            notable.push(Observation::new(Finding::HostSweep, detail).with_examples(list.iter().take(EXAMPLES)));
        }
        let v = |n: &str| statistics.analysis.get(n).copied().unwrap_or(0);
        if v("duplicate_acks") + v("out_of_order") + v("lost_segments") > 0 {
            patterns.push(pattern(
                "loss_indicators",
                "reliability",
                json!({"duplicate_acks": v("duplicate_acks"), "fast_retransmissions": v("fast_retransmissions"),
                       "spurious_retransmissions": v("spurious_retransmissions"), "out_of_order": v("out_of_order"),
                       "lost_segments": v("lost_segments")}),
                format!(
                    "{} duplicate ACKs, {} out-of-order segments, {} segments after a gap in the capture",
                    v("duplicate_acks"),
                    v("out_of_order"),
                    v("lost_segments")
                ),
            ));
        }
        if v("zero_windows") > 0 {
            patterns.push(pattern(
                "zero_window",
                "flow_control",
                json!({"zero_windows": v("zero_windows"), "zero_window_probes": v("zero_window_probes"),
                       "connections_affected": self.zero_window_connections}),
                format!(
                    "{} zero-window advertisements in {} connections: receivers stopped accepting data",
                    v("zero_windows"),
                    self.zero_window_connections
                ),
            ));
        }
        let mut by_category: BTreeMap<&'static str, u64> = BTreeMap::new();
        for p in &patterns {
            *by_category.entry(p.category).or_default() += 1;
        }
        let result = AnomaliesResult {
            header: Header::new(ctx),
            filter: filter.echo(),
            statistics,
            summary: PatternSummary { total_patterns: patterns.len(), by_category, notable_observations: notable },
            patterns,
            thresholds: Thresholds {
                port_scan_min_ports: PORT_SCAN_MIN_PORTS,
                host_sweep_min_hosts: HOST_SWEEP_MIN_HOSTS,
                syn_flood_min_unanswered: SYN_FLOOD_MIN_UNANSWERED,
                scan_candidates_dropped: self.port_scans.dropped + self.host_sweeps.dropped,
            },
            message: (scanned.counts.tcp_packets == 0).then_some("No TCP packets found in this capture"),
            tail: scanned.tail(),
        };
        // Its top-N tables of counts may shrink when nothing else is left
        // to cut (a small share of analyze_many's budget).
        pcapsule_guest::conventions::into_result_cutting(
            &result,
            budget,
            &["statistics.rst_distribution.by_source", "statistics.retransmissions.by_connection"],
        )
    }
}
