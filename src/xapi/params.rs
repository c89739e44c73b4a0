//! Values of the resources' parameters (xAPI Communication 2.1.3, 2.2,
//! 2.3): an Agent given as JSON, an IRI, a UUID. The Statement and Document
//! Resources take them from a query string, `trellis export` from its flags;
//! both read them here so a filter means the same everywhere.

use serde_json::Value;
use uuid::Uuid;

use super::datatypes::{is_iri, is_uuid};
use super::statement::ifi_key;
use super::{rules, JsonPath};

/// A parameter value that breaks its syntax. Displays as the message alone,
/// which callers show as is (the parameter travels beside it in `name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The parameter's name, e.g. `agent`.
    pub name: String,
    pub message: String,
}

impl ParamError {
    fn new(name: &str, message: impl Into<String>) -> ParamError {
        ParamError {
            name: name.to_owned(),
            message: message.into(),
        }
    }
}

pub fn parse_uuid_param(name: &str, value: &str) -> Result<Uuid, ParamError> {
    if !is_uuid(value) {
        return Err(ParamError::new(name, format!("{name} must be a UUID")));
    }
    Uuid::parse_str(value).map_err(|_| ParamError::new(name, format!("{name} must be a UUID")))
}

pub fn iri_param(name: &str, value: &str) -> Result<String, ParamError> {
    if is_iri(value) {
        Ok(value.to_owned())
    } else {
        Err(ParamError::new(name, format!("{name} must be an IRI")))
    }
}

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
pub fn parse_agent_param(value: &str, kind: AgentParam) -> Result<String, ParamError> {
    let bad = |message: &str| ParamError::new("agent", message);
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
    rules::check_agent(obj, &JsonPath::root()).map_err(|e| bad(&e.message))?;
    ifi_key(&agent).ok_or_else(|| bad("agent must have an inverse functional identifier"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_parameter_is_reduced_to_its_identifier() {
        let key = parse_agent_param(r#"{"mbox": "mailto:a@example.com"}"#, AgentParam::AgentOnly);
        assert_eq!(
            key,
            parse_agent_param(
                r#"{"objectType": "Agent", "mbox": "mailto:a@example.com"}"#,
                AgentParam::AgentOrGroup
            )
        );
        assert!(key.is_ok());
    }

    #[test]
    fn a_group_is_refused_where_only_an_agent_is_allowed() {
        let group = r#"{"objectType": "Group", "mbox": "mailto:g@example.com"}"#;
        assert!(parse_agent_param(group, AgentParam::AgentOrGroup).is_ok());
        let err = parse_agent_param(group, AgentParam::AgentOnly).unwrap_err();
        assert_eq!(err.name, "agent");
        assert_eq!(
            err.to_string(),
            "agent must be an Agent (objectType \"Agent\")"
        );
    }

    #[test]
    fn an_agent_without_an_identifier_or_with_a_bad_one_is_refused() {
        assert!(parse_agent_param(r#"{"name": "A"}"#, AgentParam::AgentOnly).is_err());
        assert!(parse_agent_param(r#"{"mbox": "a@example.com"}"#, AgentParam::AgentOnly).is_err());
        assert!(parse_agent_param("not json", AgentParam::AgentOnly).is_err());
    }

    #[test]
    fn uuid_and_iri_errors_name_the_parameter() {
        let err = parse_uuid_param("registration", "nope").unwrap_err();
        assert_eq!(
            (err.name.as_str(), err.message.as_str()),
            ("registration", "registration must be a UUID")
        );
        assert!(parse_uuid_param("registration", "fd41c918-b88b-4b20-a0a5-a4c32391aaa0").is_ok());
        let err = iri_param("verb", "no scheme").unwrap_err();
        assert_eq!(err.to_string(), "verb must be an IRI");
        assert_eq!(iri_param("verb", "http://x.io/v").unwrap(), "http://x.io/v");
    }
}
