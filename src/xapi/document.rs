//! Documents of the State, Activity Profile and Agent Profile resources:
//! their kinds, ETags, and the JSON merge of a POST.

use serde_json::Value;
use sha1::{Digest, Sha1};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    State,
    ActivityProfile,
    AgentProfile,
}

impl DocumentKind {
    pub fn as_i64(self) -> i64 {
        match self {
            DocumentKind::State => 1,
            DocumentKind::ActivityProfile => 2,
            DocumentKind::AgentProfile => 3,
        }
    }

    /// The query parameter naming one document.
    pub fn id_param(self) -> &'static str {
        match self {
            DocumentKind::State => "stateId",
            DocumentKind::ActivityProfile | DocumentKind::AgentProfile => "profileId",
        }
    }
}

/// The ETag of a document's content: its SHA-1, as xAPI 1.0.3 suggests.
pub fn etag(content: &[u8]) -> String {
    Sha1::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/json")
}

/// A POST merge (Communication 2.2): both documents must be JSON objects;
/// the posted object's top-level properties replace the stored ones.
pub fn merge(existing: &[u8], posted: &[u8]) -> Result<Vec<u8>, String> {
    let Ok(Value::Object(mut base)) = serde_json::from_slice::<Value>(existing) else {
        return Err("the stored document is not a JSON object, so it cannot be merged; use PUT to replace it".into());
    };
    let Ok(Value::Object(update)) = serde_json::from_slice::<Value>(posted) else {
        return Err("a POST to a document must carry a JSON object to merge".into());
    };
    for (k, v) in update {
        base.insert(k, v);
    }
    serde_json::to_vec(&Value::Object(base)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_replaces_top_level_properties_only() {
        let merged = merge(
            br#"{"a":1,"b":{"x":1,"y":2}}"#,
            br#"{"b":{"x":3},"c":true}"#,
        )
        .unwrap();
        let merged: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(merged, serde_json::json!({"a":1,"b":{"x":3},"c":true}));
    }

    #[test]
    fn merging_needs_two_objects() {
        assert!(merge(b"[1]", br#"{"a":1}"#).is_err());
        assert!(merge(br#"{"a":1}"#, b"plain text").is_err());
    }

    #[test]
    fn etags_are_sha1_hex() {
        assert_eq!(etag(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
