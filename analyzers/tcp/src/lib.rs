#![recursion_limit = "512"]
//! mcpcap's four TCP tools in one streaming pass each: connections with
//! Zeek-style states and history, Wireshark-compatible retransmission and
//! anomaly analysis, traffic flow to a server, scans and floods; memory
//! bounded by live connections, not packets.

mod conn;
mod params;
mod report;
mod result;
mod run;
mod scan;
mod segment;
mod seqanalysis;
// Native only: the tests read the shared captures and run tshark.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod tool_anomalies;
mod tool_connections;
mod tool_flow;
mod tool_retrans;
mod top;
mod tracker;

use std::io::Read;

use pcapsule_guest::component::Call;
use pcapsule_guest::conventions::schema;
use pcapsule_guest::{Analyzer, Description, OnePass, PromptSpec, RunContext, RunError, ToolSpec};
use serde_json::Value;

/// The tcp analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Tcp;

impl Analyzer for Tcp {
    fn describe() -> Description {
        Description {
            name: "tcp",
            version: env!("CARGO_PKG_VERSION"),
            summary: "TCP: connections and their states, handshakes, resets, retransmissions and other anomalies \
                      (as Wireshark flags them), traffic flow to a server, scans and SYN floods.",
            tools: vec![
                ToolSpec {
                    name: "analyze_tcp_connections",
                    title: "TCP connections",
                    description: "List the TCP connections of a capture (IPv4 and IPv6, keyed by address and port \
                                  pairs, a new connection when ports are reused) with who is client and server, \
                                  handshake result, flag counts, data packets, retransmissions and how each closed; \
                                  Zeek's conn_state (S0, SF, REJ, RSTO, ...) and history string; a summary with \
                                  counts per state and handshake round-trip times; and issues worth a look. \
                                  `detailed` adds per-direction packets, bytes and anomalies, timing and the close \
                                  initiator to each connection. The list is paged in order of first packet.",
                    params_schema: schema::of_params::<params::ConnectionsParams>(),
                    result_schema: schema::of_paged_result::<result::ConnectionsResult>("connections"),
                },
                ToolSpec {
                    name: "analyze_tcp_anomalies",
                    title: "TCP anomalies and patterns",
                    description: "Statistics and observed patterns of TCP traffic: handshake success, flag counts, \
                                  RSTs by source and direction, retransmission rate, connection states, Wireshark's \
                                  anomaly counts (fast and spurious retransmissions, out-of-order, duplicate ACKs, \
                                  lost segments, zero windows, keep-alives), and what scans and floods leave: SYNs \
                                  nobody answers (per target), SYNs to many ports of one host, one port of many \
                                  hosts. Patterns are observations with their numbers, not diagnoses.",
                    params_schema: schema::of_params::<params::AnomaliesParams>(),
                    result_schema: schema::of_result::<result::AnomaliesResult>(),
                },
                ToolSpec {
                    name: "analyze_tcp_retransmissions",
                    title: "TCP retransmissions",
                    description: "Retransmissions as Wireshark counts them (tcp.analysis.retransmission, including \
                                  fast and spurious ones): the overall rate against a threshold, connections \
                                  ranked by retransmission rate (paged), the worst connection, and the other loss \
                                  indicators (duplicate ACKs, out-of-order segments, segments after a capture gap).",
                    params_schema: schema::of_params::<params::RetransmissionsParams>(),
                    result_schema: schema::of_paged_result::<result::RetransmissionsResult>("by_connection"),
                },
                ToolSpec {
                    name: "analyze_traffic_flow",
                    title: "TCP traffic flow of a server",
                    description: "Traffic to and from one server (server_ip, optionally server_port): packets, \
                                  bytes, SYN/FIN/RST, data packets, retransmissions and other anomalies per \
                                  direction, the asymmetry ratio, which side sends the RSTs with an interpretation, \
                                  and the server's connections by state and client.",
                    params_schema: schema::of_params::<params::FlowParams>(),
                    result_schema: schema::of_result::<result::FlowResult>(),
                },
            ],
            prompts: vec![
                PromptSpec {
                    name: "tcp_connection_troubleshooting",
                    title: "TCP connection troubleshooting",
                    description: "Diagnose failed handshakes, resets, retransmissions and odd closes.",
                    text: PROMPT_TROUBLESHOOTING,
                },
                PromptSpec {
                    name: "tcp_security_analysis",
                    title: "TCP security analysis",
                    description: "Look for scans, SYN floods and firewall behaviour in TCP traffic.",
                    text: PROMPT_SECURITY,
                },
            ],
        }
    }

    fn run(tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        run::one(tool, params, capture, ctx)
    }
}

/// The four tools share one connection table when run together.
impl OnePass for Tcp {
    fn run_many(calls: Vec<Call<'_>>, capture: &mut dyn Read) -> Vec<Result<Value, RunError>> {
        run::many(calls, capture)
    }
}

const PROMPT_TROUBLESHOOTING: &str = "Troubleshoot TCP connections in this capture. Start with \
analyze_tcp_connections: `summary.conn_states` says how connections went (S0: SYN never answered - server down, \
filtered or unreachable; REJ: refused with RST - nothing listening or a firewall rejecting; RSTO/RSTR: reset by \
client/server after setup; SF: normal open and close; S1: still open; SH/SHR/OTH: partial or midstream), and \
`summary.failed_handshakes` (a SYN captured, no completed handshake; connections the capture joined mid-stream \
are `handshakes_not_seen`, not failures), `reset_connections`, `handshake_rtt_ms` (network latency) and `issues` \
give the headline. Call it again with detailed=true (page with limit/offset via pagination.next_offset) for the \
connections that matter: `history` shows the sequence of events (uppercase from the client: S SYN, H SYN-ACK, A \
ACK, D data, F FIN, R RST, T retransmitted data, G gap, W zero window), `closed_by` and `close_method` who ended \
it and how, `client_to_server`/`server_to_client` where data and problems are. Then analyze_tcp_retransmissions: \
`retransmission_rate` against `threshold`, `by_connection` (worst first), and `breakdown` (fast retransmissions \
after duplicate ACKs mean loss the endpoints recovered from quickly; spurious ones mean data was resent that had \
already arrived - delayed ACKs or a too-short timeout; lost_segments are gaps in the capture itself). For one \
server, analyze_traffic_flow with its server_ip (and server_port): `analysis.primary_rst_source` and \
`interpretation` say which side resets, `client_to_server.zero_windows` or `server_to_client.zero_windows` a \
receiver that cannot keep up. Quote connection names (client <-> server) and numbers for every finding, and say \
which conclusions are inferences.";

const PROMPT_SECURITY: &str = "Examine this capture's TCP traffic for attacks and firewall behaviour. Run \
analyze_tcp_anomalies first: `patterns` with category `security` are the leads - `port_scan` (one source trying \
many ports of one host; `outcomes.answered` are open ports, `rejected` closed, `unanswered` filtered), \
`host_sweep` (one port tried on many hosts), `possible_syn_flood` (many unanswered SYNs to one server endpoint). \
`statistics.connection_attempts` and the `unanswered_syns` pattern show how many attempts got no reply; \
`statistics.conn_states` counts S0 (no answer), REJ (refused), RSTOS0 (client gave up after its SYN - typical of \
half-open scanning) and RSTO after a SYN-ACK (a SYN scan hitting an open port). `statistics.rst_distribution` \
shows who sends the RSTs (`by_source`, `by_direction`): RSTs from one address for many connections suggest a \
firewall or IPS injecting resets. Then analyze_tcp_connections with server_ip or server_port to list the \
connections of a suspect host (detailed=true for timing and `history`), and analyze_traffic_flow for a server \
under attack. Report each finding with its evidence (addresses, counts, connection names), a severity, and what \
would confirm or rule it out; the patterns are observations, not proof of intent.";
