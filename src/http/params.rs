//! Query parameter values shared by the resources.

use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use crate::xapi::datatypes::{is_iri, is_uuid};
use crate::xapi::statement::ifi_key;
use crate::xapi::{rules, JsonPath};

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
pub fn parse_agent_param(value: &str) -> Result<String, ApiError> {
    let agent: Value = serde_json::from_str(value)
        .map_err(|_| ApiError::bad_param("agent", "agent must be an Agent or Group as JSON"))?;
    let obj = agent
        .as_object()
        .ok_or_else(|| ApiError::bad_param("agent", "agent must be a JSON object"))?;
    if obj.get("objectType").and_then(Value::as_str) != Some("Group") {
        rules::check_agent(obj, &JsonPath::root())
            .map_err(|e| ApiError::bad_param("agent", e.message))?;
    }
    ifi_key(&agent).ok_or_else(|| {
        ApiError::bad_param("agent", "agent must have an inverse functional identifier")
    })
}
