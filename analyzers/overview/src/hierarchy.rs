//! The protocol hierarchy, as Wireshark's Statistics > Protocol Hierarchy
//! and `tshark -z io,phs` count it: every packet adds one to each protocol
//! on its path from the link layer in (`eth → ip → udp → dns`, tunnels
//! included: `eth → ip → gre → erspan → eth → ip → tcp → tls`, and into
//! the datagram an ICMP error quotes: `eth → ip → icmp → ip → udp → dns`),
//! with its bytes on the wire.
//!
//! Above TCP and UDP the application protocol is recognised by content
//! (common::identify) and remembered per flow, so every segment of a TLS
//! connection counts as TLS, not only the ones a record starts in (tshark
//! counts those), and a flow on an unusual port is still found; where only
//! the port says so, the node says `port`. Payload nothing recognised is
//! counted as unidentified, with its busiest ports.

use etherparse::{LaxSlicedPacket, TransportSlice};
use pcapsule_guest::conventions::{Header, NoMoreFacts, PacketBudget, Paging, into_paged_result};
use pcapsule_guest::decode::{DecodeError, Decoded, Layer, LayerChain};
use pcapsule_guest::driver::{PacketHandler, Pass};
use pcapsule_guest::fast_hash::{HashMap, map_with_capacity, stable_hash};
use pcapsule_guest::identify::{self, AppProtocol, FlowIdentity, IdentifiedBy, Transport};
use pcapsule_guest::{Packet, RunContext, RunError};
use serde_json::Value;

use crate::result::{ApplicationEntry, HierarchyResult, PortEntry, ProtocolNode, Unidentified};

/// Nodes of the tree at most (real captures have tens); packets whose path
/// would add more are counted at the deepest node that exists.
const MAX_NODES: usize = 4_096;
/// Flows whose application protocol is remembered; later flows are
/// identified packet by packet.
const MAX_FLOWS: usize = 200_000;
/// Ports of unidentified payload tracked, and listed.
const MAX_PORTS: usize = 10_000;
const LISTED_PORTS: usize = 10;
/// Nodes a page shows by default: a whole tree of a typical capture.
pub const DEFAULT_SHOWN: u64 = 100;

/// One protocol on some path.
struct Node {
    name: &'static str,
    packets: u64,
    bytes: u64,
    /// Of `packets`, those whose protocol only the port said (application nodes).
    by_port: u64,
    application: bool,
    children: Vec<u32>,
}

impl Node {
    fn new(name: &'static str, application: bool) -> Node {
        Node { name, packets: 0, bytes: 0, by_port: 0, application, children: Vec::new() }
    }
}

#[derive(Default, Clone, Copy)]
struct Volume {
    packets: u64,
    bytes: u64,
}

impl Volume {
    fn add(&mut self, bytes: u64) {
        self.packets += 1;
        self.bytes += bytes;
    }
}

/// The hierarchy of one call.
pub struct Hierarchy {
    nodes: Vec<Node>,
    flows: HashMap<u64, FlowIdentity>,
    /// Packets identified without flow memory (the flow table was full).
    unremembered: u64,
    /// Packets counted short of their full path (the tree was full).
    cut_paths: u64,
    /// Packets whose layers were more than the packet path keeps.
    deep_paths: u64,
    total: Volume,
    undecoded: Volume,
    unidentified: Volume,
    unidentified_ports: HashMap<(Transport, u16), Volume>,
    ports_untracked: Volume,
    applications: [(Volume, u64); AppProtocol::ALL.len()],
    path: Vec<(&'static str, bool)>,
}

impl Default for Hierarchy {
    fn default() -> Self {
        Hierarchy {
            nodes: vec![Node::new("", false)],
            flows: map_with_capacity(1024),
            unremembered: 0,
            cut_paths: 0,
            deep_paths: 0,
            total: Volume::default(),
            undecoded: Volume::default(),
            unidentified: Volume::default(),
            unidentified_ports: HashMap::default(),
            ports_untracked: Volume::default(),
            applications: [(Volume::default(), 0); AppProtocol::ALL.len()],
            path: Vec::with_capacity(32),
        }
    }
}

impl PacketHandler for Hierarchy {
    #[inline]
    fn on_packet(&mut self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) {
        self.packet(packet, decoded.as_ref().ok());
    }
}

impl Hierarchy {
    fn packet(&mut self, packet: &Packet<'_>, decoded: Option<&Decoded<'_>>) {
        let bytes = u64::from(packet.original_len);
        self.total.add(bytes);
        let Some(decoded) = decoded else {
            self.undecoded.add(bytes);
            return;
        };
        let mut path = std::mem::take(&mut self.path);
        path.clear();
        let chain = decoded.layer_chain();
        if chain.is_cut() {
            self.deep_paths += 1;
        }
        path.extend(chain.as_slice().iter().map(|l| (l.name(), false)));
        let mut by_port = false;
        match chain.last() {
            Some(Layer::Tcp | Layer::Udp) => {
                if let Some((protocol, how)) = self.application(decoded, bytes) {
                    path.extend(protocol.layers().iter().map(|name| (*name, true)));
                    by_port = how == IdentifiedBy::Port;
                    let (volume, port_only) = &mut self.applications[protocol as usize];
                    volume.add(bytes);
                    *port_only += u64::from(by_port);
                }
            }
            Some(Layer::Icmp | Layer::Icmpv6) => {
                if let Some(quoted) = decoded.icmp_error_quote().and_then(|quote| quote.sliced()) {
                    by_port = push_quoted(&mut path, &quoted);
                }
            }
            Some(Layer::Ipv4 | Layer::Ipv6) if !decoded.is_fragment() => {
                // A protocol etherparse does not slice (or a transport header it could not read).
                if let Some((number, _)) = decoded.ip_payload()
                    && !matches!(number, 1 | 2 | 6 | 17 | 58)
                    && let Some(name) = identify::ip_protocol_name(number)
                {
                    path.push((name, false));
                }
            }
            Some(Layer::Llc) => {
                if let Some(name) = decoded.layers.ether_payload().and_then(|p| identify::llc_payload_name(p.payload)) {
                    path.push((name, false));
                }
            }
            Some(last) if decoded.layers.net.is_none() => {
                if let Some(payload) = decoded.layers.ether_payload() {
                    // Cisco HDLC's 0x8035 is its serial line ARP, not reverse ARP.
                    let name = match (last, payload.ether_type.0) {
                        (Layer::Chdlc, 0x8035) => Some("slarp"),
                        (_, ether_type) => identify::ether_type_name(ether_type),
                    };
                    path.extend(name.map(|name| (name, false)));
                }
            }
            _ => {}
        }
        self.count_path(&path, bytes, by_port);
        self.path = path;
    }

    /// The application protocol of a TCP/UDP packet with payload, from the
    /// flow's memory or its content, else its port; counts what nothing identified.
    fn application(&mut self, decoded: &Decoded<'_>, bytes: u64) -> Option<(AppProtocol, IdentifiedBy)> {
        let (transport, source_port, destination_port, payload) = ports_and_payload(decoded.transport()?)?;
        if payload.is_empty() {
            return None;
        }
        let found = self.recognise(decoded, transport, source_port, destination_port, payload);
        if found.is_none() {
            self.unidentified.add(bytes);
            let key = (transport, source_port.min(destination_port));
            let room = self.unidentified_ports.len() < MAX_PORTS;
            match self.unidentified_ports.get_mut(&key) {
                Some(volume) => volume.add(bytes),
                None if room => self.unidentified_ports.entry(key).or_default().add(bytes),
                None => self.ports_untracked.add(bytes),
            }
        }
        found
    }

    fn recognise(
        &mut self,
        decoded: &Decoded<'_>,
        transport: Transport,
        source_port: u16,
        destination_port: u16,
        payload: &[u8],
    ) -> Option<(AppProtocol, IdentifiedBy)> {
        let Some((src, dst)) = decoded.ip_addrs() else {
            return identify::identify(transport, source_port, destination_port, payload);
        };
        let (x, y) = if (src, source_port) <= (dst, destination_port) {
            ((src, source_port), (dst, destination_port))
        } else {
            ((dst, destination_port), (src, source_port))
        };
        let key = stable_hash((transport == Transport::Tcp, x, y));
        let flows_full = self.flows.len() >= MAX_FLOWS;
        let flow = match self.flows.get_mut(&key) {
            Some(flow) => flow,
            None if flows_full => {
                self.unremembered += 1;
                return identify::identify(transport, source_port, destination_port, payload);
            }
            None => self.flows.entry(key).or_default(),
        };
        match flow.observe(transport, source_port, destination_port, payload) {
            Some(found) => Some((found, IdentifiedBy::Content)),
            None => identify::by_port(transport, source_port, destination_port).map(|p| (p, IdentifiedBy::Port)),
        }
    }

    /// Adds a packet to every node on `path`, creating the nodes it needs.
    fn count_path(&mut self, path: &[(&'static str, bool)], bytes: u64, by_port: bool) {
        let mut at = 0usize;
        for (name, application) in path {
            let found = self.nodes[at].children.iter().copied().find(|c| same_name(self.nodes[*c as usize].name, name));
            let next = match found {
                Some(child) => child as usize,
                None if self.nodes.len() < MAX_NODES => {
                    self.nodes.push(Node::new(name, *application));
                    let child = self.nodes.len() - 1;
                    self.nodes[at].children.push(child as u32);
                    child
                }
                None => {
                    self.cut_paths += 1;
                    break;
                }
            };
            let node = &mut self.nodes[next];
            node.packets += 1;
            node.bytes += bytes;
            if node.application && by_port {
                node.by_port += 1;
            }
            at = next;
        }
    }

    /// What limits the figures.
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.cut_paths > 0 {
            warnings.push(format!(
                "the hierarchy holds {MAX_NODES} protocol nodes: {} packets are counted only down to the deepest \
                 node that fit",
                self.cut_paths
            ));
        }
        if self.deep_paths > 0 {
            warnings.push(format!(
                "{} packets have more layers than the packet path records; their paths are cut after the first {}",
                self.deep_paths,
                pcapsule_guest::decode::MAX_LAYERS
            ));
        }
        if self.unremembered > 0 {
            warnings.push(format!(
                "application protocols are remembered for {MAX_FLOWS} flows: {} packets of later flows were \
                 identified one by one (a flow's packets after its first may then show under their port only)",
                self.unremembered
            ));
        }
        if self.ports_untracked.packets > 0 {
            warnings.push(format!(
                "unidentified traffic is broken down for {MAX_PORTS} ports: {} packets on other ports are in the \
                 total only",
                self.ports_untracked.packets
            ));
        }
        warnings
    }
}

/// Appends the layers of the datagram an ICMP error quotes, as Wireshark
/// descends into it (`icmp → ip → udp → dns`): its IP header, its transport
/// (named from the protocol number when the quote is too short to slice
/// it: RFC 792's 8 bytes hold only the start of a TCP header) and the
/// application protocol its payload shows. True when only the port named
/// that protocol. Quoted traffic is not counted as the application's
/// traffic nor as unidentified: it is a report about a packet, not one.
fn push_quoted(path: &mut Vec<(&'static str, bool)>, quoted: &LaxSlicedPacket<'_>) -> bool {
    path.extend(LayerChain::of_ip_packet(quoted).as_slice().iter().map(|l| (l.name(), false)));
    let (transport, source_port, destination_port, payload) = match &quoted.transport {
        Some(sliced) => match ports_and_payload(sliced) {
            Some(parts) => parts,
            None => return false,
        },
        None => {
            let unsliced = quoted.net.as_ref().and_then(|net| net.ip_payload_ref());
            if let Some(ip_payload) = unsliced.filter(|p| !p.fragmented && !p.payload.is_empty())
                && let Some(name) = identify::ip_protocol_name(ip_payload.ip_number.0)
            {
                path.push((name, false));
            }
            return false;
        }
    };
    match identify::identify(transport, source_port, destination_port, payload) {
        Some((protocol, how)) => {
            path.extend(protocol.layers().iter().map(|name| (*name, true)));
            how == IdentifiedBy::Port
        }
        None => false,
    }
}

/// A TCP segment's or UDP datagram's transport, ports and payload.
fn ports_and_payload<'p>(transport: &TransportSlice<'p>) -> Option<(Transport, u16, u16, &'p [u8])> {
    match transport {
        TransportSlice::Tcp(t) => Some((Transport::Tcp, t.source_port(), t.destination_port(), t.payload())),
        TransportSlice::Udp(u) => Some((Transport::Udp, u.source_port(), u.destination_port(), u.payload())),
        _ => None,
    }
}

/// Names are `'static` literals, most often the very same one: the
/// pointer says so without comparing bytes.
#[inline(always)]
fn same_name(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 10_000.0 / whole as f64).round() / 100.0 }
}

/// The result of `analyze_protocol_hierarchy` from a finished tree.
pub(crate) fn result_of(
    hierarchy: &Hierarchy,
    pass: &Pass,
    budget: &PacketBudget,
    ctx: &RunContext,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let total = hierarchy.total;
    // Depth first, the busiest child (by bytes) first, as a tree reads.
    let mut order: Vec<(usize, usize, String)> = Vec::with_capacity(hierarchy.nodes.len());
    let mut stack: Vec<(usize, usize, String)> = Vec::new();
    let sorted_children = |index: usize| {
        let mut children = hierarchy.nodes[index].children.clone();
        children.sort_by(|a, b| {
            let (a, b) = (&hierarchy.nodes[*a as usize], &hierarchy.nodes[*b as usize]);
            b.bytes.cmp(&a.bytes).then(b.packets.cmp(&a.packets)).then(a.name.cmp(b.name))
        });
        children
    };
    for child in sorted_children(0).into_iter().rev() {
        stack.push((child as usize, 1, hierarchy.nodes[child as usize].name.to_string()));
    }
    while let Some((index, depth, path)) = stack.pop() {
        for child in sorted_children(index).into_iter().rev() {
            let name = hierarchy.nodes[child as usize].name;
            stack.push((child as usize, depth + 1, format!("{path}:{name}")));
        }
        order.push((index, depth, path));
    }
    let node_count = order.len();
    let entry = |(index, depth, path): (usize, usize, String)| {
        let node = &hierarchy.nodes[index];
        let how = match node.by_port {
            0 => "content",
            n if n == node.packets => "port",
            _ => "content and port",
        };
        let identified_by = node.application.then_some(how);
        ProtocolNode {
            protocol: node.name,
            path,
            depth,
            packets: node.packets,
            bytes: node.bytes,
            percent_packets: percent(node.packets, total.packets),
            percent_bytes: percent(node.bytes, total.bytes),
            identified_by,
            packets_by_port: (node.application && node.by_port > 0 && node.by_port < node.packets)
                .then_some(node.by_port),
        }
    };
    let (protocols, pagination) = paging.page_of(order.into_iter().skip(paging.offset).map(entry), node_count);
    let mut applications: Vec<ApplicationEntry> = AppProtocol::ALL
        .iter()
        .zip(&hierarchy.applications)
        .filter(|(_, (volume, _))| volume.packets > 0)
        .map(|(protocol, (volume, port_only))| ApplicationEntry {
            protocol: protocol.name(),
            packets: volume.packets,
            bytes: volume.bytes,
            percent_bytes: percent(volume.bytes, total.bytes),
            packets_by_port_only: *port_only,
        })
        .collect();
    applications.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.protocol.cmp(b.protocol)));
    let mut ports: Vec<(&(Transport, u16), &Volume)> = hierarchy.unidentified_ports.iter().collect();
    ports.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.1.cmp(&b.0.1)));
    let unidentified = Unidentified {
        packets: hierarchy.unidentified.packets,
        bytes: hierarchy.unidentified.bytes,
        percent_packets: percent(hierarchy.unidentified.packets, total.packets),
        percent_bytes: percent(hierarchy.unidentified.bytes, total.bytes),
        top_ports: ports
            .into_iter()
            .take(LISTED_PORTS)
            .map(|((transport, port), volume)| PortEntry {
                transport: match transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                },
                port: *port,
                packets: volume.packets,
                bytes: volume.bytes,
            })
            .collect(),
    };
    let result = HierarchyResult {
        header: Header::new(ctx),
        total_packets: total.packets,
        total_bytes: total.bytes,
        undecoded_packets: hierarchy.undecoded.packets,
        protocol_count: node_count,
        applications,
        unidentified,
        protocols,
        pagination,
        capture: pass.path.facts(NoMoreFacts {}),
        envelope: pass.envelope(budget, hierarchy.warnings()),
    };
    into_paged_result(&result, "protocols", paging, result_bytes)
}
