//! xAPI 1.0.3 alternate request syntax (Communication 1.3): `POST
//! ?method=M` with a form body carrying headers, parameters and content,
//! answered by the same code as the ordinary request. Not part of xAPI 2.0.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};

use super::read::get_inner;
use super::write::{post_inner, put_inner};
use crate::http::error::ApiError;
use crate::http::params::header_str;
use crate::http::{auth, set_header, AppState, VERSION_HEADER};
use crate::xapi::datatypes::media_type;
use crate::xapi::format;
use crate::xapi::XapiVersion;

/// Form fields that stand for request headers (Communication 1.3).
const HEADER_FIELDS: [&str; 6] = [
    "Authorization",
    "X-Experience-API-Version",
    "Content-Type",
    "Content-Length",
    "If-Match",
    "If-None-Match",
];

/// Answers a `POST ?method=M` (`query` is its query string: `method`
/// alone).
pub(super) async fn alternate_syntax(
    req: &HttpRequest,
    state: &AppState,
    query: &[(String, String)],
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let [(_, method)] = query else {
        return Err(ApiError::bad_param(
            "method",
            "the alternate request syntax allows no query parameter other than method",
        ));
    };
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
