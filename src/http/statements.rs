//! The Statement Resource (`/xapi/statements`): PUT, POST, GET/HEAD, and the
//! 1.0.3 alternate request syntax.

use std::collections::HashMap;

use actix_web::{guard, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use uuid::Uuid;

use super::body::read_limited;
use super::error::ApiError;
use super::multipart;
use super::params::{
    header_str, http_date, iri_param, param_map, parse_agent_param, parse_query, parse_uuid_param,
    version_of, AgentParam,
};
use super::{auth, set_header, AppState, VERSION_HEADER};
use crate::auth::{Principal, ReadAccess};
use crate::ingest::{self, Options, Sender, Submission};
use crate::store::{Cursor, StatementQuery, StoredStatement};
use crate::xapi::datatypes::{format_timestamp, media_type, parse_timestamp};
use crate::xapi::format::{self, Format};
use crate::xapi::XapiVersion;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/statements")
            .route(
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(get_statements),
            )
            .route(web::put().to(put_statements))
            .route(web::post().to(post_statements)),
    );
}

/// `X-Experience-API-Consistent-Through` for every response of the
/// Statement Resource (required "regardless of the code returned").
pub async fn consistent_through_for(req: &HttpRequest) -> Option<String> {
    if !req.path().trim_end_matches('/').ends_with("/statements") {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    let ms = state.store.consistent_through().await.ok()?;
    Some(format_ms(ms))
}

fn format_ms(ms: i64) -> String {
    format_timestamp(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

// ---------------------------------------------------------------- writes

async fn put_statements(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate(&state, header_str(&req, "Authorization"))
        .await
        .map_err(|e| rejected(&state, e))?;
    let params = parse_query(req.query_string()).map_err(|e| rejected(&state, e))?;
    let body = read_limited(payload, state.limits.max_body_bytes)
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

async fn put_inner(
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

async fn post_statements(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = parse_query(req.query_string())?;
    let body = read_limited(payload, state.limits.max_body_bytes)
        .await
        .map_err(|e| rejected(&state, e))?;
    if params.iter().any(|(k, _)| k == "method") {
        return alternate_syntax(&req, &state, &params, body).await;
    }
    let principal = auth::authenticate(&state, header_str(&req, "Authorization"))
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

async fn post_inner(
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
    Ok(state
        .store
        .insert_statements(batch.statements, batch.attachments)
        .await?)
}

// ---------------------------------------------------------------- reads

async fn get_statements(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate(&state, header_str(&req, "Authorization")).await;
    let params = parse_query(req.query_string());
    let languages =
        format::accept_language(header_str(&req, "Accept-Language").unwrap_or_default());
    let principal = principal?;
    get_inner(&state, &principal, version_of(&req), &params?, &languages).await
}

/// The parsed parameters of a statement GET.
#[derive(Debug)]
enum GetRequest {
    Single {
        id: Uuid,
        voided: bool,
        format: Format,
        attachments: bool,
    },
    Query {
        query: Box<StatementQuery>,
        format: Format,
        attachments: bool,
        params: String,
    },
}

const QUERY_PARAMS: [&str; 13] = [
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "more",
];

fn parse_get(
    params: &[(String, String)],
    version: XapiVersion,
    max_page: usize,
) -> Result<GetRequest, ApiError> {
    let map = param_map(params, |name| {
        name == "statementId" || name == "voidedStatementId" || QUERY_PARAMS.contains(&name)
    })?;
    if let Some(token) = map.get("more") {
        if map.len() > 1 {
            return Err(ApiError::bad_param(
                "more",
                "a more link takes no other parameters",
            ));
        }
        return resume(token, version, max_page);
    }
    let format = match map.get("format") {
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::bad_param("format", "format must be ids, exact or canonical")
        })?,
        None => Format::Exact,
    };
    let attachments = bool_param(&map, "attachments")?;
    for single in ["statementId", "voidedStatementId"] {
        if let Some(value) = map.get(single) {
            if let Some(other) = map
                .keys()
                .find(|k| !matches!(**k, "format" | "attachments") && **k != single)
            {
                return Err(ApiError::bad_param(
                    other,
                    format!("{single} can only be combined with format and attachments"),
                ));
            }
            let id = parse_uuid_param(single, value)?;
            return Ok(GetRequest::Single {
                id,
                voided: single == "voidedStatementId",
                format,
                attachments,
            });
        }
    }
    let mut query = StatementQuery {
        limit: max_page,
        ..StatementQuery::default()
    };
    if let Some(agent) = map.get("agent") {
        query.agent = Some(parse_agent_param(agent, AgentParam::AgentOrGroup)?);
    }
    if let Some(verb) = map.get("verb") {
        query.verb = Some(iri_param("verb", verb)?);
    }
    if let Some(activity) = map.get("activity") {
        query.activity = Some(iri_param("activity", activity)?);
    }
    if let Some(registration) = map.get("registration") {
        query.registration = Some(parse_uuid_param("registration", registration)?.to_string());
    }
    query.related_agents = bool_param(&map, "related_agents")?;
    query.related_activities = bool_param(&map, "related_activities")?;
    query.ascending = bool_param(&map, "ascending")?;
    for (name, slot) in [
        ("since", &mut query.since_ms),
        ("until", &mut query.until_ms),
    ] {
        if let Some(value) = map.get(name) {
            let t = parse_timestamp(value, version).ok_or_else(|| {
                ApiError::bad_param(
                    name,
                    format!("{name} must be an ISO 8601 timestamp with a time zone"),
                )
            })?;
            *slot = Some(t.timestamp_millis());
        }
    }
    if let Some(limit) = map.get("limit") {
        let n: usize = limit
            .parse()
            .map_err(|_| ApiError::bad_param("limit", "limit must be a non-negative integer"))?;
        query.limit = if n == 0 { max_page } else { n.min(max_page) };
    }
    let params = serde_urlencoded::to_string(params).unwrap_or_default();
    Ok(GetRequest::Query {
        query: Box::new(query),
        format,
        attachments,
        params,
    })
}

fn bool_param(map: &HashMap<&str, &str>, name: &str) -> Result<bool, ApiError> {
    match map.get(name) {
        None => Ok(false),
        Some(&"true") => Ok(true),
        Some(&"false") => Ok(false),
        Some(_) => Err(ApiError::bad_param(
            name,
            format!("{name} must be true or false"),
        )),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MoreToken {
    /// The original query string.
    p: String,
    a: i64,
    s: i64,
}

fn more_link(params: &str, cursor: Cursor) -> String {
    let token = MoreToken {
        p: params.to_owned(),
        a: cursor.after_seq,
        s: cursor.snapshot_seq,
    };
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default());
    format!("/xapi/statements?more={encoded}")
}

fn resume(token: &str, version: XapiVersion, max_page: usize) -> Result<GetRequest, ApiError> {
    let invalid = || ApiError::bad_param("more", "the more token is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let token: MoreToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let params = parse_query(&token.p)?;
    match parse_get(&params, version, max_page)? {
        GetRequest::Query {
            mut query,
            format,
            attachments,
            params,
        } => {
            query.after_seq = Some(token.a);
            query.snapshot_seq = Some(token.s);
            Ok(GetRequest::Query {
                query,
                format,
                attachments,
                params,
            })
        }
        GetRequest::Single { .. } => Err(invalid()),
    }
}

async fn get_inner(
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

// ------------------------------------------------- alternate request syntax

/// Form fields that stand for request headers (Communication 1.3).
const HEADER_FIELDS: [&str; 6] = [
    "Authorization",
    "X-Experience-API-Version",
    "Content-Type",
    "Content-Length",
    "If-Match",
    "If-None-Match",
];

/// xAPI 1.0.3 alternate request syntax: `POST ?method=M` with a form body
/// carrying headers, parameters and the content. Not part of xAPI 2.0.
async fn alternate_syntax(
    req: &HttpRequest,
    state: &AppState,
    query: &[(String, String)],
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if query.len() != 1 {
        return Err(ApiError::bad_param(
            "method",
            "the alternate request syntax allows no query parameter other than method",
        ));
    }
    let method = query[0].1.clone();
    if media_type(header_str(req, "Content-Type").unwrap_or_default())
        != "application/x-www-form-urlencoded"
    {
        return Err(ApiError::bad_param(
            "Content-Type",
            "the alternate request syntax requires an application/x-www-form-urlencoded body",
        ));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| ApiError::bad_request(format!("the form body is not URL-encoded: {e}")))?;
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut params = Vec::new();
    let mut content = None;
    for (name, value) in form {
        if let Some(h) = HEADER_FIELDS.iter().find(|h| h.eq_ignore_ascii_case(&name)) {
            headers.insert((*h).to_owned(), value);
        } else if name == "content" {
            content = Some(value);
        } else {
            params.push((name, value));
        }
    }
    let header_or_form = |name: &str| {
        headers
            .get(name)
            .cloned()
            .or_else(|| header_str(req, name).map(str::to_owned))
    };
    let version_text = header_or_form(VERSION_HEADER).ok_or_else(|| {
        ApiError::bad_param(
            VERSION_HEADER,
            format!("the {VERSION_HEADER} header is required"),
        )
    })?;
    let version = XapiVersion::parse_header(&version_text).ok_or_else(|| {
        ApiError::bad_param(
            VERSION_HEADER,
            format!("{VERSION_HEADER} {version_text:?} is not supported"),
        )
    })?;
    if version.is_2_0() {
        return Err(ApiError::bad_param(
            "method",
            "xAPI 2.0 does not allow the alternate request syntax",
        ));
    }
    let principal = auth::authenticate(state, header_or_form("Authorization").as_deref()).await?;
    let content_type = headers
        .get("Content-Type")
        .cloned()
        .unwrap_or_else(|| "application/json".into());
    let mut response = match method.as_str() {
        "GET" => {
            if content.is_some() {
                return Err(ApiError::bad_param("content", "a GET carries no content"));
            }
            let languages =
                format::accept_language(header_str(req, "Accept-Language").unwrap_or_default());
            get_inner(state, &principal, version, &params, &languages).await?
        }
        "PUT" | "POST" => {
            let content = content.ok_or_else(|| {
                ApiError::bad_param(
                    "content",
                    "the alternate request syntax needs a content form field",
                )
            })?;
            let body = web::Bytes::from(content);
            if method == "PUT" {
                put_inner(state, &principal, version, &params, &content_type, body).await?
            } else {
                if let Some((name, _)) = params.first() {
                    return Err(ApiError::bad_param(
                        name,
                        format!("unknown parameter {name:?} for POST /statements"),
                    ));
                }
                post_inner(state, &principal, version, &content_type, body).await?
            }
        }
        other => {
            return Err(ApiError::bad_param(
                "method",
                format!("method {other:?} is not supported on /statements"),
            ))
        }
    };
    set_header(&mut response, VERSION_HEADER, version.header_value());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn statement_id_cannot_be_combined_with_filters() {
        let id = Uuid::new_v4().to_string();
        assert!(parse_get(
            &params(&[("statementId", &id), ("format", "ids")]),
            XapiVersion::V2_0,
            10
        )
        .is_ok());
        assert!(parse_get(
            &params(&[("statementId", &id), ("limit", "1")]),
            XapiVersion::V2_0,
            10
        )
        .is_err());
    }

    #[test]
    fn parameter_names_are_case_sensitive() {
        let err = parse_get(&params(&[("Limit", "1")]), XapiVersion::V2_0, 10).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest { path: Some(p), .. } if p == "Limit"));
    }

    #[test]
    fn more_tokens_resume_the_same_query() {
        let p = params(&[("verb", "http://x.io/v"), ("limit", "2")]);
        let GetRequest::Query {
            params: original, ..
        } = parse_get(&p, XapiVersion::V2_0, 10).unwrap()
        else {
            panic!()
        };
        let link = more_link(
            &original,
            Cursor {
                after_seq: 7,
                snapshot_seq: 9,
            },
        );
        let token = link.strip_prefix("/xapi/statements?more=").unwrap();
        let GetRequest::Query { query, .. } =
            parse_get(&params(&[("more", token)]), XapiVersion::V2_0, 10).unwrap()
        else {
            panic!()
        };
        assert_eq!(query.verb.as_deref(), Some("http://x.io/v"));
        assert_eq!(query.limit, 2);
        assert_eq!((query.after_seq, query.snapshot_seq), (Some(7), Some(9)));
    }

    #[test]
    fn limit_zero_means_the_server_maximum() {
        let GetRequest::Query { query, .. } =
            parse_get(&params(&[("limit", "0")]), XapiVersion::V2_0, 25).unwrap()
        else {
            panic!()
        };
        assert_eq!(query.limit, 25);
    }
}
