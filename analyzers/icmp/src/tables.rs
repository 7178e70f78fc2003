//! Bounded tables: memory must not grow with the capture, so every table
//! keyed by an address, a flow or an identifier stops taking new keys at a
//! cap and counts what it could not track. Each is sized for its cap when
//! made, so it never grows (nor holds its old and new storage at once while
//! growing): an untouched slot costs address space, not memory.

use std::collections::VecDeque;
use std::hash::Hash;

use pcapsule_guest::fast_hash::{HashMap, map_with_capacity};

/// Counts occurrences per key, tracking at most `cap` distinct keys.
#[derive(Debug, Clone)]
pub struct Tally<K> {
    counts: HashMap<K, u64>,
    cap: usize,
    /// Occurrences of keys that arrived once the table was full.
    untracked: u64,
}

impl<K: Eq + Hash + Clone + Ord> Tally<K> {
    /// An empty table that tracks at most `cap` keys.
    pub fn new(cap: usize) -> Self {
        Tally { counts: map_with_capacity(cap), cap, untracked: 0 }
    }

    /// Counts one occurrence of `key`.
    pub fn add(&mut self, key: K) {
        self.add_n(key, 1);
    }

    /// Counts `n` occurrences of `key`; false when the table is full and the key new.
    pub fn add_n(&mut self, key: K, n: u64) -> bool {
        if let Some(count) = self.counts.get_mut(&key) {
            *count += n;
            return true;
        }
        if self.counts.len() >= self.cap {
            self.untracked += n;
            return false;
        }
        self.counts.insert(key, n);
        true
    }

    /// Distinct keys tracked (all of them unless [`Tally::saturated`]).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when some keys could not be tracked: [`Tally::len`] is then a lower bound.
    pub fn saturated(&self) -> bool {
        self.untracked > 0
    }

    /// The `n` most frequent keys, ties broken by key order so results are stable.
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = self.counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

/// A map of per-key state holding at most `cap` keys; keys arriving once it is
/// full are counted, not stored.
#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    cap: usize,
    untracked: u64,
}

impl<K: Eq + Hash, V: Default> BoundedMap<K, V> {
    /// An empty map holding at most `cap` keys.
    pub fn new(cap: usize) -> Self {
        BoundedMap { map: map_with_capacity(cap), cap, untracked: 0 }
    }

    /// The state for `key`, created if there is room; `None` (and counted)
    /// when the map is full and the key new.
    pub fn entry(&mut self, key: K) -> Option<&mut V> {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.untracked += 1;
            return None;
        }
        Some(self.map.entry(key).or_default())
    }

    /// The state for `key`, if tracked, mutably.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Lookups of new keys refused because the map was full.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// Every tracked entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }
}

/// A map that keeps the `cap` most recently inserted keys, evicting the oldest.
/// For state that only matters for a while (requests awaiting a reply, probes
/// awaiting an ICMP error).
#[derive(Debug)]
pub struct RecentMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    cap: usize,
    evicted: u64,
}

impl<K: Eq + Hash + Clone, V> RecentMap<K, V> {
    /// An empty map holding at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        // Twice the cap: evictions leave tombstones, and a table more than
        // half full would double itself to clear them.
        RecentMap {
            map: map_with_capacity(2 * cap.max(1)),
            order: VecDeque::with_capacity(cap.max(1)),
            cap,
            evicted: 0,
        }
    }

    /// Inserts or replaces; a replaced key keeps its place in the eviction order.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        while self.map.len() >= self.cap.max(1) {
            let Some(oldest) = self.order.pop_front() else { break };
            self.map.remove(&oldest);
            self.evicted += 1;
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    /// The value for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Entries pushed out by newer ones.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Live entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_caps_keys_and_counts_the_rest() {
        let mut t = Tally::new(2);
        for k in ["a", "b", "a", "c", "c", "a"] {
            t.add(k);
        }
        assert_eq!(t.len(), 2);
        assert!(t.saturated());
        assert_eq!(t.top(5), vec![("a", 3), ("b", 1)]);
        assert_eq!(t.top(1), vec![("a", 3)]);
    }

    #[test]
    fn bounded_map_refuses_new_keys_when_full() {
        let mut m: BoundedMap<u8, u32> = BoundedMap::new(2);
        *m.entry(1).unwrap() += 1;
        *m.entry(2).unwrap() += 1;
        assert!(m.entry(3).is_none());
        *m.entry(1).unwrap() += 1;
        assert_eq!((m.len(), m.untracked(), m.get_mut(&1).copied()), (2, 1, Some(2)));
    }

    #[test]
    fn recent_map_evicts_oldest_and_stays_bounded() {
        let mut m = RecentMap::new(3);
        for i in 0..1000u32 {
            m.insert(i, i);
        }
        m.insert(998, 0);
        assert_eq!(m.len(), 3);
        assert_eq!(m.order.len(), 3);
        assert_eq!((m.get(&997), m.get(&998), m.get(&996)), (Some(&997), Some(&0), None));
        assert_eq!(m.evicted(), 997);
    }
}
