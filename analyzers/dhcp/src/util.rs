//! Small helpers: byte formatting.

/// Longest formatted option value kept in a packet entry: a hostile packet can
/// carry kilobytes in one (concatenated) option, and one page of packets must
/// stay small.
pub const MAX_VALUE_CHARS: usize = 256;

pub use pcapsule_guest::conventions::hex_colon;

/// The bytes as text when they are printable ASCII (trailing NULs, which many
/// clients append to names, dropped), otherwise as colon-separated hex: ids
/// such as circuit-ids are text on some relays and binary on others.
pub fn text_or_hex(bytes: &[u8]) -> String {
    let trimmed = trim_nuls(bytes);
    if !trimmed.is_empty() && trimmed.iter().all(|b| (0x20..0x7f).contains(b)) {
        clip(String::from_utf8_lossy(trimmed).into_owned())
    } else {
        clip(hex_colon(bytes))
    }
}

/// The bytes before the first NUL (BOOTP's sname and file fields).
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn trim_nuls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Cuts a string to [`MAX_VALUE_CHARS`], saying how long it was.
pub fn clip(s: String) -> String {
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s;
    }
    let kept: String = s.chars().take(MAX_VALUE_CHARS).collect();
    format!("{kept}... ({} characters in all)", s.chars().count())
}

/// Text of an option that should be text, with invalid UTF-8 replaced rather
/// than failing (hostnames with stray bytes still identify a client).
pub fn lossy_text(bytes: &[u8]) -> String {
    clip(String::from_utf8_lossy(trim_nuls(bytes)).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(hex_colon(&[0, 0x1a, 0xff]), "00:1a:ff");
        assert_eq!(text_or_hex(b"host\0\0"), "host");
        assert_eq!(text_or_hex(&[1, 2]), "01:02");
        assert_eq!(text_or_hex(&[]), "");
        assert_eq!(until_nul(b"ab\0cd"), b"ab");
        assert!(clip("x".repeat(1000)).ends_with("(1000 characters in all)"));
    }
}
