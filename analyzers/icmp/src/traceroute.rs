//! Traceroute reconstruction. A time exceeded message names a router on the
//! path from the quoted datagram's source to its destination; the TTL the
//! probe was *sent* with says which hop. The quoted header cannot tell (its
//! TTL is what was left, 0 or 1), so outgoing probes seen in the capture are
//! remembered by their identity ([`crate::quoted::probe_key`]) and each error
//! is matched back to the probe that caused it, which also gives the hop's
//! round-trip time. Routers beyond a source NAT quote the probe as the NAT
//! rewrote it (another source address, port or ICMP identifier, another
//! checksum), so the identity leaves those out, and the path is the one of
//! the host that sent the probe, not the address in the quote. Without the probe
//! (captured elsewhere on the path), hops fall back to the order they
//! answered in.

use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::fast_hash::HashMap;

use crate::echo::{Rtt, ms_between};
use crate::result::{Hop as HopEntry, Traceroute};
use crate::tables::{BoundedMap, RecentMap};

/// Probes remembered while awaiting an error.
const PROBES_TRACKED: usize = 8192;
/// Only packets sent with a TTL below this are remembered as probes:
/// traceroute starts at 1 and stops at 30 by default (64 at most in common
/// tools), while ordinary traffic leaves with 64, 128 or 255.
pub const PROBE_TTL_BELOW: u8 = 64;
/// Paths tracked, hops per path tracked.
const TRACES_TRACKED: usize = 256;
const HOPS_TRACKED: usize = 64;
/// Paths and hops per path listed in the result.
const TRACES_LISTED: usize = 5;
const HOPS_LISTED: usize = 30;

/// A remembered outgoing packet.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Who sent it (before any NAT).
    pub source: IpAddr,
    /// TTL or hop limit it left with.
    pub ttl: u8,
    /// When.
    pub time: Option<Timestamp>,
}

/// Outgoing packets that might draw a time exceeded.
pub struct Probes {
    recent: RecentMap<u64, Probe>,
}

impl Default for Probes {
    fn default() -> Self {
        Probes { recent: RecentMap::new(PROBES_TRACKED) }
    }
}

impl Probes {
    /// Remembers a packet that could be a probe.
    pub fn record(&mut self, key: u64, probe: Probe) {
        if probe.ttl < PROBE_TTL_BELOW {
            self.recent.insert(key, probe);
        }
    }

    /// The probe an ICMP error quotes, if it was captured.
    pub fn find(&self, key: u64) -> Option<Probe> {
        self.recent.get(&key).copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TraceKey {
    source: IpAddr,
    destination: IpAddr,
    protocol: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HopKey {
    ttl: Option<u8>,
    router: IpAddr,
}

#[derive(Debug, Clone, Default)]
struct Hop {
    responses: u64,
    rtt: Rtt,
    first_seen: Option<Timestamp>,
    first_frame: u64,
    answer: String,
}

#[derive(Debug, Clone, Default)]
struct Trace {
    hops: HashMap<HopKey, Hop>,
    hops_untracked: u64,
    messages: u64,
    matched_probes: u64,
    destination_reached: bool,
    first_frame: u64,
    first_seen: Option<Timestamp>,
}

/// One answer on a path: a router's time exceeded, or the destination's
/// unreachable or echo reply.
pub struct HopSeen {
    /// Original source (the tracing host).
    pub source: IpAddr,
    /// Original destination (the traced host).
    pub destination: IpAddr,
    /// IP protocol of the probes.
    pub protocol: u8,
    /// Who answered.
    pub router: IpAddr,
    /// The probe, when captured.
    pub probe: Option<Probe>,
    /// The answer's time.
    pub time: Option<Timestamp>,
    /// The answer's frame.
    pub frame: u64,
    /// e.g. `Time Exceeded: TTL Exceeded in Transit`.
    pub answer: String,
}

/// Every path seen; memory bounded by the constants above.
pub struct Traceroutes {
    traces: BoundedMap<TraceKey, Trace>,
}

impl Default for Traceroutes {
    fn default() -> Self {
        Traceroutes { traces: BoundedMap::new(TRACES_TRACKED) }
    }
}

impl Traceroutes {
    /// A router's time exceeded: adds it to the path (creating the path).
    pub fn time_exceeded(&mut self, hop: HopSeen) {
        let key = TraceKey { source: hop.source, destination: hop.destination, protocol: hop.protocol };
        if let Some(trace) = self.traces.entry(key) {
            add_hop(trace, hop);
        }
    }

    /// The destination answered a probe (port unreachable, echo reply): the
    /// last hop of a path already being traced, if there is one (then true).
    pub fn destination_answered(&mut self, hop: HopSeen) -> bool {
        let key = TraceKey { source: hop.source, destination: hop.destination, protocol: hop.protocol };
        let Some(trace) = self.traces.get_mut(&key) else { return false };
        trace.destination_reached = true;
        add_hop(trace, hop);
        true
    }

    /// The `traceroutes` view: the paths with most hops first, hops in probe
    /// TTL order (those without a captured probe after, in answer order).
    pub fn listed(&self) -> (Vec<Traceroute>, usize) {
        let mut traces: Vec<(&TraceKey, &Trace)> = self.traces.iter().collect();
        traces.sort_by(|a, b| b.1.hops.len().cmp(&a.1.hops.len()).then(a.1.first_frame.cmp(&b.1.first_frame)));
        let omitted = traces.len().saturating_sub(TRACES_LISTED);
        let listed = traces
            .into_iter()
            .take(TRACES_LISTED)
            .map(|(k, t)| {
                let mut hops: Vec<(&HopKey, &Hop)> = t.hops.iter().collect();
                hops.sort_by(|a, b| {
                    (a.0.ttl.is_none(), a.0.ttl, a.1.first_frame).cmp(&(b.0.ttl.is_none(), b.0.ttl, b.1.first_frame))
                });
                let hops_omitted = hops.len().saturating_sub(HOPS_LISTED) as u64 + t.hops_untracked;
                let hops = hops
                    .into_iter()
                    .take(HOPS_LISTED)
                    .map(|(hk, h)| HopEntry {
                        ttl: hk.ttl,
                        router: hk.router,
                        responses: h.responses,
                        rtt_ms: h.rtt.summary(),
                        answer: h.answer.clone(),
                        first_seen: h.first_seen.map(|t| t.to_rfc3339()),
                        first_frame: h.first_frame,
                    })
                    .collect();
                let hop_order = if t.matched_probes == t.messages {
                    "probe_ttl"
                } else if t.matched_probes == 0 {
                    "first_seen"
                } else {
                    "probe_ttl_then_first_seen"
                };
                Traceroute {
                    ip_version: if k.source.is_ipv4() { 4 } else { 6 },
                    source: k.source,
                    destination: k.destination,
                    protocol: k.protocol,
                    protocol_name: etherparse::IpNumber(k.protocol).keyword_str(),
                    messages: t.messages,
                    matched_probes: t.matched_probes,
                    hop_order,
                    destination_reached: t.destination_reached,
                    first_seen: t.first_seen.map(|t| t.to_rfc3339()),
                    hops,
                    hops_omitted,
                }
            })
            .collect();
        (listed, omitted)
    }
}

fn add_hop(trace: &mut Trace, hop: HopSeen) {
    trace.messages += 1;
    if trace.first_frame == 0 {
        trace.first_frame = hop.frame;
        trace.first_seen = hop.time;
    }
    if hop.probe.is_some() {
        trace.matched_probes += 1;
    }
    let key = HopKey { ttl: hop.probe.map(|p| p.ttl), router: hop.router };
    if !trace.hops.contains_key(&key) && trace.hops.len() >= HOPS_TRACKED {
        trace.hops_untracked += 1;
        return;
    }
    let h = trace.hops.entry(key).or_default();
    h.responses += 1;
    if h.first_frame == 0 {
        h.first_frame = hop.frame;
        h.first_seen = hop.time;
        h.answer = hop.answer;
    }
    if let Some(ms) = hop.probe.and_then(|p| ms_between(p.time, hop.time)) {
        h.rtt.add(ms);
    }
}
