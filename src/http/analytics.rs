//! The analytics API, `/analytics/v1/*`: the CX metrics answered from the
//! aggregated state (`cx`), as of an instant. Every endpoint requires read
//! access to all statements (`statements/read`, `all/read` or `all`);
//! `statements/read/mine` is refused with 403 because metrics aggregate
//! other learners' statements.

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
            .route("/churn-risk", web::get().to(get_churn_risk)),
    );
}

/// An authorised request's parameters.
struct Params {
    map: HashMap<String, String>,
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
        let pairs = parse_query(req.query_string())?;
        let map = param_map(&pairs, |name| {
            name == "activity" || name == "as_of" || extra.contains(&name)
        })?
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Params { map })
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
        let Some(v) = self.get("days") else {
            return Ok(DEFAULT_RETENTION_DAYS.to_vec());
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
    let cx = &state.cx;
    let result = metrics::completion(&cx.read(), &cx.settings, &activity, as_of, cohort);
    answer(Some(&activity), as_of, result)
}

async fn get_retention(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["cohort", "days"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let cohort = p.period("cohort")?.unwrap_or(Period::Week);
    let days = p.days()?;
    let result = metrics::retention(&state.cx.read(), activity.as_deref(), as_of, cohort, &days);
    answer(activity.as_deref(), as_of, result)
}

async fn get_time_to_competency(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["threshold"]).await?;
    let (activity, as_of) = (p.required_activity()?, p.as_of()?);
    let cx = &state.cx;
    let threshold = metrics::threshold_for(&cx.settings, &activity, p.threshold()?);
    let result = metrics::time_to_competency(&cx.read(), &cx.settings, &activity, as_of, threshold);
    answer(Some(&activity), as_of, result)
}

async fn get_engagement(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period", "since", "until"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let period = p.period("period")?.unwrap_or(Period::Week);
    let (since, until) = p.range()?;
    let result = metrics::engagement(
        &state.cx.read(),
        activity.as_deref(),
        as_of,
        period,
        since,
        until,
    )?;
    answer(activity.as_deref(), as_of, result)
}

async fn get_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period", "since", "until"]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let period = p.period("period")?.unwrap_or(Period::Day);
    let (since, until) = p.range()?;
    let result = metrics::activity(
        &state.cx.read(),
        activity.as_deref(),
        as_of,
        period,
        since,
        until,
    )?;
    answer(activity.as_deref(), as_of, result)
}

async fn get_surveys(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &["period"]).await?;
    let (activity, as_of, period) = (p.activity()?, p.as_of()?, p.period("period")?);
    let cx = &state.cx;
    let result = metrics::surveys(&cx.read(), &cx.settings, activity.as_deref(), as_of, period);
    answer(activity.as_deref(), as_of, result)
}

async fn get_time_to_first_value(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = Params::read(&req, &state, &[]).await?;
    let (activity, as_of) = (p.activity()?, p.as_of()?);
    let result = metrics::time_to_first_value(&state.cx.read(), activity.as_deref(), as_of);
    answer(activity.as_deref(), as_of, result)
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
    let cx = &state.cx;
    let result = metrics::churn_risk(
        &cx.read(),
        &cx.settings,
        activity.as_deref(),
        as_of,
        inactive,
        churned,
        limit,
        offset,
    );
    answer(activity.as_deref(), as_of, result)
}
