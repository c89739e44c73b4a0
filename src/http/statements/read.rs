//! GET and HEAD: one statement or a page of a query, as JSON or as
//! multipart/mixed with the attachments' content, in the requested format.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::more::more_link;
use super::query::{parse_get, GetRequest};
use crate::auth::{Principal, ReadAccess};
use crate::http::error::ApiError;
use crate::http::params::{header_str, http_date, parse_query, version_of};
use crate::http::{auth, multipart, set_header, AppState};
use crate::store::StoredStatement;
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
            let found = state
                .store
                .statement(id)
                .await?
                .filter(|s| s.voided == voided);
            let stored = found.ok_or_else(|| {
                ApiError::NotFound(if voided {
                    format!("no voided statement {id}")
                } else {
                    format!("no statement {id}")
                })
            })?;
            let mut value: Value =
                serde_json::from_str(&stored.json).map_err(|e| ApiError::Internal(e.into()))?;
            if access == ReadAccess::OnlyMine && !authored_by(&value, principal) {
                return Err(ApiError::NotFound(
                    "no statement with that id was sent with this credential".into(),
                ));
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
            let page = state.store.query(&query).await?;
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

fn authored_by(statement: &Value, principal: &Principal) -> bool {
    statement
        .pointer("/authority/account/name")
        .and_then(Value::as_str)
        == Some(principal.key.as_str())
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
    let mut hashes: Vec<String> = Vec::new();
    for s in statements {
        for a in s
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(h) = a.get("sha2").and_then(Value::as_str) {
                let h = h.to_ascii_lowercase();
                if !hashes.contains(&h) {
                    hashes.push(h);
                }
            }
        }
    }
    let content = state.store.attachments(&hashes).await?;
    let (content_type, body) = multipart::build_response(&json, &content);
    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}
