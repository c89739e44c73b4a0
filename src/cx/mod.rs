//! Learner-experience (CX) metrics: the definitions of `docs/cx-metrics.md`
//! (the product definition; README, Analytics, says where Trellis chooses)
//! computed from aggregated state.
//!
//! - `settings`: how the metrics read statements (`Settings`), with their
//!   defaults and checks.
//! - `facts`: what one stored statement contributes (`Fact`).
//! - `state`: the compact in-memory state built from facts (per learner
//!   statement keys, per scope summary rows and day counts), persistent so
//!   that snapshots are cheap.
//! - `record`: the versioned binary form of facts the aggregator persists.
//! - `period`: UTC days, ISO weeks, months; RFC 3339 times.
//! - `metrics`: one pure function per metric over a state, one file per
//!   metric family.
//! - `aggregator`: folds the store's log into the state, publishes a
//!   snapshot after each step and persists facts with the checkpoint,
//!   atomically.
//! - `exporter`: the Prometheus gauges, computed by the aggregator, read by
//!   the scrape.

pub mod aggregator;
pub mod exporter;
pub mod facts;
pub mod metrics;
#[cfg(test)]
mod metrics_tests;
#[cfg(test)]
mod metrics_tests2;
pub mod period;
pub mod record;
#[cfg(test)]
mod reference_tests;
pub mod settings;
pub mod state;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus::proto::MetricFamily;

pub use settings::Settings;
use state::State;

/// An immutable state and the log position it reflects.
#[derive(Debug)]
pub struct Snapshot {
    pub state: State,
    pub checkpoint: i64,
}

/// The aggregated state a process holds: the aggregator publishes
/// snapshots, the analytics API and the exporter read the latest one
/// without ever waiting for the aggregator (nor it for them).
#[derive(Debug)]
pub struct Cx {
    pub settings: Arc<Settings>,
    snapshot: ArcSwap<Snapshot>,
    /// `stored` (ms) of the oldest statement not yet reflected, or -1.
    pending_since_ms: AtomicI64,
    /// Whether the persisted state has been loaded (until then answers
    /// would be wrong, so the API answers 503).
    loaded: AtomicBool,
    /// The CX gauges as the aggregator last computed them.
    gauges: ArcSwap<Vec<MetricFamily>>,
}

impl Cx {
    pub fn new(settings: Settings) -> Cx {
        let settings = Arc::new(settings);
        Cx {
            snapshot: ArcSwap::from_pointee(Snapshot {
                state: State::new(settings.clone()),
                checkpoint: 0,
            }),
            settings,
            pending_since_ms: AtomicI64::new(-1),
            loaded: AtomicBool::new(false),
            gauges: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// Whether the aggregator has loaded the persisted state.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    fn publish(&self, state: State, checkpoint: i64) {
        self.snapshot
            .store(Arc::new(Snapshot { state, checkpoint }));
    }

    /// The log position reflected in the latest snapshot.
    pub fn checkpoint(&self) -> i64 {
        self.snapshot.load().checkpoint
    }

    /// The gauges computed at the aggregator's last gauge step.
    pub fn gauges(&self) -> Arc<Vec<MetricFamily>> {
        self.gauges.load_full()
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
