//! Hash maps for per-packet tables. std's SipHash was a tenth of the DNS
//! analyzer's time on mixed traffic (profile in BENCHMARKS.md); foldhash is
//! several times faster and still seeded per process, so a crafted capture
//! cannot precompute collisions.

/// A `HashMap` with foldhash; build it with `HashMap::default()`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash; build it with `HashSet::default()`.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
