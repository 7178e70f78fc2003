//! Traffic over time, as Wireshark's I/O graph and `tshark -z io,stat`
//! count it: packets and bytes (on the wire) per interval from the first
//! packet on, plus the flows that started in each interval and the busiest
//! protocols. The interval is chosen so the whole timeline stays short
//! (about 100 intervals) unless the caller gives one; bursts and the
//! longest silences are called out.

use std::collections::BTreeMap;

use etherparse::{LaxNetSlice, TransportSlice};
use pcapsule_guest::conventions::{Header, NoMoreFacts, PacketBudget, Paging, into_paged_result};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{PacketHandler, Pass};
use pcapsule_guest::fast_hash::{HashMap, HashSet, stable_hash};
use pcapsule_guest::{Packet, RunContext, RunError, Timestamp};
use serde_json::Value;

use crate::result::{Burst, Interval, Silence, TimelineResult};
use pcapsule_guest::identify::{self, AppProtocol, Transport};

/// Interval lengths the automatic choice steps through, in nanoseconds:
/// each divides the next, so buckets merge exactly when the step grows.
const STEPS_NS: [u64; 12] = [
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    60_000_000_000,
    600_000_000_000,
    3_600_000_000_000,
    86_400_000_000_000,
    864_000_000_000_000,
    8_640_000_000_000_000,
    17_280_000_000_000_000,
];
/// Intervals kept while streaming with an automatic interval (the step
/// grows beyond), and the most the result shows by default.
const AUTO_KEPT: u64 = 4_000;
pub const AUTO_SHOWN: u64 = 100;
/// The shortest and longest interval a caller may give, in seconds.
pub const MIN_INTERVAL_S: f64 = 0.000_001;
pub const MAX_INTERVAL_S: f64 = 1e9;
/// Intervals a given interval may span; packets beyond are counted apart.
pub const MAX_INTERVALS: u64 = 100_000;
/// Flows remembered to count new ones (by hash).
const MAX_FLOWS: usize = 1_000_000;
/// Protocols broken out per interval; the rest are `other`.
const TOP_PROTOCOLS: usize = 6;
/// Longest silences and biggest bursts listed.
const LISTED: usize = 5;
/// A silence shorter than this is not one.
const MIN_SILENCE_NS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Default)]
struct Bucket {
    packets: u64,
    bytes: u64,
    new_flows: u64,
    protocols: Vec<(&'static str, u64)>,
}

impl Bucket {
    fn absorb(&mut self, other: Bucket) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.new_flows += other.new_flows;
        for (name, n) in other.protocols {
            add(&mut self.protocols, name, n);
        }
    }
}

fn add(list: &mut Vec<(&'static str, u64)>, name: &'static str, n: u64) {
    // The names are literals, nearly always the very same one: the pointer says so first.
    match list.iter_mut().find(|(k, _)| std::ptr::eq(*k, name) || *k == name) {
        Some((_, count)) => *count += n,
        None => list.push((name, n)),
    }
}

/// A gap between two consecutive packets.
#[derive(Debug, Clone, Copy)]
struct Gap {
    nanos: i64,
    from: Timestamp,
    to: Timestamp,
    next_frame: u64,
}

/// The timeline of one call.
pub struct Timeline {
    /// Interval in nanoseconds; grows while streaming when `auto`.
    interval_ns: u64,
    auto: bool,
    origin: Option<Timestamp>,
    last: Option<Timestamp>,
    buckets: BTreeMap<u64, Bucket>,
    /// The interval packets are arriving in, kept out of `buckets` until
    /// the next one starts: packets come in time order, so most never
    /// touch the map.
    current: Option<(u64, Bucket)>,
    flows: HashSet<u64>,
    flows_full: bool,
    packets: u64,
    bytes: u64,
    without_time: u64,
    before_start: u64,
    beyond: (u64, u64),
    previous: Option<Timestamp>,
    gaps: Vec<Gap>,
}

impl Timeline {
    /// `interval_s`: the caller's interval, or `None` to choose one.
    pub fn new(interval_s: Option<f64>) -> Self {
        let given = interval_s.map(|s| ((s * 1e9).round() as u64).max(1));
        Timeline {
            interval_ns: given.unwrap_or(STEPS_NS[0]),
            auto: given.is_none(),
            origin: None,
            last: None,
            buckets: BTreeMap::new(),
            current: None,
            flows: HashSet::default(),
            flows_full: false,
            packets: 0,
            bytes: 0,
            without_time: 0,
            before_start: 0,
            beyond: (0, 0),
            previous: None,
            gaps: Vec::new(),
        }
    }

    fn packet(&mut self, packet: &Packet<'_>, decoded: Option<&Decoded<'_>>) {
        let bytes = u64::from(packet.original_len);
        self.packets += 1;
        self.bytes += bytes;
        let Some(time) = packet.timestamp else {
            self.without_time += 1;
            return;
        };
        let origin = *self.origin.get_or_insert(time);
        self.last = Some(self.last.map_or(time, |l| l.max(time)));
        if let Some(previous) = self.previous {
            self.gap(previous, time, packet.number);
        }
        self.previous = Some(time);
        let since = time.saturating_nanos().saturating_sub(origin.saturating_nanos());
        if since < 0 {
            self.before_start += 1;
        }
        let mut index = since.max(0) as u64 / self.interval_ns;
        if self.auto {
            while index >= AUTO_KEPT {
                self.coarsen();
                index = since.max(0) as u64 / self.interval_ns;
            }
        } else if index >= MAX_INTERVALS {
            self.beyond.0 += 1;
            self.beyond.1 += bytes;
            return;
        }
        let (protocol, flow) = classify(decoded);
        let new_flow = match flow {
            Some(_) if self.flows_full => false,
            Some(hash) => {
                let new = self.flows.insert(hash);
                self.flows_full = self.flows.len() >= MAX_FLOWS;
                new
            }
            None => false,
        };
        let bucket = match &mut self.current {
            Some((at, bucket)) if *at == index => bucket,
            _ => {
                self.flush();
                &mut self.current.insert((index, Bucket::default())).1
            }
        };
        bucket.packets += 1;
        bucket.bytes += bytes;
        bucket.new_flows += u64::from(new_flow);
        add(&mut bucket.protocols, protocol, 1);
    }

    /// Keeps the longest gaps between consecutive packets.
    fn gap(&mut self, from: Timestamp, to: Timestamp, next_frame: u64) {
        let nanos = to.saturating_nanos().saturating_sub(from.saturating_nanos());
        if nanos < MIN_SILENCE_NS {
            return;
        }
        if self.gaps.len() == LISTED {
            if self.gaps.last().is_some_and(|g| g.nanos >= nanos) {
                return;
            }
            self.gaps.pop();
        }
        let at = self.gaps.partition_point(|g| g.nanos >= nanos);
        self.gaps.insert(at, Gap { nanos, from, to, next_frame });
    }

    /// Puts the current interval's counts in `buckets`.
    fn flush(&mut self) {
        if let Some((index, bucket)) = self.current.take() {
            self.buckets.entry(index).or_default().absorb(bucket);
        }
    }

    /// The next interval length; the buckets merge into it.
    fn coarsen(&mut self) {
        self.flush();
        let next = STEPS_NS.iter().copied().find(|s| *s > self.interval_ns).unwrap_or(self.interval_ns * 10);
        let factor = next / self.interval_ns;
        let old = std::mem::take(&mut self.buckets);
        for (index, bucket) in old {
            self.buckets.entry(index / factor).or_default().absorb(bucket);
        }
        self.interval_ns = next;
    }

    /// The interval count from the first packet to the last.
    fn span(&self) -> u64 {
        self.buckets.keys().next_back().map_or(0, |last| last + 1)
    }
}

/// The protocol a packet counts under (the well-known service of its
/// ports, else its transport or network protocol) and, for TCP and UDP,
/// its flow's hash (either direction).
fn classify(decoded: Option<&Decoded<'_>>) -> (&'static str, Option<u64>) {
    let Some(decoded) = decoded else { return ("undecoded", None) };
    let ips = decoded.ip_addrs();
    let flow = |proto: u8, a: u16, b: u16| {
        ips.map(|(src, dst)| {
            let (x, y) = if (src, a) <= (dst, b) { ((src, a), (dst, b)) } else { ((dst, b), (src, a)) };
            stable_hash((proto, x, y))
        })
    };
    match (&decoded.layers.transport, &decoded.layers.net) {
        (Some(TransportSlice::Tcp(t)), _) => {
            let (a, b) = (t.source_port(), t.destination_port());
            (identify::by_port(Transport::Tcp, a, b).map_or("tcp", AppProtocol::name), flow(6, a, b))
        }
        (Some(TransportSlice::Udp(u)), _) => {
            let (a, b) = (u.source_port(), u.destination_port());
            (identify::by_port(Transport::Udp, a, b).map_or("udp", AppProtocol::name), flow(17, a, b))
        }
        (Some(TransportSlice::Icmpv4(_)), _) => ("icmp", None),
        (Some(TransportSlice::Icmpv6(_)), _) => ("icmpv6", None),
        (_, Some(LaxNetSlice::Arp(_))) => ("arp", None),
        (_, Some(LaxNetSlice::Ipv4(_) | LaxNetSlice::Ipv6(_))) => match decoded.ip_payload().map(|(p, _)| p) {
            _ if decoded.is_fragment() => ("ip-fragment", None),
            Some(number) => (pcapsule_guest::identify::ip_protocol_name(number).unwrap_or("ip-other"), None),
            None => ("ip-other", None),
        },
        _ => ("non-ip", None),
    }
}

impl PacketHandler for Timeline {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        self.packet(packet, decoded.as_ref().ok());
    }
}

fn seconds(nanos: u64) -> f64 {
    (nanos as f64 / 1e3).round() / 1e6
}

/// The result of `analyze_io_timeline` from a finished timeline.
pub(crate) fn result_of(
    mut timeline: Timeline,
    pass: &Pass,
    budget: &PacketBudget,
    ctx: &RunContext,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    timeline.flush();
    if timeline.auto {
        while timeline.span() > AUTO_SHOWN {
            timeline.coarsen();
        }
    }
    let mut totals: HashMap<&'static str, u64> = HashMap::default();
    for (name, n) in timeline.buckets.values().flat_map(|b| &b.protocols) {
        *totals.entry(name).or_default() += n;
    }
    let mut top: Vec<(&'static str, u64)> = totals.into_iter().collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let shown: Vec<&'static str> = top.iter().take(TOP_PROTOCOLS).map(|(k, _)| *k).collect();
    let span = timeline.span();
    let interval = timeline.interval_ns;
    let empty = Bucket::default();
    let entry = |index: u64| {
        let b = timeline.buckets.get(&index).unwrap_or(&empty);
        let mut by_protocol: Vec<(&'static str, u64)> =
            shown.iter().filter_map(|p| b.protocols.iter().find(|(k, _)| k == p).copied()).collect();
        let other: u64 = b.protocols.iter().filter(|(k, _)| !shown.contains(k)).map(|(_, n)| n).sum();
        if other > 0 {
            by_protocol.push(("other", other));
        }
        Interval {
            start_s: seconds(index * interval),
            packets: b.packets,
            bytes: b.bytes,
            new_flows: b.new_flows,
            by_protocol: pcapsule_guest::conventions::OrderedMap(by_protocol),
        }
    };
    let (intervals, pagination) = paging.page_of((paging.offset as u64..span).map(entry), span as usize);
    // Bursts: intervals far above the mean (mean + 3 standard deviations, and twice the mean).
    let counts: Vec<u64> = (0..span).map(|i| timeline.buckets.get(&i).map_or(0, |b| b.packets)).collect();
    let mean = if span > 0 { counts.iter().sum::<u64>() as f64 / span as f64 } else { 0.0 };
    let variance =
        if span > 0 { counts.iter().map(|c| (*c as f64 - mean).powi(2)).sum::<f64>() / span as f64 } else { 0.0 };
    let threshold = (mean + 3.0 * variance.sqrt()).max(2.0 * mean);
    let mut bursts: Vec<Burst> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c as f64 > threshold && **c > 1)
        .map(|(i, c)| Burst {
            start_s: seconds(i as u64 * interval),
            packets: *c,
            times_mean: ((*c as f64 / mean) * 10.0).round() / 10.0,
        })
        .collect();
    bursts.sort_by(|x, y| y.packets.cmp(&x.packets).then(x.start_s.total_cmp(&y.start_s)));
    bursts.truncate(LISTED);
    let silences = timeline
        .gaps
        .iter()
        .map(|g| Silence {
            from: g.from.to_rfc3339(),
            to: g.to.to_rfc3339(),
            seconds: seconds(g.nanos as u64),
            resumes_at_frame: g.next_frame,
        })
        .collect();
    let mut warnings = Vec::new();
    if timeline.before_start > 0 {
        warnings.push(format!(
            "{} packets are timed before the first packet (out of order): counted in the first interval",
            timeline.before_start
        ));
    }
    if timeline.without_time > 0 {
        warnings.push(format!("{} packets have no timestamp and are not in the timeline", timeline.without_time));
    }
    if timeline.beyond.0 > 0 {
        warnings.push(format!(
            "the interval is too short for this capture: {} packets ({} bytes) after {MAX_INTERVALS} intervals \
             are not in the timeline (choose a longer interval, or leave it out)",
            timeline.beyond.0, timeline.beyond.1
        ));
    }
    if timeline.flows_full {
        warnings.push(format!("new_flows stopped counting after {MAX_FLOWS} flows"));
    }
    let duration = match (timeline.origin, timeline.last) {
        (Some(first), Some(last)) => {
            Some(seconds(last.saturating_nanos().saturating_sub(first.saturating_nanos()) as u64))
        }
        _ => None,
    };
    let result = TimelineResult {
        header: Header::new(ctx),
        interval_s: seconds(interval),
        interval_chosen: if timeline.auto { "automatically" } else { "by the caller" },
        total_packets: timeline.packets,
        total_bytes: timeline.bytes,
        capture_start: timeline.origin.map(|t| t.to_rfc3339()),
        capture_end: timeline.last.map(|t| t.to_rfc3339()),
        duration_s: duration,
        interval_count: span,
        mean_packets_per_interval: (mean * 1000.0).round() / 1000.0,
        peak: counts.iter().enumerate().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(&x.0))).map(|(i, c)| Burst {
            start_s: seconds(i as u64 * interval),
            packets: *c,
            times_mean: if mean > 0.0 { ((*c as f64 / mean) * 10.0).round() / 10.0 } else { 0.0 },
        }),
        protocols: pcapsule_guest::conventions::OrderedMap(top.into_iter().take(TOP_PROTOCOLS * 2).collect()),
        bursts,
        silences,
        intervals,
        pagination,
        capture: pass.path.facts(NoMoreFacts {}),
        envelope: pass.envelope(budget, warnings),
    };
    into_paged_result(&result, "intervals", paging, result_bytes)
}
