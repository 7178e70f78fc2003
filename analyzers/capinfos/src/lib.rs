#![recursion_limit = "256"]
//! `analyze_capinfos`: what Wireshark's `capinfos` reports about a capture
//! file, with every field mcpcap returns, computed in one streaming pass.

use std::io::Read;

use pcapsule_guest::capture::{CaptureFormat, CutShort, Interface, Section};
use pcapsule_guest::conventions::{Envelope, PacketBudget, result_budget, schema};
use pcapsule_guest::driver::{self, Driven, PacketHandler};
use pcapsule_guest::{Analyzer, Description, Packet, RunContext, RunError, Timestamp, ToolSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hashes::{FileHashes, Hashing};

mod hashes;

/// The capinfos analyzer: implements [`pcapsule_guest::Analyzer`].
pub struct Capinfos;

/// Parameters of `analyze_capinfos` (besides `pcap_file`, which the host owns).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    #[schemars(schema_with = "schema::max_packets_param")]
    max_packets: Option<u64>,
    #[serde(default)]
    #[schemars(schema_with = "schema::max_result_bytes_param")]
    max_result_bytes: Option<u64>,
    /// Also compute the file's SHA-256, RIPEMD-160 and SHA-1, as `capinfos
    /// -H` does, over the file as stored (compressed, if it is). The whole
    /// file is read for them, past `max_packets` too.
    #[serde(default)]
    hashes: bool,
}

impl Analyzer for Capinfos {
    fn describe() -> Description {
        Description {
            name: "capinfos",
            version: env!("CARGO_PKG_VERSION"),
            summary: "Capture file metadata: format, link types, packet count, sizes, time span and rates.",
            tools: vec![ToolSpec {
                name: "analyze_capinfos",
                title: "Capture file summary (capinfos)",
                description: "Summarize a pcap or pcapng capture like Wireshark's capinfos: file type, \
                              encapsulation per interface, snaplen, timestamp precision, packet count, data \
                              size, first/last packet time, duration, data and packet rates, whether packets \
                              are in time order, pcapng section metadata, and with `hashes` the file's \
                              SHA-256, RIPEMD-160 and SHA-1 (capinfos -H). Start here to learn what a capture \
                              holds before analyzing protocols.",
                params_schema: schema::of_params::<Params>(),
                result_schema: schema::of_result::<CapinfosResult>(),
            }],
            // The first-look prompt (capture_overview) is the overview analyzer's: it
            // starts here, then goes on to that analyzer's tools.
            prompts: vec![],
        }
    }

    fn run(_tool: &str, params: Value, capture: &mut dyn Read, ctx: &RunContext) -> Result<Value, RunError> {
        let params: Params = pcapsule_guest::parse_params(params)?;
        let budget = ctx.budget(params.max_packets)?;
        let result_bytes = result_budget(params.max_result_bytes)?;
        let result = if params.hashes {
            let mut hashing = Hashing::new(capture);
            let mut result = summarize(&mut hashing, ctx, budget)?;
            let (hashes, covered) =
                hashing.finish().map_err(|e| RunError::Internal(format!("reading the capture: {e}")))?;
            // The host ends the input early when a limit is near (the soft
            // stop): hashes of part of a file would be wrong, not approximate.
            match ctx.capture_size {
                Some(size) if size != covered => result.envelope.warnings.push(format!(
                    "no hashes: the input ended after {covered} of the file's {size} bytes (a limit was near)"
                )),
                _ => result.hashes = Some(hashes),
            }
            result
        } else {
            summarize(capture, ctx, budget)?
        };
        pcapsule_guest::conventions::into_result(&result, result_bytes)
    }
}

/// Running totals for one interface.
#[derive(Default, Clone)]
struct InterfaceTally {
    packets: u64,
}

/// Running totals over the frames of a capture, as capinfos keeps them.
#[derive(Default)]
struct Totals {
    count: u64,
    data_size: u64,
    captured_size: u64,
    truncated_packets: u64,
    min_len: Option<usize>,
    max_len: usize,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
    out_of_order: bool,
    without_timestamp: u64,
    tallies: Vec<InterfaceTally>,
}

impl PacketHandler for Totals {
    /// capinfos reads records, never their contents.
    const DECODES: bool = false;

    fn on_frame(&mut self, packet: &Packet<'_>) {
        self.count += 1;
        let len = packet.data.len();
        // capinfos' "data size" counts bytes on the wire, not bytes captured.
        self.data_size += u64::from(packet.original_len);
        self.captured_size += len as u64;
        if (packet.original_len as usize) > len {
            self.truncated_packets += 1;
        }
        self.min_len = Some(self.min_len.map_or(len, |m| m.min(len)));
        self.max_len = self.max_len.max(len);
        if self.tallies.len() <= packet.interface {
            self.tallies.resize(packet.interface + 1, InterfaceTally::default());
        }
        self.tallies[packet.interface].packets += 1;
        // Packets without a timestamp (pcapng simple packet blocks) count,
        // but take no part in the time figures, as in capinfos.
        let Some(ts) = packet.timestamp else {
            self.without_timestamp += 1;
            return;
        };
        if self.last.is_some_and(|l| ts < l) {
            self.out_of_order = true;
        }
        self.first.get_or_insert(ts);
        self.last = Some(ts);
        self.earliest = Some(self.earliest.map_or(ts, |e| e.min(ts)));
        self.latest = Some(self.latest.map_or(ts, |l| l.max(ts)));
    }
}

fn summarize(capture: &mut dyn Read, ctx: &RunContext, budget: PacketBudget) -> Result<CapinfosResult, RunError> {
    let Driven { handler: t, budget, pass } = driver::drive(capture, budget, Totals::default())?;
    let (count, data_size) = (t.count, t.data_size);
    let format = pass.format;
    let interfaces = &pass.interfaces[..];
    let (encapsulation, encapsulation_short) = file_encapsulation(interfaces);
    // capinfos measures the span from the earliest to the latest timestamp,
    // which differs from first-to-last only when packets are out of order.
    let duration = match (t.earliest, t.latest) {
        (Some(e), Some(l)) => l.seconds_since(e),
        _ => 0.0,
    };
    let rate = |amount: f64| (duration > 0.0).then(|| amount / duration);
    let result = CapinfosResult {
        file_size_bytes: ctx.capture_size,
        filename: ctx.capture_name.clone(),
        file_encapsulation: encapsulation,
        packet_count: count,
        data_size_bytes: data_size,
        capture_duration_seconds: duration,
        first_packet_time: t.earliest.map(|t| t.as_secs_f64()),
        last_packet_time: t.latest.map(|t| t.as_secs_f64()),
        data_rate_bytes: rate(data_size as f64),
        data_rate_bits: rate(data_size as f64 * 8.0),
        average_packet_size_bytes: (count > 0).then(|| data_size as f64 / count as f64),
        average_packet_rate: rate(count as f64),
        file_type: format.short_name(),
        file_type_description: file_type_description(format, pass.gzip_compressed),
        gzip_compressed: pass.gzip_compressed,
        byte_order: byte_order(format),
        file_encapsulation_short: encapsulation_short,
        timestamp_precision: timestamp_precision(format, interfaces),
        first_packet_time_iso: t.earliest.map(|t| t.to_rfc3339()),
        last_packet_time_iso: t.latest.map(|t| t.to_rfc3339()),
        first_record_time_iso: t.first.map(|t| t.to_rfc3339()),
        last_record_time_iso: t.last.map(|t| t.to_rfc3339()),
        strict_time_order: !t.out_of_order,
        packets_without_timestamp: t.without_timestamp,
        captured_size_bytes: t.captured_size,
        truncated_packets: t.truncated_packets,
        smallest_packet_bytes: t.min_len,
        largest_packet_bytes: (count > 0).then_some(t.max_len),
        section_count: pass.sections,
        sections: pass.section_metadata.clone(),
        interface_count: interfaces.len(),
        interfaces: interface_summaries(interfaces, &t.tallies),
        cut_short: pass.cut_short.clone(),
        hashes: None,
        // capinfos names the file `filename` and has no analysis time: only
        // the warnings and the budget's report are the shared envelope's.
        envelope: pass.envelope(&budget, Vec::new()),
    };
    Ok(result)
}

/// What `analyze_capinfos` returns: the figures of Wireshark's `capinfos`
/// (with mcpcap's names), and a few it does not give.
#[derive(Serialize, JsonSchema)]
struct CapinfosResult {
    /// Size of the capture file.
    file_size_bytes: Option<u64>,
    /// The capture as given (path or URL).
    filename: String,
    /// Link type of the file, as Wireshark names it ("Per packet" when interfaces differ).
    file_encapsulation: String,
    /// Packets read (up to `max_packets`).
    packet_count: u64,
    /// Sum of packet lengths on the wire (as capinfos counts).
    data_size_bytes: u64,
    /// From the earliest to the latest timestamp, in seconds.
    capture_duration_seconds: f64,
    /// Earliest timestamp, Unix seconds.
    first_packet_time: Option<f64>,
    /// Latest timestamp, Unix seconds.
    last_packet_time: Option<f64>,
    /// Bytes per second over the duration.
    data_rate_bytes: Option<f64>,
    /// Bits per second over the duration.
    data_rate_bits: Option<f64>,
    /// Mean bytes on the wire per packet.
    average_packet_size_bytes: Option<f64>,
    /// Packets per second over the duration.
    average_packet_rate: Option<f64>,
    /// The file format, as `capinfos -t` prints it.
    #[schemars(extend("enum" = ["pcap", "nsecpcap", "modpcap", "pcapng"]))]
    file_type: &'static str,
    /// The file format, as Wireshark describes it (with "(gzip compressed)"
    /// after it when the file is).
    file_type_description: String,
    /// The file is gzip-compressed (`.pcap.gz`, `.pcapng.gz`): it was read
    /// decompressed, as Wireshark reads it. `file_size_bytes` is the
    /// compressed size.
    gzip_compressed: bool,
    /// Byte order of a pcap file; "per-section" for pcapng.
    byte_order: &'static str,
    /// The file's link type, Wireshark's short name.
    file_encapsulation_short: String,
    /// Timestamp resolution ("microseconds", "nanoseconds", "per-packet" when interfaces differ, ...).
    timestamp_precision: String,
    /// Earliest timestamp, RFC 3339.
    first_packet_time_iso: Option<String>,
    /// Latest timestamp, RFC 3339.
    last_packet_time_iso: Option<String>,
    /// Timestamp of the first record in the file, RFC 3339.
    first_record_time_iso: Option<String>,
    /// Timestamp of the last record in the file, RFC 3339.
    last_record_time_iso: Option<String>,
    /// True when no record is older than the one before it.
    strict_time_order: bool,
    /// pcapng simple packet blocks carry no time; the time figures cover the other packets (capinfos then reports no times at all).
    packets_without_timestamp: u64,
    /// Sum of captured packet lengths (less than data_size_bytes when the snaplen cut packets).
    captured_size_bytes: u64,
    /// Packets captured shorter than on the wire (snaplen).
    truncated_packets: u64,
    /// Smallest captured packet.
    smallest_packet_bytes: Option<usize>,
    /// Largest captured packet.
    largest_packet_bytes: Option<usize>,
    /// pcapng sections (1 for pcap).
    section_count: u32,
    /// What the first 16 pcapng section headers say about the capture: the
    /// hardware, OS and application that made it, and its comments (empty
    /// for pcap, which has no such header).
    sections: Vec<Section>,
    /// Capture interfaces declared.
    interface_count: usize,
    /// The first 64 interfaces.
    interfaces: Vec<InterfaceSummary>,
    /// Where the file ends mid-record; the figures cover the packets before it.
    cut_short: Option<CutShort>,
    /// The file's hashes, when asked for with `hashes` (null otherwise, or
    /// when the whole file could not be read, as a warning then says).
    hashes: Option<FileHashes>,
    #[serde(flatten)]
    envelope: Envelope,
}

/// One capture interface and the packets read from it.
#[derive(Serialize, JsonSchema)]
struct InterfaceSummary {
    /// Position among the file's interfaces (0-based).
    index: usize,
    /// The pcapng section that declared it (0-based).
    section: u32,
    /// Its `if_name` option.
    name: Option<String>,
    /// LINKTYPE_* value.
    link_type: u32,
    /// Link type, as Wireshark names it.
    encapsulation: String,
    /// Link type, Wireshark's short name.
    encapsulation_short: String,
    /// Snapshot length (0: not set).
    snaplen: u32,
    /// Timestamp resolution.
    timestamp_precision: String,
    /// Timestamp ticks per second.
    ticks_per_second: u64,
    /// Packets read from it.
    packets: u64,
}

/// Wireshark's file-level encapsulation: the interfaces' common link type, or
/// "Per packet" when they differ.
fn file_encapsulation(interfaces: &[Interface]) -> (String, String) {
    let mut types = interfaces.iter().map(|i| i.link_type);
    match types.next() {
        None => ("Unknown".into(), "unknown".into()),
        Some(first) if types.all(|t| t == first) => pcapsule_guest::linktype::names(first),
        Some(_) => ("Per packet".into(), "per-packet".into()),
    }
}

fn file_type_description(format: CaptureFormat, gzip_compressed: bool) -> String {
    let described = match format {
        CaptureFormat::Pcap { modified: true, .. } => "Wireshark/tcpdump/... - pcap (modified, Kuznetzov)",
        CaptureFormat::Pcap { nanosecond: true, .. } => "Wireshark/tcpdump/... - nanosecond pcap",
        CaptureFormat::Pcap { .. } => "Wireshark/tcpdump/... - pcap",
        CaptureFormat::PcapNg => "Wireshark/... - pcapng",
    };
    if gzip_compressed { format!("{described} (gzip compressed)") } else { described.to_string() }
}

fn byte_order(format: CaptureFormat) -> &'static str {
    match format {
        CaptureFormat::Pcap { big_endian: true, .. } => "big-endian",
        CaptureFormat::Pcap { .. } => "little-endian",
        CaptureFormat::PcapNg => "per-section",
    }
}

/// "microseconds", "nanoseconds", ... or "1/1024 seconds" for resolutions
/// that are not a power of ten.
fn precision_name(ticks_per_second: u64) -> String {
    match ticks_per_second {
        1 => "seconds".into(),
        1_000 => "milliseconds".into(),
        1_000_000 => "microseconds".into(),
        1_000_000_000 => "nanoseconds".into(),
        t if is_power_of_ten(t) => format!("10^-{} seconds", t.ilog10()),
        t => format!("1/{t} seconds"),
    }
}

fn is_power_of_ten(mut t: u64) -> bool {
    while t >= 10 && t.is_multiple_of(10) {
        t /= 10;
    }
    t == 1
}

/// A pcap file has one precision; pcapng's is per interface, so the file's is
/// "per-packet" unless all interfaces agree (capinfos says the same).
fn timestamp_precision(format: CaptureFormat, interfaces: &[Interface]) -> String {
    let ticks: Vec<u64> = interfaces.iter().map(|i| i.ticks_per_second).collect();
    match format {
        CaptureFormat::Pcap { .. } => precision_name(ticks.first().copied().unwrap_or(1_000_000)),
        CaptureFormat::PcapNg if ticks.len() == 1 => precision_name(ticks[0]),
        CaptureFormat::PcapNg => "per-packet".into(),
    }
}

/// At most this many interfaces are listed one by one; a capture declaring
/// more is unusual enough that the count says what matters.
const LISTED_INTERFACES: usize = 64;

fn interface_summaries(interfaces: &[Interface], tallies: &[InterfaceTally]) -> Vec<InterfaceSummary> {
    interfaces
        .iter()
        .enumerate()
        .take(LISTED_INTERFACES)
        .map(|(index, iface)| {
            let (encapsulation, encapsulation_short) = pcapsule_guest::linktype::names(iface.link_type);
            InterfaceSummary {
                index,
                section: iface.section,
                name: iface.name.clone(),
                link_type: iface.link_type,
                encapsulation,
                encapsulation_short,
                snaplen: iface.snaplen,
                timestamp_precision: precision_name(iface.ticks_per_second),
                ticks_per_second: iface.ticks_per_second,
                packets: tallies.get(index).map_or(0, |t| t.packets),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_on(name: &str, params: Value, server_cap: Option<u64>) -> Result<Value, RunError> {
        let path = format!("{}/../../fixtures/captures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        let ctx = RunContext {
            capture_name: name.into(),
            capture_size: Some(bytes.len() as u64),
            max_packets: server_cap,
            ..Default::default()
        };
        Capinfos::run("analyze_capinfos", params, &mut &bytes[..], &ctx)
    }

    fn expected(name: &str) -> Value {
        let path = format!("{}/../../fixtures/expected/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn summaries_match_the_generated_facts() {
        for name in [
            "dns-udp-ethernet.pcap",
            "raw-ipv6-nsec-big-endian.pcap",
            "multi-section.pcapng",
            "modified.pcap",
            "empty.pcapng",
            "encapsulated-sip.pcap",
            "link-types.pcapng",
        ] {
            let r = run_on(name, json!({}), None).unwrap();
            let e = expected(name);
            for key in [
                "file_type",
                "file_encapsulation_short",
                "packet_count",
                "data_size_bytes",
                "captured_size_bytes",
                "truncated_packets",
                "packets_without_timestamp",
                "strict_time_order",
                "section_count",
            ] {
                assert_eq!(r[key], e[key], "{name}: {key}");
            }
            assert_eq!(r["interface_count"], e["interfaces"].as_array().unwrap().len(), "{name}");
            assert_eq!(r["truncated"], false, "{name}");
            assert_eq!(
                r["file_size_bytes"],
                json!(
                    std::fs::metadata(format!("{}/../../fixtures/captures/{name}", env!("CARGO_MANIFEST_DIR")))
                        .unwrap()
                        .len()
                )
            );
            if let Some(earliest) = e["earliest"].as_array() {
                let secs = earliest[0].as_f64().unwrap() + earliest[1].as_f64().unwrap() / 1e9;
                assert!((r["first_packet_time"].as_f64().unwrap() - secs).abs() < 1e-6, "{name}");
            } else {
                assert!(r["first_packet_time"].is_null(), "{name}");
            }
        }
    }

    /// A gzip-compressed capture reads as the capture inside, as capinfos
    /// reads it, and says it was compressed.
    #[test]
    fn a_gzip_compressed_capture_reads_as_the_one_inside() {
        use std::io::Write;
        let name = "multi-section.pcapng";
        let bytes = std::fs::read(format!("{}/../../fixtures/captures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&bytes).unwrap();
        let compressed = encoder.finish().unwrap();
        let ctx = RunContext {
            capture_name: format!("{name}.gz"),
            capture_size: Some(compressed.len() as u64),
            ..Default::default()
        };
        let zipped = Capinfos::run("analyze_capinfos", json!({}), &mut &compressed[..], &ctx).unwrap();
        let plain = run_on(name, json!({}), None).unwrap();
        assert_eq!((&zipped["gzip_compressed"], &plain["gzip_compressed"]), (&json!(true), &json!(false)));
        assert_eq!(zipped["file_type_description"], "Wireshark/... - pcapng (gzip compressed)");
        for key in ["file_type", "packet_count", "data_size_bytes", "first_packet_time", "interfaces", "sections"] {
            assert_eq!(zipped[key], plain[key], "{key}");
        }
    }

    /// `hashes` gives what `capinfos -H` prints, over the file as stored,
    /// also past `max_packets`; without the whole file, no hashes.
    #[test]
    fn hashes_are_capinfos_hashes_of_the_whole_file() {
        for name in ["dns-udp-ethernet.pcap", "multi-section.pcapng", "cut-mid-record.pcap"] {
            let r = run_on(name, json!({"hashes": true, "max_packets": 1}), None).unwrap();
            let path = format!("{}/../../fixtures/captures/{name}", env!("CARGO_MANIFEST_DIR"));
            let Some(theirs) = capinfos_hashes(&path) else { return };
            assert_eq!(
                (r["hashes"]["sha256"].as_str(), r["hashes"]["ripemd160"].as_str(), r["hashes"]["sha1"].as_str()),
                (Some(theirs[0].as_str()), Some(theirs[1].as_str()), Some(theirs[2].as_str())),
                "{name}"
            );
        }
        assert!(run_on("dns-udp-ethernet.pcap", json!({}), None).unwrap()["hashes"].is_null(), "only when asked");
        // A file larger than what arrived (the host's soft stop ended the input).
        let bytes =
            std::fs::read(format!("{}/../../fixtures/captures/dns-udp-ethernet.pcap", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let ctx = RunContext {
            capture_name: "x.pcap".into(),
            capture_size: Some(bytes.len() as u64 + 100),
            ..Default::default()
        };
        let r = Capinfos::run("analyze_capinfos", json!({"hashes": true}), &mut &bytes[..], &ctx).unwrap();
        assert!(r["hashes"].is_null(), "{r}");
        assert!(r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with("no hashes")), "{r}");
    }

    /// SHA256, RIPEMD160 and SHA1 as `capinfos -H` prints them; `None`
    /// when capinfos is missing (outside CI).
    fn capinfos_hashes(path: &str) -> Option<Vec<String>> {
        let Ok(out) = std::process::Command::new("capinfos").arg("-H").arg(path).output() else {
            return pcapsule_guest::testing::missing("capinfos");
        };
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |label: &str| text.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_string());
        Some(vec![field("SHA256:")?, field("RIPEMD160:")?, field("SHA1:")?])
    }

    #[test]
    fn rates_and_averages() {
        let r = run_on("dns-udp-ethernet.pcap", json!({}), None).unwrap();
        // 4 packets over 3.75 s.
        assert!((r["capture_duration_seconds"].as_f64().unwrap() - 3.75).abs() < 1e-9);
        assert!((r["average_packet_rate"].as_f64().unwrap() - 4.0 / 3.75).abs() < 1e-9);
        let size = r["data_size_bytes"].as_f64().unwrap();
        assert!((r["data_rate_bits"].as_f64().unwrap() - size * 8.0 / 3.75).abs() < 1e-6);
        assert!((r["average_packet_size_bytes"].as_f64().unwrap() - size / 4.0).abs() < 1e-9);
        assert_eq!(r["file_encapsulation"], "Ethernet");
        assert_eq!(r["timestamp_precision"], "microseconds");
        let empty = run_on("empty.pcapng", json!({}), None).unwrap();
        assert!(empty["average_packet_rate"].is_null(), "no rate without a duration");
    }

    #[test]
    fn pcapng_interfaces_and_precisions() {
        let r = run_on("multi-section.pcapng", json!({}), None).unwrap();
        assert_eq!(r["file_encapsulation"], "Per packet");
        assert_eq!(r["timestamp_precision"], "per-packet");
        let precisions: Vec<&str> =
            r["interfaces"].as_array().unwrap().iter().map(|i| i["timestamp_precision"].as_str().unwrap()).collect();
        assert_eq!(precisions, ["microseconds", "nanoseconds", "1/1024 seconds"]);
        assert_eq!(r["interfaces"][0]["name"], "eth0");
        assert_eq!(r["interfaces"][2]["section"], 1);
    }

    #[test]
    fn damaged_and_cut_captures_give_results_with_warnings() {
        for name in ["cut-mid-record.pcap", "damaged-length.pcap", "bad-interface.pcapng"] {
            let r = run_on(name, json!({}), None).unwrap();
            let e = expected(name);
            assert_eq!(r["packet_count"], e["packet_count"], "{name}");
            assert_eq!(r["cut_short"]["offset"], e["cut_short_offset"], "{name}");
            assert_eq!(r["warnings"].as_array().unwrap().len(), 1, "{name}");
        }
        assert!(matches!(run_on("not-a-capture.txt", json!({}), None), Err(RunError::UnsupportedFormat(_))));
    }

    #[test]
    fn max_packets_from_the_call_and_the_server() {
        let r = run_on("dns-udp-ethernet.pcap", json!({"max_packets": 2}), None).unwrap();
        assert_eq!(
            (r["packet_count"].as_u64(), r["truncated"].as_bool(), r["max_packets"].as_u64()),
            (Some(2), Some(true), Some(2))
        );
        let r = run_on("dns-udp-ethernet.pcap", json!({"max_packets": 3}), Some(1)).unwrap();
        assert_eq!(r["packet_count"], 1, "the server-wide cap wins when lower");
        let r = run_on("dns-udp-ethernet.pcap", json!({"max_packets": 4}), None).unwrap();
        assert_eq!(r["truncated"], false, "a cap equal to the packet count cuts nothing");
        assert!(matches!(
            run_on("dns-udp-ethernet.pcap", json!({"max_packets": "ten"}), None),
            Err(RunError::BadParams(_))
        ));
        assert!(
            matches!(run_on("dns-udp-ethernet.pcap", json!({"maxpackets": 1}), None), Err(RunError::BadParams(m)) if m.contains("maxpackets"))
        );
    }

    #[test]
    fn describe_offers_one_tool_with_valid_schemas() {
        let d = Capinfos::describe();
        assert_eq!(d.tools.len(), 1);
        assert_eq!(d.tools[0].name, "analyze_capinfos");
        assert_eq!(d.tools[0].params_schema["type"], "object");
        let result_props = d.tools[0].result_schema["properties"].as_object().unwrap();
        for mcpcap_field in [
            "file_size_bytes",
            "filename",
            "file_encapsulation",
            "packet_count",
            "data_size_bytes",
            "capture_duration_seconds",
            "first_packet_time",
            "last_packet_time",
            "data_rate_bytes",
            "data_rate_bits",
            "average_packet_size_bytes",
            "average_packet_rate",
        ] {
            assert!(result_props.contains_key(mcpcap_field), "{mcpcap_field} missing from the result schema");
        }
        let r = run_on("dns-udp-ethernet.pcap", json!({}), None).unwrap();
        for key in r.as_object().unwrap().keys() {
            assert!(result_props.contains_key(key), "result field {key} is not in the schema");
        }
    }
}
