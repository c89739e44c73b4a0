//! `GET /analytics/v1/activities`: the Activities the analytics hold as
//! scopes with learners enrolled as of `as_of` (default now), most enrolled
//! first, each with the name from its canonical Activity definition. The
//! dashboard's scope picker reads it; like every analytics endpoint it
//! needs read access to all statements.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{compute, Params, MAX_LIMIT};
use crate::cx::metrics::activity_scopes;
use crate::http::error::ApiError;
use crate::http::AppState;

const DEFAULT_LIMIT: usize = 100;

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
    let p = Params::read(&req, &state, &["limit"]).await?;
    if p.get("activity").is_some() {
        return Err(ApiError::bad_param(
            "activity",
            "the activity list takes no activity: it lists them all",
        ));
    }
    let as_of = p.as_of()?;
    let limit = match p.number("limit", MAX_LIMIT)? {
        None => DEFAULT_LIMIT,
        Some(0) => {
            return Err(ApiError::bad_param(
                "limit",
                format!("limit must be 1 to {MAX_LIMIT}"),
            ))
        }
        Some(n) => n,
    };
    let ranked = compute(&state, move |s| activity_scopes(s, as_of)).await?;
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
