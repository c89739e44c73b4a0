//! The document resources (State, Activity Profile, Agent Profile) and the
//! Activities and Agents resources.

use actix_web::http::header;
use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::body::read_limited;
use super::error::ApiError;
use super::params::{
    header_str, http_date, iri_param, param_map, parse_agent_param, parse_query, parse_uuid_param,
    version_of, AgentParam,
};
use super::{auth, AppState};
use crate::auth::{Principal, Scope};
use crate::store::{DocumentScope, DocumentWrite, Precondition};
use crate::xapi::datatypes::{header_safe_media_type, parse_timestamp};
use crate::xapi::document::DocumentKind;
use crate::xapi::XapiVersion;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    for (path, kind) in [
        ("/activities/state", DocumentKind::State),
        ("/activities/profile", DocumentKind::ActivityProfile),
        ("/agents/profile", DocumentKind::AgentProfile),
    ] {
        cfg.service(
            web::resource(path)
                .app_data(kind)
                .route(read().to(document))
                .route(web::put().to(document))
                .route(web::post().to(document))
                .route(web::delete().to(document)),
        );
    }
    cfg.service(web::resource("/activities").route(read().to(get_activity)));
    cfg.service(web::resource("/agents").route(read().to(get_agent)));
}

/// Which parameters a document resource takes.
struct DocumentParams {
    scope: DocumentScope,
    id: Option<String>,
    since_ms: Option<i64>,
}

fn parse_document_params(
    kind: DocumentKind,
    params: &[(String, String)],
    version: XapiVersion,
) -> Result<DocumentParams, ApiError> {
    let allowed: &[&str] = match kind {
        DocumentKind::State => &["activityId", "agent", "registration", "stateId", "since"],
        DocumentKind::ActivityProfile => &["activityId", "profileId", "since"],
        DocumentKind::AgentProfile => &["agent", "profileId", "since"],
    };
    let map = param_map(params, |name| allowed.contains(&name))?;
    let required = |name: &str| {
        map.get(name)
            .copied()
            .ok_or_else(|| ApiError::bad_param(name, format!("the {name} parameter is required")))
    };
    let activity = match kind {
        DocumentKind::AgentProfile => String::new(),
        _ => iri_param("activityId", required("activityId")?)?,
    };
    let agent = match kind {
        DocumentKind::ActivityProfile => String::new(),
        DocumentKind::State => parse_agent_param(required("agent")?, AgentParam::AgentOrGroup)?,
        DocumentKind::AgentProfile => parse_agent_param(required("agent")?, AgentParam::AgentOnly)?,
    };
    let registration = map
        .get("registration")
        .map(|r| parse_uuid_param("registration", r).map(|u| u.to_string()))
        .transpose()?;
    let since_ms = map
        .get("since")
        .map(|s| {
            parse_timestamp(s, version)
                .map(|t| t.timestamp_millis())
                .ok_or_else(|| {
                    ApiError::bad_param(
                        "since",
                        "since must be an ISO 8601 timestamp with a time zone",
                    )
                })
        })
        .transpose()?;
    let id = map.get(kind.id_param()).map(|s| (*s).to_owned());
    Ok(DocumentParams {
        scope: DocumentScope {
            kind,
            activity,
            agent,
            registration,
        },
        id,
        since_ms,
    })
}

fn may_access(principal: &Principal, kind: DocumentKind, read: bool) -> bool {
    let own = match kind {
        DocumentKind::State => Scope::State,
        _ => Scope::Profile,
    };
    principal.has(Scope::All) || principal.has(own) || (read && principal.has(Scope::AllRead))
}

/// Parses an `If-Match` / `If-None-Match` value into unquoted ETags.
/// `If-Match` compares strongly (RFC 7232 3.1), so a weak tag there can
/// never match; `If-None-Match` compares weakly.
fn etags(value: Option<&str>, strong: bool) -> Option<Vec<String>> {
    value.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|t| !(strong && t.starts_with("W/")))
            .map(|t| t.trim_start_matches("W/").trim_matches('"').to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    })
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

async fn document(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kind = *req
        .app_data::<DocumentKind>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("route without a document kind")))?;
    let principal = auth::authenticate(&state, header_str(&req, "Authorization")).await?;
    let version = version_of(&req);
    let read = req.method() == Method::GET || req.method() == Method::HEAD;
    if !may_access(&principal, kind, read) {
        return Err(ApiError::Forbidden(format!(
            "this credential may not {} these documents (scope {})",
            if read { "read" } else { "change" },
            if kind == DocumentKind::State {
                "state"
            } else {
                "profile"
            }
        )));
    }
    let params = parse_document_params(kind, &parse_query(req.query_string())?, version)?;
    let precondition = Precondition {
        if_match: etags(header_str(&req, "If-Match"), true),
        if_none_match: etags(header_str(&req, "If-None-Match"), false),
        // Profiles always needed a precondition to overwrite; 2.0 extends
        // the rule to State documents.
        required_for_existing: req.method() == Method::PUT
            && (kind != DocumentKind::State || version.is_2_0()),
    };
    let store = &state.store;
    if read {
        return match params.id {
            Some(id) => {
                let doc = store
                    .document(&params.scope, &id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("no document {id:?} here")))?;
                Ok(HttpResponse::Ok()
                    .content_type(header_safe_media_type(&doc.content_type))
                    .insert_header((header::ETAG, quoted(&doc.etag)))
                    .insert_header((header::LAST_MODIFIED, http_date(doc.updated_ms)))
                    .body(doc.content))
            }
            None => {
                let listed = store.document_ids(&params.scope, params.since_ms).await?;
                let newest = listed.iter().map(|(_, updated)| *updated).max();
                let ids: Vec<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
                let mut response = HttpResponse::Ok();
                if let Some(ms) = newest {
                    response.insert_header((header::LAST_MODIFIED, http_date(ms)));
                }
                Ok(response.json(ids))
            }
        };
    }
    if params.since_ms.is_some() {
        return Err(ApiError::bad_param(
            "since",
            "since is only allowed when listing documents",
        ));
    }
    if req.method() == Method::DELETE {
        if params.id.is_none() && kind != DocumentKind::State {
            return Err(ApiError::bad_param(
                "profileId",
                "the profileId parameter is required",
            ));
        }
        store
            .delete_documents(&params.scope, params.id.as_deref(), precondition)
            .await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let id = params.id.ok_or_else(|| {
        let name = kind.id_param();
        ApiError::bad_param(name, format!("the {name} parameter is required"))
    })?;
    // xAPI 1.0.3 (Communication 3.1): a client MUST send If-Match or
    // If-None-Match with a profile PUT, and the LRS MUST answer 409 when the
    // document exists (the store checks that in its write). For a new
    // document the specification says nothing; the ADL conformance suite
    // expects 400, some client libraries (xAPI.js) expect it created. The
    // default follows the ADL suite; `allow_profile_put_without_precondition`
    // creates it.
    let unconditional = precondition.if_match.is_none() && precondition.if_none_match.is_none();
    if req.method() == Method::PUT
        && unconditional
        && kind != DocumentKind::State
        && !version.is_2_0()
        && !state.limits.allow_profile_put_without_precondition
        && store.document(&params.scope, &id).await?.is_none()
    {
        return Err(ApiError::bad_request(
            "a PUT of a profile document needs If-None-Match: * (to create) or If-Match (to replace)",
        ));
    }
    let content = read_limited(payload, &state.limits).await?.to_vec();
    let content_type = header_str(&req, "Content-Type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let write = if req.method() == Method::POST {
        DocumentWrite::Merge {
            content_type,
            content,
        }
    } else {
        DocumentWrite::Replace {
            content_type,
            content,
        }
    };
    let doc = store
        .put_document(&params.scope, &id, write, precondition)
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, quoted(&doc.etag)))
        .finish())
}

fn may_read_definitions(p: &Principal) -> bool {
    [
        Scope::All,
        Scope::AllRead,
        Scope::StatementsRead,
        Scope::StatementsReadMine,
        Scope::Define,
        Scope::Profile,
        Scope::State,
    ]
    .iter()
    .any(|s| p.has(*s))
}

async fn get_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate(&state, header_str(&req, "Authorization")).await?;
    if !may_read_definitions(&principal) {
        return Err(ApiError::Forbidden(
            "this credential may not read activities".into(),
        ));
    }
    let params = parse_query(req.query_string())?;
    let mut activity_id = None;
    for (name, value) in &params {
        match name.as_str() {
            "activityId" => activity_id = Some(iri_param("activityId", value)?),
            other => {
                return Err(ApiError::bad_param(
                    other,
                    format!("unknown parameter {other:?}"),
                ))
            }
        }
    }
    let id = activity_id
        .ok_or_else(|| ApiError::bad_param("activityId", "the activityId parameter is required"))?;
    let mut activity = json!({"objectType": "Activity", "id": id});
    if let Some(definition) = state.store.activity_definition(&id).await? {
        activity["definition"] = definition;
    }
    Ok(HttpResponse::Ok().json(activity))
}

/// The Agents Resource: a Person object for an Agent. Trellis does not link
/// identities across IFIs, so the Person carries the Agent's own IFI and name.
async fn get_agent(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let principal = auth::authenticate(&state, header_str(&req, "Authorization")).await?;
    if !may_read_definitions(&principal) {
        return Err(ApiError::Forbidden(
            "this credential may not read agents".into(),
        ));
    }
    let params = parse_query(req.query_string())?;
    let mut agent = None;
    for (name, value) in &params {
        match name.as_str() {
            "agent" => {
                parse_agent_param(value, AgentParam::AgentOnly)?;
                agent = Some(
                    serde_json::from_str::<Value>(value)
                        .map_err(|_| ApiError::bad_param("agent", "agent must be JSON"))?,
                );
            }
            other => {
                return Err(ApiError::bad_param(
                    other,
                    format!("unknown parameter {other:?}"),
                ))
            }
        }
    }
    let agent =
        agent.ok_or_else(|| ApiError::bad_param("agent", "the agent parameter is required"))?;
    let mut person = json!({"objectType": "Person"});
    for key in ["name", "mbox", "mbox_sha1sum", "openid", "account"] {
        if let Some(value) = agent.get(key) {
            person[key] = Value::Array(vec![value.clone()]);
        }
    }
    Ok(HttpResponse::Ok().json(person))
}
