//! `analyze_traffic_flow`: traffic to and from one server, split by
//! direction as mcpcap splits it (towards `server_ip`, or towards
//! `server_port` when given), with asymmetry, the main RST source, and the
//! server's connections by state and client.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pcapsule_guest::conventions::Header;
use pcapsule_guest::{RunContext, RunError};
use serde_json::Value;

use crate::conn::{CLIENT, Connection, SERVER};
use crate::result::{ClientPackets, FlowAnalysis, FlowConnections, FlowDirection, FlowResult};
use crate::scan::{Filter, Scanned, round6};
use crate::segment::{Segment, flag};
use crate::seqanalysis::verdict;
use crate::tool_connections::Stat;
use crate::tracker::Sink;
use pcapsule_guest::bounded::TopCounter;

#[derive(Default, Clone, Copy)]
struct Direction {
    packets: u64,
    bytes: u64,
    captured_bytes: u64,
    payload_bytes: u64,
    syn: u64,
    rst: u64,
    fin: u64,
    data_packets: u64,
    retransmissions: u64,
    duplicate_acks: u64,
    zero_windows: u64,
    out_of_order: u64,
}

impl Direction {
    fn counts(self) -> FlowDirection {
        FlowDirection {
            packet_count: self.packets,
            byte_count: self.bytes,
            captured_byte_count: self.captured_bytes,
            syn_count: self.syn,
            rst_count: self.rst,
            fin_count: self.fin,
            data_packets: self.data_packets,
            retransmissions: self.retransmissions,
            payload_bytes: self.payload_bytes,
            duplicate_acks: self.duplicate_acks,
            zero_windows: self.zero_windows,
            out_of_order: self.out_of_order,
        }
    }
}

/// The sink of `analyze_traffic_flow`.
pub struct Flow {
    filter: Filter,
    to_server: Direction,
    from_server: Direction,
    connections: u64,
    conn_states: BTreeMap<&'static str, u64>,
    clients: TopCounter<IpAddr>,
    handshake_rtt: Stat,
    /// Connections in which the server's RST was likely not the server's.
    suspicious_server_rsts: u64,
}

impl Flow {
    /// A sink for the server `filter` describes (its `server_ip` is set).
    pub fn new(filter: Filter) -> Self {
        Flow {
            filter,
            to_server: Direction::default(),
            from_server: Direction::default(),
            connections: 0,
            conn_states: BTreeMap::new(),
            clients: TopCounter::new(4096),
            handshake_rtt: Stat::default(),
            suspicious_server_rsts: 0,
        }
    }
}

impl Sink for Flow {
    fn segment(&mut self, _: &Connection, _: usize, s: &Segment, v: u32) {
        let towards = match self.filter.server_port {
            Some(port) => s.dport == port,
            None => Some(s.dst) == self.filter.server_ip,
        };
        let d = if towards { &mut self.to_server } else { &mut self.from_server };
        d.packets += 1;
        d.bytes += u64::from(s.wire_len);
        d.captured_bytes += u64::from(s.frame_len);
        d.payload_bytes += u64::from(s.seglen);
        d.syn += u64::from(s.has(flag::SYN));
        d.rst += u64::from(s.has(flag::RST));
        d.fin += u64::from(s.has(flag::FIN));
        d.data_packets += u64::from(s.seglen > 0);
        d.retransmissions += u64::from(v & verdict::RETRANSMISSION != 0);
        d.duplicate_acks += u64::from(v & verdict::DUPLICATE_ACK != 0);
        d.zero_windows += u64::from(v & verdict::ZERO_WINDOW != 0);
        d.out_of_order += u64::from(v & verdict::OUT_OF_ORDER != 0);
    }

    fn finished(&mut self, c: &Connection) {
        self.connections += 1;
        *self.conn_states.entry(c.conn_state()).or_default() += 1;
        // The peer of the server, whichever role tracking gave it.
        let (peer, server_side) = if Some(c.server.ip()) == self.filter.server_ip {
            (c.client.ip(), SERVER)
        } else {
            (c.server.ip(), CLIENT)
        };
        self.suspicious_server_rsts += u64::from(c.suspicious_rst(server_side).is_some());
        self.clients.add_n(&peer, u64::from(c.packet_count()));
        if let Some(rtt) = c.handshake_rtt_ms() {
            self.handshake_rtt.add(rtt);
        }
    }
}

impl Flow {
    /// The result.
    pub fn finish(self, ctx: &RunContext, scanned: Scanned, budget: usize) -> Result<Value, RunError> {
        let (to, from) = (self.to_server, self.from_server);
        let asymmetry = if from.packets > 0 { round6(to.packets as f64 / from.packets as f64) } else { 0.0 };
        let (source, interpretation) = if to.packets + from.packets == 0 {
            ("none", "No TCP packets to or from this server: nothing to judge.".to_string())
        } else if to.rst + from.rst == 0 {
            ("none", "No RST packets either way.".to_string())
        } else if to.rst > from.rst {
            (
                "client",
                format!(
                    "Clients send more RST packets ({} vs {}) while the server answers normally: suggests a \
                     client-side cause (an application aborting, or a firewall near the clients).",
                    to.rst, from.rst
                ),
            )
        } else if from.rst > to.rst && self.suspicious_server_rsts > 0 {
            (
                "server",
                format!(
                    "RST packets carrying the server's address outnumber the clients' ({} vs {}), but in {} \
                     connections they are likely not the server's (TTL unlike the server's other packets, or the \
                     server carried on after them): forged resets or a middlebox in the path, not the server \
                     refusing. See suspicious_rst in analyze_tcp_connections.",
                    from.rst, to.rst, self.suspicious_server_rsts
                ),
            )
        } else if from.rst > to.rst {
            (
                "server",
                format!(
                    "The server sends more RST packets ({} vs {}): suggests rejection by the server or a service \
                     problem (closed port, overloaded or crashing application).",
                    from.rst, to.rst
                ),
            )
        } else {
            ("balanced", "Balanced RST distribution.".to_string())
        };
        let direction = data_flow_direction(to.payload_bytes, from.payload_bytes);
        let server_ip = self.filter.server_ip.map(|ip| ip.to_string()).unwrap_or_default();
        let port = self.filter.server_port.map_or("any".to_string(), |p| p.to_string());
        let server =
            if server_ip.contains(':') { format!("[{server_ip}]:{port}") } else { format!("{server_ip}:{port}") };
        let top_clients = self
            .clients
            .top(10)
            .into_iter()
            .map(|(ip, packets)| ClientPackets { client: ip.to_string(), packets })
            .collect();
        let message = if scanned.counts.tcp_packets == 0 {
            Some("No TCP packets found in this capture")
        } else if to.packets + from.packets == 0 {
            Some("No TCP packets to or from this server")
        } else {
            None
        };
        let result = FlowResult {
            header: Header::new(ctx),
            server,
            client_to_server: to.counts(),
            server_to_client: from.counts(),
            analysis: FlowAnalysis {
                asymmetry_ratio: asymmetry,
                primary_rst_source: source,
                data_flow_direction: direction,
                interpretation,
                byte_asymmetry_ratio: if from.bytes > 0 { round6(to.bytes as f64 / from.bytes as f64) } else { 0.0 },
            },
            connections: FlowConnections {
                total: self.connections,
                conn_states: self.conn_states,
                top_clients,
                handshake_rtt_ms: self.handshake_rtt.summary(),
            },
            filter: self.filter.echo(),
            message,
            tail: scanned.tail(),
        };
        pcapsule_guest::conventions::into_result(&result, budget)
    }
}

/// Which side sent more data, by payload bytes (a packet count says little:
/// a download is a few large server segments against many small ACKs):
/// more than 1.2 times the other side's is heavy, a side that sent nothing
/// against one that did is the other's; no data either way is "none".
pub(crate) fn data_flow_direction(to_server: u64, from_server: u64) -> &'static str {
    let (to, from) = (to_server as f64, from_server as f64);
    if to_server == 0 && from_server == 0 {
        "none"
    } else if to > 1.2 * from {
        "client_heavy"
    } else if from > 1.2 * to {
        "server_heavy"
    } else {
        "balanced"
    }
}
