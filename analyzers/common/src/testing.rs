//! Helpers for analyzers' own tests (native `cargo test`): build small pcap
//! files in memory, run a tool over them, and ask Wireshark's `tshark` for
//! reference counts on the shared captures.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::{Analyzer, RunContext, RunError};

/// Builds a classic little-endian microsecond pcap in memory.
pub struct PcapBuilder {
    bytes: Vec<u8>,
}

impl PcapBuilder {
    /// A pcap of the given LINKTYPE_*.
    pub fn new(link_type: u32) -> Self {
        let mut bytes = Vec::new();
        for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, link_type] {
            bytes.extend_from_slice(&field.to_le_bytes());
        }
        // The version field above is two u16s (2, 4) written as one u32.
        PcapBuilder { bytes }
    }

    /// An Ethernet pcap.
    pub fn ethernet() -> Self {
        Self::new(crate::linktype::ETHERNET)
    }

    /// Appends a packet captured whole at `secs`.`micros`.
    pub fn packet(mut self, secs: u32, micros: u32, frame: &[u8]) -> Self {
        for field in [secs, micros, frame.len() as u32, frame.len() as u32] {
            self.bytes.extend_from_slice(&field.to_le_bytes());
        }
        self.bytes.extend_from_slice(frame);
        self
    }

    /// Appends a packet of which only the first `captured` bytes were kept,
    /// as a snapshot length cuts frames (the record keeps the original length).
    pub fn packet_cut(mut self, secs: u32, micros: u32, frame: &[u8], captured: usize) -> Self {
        let kept = &frame[..captured.min(frame.len())];
        for field in [secs, micros, kept.len() as u32, frame.len() as u32] {
            self.bytes.extend_from_slice(&field.to_le_bytes());
        }
        self.bytes.extend_from_slice(kept);
        self
    }

    /// The file's bytes.
    pub fn build(self) -> Vec<u8> {
        self.bytes
    }
}

/// An Ethernet frame carrying IPv4 and UDP, for tests of every analyzer.
pub fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .expect("a UDP packet builds");
    out
}

/// An Ethernet frame carrying IPv4 and TCP with the `flags` named by
/// letter (`S`YN, `A`CK with `ack`, `F`IN, `R`ST, `P`SH), for tests of
/// every analyzer that follows TCP.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut builder =
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    for flag in flags.chars() {
        builder = match flag {
            'S' => builder.syn(),
            'A' => builder.ack(ack),
            'F' => builder.fin(),
            'R' => builder.rst(),
            'P' => builder.psh(),
            other => panic!("unknown TCP flag {other}"),
        };
    }
    let mut out = Vec::new();
    builder.write(&mut out, payload).expect("a TCP packet builds");
    out
}

/// Runs `tool` of analyzer `A` over `capture` as the host would: through
/// the component glue, which takes the selection parameters out.
pub fn run_tool<A: Analyzer>(tool: &str, params: Value, capture: &[u8]) -> Result<Value, RunError> {
    crate::component::run_checked::<A>(tool, &params.to_string(), &mut &capture[..], &test_context(capture))
}

fn test_context(capture: &[u8]) -> RunContext {
    RunContext { capture_name: "test.pcap".into(), capture_size: Some(capture.len() as u64), ..Default::default() }
}

/// Runs several tools of analyzer `A` over one read of `capture`, as the
/// host's one-pass run does.
pub fn run_tools<A: crate::OnePass>(calls: &[(&str, Value)], capture: &[u8]) -> Vec<Result<Value, RunError>> {
    let texts: Vec<(&str, String)> = calls.iter().map(|(tool, params)| (*tool, params.to_string())).collect();
    let calls: Vec<(&str, &str)> = texts.iter().map(|(tool, params)| (*tool, params.as_str())).collect();
    crate::component::run_many_over::<A>(&test_context(capture), &calls, &mut &capture[..])
        .into_iter()
        .map(|result| result.map(|text| serde_json::from_str(&text).expect("a result is JSON")))
        .collect()
}

/// `result` without its `analysis_timestamp` (the wall clock of the run), so
/// that two runs can be compared.
pub fn without_timestamp(result: Result<Value, RunError>) -> Result<Value, RunError> {
    result.map(|mut value| {
        if let Some(map) = value.as_object_mut() {
            map.remove("analysis_timestamp");
        }
        value
    })
}

/// Whether the environment is CI (`CI=true`), where an oracle test that
/// cannot run must fail instead of skipping: a green CI then means the
/// oracles ran.
fn oracles_required(ci: Option<&str>) -> bool {
    ci == Some("true")
}

/// Skips (returns `None`) outside CI; in CI, fails the test naming what is missing.
pub fn missing<T>(what: &str) -> Option<T> {
    if oracles_required(std::env::var("CI").ok().as_deref()) {
        panic!("{what} is missing, and with CI=true every oracle test must run (install it, or unset CI to skip)");
    }
    eprintln!("skipping: {what} is missing");
    None
}

/// `../shared/captures` from the repository root, when present (in CI it must be).
pub fn shared_captures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    if dir.is_dir() { Some(dir) } else { missing("../shared/captures") }
}

/// Whether a file name is a capture's: `.pcap`, `.pcapng` or `.cap`, each
/// also gzip-compressed (`.pcap.gz`), as Wireshark reads them.
pub fn is_capture_name(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stored = name.strip_suffix(".gz").unwrap_or(name);
    [".pcap", ".pcapng", ".cap"].iter().any(|ending| stored.ends_with(ending))
}

/// Every capture file under `dir`, recursively, sorted.
pub fn captures_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_capture_name(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `each` applied to every item, side by side on as many threads as the
/// machine has cores; the answers come back in the items' order. An oracle
/// test over the shared captures spends nearly all its time in tshark
/// starting (~0.3 s a run, one run per capture), which one core does serially.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], each: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut answers: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break mine };
                        mine.push((index, each(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    answers.sort_unstable_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// [`in_parallel`] over comparisons, each giving how many things it
/// compared and the differences it found: the counts added up, the
/// differences in the items' order.
pub fn compare_in_parallel<T: Sync>(
    items: &[T],
    compare: impl Fn(&T) -> (usize, Vec<String>) + Sync,
) -> (usize, Vec<String>) {
    in_parallel(items, compare).into_iter().fold((0, Vec::new()), |(compared, mut differences), (n, found)| {
        differences.extend(found);
        (compared + n, differences)
    })
}

/// How many packets of `capture` match the tshark display `filter`; `None`
/// when tshark fails on the file, or is missing (outside CI).
pub fn tshark_count(capture: &std::path::Path, filter: &str) -> Option<u64> {
    let Ok(out) = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
    else {
        return missing("tshark");
    };
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

/// One tshark pass over `capture`: for each frame matching `filter`, the
/// values of `fields` (a field that occurs several times in a frame comes
/// back comma-separated). `None` when tshark fails, or is missing (outside CI).
pub fn tshark_fields(capture: &std::path::Path, filter: &str, fields: &[&str]) -> Option<Vec<Vec<String>>> {
    tshark_fields_with(capture, &[], filter, fields)
}

/// [`tshark_fields`] with Wireshark preferences set (`-o NAME:VALUE` each),
/// e.g. `tcp.reassemble_out_of_order:TRUE`.
pub fn tshark_fields_with(
    capture: &std::path::Path,
    preferences: &[&str],
    filter: &str,
    fields: &[&str],
) -> Option<Vec<Vec<String>>> {
    // The content is part of the key: a test may write one path twice.
    type Key = (PathBuf, u64, String);
    type Rows = Option<Vec<Vec<String>>>;
    // tshark spends ~0.3 s starting per run, nearly all of a shared
    // capture's time: tests of one process asking the same question of the
    // same capture share one run (a test that arrives while it runs waits).
    static RUNS: std::sync::LazyLock<Mutex<HashMap<Key, Arc<OnceLock<Rows>>>>> =
        std::sync::LazyLock::new(Default::default);
    let question = format!("{preferences:?} {filter:?} {fields:?}");
    let content = std::fs::read(capture).map(|bytes| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        hasher.finish()
    });
    let key = (capture.to_path_buf(), content.unwrap_or(0), question);
    let run = RUNS.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone();
    run.get_or_init(|| run_tshark_fields(capture, preferences, filter, fields)).clone()
}

fn run_tshark_fields(
    capture: &std::path::Path,
    preferences: &[&str],
    filter: &str,
    fields: &[&str],
) -> Option<Vec<Vec<String>>> {
    let mut command = std::process::Command::new("tshark");
    for preference in preferences {
        command.args(["-o", preference]);
    }
    command.args(["-n", "-r"]).arg(capture).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
    ]);
    for field in fields {
        command.args(["-e", field]);
    }
    let Ok(out) = command.output() else { return missing("tshark") };
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().filter(|l| !l.is_empty()).map(|l| l.split('\t').map(str::to_string).collect()).collect())
}

/// A generated capture of `fixtures/` and the facts written beside it
/// (`fixtures/expected/<name>.json`).
pub fn fixture(name: &str) -> (PathBuf, Vec<u8>, Value) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let path = root.join("captures").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let facts = std::fs::read(root.join("expected").join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("the facts of {name}: {e}"));
    (path, bytes, serde_json::from_slice(&facts).expect("fixture facts are JSON"))
}

/// The encapsulation cases of an `encapsulated-*` fixture (its facts'
/// `encapsulations`) that `met` (a result's `capture.encapsulations`) does
/// not count at least `at_least` times: empty when the result saw the inner
/// traffic of every case through its encapsulation.
pub fn encapsulations_not_met(facts: &Value, met: &Value, at_least: u64) -> Vec<String> {
    let cases = facts["encapsulations"].as_array().expect("the facts name the encapsulations");
    cases
        .iter()
        .filter_map(|case| {
            let case = case.as_str()?;
            // The fixture's case names, as the packet path counts them
            // (`gre/keyed-sequenced` is a kind of `gre`).
            let counted = match case {
                "plain" => return None,
                "qinq" => "vlan",
                c if c.contains("fragments") => "ip-fragments",
                c => c.split('/').next().unwrap_or(c),
            };
            (met[counted].as_u64().unwrap_or(0) < at_least).then(|| format!("{case} (as {counted})"))
        })
        .collect()
}

/// The fixtures that carry one exchange of every analyzer's protocol per
/// case: `encapsulated-<protocol>.pcap` (one case per encapsulation) and
/// `link-types.pcapng` (one case per link type).
fn exchange_fixtures(protocol: &str) -> [String; 2] {
    [format!("encapsulated-{protocol}.pcap"), "link-types.pcapng".to_string()]
}

/// `filter` for tshark on a fixture, leaving out the interfaces of link
/// types tshark cannot read, and how many cases that leaves out. Wireshark
/// 4.0 (Debian 12's tshark) has no reader for LINKTYPE_MPLS (219) and
/// shows those frames as data; pcapsule reads them.
fn tshark_fixture_filter(facts: &Value, filter: &str) -> (String, u64) {
    let unreadable: Vec<usize> = facts["link_types"]
        .as_array()
        .map(|names| names.iter().enumerate().filter(|(_, n)| *n == "mpls").map(|(i, _)| i).collect())
        .unwrap_or_default();
    let filter = unreadable.iter().fold(format!("({filter})"), |f, i| format!("{f} && frame.interface_id != {i}"));
    (filter, unreadable.len() as u64)
}

/// One exchange fixture and what an analyzer made of it, for the checks
/// only that analyzer knows.
pub struct ExchangeRun<'a> {
    /// The fixture's file name.
    pub name: &'a str,
    pub path: &'a std::path::Path,
    /// Its facts (`fixtures/expected/<name>.json`).
    pub facts: &'a Value,
    /// How many cases (encapsulations or link types) it holds, one exchange each.
    pub cases: u64,
    /// The analyzer's result.
    pub result: &'a Value,
}

/// Runs an analyzer (`run`: capture bytes to result) over the fixtures that
/// carry one exchange of `protocol` per encapsulation and per link type, and
/// checks what holds for every analyzer: nothing undecodable and no
/// warnings, every encapsulation counted, then the analyzer's own `check`,
/// then that tshark finds one frame per case matching `answer_filter` (on
/// the link types it can read).
pub fn check_exchange_fixtures(
    protocol: &str,
    answer_filter: &str,
    run: impl Fn(&[u8]) -> Value,
    check: impl Fn(&ExchangeRun),
) {
    for name in exchange_fixtures(protocol) {
        let (path, bytes, facts) = fixture(&name);
        let cases = facts["cases"].as_u64().expect("the facts count the cases");
        assert!(cases >= 15, "{name}: {facts}");
        let result = run(&bytes);
        // The one warning a fixture may give: the overlap of its
        // overlapping-fragments case, which must be reported.
        let overlapping = facts["encapsulations"]
            .as_array()
            .is_some_and(|cases| cases.iter().any(|c| c.as_str().is_some_and(|c| c.contains("overlapping"))));
        let warnings: Vec<&str> =
            result["warnings"].as_array().expect("warnings").iter().filter_map(Value::as_str).collect();
        let (overlaps, others): (Vec<&str>, Vec<&str>) =
            warnings.iter().partition(|w| w.contains("IP fragments overlapped"));
        assert!(others.is_empty(), "{name}: nothing was left undecoded: {others:?}");
        assert_eq!(overlaps.len(), usize::from(overlapping), "{name}: the overlap is reported: {warnings:?}");
        assert_eq!(result["capture"]["undecodable_packets"], 0, "{name}: {}", result["capture"]);
        let missed = encapsulations_not_met(&facts, &result["capture"]["encapsulations"], 1);
        assert!(missed.is_empty(), "{name}: not seen through {missed:?}: {}", result["capture"]);
        check(&ExchangeRun { name: &name, path: &path, facts: &facts, cases, result: &result });
        let (filter, unreadable) = tshark_fixture_filter(&facts, answer_filter);
        if let Some(answers) = tshark_count(&path, &filter) {
            assert_eq!(answers, cases - unreadable, "{name}: frames matching {answer_filter}, tshark");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_ci_true_requires_the_oracles() {
        assert!(super::oracles_required(Some("true")));
        for other in [None, Some(""), Some("false"), Some("1")] {
            assert!(!super::oracles_required(other), "{other:?}");
        }
    }

    #[test]
    fn in_parallel_answers_every_item_once_in_order() {
        let items: Vec<u32> = (0..97).collect();
        let seen = std::sync::Mutex::new(Vec::new());
        let answers = super::in_parallel(&items, |n| {
            seen.lock().unwrap().push(std::thread::current().id());
            n * 2
        });
        assert_eq!(answers, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(seen.lock().unwrap().len(), items.len());
        assert!(super::in_parallel(&[] as &[u32], |n| *n).is_empty());
    }
}
