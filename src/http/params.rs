//! Query strings, headers and parameters shared by the resources.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::header::HttpDate;
use actix_web::{HttpMessage, HttpRequest};

use super::error::ApiError;
use crate::xapi::XapiVersion;
// Parameter values are xAPI data, shared with `trellis export`; their
// errors become 400s naming the parameter (`From<ParamError> for ApiError`).
pub use crate::xapi::params::{iri_param, parse_agent_param, parse_uuid_param, AgentParam};

pub fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The version the middleware accepted for this request.
pub fn version_of(req: &HttpRequest) -> XapiVersion {
    req.extensions()
        .get::<XapiVersion>()
        .copied()
        .unwrap_or(XapiVersion::V2_0)
}

/// An HTTP date (`Last-Modified`) for milliseconds since the Unix epoch.
pub fn http_date(ms: i64) -> String {
    HttpDate::from(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)).to_string()
}

/// The parameters as a map, refusing unknown names (case-sensitive) and
/// repeated ones.
pub fn param_map(
    params: &[(String, String)],
    known: impl Fn(&str) -> bool,
) -> Result<HashMap<&str, &str>, ApiError> {
    let mut map = HashMap::with_capacity(params.len());
    for (name, value) in params {
        if !known(name) {
            return Err(ApiError::bad_param(
                name,
                format!("unknown parameter {name:?} (parameter names are case-sensitive)"),
            ));
        }
        if map.insert(name.as_str(), value.as_str()).is_some() {
            return Err(ApiError::bad_param(
                name,
                format!("parameter {name:?} is given more than once"),
            ));
        }
    }
    Ok(map)
}

pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}
