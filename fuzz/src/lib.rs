//! What the fuzz targets share: running every tool of an analyzer over one
//! input, deriving small parameters from the input's last bytes, and the
//! checks every result must pass.
//!
//! The input is used whole as the capture, so a real capture is a useful seed
//! as it is. Its last four bytes (a real capture's last packet bytes, or
//! whatever the fuzzer put there) also choose the parameters:
//!
//! - byte 0 is a set of flags: which of `limit`, `offset`, `max_packets`,
//!   `server_ip`, `server_port` and `detailed` are given;
//! - bytes 1..4 give their values (small, so paging and caps are exercised).
//!
//! Only the parameters a tool's `params_schema` declares are passed, and the
//! values are always valid: a `bad_params` error is a finding.

use std::net::IpAddr;

use pcapsule_guest::decode::decode;
use pcapsule_guest::testing::without_timestamp;
use pcapsule_guest::{Analyzer, CaptureError, CaptureReader, OnePass, RunContext, RunError};
use serde_json::{Map, Value, json};

/// The hard cap the host puts on one result (SECURITY.md, "Bounded results").
pub const RESULT_CAP_BYTES: usize = 4 * 1024 * 1024;

/// The parameters chosen by the input's last bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Knobs {
    flags: u8,
    a: u8,
    b: u8,
    c: u8,
}

impl Knobs {
    fn from_tail(data: &[u8]) -> Self {
        let mut tail = [0u8; 4];
        let n = data.len().min(4);
        tail[4 - n..].copy_from_slice(&data[data.len() - n..]);
        Knobs { flags: tail[0], a: tail[1], b: tail[2], c: tail[3] }
    }

    fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

const LIMIT: u8 = 0x01;
const OFFSET: u8 = 0x02;
/// `max_packets` needs both bits, so most runs read the whole capture.
const MAX_PACKETS: u8 = 0x0c;
const SERVER_IP: u8 = 0x10;
const DESTINATION: u8 = 0x20;
const SERVER_PORT: u8 = 0x40;
const DETAILED: u8 = 0x80;

/// An address (and a port) from one of the first packets of the capture, so
/// that `server_ip`/`server_port` filters match something.
fn endpoint_from_capture(data: &[u8], knobs: Knobs) -> Option<(IpAddr, Option<u16>)> {
    let mut reader = CaptureReader::new(data).ok()?;
    let wanted = usize::from(knobs.c % 8);
    let mut found = None;
    let mut index = 0;
    while let Ok(Some(packet)) = reader.next_packet() {
        if let Ok(decoded) = decode(packet.link_type, packet.data)
            && let Some((src, dst)) = decoded.ip_addrs()
        {
            let ports = match decoded.transport() {
                Some(etherparse::TransportSlice::Tcp(t)) => Some((t.source_port(), t.destination_port())),
                Some(etherparse::TransportSlice::Udp(u)) => Some((u.source_port(), u.destination_port())),
                _ => None,
            };
            let pick = if knobs.has(DESTINATION) { (dst, ports.map(|p| p.1)) } else { (src, ports.map(|p| p.0)) };
            found = Some(pick);
            if index == wanted {
                break;
            }
            index += 1;
        }
        if packet.number > 64 {
            break;
        }
    }
    found
}

/// The parameters for `tool`, valid by construction.
fn params_for(schema: &Value, data: &[u8], knobs: Knobs) -> Value {
    let declared = |name: &str| schema.pointer(&format!("/properties/{name}")).is_some();
    let required =
        |name: &str| schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|v| v == name));
    let mut params = Map::new();
    if declared("limit") && knobs.has(LIMIT) {
        params.insert("limit".into(), json!(knobs.a % 21));
    }
    if declared("offset") && knobs.has(OFFSET) {
        params.insert("offset".into(), json!(knobs.b % 16));
    }
    if declared("max_packets") && knobs.flags & MAX_PACKETS == MAX_PACKETS {
        params.insert("max_packets".into(), json!(1 + u64::from(knobs.c % 64)));
    }
    if declared("detailed") {
        params.insert("detailed".into(), json!(knobs.has(DETAILED)));
    }
    if declared("threshold") && knobs.has(LIMIT) {
        params.insert("threshold".into(), json!(f64::from(knobs.a) / 100.0));
    }
    // A parameter with a fixed set of values (a layer, a sort order): one
    // of them, chosen by the knobs, so every value gets fuzzed.
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (index, (name, property)) in properties.iter().enumerate() {
            if let Some(values) = property.get("enum").and_then(Value::as_array).filter(|v| !v.is_empty()) {
                let pick = (usize::from(knobs.a) + usize::from(knobs.b) * (index + 1)) % values.len();
                params.insert(name.clone(), values[pick].clone());
            }
        }
    }
    let want_ip = declared("server_ip") && (knobs.has(SERVER_IP) || required("server_ip"));
    let want_port = declared("server_port") && knobs.has(SERVER_PORT);
    if want_ip || want_port {
        let endpoint = endpoint_from_capture(data, knobs);
        if want_ip {
            let ip = endpoint.map_or_else(|| "192.0.2.1".to_string(), |(ip, _)| ip.to_string());
            params.insert("server_ip".into(), json!(ip));
        }
        if want_port {
            let port = endpoint.and_then(|(_, p)| p).filter(|p| *p != 0).unwrap_or(80);
            params.insert("server_port".into(), json!(port));
        }
    }
    Value::Object(params)
}

/// How the capture reader judges the input: the analyzers must agree with it.
fn reader_verdict(data: &[u8]) -> Result<(), CaptureError> {
    CaptureReader::new(data).map(drop)
}

/// Runs every tool of `A` over `data` as a capture and checks each outcome.
pub fn fuzz_analyzer<A: Analyzer>(data: &[u8]) {
    run_each_tool::<A>(data);
}

/// [`fuzz_analyzer`], and then every tool over one read, which must answer
/// each as its own run did.
pub fn fuzz_one_pass_analyzer<A: OnePass>(data: &[u8]) {
    let (calls, alone, ctx) = run_each_tool::<A>(data);
    let together: Vec<_> = A::run_many(calls, &mut &data[..], &ctx).into_iter().map(without_timestamp).collect();
    assert_eq!(together, alone, "one pass differs from the tools run one by one");
}

/// Every tool alone, each result checked; the calls made, their outcomes
/// (without timestamps) and the context, for a one-pass comparison.
#[allow(clippy::type_complexity)]
fn run_each_tool<A: Analyzer>(data: &[u8]) -> (Vec<(&'static str, Value)>, Vec<Result<Value, RunError>>, RunContext) {
    let knobs = Knobs::from_tail(data);
    let verdict = reader_verdict(data);
    let description = A::describe();
    let ctx = RunContext { capture_name: "fuzz.pcap".into(), capture_size: Some(data.len() as u64), max_packets: None };
    let mut calls = Vec::new();
    let mut alone = Vec::new();
    for tool in &description.tools {
        let params = params_for(&tool.params_schema, data, knobs);
        let outcome = A::run(tool.name, params.clone(), &mut &data[..], &ctx);
        calls.push((tool.name, params.clone()));
        alone.push(without_timestamp(outcome.clone()));
        let name = tool.name;
        match outcome {
            Ok(result) => {
                assert!(verdict.is_ok(), "{name}: a result for a capture the reader refuses ({verdict:?})");
                check_result(name, &result, &tool.result_schema);
            }
            Err(RunError::UnsupportedFormat(m)) => {
                assert!(
                    matches!(verdict, Err(CaptureError::UnsupportedFormat(_))),
                    "{name}: unsupported_format ({m}) for a capture the reader judges {verdict:?}"
                );
            }
            Err(RunError::Malformed { offset, message }) => {
                assert!(
                    offset <= data.len() as u64,
                    "{name}: malformed at byte {offset}, past the end of a {}-byte input: {message}",
                    data.len()
                );
            }
            Err(RunError::BadParams(m)) => panic!("{name}: bad_params for valid parameters {params}: {m}"),
            Err(RunError::Internal(m)) => panic!("{name}: internal error: {m}"),
        }
    }
    (calls, alone, ctx)
}

/// A result is a JSON object that serializes under the host's cap, every key
/// of which the tool's result schema describes, with the required keys present.
pub fn check_result(tool: &str, result: &Value, schema: &Value) {
    assert!(result.is_object(), "{tool}: the result is not a JSON object");
    let text = serde_json::to_string(result).expect("a JSON value serializes");
    assert!(text.len() <= RESULT_CAP_BYTES, "{tool}: a result of {} bytes is over the host's cap", text.len());
    let back: Value = serde_json::from_str(&text).expect("serialized JSON parses back");
    assert!(back.is_object(), "{tool}: the serialized result does not parse back to an object");
    check_keys(tool, result, schema, schema);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            assert!(result.get(key).is_some(), "{tool}: required key `{key}` missing");
        }
    }
}

/// Fails on the first key of `value` the schema does not describe. Lenient
/// where the schema is (no `properties`, `additionalProperties` allowed,
/// `anyOf`/`oneOf`/`patternProperties` not followed).
fn check_keys(path: &str, value: &Value, schema: &Value, root: &Value) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            root.pointer(pointer).unwrap_or_else(|| panic!("{path}: dangling $ref {reference}"))
        }
        None => schema,
    };
    if schema.get("anyOf").is_some() || schema.get("oneOf").is_some() || schema.get("patternProperties").is_some() {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            for (key, inner) in map {
                match (props.and_then(|p| p.get(key)), extra) {
                    (Some(sub), _) => check_keys(&format!("{path}.{key}"), inner, sub, root),
                    (None, Some(sub)) if sub.is_object() => check_keys(&format!("{path}.{key}"), inner, sub, root),
                    (None, Some(Value::Bool(true))) => {}
                    (None, None) if props.is_none() => {}
                    _ => panic!("{path}.{key} is not in the result schema"),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    check_keys(&format!("{path}[]"), item, item_schema, root);
                }
            }
        }
        _ => {}
    }
}

/// A reader that hands out the bytes in short, varying pieces, to exercise
/// the capture reader's refilling.
pub struct Trickle<'a> {
    data: &'a [u8],
    state: u32,
}

impl<'a> Trickle<'a> {
    /// Pieces of 1 to 4096 bytes, in an order fixed by `seed`.
    pub fn new(data: &'a [u8], seed: u32) -> Self {
        Trickle { data, state: seed | 1 }
    }
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // xorshift32: cheap and deterministic.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let piece = if self.state & 3 == 0 {
            1 + (self.state >> 20) as usize % 4096
        } else {
            1 + (self.state >> 8) as usize % 64
        };
        let n = piece.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// FNV-1a, to compare packet bytes between two reads without keeping them.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
