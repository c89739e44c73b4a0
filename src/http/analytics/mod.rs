//! The analytics API, `/analytics/v1/*`: the CX metrics answered from the
//! aggregated state (`cx`), as of an instant. Every endpoint requires read
//! access to all statements (`statements/read`, `all/read` or `all`);
//! `statements/read/mine` is refused with 403 because metrics aggregate
//! other learners' statements.
//!
//! Each answer is computed on the blocking thread pool from the latest
//! published snapshot of the state: a request never holds a lock the
//! aggregator needs, and never occupies an executor thread while it
//! computes.

mod activities;

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::authenticate_request;
use super::error::ApiError;
use super::params::{param_map, parse_query};
use super::AppState;
use crate::auth::ReadAccess;
use crate::cx::metrics::{self, MetricError, Period, DEFAULT_RETENTION_DAYS};
use crate::cx::period::{parse_rfc3339, rfc3339};
use crate::cx::state::State;
use crate::xapi::datatypes::is_iri;

/// Longest day offset or day count a parameter accepts (100 years).
const MAX_DAYS: u32 = 36_500;
const MAX_OFFSETS: usize = 100;
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/analytics/v1")
            .route("/completion", web::get().to(get_completion))
            .route("/retention", web::get().to(get_retention))
            .route("/time-to-competency", web::get().to(get_time_to_competency))
            .route("/engagement", web::get().to(get_engagement))
            .route("/activity", web::get().to(get_activity))
            .route("/surveys", web::get().to(get_surveys))
            .route(
                "/time-to-first-value",
                web::get().to(get_time_to_first_value),
            )
            .route("/churn-risk", web::get().to(get_churn_risk))
            .route("/journey", web::get().to(get_journey))
            .route("/funnel", web::get().to(get_funnel))
            .route("/experiment", web::get().to(get_experiment))
            .route("/revenue", web::get().to(get_revenue))
            .route("/activities", web::get().to(activities::get_activities)),
    );
}

/// An authorised request's parameters.
struct Params {
    map: HashMap<String, String>,
    /// The values of `step`, the one parameter that may repeat (when the
    /// endpoint takes it), in order.
    steps: Vec<String>,
}

impl Params {
    /// Authenticates, checks read access, then parses the query string,
    /// refusing parameters other than `activity`, `as_of` and `extra`.
    async fn read(req: &HttpRequest, state: &AppState, extra: &[&str]) -> Result<Params, ApiError> {
        let principal = authenticate_request(state, req).await?;
        if !state.cx.is_loaded() {
            return Err(ApiError::Unavailable(
                "the analytics state is still loading; retry shortly".into(),
            ));
        }
        match principal.statement_read_access() {
            ReadAccess::Everything => {}
            ReadAccess::OnlyMine => {
                return Err(ApiError::Forbidden(
                    "analytics aggregate every learner's statements: they need the scope statements/read, all/read or all (statements/read/mine is not enough)".into(),
                ))
            }
            ReadAccess::Nothing => {
                return Err(ApiError::Forbidden(
                    "analytics need the scope statements/read, all/read or all".into(),
                ))
            }
        }
        let mut pairs = parse_query(req.query_string())?;
        let mut steps = Vec::new();
        if extra.contains(&"step") {
            pairs.retain(|(name, value)| {
                if name == "step" {
                    steps.push(value.clone());
                }
                name != "step"
            });
        }
        let map = param_map(&pairs, |name| {
            name == "activity" || name == "as_of" || extra.contains(&name)
        })?
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Params { map, steps })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    fn activity(&self) -> Result<Option<String>, ApiError> {
        match self.get("activity") {
            None => Ok(None),
            Some(a) if is_iri(a) => Ok(Some(a.to_owned())),
            Some(a) => Err(ApiError::bad_param(
                "activity",
                format!("activity must be an Activity IRI, not {a:?}"),
            )),
        }
    }

    fn required_activity(&self) -> Result<String, ApiError> {
        self.activity()?.ok_or_else(|| {
            ApiError::bad_param("activity", "this metric needs an activity (the scope IRI)")
        })
    }

    fn time(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_rfc3339(v).ok_or_else(|| {
                    ApiError::bad_param(
                        name,
                        format!("{name} must be an RFC 3339 instant such as 2026-01-31T00:00:00Z, not {v:?}"),
                    )
                })
            })
            .transpose()
    }

    /// `as_of`, default now (microseconds).
    fn as_of(&self) -> Result<i64, ApiError> {
        Ok(self
            .time("as_of")?
            .unwrap_or_else(|| chrono::Utc::now().timestamp_micros()))
    }

    fn period(&self, name: &str) -> Result<Option<Period>, ApiError> {
        self.get(name)
            .map(|v| {
                Period::parse(v).ok_or_else(|| {
                    ApiError::bad_param(
                        name,
                        format!("{name} must be day, week or month, not {v:?}"),
                    )
                })
            })
            .transpose()
    }

    fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
        &self,
        name: &str,
        max: T,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| match v.parse::<T>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(ApiError::bad_param(
                    name,
                    format!("{name} must be a whole number from 0 to {max}, not {v:?}"),
                )),
            })
            .transpose()
    }

    fn days(&self) -> Result<Vec<u32>, ApiError> {
        self.days_or(&DEFAULT_RETENTION_DAYS)
    }

    fn days_or(&self, default: &[u32]) -> Result<Vec<u32>, ApiError> {
        let Some(v) = self.get("days") else {
            return Ok(default.to_vec());
        };
        let bad = || {
            ApiError::bad_param(
                "days",
                format!("days must be a comma-separated list of at most {MAX_OFFSETS} whole numbers from 0 to {MAX_DAYS}, not {v:?}"),
            )
        };
        let days: Vec<u32> = v
            .split(',')
            .map(|d| d.trim().parse::<u32>().ok().filter(|&d| d <= MAX_DAYS))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if days.is_empty() || days.len() > MAX_OFFSETS {
            return Err(bad());
        }
        Ok(days)
    }

    fn threshold(&self) -> Result<Option<f64>, ApiError> {
        self.get("threshold")
            .map(|v| match v.parse::<f64>() {
                Ok(t) if t.is_finite() && (-1.0..=1.0).contains(&t) => Ok(t),
                _ => Err(ApiError::bad_param(
                    "threshold",
                    format!("threshold must be a number from -1 to 1 (a scaled score), not {v:?}"),
                )),
            })
            .transpose()
    }

    /// A whole number from 1 to `MAX_DAYS`.
    fn positive_days(&self, name: &str) -> Result<Option<u32>, ApiError> {
        self.get(name)
            .map(|v| match v.parse::<u32>() {
                Ok(n) if (1..=MAX_DAYS).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_param(
                    name,
                    format!("{name} must be a whole number from 1 to {MAX_DAYS}, not {v:?}"),
                )),
            })
            .transpose()
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_param(name, format!("{name} is required")))
    }

    /// The funnel's steps: 2 to 10 JSON objects of `verb`, `object`, `type`.
    fn steps(&self) -> Result<Vec<metrics::StepSpec>, ApiError> {
        let bad = |why: String| ApiError::bad_param("step", why);
        if !(2..=10).contains(&self.steps.len()) {
            return Err(bad(format!(
                "a funnel needs 2 to 10 step parameters, not {}",
                self.steps.len()
            )));
        }
        self.steps
            .iter()
            .map(|raw| {
                let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
                    return Err(bad(format!("step must be a JSON object, not {raw:?}")));
                };
                let mut spec = metrics::StepSpec::default();
                for (key, value) in &map {
                    let Some(iri) = value.as_str().filter(|v| is_iri(v)) else {
                        return Err(bad(format!("step property {key:?} must be an IRI")));
                    };
                    let slot = match key.as_str() {
                        "verb" => &mut spec.verb,
                        "object" => &mut spec.object,
                        "type" => &mut spec.activity_type,
                        other => {
                            return Err(bad(format!(
                                "step properties are verb, object and type, not {other:?}"
                            )))
                        }
                    };
                    *slot = Some(iri.to_owned());
                }
                if spec == metrics::StepSpec::default() {
                    return Err(bad(
                        "step needs at least one of verb, object and type".into()
                    ));
                }
                Ok(spec)
            })
            .collect()
    }

    /// `since` and `until`, checked for order.
    fn range(&self) -> Result<(Option<i64>, Option<i64>), ApiError> {
        let (since, until) = (self.time("since")?, self.time("until")?);
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(ApiError::bad_param(
                    "since",
                    "since must not be after until",
                ));
            }
        }
        Ok((since, until))
    }
}

/// The answer: the metric's fields plus `activity` and `as_of`.
fn answer(
    activity: Option<&str>,
    as_of: i64,
    body: impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let mut value = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?;
    if let Value::Object(map) = &mut value {
        map.insert("activity".into(), json!(activity));
        map.insert("as_of".into(), json!(rfc3339(as_of)));
    }
    Ok(HttpResponse::Ok().json(value))
}

/// Computes an answer from the latest snapshot on the blocking pool.
async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&State) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let snapshot = state.cx.snapshot();
    web::block(move || f(&snapshot.state))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("analytics computation: {e}")))
}

/// Computes a metric of the scope `activity` (the global one when `None`)
/// from the latest snapshot and answers it, stamped with that scope and
/// `as_of`.
async fn respond<T: Serialize + Send + 'static>(
    state: &AppState,
    activity: Option<String>,
    as_of: i64,
    metric: impl FnOnce(&State, Option<&str>) -> Result<T, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let scope = activity.clone();
    let body = compute(state, move |s| metric(s, scope.as_deref())).await??;
    answer(activity.as_deref(), as_of, body)
}

impl From<MetricError> for ApiError {
    fn from(e: MetricError) -> ApiError {
        match e {
            MetricError::TooManyPeriods => ApiError::bad_param("since", e.to_string()),
        }
    }
}

async fn get_completion(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["cohort"]).await?;
    let (activity, as_of, cohort) = (p.required_activity()?, p.as_of()?, p.period("cohort")?);
    let scope = activity.clone();
    respond(&state, Some(activity), as_of, move |s, _| {
        Ok(metrics::completion(s, &scope, as_of, cohort))
    })
    .await
}

async fn get_retention(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["cohort", "days"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let cohort = p.period("cohort")?.unwrap_or(Period::Week);
    let days = p.days()?;
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::retention(s, a, as_of, cohort, &days))
    })
    .await
}

async fn get_time_to_competency(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["threshold"]).await?;
    let (activity, as_of) = (p.required_activity()?, p.as_of()?);
    let threshold = metrics::threshold_for(&state.cx.settings, &activity, p.threshold()?);
    let scope = activity.clone();
    respond(&state, Some(activity), as_of, move |s, _| {
        Ok(metrics::time_to_competency(s, &scope, as_of, threshold))
    })
    .await
}

async fn get_engagement(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period", "since", "until"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let period = p.period("period")?.unwrap_or(Period::Week);
    let (since, until) = p.range()?;
    respond(&state, activity, as_of, move |s, a| {
        metrics::engagement(s, a, as_of, period, since, until).map_err(ApiError::from)
    })
    .await
}

async fn get_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period", "since", "until"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let period = p.period("period")?.unwrap_or(Period::Day);
    let (since, until) = p.range()?;
    respond(&state, activity, as_of, move |s, a| {
        metrics::activity(s, a, as_of, period, since, until).map_err(ApiError::from)
    })
    .await
}

async fn get_surveys(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period"]).await?;
    let (activity, as_of, period) = (p.activity()?, p.as_of()?, p.period("period")?);
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::surveys(s, a, as_of, period))
    })
    .await
}

async fn get_time_to_first_value(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &[]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::time_to_first_value(s, a, as_of))
    })
    .await
}

async fn get_churn_risk(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(
        &req,
        &state,
        &["inactive_days", "churned_days", "limit", "offset"],
    )
    .await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let inactive = p.number("inactive_days", MAX_DAYS)?.unwrap_or(7);
    let churned = p.number("churned_days", MAX_DAYS)?.unwrap_or(30);
    let limit = p.number("limit", MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    let offset = p.number("offset", usize::MAX)?.unwrap_or(0);
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::churn_risk(
            s, a, as_of, inactive, churned, limit, offset,
        ))
    })
    .await
}

async fn get_journey(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &[]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::journey(s, a, as_of))
    })
    .await
}

async fn get_funnel(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["step", "window_days", "cohort"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let steps = p.steps()?;
    let window = p.positive_days("window_days")?;
    let cohort = p.period("cohort")?;
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::funnel(s, a, as_of, &steps, window, cohort))
    })
    .await
}

async fn get_experiment(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(
        &req,
        &state,
        &["experiment", "metric", "window_days", "day", "control"],
    )
    .await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let experiment = p.required("experiment")?.to_owned();
    let outcome = match p.required("metric")? {
        "completion" => metrics::Outcome::Completion {
            window_days: p.positive_days("window_days")?.unwrap_or(30),
        },
        "retention" => metrics::Outcome::Retention {
            day: p.number("day", MAX_DAYS)?.unwrap_or(7),
        },
        other => match metrics::SurveyKind::parse(other) {
            Some(kind) => metrics::Outcome::Survey(kind),
            None => {
                return Err(ApiError::bad_param(
                    "metric",
                    format!(
                        "metric must be completion, retention, nps, csat or ces, not {other:?}"
                    ),
                ))
            }
        },
    };
    if matches!(outcome, metrics::Outcome::Completion { .. }) && activity.is_none() {
        return Err(ApiError::bad_param(
            "activity",
            "the completion metric needs an activity (the scope IRI)",
        ));
    }
    let control = p.get("control").map(str::to_owned);
    respond(&state, activity, as_of, move |s, a| {
        metrics::experiment(s, &experiment, outcome, a, as_of, control.as_deref())
            .map_err(|e| ApiError::bad_param("control", e.to_string()))
    })
    .await
}

async fn get_revenue(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["currency", "cohort", "days"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let currency = p.get("currency").map(str::to_owned);
    if let Some(c) = &currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::bad_param(
                "currency",
                format!("currency must be three uppercase letters (ISO 4217), not {c:?}"),
            ));
        }
    }
    let cohort = p.period("cohort")?.unwrap_or(Period::Month);
    let days = p.days_or(&metrics::DEFAULT_LTV_DAYS)?;
    respond(&state, activity, as_of, move |s, a| {
        Ok(metrics::revenue(
            s,
            a,
            as_of,
            currency.as_deref(),
            cohort,
            &days,
        ))
    })
    .await
}
