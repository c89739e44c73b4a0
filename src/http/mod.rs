//! The HTTP surface: the xAPI resources under `/xapi`, the operations
//! endpoints (health, readiness, metrics), and the cross-cutting behaviour
//! every response shares (request id and metrics, version header, CORS,
//! errors).

pub mod about;
pub mod analytics;
pub mod auth;
pub mod body;
pub mod dashboard;
pub mod documents;
pub mod error;
pub mod multipart;
pub mod observe;
pub mod ops;
pub mod panics;
pub mod params;
pub mod settings;
pub mod statements;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};

use crate::auth::Authenticator;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::xapi::XapiVersion;
use error::ApiError;
pub use settings::{Limits, Settings};

pub const VERSION_HEADER: &str = "X-Experience-API-Version";
pub const CONSISTENT_THROUGH_HEADER: &str = "X-Experience-API-Consistent-Through";

/// What every handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub authenticator: Authenticator,
    pub limits: Limits,
    /// The homePage of the accounts in statement authorities.
    pub public_url: String,
    /// The version each client (by credential key) last declared, to answer
    /// a request that omits the header in the version that client speaks.
    pub declared_versions: DeclaredVersions,
    pub metrics: Arc<Metrics>,
    pub health: Health,
    /// The aggregated CX state the analytics API reads.
    pub cx: Arc<crate::cx::Cx>,
}

impl AppState {
    /// The state of one server over `store`: the credentials it holds, the
    /// given limits, and its own metrics, health and (empty) CX state.
    /// `startup` replaces the last three with the ones it wires up; tests
    /// use it as it is.
    pub fn new(
        store: Arc<dyn Store>,
        limits: Limits,
        public_url: impl Into<String>,
    ) -> Result<AppState, prometheus::Error> {
        Ok(AppState {
            authenticator: Authenticator::new(store.clone()),
            store,
            limits,
            public_url: public_url.into(),
            declared_versions: DeclaredVersions::default(),
            metrics: Metrics::new()?,
            health: Health::new(),
            cx: Arc::new(crate::cx::Cx::new(crate::cx::Settings::default())),
        })
    }
}

/// Bounded memory of the xAPI version each credential key last declared.
#[derive(Default)]
pub struct DeclaredVersions(std::sync::Mutex<std::collections::HashMap<String, XapiVersion>>);

impl DeclaredVersions {
    const MAX_CLIENTS: usize = 10_000;

    fn record(&self, key: Option<String>, version: XapiVersion) {
        let (Some(key), Ok(mut map)) = (key, self.0.lock()) else {
            return;
        };
        if map.get(&key) != Some(&version)
            && (map.len() < Self::MAX_CLIENTS || map.contains_key(&key))
        {
            map.insert(key, version);
        }
    }

    fn recall(&self, key: Option<String>) -> Option<XapiVersion> {
        let key = key?;
        self.0.lock().ok()?.get(&key).copied()
    }
}

/// Mounts every route; used by `startup` and by tests alike. The app wraps
/// it in `observe::observe` (request id, metrics, request log).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(ops::configure)
        .configure(dashboard::configure)
        .configure(analytics::configure)
        .service(
            web::scope("/xapi")
                .wrap(actix_web::middleware::from_fn(xapi_headers))
                .configure(about::configure)
                .configure(statements::configure)
                .configure(documents::configure),
        );
}

/// Whether the request uses the 1.0.3 alternate request syntax (the
/// version then travels in the form body and the handler checks it).
fn is_alternate_syntax(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::POST
        && req
            .query_string()
            .split('&')
            .any(|p| p == "method" || p.starts_with("method="))
}

/// Requires `X-Experience-API-Version` on everything but About, makes the
/// parsed version available to handlers, and answers with the header.
async fn xapi_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = req
        .headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed = header.as_deref().and_then(XapiVersion::parse_header);
    let exempt = req.path().trim_end_matches('/').ends_with("/about") || is_alternate_syntax(&req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let client = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(auth::basic_key);
    let version = match (parsed, exempt) {
        (Some(v), _) => {
            if let Some(state) = &state {
                state.declared_versions.record(client, v);
            }
            v
        }
        (None, true) => XapiVersion::V2_0,
        (None, false) => {
            let message = match header {
                Some(h) => format!("{VERSION_HEADER} {h:?} is not supported; use 1.0.x or 2.0.x"),
                None => format!("the {VERSION_HEADER} header is required"),
            };
            let consistent = statements::consistent_through_for(req.request()).await;
            let mut response = ApiError::bad_param(VERSION_HEADER, message).error_response();
            let answer = state
                .and_then(|s| s.declared_versions.recall(client))
                .unwrap_or(XapiVersion::V2_0);
            set_header(&mut response, VERSION_HEADER, answer.header_value());
            if let Some(value) = consistent {
                set_header(&mut response, CONSISTENT_THROUGH_HEADER, &value);
            }
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    req.extensions_mut().insert(version);
    let mut res = next.call(req).await?;
    // Taken after the request ran, so it is never before the `stored` of a
    // statement the response returned.
    let consistent = statements::consistent_through_for(res.request()).await;
    if let Some(value) = consistent.and_then(|v| HeaderValue::from_str(&v).ok()) {
        res.headers_mut().insert(
            HeaderName::from_static("x-experience-api-consistent-through"),
            value,
        );
    }
    if !res.headers().contains_key(VERSION_HEADER) {
        res.headers_mut().insert(
            HeaderName::from_static("x-experience-api-version"),
            HeaderValue::from_static(version.header_value()),
        );
    }
    Ok(res.map_into_left_body())
}

pub fn set_header(response: &mut HttpResponse, name: &'static str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}
