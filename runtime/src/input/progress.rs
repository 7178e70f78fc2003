//! Counts the capture bytes the sandbox has pulled, so a long analysis can
//! report progress without the host ever looking at the bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared progress of one call: bytes delivered to the analyzer so far.
#[derive(Clone, Default)]
pub struct ReadProgress {
    bytes: Arc<AtomicU64>,
}

impl ReadProgress {
    /// Bytes delivered so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Counts `n` more bytes delivered.
    pub fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}
