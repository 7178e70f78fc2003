//! Per-call limits on an analyzer: fuel, linear memory, wall clock, result
//! size. Each has a default, can be set for all analyzers or for one, and a
//! tripped limit names itself and how to raise it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits applied to one analyzer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// WebAssembly fuel (about one unit per instruction).
    pub fuel: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline.
    #[serde(serialize_with = "seconds")]
    pub wall_clock: Duration,
    /// Largest result JSON, in bytes.
    pub result_bytes: u64,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Default for Limits {
    /// Sized so a 10-million-packet capture fits: parsing costs a few hundred
    /// fuel units per packet and the analyzers stream, so memory holds tables,
    /// not packets. Results are paged to ~100 KB; the cap is the backstop.
    fn default() -> Self {
        Limits {
            fuel: 200_000_000_000,
            memory_bytes: 256 * 1024 * 1024,
            wall_clock: Duration::from_secs(120),
            result_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Optional overrides, as read from the config file or the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Fuel units.
    pub fuel: Option<u64>,
    /// Memory in MiB.
    pub memory_mb: Option<u64>,
    /// Wall clock in seconds.
    pub wall_clock_secs: Option<u64>,
    /// Result size in KiB.
    pub result_kb: Option<u64>,
}

impl LimitOverrides {
    /// Applies the overrides that are set.
    pub fn apply(&self, limits: &mut Limits) {
        if let Some(v) = self.fuel {
            limits.fuel = v;
        }
        if let Some(v) = self.memory_mb {
            limits.memory_bytes = v.saturating_mul(1024 * 1024);
        }
        if let Some(v) = self.wall_clock_secs {
            limits.wall_clock = Duration::from_secs(v);
        }
        if let Some(v) = self.result_kb {
            limits.result_bytes = v.saturating_mul(1024);
        }
    }

    /// Sets one field from its name (`fuel`, `memory_mb`, `wall_clock_secs`, `result_kb`).
    pub fn set(&mut self, field: &str, value: u64) -> anyhow::Result<()> {
        match field {
            "fuel" => self.fuel = Some(value),
            "memory_mb" => self.memory_mb = Some(value),
            "wall_clock_secs" => self.wall_clock_secs = Some(value),
            "result_kb" => self.result_kb = Some(value),
            other => {
                anyhow::bail!("unknown limit `{other}`: the limits are fuel, memory_mb, wall_clock_secs and result_kb")
            }
        }
        Ok(())
    }
}

/// Defaults for every analyzer plus per-analyzer overrides.
#[derive(Debug, Clone, Default)]
pub struct LimitSettings {
    /// Overrides for all analyzers.
    pub all: LimitOverrides,
    /// Overrides per analyzer name, applied after `all`.
    pub per_analyzer: BTreeMap<String, LimitOverrides>,
}

impl LimitSettings {
    /// The limits in force for one analyzer.
    pub fn for_analyzer(&self, name: &str) -> Limits {
        let mut limits = Limits::default();
        self.all.apply(&mut limits);
        if let Some(o) = self.per_analyzer.get(name) {
            o.apply(&mut limits);
        }
        limits
    }
}

/// Which limit a call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Out of fuel.
    Fuel,
    /// Linear memory could not grow.
    Memory,
    /// Wall-clock deadline passed.
    WallClock,
    /// The result was larger than allowed.
    ResultSize,
}

impl LimitKind {
    /// The field name used in config files and `--limit NAME.FIELD=VALUE`.
    pub fn setting(&self) -> &'static str {
        match self {
            LimitKind::Fuel => "fuel",
            LimitKind::Memory => "memory_mb",
            LimitKind::WallClock => "wall_clock_secs",
            LimitKind::ResultSize => "result_kb",
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::Fuel => "fuel (CPU work) limit",
            LimitKind::Memory => "memory limit",
            LimitKind::WallClock => "wall-clock limit",
            LimitKind::ResultSize => "result size limit",
        })
    }
}

/// Linear memory shared by the sandboxes of one tool call: the call's
/// memory limit bounds them all together, so the documented bound on the
/// server (`--max-concurrent-calls` x the memory limit) holds when
/// `analyze_many` runs several analyzers side by side. Each sandbox takes
/// what it grows by and gives it back when it is dropped.
#[derive(Debug)]
pub struct MemoryBudget {
    available: std::sync::Mutex<usize>,
    /// Several analyzers of one call draw on it (`analyze_many`), so one may
    /// be refused memory below its own limit.
    pub shared: bool,
}

impl MemoryBudget {
    /// A budget of `bytes` for one analyzer's sandbox.
    pub fn new(bytes: u64) -> std::sync::Arc<Self> {
        Self::with(bytes, false)
    }

    /// A budget of `bytes` that the sandboxes of one call share.
    pub fn shared(bytes: u64) -> std::sync::Arc<Self> {
        Self::with(bytes, true)
    }

    fn with(bytes: u64, shared: bool) -> std::sync::Arc<Self> {
        std::sync::Arc::new(MemoryBudget {
            available: std::sync::Mutex::new(usize::try_from(bytes).unwrap_or(usize::MAX)),
            shared,
        })
    }

    fn take(&self, bytes: usize) -> bool {
        let mut available = self.available.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *available < bytes {
            return false;
        }
        *available -= bytes;
        true
    }

    fn give_back(&self, bytes: usize) {
        let mut available = self.available.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *available = available.saturating_add(bytes);
    }
}

/// Caps linear memory and remembers that it refused to grow, so a trap that
/// follows (Rust's allocation failure aborts) is reported as the memory limit.
pub(crate) struct MemoryCap {
    /// This analyzer's own limit.
    pub(crate) max_bytes: usize,
    /// The call's budget, shared with the other sandboxes of the call.
    pub(crate) budget: std::sync::Arc<MemoryBudget>,
    /// What this sandbox has taken from the budget.
    pub(crate) taken: usize,
    pub(crate) refused: bool,
    /// The largest size linear memory was allowed to reach: logged after each
    /// call so a table that grows with the capture shows up.
    pub(crate) peak_bytes: usize,
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        self.budget.give_back(self.taken);
    }
}

/// Tables hold function references; no analyzer needs more than this.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let allowed = desired <= self.max_bytes && self.budget.take(growth);
        if allowed {
            self.taken += growth;
            self.peak_bytes = self.peak_bytes.max(desired);
        } else {
            self.refused = true;
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    fn cap(max_bytes: usize, budget: &std::sync::Arc<MemoryBudget>) -> MemoryCap {
        MemoryCap { max_bytes, budget: budget.clone(), taken: 0, refused: false, peak_bytes: 0 }
    }

    #[test]
    fn sandboxes_of_one_call_share_its_memory_budget() {
        const MIB: usize = 1024 * 1024;
        let budget = MemoryBudget::new(100 * MIB as u64);
        let mut first = cap(80 * MIB, &budget);
        let mut second = cap(80 * MIB, &budget);
        assert!(first.memory_growing(0, 60 * MIB, None).unwrap());
        assert!(!second.memory_growing(0, 60 * MIB, None).unwrap(), "60 + 60 MiB is over the call's 100");
        assert!(second.refused);
        assert!(second.memory_growing(0, 40 * MIB, None).unwrap(), "what is left can be used");
        assert!(!first.memory_growing(60 * MIB, 61 * MIB, None).unwrap(), "the budget is spent");
        drop(second);
        assert!(first.memory_growing(60 * MIB, 80 * MIB, None).unwrap(), "a dropped sandbox gives its share back");
        assert!(!first.memory_growing(80 * MIB, 81 * MIB, None).unwrap(), "each analyzer's own limit still holds");
        drop(first);
        assert_eq!(*budget.available.lock().unwrap(), 100 * MIB);
    }

    #[test]
    fn per_analyzer_overrides_win_over_global_ones() {
        let mut settings = LimitSettings::default();
        settings.all.set("fuel", 10).unwrap();
        settings.all.set("memory_mb", 64).unwrap();
        let mut dns = LimitOverrides::default();
        dns.set("fuel", 99).unwrap();
        settings.per_analyzer.insert("dns".into(), dns);
        let dns = settings.for_analyzer("dns");
        let other = settings.for_analyzer("tcp");
        assert_eq!((dns.fuel, dns.memory_bytes), (99, 64 << 20));
        assert_eq!((other.fuel, other.memory_bytes), (10, 64 << 20));
        assert_eq!(other.wall_clock, Limits::default().wall_clock);
        assert!(LimitOverrides::default().set("cpu", 1).is_err());
    }
}
