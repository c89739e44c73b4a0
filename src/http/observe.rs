//! What every request goes through first: a request id (taken from a sane
//! `X-Request-Id` or generated, returned in the response), a tracing span
//! carrying it, the request metrics, and one log line per request.
//!
//! Labels and log fields use the route template (`/xapi/statements`), never
//! the raw path or query string, which can hold learner identities. Headers
//! (Authorization) and bodies (statements) are never logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use tracing::Instrument as _;

use super::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The `route` label of a request no route matches.
pub const UNMATCHED: &str = "unmatched";

/// The request id of the current request (in the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// An incoming id is kept when it is 1 to 64 characters of letters,
    /// digits, `-`, `_`, `.` or `:`; otherwise a new UUID is made.
    pub fn from_header(value: Option<&HeaderValue>) -> RequestId {
        let sane = value
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            })
            .map(str::to_owned);
        RequestId(sane.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()))
    }
}

/// The `method` label: the standard methods, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = RequestId::from_header(req.headers().get(REQUEST_ID_HEADER));
    // The template of the route the path matches, from the route table
    // (so it is known even for answers given before routing, like CORS).
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let method = method_label(req.method());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", request_id = %id.0);
    let result = next.call(req).instrument(span).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state
            .metrics
            .http_requests
            .with_label_values(&[&route, method, status.as_str()])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[&route, method])
            .observe(elapsed.as_secs_f64());
    }
    tracing::info!(
        request_id = %id.0,
        method,
        route = %route,
        status = status.as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_request_id_is_kept() {
        let v = HeaderValue::from_static("lb-7f3a.2:19");
        assert_eq!(RequestId::from_header(Some(&v)).0, "lb-7f3a.2:19");
    }

    #[test]
    fn an_insane_request_id_is_replaced() {
        for bad in [
            "",
            "has space",
            "new\u{7f}line",
            &"x".repeat(65),
            "a/b",
            "é",
        ] {
            let v = HeaderValue::from_bytes(bad.as_bytes()).ok();
            let id = RequestId::from_header(v.as_ref());
            assert!(
                uuid::Uuid::parse_str(&id.0).is_ok(),
                "{bad:?} kept as {id:?}"
            );
        }
        assert!(uuid::Uuid::parse_str(&RequestId::from_header(None).0).is_ok());
    }
}
