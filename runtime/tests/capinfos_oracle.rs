//! `analyze_capinfos` against Wireshark's `capinfos` on every capture in
//! `../shared/captures`: packet count, data size, first and last packet
//! time and encapsulation must match wherever `capinfos` reads the file.
//! Every file, hostile ones included, gives a result or a clear error.
//! Skips cleanly when the captures or `capinfos` are absent.

mod common;

use std::process::Command;

use common::{call, captures_under, have, shared_captures, stdio_client};
use serde_json::json;

struct Capinfos {
    encapsulation: String,
    packets: u64,
    data_size: u64,
    first: Option<f64>,
    last: Option<f64>,
}

fn capinfos(path: &std::path::Path) -> Option<Capinfos> {
    // -T -r: one tab-separated row; -M: exact numbers; -S: epoch seconds.
    let out = Command::new("capinfos")
        .args(["-T", "-r", "-M", "-S", "-E", "-c", "-d", "-a", "-e"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let cols: Vec<&str> = text.trim_end().split('\t').collect();
    // Damaged timestamps print as "123.-456": no number to compare with.
    let time = |s: &str| if s == "n/a" || s.contains(".-") { None } else { s.parse().ok() };
    Some(Capinfos {
        encapsulation: cols[1].to_string(),
        packets: cols[2].parse().ok()?,
        data_size: cols[3].parse().ok()?,
        first: time(cols[4]),
        last: time(cols[5]),
    })
}

/// The section metadata `capinfos` prints: the first section's hardware,
/// OS and application, and every comment line.
struct SectionFacts {
    hardware: Option<String>,
    os: Option<String>,
    application: Option<String>,
    comments: Vec<String>,
}

fn section_facts(path: &std::path::Path) -> Option<SectionFacts> {
    let out = Command::new("capinfos").arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |label: &str| {
        text.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    Some(SectionFacts {
        hardware: field("Capture hardware:"),
        os: field("Capture oper-sys:"),
        application: field("Capture application:"),
        comments: text
            .lines()
            .filter_map(|l| l.strip_prefix("Capture comment:"))
            .map(|v| v.trim().to_string())
            .collect(),
    })
}

#[tokio::test]
async fn capinfos_matches_wireshark_on_every_shared_capture() {
    let Some(dir) = shared_captures() else { return };
    let oracle = have("capinfos");
    let client = stdio_client(&["--allow-dir", dir.to_str().unwrap()]).await;
    let (mut compared, mut results, mut errors, mut sections_compared) = (0, 0, 0, 0);
    for path in captures_under(&dir) {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let result = call(&client, "analyze_capinfos", json!({"pcap_file": path.to_str().unwrap()})).await;
        let value = result.structured_content.clone().expect("structured content");
        if result.is_error == Some(true) {
            // A clear error is acceptable for hostile input, a crash or a
            // tripped limit never is.
            let kind = value["error"]["kind"].as_str().unwrap();
            assert!(matches!(kind, "unsupported_format" | "malformed_capture"), "{name}: {value}");
            errors += 1;
            continue;
        }
        results += 1;
        if !oracle {
            continue;
        }
        let Some(theirs) = capinfos(&path) else { continue };
        compared += 1;
        assert_eq!(value["packet_count"], theirs.packets, "{name}: packet count");
        assert_eq!(value["data_size_bytes"], theirs.data_size, "{name}: data size");
        assert_eq!(value["file_encapsulation_short"], theirs.encapsulation.as_str(), "{name}: encapsulation");
        if let Some(facts) = section_facts(&path) {
            let first = &value["sections"][0];
            for (ours, theirs, what) in [
                (&first["hardware"], &facts.hardware, "hardware"),
                (&first["os"], &facts.os, "OS"),
                (&first["application"], &facts.application, "application"),
            ] {
                assert_eq!(ours.as_str().map(str::trim), theirs.as_deref(), "{name}: capture {what}");
            }
            // capinfos prints each comment as it is (several lines for a
            // multi-line one): compare those that fit on one line.
            let ours: Vec<&str> = value["sections"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["comments"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().trim()))
                .filter(|c| !c.contains('\n'))
                .collect();
            for comment in &ours {
                assert!(facts.comments.iter().any(|c| c == comment), "{name}: comment {comment:?} not in capinfos'");
            }
            sections_compared += 1;
        }
        // Where the two differ by design, the result says why:
        // - pcapng simple packet blocks have no time, and capinfos then
        //   reports no times at all (pcapsule reports the timed packets');
        // - out-of-range timestamp fractions, which capinfos prints as garbage.
        let untimed = value["packets_without_timestamp"].as_u64().unwrap() > 0;
        let odd_fractions =
            value["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("fractional"));
        if untimed || odd_fractions {
            continue;
        }
        for (ours, theirs, what) in
            [(&value["first_packet_time"], theirs.first, "first"), (&value["last_packet_time"], theirs.last, "last")]
        {
            match (ours.as_f64(), theirs) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{name}: {what} packet time {a} vs {b}"),
                (None, None) => {}
                (a, b) => panic!("{name}: {what} packet time {a:?} vs {b:?}"),
            }
        }
    }
    eprintln!(
        "{results} results, {errors} clear errors, {compared} compared with capinfos ({sections_compared} with sections)"
    );
    assert!(results > 100, "the shared captures should mostly be readable");
    if oracle {
        assert!(compared > 100);
    }
    client.cancel().await.unwrap();
}
