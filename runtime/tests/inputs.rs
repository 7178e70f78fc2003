//! Capture inputs: local paths confined to --allow-dir (by cap-std, so `..`
//! and symlinks cannot escape), non-regular files refused without blocking,
//! and URL downloads with address checks and a size cap.

mod common;

use std::os::unix::fs::symlink;
use std::process::Command;

use common::{call, err, fixtures, ok, stdio_client};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A folder with one good capture, an escaping symlink, a hard link to a
/// file outside, a FIFO and a subfolder; and the folder outside.
fn sandbox_dir() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::copy(fixtures().join("dns-udp-ethernet.pcap"), root.join("good.pcap")).unwrap();
    // Both folders are in the same temporary filesystem, so the link can be made.
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("dns-udp-ethernet.pcap"), outside.path().join("secret.pcap")).unwrap();
    std::fs::hard_link(outside.path().join("secret.pcap"), root.join("hardlink.pcap")).unwrap();
    symlink(fixtures().join("modified.pcap"), root.join("escape.pcap")).unwrap();
    symlink("good.pcap", root.join("inside-link.pcap")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    let fifo = root.join("fifo.pcap");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    (dir, outside)
}

#[tokio::test]
async fn local_paths_are_confined() {
    let (dir, _outside) = sandbox_dir();
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", &root]).await;
    let path = |p: &str| format!("{root}/{p}");
    let kind = |r: rmcp::model::CallToolResult| err(&r)["kind"].as_str().unwrap().to_string();

    assert_eq!(
        ok(&call(&client, "analyze_capinfos", json!({"pcap_file": path("good.pcap")})).await)["packet_count"],
        4
    );
    assert_eq!(
        ok(&call(&client, "analyze_capinfos", json!({"pcap_file": path("inside-link.pcap")})).await)["packet_count"],
        4
    );
    assert_eq!(
        ok(&call(&client, "analyze_capinfos", json!({"pcap_file": path("sub/../good.pcap")})).await)["packet_count"],
        4
    );
    for (spec, want) in [
        (path("escape.pcap"), "not_allowed"),
        (path("../x.pcap"), "not_allowed"),
        (path("sub/../../x.pcap"), "not_allowed"),
        (fixtures().join("modified.pcap").display().to_string(), "not_allowed"),
        ("/proc/self/environ".to_string(), "not_allowed"),
        (path("hardlink.pcap"), "not_allowed"),
        (path("fifo.pcap"), "not_a_file"),
        (path("sub"), "not_a_file"),
        (root.clone(), "not_a_file"),
        (path("absent.pcap"), "not_found"),
        ("ftp://example.com/x.pcap".to_string(), "bad_url"),
        (String::new(), "bad_path"),
    ] {
        let started = std::time::Instant::now();
        let got = kind(call(&client, "analyze_capinfos", json!({"pcap_file": spec})).await);
        assert_eq!(got, want, "{spec}");
        assert!(started.elapsed().as_secs() < 10, "{spec} must not block");
    }
    client.cancel().await.unwrap();
}

/// A hard link is opened only when the operator allows hard links.
#[tokio::test]
async fn hard_links_are_opened_only_when_allowed() {
    let (dir, _outside) = sandbox_dir();
    let link = dir.path().join("hardlink.pcap").display().to_string();
    let strict = stdio_client(&["--allow-dir", dir.path().to_str().unwrap()]).await;
    let refused = err(&call(&strict, "analyze_capinfos", json!({"pcap_file": link})).await);
    assert_eq!(refused["kind"], "not_allowed");
    assert!(refused["message"].as_str().unwrap().contains("--allow-hardlinks"), "{refused}");
    strict.cancel().await.unwrap();
    let trusting = stdio_client(&["--allow-dir", dir.path().to_str().unwrap(), "--allow-hardlinks"]).await;
    assert_eq!(ok(&call(&trusting, "analyze_capinfos", json!({"pcap_file": link})).await)["packet_count"], 4);
    trusting.cancel().await.unwrap();
}

/// A server started without an allowed directory reads no local file, not
/// even in the directory it was started from, and says how to allow one.
#[tokio::test]
async fn without_an_allowed_directory_no_local_file_is_read() {
    let client = stdio_client(&[]).await;
    // The client starts the server in the repository root.
    for spec in ["fixtures/captures/dns-udp-ethernet.pcap", "/etc/passwd"] {
        let refused = err(&call(&client, "analyze_capinfos", json!({"pcap_file": spec})).await);
        assert_eq!(refused["kind"], "not_allowed", "{spec}");
        assert!(refused["message"].as_str().unwrap().contains("--allow-dir"), "{refused}");
    }
    client.cancel().await.unwrap();
}

/// `list_captures` lists the capture files of the allowed directories (and
/// nothing a symlink leads to outside them), filtered and paged; a bare file
/// name is found in the one allowed directory that holds it.
#[tokio::test]
async fn captures_are_listed_and_found_by_bare_name() {
    let (dir, _outside) = sandbox_dir();
    let second = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("dns-udp-ethernet.pcap"), second.path().join("only-here.pcapng")).unwrap();
    std::fs::copy(fixtures().join("dns-udp-ethernet.pcap"), second.path().join("good.pcap")).unwrap();
    std::fs::write(second.path().join("notes.txt"), b"not a capture").unwrap();
    std::fs::write(second.path().join("notes.txt.gz"), b"not a capture either").unwrap();
    // A gzip-compressed capture (a shared one: the host tests write no gzip).
    let zipped = common::shared_captures()
        .map(|shared| common::captures_under(&shared).into_iter().find(|p| p.to_string_lossy().ends_with(".pcap.gz")));
    if let Some(Some(source)) = &zipped {
        std::fs::copy(source, second.path().join("zipped.pcap.gz")).unwrap();
    }
    let (root, other) = (dir.path().to_str().unwrap(), second.path().to_str().unwrap());
    let client = stdio_client(&["--allow-dir", root, "--allow-dir", other, "--allow-hardlinks"]).await;

    let listed = call(&client, "list_captures", json!({})).await;
    let listed = ok(&listed);
    let paths: Vec<&str> = listed["captures"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    let canonical = |d: &std::path::Path, name: &str| d.canonicalize().unwrap().join(name).display().to_string();
    for expected in [
        canonical(dir.path(), "good.pcap"),
        canonical(dir.path(), "hardlink.pcap"),
        canonical(dir.path(), "inside-link.pcap"),
        canonical(second.path(), "good.pcap"),
        canonical(second.path(), "only-here.pcapng"),
    ] {
        assert!(paths.contains(&expected.as_str()), "{expected} is listed: {paths:?}");
    }
    assert!(!paths.iter().any(|p| p.ends_with("notes.txt.gz")), "{paths:?}");
    if let Some(Some(_)) = &zipped {
        assert!(paths.contains(&canonical(second.path(), "zipped.pcap.gz").as_str()), "{paths:?}");
        let read = call(&client, "analyze_capinfos", json!({"pcap_file": "zipped.pcap.gz"})).await;
        let read = ok(&read);
        assert_eq!(read["gzip_compressed"], true, "{read}");
        assert!(read["packet_count"].as_u64().unwrap() > 0, "{read}");
    }
    // The symlink to a capture outside, and the FIFO, are not.
    assert!(!paths.iter().any(|p| p.ends_with("escape.pcap") || p.ends_with("fifo.pcap")), "{paths:?}");
    assert_eq!(
        listed["captures"][0]["size_bytes"],
        std::fs::metadata(fixtures().join("dns-udp-ethernet.pcap")).unwrap().len()
    );
    let page = call(&client, "list_captures", json!({"limit": 2, "offset": 1})).await;
    let page = ok(&page);
    assert_eq!(page["pagination"]["returned"], 2);
    assert_eq!(page["pagination"]["next_offset"], 3);
    let filtered = call(&client, "list_captures", json!({"name_contains": "ONLY-HERE"})).await;
    assert_eq!(ok(&filtered)["pagination"]["total"], 1);
    let bad = call(&client, "list_captures", json!({"limit": 0})).await;
    assert_eq!(err(&bad)["kind"], "bad_params");

    // A bare name: found where it is alone, ambiguous where it is not.
    let alone = call(&client, "analyze_capinfos", json!({"pcap_file": "only-here.pcapng"})).await;
    assert_eq!(ok(&alone)["packet_count"], 4);
    let ambiguous = err(&call(&client, "analyze_capinfos", json!({"pcap_file": "good.pcap"})).await);
    assert_eq!(ambiguous["kind"], "bad_path");
    assert!(ambiguous["message"].as_str().unwrap().contains("several allowed directories"), "{ambiguous}");
    let absent = err(&call(&client, "analyze_capinfos", json!({"pcap_file": "absent.pcap"})).await);
    assert_eq!(absent["kind"], "not_found");
    assert!(absent["message"].as_str().unwrap().contains("list_captures"), "{absent}");
    // A relative path cannot climb out of an allowed directory either.
    let climbing = err(&call(&client, "analyze_capinfos", json!({"pcap_file": "../../../../etc/passwd"})).await);
    assert!(climbing["kind"] == "not_found" || climbing["kind"] == "not_allowed", "{climbing}");
    client.cancel().await.unwrap();

    let nothing = stdio_client(&[]).await;
    let listed = call(&nothing, "list_captures", json!({})).await;
    assert_eq!(ok(&listed)["captures"], json!([]));
    assert!(ok(&listed)["message"].as_str().unwrap().contains("--allow-dir"));
    nothing.cancel().await.unwrap();
}

/// A `pcap_file` crafted to forge a log line (a newline, then a fake event)
/// or to drive the operator's terminal stays inside one escaped log line.
#[tokio::test]
async fn a_crafted_path_cannot_forge_a_log_line() {
    use rmcp::ServiceExt;
    use rmcp::transport::TokioChildProcess;
    let forged = "2026-12-03T00:00:00.000000Z  INFO pcapsule: FORGED admin logged in";
    let mut command = tokio::process::Command::new(common::pcapsule());
    command
        .args(["serve", "--allow-dir", "fixtures", "--cache-dir"])
        .arg(common::cache_dir())
        .current_dir(common::repo());
    let (transport, stderr) = TokioChildProcess::builder(command).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let spec = format!("fixtures/absent.pcap\n{forged}\r\u{1b}[2J");
    assert_eq!(err(&call(&client, "analyze_capinfos", json!({"pcap_file": spec})).await)["kind"], "not_found");
    client.cancel().await.unwrap();
    let mut log = String::new();
    stderr.unwrap().read_to_string(&mut log).await.unwrap();
    assert!(log.contains("FORGED"), "the call was logged: {log}");
    for line in log.lines() {
        assert!(!line.starts_with("2026-12-03T00:00:00"), "a forged line: {line}");
        assert!(!line.contains('\u{1b}') && !line.contains('\r'), "a raw control character: {line:?}");
    }
    // tracing-subscriber writes ESC as `\x1b` itself; newlines and carriage
    // returns are escaped by pcapsule's log writer.
    assert!(log.contains("\\n2026-12-03T00:00:00") && log.contains("\\r\\x1b[2J"), "escaped in place: {log}");
}

/// Serves `body` for every request on a loopback port, for `requests` requests.
async fn serve_bytes(body: Vec<u8>, requests: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..requests {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn urls_are_downloaded_with_checks() {
    let capture = std::fs::read(fixtures().join("dns-udp-ethernet.pcap")).unwrap();
    let base = serve_bytes(capture, 4).await;
    let url = format!("{base}/capture.pcap");

    let strict = stdio_client(&["--allow-dir", "fixtures"]).await;
    let refused = call(&strict, "analyze_capinfos", json!({"pcap_file": url})).await;
    assert_eq!(err(&refused)["kind"], "not_allowed", "loopback is refused by default");
    let localhost =
        call(&strict, "analyze_capinfos", json!({"pcap_file": url.replace("127.0.0.1", "localhost")})).await;
    let error = err(&localhost);
    assert!(
        error["message"].as_str().unwrap().contains("refusing to connect"),
        "names resolving to loopback too: {error}"
    );
    strict.cancel().await.unwrap();

    let trusting = stdio_client(&["--allow-dir", "fixtures", "--allow-private-urls"]).await;
    let downloaded = call(&trusting, "analyze_capinfos", json!({"pcap_file": url})).await;
    assert_eq!(ok(&downloaded)["packet_count"], 4);
    assert_eq!(ok(&downloaded)["filename"], url.as_str());
    trusting.cancel().await.unwrap();

    let big = serve_bytes(vec![0u8; 2 * 1024 * 1024], 1).await;
    let capped = stdio_client(&["--allow-dir", "fixtures", "--allow-private-urls", "--max-download-mb", "1"]).await;
    let too_large = call(&capped, "analyze_capinfos", json!({"pcap_file": format!("{big}/big.pcap")})).await;
    assert_eq!(err(&too_large)["kind"], "too_large");
    let dead = call(&capped, "analyze_capinfos", json!({"pcap_file": "http://127.0.0.1:9/x.pcap"})).await;
    assert_eq!(err(&dead)["kind"], "download_failed");
    capped.cancel().await.unwrap();
}

/// Serves a 1,000-byte body one byte every 300 ms, to every connection.
async fn serve_slowly() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                for _ in 0..1000 {
                    if socket.write_all(b"x").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A download that crawls holds a download slot, not an analysis slot:
/// with one analysis slot, a local capture is analyzed meanwhile; a second
/// download over `--max-concurrent-downloads` is told to retry at once.
#[tokio::test]
async fn slow_downloads_hold_no_analysis_slot() {
    let slow = serve_slowly().await;
    let client = stdio_client(&[
        "--allow-dir",
        "fixtures",
        "--allow-private-urls",
        "--max-concurrent-calls",
        "1",
        "--max-concurrent-downloads",
        "1",
        "--download-timeout-secs",
        "4",
    ])
    .await;
    let peer = client.peer().clone();
    let url = format!("{slow}/crawling.pcap");
    let crawling = tokio::spawn(async move {
        let arguments = json!({"pcap_file": url}).as_object().cloned().unwrap();
        peer.call_tool(rmcp::model::CallToolRequestParams::new("analyze_capinfos").with_arguments(arguments))
            .await
            .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!crawling.is_finished(), "the slow download is still running");
    let local =
        call(&client, "analyze_capinfos", json!({"pcap_file": "fixtures/captures/dns-udp-ethernet.pcap"})).await;
    assert_eq!(ok(&local)["packet_count"], 4, "a local capture is analyzed while a download crawls");
    let second = call(&client, "analyze_capinfos", json!({"pcap_file": format!("{slow}/second.pcap")})).await;
    let refused = err(&second);
    assert_eq!(refused["kind"], "busy");
    assert!(refused["message"].as_str().unwrap().contains("--max-concurrent-downloads"), "{refused}");
    let timed_out = crawling.await.unwrap();
    assert_eq!(err(&timed_out)["kind"], "download_failed", "the crawl ends at the download timeout");
    client.cancel().await.unwrap();
}

/// A capture still being written (a live capture): the analysis reads the
/// file as it was when the call began, ends, and agrees with itself.
#[tokio::test]
async fn a_file_growing_while_read_is_analyzed_as_opened() {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("live.pcap");
    common::write_syn_capture(&capture, 200_000);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, capture) = (stop.clone(), capture.clone());
        std::thread::spawn(move || {
            let record = std::fs::read(&capture).unwrap()[24..24 + 70].to_vec();
            let mut file = std::fs::OpenOptions::new().append(true).open(&capture).unwrap();
            let mut appended = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..1000 {
                    file.write_all(&record).unwrap();
                }
                appended += 1000;
            }
            appended
        })
    };
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", &root]).await;
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        call(&client, "analyze_capinfos", json!({"pcap_file": capture.to_str().unwrap()})),
    )
    .await
    .expect("the analysis ends although the file keeps growing");
    stop.store(true, Ordering::Relaxed);
    let appended = writer.join().unwrap();
    let value = ok(&result);
    let packets = value["packet_count"].as_u64().unwrap();
    let size = value["file_size_bytes"].as_u64().unwrap();
    assert!(packets >= 200_000, "{value}");
    // The size seen at open can fall inside a record the writer is still
    // appending: that tail is a partial record, reported as cut short there.
    let whole_records_end = 24 + packets * 70;
    assert!(
        size - whole_records_end < 70,
        "exactly the packets the file held when opened ({appended} appended since): {value}"
    );
    if size == whole_records_end {
        assert!(value.get("cut_short").is_none_or(|c| c.is_null()), "{value}");
    } else {
        assert_eq!(
            value["cut_short"]["offset"], whole_records_end,
            "a partial last record is reported where it starts: {value}"
        );
    }
    client.cancel().await.unwrap();
}

/// A capture truncated while it is read ends early: a result that says it
/// was cut short, or a clear error, never a hang or a crash.
#[tokio::test]
async fn a_file_shrinking_while_read_ends_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("shrinking.pcap");
    common::write_syn_capture(&capture, 1_000_000);
    let root = dir.path().to_str().unwrap().to_string();
    let client = stdio_client(&["--allow-dir", &root]).await;
    let truncate = {
        let capture = capture.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            // Mid-record, so the reader meets a partial packet.
            std::fs::OpenOptions::new().write(true).open(&capture).unwrap().set_len(24 + 70 * 1000 + 33).unwrap();
        })
    };
    // Truncated while this analysis reads (it takes seconds in a debug build).
    let during = call(&client, "analyze_tcp_anomalies", json!({"pcap_file": capture.to_str().unwrap()})).await;
    let text = ok(&during).to_string();
    assert!(text.contains("cut short"), "the result says the capture was cut short: {text:.2000}");
    // Read after: the file now ends in the middle of a record.
    let after = call(&client, "analyze_capinfos", json!({"pcap_file": capture.to_str().unwrap()})).await;
    assert_eq!(ok(&after)["packet_count"], 1000);
    assert!(ok(&after)["cut_short"].is_object(), "{:?}", ok(&after));
    truncate.await.unwrap();
    client.cancel().await.unwrap();
}
