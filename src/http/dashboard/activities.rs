//! `GET /analytics/v1/activities`: the Activities the analytics hold as
//! scopes with learners enrolled as of `as_of` (default now), most enrolled
//! first, each with the name from its canonical Activity definition. The
//! dashboard's scope picker reads it; like every analytics endpoint it
//! needs read access to all statements.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::super::auth::authenticate_request;
use super::super::error::ApiError;
use super::super::params::{param_map, parse_query};
use super::super::AppState;
use crate::auth::ReadAccess;
use crate::cx::metrics::activity_scopes;
use crate::cx::period::parse_rfc3339;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// The display name of a definition: its `en-US`, `en`, else first
/// language entry.
fn display_name(definition: &Value) -> Option<String> {
    let names = definition.get("name")?.as_object()?;
    ["en-US", "en", "en-GB"]
        .iter()
        .find_map(|l| names.get(*l))
        .or_else(|| names.values().next())
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub async fn get_activities(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = authenticate_request(&state, &req).await?;
    if principal.statement_read_access() != ReadAccess::Everything {
        return Err(ApiError::Forbidden(
            "analytics need the scope statements/read, all/read or all".into(),
        ));
    }
    if !state.cx.is_loaded() {
        return Err(ApiError::Unavailable(
            "the analytics state is still loading; retry shortly".into(),
        ));
    }
    let pairs = parse_query(req.query_string())?;
    let params = param_map(&pairs, |name| name == "limit" || name == "as_of")?;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_param("limit", format!("limit must be 1 to {MAX_LIMIT}"))
            })?,
    };
    // Event times in the analytics state are microseconds.
    let as_of = match params.get("as_of") {
        None => chrono::Utc::now().timestamp_micros(),
        Some(v) => parse_rfc3339(v).ok_or_else(|| {
            ApiError::bad_param(
                "as_of",
                format!("as_of must be an RFC 3339 time, not {v:?}"),
            )
        })?,
    };
    // Computed from the latest snapshot on the blocking pool, as every
    // analytics answer is.
    let snapshot = state.cx.snapshot();
    let ranked = web::block(move || activity_scopes(&snapshot.state, as_of))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("analytics computation: {e}")))?;
    let mut activities = Vec::with_capacity(ranked.len());
    for (id, enrolled) in ranked.into_iter().take(limit) {
        let definition = state.store.activity_definition(&id).await?;
        let name = definition.as_ref().and_then(display_name);
        let kind = definition
            .as_ref()
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        activities.push(json!({"id": id, "name": name, "type": kind, "enrolled": enrolled}));
    }
    Ok(HttpResponse::Ok().json(json!({"activities": activities})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_prefer_english_then_any_language() {
        let d = json!({"name": {"fr": "Cours", "en-US": "Course"}});
        assert_eq!(display_name(&d).as_deref(), Some("Course"));
        let d = json!({"name": {"fr": "Cours"}});
        assert_eq!(display_name(&d).as_deref(), Some("Cours"));
        assert_eq!(display_name(&json!({})), None);
        assert_eq!(display_name(&json!({"name": "x"})), None);
    }
}
