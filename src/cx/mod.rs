//! Learner-experience (CX) metrics: the definitions of `docs/cx-metrics.md`
//! (the product definition; README, Analytics, says where Trellis chooses)
//! computed from aggregated state.
//!
//! - `settings`: how the metrics read statements (`Settings`), with their
//!   defaults and checks.
//! - `facts`: what one stored statement contributes (`Fact`), persisted as
//!   versioned records.
//! - `index`: the in-memory state built from facts, per scope and learner.
//! - `period`: UTC days, ISO weeks, months; RFC 3339 times.
//! - `metrics`: one pure function per metric over the index, one file per
//!   metric family.
//! - `aggregator`: folds the store's log into the index and persists facts
//!   with the checkpoint, atomically.
//! - `exporter`: the Prometheus collector of the CX gauges.

pub mod aggregator;
pub mod exporter;
pub mod facts;
pub mod index;
pub mod metrics;
#[cfg(test)]
mod metrics_tests;
pub mod period;
#[cfg(test)]
mod reference_tests;
pub mod settings;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use index::Index;
pub use settings::Settings;

/// The aggregated state a process holds, shared by the aggregator (writer),
/// the analytics API and the exporter (readers).
#[derive(Debug)]
pub struct Cx {
    pub settings: Settings,
    index: RwLock<Index>,
    /// The log position reflected in `index`.
    checkpoint: AtomicI64,
    /// `stored` (ms) of the oldest statement not yet reflected, or -1.
    pending_since_ms: AtomicI64,
    /// Whether the persisted state has been loaded (until then answers
    /// would be wrong, so the API answers 503).
    loaded: std::sync::atomic::AtomicBool,
}

impl Cx {
    pub fn new(settings: Settings) -> Cx {
        Cx {
            settings,
            index: RwLock::new(Index::default()),
            checkpoint: AtomicI64::new(0),
            pending_since_ms: AtomicI64::new(-1),
            loaded: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the aggregator has loaded the persisted state.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Read access to the index (a poisoned lock still holds a consistent
    /// index: every mutation completes before the guard is released).
    pub fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn checkpoint(&self) -> i64 {
        self.checkpoint.load(Ordering::Acquire)
    }

    /// Seconds between now and the stored time of the oldest statement not
    /// yet reflected; 0 when caught up.
    pub fn lag_seconds(&self, now_ms: i64) -> f64 {
        match self.pending_since_ms.load(Ordering::Acquire) {
            -1 => 0.0,
            since => (now_ms - since).max(0) as f64 / 1000.0,
        }
    }
}
