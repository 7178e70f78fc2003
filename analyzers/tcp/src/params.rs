//! Parameters of the four tools, checked by hand so that every error names
//! the parameter at fault (serde's messages for a wrong type do not).

use std::net::IpAddr;

use pcapsule_guest::RunError;
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
}

/// mcpcap's default retransmission-rate threshold (2 %).
pub const DEFAULT_THRESHOLD: f64 = 0.02;

fn accepted(tool: &str) -> &'static [&'static str] {
    match tool {
        "analyze_tcp_connections" => &["server_ip", "server_port", "detailed", "max_packets", "limit", "offset"],
        "analyze_tcp_anomalies" => &["server_ip", "server_port", "max_packets"],
        "analyze_tcp_retransmissions" => &["server_ip", "threshold", "max_packets", "limit", "offset"],
        "analyze_traffic_flow" => &["server_ip", "server_port", "max_packets"],
        _ => &[],
    }
}

fn bad(message: String) -> RunError {
    RunError::BadParams(message)
}

fn uint(name: &str, v: &Value) -> Result<u64, RunError> {
    v.as_u64().ok_or_else(|| bad(format!("{name} must be a non-negative integer, got {v}")))
}

/// Reads and checks `params` for `tool`.
pub fn parse(tool: &str, params: Value) -> Result<ToolParams, RunError> {
    let allowed = accepted(tool);
    let Value::Object(map) = params else { return Err(bad("parameters must be a JSON object".into())) };
    let mut p = ToolParams { threshold: DEFAULT_THRESHOLD, ..ToolParams::default() };
    for (name, v) in &map {
        if !allowed.contains(&name.as_str()) {
            return Err(bad(format!("unknown parameter `{name}`: {tool} takes {}", allowed.join(", "))));
        }
        if v.is_null() {
            continue;
        }
        match name.as_str() {
            "server_ip" => {
                let text = v.as_str().ok_or_else(|| bad(format!("server_ip must be a string, got {v}")))?;
                // mcpcap treats an empty address as "no filter".
                if !text.trim().is_empty() {
                    p.server_ip = Some(text.trim().parse().map_err(|_| {
                        bad(format!(
                            "server_ip `{text}` is not an IPv4 or IPv6 address (e.g. 192.0.2.10 or 2001:db8::1)"
                        ))
                    })?);
                }
            }
            "server_port" => {
                let port = v.as_u64().filter(|p| (1..=65535).contains(p));
                p.server_port =
                    Some(port.ok_or_else(|| bad(format!("server_port must be an integer from 1 to 65535, got {v}")))?
                        as u16);
            }
            "detailed" => {
                p.detailed = v.as_bool().ok_or_else(|| bad(format!("detailed must be true or false, got {v}")))?;
            }
            "threshold" => {
                let t = v.as_f64().filter(|t| t.is_finite() && (0.0..=1.0).contains(t));
                // A rate is a fraction: 5 meant as 5 % would flag nothing.
                p.threshold =
                    t.ok_or_else(|| bad(format!("threshold is a fraction from 0 to 1 (0.05 for 5 %), got {v}")))?;
            }
            "max_packets" => p.max_packets = Some(uint(name, v)?),
            "limit" => p.limit = Some(uint(name, v)?),
            "offset" => p.offset = Some(uint(name, v)?),
            _ => unreachable!("checked against the accepted list"),
        }
    }
    if tool == "analyze_traffic_flow" && p.server_ip.is_none() {
        return Err(bad("server_ip is required: analyze_traffic_flow splits traffic to and from that server".into()));
    }
    Ok(p)
}
