//! Counting structures whose memory does not grow with the capture: a
//! capture with millions of distinct keys (names in a DGA or a tunnel,
//! Call-IDs in a SIP flood, addresses in a scan) must not exhaust the
//! sandbox, so tables are capped and say when they stopped being exact.

use crate::fast_hash::{HashMap, HashSet};
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::Hash;

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

    /// The same, with its table sized for the cap from the start: it never
    /// grows, so a long capture takes no more memory than one that just
    /// filled it, at the cost of the table's address space up front (for
    /// tables sure to fill on busy captures; empty slots are never touched).
    pub fn presized(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        // Twice the cap: pruning leaves tombstones, and a table over half
        // full would double itself to clear them.
        TopCounter { counts: crate::fast_hash::map_with_capacity(2 * capacity), capacity, dropped: 0 }
    }

    /// Counts one occurrence of `key`.
    pub fn add<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.add_n(key, 1);
    }

    /// Counts `n` occurrences of `key` (a weight, such as packets). Takes a
    /// borrowed key (`&str` for `String` keys) and copies it only when it is
    /// new: a table hit, the common case, allocates nothing.
    pub fn add_n<Q>(&mut self, key: &Q, n: u64)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(count) = self.counts.get_mut(key) {
            *count += n;
            return;
        }
        if self.counts.len() >= self.capacity {
            self.prune();
        }
        self.counts.insert(key.to_owned(), n);
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
        // Selected by reference and only the `n` kept are sorted and copied:
        // a full table holds tens of thousands of names.
        let order = |a: &(&K, u64), b: &(&K, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        let mut all: Vec<(&K, u64)> = self.counts.iter().map(|(k, c)| (k, *c)).collect();
        if n < all.len() {
            if n > 0 {
                all.select_nth_unstable_by(n - 1, order);
            }
            all.truncate(n);
        }
        all.sort_by(order);
        all.into_iter().map(|(k, c)| (k.clone(), c)).collect()
    }

    /// The `n` most frequent keys rendered by `text`, ties broken by that
    /// text: for keys counted by value (addresses, type numbers) but listed
    /// as the text a reader sees.
    pub fn top_by_text(&self, n: usize, text: impl Fn(&K) -> String) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.counts.iter().map(|(k, c)| (text(k), *c)).collect();
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

/// Counts distinct keys in bounded memory: exactly (a set of 64-bit hashes)
/// up to a capacity, then by a HyperLogLog estimate (about 1.6 % standard
/// error, 4 KiB) that also covers the keys counted before the switch. A flood
/// of millions of random names, MACs or ids costs a fixed amount.
///
/// Hand-written because it is a dozen lines; the HyperLogLog crates bring
/// serde, random seeding or std-only hashers the guest does not want. The
/// hash is seeded with a constant so results do not vary from run to run.
pub struct DistinctCounter {
    exact: HashSet<u64>,
    exact_capacity: usize,
    /// HyperLogLog registers, allocated when the exact set overflows.
    registers: Option<Box<[u8]>>,
}

/// log2 of the HyperLogLog register count.
const HLL_BITS: u32 = 12;

/// Exactly counted keys before the estimate takes over, for counters that do
/// not choose: 50,000 hashes are under 1 MiB.
pub const DEFAULT_EXACT_CAPACITY: usize = 50_000;

impl Default for DistinctCounter {
    fn default() -> Self {
        DistinctCounter::new(DEFAULT_EXACT_CAPACITY)
    }
}

impl DistinctCounter {
    /// A counter exact up to `exact_capacity` keys (16 bytes each at most).
    pub fn new(exact_capacity: usize) -> Self {
        DistinctCounter { exact: HashSet::default(), exact_capacity, registers: None }
    }

    /// Counts `key`; `Some(true)` when it is new, `Some(false)` when seen
    /// before, `None` once counting is approximate and newness is unknown.
    pub fn insert(&mut self, key: impl Hash) -> Option<bool> {
        self.insert_hash(crate::fast_hash::stable_hash(key))
    }

    /// [`insert`](Self::insert) of a key whose
    /// [`stable_hash`](crate::fast_hash::stable_hash) the caller computed
    /// already (for a key that feeds several tables).
    pub fn insert_hash(&mut self, hash: u64) -> Option<bool> {
        if let Some(registers) = &mut self.registers {
            observe(registers, hash);
            return None;
        }
        if self.exact.len() >= self.exact_capacity && !self.exact.contains(&hash) {
            let mut registers = vec![0u8; 1 << HLL_BITS].into_boxed_slice();
            for &seen in self.exact.iter().chain(std::iter::once(&hash)) {
                observe(&mut registers, seen);
            }
            self.registers = Some(registers);
            self.exact = HashSet::default();
            return None;
        }
        Some(self.exact.insert(hash))
    }

    /// Whether [`count`](Self::count) is exact (no estimate yet).
    pub fn is_exact(&self) -> bool {
        self.registers.is_none()
    }

    /// Distinct keys seen (estimated past the exact capacity).
    pub fn count(&self) -> u64 {
        let Some(registers) = &self.registers else { return self.exact.len() as u64 };
        let m = registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let zeros = registers.iter().filter(|&&r| r == 0).count();
        let raw = alpha * m * m / sum;
        // Small ranges: linear counting is the better estimate.
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        // Never fewer than were counted exactly before the switch.
        (estimate.round() as u64).max(self.exact_capacity as u64 + 1)
    }
}

fn observe(registers: &mut [u8], hash: u64) {
    // foldhash is built for hash tables, not for the uniform bits a
    // HyperLogLog needs: a finalizer (MurmurHash3's fmix64) spreads them.
    let mut hash = hash;
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    let index = (hash >> (64 - HLL_BITS)) as usize;
    let rank = ((hash << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() as u8 + 1;
    registers[index] = registers[index].max(rank);
}

/// A table of at most `capacity` entries that, when full, forgets the
/// oldest to make room: per-flow state over UDP (QUIC, DTLS), where no FIN
/// says a flow is over.
pub struct OldestFirst<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> OldestFirst<K, V> {
    pub fn new(capacity: usize) -> Self {
        OldestFirst { map: HashMap::default(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Adds a new entry (a key already present is replaced in place),
    /// handing each entry forgotten to make room to `evicted`.
    pub fn insert(&mut self, key: K, value: V, evicted: &mut dyn FnMut(V)) {
        if let Some(present) = self.map.get_mut(&key) {
            *present = value;
            return;
        }
        while self.map.len() >= self.capacity {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(gone) = self.map.remove(&oldest) {
                evicted(gone);
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_by_text_breaks_ties_by_the_rendered_text() {
        let mut c: TopCounter<std::net::IpAddr> = TopCounter::new(10);
        for ip in ["9.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "9.0.0.1", "1.1.1.1"] {
            c.add(&ip.parse().unwrap());
        }
        let rows = c.top_by_text(2, |ip| ip.to_string());
        // 10.0.0.2 and 9.0.0.1 tie at 2: "10..." sorts first as text, though not as an address.
        assert_eq!(rows, vec![("10.0.0.2".to_string(), 2), ("9.0.0.1".to_string(), 2)]);
    }

    #[test]
    fn top_selects_the_same_as_a_full_sort_ties_included() {
        let mut c = TopCounter::new(1000);
        for i in 0..300u32 {
            // Counts 1..=7 with many ties, keys in no particular order.
            c.add_n(&format!("k{}", (i * 7919) % 300), u64::from(i % 7 + 1));
        }
        let mut reference = c.top(usize::MAX);
        reference.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(reference.len(), 300);
        for n in [0, 1, 2, 10, 43, 299, 300, 301] {
            assert_eq!(c.top(n), reference[..n.min(300)].to_vec(), "n = {n}");
        }
    }

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
    fn a_presized_counter_counts_like_any_other_and_never_grows() {
        let (mut plain, mut presized) = (TopCounter::new(64), TopCounter::presized(64));
        let room = presized.counts.capacity();
        assert!(room >= 128, "sized for twice the cap up front: {room}");
        for i in 0..10_000u32 {
            // A few frequent keys among many one-off ones: pruning runs often.
            let key = if i % 3 == 0 { i % 7 } else { i };
            plain.add(&key);
            presized.add(&key);
        }
        assert_eq!(presized.top(7), plain.top(7));
        assert_eq!(presized.dropped, plain.dropped);
        // The standard map may rehash in place to clear the tombstones pruning
        // leaves, and with its per-process seed may then pick a smaller table
        // (seen as 120 or 63 of 224): what holds every run is that it never
        // grows past the room it was given.
        assert!(presized.counts.capacity() <= room, "pruning and refilling grew it: {}", presized.counts.capacity());
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
    fn distinct_counter_is_exact_then_estimates_in_bounded_memory() {
        let mut d = DistinctCounter::new(1000);
        assert_eq!(d.insert("x"), Some(true));
        assert_eq!(d.insert("x"), Some(false));
        assert_eq!((d.count(), d.is_exact()), (1, true));
        for n in [2_000u32, 50_000, 1_000_000] {
            let mut d = DistinctCounter::new(1000);
            for i in 0..n {
                d.insert(i);
                d.insert(i / 2);
            }
            assert!(!d.is_exact());
            assert_eq!(d.exact.capacity(), 0, "the exact set is dropped once over capacity");
            let error = (d.count() as f64 - f64::from(n)).abs() / f64::from(n);
            assert!(error < 0.06, "{n} keys estimated as {}", d.count());
        }
    }

    #[test]
    fn oldest_first_forgets_the_oldest_when_full() {
        let mut table = OldestFirst::new(2);
        let mut gone = Vec::new();
        table.insert("a", 1, &mut |v| gone.push(v));
        table.insert("b", 2, &mut |v| gone.push(v));
        table.insert("a", 10, &mut |v| gone.push(v));
        assert!(gone.is_empty() && table.len() == 2);
        table.insert("c", 3, &mut |v| gone.push(v));
        assert_eq!(gone, [10]);
        assert!(!table.contains_key(&"a") && table.get_mut(&"b") == Some(&mut 2) && table.contains_key(&"c"));
    }
}
