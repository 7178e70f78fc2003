//! Counting structures whose memory does not grow with the capture: a
//! capture with millions of distinct keys (names in a DGA or a tunnel,
//! Call-IDs in a SIP flood, addresses in a scan) must not exhaust the
//! sandbox, so tables are capped and say when they stopped being exact.

use crate::fast_hash::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// Counts keys, keeping at most `capacity` of them. When full, the keys seen
/// least are dropped (in bulk, so the cost stays amortized O(1)); counts of
/// the survivors stay exact from the moment they were last admitted.
#[derive(Debug)]
pub struct TopCounter<K> {
    counts: HashMap<K, u64>,
    capacity: usize,
    /// Occurrences whose key was dropped when the table was pruned.
    pub dropped: u64,
}

impl<K: Hash + Eq + Clone + Ord> TopCounter<K> {
    /// A counter keeping at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopCounter { counts: HashMap::default(), capacity: capacity.max(2), dropped: 0 }
    }

    /// Counts one occurrence of `key`.
    pub fn add(&mut self, key: &K) {
        self.add_n(key, 1);
    }

    /// Counts `n` occurrences of `key` (a weight, such as packets).
    pub fn add_n(&mut self, key: &K, n: u64) {
        if let Some(count) = self.counts.get_mut(key) {
            *count += n;
            return;
        }
        if self.counts.len() >= self.capacity {
            self.prune();
        }
        self.counts.insert(key.clone(), n);
    }

    /// Drops the rarest keys until at most half the capacity is used.
    fn prune(&mut self) {
        let mut threshold = 1;
        while self.counts.len() > self.capacity / 2 {
            let mut dropped = 0;
            self.counts.retain(|_, count| {
                let keep = *count > threshold;
                if !keep {
                    dropped += *count;
                }
                keep
            });
            self.dropped += dropped;
            threshold = threshold.saturating_mul(2);
        }
    }

    /// Whether counts may be incomplete because keys were dropped.
    pub fn is_exact(&self) -> bool {
        self.dropped == 0
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// The `n` most frequent keys, ties broken by key order.
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The count of one key.
    pub fn get(&self, key: &K) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }
}

/// Counts distinct values by a 64-bit hash, up to `capacity`; beyond it the
/// count is a lower bound.
pub struct DistinctCounter {
    seen: HashSet<u64>,
    capacity: usize,
    saturated: bool,
    hasher: foldhash::fast::RandomState,
}

impl DistinctCounter {
    /// A counter remembering at most `capacity` hashes (8 bytes each, plus table overhead).
    pub fn new(capacity: usize) -> Self {
        DistinctCounter { seen: HashSet::default(), capacity, saturated: false, hasher: Default::default() }
    }

    /// Notes one value; returns true if it was new.
    pub fn insert(&mut self, value: &str) -> bool {
        let hash = self.hasher.hash_one(value);
        if self.seen.contains(&hash) {
            return false;
        }
        if self.seen.len() >= self.capacity {
            self.saturated = true;
            return false;
        }
        self.seen.insert(hash);
        true
    }

    /// Distinct values seen (a lower bound once saturated).
    pub fn count(&self) -> usize {
        self.seen.len()
    }

    /// Whether `count` is exact.
    pub fn is_exact(&self) -> bool {
        !self.saturated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_counter_is_exact_until_full_then_keeps_the_frequent() {
        let mut c = TopCounter::new(4);
        for k in ["a", "a", "a", "b", "b", "c"] {
            c.add(&k.to_string());
        }
        assert!(c.is_exact());
        assert_eq!(c.top(2), vec![("a".to_string(), 3), ("b".to_string(), 2)]);
        for i in 0..1000 {
            c.add(&format!("rare{i}"));
        }
        assert!(c.len() <= 4);
        assert!(!c.is_exact());
        assert_eq!(c.get(&"a".to_string()), 3, "frequent keys survive pruning");
        assert_eq!(c.dropped + c.top(10).iter().map(|x| x.1).sum::<u64>(), 1006, "every occurrence is accounted for");
    }

    #[test]
    fn weighted_counts_stay_bounded_and_keep_the_frequent() {
        let mut c = TopCounter::new(4);
        for _ in 0..5 {
            c.add_n(&"a", 1);
        }
        c.add_n(&"b", 2);
        assert!(c.is_exact());
        for i in 0..1000 {
            c.add_n(&if i % 2 == 0 { "x" } else { "y" }, 1);
        }
        assert!(c.len() <= 4);
        assert_eq!(c.top(1)[0].0, "x");
        let mut d = TopCounter::new(8);
        for i in 0..10_000u32 {
            d.add_n(&(i % 3000), 1);
        }
        assert!(d.len() <= 8);
        assert!(!d.is_exact());
        assert_eq!(d.dropped + d.top(8).iter().map(|x| x.1).sum::<u64>(), 10_000, "every occurrence is accounted for");
    }

    #[test]
    fn distinct_counter_saturates_into_a_lower_bound() {
        let mut d = DistinctCounter::new(3);
        assert!(d.insert("x"));
        assert!(!d.insert("x"));
        d.insert("y");
        d.insert("z");
        assert!(d.is_exact());
        d.insert("w");
        assert_eq!(d.count(), 3);
        assert!(!d.is_exact());
    }
}
