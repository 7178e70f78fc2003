//! Which packets a call looks at: `time_from`, `time_to` and `filter`, the
//! parameters every tool takes. The component glue takes them out of a
//! call's parameters ([`Selection::take_from`]) before the analyzer reads
//! its own, the packet budget carries them ([`crate::conventions::PacketBudget`]),
//! and the driver applies them after the packet path has decoded a packet
//! (so a tunnelled flow is selected by its inner addresses and ports) and
//! before any handler sees it. An analyzer never knows.

pub mod filter;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::decode::{DecodeError, Decoded, Encapsulation};
use crate::{Packet, RunError, Timestamp};
use filter::{Filter, PacketFacts};

/// The parameter names, as every tool's schema lists them.
pub const TIME_FROM: &str = "time_from";
/// See [`TIME_FROM`].
pub const TIME_TO: &str = "time_to";
/// See [`TIME_FROM`].
pub const FILTER: &str = "filter";

/// A call's selection; the default selects every packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    filter: Option<(Filter, String)>,
}

impl Selection {
    /// Takes `time_from`, `time_to` and `filter` out of a call's
    /// parameters (so the analyzer's own parameter type never sees them).
    pub fn take_from(params: &mut Map<String, Value>) -> Result<Selection, RunError> {
        let from = params.remove(TIME_FROM).map(|v| time_bound(TIME_FROM, &v)).transpose()?.flatten();
        let to = params.remove(TIME_TO).map(|v| time_bound(TIME_TO, &v)).transpose()?.flatten();
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(RunError::BadParams(format!(
                "time_from ({}) is after time_to ({}): the window would select nothing",
                from.to_rfc3339(),
                to.to_rfc3339()
            )));
        }
        let filter = match params.remove(FILTER) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                let filter = Filter::parse(&text)
                    .map_err(|e| RunError::BadParams(format!("filter `{text}`: {e}. {FILTER_HINT}")))?;
                Some((filter, text))
            }
            Some(other) => {
                return Err(RunError::BadParams(format!("filter must be a string such as \"port 53\", got {other}")));
            }
        };
        Ok(Selection { from, to, filter })
    }

    /// Whether it selects every packet.
    pub fn is_everything(&self) -> bool {
        self.from.is_none() && self.to.is_none() && self.filter.is_none()
    }

    /// Whether a packet must be decoded to be selected.
    pub fn needs_decoding(&self) -> bool {
        self.filter.is_some()
    }

    /// Whether a capture time falls in the window (both ends included). A
    /// packet without a time (a pcapng simple packet block) is outside any
    /// window.
    #[inline]
    pub fn in_window(&self, time: Option<Timestamp>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        time.is_some_and(|t| self.from.is_none_or(|from| t >= from) && self.to.is_none_or(|to| t <= to))
    }

    /// Whether the filter selects a decoded packet (true without a filter).
    pub fn matches(&self, packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) -> bool {
        self.filter.as_ref().is_none_or(|(filter, _)| filter.matches(&facts(packet, decoded)))
    }

    /// The selection as results echo it, with the packets it looked at.
    pub fn report(&self, packets_examined: u64) -> SelectionReport {
        SelectionReport {
            time_from: self.from.map(|t| t.to_rfc3339()),
            time_to: self.to.map(|t| t.to_rfc3339()),
            filter: self.filter.as_ref().map(|(_, text)| text.clone()),
            packets_examined,
        }
    }

    /// The three parameters' schemas, for every tool's `params_schema`.
    pub fn schema_properties() -> [(&'static str, Value); 3] {
        let time = |edge: &str| {
            json!({
                "type": ["string", "number"],
                "description": format!(
                    "Only packets captured {edge} this time: RFC 3339 (2024-05-01T12:00:00Z) or epoch seconds."
                ),
            })
        };
        [
            (TIME_FROM, time("at or after")),
            (TIME_TO, time("at or before")),
            (FILTER, json!({"type": "string", "maxLength": filter::MAX_FILTER_LEN, "description": FILTER_DOC})),
        ]
    }
}

/// What a result says of its selection (the `selection` object beside
/// `packets_analyzed`, which counts the packets it kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SelectionReport {
    /// `time_from` as applied (RFC 3339, UTC), or null.
    pub time_from: Option<String>,
    /// `time_to` as applied (RFC 3339, UTC), or null.
    pub time_to: Option<String>,
    /// The filter as given, or null.
    pub filter: Option<String>,
    /// Packets read to find the selected ones; `packets_analyzed` of them
    /// were selected and analyzed.
    pub packets_examined: u64,
}

const FILTER_DOC: &str = "Only packets this tcpdump-style filter selects: [src|dst] host ADDR, net ADDR/PREFIX, \
port N|NAME, portrange N-M, tcp|udp|sctp [port ...], icmp, icmp6, ip, ip6, ip proto N, vlan, mpls, less|greater LEN, \
with and/or/not and parentheses, e.g. \"host 10.0.0.5 and (udp port 53 or tcp port 443)\". Matched on the innermost \
(tunnelled) packet; max_packets then counts selected packets.";

const FILTER_HINT: &str = "The filter takes host, src/dst host, net ADDR/PREFIX, port, portrange, tcp, udp, sctp, \
icmp, icmp6, ip, ip6, ip proto N, vlan, mpls, less, greater, joined by and/or/not and parentheses, e.g. \
\"host 10.0.0.5 and not port 22\"";

/// A window edge: RFC 3339 text or epoch seconds (a number, or a string of
/// one). Null means no edge.
fn time_bound(name: &str, value: &Value) -> Result<Option<Timestamp>, RunError> {
    let bad = |detail: String| {
        RunError::BadParams(format!(
            "{name} {detail}: give RFC 3339 text such as \"2024-05-01T12:00:00Z\" or seconds since the epoch \
             such as 1714564800.5"
        ))
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let secs = n.as_f64().ok_or_else(|| bad(format!("is not a usable number ({n})")))?;
            epoch_seconds(secs).map(Some).ok_or_else(|| bad(format!("is out of range ({n})")))
        }
        Value::String(text) => {
            let text = text.trim();
            if let Some(exact) = decimal_epoch_seconds(text) {
                return Ok(Some(exact));
            }
            if let Ok(secs) = text.parse::<f64>() {
                return epoch_seconds(secs).map(Some).ok_or_else(|| bad(format!("is out of range ({text})")));
            }
            rfc3339(text).map(Some).ok_or_else(|| bad(format!("`{text}` is not a time")))
        }
        other => Err(bad(format!("must be text or a number, got {other}"))),
    }
}

/// The first second of the year 10000: later times are refused.
const LAST_SECOND: i64 = 253_402_300_800;

/// Seconds since the epoch (fractional) as a timestamp, for times from
/// 1970 to 9999.
fn epoch_seconds(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() || !(0.0..LAST_SECOND as f64).contains(&secs) {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().min(999_999_999.0) as u32;
    Some(Timestamp { secs: whole as i64, nanos })
}

/// Epoch seconds written as digits with up to nine decimals, read exactly
/// (a float keeps microseconds at today's epoch, not the nanoseconds
/// tshark's `frame.time_epoch` prints).
fn decimal_epoch_seconds(text: &str) -> Option<Timestamp> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || fraction.len() > 9 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let nanos =
        if fraction.is_empty() { 0 } else { fraction.parse::<u32>().ok()? * 10u32.pow(9 - fraction.len() as u32) };
    let secs: i64 = whole.parse().ok()?;
    (secs < LAST_SECOND).then_some(Timestamp { secs, nanos })
}

/// RFC 3339 through the `time` crate (a space for the `T` is accepted, as
/// RFC 3339 section 5.6 allows).
fn rfc3339(text: &str) -> Option<Timestamp> {
    use time::format_description::well_known::Rfc3339;
    let mut owned = text.to_owned();
    if owned.len() > 10 && owned.as_bytes()[10] == b' ' {
        owned.replace_range(10..11, "T");
    }
    let nanos = time::OffsetDateTime::parse(&owned, &Rfc3339).ok()?.unix_timestamp_nanos();
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    Some(Timestamp { secs, nanos: nanos.rem_euclid(1_000_000_000) as u32 })
}

/// What the filter looks at in a decoded packet, gathered once.
fn facts(packet: &Packet<'_>, decoded: &Result<Decoded<'_>, DecodeError>) -> PacketFacts {
    let mut facts = PacketFacts { wire_len: packet.original_len, ..PacketFacts::default() };
    let Ok(decoded) = decoded else { return facts };
    facts.addrs = decoded.ip_addrs();
    facts.ip_version = decoded.ip_version();
    facts.protocol = decoded.ip_protocol();
    facts.ports = decoded.ports();
    facts.vlan = decoded.encapsulations.contains(Encapsulation::Vlan);
    facts.mpls = decoded.encapsulations.contains(Encapsulation::Mpls);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(params: Value) -> Result<Selection, RunError> {
        let Value::Object(mut map) = params else { panic!("an object") };
        let selection = Selection::take_from(&mut map);
        assert!(![TIME_FROM, TIME_TO, FILTER].iter().any(|k| map.contains_key(*k)), "taken out");
        selection
    }

    fn at(secs: i64, nanos: u32) -> Option<Timestamp> {
        Some(Timestamp { secs, nanos })
    }

    #[test]
    fn times_as_rfc3339_or_epoch_seconds() {
        let s = take(json!({"time_from": "2024-05-01T12:00:00Z", "time_to": 1714564860.5, "other": 1})).unwrap();
        assert_eq!((s.from, s.to), (at(1_714_564_800, 0), at(1_714_564_860, 500_000_000)));
        let s = take(json!({"time_from": "2024-05-01T14:00:00.25+02:00", "time_to": "1714564800.75"})).unwrap();
        assert_eq!((s.from, s.to), (at(1_714_564_800, 250_000_000), at(1_714_564_800, 750_000_000)));
        let s = take(json!({"time_from": "2024-05-01 12:00:00z"})).unwrap();
        assert_eq!(s.from, at(1_714_564_800, 0));
        assert!(s.in_window(at(1_714_564_800, 0)) && !s.in_window(at(1_714_564_799, 999_999_999)));
        assert!(!s.in_window(None), "a packet without a time is outside a window");
        let s = take(json!({"time_from": "1259023909.122715123", "time_to": "1259023909.9"})).unwrap();
        assert_eq!((s.from, s.to), (at(1_259_023_909, 122_715_123), at(1_259_023_909, 900_000_000)), "exact");
        let s = take(json!({"time_to": 100})).unwrap();
        assert!(s.in_window(at(100, 0)) && !s.in_window(at(100, 1)) && s.in_window(at(0, 0)));
        assert!(take(json!({"time_from": null})).unwrap().is_everything());
        assert!(Selection::default().in_window(None));
    }

    #[test]
    fn bad_times_and_filters_are_bad_params_that_say_what_to_write() {
        for (params, expect) in [
            (json!({"time_from": "yesterday"}), "`yesterday` is not a time"),
            (json!({"time_from": "2024-13-01T00:00:00Z"}), "is not a time"),
            (json!({"time_to": -5}), "out of range"),
            (json!({"time_to": 1e300}), "out of range"),
            (json!({"time_to": true}), "must be text or a number"),
            (json!({"time_from": 20, "time_to": 10}), "is after time_to"),
            (json!({"filter": 53}), "must be a string"),
            (json!({"filter": "port fifty"}), "`fifty`"),
        ] {
            match take(params.clone()) {
                Err(RunError::BadParams(m)) => assert!(m.contains(expect), "{params}: {m}"),
                other => panic!("{params}: {other:?}"),
            }
        }
        let Err(RunError::BadParams(m)) = take(json!({"filter": "host 10.0.0.1 and prot 6"})) else { panic!() };
        assert!(m.contains("at character 19") && m.contains("e.g."), "{m}");
    }

    #[test]
    fn the_report_echoes_what_was_applied() {
        let s = take(json!({"time_from": 1714564800, "filter": "udp port 53"})).unwrap();
        let report = serde_json::to_value(s.report(7)).unwrap();
        assert_eq!(
            report,
            json!({"time_from": "2024-05-01T12:00:00.000000Z", "time_to": null, "filter": "udp port 53", "packets_examined": 7})
        );
        assert!(s.needs_decoding() && !s.is_everything());
    }

    /// Frame numbers a filter selects, through the driver as every tool
    /// gets them.
    fn selected_frames(capture: &[u8], filter: &str) -> Option<Vec<u64>> {
        #[derive(Default)]
        struct Frames(Vec<u64>);
        impl crate::driver::PacketHandler for Frames {
            fn on_frame(&mut self, packet: &Packet<'_>) {
                self.0.push(packet.number);
            }
        }
        let mut params = Map::new();
        params.insert(FILTER.into(), json!(filter));
        let budget = crate::conventions::PacketBudget::new(None, None)
            .unwrap()
            .selecting(Selection::take_from(&mut params).unwrap());
        crate::driver::drive(&mut &capture[..], budget, Frames::default()).ok().map(|d| d.handler.0)
    }

    /// tshark's view of one frame, for the display filters below.
    struct Dissected {
        number: u64,
        protocols: Vec<String>,
        len: u64,
        ip_addrs: Vec<String>,
        tcp_src_ports: Vec<u16>,
        udp_ports: Vec<u16>,
        fragment: bool,
        tunnelled: bool,
    }

    /// On every capture of ../shared/captures/{dns,sip,tcp,dhcp,mixed}, each
    /// filter selects the frames tshark's equivalent display filter does.
    /// Frames left out of the comparison, by design: ICMP and ICMPv6
    /// packets (tshark's fields also match the headers an ICMP error
    /// quotes; the filter looks at the packet itself) and IP fragments
    /// (`udp`/`tcp` match every fragment by its protocol number, as
    /// tcpdump's do; tshark names the transport on the reassembled frame
    /// only) and tunnelled packets, IP inside IP (the filter looks at the
    /// innermost packet; tshark's fields hold every layer's values, e.g.
    /// the outer UDP of zeek_Teredo.pcap).
    #[test]
    fn filters_select_the_frames_tshark_display_filters_select() {
        let Some(shared) = crate::testing::shared_captures() else { return };
        let fields = [
            "frame.number",
            "frame.protocols",
            "frame.len",
            "ip.addr",
            "tcp.srcport",
            "udp.port",
            "ip.flags.mf",
            "ip.frag_offset",
        ];
        let mut compared = 0;
        for folder in ["dns", "sip", "tcp", "dhcp", "mixed"] {
            for path in crate::testing::captures_under(&shared.join(folder)) {
                let Ok(bytes) = std::fs::read(&path) else { continue };
                let Some(rows) = crate::testing::tshark_fields(&path, "", &fields) else { continue };
                let list = |cell: &str| -> Vec<String> {
                    cell.split(',').filter(|v| !v.is_empty()).map(str::to_string).collect()
                };
                let ports = |cell: &str| -> Vec<u16> { list(cell).iter().filter_map(|v| v.parse().ok()).collect() };
                let frames: Vec<Dissected> = rows
                    .iter()
                    .filter(|r| r.len() == fields.len())
                    .map(|r| Dissected {
                        number: r[0].parse().unwrap_or(0),
                        protocols: r[1].split(':').map(str::to_string).collect(),
                        len: r[2].parse().unwrap_or(0),
                        ip_addrs: list(&r[3]),
                        tcp_src_ports: ports(&r[4]),
                        udp_ports: ports(&r[5]),
                        fragment: list(&r[6]).iter().any(|v| v == "1" || v == "True")
                            || list(&r[7]).iter().any(|v| v != "0")
                            || r[1].split(':').any(|p| p == "ipv6.fraghdr"),
                        tunnelled: r[1].split(':').filter(|p| *p == "ip" || *p == "ipv6").count() > 1,
                    })
                    .collect();
                let host = frames.iter().find_map(|f| f.ip_addrs.first().cloned());
                let has = |f: &Dissected, p: &str| f.protocols.iter().any(|q| q == p);
                type Predicate<'a> = Box<dyn Fn(&Dissected) -> bool + 'a>;
                let mut cases: Vec<(String, Predicate)> = vec![
                    ("udp port 53".into(), Box::new(|f| f.udp_ports.contains(&53))),
                    ("tcp".into(), Box::new(|f| has(f, "tcp"))),
                    ("udp and not port 53".into(), Box::new(|f| has(f, "udp") && !f.udp_ports.contains(&53))),
                    ("tcp src portrange 1-1023".into(), Box::new(|f| f.tcp_src_ports.iter().any(|p| *p <= 1023))),
                    ("ip6 and (udp or tcp)".into(), Box::new(|f| has(f, "ipv6") && (has(f, "udp") || has(f, "tcp")))),
                    ("greater 200".into(), Box::new(|f| f.len >= 200)),
                    ("less 100 or vlan".into(), Box::new(|f| f.len <= 100 || has(f, "vlan"))),
                ];
                if let Some(host) = host.filter(|h| h.parse::<std::net::Ipv4Addr>().is_ok()) {
                    let wanted = host.clone();
                    cases.push((format!("host {host}"), Box::new(move |f| f.ip_addrs.contains(&wanted))));
                }
                let compared_frames: Vec<&Dissected> = frames
                    .iter()
                    .filter(|f| !f.fragment && !f.tunnelled && !has(f, "icmp") && !has(f, "icmpv6"))
                    .collect();
                for (filter, tshark_selects) in &cases {
                    let Some(ours) = selected_frames(&bytes, filter) else { continue };
                    let ours: std::collections::BTreeSet<u64> = ours.into_iter().collect();
                    for frame in &compared_frames {
                        assert_eq!(
                            ours.contains(&frame.number),
                            tshark_selects(frame),
                            "{}: `{filter}` on frame {} ({})",
                            path.display(),
                            frame.number,
                            frame.protocols.join(":")
                        );
                    }
                    compared += compared_frames.len();
                }
            }
        }
        assert!(compared > 1000, "only {compared} frame decisions compared");
    }
}
