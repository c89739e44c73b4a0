//! Query parameter values shared by the resources.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::header::HttpDate;
use actix_web::{HttpMessage, HttpRequest};
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use crate::xapi::datatypes::{is_iri, is_uuid};
use crate::xapi::statement::ifi_key;
use crate::xapi::{rules, JsonPath, XapiVersion};

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

pub fn parse_uuid_param(name: &str, value: &str) -> Result<Uuid, ApiError> {
    if !is_uuid(value) {
        return Err(ApiError::bad_param(name, format!("{name} must be a UUID")));
    }
    Uuid::parse_str(value).map_err(|_| ApiError::bad_param(name, format!("{name} must be a UUID")))
}

pub fn iri_param(name: &str, value: &str) -> Result<String, ApiError> {
    if is_iri(value) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::bad_param(name, format!("{name} must be an IRI")))
    }
}

/// The `agent` parameter: an Agent or identified Group as JSON.
/// Whether an `agent` parameter may name an identified Group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentParam {
    AgentOnly,
    AgentOrGroup,
}

const AGENT_KEYS: [&str; 6] = [
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];

/// The `agent` parameter: an Agent (or identified Group) as JSON, checked
/// like the same object in a statement. Returns its IFI key.
pub fn parse_agent_param(value: &str, kind: AgentParam) -> Result<String, ApiError> {
    let bad = |message: &str| ApiError::bad_param("agent", message.to_owned());
    let agent: Value =
        serde_json::from_str(value).map_err(|_| bad("agent must be an Agent as JSON"))?;
    let obj = agent
        .as_object()
        .ok_or_else(|| bad("agent must be a JSON object"))?;
    let is_group = match obj.get("objectType") {
        None => false,
        Some(Value::String(t)) if t == "Agent" => false,
        Some(Value::String(t)) if t == "Group" && kind == AgentParam::AgentOrGroup => true,
        Some(_) if kind == AgentParam::AgentOnly => {
            return Err(bad("agent must be an Agent (objectType \"Agent\")"))
        }
        Some(_) => return Err(bad("agent must be an Agent or an identified Group")),
    };
    for (key, v) in obj {
        let known = AGENT_KEYS.contains(&key.as_str()) || (is_group && key == "member");
        if !known {
            return Err(bad(&format!("agent has an unknown property {key:?}")));
        }
        let well_typed = match key.as_str() {
            "account" => {
                v.get("homePage").is_some_and(Value::is_string)
                    && v.get("name").is_some_and(Value::is_string)
                    && v.as_object().is_some_and(|a| a.len() == 2)
            }
            "member" => v.is_array(),
            _ => v.is_string(),
        };
        if !well_typed {
            return Err(bad(&format!("agent property {key:?} has the wrong type")));
        }
    }
    rules::check_agent(obj, &JsonPath::root())
        .map_err(|e| ApiError::bad_param("agent", e.message))?;
    ifi_key(&agent).ok_or_else(|| bad("agent must have an inverse functional identifier"))
}
