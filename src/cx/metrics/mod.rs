//! The CX metrics of `docs/cx-metrics.md`, computed from a `State` as of
//! an instant. Every function is pure: same index, same parameters, same
//! answer. Times are microseconds since the Unix epoch (UTC).
//!
//! One file per metric family; `resolved` (fixed verb lists), `groups`
//! (accumulators per cohort or period), `durations` (count, mean, percentiles) and `survey_kind`
//! (the three survey scales) are shared by several.

mod churn_risk;
mod completion;
mod durations;
mod engagement;
mod experiment;
mod funnel;
mod groups;
mod journey;
mod resolved;
mod retention;
mod revenue;
mod scopes;
mod survey_kind;
mod surveys;
mod time_to_competency;
mod time_to_first_value;

pub use super::period::Period;

pub use churn_risk::{actor_of, churn_risk, learners_at_risk, AtRisk, ChurnRisk};
pub use completion::{completion, Completion, CompletionCounts};
pub use durations::Durations;
pub use engagement::{
    active_in_windows, activity, engagement, Activity, ActivityPeriod, Engagement, EngagementPeriod,
};
pub use experiment::{experiment, Experiment, Outcome, UnknownControl, VariantResult, Z95};
pub use funnel::{funnel, Funnel, FunnelCohort, FunnelStep, StepSpec};
pub use groups::Groups;
pub use journey::{journey, Journey, Stage};
pub use resolved::COMPETENCY_VERBS;
pub use retention::{retention, Retention, RetentionCohort, RetentionPoint};
pub use revenue::{revenue, CurrencyRevenue, LtvCohort, LtvPoint, Revenue};
pub use scopes::activity_scopes;
pub use survey_kind::SurveyKind;
pub use surveys::{surveys, Ces, Csat, Nps, SurveyResults, Surveys};
pub use time_to_competency::{threshold_for, time_to_competency, TimeToCompetency};
pub use time_to_first_value::{time_to_first_value, TimeToFirstValue};

pub const DEFAULT_RETENTION_DAYS: [u32; 5] = [1, 7, 30, 60, 90];
/// Day offsets of revenue's LTV points unless asked otherwise.
pub const DEFAULT_LTV_DAYS: [u32; 4] = [30, 90, 180, 365];
/// The most periods one answer lists.
pub const MAX_PERIODS: usize = 10_000;

/// A metric cannot be answered for these parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("the range from since to until spans more than {MAX_PERIODS} periods; narrow it or use a longer period")]
    TooManyPeriods,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
