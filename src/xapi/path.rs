//! JSONPath-style locations (`$.actor.mbox`, `$[2].verb.id`) used in error
//! messages so a client learns exactly which property was rejected.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(String);

impl JsonPath {
    pub fn root() -> JsonPath {
        JsonPath("$".to_owned())
    }

    pub fn key(&self, key: &str) -> JsonPath {
        let simple = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if simple {
            JsonPath(format!("{}.{key}", self.0))
        } else {
            // Extension keys are IRIs: quote them so the path stays unambiguous.
            JsonPath(format!(
                "{}[{}]",
                self.0,
                serde_json::Value::String(key.to_owned())
            ))
        }
    }

    pub fn index(&self, index: usize) -> JsonPath {
        JsonPath(format!("{}[{index}]", self.0))
    }

    /// Converts a JSON Pointer (`/actor/mbox`, as reported by the schema
    /// validator) below this path.
    pub fn join_pointer(&self, pointer: &str) -> JsonPath {
        let mut path = self.clone();
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            path = match token.parse::<usize>() {
                Ok(i) if !token.starts_with('+') => path.index(i),
                _ => path.key(&token),
            };
        }
        path
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_indexes_compose() {
        let p = JsonPath::root().index(2).key("verb").key("id");
        assert_eq!(p.as_str(), "$[2].verb.id");
    }

    #[test]
    fn iri_keys_are_quoted() {
        let p = JsonPath::root().key("extensions").key("http://x.io/a.b");
        assert_eq!(p.as_str(), "$.extensions[\"http://x.io/a.b\"]");
    }

    #[test]
    fn json_pointers_are_translated() {
        let p = JsonPath::root().join_pointer("/context/contextActivities/parent/0/id");
        assert_eq!(p.as_str(), "$.context.contextActivities.parent[0].id");
        assert_eq!(JsonPath::root().join_pointer("").as_str(), "$");
    }
}
