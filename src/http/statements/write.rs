//! PUT and POST: the request mapped to an `ingest::Submission` and its
//! attachment parts, the prepared batch stored, and the statements counted
//! as stored or rejected (`trellis_statements_*_total`).

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::alternate::alternate_syntax;
use super::ownership::check_voiding;
use crate::auth::Principal;
use crate::http::body::read_limited;
use crate::http::error::ApiError;
use crate::http::multipart;
use crate::http::params::{header_str, parse_query, parse_uuid_param, version_of};
use crate::http::{auth, AppState};
use crate::ingest::{self, Options, Sender, Submission};
use crate::xapi::datatypes::media_type;
use crate::xapi::XapiVersion;

pub(super) async fn put_statements(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate(&state, header_str(&req, "Authorization"))
        .await
        .map_err(|e| rejected(&state, e))?;
    let params = parse_query(req.query_string()).map_err(|e| rejected(&state, e))?;
    let body = read_limited(payload, &state.limits)
        .await
        .map_err(|e| rejected(&state, e))?;
    let content_type = header_str(&req, "Content-Type")
        .unwrap_or_default()
        .to_owned();
    put_inner(
        &state,
        &principal,
        version_of(&req),
        &params,
        &content_type,
        body,
    )
    .await
}

pub(super) async fn put_inner(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    params: &[(String, String)],
    content_type: &str,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut statement_id = None;
    for (name, value) in params {
        match name.as_str() {
            "statementId" => statement_id = Some(parse_uuid_param("statementId", value)?),
            other => {
                return Err(ApiError::bad_param(
                    other,
                    format!("unknown parameter {other:?} for PUT /statements"),
                ))
            }
        }
    }
    let statement_id = statement_id.ok_or_else(|| {
        ApiError::bad_param(
            "statementId",
            "PUT /statements requires the statementId parameter",
        )
    })?;
    store_statements(
        state,
        principal,
        version,
        content_type,
        body,
        Some(statement_id),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) async fn post_statements(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = parse_query(req.query_string())?;
    if params.iter().any(|(k, _)| k == "method") {
        // The 1.0.3 alternate request syntax may carry its credentials in
        // the form body: when the header has them, they are checked first.
        if let Some(authorization) = header_str(&req, "Authorization") {
            auth::authenticate(&state, Some(authorization))
                .await
                .map_err(|e| rejected(&state, e))?;
        }
        let body = read_limited(payload, &state.limits)
            .await
            .map_err(|e| rejected(&state, e))?;
        return alternate_syntax(&req, &state, &params, body).await;
    }
    // Credentials before the body: an unauthenticated client never makes
    // the server read (or buffer) what it sends.
    let principal = auth::authenticate(&state, header_str(&req, "Authorization"))
        .await
        .map_err(|e| rejected(&state, e))?;
    let body = read_limited(payload, &state.limits)
        .await
        .map_err(|e| rejected(&state, e))?;
    if let Some((name, _)) = params.first() {
        return Err(ApiError::bad_param(
            name,
            format!("unknown parameter {name:?} for POST /statements"),
        ));
    }
    let content_type = header_str(&req, "Content-Type")
        .unwrap_or_default()
        .to_owned();
    post_inner(&state, &principal, version_of(&req), &content_type, body).await
}

pub(super) async fn post_inner(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    content_type: &str,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ids = store_statements(state, principal, version, content_type, body, None).await?;
    Ok(HttpResponse::Ok().json(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()))
}

/// Parses, validates and stores the statements of a PUT or POST body, and
/// counts them as stored or rejected.
async fn store_statements(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    content_type: &str,
    body: web::Bytes,
    put_id: Option<Uuid>,
) -> Result<Vec<Uuid>, ApiError> {
    let mut attempted = 0;
    let result = parse_and_store(
        state,
        principal,
        version,
        content_type,
        body,
        put_id,
        &mut attempted,
    )
    .await;
    match &result {
        Ok(ids) => state.metrics.statements_stored.inc_by(ids.len() as u64),
        Err(e) => state
            .metrics
            .record_rejected(e.reject_reason(), attempted as u64),
    }
    result
}

/// A write refused before its statements could be read (credentials, body
/// size): counted as one rejected statement.
fn rejected(state: &AppState, error: ApiError) -> ApiError {
    state.metrics.record_rejected(error.reject_reason(), 1);
    error
}

/// Maps the request to `ingest` and stores what it prepares. `attempted`
/// is the number of statements the body holds, once it is known.
async fn parse_and_store(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    content_type: &str,
    body: web::Bytes,
    put_id: Option<Uuid>,
    attempted: &mut usize,
) -> Result<Vec<Uuid>, ApiError> {
    let sender = Sender::for_principal(principal, &state.public_url)?;
    let (json, parts) = match media_type(content_type).as_str() {
        "application/json" => (body, Vec::new()),
        "multipart/mixed" => {
            let parsed = multipart::parse(content_type, body).await?;
            (parsed.statements, parsed.parts)
        }
        "" => return Err(ApiError::bad_param("Content-Type", "a Content-Type of application/json or multipart/mixed is required")),
        other => {
            return Err(ApiError::bad_param(
                "Content-Type",
                format!("Content-Type {other} is not accepted here; use application/json or multipart/mixed"),
            ))
        }
    };
    let submission = match put_id {
        Some(id) => Submission::put(&json, id)?,
        None => Submission::post(&json)?,
    };
    *attempted = submission.len();
    let options = Options::statement_resource(version, sender, state.limits.max_batch);
    let batch = ingest::prepare(submission, parts, &options)?;
    check_voiding(state, principal, &batch.statements).await?;
    Ok(state
        .store
        .insert_statements(batch.statements, batch.attachments)
        .await?)
}
