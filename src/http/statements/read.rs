//! GET and HEAD: one statement or a page of a query, as JSON or as
//! multipart/mixed with the attachments' content, in the requested format.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use super::more::more_link;
use super::ownership::{may_read, not_found};
use super::query::{parse_get, GetRequest};
use crate::auth::{Principal, ReadAccess};
use crate::http::error::ApiError;
use crate::http::params::{header_str, http_date, parse_query, version_of};
use crate::http::{auth, multipart, set_header, AppState};
use crate::store::{Cursor, StatementPage, StoredStatement};
use crate::xapi::format::{self, Format};
use crate::xapi::XapiVersion;

pub(super) async fn get_statements(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate_request(&state, &req).await;
    let params = parse_query(req.query_string());
    let languages =
        format::accept_language(header_str(&req, "Accept-Language").unwrap_or_default());
    let principal = principal?;
    get_inner(&state, &principal, version_of(&req), &params?, &languages).await
}

pub(super) async fn get_inner(
    state: &AppState,
    principal: &Principal,
    version: XapiVersion,
    params: &[(String, String)],
    languages: &[String],
) -> Result<HttpResponse, ApiError> {
    let access = principal.statement_read_access();
    if access == ReadAccess::Nothing {
        return Err(ApiError::Forbidden(
            "this credential may not read statements (scope statements/read)".into(),
        ));
    }
    match parse_get(params, version, state.limits.max_page)? {
        GetRequest::Single {
            id,
            voided,
            format,
            attachments,
        } => {
            let stored = state
                .store
                .statement(id)
                .await?
                .filter(|s| s.voided == voided)
                .ok_or_else(|| not_found(voided))?;
            let mut value: Value =
                serde_json::from_str(&stored.json).map_err(|e| ApiError::Internal(e.into()))?;
            if !may_read(principal, &value) {
                return Err(not_found(voided));
            }
            format::apply(&mut value, format, languages);
            let json = serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.into()))?;
            let mut response = respond(state, json, &[value], attachments).await?;
            set_header(&mut response, "Last-Modified", &http_date(stored.stored_ms));
            Ok(response)
        }
        GetRequest::Query {
            mut query,
            format,
            attachments,
            params,
        } => {
            if access == ReadAccess::OnlyMine {
                query.authority_key = Some(principal.key.clone());
            }
            let page = within_bytes(
                state.store.query(&query).await?,
                state.limits.max_page_bytes,
            );
            let more = page.next.map(|c| more_link(&params, c)).unwrap_or_default();
            let newest = page.statements.iter().map(|s| s.stored_ms).max();
            let (json, values) =
                statement_result(&page.statements, format, languages, attachments, &more)?;
            let mut response = respond(state, json, &values, attachments).await?;
            if let Some(ms) = newest {
                set_header(&mut response, "Last-Modified", &http_date(ms));
            }
            Ok(response)
        }
    }
}

/// Cuts `page` after the statements whose stored JSON fits in `max_bytes`
/// (at least one is kept), so a page of large statements costs bounded
/// memory whatever its `limit`; the `more` cursor continues after the last
/// statement kept. Without a cursor the page held every match up to the
/// query's snapshot, so the largest `seq` it holds bounds the rest.
fn within_bytes(mut page: StatementPage, max_bytes: usize) -> StatementPage {
    let mut total = 0usize;
    let Some(cut) = page.statements.iter().position(|s| {
        total = total.saturating_add(s.json.len());
        total > max_bytes
    }) else {
        return page;
    };
    let keep = cut.max(1);
    if keep >= page.statements.len() {
        return page;
    }
    let snapshot_seq = page.next.map_or_else(
        || page.statements.iter().map(|s| s.seq).max().unwrap_or(0),
        |c| c.snapshot_seq,
    );
    page.statements.truncate(keep);
    page.next = page.statements.last().map(|s| Cursor {
        after_seq: s.seq,
        snapshot_seq,
    });
    page
}

/// The StatementResult JSON; `exact` pages are assembled from the stored
/// text without re-serialising. Returns the parsed statements too when
/// their attachments are needed.
fn statement_result(
    statements: &[StoredStatement],
    format: Format,
    languages: &[String],
    attachments: bool,
    more: &str,
) -> Result<(String, Vec<Value>), ApiError> {
    let mut values = Vec::new();
    let mut json =
        String::with_capacity(statements.iter().map(|s| s.json.len() + 1).sum::<usize>() + 64);
    json.push_str("{\"statements\":[");
    for (i, s) in statements.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        if format == Format::Exact && !attachments {
            json.push_str(&s.json);
            continue;
        }
        let mut value: Value =
            serde_json::from_str(&s.json).map_err(|e| ApiError::Internal(e.into()))?;
        format::apply(&mut value, format, languages);
        json.push_str(&serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.into()))?);
        values.push(value);
    }
    json.push_str("],\"more\":");
    json.push_str(&Value::String(more.to_owned()).to_string());
    json.push('}');
    Ok((json, values))
}

/// A JSON response, or multipart/mixed with the attachments' content.
async fn respond(
    state: &AppState,
    json: String,
    statements: &[Value],
    attachments: bool,
) -> Result<HttpResponse, ApiError> {
    if !attachments {
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(json));
    }
    // Only what these statements' own requests (or credentials) carried:
    // a declared hash alone never reaches another credential's content.
    let ids: Vec<Uuid> = statements
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str))
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect();
    let content = state.store.attachments(&ids).await?;
    let (content_type, body) = multipart::build_response(&json, &content);
    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}
