//! The server log: one line per event on stderr (stdout carries MCP over
//! stdio), with every control character escaped.
//!
//! Logged fields carry text a caller chose (a `pcap_file` spec, a URL, an
//! analyzer's message quoting them), so a newline in one would start a forged
//! log line and an escape sequence would drive the operator's terminal. The
//! escaping is done on the formatted event, once, so no field can forget it.

use std::io::{self, Write};

/// Starts logging; `RUST_LOG` sets the level.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("pcapsule=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| EscapingWriter(io::stderr()))
        .with_ansi(false)
        .init();
}

/// Writes each formatted event with its control characters escaped, except
/// the newline that ends it. The formatter hands over one whole event per
/// `write_all`, and this writer always takes the whole buffer, so each call
/// of `write` sees a complete event.
struct EscapingWriter<W: Write>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, event: &[u8]) -> io::Result<usize> {
        let (body, end) = match event.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (event, &b""[..]),
        };
        let mut line = escape_controls(body).into_bytes();
        line.extend_from_slice(end);
        self.0.write_all(&line)?;
        Ok(event.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `text` with every control character (also for messages printed to
/// stderr directly) (C0, DEL, C1, and the Unicode line
/// and paragraph separators) written as a Rust-style escape; invalid UTF-8
/// becomes U+FFFD.
pub fn escape_controls(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_field_cannot_start_a_line_or_drive_a_terminal() {
        let mut out = Vec::new();
        let event = "INFO tool error: /x.pcap\n2026-01-01T00:00:00Z INFO forged\r\x1b[2J\u{85}\u{2028} ok\tend\n";
        let mut writer = EscapingWriter(&mut out);
        writer.write_all(event.as_bytes()).unwrap();
        let written = String::from_utf8(out).unwrap();
        assert_eq!(
            written,
            "INFO tool error: /x.pcap\\n2026-01-01T00:00:00Z INFO forged\\r\\u{1b}[2J\\u{85}\\u{2028} ok\tend\n"
        );
        assert_eq!(written.lines().count(), 1);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_passed_through() {
        let mut out = Vec::new();
        EscapingWriter(&mut out).write_all(b"bad \xff\xfe bytes\n").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "bad \u{fffd}\u{fffd} bytes\n");
    }
}
