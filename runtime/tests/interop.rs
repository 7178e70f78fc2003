//! Third-party MCP clients against pcapsule, over stdio and streamable HTTP:
//! the official Python SDK (`pip install mcp`; `.ci/run` installs it). Skips
//! cleanly when the SDK is not importable.

mod common;

use std::process::Command;

use common::{pcapsule, repo, start_http};

const TOKEN: &str = "interop-token-0123456789abcdef";

fn python_sdk_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: the Python MCP SDK is not installed (pip install mcp)");
    }
    ok
}

fn script() -> std::path::PathBuf {
    repo().join("runtime/tests/interop/python_sdk_client.py")
}

fn check(output: std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python client failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("python mcp client: ok"), "{stdout}");
}

#[test]
fn python_sdk_over_stdio() {
    if !python_sdk_available() {
        return;
    }
    check(Command::new("python3").arg(script()).arg("stdio").arg(pcapsule()).arg(repo()).output().unwrap());
}

#[tokio::test]
async fn python_sdk_over_http() {
    if !python_sdk_available() {
        return;
    }
    let (_server, url) = start_http(&[], Some(TOKEN)).await;
    let output =
        tokio::process::Command::new("python3").arg(script()).args(["http", &url, TOKEN]).output().await.unwrap();
    check(output);
}
