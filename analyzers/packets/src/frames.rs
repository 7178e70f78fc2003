//! The `frames` parameter: Wireshark frame numbers, as a list of numbers or
//! a string of numbers and ranges (`"5,10-20,42"`), kept as sorted,
//! merged ranges so a lookup is a binary search.

use std::fmt;

use pcapsule_guest::RunError;
use schemars::JsonSchema;
use serde::Deserialize;

/// Items (numbers or ranges) a frame list may hold.
pub const MAX_ITEMS: usize = 1000;

/// Frame numbers as the caller gave them, checked by [`FrameList::checked`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameList {
    /// Frame numbers, e.g. `[5, 12]`.
    Numbers(Vec<u64>),
    /// Numbers and inclusive ranges separated by commas, e.g. `"5,10-20"`.
    Ranges(String),
}

/// Frame numbers checked: sorted, merged, non-empty inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    ranges: Vec<(u64, u64)>,
}

impl FrameList {
    /// The list checked and merged; a bad item is a `bad_params` error
    /// that names it.
    pub fn checked(self) -> Result<Frames, RunError> {
        let bad = |what: String| {
            RunError::BadParams(format!(
                "frames: {what}; give frame numbers from 1 (Wireshark's numbering), as a list such as [5, 12] \
                 or a string such as \"5,10-20\""
            ))
        };
        let mut ranges: Vec<(u64, u64)> = match self {
            FrameList::Numbers(numbers) => {
                if numbers.len() > MAX_ITEMS {
                    return Err(bad(format!("{} numbers given, at most {MAX_ITEMS}", numbers.len())));
                }
                numbers.into_iter().map(|n| (n, n)).collect()
            }
            FrameList::Ranges(text) => {
                let items: Vec<&str> = text.split(',').map(str::trim).collect();
                if items.len() > MAX_ITEMS {
                    return Err(bad(format!("{} items given, at most {MAX_ITEMS}", items.len())));
                }
                let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad(format!("`{s}` is not a frame number")));
                let mut ranges = Vec::with_capacity(items.len());
                for item in items {
                    let range = match item.split_once('-') {
                        Some((from, to)) => (number(from)?, number(to)?),
                        None => (number(item)?, number(item)?),
                    };
                    if range.0 > range.1 {
                        return Err(bad(format!("the range `{item}` ends before it starts")));
                    }
                    ranges.push(range);
                }
                ranges
            }
        };
        if ranges.is_empty() {
            return Err(bad("no frame given".into()));
        }
        if ranges.iter().any(|(from, _)| *from == 0) {
            return Err(bad("frame 0 does not exist".into()));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (from, to) in ranges {
            match merged.last_mut() {
                Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        Ok(Frames { ranges: merged })
    }
}

impl Frames {
    /// Whether frame `number` is listed.
    pub fn contains(&self, number: u64) -> bool {
        let ranges = &self.ranges;
        let at = ranges.partition_point(|(_, to)| *to < number);
        ranges.get(at).is_some_and(|(from, _)| *from <= number)
    }

    /// The last frame listed.
    pub fn last(&self) -> u64 {
        self.ranges.last().map_or(0, |(_, to)| *to)
    }
}

impl fmt::Display for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges = &self.ranges;
        for (i, (from, to)) in ranges.iter().take(5).enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if from == to { write!(f, "{from}")? } else { write!(f, "{from}-{to}")? }
        }
        if ranges.len() > 5 {
            write!(f, ",... ({} ranges)", ranges.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(v: serde_json::Value) -> Result<Frames, String> {
        let list: FrameList = serde_json::from_value(v).map_err(|e| e.to_string())?;
        list.checked().map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_ranges_merge_and_look_up() {
        let list = checked(serde_json::json!("42, 10-20,5,21-22,15-16")).unwrap();
        assert_eq!(list.to_string(), "5,10-22,42");
        for (n, inside) in
            [(4, false), (5, true), (6, false), (10, true), (22, true), (23, false), (42, true), (43, false)]
        {
            assert_eq!(list.contains(n), inside, "{n}");
        }
        assert_eq!(list.last(), 42);
        let list = checked(serde_json::json!([7, 3, 3])).unwrap();
        assert_eq!(list.to_string(), "3,7");
        assert!(list.contains(3) && list.contains(7) && !list.contains(5));
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        for (given, says) in [
            (serde_json::json!("5,x"), "`x` is not a frame number"),
            (serde_json::json!("20-10"), "ends before it starts"),
            (serde_json::json!("0-3"), "frame 0"),
            (serde_json::json!([]), "no frame"),
            (serde_json::json!(""), "`` is not a frame number"),
            (serde_json::json!((1..=1001).collect::<Vec<u64>>()), "at most 1000"),
        ] {
            let error = checked(given.clone()).unwrap_err();
            assert!(error.contains(says), "{given}: {error}");
        }
    }
}
