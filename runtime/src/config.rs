//! Settings from the optional TOML config file, overridden by the command
//! line. Example:
//!
//! ```toml
//! allow_dirs = ["/srv/captures"]
//! max_packets = 1000000
//!
//! [limits]            # every analyzer
//! memory_mb = 256
//! wall_clock_secs = 120
//!
//! [limits.tcp]        # one analyzer
//! fuel = 400000000000
//!
//! [download]
//! max_mb = 1024
//! timeout_secs = 300
//! allow_private = false
//! max_concurrent = 4
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::sandbox::limits::LimitOverrides;

/// The config file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Directories local captures may be read from.
    #[serde(default)]
    pub allow_dirs: Vec<PathBuf>,
    /// Open files with more than one hard link in the allowed directories.
    pub allow_hardlinks: Option<bool>,
    /// Extra analyzer components.
    pub analyzers_dir: Option<PathBuf>,
    /// Analyzers to offer (all when absent).
    pub modules: Option<Vec<String>>,
    /// Server-wide packet cap.
    pub max_packets: Option<u64>,
    /// Analyses allowed to run at once.
    pub max_concurrent_calls: Option<usize>,
    /// Sandbox limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// URL download policy.
    #[serde(default)]
    pub download: DownloadSection,
}

/// `[limits]`: known fields apply to every analyzer; each sub-table
/// (`[limits.tcp]`) to the analyzer it names.
#[derive(Debug, Default, Deserialize)]
pub struct LimitsSection {
    /// Fuel for all analyzers.
    pub fuel: Option<u64>,
    /// Memory (MiB) for all analyzers.
    pub memory_mb: Option<u64>,
    /// Wall clock (s) for all analyzers.
    pub wall_clock_secs: Option<u64>,
    /// Result size (KiB) for all analyzers.
    pub result_kb: Option<u64>,
    /// Per-analyzer tables.
    #[serde(flatten)]
    pub per_analyzer: BTreeMap<String, LimitOverrides>,
}

/// `[download]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadSection {
    /// Largest download in MiB.
    pub max_mb: Option<u64>,
    /// Total download time in seconds.
    pub timeout_secs: Option<u64>,
    /// Allow private and loopback addresses.
    pub allow_private: Option<bool>,
    /// Downloads running at once.
    pub max_concurrent: Option<usize>,
}

impl ConfigFile {
    /// Reads and parses a config file.
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing the config file {}", path.display()))
    }

    /// The global limit overrides.
    pub fn global_limits(&self) -> LimitOverrides {
        let l = &self.limits;
        LimitOverrides {
            fuel: l.fuel,
            memory_mb: l.memory_mb,
            wall_clock_secs: l.wall_clock_secs,
            result_kb: l.result_kb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_global_and_per_analyzer_limits() {
        let config: ConfigFile = toml::from_str(
            "max_packets = 5\n[limits]\nmemory_mb = 64\n[limits.tcp]\nfuel = 7\n[download]\nmax_mb = 3\n",
        )
        .unwrap();
        assert_eq!(config.max_packets, Some(5));
        assert_eq!(config.global_limits().memory_mb, Some(64));
        assert_eq!(config.limits.per_analyzer["tcp"].fuel, Some(7));
        assert_eq!(config.download.max_mb, Some(3));
        assert!(toml::from_str::<ConfigFile>("[limits.tcp]\ncpu = 1\n").is_err(), "unknown limit names fail");
        assert!(toml::from_str::<ConfigFile>("allow_dir = []\n").is_err(), "unknown keys fail");
    }
}
