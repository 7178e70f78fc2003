//! Capture timestamps with nanosecond resolution.

/// A capture time: seconds since the Unix epoch and nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds, always below 1e9.
    pub nanos: u32,
}

impl Timestamp {
    /// From a seconds field and a fraction counted in `ticks_per_second` units.
    /// A fraction of a second or more (seen in damaged files) carries over.
    pub fn from_ticks(secs: i64, fraction: u64, ticks_per_second: u64) -> Self {
        let ticks_per_second = ticks_per_second.max(1);
        let carry = fraction / ticks_per_second;
        let rest = fraction % ticks_per_second;
        let nanos = (u128::from(rest) * 1_000_000_000 / u128::from(ticks_per_second)) as u32;
        Timestamp { secs: secs.saturating_add(carry as i64), nanos }
    }

    /// Nanoseconds since the epoch, saturating (good until 2262): a damaged
    /// timestamp centuries away must not overflow.
    pub fn saturating_nanos(&self) -> i64 {
        self.secs.saturating_mul(1_000_000_000).saturating_add(i64::from(self.nanos))
    }

    /// Seconds since the epoch as a float (what mcpcap reports).
    pub fn as_secs_f64(&self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Signed difference `self - earlier` in seconds.
    pub fn seconds_since(&self, earlier: Timestamp) -> f64 {
        (self.secs - earlier.secs) as f64 + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }

    /// RFC 3339 in UTC, e.g. `2019-02-13T01:16:43.306396Z`: six fraction
    /// digits, or nine when the nanoseconds need them.
    pub fn to_rfc3339(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let second_of_day = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (h, m, s) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
        let fraction = if self.nanos.is_multiple_of(1000) {
            format!("{:06}", self.nanos / 1000)
        } else {
            format!("{:09}", self.nanos)
        };
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{fraction}Z")
    }
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`). Written out because it is ten lines and a date crate
/// would be the guest's largest dependency for this one conversion.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp { secs: 0, nanos: 0 }.to_rfc3339(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp { secs: 1_550_020_603, nanos: 306_396_000 }.to_rfc3339(), "2019-02-13T01:16:43.306396Z");
        assert_eq!(Timestamp { secs: 951_782_400, nanos: 5 }.to_rfc3339(), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(Timestamp { secs: -1, nanos: 0 }.to_rfc3339(), "1969-12-31T23:59:59.000000Z");
        // 2107 is past the 32-bit horizon but fine in 64 bits.
        assert_eq!(Timestamp { secs: 4_354_819_200, nanos: 0 }.to_rfc3339(), "2108-01-01T00:00:00.000000Z");
    }

    #[test]
    fn ticks_scale_and_carry() {
        assert_eq!(Timestamp::from_ticks(10, 500_000, 1_000_000), Timestamp { secs: 10, nanos: 500_000_000 });
        assert_eq!(Timestamp::from_ticks(10, 7, 1_000_000_000), Timestamp { secs: 10, nanos: 7 });
        assert_eq!(Timestamp::from_ticks(10, 1_500_000, 1_000_000), Timestamp { secs: 11, nanos: 500_000_000 });
        assert_eq!(Timestamp::from_ticks(0, 512, 1024), Timestamp { secs: 0, nanos: 500_000_000 });
        assert_eq!(Timestamp::from_ticks(1, 5, 0), Timestamp { secs: 6, nanos: 0 });
    }

    #[test]
    fn differences() {
        let a = Timestamp { secs: 10, nanos: 900_000_000 };
        let b = Timestamp { secs: 12, nanos: 100_000_000 };
        assert!((b.seconds_since(a) - 1.2).abs() < 1e-9);
        assert!((a.seconds_since(b) + 1.2).abs() < 1e-9);
    }
}
