//! Small helpers: byte formatting, bounded distinct counting.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Longest formatted option value kept in a packet entry: a hostile packet can
/// carry kilobytes in one (concatenated) option, and one page of packets must
/// stay small.
pub const MAX_VALUE_CHARS: usize = 256;

/// `aa:bb:cc` (mcpcap's format for MAC addresses and client ids).
pub fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

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

/// Counts distinct keys in bounded memory: exactly up to [`DistinctCounter::EXACT_CAP`]
/// keys, then by a HyperLogLog estimate (about 3 % error). A flood of
/// millions of random MACs or transaction ids costs a fixed ~1 MB.
pub struct DistinctCounter {
    exact: HashSet<u64>,
    overflowed: bool,
    registers: Vec<u8>,
}

impl Default for DistinctCounter {
    fn default() -> Self {
        DistinctCounter { exact: HashSet::new(), overflowed: false, registers: vec![0; 1 << Self::HLL_BITS] }
    }
}

impl DistinctCounter {
    /// Keys counted exactly before switching to the estimate.
    pub const EXACT_CAP: usize = 50_000;
    const HLL_BITS: u32 = 10;

    /// Counts `key`; `Some(true)` when it is new, `Some(false)` when seen
    /// before, `None` once counting is approximate and newness is unknown.
    pub fn insert(&mut self, key: impl Hash) -> Option<bool> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let hash = hasher.finish();
        let index = (hash >> (64 - Self::HLL_BITS)) as usize;
        let rank = ((hash << Self::HLL_BITS) | (1 << (Self::HLL_BITS - 1))).leading_zeros() as u8 + 1;
        self.registers[index] = self.registers[index].max(rank);
        if self.overflowed {
            return None;
        }
        if self.exact.len() >= Self::EXACT_CAP && !self.exact.contains(&hash) {
            self.overflowed = true;
            self.exact = HashSet::new();
            return None;
        }
        Some(self.exact.insert(hash))
    }

    /// Whether [`count`](Self::count) is an estimate.
    pub fn is_estimate(&self) -> bool {
        self.overflowed
    }

    /// Distinct keys seen (estimated past the exact cap).
    pub fn count(&self) -> u64 {
        if !self.overflowed {
            return self.exact.len() as u64;
        }
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let estimate = alpha * m * m / sum;
        // Never report fewer than were counted exactly before the switch.
        (estimate.round() as u64).max(Self::EXACT_CAP as u64)
    }
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

    #[test]
    fn distinct_counts_exactly_then_estimates_in_bounded_memory() {
        let mut c = DistinctCounter::default();
        assert_eq!(c.insert(1u32), Some(true));
        assert_eq!(c.insert(1u32), Some(false));
        assert_eq!(c.count(), 1);
        for i in 0..200_000u32 {
            c.insert(i);
        }
        assert!(c.is_estimate());
        assert!(c.exact.capacity() == 0, "the exact set is dropped once over the cap");
        let n = c.count() as f64;
        assert!((n - 200_000.0).abs() / 200_000.0 < 0.1, "estimate {n}");
    }
}
