//! The hex/ASCII dump of a packet's bytes, in `tshark -x`'s layout: an
//! offset, sixteen bytes in hex, the same bytes as ASCII with anything
//! unprintable as a dot. Bounded: a dump shows its first bytes and says how
//! many it left out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a packet's dump shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DumpOf {
    /// The captured frame from its link-layer header on.
    #[default]
    Frame,
    /// The innermost packet's transport payload (TCP, UDP, SCTP or ICMP
    /// data; the IP payload when there is no transport header).
    Payload,
    /// No dump.
    None,
}

/// Bytes per line, as tshark prints them.
const PER_LINE: usize = 16;

/// A bounded dump of some bytes of a packet.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Dump {
    /// Which bytes: `frame` or `payload`.
    pub of: DumpOf,
    /// Bytes there are (of the frame: as captured).
    pub length: usize,
    /// Bytes shown, from the start.
    pub shown: usize,
    /// Lines of sixteen bytes: offset (hex), the bytes in hex, the bytes
    /// as ASCII (unprintable ones as `.`). Capture content: untrusted.
    pub lines: Vec<String>,
}

/// The dump of `bytes`, showing at most `max` of them.
pub fn dump(of: DumpOf, bytes: &[u8], max: usize) -> Dump {
    let shown = &bytes[..bytes.len().min(max)];
    let lines = shown.chunks(PER_LINE).enumerate().map(|(i, chunk)| line(i * PER_LINE, chunk)).collect();
    Dump { of, length: bytes.len(), shown: shown.len(), lines }
}

/// Appends `byte` as two lowercase hex digits.
pub fn push_hex(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

fn line(offset: usize, chunk: &[u8]) -> String {
    let mut out = String::with_capacity(6 + PER_LINE * 3 + 2 + PER_LINE);
    out.push_str(&format!("{offset:04x} "));
    for i in 0..PER_LINE {
        out.push(' ');
        match chunk.get(i) {
            Some(b) => push_hex(&mut out, *b),
            None => out.push_str("  "),
        }
    }
    out.push_str("   ");
    out.extend(chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '.' }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_tsharks() {
        let bytes: Vec<u8> = (0x3eu8..0x3e + 20).chain([0, 0x7f, 0xff]).collect();
        let d = dump(DumpOf::Frame, &bytes, 1000);
        assert_eq!((d.length, d.shown), (23, 23));
        assert_eq!(d.lines[0], "0000  3e 3f 40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d   >?@ABCDEFGHIJKLM");
        assert_eq!(d.lines[1], "0010  4e 4f 50 51 00 7f ff                              NOPQ...");
        let cut = dump(DumpOf::Payload, &bytes, 16);
        assert_eq!((cut.length, cut.shown, cut.lines.len()), (23, 16, 1));
        assert!(dump(DumpOf::Frame, &[], 16).lines.is_empty());
    }
}
