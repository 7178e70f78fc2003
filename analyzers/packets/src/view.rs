//! One packet as the packet path decoded it, for a reader: the layer chain
//! the path recorded, the fields of the layers it sliced (etherparse's
//! slices of the innermost packet, and of the frame's outermost headers
//! when a tunnel lies between), a summary line and a dump.

use std::net::{IpAddr, SocketAddr};

use etherparse::{
    ArpPacketSlice, Icmpv4Type, Icmpv6Type, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpSlice,
    TransportSlice,
};
use pcapsule_guest::Packet;
use pcapsule_guest::conventions::hex_colon;
use pcapsule_guest::decode::{DecodeError, Decoded, Layer};
use pcapsule_guest::identify::{self, Transport};
use pcapsule_guest::linktype;
use serde_json::{Map, Value, json};

use crate::dump::{DumpOf, dump};
use crate::result::{ApplicationView, LayerView, PacketView};

/// SCTP's IP protocol number (etherparse slices no SCTP header).
const SCTP: u8 = 132;

/// The view of one packet, its dump showing at most `dump_bytes` bytes of what `dump_of` names.
pub fn packet(
    packet: &Packet<'_>,
    decoded: &Result<Decoded<'_>, DecodeError>,
    dump_of: DumpOf,
    dump_bytes: usize,
) -> PacketView {
    let (_, link_type) = linktype::names(packet.link_type);
    let mut view = PacketView {
        frame_number: packet.number,
        time: packet.timestamp.map(|t| t.to_rfc3339()),
        timestamp: packet.timestamp.map(|t| t.as_secs_f64()),
        length: packet.original_len,
        captured_length: packet.data.len(),
        interface: packet.interface,
        protocols: String::new(),
        summary: String::new(),
        layers: Vec::new(),
        application: None,
        problem: None,
        undecodable: None,
        dump: None,
        link_type,
    };
    let mut payload: &[u8] = &[];
    match decoded {
        Ok(decoded) => {
            payload = describe(&mut view, packet, decoded);
        }
        Err(error) => {
            let why = match error {
                DecodeError::UnsupportedLinkType(n) => format!("link type {n} has no decoder here"),
                DecodeError::Malformed(problem) => format!("{}: {}", problem.layer, problem.message),
            };
            view.summary = format!("not decoded ({why})");
            view.protocols = view.link_type.clone();
            view.undecodable = Some(why);
        }
    }
    view.dump = match dump_of {
        DumpOf::Frame => Some(dump(DumpOf::Frame, packet.data, dump_bytes)),
        DumpOf::Payload => Some(dump(DumpOf::Payload, payload, dump_bytes)),
        DumpOf::None => None,
    };
    view
}

/// Fills the layers, protocols, application and summary of a decoded
/// packet; returns its innermost payload.
fn describe<'a>(view: &mut PacketView, packet: &Packet<'_>, decoded: &Decoded<'a>) -> &'a [u8] {
    let chain = decoded.layer_chain();
    let names = chain.as_slice();
    view.layers = names.iter().map(|layer| LayerView { layer: layer.name(), fields: Map::new() }).collect();

    // The innermost packet's layers are the chain's last ones of their kind.
    let mut cursor = names.len();
    for (layer, fields) in level_fields(&decoded.layers).into_iter().rev() {
        if let Some(at) = names[..cursor].iter().rposition(|l| same_kind(*l, layer)) {
            view.layers[at].fields = fields;
            cursor = at;
        }
    }
    // A tunnel lies between: the frame's outermost headers are its first ones.
    if cursor > 0
        && let Some(outer) = pcapsule_guest::decode::outermost_level(packet.link_type, packet.data)
    {
        let mut start = 0;
        for (layer, fields) in level_fields(&outer) {
            let Some(found) = names[start..cursor].iter().position(|l| same_kind(*l, layer)) else { break };
            view.layers[start + found].fields = fields;
            start += found + 1;
        }
    }

    let addrs = decoded.ip_addrs();
    let mut payload = decoded.ip_payload().map_or(&[][..], |(_, p)| p);
    let mut application = None;
    let summary = match decoded.transport() {
        Some(TransportSlice::Tcp(tcp)) => {
            payload = tcp.payload();
            application = identify::identify(Transport::Tcp, tcp.source_port(), tcp.destination_port(), payload);
            let name = application.map_or("TCP", |(app, _)| app.name());
            let (from, to) = endpoints(addrs, tcp.source_port(), tcp.destination_port());
            format!(
                "{} {from} → {to} [{}] seq={} ack={} win={} len={}",
                upper(name),
                tcp_flag_names(tcp).join(", "),
                tcp.sequence_number(),
                tcp.acknowledgment_number(),
                tcp.window_size(),
                payload.len()
            )
        }
        Some(TransportSlice::Udp(udp)) => {
            payload = udp.payload();
            application = identify::identify(Transport::Udp, udp.source_port(), udp.destination_port(), payload);
            let name = application.map_or("UDP", |(app, _)| app.name());
            let (from, to) = endpoints(addrs, udp.source_port(), udp.destination_port());
            format!("{} {from} → {to} len={}", upper(name), payload.len())
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            payload = icmp.payload();
            let (kind, code) = (icmp.type_u8(), icmp.code_u8());
            format!("ICMP {} type={kind} code={code}{}", hosts(addrs), echo_v4(icmp.icmp_type()))
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            payload = icmp.payload();
            let (kind, code) = (icmp.type_u8(), icmp.code_u8());
            format!("ICMPv6 {} type={kind} code={code}{}", hosts(addrs), echo_v6(icmp.icmp_type()))
        }
        Some(TransportSlice::Igmp(_)) => format!("IGMP {}", hosts(addrs)),
        None => other_summary(view, decoded, addrs),
    };
    if let Some((app, by)) = application {
        view.application = Some(ApplicationView { protocol: app.name(), identified_by: by.name() });
    }
    let mut protocols: Vec<&str> = view.layers.iter().map(|l| l.layer).collect();
    if let Some((app, _)) = application {
        protocols.extend(app.layers());
    }
    view.protocols = protocols.join(":");
    if decoded.is_fragment() {
        view.summary = format!("{summary} (IP fragment, not reassembled)");
    } else if decoded.is_reassembled() {
        view.summary = format!("{summary} (reassembled from IP fragments)");
    } else {
        view.summary = summary;
    }
    if let Some(problem) = &decoded.problem {
        view.problem = Some(format!("{}: {}", problem.layer, problem.message));
    }
    payload
}

/// The summary of a packet with no TCP, UDP or ICMP header: SCTP, ARP,
/// another IP protocol, a fragment, or a link layer only.
fn other_summary(view: &mut PacketView, decoded: &Decoded<'_>, addrs: Option<(IpAddr, IpAddr)>) -> String {
    if let (Some(SCTP), Some((source_port, destination_port))) = (decoded.ip_protocol(), decoded.ports()) {
        let mut fields = Map::new();
        fields.insert("srcport".into(), source_port.into());
        fields.insert("dstport".into(), destination_port.into());
        view.layers.push(LayerView { layer: "sctp", fields });
        let (from, to) = endpoints(addrs, source_port, destination_port);
        return format!("SCTP {from} → {to}");
    }
    if let Some(LaxNetSlice::Arp(arp)) = &decoded.layers.net {
        return arp_summary(arp);
    }
    if let Some(protocol) = decoded.ip_protocol() {
        let name = identify::ip_protocol_name(protocol).map_or_else(|| format!("IP protocol {protocol}"), upper);
        return format!("{name} {}", hosts(addrs));
    }
    match view.layers.iter().rev().find(|l| !l.fields.is_empty()) {
        Some(layer) => {
            let field = |key: &str| layer.fields.get(key).and_then(Value::as_str).unwrap_or("?").to_string();
            format!("{} {} → {}", upper(layer.layer), field("src"), field("dst"))
        }
        None => view.layers.last().map_or_else(|| "no layer decoded".to_string(), |l| upper(l.layer)),
    }
}

fn arp_summary(arp: &ArpPacketSlice<'_>) -> String {
    let sender = address(arp.sender_protocol_addr());
    let target = address(arp.target_protocol_addr());
    match arp.operation().0 {
        1 => format!("ARP who has {target}? tell {sender}"),
        2 => format!("ARP {sender} is at {}", hex_colon(arp.sender_hw_addr())),
        other => format!("ARP opcode {other} {sender} → {target}"),
    }
}

/// An ARP protocol address: IPv4 when four bytes, hex otherwise.
fn address(bytes: &[u8]) -> String {
    match <[u8; 4]>::try_from(bytes) {
        Ok(v4) => std::net::Ipv4Addr::from(v4).to_string(),
        Err(_) => hex_colon(bytes),
    }
}

/// Whether a layer sliced from a level is the chain's `chained` one: the
/// chain names a service tag 802.1ad where the slice just sees a tag.
fn same_kind(chained: Layer, sliced: Layer) -> bool {
    chained == sliced || (sliced == Layer::Vlan && chained == Layer::Ieee8021ad)
}

/// The fields of the layers one level of slicing read, in order.
fn level_fields(layers: &LaxSlicedPacket<'_>) -> Vec<(Layer, Map<String, Value>)> {
    let mut out = Vec::with_capacity(5);
    if let Some(LinkSlice::Ethernet2(eth)) = &layers.link {
        out.push((
            Layer::Ethernet,
            fields([
                ("src", hex_colon(&eth.source()).into()),
                ("dst", hex_colon(&eth.destination()).into()),
                ("type", format!("0x{:04x}", eth.ether_type().0).into()),
            ]),
        ));
    }
    for ext in &layers.link_exts {
        match ext {
            LaxLinkExtSlice::Vlan(tag) => out.push((
                Layer::Vlan,
                fields([
                    ("id", tag.vlan_identifier().value().into()),
                    ("priority", tag.priority_code_point().value().into()),
                    ("etype", format!("0x{:04x}", tag.ether_type().0).into()),
                ]),
            )),
            LaxLinkExtSlice::Macsec(_) => out.push((Layer::Macsec, Map::new())),
        }
    }
    match &layers.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let mut flags = Vec::new();
            if h.dont_fragment() {
                flags.push("DF");
            }
            if h.more_fragments() {
                flags.push("MF");
            }
            out.push((
                Layer::Ipv4,
                fields([
                    ("src", h.source_addr().to_string().into()),
                    ("dst", h.destination_addr().to_string().into()),
                    ("ttl", h.ttl().into()),
                    ("id", h.identification().into()),
                    ("proto", h.protocol().0.into()),
                    ("len", h.total_len().into()),
                    ("flags", flags.join(", ").into()),
                    ("frag_offset", (u32::from(h.fragments_offset().value()) * 8).into()),
                ]),
            ));
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            out.push((
                Layer::Ipv6,
                fields([
                    ("src", h.source_addr().to_string().into()),
                    ("dst", h.destination_addr().to_string().into()),
                    ("hlim", h.hop_limit().into()),
                    ("nxt", h.next_header().0.into()),
                    ("plen", h.payload_length().into()),
                    ("flow", h.flow_label().value().into()),
                ]),
            ));
        }
        Some(LaxNetSlice::Arp(arp)) => out.push((
            Layer::Arp,
            fields([
                ("opcode", arp.operation().0.into()),
                ("src.hw", hex_colon(arp.sender_hw_addr()).into()),
                ("src.proto", address(arp.sender_protocol_addr()).into()),
                ("dst.hw", hex_colon(arp.target_hw_addr()).into()),
                ("dst.proto", address(arp.target_protocol_addr()).into()),
            ]),
        )),
        None => {}
    }
    match &layers.transport {
        Some(TransportSlice::Tcp(tcp)) => out.push((
            Layer::Tcp,
            fields([
                ("srcport", tcp.source_port().into()),
                ("dstport", tcp.destination_port().into()),
                ("seq_raw", tcp.sequence_number().into()),
                ("ack_raw", tcp.acknowledgment_number().into()),
                ("flags", format!("0x{:03x}", tcp_flag_bits(tcp)).into()),
                ("flag_names", json!(tcp_flag_names(tcp))),
                ("window_size_value", tcp.window_size().into()),
                ("hdr_len", (usize::from(tcp.data_offset()) * 4).into()),
                ("len", tcp.payload().len().into()),
            ]),
        )),
        Some(TransportSlice::Udp(udp)) => out.push((
            Layer::Udp,
            fields([
                ("srcport", udp.source_port().into()),
                ("dstport", udp.destination_port().into()),
                ("length", udp.length().into()),
            ]),
        )),
        Some(TransportSlice::Icmpv4(icmp)) => {
            let mut f = fields([("type", icmp.type_u8().into()), ("code", icmp.code_u8().into())]);
            if let Icmpv4Type::EchoRequest(echo) | Icmpv4Type::EchoReply(echo) = icmp.icmp_type() {
                f.insert("ident".into(), echo.id.into());
                f.insert("seq".into(), echo.seq.into());
            }
            out.push((Layer::Icmp, f));
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            let mut f = fields([("type", icmp.type_u8().into()), ("code", icmp.code_u8().into())]);
            if let Icmpv6Type::EchoRequest(echo) | Icmpv6Type::EchoReply(echo) = icmp.icmp_type() {
                f.insert("ident".into(), echo.id.into());
                f.insert("seq".into(), echo.seq.into());
            }
            out.push((Layer::Icmpv6, f));
        }
        Some(TransportSlice::Igmp(_)) => out.push((Layer::Igmp, Map::new())),
        None => {}
    }
    out
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The TCP flags byte and the ECN nonce bit, as Wireshark's `tcp.flags`.
fn tcp_flag_bits(tcp: &TcpSlice<'_>) -> u16 {
    [tcp.fin(), tcp.syn(), tcp.rst(), tcp.psh(), tcp.ack(), tcp.urg(), tcp.ece(), tcp.cwr(), tcp.ns()]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, set)| if *set { bits | 1 << i } else { bits })
}

fn tcp_flag_names(tcp: &TcpSlice<'_>) -> Vec<&'static str> {
    [
        (tcp.ns(), "NS"),
        (tcp.cwr(), "CWR"),
        (tcp.ece(), "ECE"),
        (tcp.urg(), "URG"),
        (tcp.ack(), "ACK"),
        (tcp.psh(), "PSH"),
        (tcp.rst(), "RST"),
        (tcp.syn(), "SYN"),
        (tcp.fin(), "FIN"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .rev()
    .collect()
}

fn echo_v4(kind: Icmpv4Type) -> String {
    match kind {
        Icmpv4Type::EchoRequest(e) => format!(" echo request id={} seq={}", e.id, e.seq),
        Icmpv4Type::EchoReply(e) => format!(" echo reply id={} seq={}", e.id, e.seq),
        _ => String::new(),
    }
}

fn echo_v6(kind: Icmpv6Type) -> String {
    match kind {
        Icmpv6Type::EchoRequest(e) => format!(" echo request id={} seq={}", e.id, e.seq),
        Icmpv6Type::EchoReply(e) => format!(" echo reply id={} seq={}", e.id, e.seq),
        _ => String::new(),
    }
}

/// Both ends with their ports (`[v6]:port` for IPv6); ports alone without IP.
fn endpoints(addrs: Option<(IpAddr, IpAddr)>, source_port: u16, destination_port: u16) -> (String, String) {
    match addrs {
        Some((src, dst)) => {
            (SocketAddr::new(src, source_port).to_string(), SocketAddr::new(dst, destination_port).to_string())
        }
        None => (format!("port {source_port}"), format!("port {destination_port}")),
    }
}

fn hosts(addrs: Option<(IpAddr, IpAddr)>) -> String {
    addrs.map_or_else(String::new, |(src, dst)| format!("{src} → {dst}"))
}

fn upper(name: &str) -> String {
    name.to_ascii_uppercase()
}
