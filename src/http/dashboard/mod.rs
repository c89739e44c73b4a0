//! The dashboard: a web page served under `/dashboard/` (and `/`
//! redirecting there) that signs in with a credential's key and secret and
//! then reads `/analytics/v1/*` and `/xapi/statements` like any client,
//! with a session cookie instead of HTTP Basic.
//!
//! - `assets`: the compiled-in files and the security headers.
//! - `session`: the session store and cookie.
//!
//! The scope picker lists Activities from `GET /analytics/v1/activities`
//! (`http::analytics`).

pub mod assets;
pub mod session;

use actix_web::http::header;
use actix_web::mime;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::auth::authenticate;
use super::error::ApiError;
use super::params::header_str;
use super::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(redirect_home))
        .route("/dashboard", web::get().to(redirect_home))
        .route("/dashboard/", web::get().to(index))
        .route("/dashboard/assets/{name}", web::get().to(asset))
        .service(
            web::resource("/dashboard/session")
                .route(web::get().to(current))
                .route(web::post().to(sign_in))
                .route(web::delete().to(sign_out)),
        );
}

async fn redirect_home() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/dashboard/"))
        .finish()
}

async fn index(req: HttpRequest) -> HttpResponse {
    assets::serve(&req, "index.html")
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    assets::serve(&req, &name)
}

/// The session token the request's cookie carries.
pub fn cookie_token(req: &HttpRequest) -> Option<&str> {
    header_str(req, "Cookie").and_then(|c| session::cookie_value(c, session::COOKIE))
}

/// Whether the cookie must be `Secure`: the request came over https, or
/// the server's public URL is https (behind a TLS proxy).
fn secure_cookie(req: &HttpRequest, state: &AppState) -> bool {
    req.connection_info().scheme() == "https" || state.public_url.starts_with("https://")
}

fn with_cookie(mut res: actix_web::HttpResponseBuilder, cookie: String) -> HttpResponse {
    res.insert_header((header::SET_COOKIE, cookie))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Deserialize)]
struct SignIn {
    key: String,
    secret: String,
}

/// Whether the request's body is declared JSON (`application/json`, with
/// any parameters such as a charset).
fn is_json(req: &HttpRequest) -> bool {
    matches!(req.mime_type(), Ok(Some(m)) if m.essence_str() == mime::APPLICATION_JSON.essence_str())
}

/// `POST /dashboard/session` with `{"key", "secret"}`: checks the
/// credential (it must read every statement) and sets the session cookie.
///
/// Only `Content-Type: application/json` is taken: another site's page can
/// post a form (urlencoded, multipart or text/plain) to this address
/// without the browser asking first, and would sign the browser in with the
/// attacker's credential (login CSRF); a JSON post from another origin needs
/// a CORS preflight, which this server never grants.
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_json(&req) {
        return Err(ApiError::UnsupportedMediaType(
            "sign in with Content-Type: application/json".into(),
        ));
    }
    let form: SignIn = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("send a JSON object {\"key\": ..., \"secret\": ...}"))?;
    // Through the same path as HTTP Basic, so sign-in failures are treated
    // (and throttled) like any other failed authentication.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form.key, form.secret))
    );
    let principal = authenticate(&state, Some(&basic))
        .await
        .map_err(|e| match e {
            // Not the HTTP Basic challenge: the browser would open its own
            // password prompt.
            ApiError::Unauthorized(message) => ApiError::SignInRequired(message),
            other => other,
        })?;
    if !session::may_use_dashboard(&principal) {
        return Err(ApiError::Forbidden(
            "the dashboard needs a credential with the scope statements/read, all/read or all"
                .into(),
        ));
    }
    let token = session::start(state.store.as_ref(), &principal.key).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header((
        header::SET_COOKIE,
        session::set_cookie(Some(&token), secure_cookie(&req, &state)),
    ))
    .insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(res.json(json!({"key": principal.key, "name": principal.name})))
}

/// `GET /dashboard/session`: who is signed in. Always 200 (`signed_in`
/// false without a live session), so the page can ask without an error in
/// the browser's console and without an HTTP Basic challenge.
async fn current(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = match cookie_token(&req) {
        Some(token) => session::principal(state.store.as_ref(), token).await?,
        None => None,
    };
    let body = match found {
        Some((principal, record)) => json!({
            "signed_in": true,
            "key": principal.key,
            "name": principal.name,
            "expires_ms": record.expires_ms,
        }),
        None => json!({"signed_in": false}),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `DELETE /dashboard/session`: ends the session on the server and clears
/// the cookie.
async fn sign_out(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(token) = cookie_token(&req) {
        session::end(state.store.as_ref(), token).await?;
    }
    Ok(with_cookie(
        HttpResponse::NoContent(),
        session::set_cookie(None, secure_cookie(&req, &state)),
    ))
}

#[cfg(test)]
mod tests;
