//! Canonical Activity definitions (the Activities Resource): the Activities
//! a statement carries, and how a newer definition updates the stored one.

use serde_json::{Map, Value};

/// Every Activity with a definition in a statement: the object, the
/// contextActivities, and the same inside a SubStatement.
pub fn defined_activities(statement: &Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    collect(statement, &mut out);
    out
}

fn collect(stmt: &Map<String, Value>, out: &mut Vec<(String, Map<String, Value>)>) {
    if let Some(object) = stmt.get("object").and_then(Value::as_object) {
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => push(object, out),
            Some("SubStatement") => collect(object, out),
            _ => {}
        }
    }
    let lists = stmt
        .get("context")
        .and_then(|c| c.get("contextActivities"))
        .and_then(Value::as_object);
    for list in lists.into_iter().flat_map(|m| m.values()) {
        match list {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_object)
                .for_each(|a| push(a, out)),
            Value::Object(a) => push(a, out),
            _ => {}
        }
    }
}

fn push(activity: &Map<String, Value>, out: &mut Vec<(String, Map<String, Value>)>) {
    let (Some(id), Some(def)) = (
        activity.get("id").and_then(Value::as_str),
        activity.get("definition").and_then(Value::as_object),
    ) else {
        return;
    };
    out.push((id.to_owned(), def.clone()));
}

/// Updates a stored definition with a newer one: language maps gain the
/// newer entries (a language present in both takes the newer text), every
/// other property takes the newer value.
pub fn merge_definition(stored: &mut Map<String, Value>, newer: &Map<String, Value>) {
    for (key, value) in newer {
        match (key.as_str(), stored.get_mut(key), value) {
            ("name" | "description", Some(Value::Object(old)), Value::Object(new)) => {
                for (lang, text) in new {
                    old.insert(lang.clone(), text.clone());
                }
            }
            _ => {
                stored.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn language_maps_merge_and_other_properties_are_replaced() {
        let mut stored = json!({"name": {"en-US": "Lesson"}, "type": "http://x.io/a"})
            .as_object()
            .unwrap()
            .clone();
        let newer = json!({"name": {"fr-FR": "Leçon"}, "type": "http://x.io/b"})
            .as_object()
            .unwrap()
            .clone();
        merge_definition(&mut stored, &newer);
        assert_eq!(
            Value::Object(stored),
            json!({"name": {"en-US": "Lesson", "fr-FR": "Leçon"}, "type": "http://x.io/b"})
        );
    }

    #[test]
    fn activities_are_found_in_object_context_and_substatements() {
        let s = json!({
            "object": {"objectType": "SubStatement", "object": {"id": "http://x.io/inner", "definition": {}}},
            "context": {"contextActivities": {"parent": [{"id": "http://x.io/p", "definition": {"type": "http://x.io/t"}}, {"id": "http://x.io/nodef"}]}}
        });
        let ids: Vec<String> = defined_activities(s.as_object().unwrap())
            .into_iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(ids, vec!["http://x.io/inner", "http://x.io/p"]);
    }
}
