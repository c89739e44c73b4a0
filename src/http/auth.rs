//! HTTP Basic authentication of xAPI requests.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use actix_web::http::Method;
use actix_web::HttpRequest;

use super::error::ApiError;
use super::AppState;
use crate::auth::{AuthError, Principal};

/// Authenticates an `Authorization` header value (from the header or, in
/// the alternate request syntax, from the form body).
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
) -> Result<Principal, ApiError> {
    let Some(value) = authorization else {
        return Err(ApiError::Unauthorized(
            "credentials are required (HTTP Basic authentication)".into(),
        ));
    };
    let (key, secret) = parse_basic(value).ok_or_else(|| {
        ApiError::Unauthorized(
            "the Authorization header is not valid HTTP Basic credentials".into(),
        )
    })?;
    state
        .authenticator
        .authenticate(&key, &secret)
        .await
        .map_err(|e| match e {
            AuthError::Refused => ApiError::Unauthorized(e.to_string()),
            AuthError::Throttled { retry_after } => ApiError::TooManyRequests {
                message: format!("{e}; retry later"),
                retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
            },
            AuthError::Store(e) => e.into(),
        })
}

/// The key of HTTP Basic credentials, unverified.
pub fn basic_key(authorization: &str) -> Option<String> {
    parse_basic(authorization).map(|(key, _)| key)
}

/// Authenticates a request by its `Authorization` header or, for GET and
/// HEAD only (reads: no write can be forged with the cookie), by the
/// dashboard's session cookie.
///
/// A request with the cookie and no `Authorization` header comes from the
/// dashboard in a browser: its refusal carries no HTTP Basic challenge
/// (`ApiError::SignInRequired`), so the browser does not open its own
/// password prompt; the page shows its sign-in form instead. API clients,
/// without the cookie, still get the challenge.
pub async fn authenticate_request(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Principal, ApiError> {
    let authorization = super::params::header_str(req, "Authorization");
    let Some(token) = authorization
        .is_none()
        .then(|| super::dashboard::cookie_token(req))
        .flatten()
    else {
        return authenticate(state, authorization).await;
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::SignInRequired(
            "the dashboard session reads only (GET); send HTTP Basic credentials".into(),
        ));
    }
    super::dashboard::session::principal(state.store.as_ref(), token)
        .await?
        .map(|(principal, _)| principal)
        .ok_or_else(|| {
            ApiError::SignInRequired("the dashboard session has ended; sign in again".into())
        })
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(token.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key, secret) = text.split_once(':')?;
    Some((key.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse() {
        assert_eq!(
            parse_basic("Basic YTpiOmM="),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(parse_basic("basic YTpi"), Some(("a".into(), "b".into())));
        assert_eq!(parse_basic("Basic:YTpi"), None);
        assert_eq!(parse_basic("Bearer YTpi"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}
