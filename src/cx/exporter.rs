//! The Prometheus gauges of the CX metrics (names agreed in the project's
//! metric list) and of the aggregator's lag and checkpoint.
//!
//! The CX gauges are computed by the aggregator (`compute`, at most every
//! few seconds, off the async executor), for the global scope
//! (`activity="global"`) and a bounded set of Activities: the configured
//! ones plus the top N by enrolled learners. A scrape (`CxCollector`) only
//! copies the last computed values; lag and checkpoint are read from
//! atomics.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, Opts};

use super::aggregator::CONSUMER;
use super::metrics::{self, Period, SurveyKind, DEFAULT_RETENTION_DAYS};
use super::state::{State, GLOBAL};
use super::Cx;

/// The label value of the global scope.
pub const GLOBAL_LABEL: &str = "global";

struct Gauges {
    enrolled: GaugeVec,
    completion: GaugeVec,
    retention: GaugeVec,
    ttc: GaugeVec,
    ttc_reached: GaugeVec,
    active: GaugeVec,
    nps: GaugeVec,
    csat_mean: GaugeVec,
    csat_satisfied: GaugeVec,
    ces_mean: GaugeVec,
    ces_easy: GaugeVec,
    survey_responses: GaugeVec,
    at_risk: GaugeVec,
    ttfv: GaugeVec,
    journey: GaugeVec,
    revenue: GaugeVec,
    repeat: GaugeVec,
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

impl Gauges {
    fn new() -> Gauges {
        let a = &["activity"];
        Gauges {
            enrolled: gauge("trellis_cx_enrolled_learners", "Enrolled learners.", a),
            completion: gauge("trellis_cx_completion_ratio", "Completed / enrolled.", a),
            retention: gauge(
                "trellis_cx_retention_ratio",
                "Retained / eligible learners at a day offset, all cohorts.",
                &["activity", "day"],
            ),
            ttc: gauge(
                "trellis_cx_time_to_competency_seconds",
                "Time from enrolment to competency (nearest-rank quantile).",
                &["activity", "quantile"],
            ),
            ttc_reached: gauge(
                "trellis_cx_time_to_competency_reached_ratio",
                "Share of enrolled learners who reached competency.",
                a,
            ),
            active: gauge(
                "trellis_cx_active_learners",
                "Learners active in the last window.",
                &["activity", "window"],
            ),
            nps: gauge("trellis_cx_nps_score", "Net Promoter Score (-100..100).", a),
            csat_mean: gauge("trellis_cx_csat_mean", "Mean CSAT answer (1-5).", a),
            csat_satisfied: gauge(
                "trellis_cx_csat_satisfied_ratio",
                "Share of CSAT answers 4 or 5.",
                a,
            ),
            ces_mean: gauge("trellis_cx_ces_mean", "Mean CES answer (1-7).", a),
            ces_easy: gauge(
                "trellis_cx_ces_easy_ratio",
                "Share of CES answers 5 to 7.",
                a,
            ),
            survey_responses: gauge(
                "trellis_cx_survey_responses",
                "Counted survey responses (latest per learner).",
                &["activity", "survey"],
            ),
            at_risk: gauge(
                "trellis_cx_learners_at_risk",
                "Enrolled, unfinished learners inactive for 7 to 30 days.",
                a,
            ),
            ttfv: gauge(
                "trellis_cx_time_to_first_value_seconds",
                "Time from a learner's first statement to its enrolment (nearest-rank quantile).",
                &["activity", "quantile"],
            ),
            journey: gauge(
                "trellis_cx_journey_learners",
                "Enrolled learners in each journey stage.",
                &["activity", "stage"],
            ),
            revenue: gauge(
                "trellis_cx_revenue",
                "Purchases minus refunds, per currency (never converted).",
                &["activity", "currency"],
            ),
            repeat: gauge(
                "trellis_cx_repeat_purchase_ratio",
                "Buyers with at least two purchases / buyers, per currency.",
                &["activity", "currency"],
            ),
        }
    }

    fn all(&self) -> [&GaugeVec; 17] {
        [
            &self.enrolled,
            &self.completion,
            &self.retention,
            &self.ttc,
            &self.ttc_reached,
            &self.active,
            &self.nps,
            &self.csat_mean,
            &self.csat_satisfied,
            &self.ces_mean,
            &self.ces_easy,
            &self.survey_responses,
            &self.at_risk,
            &self.ttfv,
            &self.journey,
            &self.revenue,
            &self.repeat,
        ]
    }
}

/// The exported Activities: the configured ones, then the top `n` by
/// enrolled learners (ties by IRI), without repeats.
pub fn exported_activities(state: &State, as_of: i64) -> Vec<String> {
    let settings = &state.settings;
    let mut out: Vec<String> = Vec::new();
    for a in &settings.exported_activities {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    let mut ranked: Vec<(usize, &str)> = state
        .scopes
        .iter()
        .enumerate()
        .filter(|(id, _)| *id as u32 != GLOBAL)
        .map(|(id, s)| {
            let n = s.rows.iter().filter(|r| r.e <= as_of).count();
            (n, state.scope_names.name(id as u32))
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    for (_, iri) in ranked.into_iter().take(settings.export_top) {
        if !out.iter().any(|o| o == iri) {
            out.push(iri.to_owned());
        }
    }
    out
}

fn set(g: &GaugeVec, labels: &[&str], value: Option<f64>) {
    if let Some(v) = value {
        g.with_label_values(labels).set(v);
    }
}

/// Every CX gauge as of `as_of` (what a scrape then serves).
pub fn compute(state: &State, as_of: i64) -> Vec<MetricFamily> {
    let g = Gauges::new();
    let activities = exported_activities(state, as_of);
    let scopes = std::iter::once(None).chain(activities.iter().map(|a| Some(a.as_str())));
    for scope in scopes {
        let label = scope.unwrap_or(GLOBAL_LABEL);
        let retention =
            metrics::retention(state, scope, as_of, Period::Week, &DEFAULT_RETENTION_DAYS);
        g.enrolled
            .with_label_values(&[label])
            .set(retention.learners as f64);
        for p in &retention.overall {
            set(&g.retention, &[label, &p.day.to_string()], p.rate);
        }
        if let Some(activity) = scope {
            let c = metrics::completion(state, activity, as_of, None);
            set(&g.completion, &[label], c.total.rate);
            let threshold = metrics::threshold_for(&state.settings, activity, None);
            let t = metrics::time_to_competency(state, activity, as_of, threshold);
            set(&g.ttc_reached, &[label], t.share);
            set(&g.ttc, &[label, "0.5"], t.median_seconds);
            set(&g.ttc, &[label, "0.9"], t.p90_seconds);
        }
        let active = metrics::active_in_windows(state, scope, as_of);
        for (window, n) in ["1d", "7d", "30d"].into_iter().zip(active) {
            g.active.with_label_values(&[label, window]).set(n as f64);
        }
        let s = metrics::surveys(state, scope, as_of, None);
        set(&g.nps, &[label], s.total.nps.score);
        set(&g.csat_mean, &[label], s.total.csat.mean);
        set(&g.csat_satisfied, &[label], s.total.csat.satisfied_share);
        set(&g.ces_mean, &[label], s.total.ces.mean);
        set(&g.ces_easy, &[label], s.total.ces.easy_share);
        for (kind, n) in [
            (SurveyKind::Nps, s.total.nps.responses),
            (SurveyKind::Csat, s.total.csat.responses),
            (SurveyKind::Ces, s.total.ces.responses),
        ] {
            g.survey_responses
                .with_label_values(&[label, kind.as_str()])
                .set(n as f64);
        }
        g.at_risk
            .with_label_values(&[label])
            .set(metrics::learners_at_risk(state, scope, as_of) as f64);
        let f = metrics::time_to_first_value(state, scope, as_of);
        set(&g.ttfv, &[label, "0.5"], f.median_seconds);
        set(&g.ttfv, &[label, "0.9"], f.p90_seconds);
        for stage in metrics::journey(state, scope, as_of).stages {
            if let Some(n) = stage.learners {
                g.journey
                    .with_label_values(&[label, stage.stage])
                    .set(n as f64);
            }
        }
        let r = metrics::revenue(state, scope, as_of, None, Period::Month, &[]);
        for c in r.currencies {
            g.revenue
                .with_label_values(&[label, &c.currency])
                .set(c.revenue);
            set(&g.repeat, &[label, &c.currency], c.repeat_rate);
        }
    }
    g.all().iter().flat_map(|v| v.collect()).collect()
}

/// Serves the gauges the aggregator computed; register it with
/// `Metrics::register`.
pub struct CxCollector {
    cx: Arc<Cx>,
    lag: GaugeVec,
    checkpoint: GaugeVec,
    descs: Vec<Desc>,
}

impl CxCollector {
    pub fn new(cx: Arc<Cx>) -> CxCollector {
        let lag = gauge(
            "trellis_aggregator_lag_seconds",
            "Now minus the stored time of the oldest statement not yet reflected.",
            &["aggregator"],
        );
        let checkpoint = gauge(
            "trellis_aggregator_checkpoint",
            "Log position reflected by the aggregator.",
            &["aggregator"],
        );
        let template = Gauges::new();
        let descs = template
            .all()
            .iter()
            .map(|g| *g as &dyn Collector)
            .chain([&lag as &dyn Collector, &checkpoint as &dyn Collector])
            .flat_map(|g| g.desc().into_iter().cloned())
            .collect();
        CxCollector {
            cx,
            lag,
            checkpoint,
            descs,
        }
    }
}

impl Collector for CxCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        self.lag
            .with_label_values(&[CONSUMER])
            .set(self.cx.lag_seconds(now_ms));
        self.checkpoint
            .with_label_values(&[CONSUMER])
            .set(self.cx.checkpoint() as f64);
        let mut families: Vec<MetricFamily> = self.cx.gauges().as_ref().clone();
        families.extend(self.lag.collect());
        families.extend(self.checkpoint.collect());
        families
    }
}
