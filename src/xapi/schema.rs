//! The structural statement schema (`schemas/statement.schema.json`),
//! compiled once and used for every incoming statement.

use std::sync::OnceLock;

use serde_json::Value;

use super::{JsonPath, ValidationError};

const STATEMENT_SCHEMA: &str = include_str!("../../schemas/statement.schema.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(STATEMENT_SCHEMA).expect("the bundled statement schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the bundled statement schema compiles")
    })
}

/// Checks the structure of one statement; reports the most specific error.
pub fn check_structure(statement: &Value, path: &JsonPath) -> Result<(), ValidationError> {
    let validator = validator();
    if validator.is_valid(statement) {
        return Ok(());
    }
    // The deepest location is the most useful one to report: an `if/then`
    // failure at `$.object` is explained by the error at `$.object.id`.
    let worst = validator
        .iter_errors(statement)
        .max_by_key(|e| e.instance_path.to_string().matches('/').count());
    match worst {
        Some(e) => {
            let mut at = path.join_pointer(&e.instance_path.to_string());
            // Point at the missing or unexpected property itself.
            match &e.kind {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    if let Some(name) = property.as_str() {
                        at = at.key(name);
                    }
                }
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    if let Some(name) = unexpected.first() {
                        at = at.key(name);
                    }
                }
                _ => {}
            }
            Err(ValidationError::new(at, e.to_string()))
        }
        None => Err(ValidationError::new(path.clone(), "statement is not valid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn examples(kind: &str) -> Vec<(String, Value)> {
        let dir = format!("{}/schemas/examples/{kind}", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            out.push((
                path.display().to_string(),
                serde_json::from_str(&text).unwrap(),
            ));
        }
        assert!(!out.is_empty());
        out
    }

    #[test]
    fn every_valid_example_passes_the_schema() {
        for (name, v) in examples("valid") {
            assert_eq!(check_structure(&v, &JsonPath::root()), Ok(()), "{name}");
        }
    }

    #[test]
    fn missing_and_unexpected_properties_are_named_in_the_path() {
        let v =
            serde_json::json!({"actor": {"mbox": "mailto:a@b.c"}, "object": {"id": "http://x.io"}});
        assert_eq!(
            check_structure(&v, &JsonPath::root())
                .unwrap_err()
                .path
                .as_str(),
            "$.verb"
        );
        let v = serde_json::json!({"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "http://x.io/v"},
                                   "object": {"id": "http://x.io"}, "colour": "red"});
        assert_eq!(
            check_structure(&v, &JsonPath::root())
                .unwrap_err()
                .path
                .as_str(),
            "$.colour"
        );
    }

    #[test]
    fn every_invalid_example_fails_the_schema_with_a_path() {
        for (name, v) in examples("invalid") {
            let err = check_structure(&v, &JsonPath::root()).expect_err(&name);
            assert!(err.path.as_str().starts_with('$'), "{name}: {err}");
        }
    }
}
