//! The streaming pass: every packet is decoded once, its ICMP message (if
//! any) feeds bounded statistics and, when it falls on the requested page,
//! becomes a packet entry.

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};

use pcapsule_guest::conventions::{Header, NoMoreFacts, OrderedMap, PacketBudget, PageCollector, Paging};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Packet, RunContext, RunError, Timestamp};
use serde_json::Value;

use crate::echo::{EchoSeen, EchoTracker, round3};
use crate::message::{self, Found, Message, ProblemKind};
use crate::names::{self, Family};
use crate::quoted::probe_key;
use crate::result::{
    AddressBinding, AddressCount, FailedFlow, Fields, GroupCount, IcmpResult, Malformed, MulticastListenerSummary,
    NeighborDiscoverySummary, PacketEntry, Redirect, ReplyFields, Router as RouterEntry, Statistics, TypeCodeCount,
};
use crate::tables::{BoundedMap, Tally};
use crate::traceroute::{HopSeen, PROBE_TTL_BELOW, Probe, Probes, Traceroutes};

/// Distinct addresses tracked per address table.
const ADDRESSES_TRACKED: usize = 10_000;
/// Addresses listed per address table.
const ADDRESSES_LISTED: usize = 50;
/// Rows listed in the smaller top-N tables.
const TOP_LISTED: usize = 20;
/// Failed flows tracked and listed.
const FLOWS_TRACKED: usize = 4096;
const FLOWS_LISTED: usize = 10;
/// Neighbor discovery routers and address bindings tracked.
const ROUTERS_TRACKED: usize = 256;
const BINDINGS_TRACKED: usize = 4096;
const BINDINGS_LISTED: usize = 50;
/// Distinct link-layer addresses kept per IPv6 address, prefixes per router.
const PER_ENTRY_LISTED: usize = 8;

/// Analyzes a capture: the whole `analyze_icmp_packets` result.
pub fn analyze(
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let Driven { handler: stats, budget, pass } = driver::drive(capture, budget, Stats::new(paging))?;
    let (fields, warnings) = stats.finish(pass.packets_read);
    let result = IcmpResult {
        header: Header::new(ctx),
        fields,
        capture: pass.path.facts(NoMoreFacts {}),
        envelope: pass.envelope(&budget, warnings),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "packets", paging, result_bytes)
}

impl PacketHandler for Stats {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        if let Ok(decoded) = decoded {
            self.packet(packet, decoded);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    family: Family,
    icmp_type: u8,
    code: u8,
    reporter: IpAddr,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    dst_port: Option<u16>,
}

#[derive(Debug, Clone, Default)]
struct Flow {
    messages: u64,
    src_ports: Vec<u16>,
    mtu: Option<u32>,
    first_seen: Option<Timestamp>,
    first_frame: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RedirectKey {
    router: IpAddr,
    host: IpAddr,
    destination: Option<IpAddr>,
    gateway: Option<IpAddr>,
}

#[derive(Debug, Clone, Default)]
struct Router {
    advertisements: u64,
    link_layer_address: Option<String>,
    router_lifetime_s: Option<u16>,
    cur_hop_limit: Option<u8>,
    managed: Option<bool>,
    other_config: Option<bool>,
    mtu: Option<u32>,
    prefixes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Binding {
    link_layer_addresses: Vec<String>,
    messages: u64,
    first_seen: Option<Timestamp>,
}

/// Messages per one-second window, for floods.
#[derive(Debug, Default)]
struct Rate {
    second: Option<i64>,
    count: u64,
    peak: u64,
    peak_second: Option<i64>,
}

impl Rate {
    fn add(&mut self, t: Timestamp) {
        if self.second == Some(t.secs) {
            self.count += 1;
        } else {
            self.second = Some(t.secs);
            self.count = 1;
        }
        if self.count > self.peak {
            self.peak = self.count;
            self.peak_second = Some(t.secs);
        }
    }
}

/// Everything counted while streaming; bounded whatever the capture size.
struct Stats {
    page: PageCollector<PacketEntry>,
    found: u64,
    analyzed: u64,
    per_family: [u64; 2],
    later_fragments: u64,
    first_fragments: u64,
    empty: u64,
    malformed: u64,
    problems: Tally<ProblemKind>,
    unusual_codes: u64,
    /// Every (family, type) pair fits: 512 keys, never saturated.
    types: Tally<(Family, u8)>,
    type_codes: Tally<(Family, u8, u8)>,
    sources: Tally<IpAddr>,
    destinations: Tally<IpAddr>,
    unreachable: Tally<IpAddr>,
    error_reporters: Tally<IpAddr>,
    flows: BoundedMap<FlowKey, Flow>,
    redirects: BoundedMap<RedirectKey, (u64, Option<Timestamp>)>,
    smallest_mtu: Option<u32>,
    echo: EchoTracker,
    probes: Probes,
    traceroutes: Traceroutes,
    nd_counts: [u64; 5],
    dad_probes: u64,
    routers: BoundedMap<IpAddr, Router>,
    bindings: BoundedMap<IpAddr, Binding>,
    mld_counts: [u64; 4],
    mld_groups: Tally<Ipv6Addr>,
    rate: Rate,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
}

impl Stats {
    fn new(paging: Paging) -> Self {
        Stats {
            page: paging.collector(),
            found: 0,
            analyzed: 0,
            per_family: [0; 2],
            later_fragments: 0,
            first_fragments: 0,
            empty: 0,
            malformed: 0,
            problems: Tally::new(16),
            unusual_codes: 0,
            types: Tally::new(512),
            type_codes: Tally::new(4096),
            sources: Tally::new(ADDRESSES_TRACKED),
            destinations: Tally::new(ADDRESSES_TRACKED),
            unreachable: Tally::new(ADDRESSES_TRACKED),
            error_reporters: Tally::new(ADDRESSES_TRACKED),
            flows: BoundedMap::new(FLOWS_TRACKED),
            redirects: BoundedMap::new(1024),
            smallest_mtu: None,
            echo: EchoTracker::default(),
            probes: Probes::default(),
            traceroutes: Traceroutes::default(),
            nd_counts: [0; 5],
            dad_probes: 0,
            routers: BoundedMap::new(ROUTERS_TRACKED),
            bindings: BoundedMap::new(BINDINGS_TRACKED),
            mld_counts: [0; 4],
            mld_groups: Tally::new(1024),
            rate: Rate::default(),
            first_time: None,
            last_time: None,
        }
    }

    fn packet(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>) {
        let found = message::find(decoded);
        if decoded.is_fragment() {
            // Reassembly is the packet path's: a fragment is counted here, and
            // its message is analyzed once the datagram is whole (Wireshark
            // does not dissect the fragments either). Datagrams that never
            // complete are reported in the path's warnings.
            match found {
                Some(Found::Message(m)) if m.fragmented => self.first_fragments += 1,
                Some(Found::LaterFragment) => self.later_fragments += 1,
                _ => {}
            }
            return;
        }
        let is_error = matches!(&found, Some(Found::Message(m)) if names::is_error(m.family, m.icmp_type));
        if !is_error {
            self.remember_probe(decoded, packet.timestamp);
        }
        let Some(found) = found else { return };
        self.found += 1;
        match found {
            Found::Message(m) => self.message(packet, decoded, &m),
            Found::LaterFragment => self.later_fragments += 1,
            Found::Empty => self.empty += 1,
        }
    }

    /// Remembers an outgoing packet sent with a low TTL, for traceroutes.
    fn remember_probe(&mut self, decoded: &Decoded<'_>, time: Option<Timestamp>) {
        let Some(ttl) = decoded.ttl().filter(|t| *t < PROBE_TTL_BELOW) else { return };
        let (Some(net), Some((src, dst))) = (decoded.layers.net.as_ref(), decoded.ip_addrs()) else { return };
        let Some(payload) = net.ip_payload_ref() else { return };
        let ip_id = match net {
            etherparse::LaxNetSlice::Ipv4(v4) => Some(v4.header().identification()),
            _ => None,
        };
        let head = &payload.payload[..payload.payload.len().min(8)];
        self.probes.record(probe_key(dst, payload.ip_number.0, ip_id, head), Probe { source: src, ttl, time });
    }

    fn message(&mut self, packet: &Packet<'_>, decoded: &Decoded<'_>, m: &Message) {
        self.analyzed += 1;
        let ordinal = self.analyzed;
        let time = packet.timestamp;
        let frame = packet.number;
        // `find` returns a message only for packets with an IP layer.
        let (src, dst) = decoded.ip_addrs().unwrap_or((IpAddr::from([0u8; 4]), IpAddr::from([0u8; 4])));
        let ttl = decoded.ttl().unwrap_or(0);
        self.per_family[usize::from(m.family == Family::V6)] += 1;
        self.types.add((m.family, m.icmp_type));
        self.type_codes.add((m.family, m.icmp_type, m.code));
        self.sources.add(src);
        self.destinations.add(dst);
        if !names::code_is_defined(m.family, m.icmp_type, m.code) {
            self.unusual_codes += 1;
        }
        if !m.problems.is_empty() {
            self.malformed += 1;
            for p in &m.problems {
                self.problems.add(p.kind);
            }
        }
        if m.fragmented {
            self.first_fragments += 1;
        }
        if let Some(t) = time {
            self.rate.add(t);
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
        }
        if let Some(mtu) = m.mtu {
            self.smallest_mtu = Some(self.smallest_mtu.map_or(mtu, |s| s.min(mtu)));
        }

        let mut reply = None;
        if let (Some(id), Some(seq)) = (m.id, m.seq) {
            let seen = EchoSeen {
                kind: crate::message::EchoKind::Echo,
                src,
                dst,
                id,
                seq,
                time,
                frame,
                ttl,
                payload_len: m.payload_len,
                digest: m.payload_digest,
            };
            if let Some(kind) = m.echo_request_kind() {
                self.echo.request(&EchoSeen { kind, ..seen });
            } else if let Some(kind) = m.echo_reply_kind() {
                reply = self.echo.reply(&EchoSeen { kind, ..seen });
                if let Some(r) = reply.filter(|r| !r.duplicate && r.request_ttl < PROBE_TTL_BELOW) {
                    // An ICMP traceroute ends with the destination's echo reply.
                    self.traceroutes.destination_answered(HopSeen {
                        source: dst,
                        destination: src,
                        protocol: if m.family == Family::V4 { 1 } else { 58 },
                        router: src,
                        probe: Some(Probe { source: dst, ttl: r.request_ttl, time: r.request_time }),
                        time,
                        frame,
                        answer: format!("{}: {}", m.type_name(), m.code_name()),
                    });
                }
            }
        }

        if names::is_error(m.family, m.icmp_type) {
            self.error_reporters.add(src);
        }
        if let Some(q) = m.original.as_ref() {
            let hop = || {
                let probe = self.probes.find(q.probe_key);
                HopSeen {
                    // Behind a NAT the quote names the NAT's address; the
                    // probe names the host that traced.
                    source: probe.map_or(q.src_ip, |p| p.source),
                    destination: q.dst_ip,
                    protocol: q.protocol,
                    router: src,
                    probe,
                    time,
                    frame,
                    answer: format!("{}: {}", m.type_name(), m.code_name()),
                }
            };
            if m.is_ttl_exceeded() {
                let hop = hop();
                self.traceroutes.time_exceeded(hop);
            } else if names::is_error(m.family, m.icmp_type) && !m.is_redirect() {
                let mut ends_traceroute = false;
                if m.is_unreachable() {
                    self.unreachable.add(q.dst_ip);
                    if src == q.dst_ip {
                        let hop = hop();
                        ends_traceroute = self.traceroutes.destination_answered(hop);
                    }
                }
                let key = FlowKey {
                    family: m.family,
                    icmp_type: m.icmp_type,
                    code: m.code,
                    reporter: src,
                    src: q.src_ip,
                    dst: q.dst_ip,
                    protocol: q.protocol,
                    dst_port: q.dst_port,
                };
                // The destination's answer to a traceroute probe is the
                // path's last hop, not a failed flow.
                if !ends_traceroute && let Some(flow) = self.flows.entry(key) {
                    flow.messages += 1;
                    if flow.first_frame == 0 {
                        flow.first_frame = frame;
                        flow.first_seen = time;
                    }
                    if let Some(port) = q.src_port.filter(|p| !flow.src_ports.contains(p))
                        && flow.src_ports.len() < PER_ENTRY_LISTED
                    {
                        flow.src_ports.push(port);
                    }
                    flow.mtu = flow.mtu.or(m.mtu);
                }
            }
        }
        if m.is_redirect() {
            let nd = m.nd.as_ref();
            let key = RedirectKey {
                router: src,
                host: dst,
                destination: nd
                    .and_then(|n| n.destination_address.map(IpAddr::from))
                    .or(m.original.as_ref().map(|q| q.dst_ip)),
                gateway: m.gateway.or(nd.and_then(|n| n.target_address.map(IpAddr::from))),
            };
            if let Some(r) = self.redirects.entry(key) {
                r.0 += 1;
                r.1 = r.1.or(time);
            }
        }
        if m.family == Family::V6 {
            self.neighbor_discovery(m, src, time);
            self.multicast_listeners(m);
        }

        let page_entry = || PacketEntry {
            packet_number: ordinal,
            timestamp: time.map(|t| t.to_rfc3339()),
            src_ip: src,
            dst_ip: dst,
            ip_version: decoded.ip_version(),
            ttl,
            packet_size: packet.data.len(),
            icmp_type: m.icmp_type,
            icmp_code: m.code,
            icmp_type_name: m.type_name(),
            icmp_id: m.id,
            icmp_seq: m.seq,
            checksum: m.checksum,
            icmp_code_name: m.code_name(),
            original_dst_ip: m.original.as_ref().map(|q| q.dst_ip),
            frame_number: frame,
            protocol: m.family.protocol_name(),
            checksum_valid: m.checksum_valid,
            payload_size: m.payload_len,
            fragmented: m.fragmented,
            reply: reply.map(|r| ReplyFields {
                request_frame: r.request_frame,
                rtt_ms: r.rtt_ms.map(round3),
                duplicate_reply: r.duplicate,
            }),
            details: m.details(),
            problems: m.problems.iter().map(|p| format!("{}: {}", p.kind.as_str(), p.detail)).collect(),
        };
        self.page.offer(page_entry);
    }

    fn neighbor_discovery(&mut self, m: &Message, src: IpAddr, time: Option<Timestamp>) {
        let Some(slot) = m.icmp_type.checked_sub(133).filter(|s| *s < 5) else { return };
        self.nd_counts[usize::from(slot)] += 1;
        let Some(nd) = m.nd.as_ref() else { return };
        let unspecified = src == IpAddr::from(Ipv6Addr::UNSPECIFIED);
        if m.icmp_type == 135 && unspecified {
            // Duplicate address detection: "is anyone using this address?"
            self.dad_probes += 1;
        }
        if m.icmp_type == 134
            && let Some(r) = self.routers.entry(src)
        {
            r.advertisements += 1;
            r.link_layer_address = nd.source_link_layer_address.clone().or(r.link_layer_address.take());
            r.router_lifetime_s = nd.router_lifetime_s;
            r.cur_hop_limit = nd.cur_hop_limit;
            r.managed = nd.managed_flag;
            r.other_config = nd.other_config_flag;
            r.mtu = nd.mtu_option.or(r.mtu);
            for p in &nd.prefixes {
                if !r.prefixes.contains(&p.prefix) && r.prefixes.len() < PER_ENTRY_LISTED {
                    r.prefixes.push(p.prefix.clone());
                }
            }
        }
        // Who claims which IPv6 address from which link-layer address: the
        // advertised target, and the sender of solicitations and router
        // advertisements carrying their own link-layer address.
        let claims = [
            (nd.target_address.map(IpAddr::from).filter(|_| m.icmp_type == 136), &nd.target_link_layer_address),
            (Some(src).filter(|_| !unspecified && m.icmp_type != 136), &nd.source_link_layer_address),
        ];
        for (address, link_layer) in claims {
            let (Some(address), Some(link_layer)) = (address, link_layer) else { continue };
            if let Some(b) = self.bindings.entry(address) {
                b.messages += 1;
                b.first_seen = b.first_seen.or(time);
                if !b.link_layer_addresses.contains(link_layer) && b.link_layer_addresses.len() < PER_ENTRY_LISTED {
                    b.link_layer_addresses.push(link_layer.clone());
                }
            }
        }
    }

    fn multicast_listeners(&mut self, m: &Message) {
        let slot = match m.icmp_type {
            130 => 0,
            131 => 1,
            132 => 2,
            143 => 3,
            _ => return,
        };
        self.mld_counts[slot] += 1;
        let Some(mld) = m.mld.as_ref() else { return };
        if let Some(group) = mld.multicast_address.filter(|g| !g.is_unspecified() && slot != 0) {
            self.mld_groups.add(group);
        }
        for r in &mld.records {
            self.mld_groups.add(r.multicast_address);
        }
    }

    /// The result's own fields, and the warnings of the tables that filled.
    fn finish(self, total_packets: u64) -> (Fields, Vec<String>) {
        let mut warnings = Vec::new();
        let addresses = |t: &Tally<IpAddr>| -> (Vec<String>, usize) {
            let listed: Vec<String> = t.top(ADDRESSES_LISTED).into_iter().map(|(a, _)| a.to_string()).collect();
            let omitted = t.len() - listed.len();
            (listed, omitted)
        };
        let (sources, sources_omitted) = addresses(&self.sources);
        let (destinations, destinations_omitted) = addresses(&self.destinations);
        let (unreachable, unreachable_omitted) = addresses(&self.unreachable);
        for (name, table) in [
            ("sources", &self.sources),
            ("destinations", &self.destinations),
            ("unreachable destinations", &self.unreachable),
        ] {
            if table.saturated() {
                warnings.push(format!(
                    "more than {ADDRESSES_TRACKED} distinct {name}: the count is a lower bound and the list covers \
                     the first {ADDRESSES_TRACKED} seen"
                ));
            }
        }
        // Keyed by name as in mcpcap, so ICMP and ICMPv6 types of the same
        // name (echo, destination unreachable, ...) add up; busiest first.
        let mut by_name: Vec<(String, u64)> = Vec::new();
        for ((family, t), n) in self.types.top(usize::MAX) {
            let name = names::type_name(family, t);
            match by_name.iter_mut().find(|(existing, _)| *existing == name) {
                Some((_, total)) => *total += n,
                None => by_name.push((name, n)),
            }
        }
        by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let type_counts = OrderedMap(by_name);
        let type_codes: Vec<TypeCodeCount> = self
            .type_codes
            .top(100)
            .into_iter()
            .map(|((family, t, c), n)| TypeCodeCount {
                protocol: family.protocol_name(),
                icmp_type: t,
                icmp_code: c,
                icmp_type_name: names::type_name(family, t),
                icmp_code_name: names::code_name(family, t, c),
                count: n,
            })
            .collect();
        let (echo_pairs, echo_pairs_omitted) = self.echo.pairs();
        let (conversations, conversations_omitted) = self.echo.conversations();
        let (traceroutes, traceroutes_omitted) = self.traceroutes.listed();
        let top = |t: &Tally<IpAddr>| -> Vec<AddressCount> {
            t.top(TOP_LISTED).into_iter().map(|(ip, messages)| AddressCount { ip, messages }).collect()
        };

        let mut flows: Vec<(&FlowKey, &Flow)> = self.flows.iter().collect();
        flows.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then(a.1.first_frame.cmp(&b.1.first_frame)));
        let flows_omitted = flows.len().saturating_sub(FLOWS_LISTED) as u64 + self.flows.untracked();
        let failed_flows: Vec<FailedFlow> = flows
            .into_iter()
            .take(FLOWS_LISTED)
            .map(|(k, f)| FailedFlow {
                icmp_type_name: names::type_name(k.family, k.icmp_type),
                icmp_code_name: names::code_name(k.family, k.icmp_type, k.code),
                protocol: k.family.protocol_name(),
                icmp_type: k.icmp_type,
                icmp_code: k.code,
                reporter: k.reporter,
                original_src_ip: k.src,
                original_dst_ip: k.dst,
                original_protocol: k.protocol,
                original_protocol_name: etherparse::IpNumber(k.protocol).keyword_str(),
                original_dst_port: k.dst_port,
                original_src_ports: f.src_ports.clone(),
                mtu: f.mtu,
                messages: f.messages,
                first_seen: f.first_seen.map(|t| t.to_rfc3339()),
            })
            .collect();

        let mut redirects: Vec<(&RedirectKey, &(u64, Option<Timestamp>))> = self.redirects.iter().collect();
        redirects.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
        let redirects: Vec<Redirect> = redirects
            .into_iter()
            .take(TOP_LISTED)
            .map(|(k, (n, first))| Redirect {
                router: k.router,
                host: k.host,
                destination: k.destination,
                new_gateway: k.gateway,
                messages: *n,
                first_seen: first.map(|t| t.to_rfc3339()),
            })
            .collect();

        let mut routers: Vec<(&IpAddr, &Router)> = self.routers.iter().collect();
        routers.sort_by(|a, b| b.1.advertisements.cmp(&a.1.advertisements).then(a.0.cmp(b.0)));
        let routers: Vec<RouterEntry> = routers
            .into_iter()
            .take(TOP_LISTED)
            .map(|(ip, r)| RouterEntry {
                router: *ip,
                advertisements: r.advertisements,
                link_layer_address: r.link_layer_address.clone(),
                router_lifetime_s: r.router_lifetime_s,
                cur_hop_limit: r.cur_hop_limit,
                managed_flag: r.managed,
                other_config_flag: r.other_config,
                mtu: r.mtu,
                prefixes: r.prefixes.clone(),
            })
            .collect();
        let conflicting = self.bindings.iter().filter(|(_, b)| b.link_layer_addresses.len() > 1).count();
        let mut bindings: Vec<(&IpAddr, &Binding)> = self.bindings.iter().collect();
        bindings.sort_by(|a, b| {
            (b.1.link_layer_addresses.len(), b.1.messages)
                .cmp(&(a.1.link_layer_addresses.len(), a.1.messages))
                .then(a.0.cmp(b.0))
        });
        let bindings: Vec<AddressBinding> = bindings
            .into_iter()
            .take(BINDINGS_LISTED)
            .map(|(ip, b)| AddressBinding {
                address: *ip,
                link_layer_addresses: b.link_layer_addresses.clone(),
                messages: b.messages,
                first_seen: b.first_seen.map(|t| t.to_rfc3339()),
            })
            .collect();
        let mld_groups: Vec<GroupCount> = self
            .mld_groups
            .top(TOP_LISTED)
            .into_iter()
            .map(|(group, mentions)| GroupCount { group, mentions })
            .collect();
        let problems = OrderedMap(self.problems.top(16).into_iter().map(|(k, n)| (k.as_str(), n)).collect());
        let duration = match (self.first_time, self.last_time) {
            (Some(f), Some(l)) => Some(l.seconds_since(f)),
            _ => None,
        };

        let (packets, pagination) = self.page.finish();
        let fields = Fields {
            total_packets,
            icmp_packets_found: self.found,
            icmp_packets_analyzed: self.analyzed,
            statistics: Statistics {
                icmp_type_counts: type_counts,
                unique_sources_count: self.sources.len(),
                unique_destinations_count: self.destinations.len(),
                unique_sources: sources,
                unique_destinations: destinations,
                echo_sessions: self.echo.sessions(),
                echo_pairs,
                unreachable_destinations_count: self.unreachable.len(),
                unreachable_destinations: unreachable,
                icmpv4_messages: self.per_family[0],
                icmpv6_messages: self.per_family[1],
                type_code_counts: type_codes,
                unique_sources_omitted: sources_omitted,
                unique_destinations_omitted: destinations_omitted,
                unreachable_destinations_omitted: unreachable_omitted,
                echo_pairs_omitted,
                error_reporters: top(&self.error_reporters),
                top_sources: top(&self.sources),
                unusual_codes: self.unusual_codes,
                smallest_reported_mtu: self.smallest_mtu,
                first_message_time: self.first_time.map(|t| t.to_rfc3339()),
                last_message_time: self.last_time.map(|t| t.to_rfc3339()),
                duration_seconds: duration,
                messages_per_second: duration.filter(|d| *d > 0.0).map(|d| round3(self.analyzed as f64 / d)),
                peak_messages_per_second: self.rate.peak,
                peak_second: self.rate.peak_second.map(|s| Timestamp { secs: s, nanos: 0 }.to_rfc3339()),
            },
            echo_summary: self.echo.summary(),
            echo_conversations: conversations,
            echo_conversations_omitted: conversations_omitted,
            echo_requesters: self.echo.requesters(),
            traceroutes,
            traceroutes_omitted,
            failed_flows,
            failed_flows_omitted: flows_omitted,
            redirects,
            neighbor_discovery: NeighborDiscoverySummary {
                router_solicitations: self.nd_counts[0],
                router_advertisements: self.nd_counts[1],
                neighbor_solicitations: self.nd_counts[2],
                neighbor_advertisements: self.nd_counts[3],
                redirects: self.nd_counts[4],
                duplicate_address_detection_probes: self.dad_probes,
                routers,
                address_bindings: bindings,
                conflicting_bindings: conflicting,
            },
            multicast_listener_discovery: MulticastListenerSummary {
                queries: self.mld_counts[0],
                reports_v1: self.mld_counts[1],
                dones: self.mld_counts[2],
                reports_v2: self.mld_counts[3],
                groups: mld_groups,
            },
            malformed: Malformed {
                malformed_messages: self.malformed,
                problems,
                empty_icmp_payloads: self.empty,
                fragmented_messages: self.first_fragments,
                later_fragments: self.later_fragments,
            },
            packets,
            pagination,
            message: (self.found == 0).then_some("No ICMP packets found in this capture"),
        };
        (fields, warnings)
    }
}
