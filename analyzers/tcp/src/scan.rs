//! The pass every tool shares: read the capture, decode TCP, apply the
//! `server_ip`/`server_port` filter, track connections into a tool's sink,
//! and collect what the result says about the capture and the tracking.

use std::io::Read;
use std::net::IpAddr;

use pcapsule_guest::conventions::{Envelope, PacketBudget};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Lane, PacketHandler, Pass};
use pcapsule_guest::{Packet, RunError, Timestamp};

use crate::result::{FilterEcho, Tail, TcpCapture, TrackingReport};
use crate::segment::{self, Parsed, Segment};
use crate::tracker::{MAX_LIVE_CONNECTIONS, Sink, Tracker, TrackerStats};

/// mcpcap's packet filter: a packet matches when `server_ip` is its source
/// or destination and `server_port` its source or destination port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// Either address must be this one.
    pub server_ip: Option<IpAddr>,
    /// Either port must be this one.
    pub server_port: Option<u16>,
}

impl Filter {
    /// Whether the segment passes.
    pub fn matches(&self, s: &Segment) -> bool {
        self.server_ip.is_none_or(|ip| s.src == ip || s.dst == ip)
            && self.server_port.is_none_or(|p| s.sport == p || s.dport == p)
    }

    /// The `filter` object of results, as mcpcap echoes it.
    pub fn echo(self) -> FilterEcho {
        FilterEcho { server_ip: self.server_ip.map(|ip| ip.to_string()), server_port: self.server_port }
    }
}

/// What the pass saw besides the tracked segments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Packets read (within `max_packets`).
    pub packets: u64,
    /// TCP segments before the filter.
    pub tcp_packets: u64,
    /// TCP segments that passed the filter (the ones analyzed).
    pub matched_packets: u64,
    /// Frames whose link or IP layer did not decode.
    pub undecodable: u64,
    /// IP fragments that were never reassembled (of any protocol, over the whole pass).
    pub ip_fragments: u64,
    /// TCP headers cut short or inconsistent.
    pub bad_tcp_headers: u64,
    /// First timestamp seen.
    pub first_time: Option<Timestamp>,
    /// Last timestamp seen.
    pub last_time: Option<Timestamp>,
}

/// The outcome of a pass.
#[derive(Clone)]
pub struct Scanned {
    /// Packet counts.
    pub counts: Counts,
    /// Packets per encapsulation met.
    pub encapsulations: pcapsule_guest::conventions::OrderedMap<&'static str, u64>,
    /// How the connection table coped.
    pub tracker: TrackerStats,
    /// The `max_packets` budget, for its report.
    pub budget: PacketBudget,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<String>,
}

/// One connection table and what feeds it: the tools of a call that share
/// a filter and a packet budget share one, in one lane of the pass.
pub struct Tracking<S> {
    /// Segments this lane tracks.
    pub filter: Filter,
    /// Receives the lane's connections.
    pub sink: S,
    tracker: Tracker,
    counts: Counts,
}

/// A lane of the pass: `sink` gets the connections of the segments that
/// pass `filter`, among the packets `budget` admits.
pub fn lane<S: Sink>(budget: PacketBudget, filter: Filter, sink: S) -> Lane<Tracking<S>> {
    Lane::new(budget, Tracking { filter, sink, tracker: Tracker::new(MAX_LIVE_CONNECTIONS), counts: Counts::default() })
}

impl<S: Sink> PacketHandler for Tracking<S> {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        self.counts.packets += 1;
        if let Some(t) = packet.timestamp {
            self.counts.first_time.get_or_insert(t);
            self.counts.last_time = Some(t);
        }
        match segment::parse(packet, decoded) {
            Parsed::Tcp(s) => {
                self.counts.tcp_packets += 1;
                if self.filter.matches(&s) {
                    self.counts.matched_packets += 1;
                    self.tracker.segment(&s, &mut self.sink);
                } else {
                    self.tracker.number_only(&s);
                }
            }
            Parsed::Other => {}
            // Counted by the packet path once reassembly is over.
            Parsed::Fragment => {}
            Parsed::Undecodable => self.counts.undecodable += 1,
            Parsed::BadTcp => self.counts.bad_tcp_headers += 1,
        }
    }

    fn sees_unselected(&self) -> bool {
        true
    }

    /// Numbers the connections a selection leaves out, so that a stream's
    /// number is the one the whole capture gives it.
    fn on_unselected(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Parsed::Tcp(s) = segment::parse(packet, decoded) {
            self.tracker.number_only(&s);
        }
    }

    fn finish(&mut self) {
        self.tracker.finish(&mut self.sink);
    }
}

impl<S> Tracking<S> {
    fn scanned(self, budget: PacketBudget, pass: &Pass) -> (S, Scanned) {
        let mut counts = self.counts;
        counts.ip_fragments = pass.path.fragments_lost();
        // What the shared packet path could not read (link types, broken
        // headers, fragments never completed), counted over the whole pass,
        // and a selection that kept nothing.
        let mut warnings = pass.warnings_with(&budget, Vec::new());
        if counts.bad_tcp_headers > 0 {
            warnings.push(format!(
                "{} TCP headers were cut short or inconsistent and were skipped",
                counts.bad_tcp_headers
            ));
        }
        let t = self.tracker.stats;
        if t.evicted_open > 0 {
            warnings.push(format!(
                "{} connections were still open when the table of {} live connections filled: their tracking \
                 ended there (counted in every total), and later packets of them start new connections",
                t.evicted_open, MAX_LIVE_CONNECTIONS
            ));
        }
        if t.unnumbered > 0 {
            warnings.push(format!(
                "{} connections began after {} stream numbers were given and have no `stream`",
                t.unnumbered,
                pcapsule_guest::streams::MAX_STREAMS
            ));
        }
        let encapsulations = pass.path.encapsulation_counts();
        (self.sink, Scanned { counts, encapsulations, tracker: t, budget, warnings })
    }
}

/// Runs the pass over `capture` once for every lane: each packet is decoded
/// once and handed to each lane whose budget still admits it.
pub fn scan<S: Sink>(capture: &mut dyn Read, mut lanes: Vec<Lane<Tracking<S>>>) -> Result<Vec<(S, Scanned)>, RunError> {
    let pass = driver::drive_lanes(capture, &mut lanes)?;
    Ok(lanes.into_iter().map(|lane| lane.handler.scanned(lane.budget, &pass)).collect())
}

impl Scanned {
    /// `capture`, `tracking`, `warnings` and the `max_packets` report:
    /// what every result ends with.
    pub fn tail(self) -> Tail {
        let c = self.counts;
        let t = self.tracker;
        Tail {
            capture: TcpCapture {
                packets: c.packets,
                tcp_packets: c.tcp_packets,
                analyzed_tcp_packets: c.matched_packets,
                undecodable_packets: c.undecodable,
                ip_fragments_skipped: c.ip_fragments,
                encapsulations: self.encapsulations,
                bad_tcp_headers: c.bad_tcp_headers,
                first_packet_time: c.first_time.map(|t| t.to_rfc3339()),
                last_packet_time: c.last_time.map(|t| t.to_rfc3339()),
            },
            tracking: TrackingReport {
                connections: t.connections,
                peak_live_connections: t.peak_live as u64,
                max_live_connections: MAX_LIVE_CONNECTIONS,
                evicted_closed: t.evicted_closed,
                evicted_open: t.evicted_open,
                port_reuses: t.port_reuses,
                expired_attempts: t.expired_attempts,
                note: "Memory follows live connections: closed connections leave the table 30 s (capture time) \
                       after they close, unanswered attempts 130 s after their last SYN; should the table fill \
                       up, closed connections and then the longest idle are summarized into the totals and dropped.",
            },
            envelope: Envelope { warnings: self.warnings, budget: self.budget.summary() },
        }
    }
}

/// A ratio rounded to 6 decimals (0 when the denominator is 0).
pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { round6(num as f64 / den as f64) }
}

/// Rounded to 6 decimals, enough for rates and milliseconds.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
