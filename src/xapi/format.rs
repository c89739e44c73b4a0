//! The `format` parameter of statement queries: `exact` (as stored), `ids`
//! (identifiers only) and `canonical` (one language per language map).

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Exact,
    Ids,
    Canonical,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "exact" => Some(Format::Exact),
            "ids" => Some(Format::Ids),
            "canonical" => Some(Format::Canonical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Exact => "exact",
            Format::Ids => "ids",
            Format::Canonical => "canonical",
        }
    }
}

/// Rewrites a stored statement into `format`. `languages` is the client's
/// `Accept-Language` preference list, most preferred first.
pub fn apply(statement: &mut Value, format: Format, languages: &[String]) {
    match format {
        Format::Exact => {}
        Format::Ids => ids_statement(statement),
        Format::Canonical => canonical(statement, languages),
    }
}

fn ids_statement(stmt: &mut Value) {
    let Some(o) = stmt.as_object_mut() else {
        return;
    };
    for key in ["actor", "authority"] {
        if let Some(a) = o.get_mut(key) {
            ids_actor(a);
        }
    }
    if let Some(verb) = o.get_mut("verb") {
        keep_only(verb, &["id"]);
    }
    if let Some(object) = o.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => ids_actor(object),
            Some("SubStatement") => ids_statement(object),
            Some("StatementRef") => {}
            _ => keep_only(object, &["id"]),
        }
    }
    if let Some(ctx) = o.get_mut("context").and_then(Value::as_object_mut) {
        for key in ["instructor", "team"] {
            if let Some(a) = ctx.get_mut(key) {
                ids_actor(a);
            }
        }
        if let Some(ca) = ctx
            .get_mut("contextActivities")
            .and_then(Value::as_object_mut)
        {
            for list in ca.values_mut() {
                for a in list.as_array_mut().into_iter().flatten() {
                    keep_only(a, &["id"]);
                }
            }
        }
        for (key, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            for entry in ctx
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(a) = entry.get_mut(inner) {
                    ids_actor(a);
                }
            }
        }
    }
}

fn ids_actor(actor: &mut Value) {
    let Some(o) = actor.as_object_mut() else {
        return;
    };
    let identified = ["mbox", "mbox_sha1sum", "openid", "account"]
        .iter()
        .any(|k| o.contains_key(*k));
    o.remove("name");
    if identified {
        o.remove("member");
    } else if let Some(members) = o.get_mut("member").and_then(Value::as_array_mut) {
        for m in members {
            ids_actor(m);
        }
    }
}

fn keep_only(v: &mut Value, keys: &[&str]) {
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| keys.contains(&k.as_str()));
    }
}

/// Keys whose values are language maps.
const LANGUAGE_MAPS: [&str; 3] = ["display", "name", "description"];

fn canonical(v: &mut Value, languages: &[String]) {
    match v {
        Value::Object(o) => {
            for (key, child) in o.iter_mut() {
                if key == "extensions" {
                    continue;
                }
                match child {
                    Value::Object(map)
                        if LANGUAGE_MAPS.contains(&key.as_str()) && is_language_map(map) =>
                    {
                        pick_language(map, languages)
                    }
                    _ => canonical(child, languages),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| canonical(i, languages)),
        _ => {}
    }
}

fn is_language_map(map: &Map<String, Value>) -> bool {
    map.values().all(Value::is_string)
}

/// Keeps the one entry that best matches the preferences: an exact tag,
/// then a tag sharing the primary language, then `und`/the first entry.
fn pick_language(map: &mut Map<String, Value>, languages: &[String]) {
    if map.len() <= 1 {
        return;
    }
    let chosen = languages
        .iter()
        .find_map(|want| {
            map.keys()
                .find(|k| k.eq_ignore_ascii_case(want))
                .or_else(|| {
                    let primary = want.split('-').next().unwrap_or(want);
                    map.keys().find(|k| {
                        k.split('-')
                            .next()
                            .is_some_and(|p| p.eq_ignore_ascii_case(primary))
                    })
                })
                .cloned()
        })
        .or_else(|| map.keys().find(|k| *k == "und").cloned())
        .or_else(|| map.keys().next().cloned());
    if let Some(chosen) = chosen {
        map.retain(|k, _| *k == chosen);
    }
}

/// Parses `Accept-Language` into tags ordered by quality.
pub fn accept_language(header: &str) -> Vec<String> {
    let mut tags: Vec<(f32, usize, String)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            if tag.is_empty() || tag == "*" {
                return None;
            }
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then(|| (q, i, tag.to_owned()))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.into_iter().map(|t| t.2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "actor": {"objectType": "Agent", "name": "Ana", "mbox": "mailto:ana@example.com"},
            "verb": {"id": "http://x.io/v", "display": {"en-US": "did", "en-GB": "did (GB)", "fr": "a fait"}},
            "object": {"objectType": "Activity", "id": "http://x.io/a", "definition": {
                "name": {"en-US": "A", "fr": "Un"}, "type": "http://x.io/t",
                "extensions": {"http://x.io/e": {"en-US": "kept", "fr": "kept"}}}},
            "context": {"team": {"objectType": "Group", "name": "T", "member": [{"name": "B", "mbox": "mailto:b@x.io"}]}}
        })
    }

    #[test]
    fn ids_keeps_only_identifiers() {
        let mut s = sample();
        apply(&mut s, Format::Ids, &[]);
        assert_eq!(
            s["actor"],
            json!({"objectType": "Agent", "mbox": "mailto:ana@example.com"})
        );
        assert_eq!(s["verb"], json!({"id": "http://x.io/v"}));
        assert_eq!(s["object"], json!({"id": "http://x.io/a"}));
        assert_eq!(
            s["context"]["team"],
            json!({"objectType": "Group", "member": [{"mbox": "mailto:b@x.io"}]})
        );
    }

    #[test]
    fn canonical_keeps_the_preferred_language_only() {
        let mut s = sample();
        apply(
            &mut s,
            Format::Canonical,
            &accept_language("en-GB, fr;q=0.5"),
        );
        assert_eq!(s["verb"]["display"], json!({"en-GB": "did (GB)"}));
        assert_eq!(s["object"]["definition"]["name"], json!({"en-US": "A"}));
        assert_eq!(
            s["object"]["definition"]["extensions"]["http://x.io/e"],
            json!({"en-US": "kept", "fr": "kept"})
        );
        assert_eq!(s["actor"]["name"], "Ana");
    }

    #[test]
    fn accept_language_orders_by_quality() {
        assert_eq!(
            accept_language("fr;q=0.4, en-GB, de;q=0.9, *"),
            vec!["en-GB", "de", "fr"]
        );
    }
}
