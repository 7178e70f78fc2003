//! Tables whose memory does not grow with the capture: a SYN flood or a
//! scan brings millions of distinct addresses and connections, so tables
//! keep the top entries and say when they stopped being exact.

use std::collections::HashMap;
use std::hash::Hash;

/// Counts keys, keeping at most `capacity` of them. When full, the rarest
/// keys are dropped in bulk (amortized O(1) per add); the survivors' counts
/// stay exact from the moment they were last admitted.
#[derive(Debug)]
pub struct TopCounter<K> {
    counts: HashMap<K, u64>,
    capacity: usize,
    /// Occurrences whose key was dropped to stay within the capacity.
    pub dropped: u64,
}

impl<K: Hash + Eq + Clone + Ord> TopCounter<K> {
    /// A counter keeping at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopCounter { counts: HashMap::new(), capacity: capacity.max(2), dropped: 0 }
    }

    /// Adds `n` occurrences of `key`.
    pub fn add(&mut self, key: K, n: u64) {
        if let Some(count) = self.counts.get_mut(&key) {
            *count += n;
            return;
        }
        if self.counts.len() >= self.capacity {
            self.prune();
        }
        self.counts.insert(key, n);
    }

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

    /// False once keys had to be dropped.
    pub fn is_exact(&self) -> bool {
        self.dropped == 0
    }

    /// The `n` most frequent keys, ties broken by key order.
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.counts.len()
    }
}

/// Keeps the `k` best items offered, by a caller-given order (best first).
pub struct TopK<T> {
    items: Vec<T>,
    k: usize,
    better: fn(&T, &T) -> std::cmp::Ordering,
}

impl<T> TopK<T> {
    /// Keeps `k` items; `better(a, b)` is `Less` when `a` ranks before `b`.
    pub fn new(k: usize, better: fn(&T, &T) -> std::cmp::Ordering) -> Self {
        TopK { items: Vec::new(), k, better }
    }

    /// Offers one item.
    pub fn offer(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        self.items.push(item);
        if self.items.len() >= 2 * self.k.max(16) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.items.sort_by(self.better);
        self.items.truncate(self.k);
    }

    /// The best items, best first.
    pub fn into_sorted(mut self) -> Vec<T> {
        self.trim();
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_counter_stays_bounded_and_keeps_the_frequent() {
        let mut c = TopCounter::new(4);
        for _ in 0..5 {
            c.add("a", 1);
        }
        c.add("b", 2);
        assert!(c.is_exact());
        for i in 0..1000 {
            c.add(if i % 2 == 0 { "x" } else { "y" }, 1);
        }
        assert!(c.len() <= 4);
        assert_eq!(c.top(1)[0].0, "x");
        let mut d = TopCounter::new(8);
        for i in 0..10_000u32 {
            d.add(i % 3000, 1);
        }
        assert!(d.len() <= 8);
        assert!(!d.is_exact());
        assert_eq!(d.dropped + d.top(8).iter().map(|x| x.1).sum::<u64>(), 10_000, "every occurrence is accounted for");
    }

    #[test]
    fn top_k_keeps_the_best_in_order() {
        let mut t = TopK::new(3, |a: &u32, b: &u32| b.cmp(a));
        // 7 generates every residue mod 101: 0..=100 arrive in scrambled order.
        for i in 0..101 {
            t.offer(i * 7 % 101);
        }
        assert_eq!(t.into_sorted(), vec![100, 99, 98]);
    }
}
