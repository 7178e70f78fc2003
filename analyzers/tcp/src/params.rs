//! Parameters of the four tools: one type per tool (its schema is what
//! clients see), read by the shared `parse_params` (whose errors name the
//! parameter), then checked for what a type cannot say (an address, a
//! rate's range) and gathered into [`ToolParams`].

use std::net::IpAddr;

use pcapsule_guest::RunError;
use pcapsule_guest::conventions::schema;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// Every parameter any tool takes; each tool accepts its own subset.
#[derive(Debug, Clone, Default)]
pub struct ToolParams {
    /// Filter (and for the flow, the server).
    pub server_ip: Option<IpAddr>,
    /// Filter on either port.
    pub server_port: Option<u16>,
    /// Per-connection detail in `analyze_tcp_connections`.
    pub detailed: bool,
    /// Retransmission-rate threshold.
    pub threshold: f64,
    /// Packet cap of this call.
    pub max_packets: Option<u64>,
    /// Page size.
    pub limit: Option<u64>,
    /// Items to skip.
    pub offset: Option<u64>,
    /// Byte budget of the result.
    pub max_result_bytes: Option<u64>,
}

/// mcpcap's default retransmission-rate threshold (2 %).
pub const DEFAULT_THRESHOLD: f64 = 0.02;

fn default_threshold() -> f64 {
    DEFAULT_THRESHOLD
}

/// Parameters of `analyze_tcp_connections`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsParams {
    /// Only analyze packets to or from this IPv4 or IPv6 address.
    #[serde(default)]
    server_ip: Option<String>,
    /// Only analyze packets to or from this TCP port.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    server_port: Option<u16>,
    /// Add per-direction statistics, timing and close details to each connection.
    #[serde(default)]
    detailed: bool,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "connections_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "connections_offset")]
    offset: Option<u64>,
}

/// Parameters of `analyze_tcp_anomalies`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesParams {
    /// Only analyze packets to or from this IPv4 or IPv6 address.
    #[serde(default)]
    server_ip: Option<String>,
    /// Only analyze packets to or from this TCP port.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    server_port: Option<u16>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
}

/// Parameters of `analyze_tcp_retransmissions`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetransmissionsParams {
    /// Only analyze packets to or from this IPv4 or IPv6 address.
    #[serde(default)]
    server_ip: Option<String>,
    /// Only analyze packets to or from this TCP port.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    server_port: Option<u16>,
    /// Retransmission rate (retransmissions / packets, a fraction from 0 to
    /// 1: 0.05 for 5 %) above which a connection or the capture is flagged.
    #[serde(default = "default_threshold")]
    #[schemars(range(min = 0, max = 1))]
    threshold: f64,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ranked_limit")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ranked_offset")]
    offset: Option<u64>,
}

/// Parameters of `analyze_traffic_flow`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowParams {
    /// The server's IPv4 or IPv6 address: packets to it are
    /// client-to-server, packets from it server-to-client.
    // Optional to serde (a missing `Option` is `None`) so that leaving it
    // out gets the message below; required in the schema.
    #[schemars(required, with = "String")]
    server_ip: Option<String>,
    /// Only analyze packets to or from this TCP port.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    server_port: Option<u16>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
}

pcapsule_guest::paging_schemas!(connections_limit, connections_offset, "connections", "connections");

pcapsule_guest::paging_schemas!(ranked_limit, ranked_offset, "ranked connections", "ranked connections");

fn bad(message: String) -> RunError {
    RunError::BadParams(message)
}

/// The address a filter names; mcpcap treats an empty one as "no filter".
fn address(text: Option<String>) -> Result<Option<IpAddr>, RunError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(None) };
    let ip = text.trim().parse().map_err(|_| {
        bad(format!("server_ip `{text}` is not an IPv4 or IPv6 address (e.g. 192.0.2.10 or 2001:db8::1)"))
    })?;
    Ok(Some(ip))
}

fn port(port: Option<u16>) -> Result<Option<u16>, RunError> {
    match port {
        Some(0) => Err(bad("server_port must be an integer from 1 to 65535, got 0".into())),
        other => Ok(other),
    }
}

/// Reads and checks `params` for `tool`.
pub fn parse(tool: &str, params: Value) -> Result<ToolParams, RunError> {
    let p = match tool {
        "analyze_tcp_connections" => {
            let p: ConnectionsParams = pcapsule_guest::parse_params(params)?;
            ToolParams {
                server_ip: address(p.server_ip)?,
                server_port: port(p.server_port)?,
                detailed: p.detailed,
                threshold: DEFAULT_THRESHOLD,
                max_packets: p.max_packets,
                max_result_bytes: p.max_result_bytes,
                limit: p.limit,
                offset: p.offset,
            }
        }
        "analyze_tcp_anomalies" => {
            let p: AnomaliesParams = pcapsule_guest::parse_params(params)?;
            ToolParams {
                server_ip: address(p.server_ip)?,
                server_port: port(p.server_port)?,
                threshold: DEFAULT_THRESHOLD,
                max_packets: p.max_packets,
                max_result_bytes: p.max_result_bytes,
                ..ToolParams::default()
            }
        }
        "analyze_tcp_retransmissions" => {
            let p: RetransmissionsParams = pcapsule_guest::parse_params(params)?;
            // A rate is a fraction: 5 meant as 5 % would flag nothing.
            if !(p.threshold.is_finite() && (0.0..=1.0).contains(&p.threshold)) {
                return Err(bad(format!("threshold is a fraction from 0 to 1 (0.05 for 5 %), got {}", p.threshold)));
            }
            ToolParams {
                server_ip: address(p.server_ip)?,
                server_port: port(p.server_port)?,
                threshold: p.threshold,
                max_packets: p.max_packets,
                max_result_bytes: p.max_result_bytes,
                limit: p.limit,
                offset: p.offset,
                ..ToolParams::default()
            }
        }
        "analyze_traffic_flow" => {
            let p: FlowParams = pcapsule_guest::parse_params(params)?;
            ToolParams {
                server_ip: address(p.server_ip)?,
                server_port: port(p.server_port)?,
                threshold: DEFAULT_THRESHOLD,
                max_packets: p.max_packets,
                max_result_bytes: p.max_result_bytes,
                ..ToolParams::default()
            }
        }
        other => return Err(bad(format!("unknown tool `{other}`"))),
    };
    if tool == "analyze_traffic_flow" && p.server_ip.is_none() {
        return Err(bad("server_ip is required: analyze_traffic_flow splits traffic to and from that server".into()));
    }
    Ok(p)
}
