//! Every Prometheus metric Trellis exports, declared in one place.
//!
//! The `Application` owns one `Metrics` (its own `Registry`, no global), so
//! two servers in one test process never share counters. Names follow
//! `trellis_<subsystem>_<name>_<unit>`; label values come from small fixed
//! sets (route templates, HTTP methods, rejection reasons, store operations,
//! aggregator names), never from request data.
//!
//! A component with gauges computed from its own state (the CX exporter,
//! with the aggregator's lag and checkpoint) registers a
//! `prometheus::core::Collector` with `Metrics::register`.

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Reasons a statement write is refused (`trellis_statements_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Not valid xAPI, or a malformed request body or parameter.
    Invalid,
    /// An id already stored with a different statement.
    Conflict,
    /// No credential, or one without `statements/write`.
    Forbidden,
    /// Body or batch over the configured limits.
    TooLarge,
    /// The store could not take the write.
    Unavailable,
    /// Anything else (a bug or a backend failure).
    Internal,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        RejectReason::Invalid,
        RejectReason::Conflict,
        RejectReason::Forbidden,
        RejectReason::TooLarge,
        RejectReason::Unavailable,
        RejectReason::Internal,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RejectReason::Invalid => "invalid",
            RejectReason::Conflict => "conflict",
            RejectReason::Forbidden => "forbidden",
            RejectReason::TooLarge => "too_large",
            RejectReason::Unavailable => "unavailable",
            RejectReason::Internal => "internal",
        }
    }
}

/// Request latency buckets (seconds): 1 ms to 10 s.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Store latency buckets (seconds): 100 µs to 5 s.
const STORE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

pub struct Metrics {
    registry: Registry,
    /// `trellis_http_requests_total{route,method,status}`
    pub http_requests: IntCounterVec,
    /// `trellis_http_request_duration_seconds{route,method}`
    pub http_duration: HistogramVec,
    /// `trellis_statements_stored_total`
    pub statements_stored: IntCounter,
    /// `trellis_statements_rejected_total{reason}`
    pub statements_rejected: IntCounterVec,
    /// `trellis_store_operation_duration_seconds{operation,backend}`
    pub store_duration: HistogramVec,
    /// `trellis_store_errors_total{operation,backend}`
    pub store_errors: IntCounterVec,
    /// `trellis_ready`
    pub ready: IntGauge,
    /// `trellis_panics_total`
    pub panics: IntCounter,
}

impl Metrics {
    pub fn new() -> Result<Arc<Metrics>, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "trellis_http_requests_total",
                "HTTP requests answered, by route template, method and status code.",
            ),
            &["route", "method", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "trellis_http_request_duration_seconds",
                "Time from receiving a request to its response, by route template and method.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let statements_stored = IntCounter::new(
            "trellis_statements_stored_total",
            "Statements accepted and durably stored (equivalent resubmissions included).",
        )?;
        let statements_rejected = IntCounterVec::new(
            Opts::new(
                "trellis_statements_rejected_total",
                "Statements refused by a PUT or POST, by reason (a refused request counts its statements, or 1 when they could not be counted).",
            ),
            &["reason"],
        )?;
        let store_duration = HistogramVec::new(
            HistogramOpts::new(
                "trellis_store_operation_duration_seconds",
                "Latency of store operations, by operation and backend.",
            )
            .buckets(STORE_BUCKETS.to_vec()),
            &["operation", "backend"],
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new(
                "trellis_store_errors_total",
                "Store operations that failed because the backend was unavailable or broken.",
            ),
            &["operation", "backend"],
        )?;
        let ready = IntGauge::new(
            "trellis_ready",
            "1 when the server is ready to serve (see /readyz), else 0.",
        )?;
        let panics = IntCounter::new(
            "trellis_panics_total",
            "Requests whose handler panicked (answered 500); any is a bug.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("trellis_build_info", "Always 1; the version is a label."),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for reason in RejectReason::ALL {
            statements_rejected.with_label_values(&[reason.label()]);
        }
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(statements_stored.clone()))?;
        registry.register(Box::new(statements_rejected.clone()))?;
        registry.register(Box::new(store_duration.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        registry.register(Box::new(ready.clone()))?;
        registry.register(Box::new(panics.clone()))?;
        registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Arc::new(Metrics {
            registry,
            http_requests,
            http_duration,
            statements_stored,
            statements_rejected,
            store_duration,
            store_errors,
            ready,
            panics,
        }))
    }

    /// Adds a component's own collector (for example the CX gauges).
    pub fn register(&self, collector: Box<dyn Collector>) -> Result<(), prometheus::Error> {
        self.registry.register(collector)
    }

    pub fn record_rejected(&self, reason: RejectReason, statements: u64) {
        self.statements_rejected
            .with_label_values(&[reason.label()])
            .inc_by(statements.max(1));
    }

    /// Everything in the Prometheus text exposition format.
    pub fn encode(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_metric_is_exported_from_the_start() {
        let metrics = Metrics::new().unwrap();
        metrics
            .http_requests
            .with_label_values(&["/xapi/statements", "GET", "200"])
            .inc();
        metrics
            .http_duration
            .with_label_values(&["/xapi/statements", "GET"])
            .observe(0.01);
        let text = metrics.encode().unwrap();
        for name in [
            "trellis_http_requests_total{",
            "trellis_http_request_duration_seconds_bucket{",
            "trellis_statements_stored_total ",
            "trellis_statements_rejected_total{reason=\"too_large\"} 0",
            "trellis_ready ",
            "trellis_panics_total 0",
            "trellis_build_info{",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn two_registries_do_not_share_counters() {
        let a = Metrics::new().unwrap();
        let b = Metrics::new().unwrap();
        a.statements_stored.inc_by(3);
        assert_eq!(b.statements_stored.get(), 0);
    }

    #[test]
    fn an_extra_collector_is_exported() {
        let metrics = Metrics::new().unwrap();
        let gauge = IntGauge::new("trellis_cx_enrolled_learners", "test").unwrap();
        gauge.set(7);
        metrics.register(Box::new(gauge)).unwrap();
        assert!(metrics
            .encode()
            .unwrap()
            .contains("trellis_cx_enrolled_learners 7"));
    }
}
