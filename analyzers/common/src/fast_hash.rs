//! Hash maps for per-packet tables. std's SipHash was a tenth of the DNS
//! analyzer's time on mixed traffic (profile in BENCHMARKS.md); foldhash is
//! several times faster and still seeded per process, so a crafted capture
//! cannot precompute collisions.

/// A `HashMap` with foldhash; build it with `HashMap::default()`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A [`HashMap`] with room for `capacity` keys from the start: for tables
/// with a cap, sized for it once so that they never grow (nor hold their old
/// and new storage at once while growing) however long the capture.
pub fn map_with_capacity<K, V>(capacity: usize) -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, RandomState::default())
}

/// The seeded-per-process hasher of these maps, for tables that hash their
/// keys themselves (such as `hashbrown::HashTable`).
pub type RandomState = foldhash::fast::RandomState;

/// A `HashSet` with foldhash; build it with `HashSet::default()`.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// A 64-bit hash that is the same in every run (a constant seed), for
/// results that must not vary: fixed-size keys standing for names, and
/// distinct-count estimates.
pub fn stable_hash(value: impl std::hash::Hash) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x7063_6170_7375_6c65).hash_one(value)
}
