#![recursion_limit = "512"]
//! `analyze_dhcp_packets`: DHCPv4 (and BOOTP) and DHCPv6 in one streaming
//! pass, with every field mcpcap returns plus transactions with timing,
//! clients, servers, leases and observations, all in bounded memory.

use std::io::Read;
use std::net::IpAddr;

use etherparse::{IpNumber, LaxNetSlice, LinkSlice};
use pcapsule_guest::conventions::{
    Header, NoMoreFacts, Observation, PacketBudget, PageCollector, Paging, result_budget, schema,
};
use pcapsule_guest::decode::{DecodeError, Decoded};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Analyzer, Description, Packet, PromptSpec, RunContext, RunError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

mod names;
mod result;
mod stats;
#[cfg(test)]
mod tests;
mod util;
mod v4;
mod v6;

use result::{DhcpResult, Finding, MessageFields, PacketEntry, Statistics};
use stats::{Seen, V4Stats, V6Stats, secs};

/// The DHCP analyzer.
pub struct Dhcp;

/// Parameters of `analyze_dhcp_packets` (besides `pcap_file`, which the host owns).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "packets_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "packets_offset")]
    offset: Option<u64>,
}

pcapsule_guest::paging_schemas!(packets_limit, packets_offset, "DHCP packets", "DHCP packets");

const TOOL: &str = "analyze_dhcp_packets";

impl Analyzer for Dhcp {
    fn describe() -> Description {
        Description {
            name: "dhcp",
            version: env!("CARGO_PKG_VERSION"),
            summary: "DHCPv4/BOOTP and DHCPv6: messages, options, transactions and timing, clients, servers, leases.",
            tools: vec![ToolSpec {
                name: TOOL,
                title: "DHCP analysis (DHCPv4 and DHCPv6)",
                description: "Analyze DHCP in a capture: every DHCPv4/BOOTP message (UDP 67/68, or elsewhere when \
                              it carries the DHCP magic cookie) and DHCPv6 message (UDP 546/547, relayed ones \
                              included) with all options decoded and named (relay agent information, option \
                              overload, client FQDN ...). Statistics cover the whole capture: message types, \
                              clients and servers, transactions by xid with DISCOVER-to-ACK latency, which \
                              servers answered (several answering servers may mean a rogue one), leases with \
                              their times, DHCPv6 DUIDs, addresses and delegated prefixes, plus observations \
                              (NAKs, DECLINEs, starvation, MAC spoofing, malformed messages). The per-packet \
                              list is paged with limit/offset.",
                params_schema: schema::of_params::<Params>(),
                result_schema: schema::of_paged_result::<DhcpResult>("packets"),
            }],
            prompts: vec![
                PromptSpec {
                    name: "dhcp_network_analysis",
                    title: "DHCP address management review",
                    description: "Address management, leases and options handed out by DHCP servers.",
                    text: PROMPT_NETWORK,
                },
                PromptSpec {
                    name: "dhcp_security_analysis",
                    title: "DHCP security review",
                    description: "Rogue servers, starvation, spoofing and odd options in DHCP traffic.",
                    text: PROMPT_SECURITY,
                },
                PromptSpec {
                    name: "dhcp_forensic_investigation",
                    title: "DHCP forensic timeline",
                    description: "Who had which address when, from DHCP leases and transactions.",
                    text: PROMPT_FORENSIC,
                },
            ],
        }
    }

    fn run(_tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let params: Params = pcapsule_guest::parse_params(params)?;
        let paging = Paging::from_params(params.limit, params.offset)?;
        let budget = ctx.budget(params.max_packets)?;
        analyze(capture, ctx, budget, paging, result_budget(params.max_result_bytes)?)
    }
}

const PROMPT_NETWORK: &str = "You are reviewing how DHCP manages addresses on this network. Call \
analyze_dhcp_packets on the capture. Start with `statistics.message_type_counts` (DISCOVER/OFFER/REQUEST/ACK \
balance; NAKs and DECLINEs are problems) and `transaction_summary`: `completed` versus `count`, the `latency` \
figures (discover_to_ack and request_to_ack: seconds a client waited), and listed transactions whose `outcome` \
is not ACK. Read `servers.listed` for each server's offers/acks/naks, the `routers`, `dns_servers` and \
`lease_times` it hands out, and whether replies were relayed (`relayed_replies`, client `relays`). Use `leases` \
for who got which address for how long (`lease_time`, `renewal_time`, `rebinding_time`, `expires_at_iso`), and \
page through `packets` (limit/offset, `pagination.next_offset`) to inspect the `options` of individual OFFERs and \
ACKs (subnet_mask, router, dns_servers, domain, classless_static_routes, option_overload, relay_agent). For \
DHCPv6 use `statistics.dhcpv6` (message types, DUIDs, `leases` with addresses and delegated prefixes). Report \
pool usage, lease policy, slow or failing exchanges, inconsistent options between servers, and concrete fixes. \
Mention `warnings`, `truncated` and the `*_omitted` counts when they limit what the figures cover.";

const PROMPT_SECURITY: &str = "You are looking for attacks on or through DHCP. Call analyze_dhcp_packets on the \
capture, then check: (1) rogue servers: `servers.multiple_servers`, each entry of `servers.listed` (server_id, \
source_ips, source_macs, and especially differing `routers` and `dns_servers`, which is how a rogue server \
redirects traffic), `transaction_summary.answered_by_several_servers`; (2) starvation: \
`statistics.unique_clients_count` against `transaction_summary.completed`, a flood of DISCOVERs from many \
hardware addresses, `observations`; (3) spoofing: observations about chaddr differing from the Ethernet source, \
clients whose `client_id` or `hostname` changes, REQUESTs for addresses another client holds (`leases`), \
RELEASE/DECLINE sent for others; (4) malformed or crafted messages: `statistics.malformed_packets`, \
`bad_magic_cookie_packets`, `non_standard_port_packets`, packets with `malformed` and their `problems`, \
unusual option contents (very long hostnames or vendor classes, unexpected relay_agent data, \
classless_static_routes or wpad pointing somewhere odd). For DHCPv6 check several server DUIDs in \
`statistics.dhcpv6.unique_servers` and unexpected RECONFIGURE or relay messages. Page through `packets` for \
evidence (packet_number, frame_number, timestamp). Rate each finding, say what evidence supports it, and \
recommend controls (DHCP snooping, port security, option 82 policies).";

const PROMPT_FORENSIC: &str = "You are reconstructing who had which address when from DHCP. Call \
analyze_dhcp_packets on the capture. Build the timeline from `leases.listed` (ip, client_mac, hostname, \
server_id, granted_at_iso, expires_at_iso, ended_at_iso/ended_by for RELEASE or DECLINE, transaction_id and \
frame_number as evidence references) and `clients.listed` (first_seen/last_seen, hostname, vendor_class_id \
for device type, client_id, requested and assigned addresses). Use `statistics.transactions` and \
`transaction_summary.listed` for the message sequence of each exchange, and `statistics.dhcpv6.leases` for \
IPv6 addresses and prefixes with the client DUID (and its link_layer_address, which ties DHCPv6 clients to \
DHCPv4 MACs). Page through `packets` (limit/offset) for the exact messages, citing frame_number and timestamp. \
State the capture's coverage limits: `truncated`, `warnings`, and every `*_omitted` count (tables list the \
first or busiest 40 entries). Present a chronological table per address and per device, with confidence \
and the frames that support each row.";

/// Which DHCP a UDP datagram carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// DHCPv4/BOOTP; `true` when found by its magic cookie off ports 67/68.
    V4 { off_port: bool },
    /// DHCPv6.
    V6,
}

fn classify(src_port: u16, dst_port: u16, payload: &[u8]) -> Option<Kind> {
    let either = |a: u16, b: u16| [src_port, dst_port].iter().any(|p| *p == a || *p == b);
    if either(67, 68) {
        Some(Kind::V4 { off_port: false })
    } else if either(546, 547) {
        Some(Kind::V6)
    } else if v4::looks_like_dhcp(payload) {
        Some(Kind::V4 { off_port: true })
    } else {
        None
    }
}

/// The UDP header and partial payload of the first fragment of an IPv4
/// datagram that can never be reassembled (the packet path reassembles the
/// others): it still carries the start of the DHCP message (its type,
/// usually), which Wireshark decodes too in that case.
fn first_ipv4_fragment_udp<'a>(decoded: &Decoded<'a>) -> Option<(u16, u16, &'a [u8])> {
    if !decoded.reassembly_failed {
        return None;
    }
    let Some(LaxNetSlice::Ipv4(ip)) = decoded.layers.net.as_ref() else { return None };
    let payload = ip.payload();
    if !payload.fragmented || ip.header().fragments_offset().value() != 0 || payload.ip_number != IpNumber::UDP {
        return None;
    }
    let p = payload.payload;
    if p.len() < 8 {
        return None;
    }
    Some((u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]]), &p[8..]))
}

/// The first bytes of an IP fragment that can never be reassembled, when
/// they are a UDP header to or from a DHCP port: the message inside cannot
/// be read. (Datagrams still waiting at the end are in the path's warnings.)
fn fragment_to_dhcp_port(decoded: &Decoded<'_>) -> bool {
    if !decoded.is_fragment() || !decoded.reassembly_failed {
        return false;
    }
    let Some(payload) = decoded.layers.net.as_ref().and_then(|n| n.ip_payload_ref()) else { return false };
    if payload.ip_number != IpNumber::UDP || payload.payload.len() < 4 {
        return false;
    }
    let p = payload.payload;
    let (src, dst) = (u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]]));
    [src, dst].iter().any(|port| matches!(port, 67 | 68 | 546 | 547))
}

const FIRST_FRAGMENT: &str = "first IP fragment of a datagram that was not reassembled: the message is incomplete";

/// Packet-level facts shared by both versions' entries.
struct Frame {
    seen: Seen,
    dst_ip: IpAddr,
    src_port: u16,
    dst_port: u16,
}

impl Frame {
    /// The packet entry of a message found in this frame.
    fn entry(
        &self,
        protocol: &'static str,
        message: Option<MessageFields>,
        malformed: bool,
        problems: &[String],
    ) -> PacketEntry {
        PacketEntry {
            packet_number: self.seen.packet_number,
            frame_number: self.seen.frame_number,
            timestamp: secs(self.seen.timestamp),
            protocol,
            src_ip: self.seen.src_ip.to_string(),
            dst_ip: self.dst_ip.to_string(),
            src_port: self.src_port,
            dst_port: self.dst_port,
            message,
            non_standard_port: false,
            malformed,
            // A packet can only have so many problems worth reading.
            problems: problems.iter().take(10).cloned().collect(),
        }
    }
}

/// Totals over the whole capture that are not per-protocol statistics.
#[derive(Default)]
struct Counts {
    found: u64,
    v4: u64,
    v6: u64,
    malformed: u64,
    off_port: u64,
    fragments: u64,
}

/// The dhcp analyzer's part of the pass: statistics over every DHCP
/// message, and the page of packet entries.
struct DhcpHandler {
    page: PageCollector<PacketEntry>,
    v4_stats: V4Stats,
    v6_stats: V6Stats,
    n: Counts,
}

impl PacketHandler for DhcpHandler {
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        let Ok(decoded) = decoded else { return };
        let (udp, first_fragment) = match decoded.udp() {
            Some(udp) => (udp, false),
            None => match first_ipv4_fragment_udp(decoded) {
                Some(udp) => (udp, true),
                None => {
                    self.n.fragments += u64::from(fragment_to_dhcp_port(decoded));
                    return;
                }
            },
        };
        let (src_port, dst_port, payload) = udp;
        let Some(kind) = classify(src_port, dst_port, payload) else { return };
        let Some((src_ip, dst_ip)) = decoded.ip_addrs() else { return };
        let src_mac = match &decoded.layers.link {
            Some(LinkSlice::Ethernet2(eth)) => Some(eth.source()),
            _ => None,
        };
        self.n.found += 1;
        let frame = Frame {
            seen: Seen {
                packet_number: self.n.found,
                frame_number: packet.number,
                timestamp: packet.timestamp,
                src_ip,
                src_mac,
            },
            dst_ip,
            src_port,
            dst_port,
        };
        match kind {
            Kind::V4 { off_port } => {
                self.n.v4 += 1;
                self.n.off_port += u64::from(off_port);
                match v4::parse(payload) {
                    Ok(mut msg) => {
                        if first_fragment {
                            msg.malformed = true;
                            msg.problems.insert(0, FIRST_FRAGMENT.into());
                        }
                        self.n.malformed += u64::from(msg.malformed);
                        self.v4_stats.add(&msg, &frame.seen);
                        self.page.offer(|| {
                            let fields = MessageFields::V4(Box::new(v4::fields(&msg)));
                            let entry = frame.entry("DHCPv4", Some(fields), msg.malformed, &msg.problems);
                            PacketEntry { non_standard_port: off_port, ..entry }
                        });
                    }
                    Err(mut problem) => {
                        if first_fragment {
                            problem = format!("{FIRST_FRAGMENT}; {problem}");
                        }
                        self.n.malformed += 1;
                        self.page.offer(|| frame.entry("DHCPv4", None, true, &[problem]));
                    }
                }
            }
            Kind::V6 => {
                self.n.v6 += 1;
                let mut diag = v6::Diagnostics::default();
                if first_fragment {
                    diag.malformed = true;
                    diag.problems.push(FIRST_FRAGMENT.into());
                }
                match v6::parse(payload, &mut diag) {
                    Ok(msg) => {
                        self.n.malformed += u64::from(diag.malformed);
                        self.v6_stats.add(&msg, &frame.seen);
                        self.page.offer(|| {
                            let fields = MessageFields::V6(Box::new(v6::fields(&msg)));
                            frame.entry("DHCPv6", Some(fields), diag.malformed, &diag.problems)
                        });
                    }
                    Err(mut problem) => {
                        if first_fragment {
                            problem = format!("{FIRST_FRAGMENT}; {problem}");
                        }
                        self.n.malformed += 1;
                        self.page.offer(|| frame.entry("DHCPv6", None, true, &[problem]));
                    }
                }
            }
        }
    }
}

fn analyze(
    capture: &mut dyn Read,
    ctx: &RunContext,
    budget: PacketBudget,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let handler = DhcpHandler {
        page: paging.collector(),
        v4_stats: V4Stats::new(),
        v6_stats: V6Stats::default(),
        n: Counts::default(),
    };
    let Driven { handler: DhcpHandler { page, v4_stats, v6_stats, n }, budget, pass } =
        driver::drive(capture, budget, handler)?;
    let mut warnings = Vec::new();
    if n.fragments > 0 {
        warnings.push(format!(
            "{} IP fragments to or from DHCP ports were not reassembled; the messages in them are not counted",
            n.fragments
        ));
    }
    let mut observations = Vec::new();
    v4_stats.observations(&mut observations);
    if n.malformed > 0 {
        observations.push(Observation::new(
            Finding::MalformedMessages,
            format!(
                "{} DHCP messages are malformed (see `malformed` and `problems` in their packet entries)",
                n.malformed
            ),
        ));
    }
    if n.off_port > 0 {
        observations.push(Observation::new(
            Finding::DhcpOnOtherPorts,
            format!(
                "{} DHCPv4 messages were found on ports other than 67/68 by their magic cookie (PXE on 4011, \
                 relays or tunnels, or traffic trying to stay out of sight)",
                n.off_port
            ),
        ));
    }

    let (packets, pagination) = page.finish();
    let statistics = Statistics {
        v4: v4_stats.statistics(),
        dhcpv4_packets: n.v4,
        dhcpv6_packets: n.v6,
        bootp_packets: v4_stats.bootp_only,
        malformed_packets: n.malformed,
        bad_magic_cookie_packets: v4_stats.bad_cookie,
        non_standard_port_packets: n.off_port,
        dhcpv6: v6_stats.statistics(),
    };
    let result = DhcpResult {
        header: Header::new(ctx),
        total_packets: pass.packets_read,
        dhcp_packets_found: n.found,
        dhcp_packets_analyzed: n.found,
        statistics,
        packets,
        pagination,
        transaction_summary: v4_stats.transaction_summary(),
        clients: v4_stats.clients(),
        servers: v4_stats.servers(),
        leases: v4_stats.leases(),
        observations,
        capture: pass.path.facts(NoMoreFacts {}),
        message: (n.found == 0).then_some("No DHCP packets found in this capture"),
        envelope: pass.envelope(&budget, warnings),
    };
    pcapsule_guest::conventions::into_paged_result(&result, "packets", paging, result_bytes)
}
