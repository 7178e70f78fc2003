//! Host-level fuzzing: real analyzer components on mutated captures, under
//! small limits, through one long-lived MCP server. Every call must end in a
//! result or a classified error (never a crash of the host, a guest panic or
//! an internal error), and the server must still answer afterwards.
//!
//! `PCAPSULE_STRESS_CASES` sets how many mutated captures (default 300, a few
//! seconds in a debug build); `just stress` runs a long version. A failing
//! case is kept under the target's tmp dir and named in the failure.

mod common;

use common::{call, captures_under, fixtures, ok, shared_captures, stdio_client};
use serde_json::json;

/// Deterministic pseudo-random numbers (xorshift64*): a failure reproduces
/// from its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// What capture parsers trip on: flipped bits, smashed length fields,
/// truncation, repeated and zeroed spans.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = data.len().max(1);
        match rng.below(6) {
            0 => {
                for _ in 0..1 + rng.below(16) {
                    let at = rng.below(data.len());
                    if let Some(byte) = data.get_mut(at) {
                        *byte ^= 1 << rng.below(8);
                    }
                }
            }
            1 => {
                let at = rng.below(len) & !3;
                let value: u32 = [0xffff_ffff, 0x7fff_ffff, 0x0001_0000, 0, 0x8000_0000][rng.below(5)];
                if at + 4 <= data.len() {
                    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
            }
            2 => data.truncate(rng.below(len)),
            3 => {
                let start = rng.below(len);
                let end = (start + rng.below(4096)).min(data.len());
                let span = data[start.min(end)..end].to_vec();
                let at = rng.below(len).min(data.len());
                data.splice(at..at, span);
            }
            4 => {
                let start = rng.below(len);
                let end = (start + rng.below(256)).min(data.len());
                let fill = [0u8, 0xff][rng.below(2)];
                data[start.min(end)..end].fill(fill);
            }
            _ => {
                let start = rng.below(len);
                let end = (start + rng.below(64)).min(data.len());
                for byte in &mut data[start.min(end)..end] {
                    *byte = rng.next() as u8;
                }
            }
        }
    }
    data
}

fn seeds() -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = captures_under(&fixtures());
    if let Some(shared) = shared_captures() {
        paths.extend(captures_under(&shared));
    }
    // Small files keep each case quick; mutations reach every code path of
    // the reader and decoders from small files as well as large ones.
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok())
        .filter(|bytes| bytes.len() <= 256 * 1024 && bytes.len() >= 24)
        .collect()
}

#[tokio::test]
async fn mutated_captures_end_in_results_or_classified_errors() {
    let cases: u64 = std::env::var("PCAPSULE_STRESS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seeds = seeds();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&[
        "--allow-dir",
        &root,
        "--limit",
        "*.memory_mb=64",
        "--limit",
        "*.wall_clock_secs=20",
        "--limit",
        "*.fuel=5000000000",
    ])
    .await;
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutation-failures");
    let mut tallies = std::collections::BTreeMap::<String, u64>::new();
    for case in 0..cases {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x1000_0000_01b3));
        let seed = &seeds[rng.below(seeds.len())];
        let capture = dir.path().join(format!("case-{case}.pcap"));
        std::fs::write(&capture, mutate(seed, &mut rng)).unwrap();
        let result = call(&client, "analyze_many", json!({"pcap_file": capture.to_str().unwrap()})).await;
        let keep = || {
            std::fs::create_dir_all(&kept).unwrap();
            let path = kept.join(format!("case-{case}.pcap"));
            std::fs::copy(&capture, &path).unwrap();
            path
        };
        if result.is_error == Some(true) {
            // The whole call fails only when no analyzer can read the file.
            let body = common::body(&result);
            let kind = body["error"]["kind"].as_str().unwrap_or("?").to_string();
            assert!(
                ["unsupported_format", "malformed_capture"].contains(&kind.as_str()),
                "case {case} ({}): {body}",
                keep().display()
            );
            *tallies.entry(format!("call:{kind}")).or_default() += 1;
        } else {
            let value = ok(&result);
            for (tool, error) in value["errors"].as_object().unwrap() {
                let kind = error["kind"].as_str().unwrap_or("?");
                assert!(
                    ["unsupported_format", "malformed_capture", "limit_exceeded"].contains(&kind),
                    "case {case} ({}): {tool}: {error}",
                    keep().display()
                );
                *tallies.entry(format!("{tool}:{kind}")).or_default() += 1;
            }
            *tallies.entry("results".into()).or_default() += value["results"].as_object().unwrap().len() as u64;
        }
        std::fs::remove_file(&capture).unwrap();
    }
    eprintln!("{cases} mutated captures: {tallies:?}");
    // The same server still works.
    std::fs::copy(fixtures().join("dns-udp-ethernet.pcap"), dir.path().join("good.pcap")).unwrap();
    let after = call(&client, "analyze_capinfos", json!({"pcap_file": format!("{root}/good.pcap")})).await;
    assert_eq!(ok(&after)["packet_count"], 4);
    client.cancel().await.unwrap();
}
