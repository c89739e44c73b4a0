//! The statement rules a JSON Schema cannot express (IFIs, formats of IRIs,
//! UUIDs, timestamps, durations, language tags, interaction components,
//! score ranges, context rules, version-specific properties).
//!
//! Runs after `schema` accepted the structure, so shapes can be assumed and
//! only values are checked here.

use serde_json::{Map, Value};

use super::datatypes::{
    is_duration, is_hex, is_iri, is_language_tag, is_mailto, is_media_type, is_uuid,
    parse_timestamp,
};
use super::path::JsonPath;
use super::version::XapiVersion;
use super::ValidationError;

type Obj = Map<String, Value>;
type Outcome = Result<(), ValidationError>;

fn fail(path: &JsonPath, message: impl Into<String>) -> Outcome {
    Err(ValidationError::new(path.clone(), message))
}

pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";
const IFI_KEYS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

pub fn check_statement(stmt: &Obj, version: XapiVersion, path: &JsonPath) -> Outcome {
    if let Some(id) = str_at(stmt, "id") {
        uuid(id, &path.key("id"))?;
    }
    for key in ["timestamp", "stored"] {
        if let Some(t) = str_at(stmt, key) {
            if parse_timestamp(t, version).is_none() {
                return fail(&path.key(key), format!("{key} must be an ISO 8601 / RFC 3339 timestamp with a time zone other than -00:00"));
            }
        }
    }
    if let Some(v) = str_at(stmt, "version") {
        if !version.accepts_statement_version(v) {
            return fail(
                &path.key("version"),
                format!("version {v:?} is not supported for an xAPI {version} request"),
            );
        }
    }
    if let Some(authority) = obj_at(stmt, "authority") {
        check_authority(authority, &path.key("authority"))?;
    }
    check_statement_body(stmt, version, path)?;
    if let Some(list) = stmt.get("attachments").and_then(Value::as_array) {
        for (i, a) in list.iter().enumerate() {
            if let Some(a) = a.as_object() {
                check_attachment(a, &path.key("attachments").index(i))?;
            }
        }
    }
    Ok(())
}

/// The parts shared by statements and SubStatements.
fn check_statement_body(stmt: &Obj, version: XapiVersion, path: &JsonPath) -> Outcome {
    if let Some(actor) = obj_at(stmt, "actor") {
        check_actor(actor, &path.key("actor"))?;
    }
    if let Some(verb) = obj_at(stmt, "verb") {
        check_verb(verb, &path.key("verb"))?;
    }
    let object = obj_at(stmt, "object");
    if let Some(object) = object {
        check_object(object, version, &path.key("object"))?;
    }
    if let Some(result) = obj_at(stmt, "result") {
        check_result(result, &path.key("result"))?;
    }
    if let Some(context) = obj_at(stmt, "context") {
        let object_is_activity = object.is_some_and(|o| {
            matches!(
                o.get("objectType").and_then(Value::as_str),
                None | Some("Activity")
            )
        });
        check_context(context, object_is_activity, version, &path.key("context"))?;
    }
    if let Some(t) = str_at(stmt, "timestamp") {
        if parse_timestamp(t, version).is_none() {
            return fail(&path.key("timestamp"), "timestamp must be an ISO 8601 / RFC 3339 timestamp with a time zone other than -00:00");
        }
    }
    Ok(())
}

fn check_actor(actor: &Obj, path: &JsonPath) -> Outcome {
    if actor.get("objectType").and_then(Value::as_str) == Some("Group") {
        check_group(actor, path)
    } else {
        check_agent(actor, path)
    }
}

pub fn check_agent(agent: &Obj, path: &JsonPath) -> Outcome {
    match ifi_count(agent) {
        1 => check_ifi(agent, path),
        0 => fail(path, "an Agent must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account)"),
        _ => fail(path, "an Agent must not have more than one inverse functional identifier"),
    }
}

fn check_group(group: &Obj, path: &JsonPath) -> Outcome {
    match ifi_count(group) {
        0 => {
            let has_members = group
                .get("member")
                .and_then(Value::as_array)
                .is_some_and(|m| !m.is_empty());
            if !has_members {
                return fail(
                    &path.key("member"),
                    "an anonymous Group must list its members",
                );
            }
        }
        1 => check_ifi(group, path)?,
        _ => {
            return fail(
                path,
                "a Group must not have more than one inverse functional identifier",
            )
        }
    }
    if let Some(members) = group.get("member").and_then(Value::as_array) {
        for (i, m) in members.iter().enumerate() {
            let member_path = path.key("member").index(i);
            let Some(m) = m.as_object() else { continue };
            if m.get("objectType").and_then(Value::as_str) == Some("Group") {
                return fail(&member_path, "a Group's members must be Agents");
            }
            check_agent(m, &member_path)?;
        }
    }
    Ok(())
}

fn check_authority(authority: &Obj, path: &JsonPath) -> Outcome {
    if authority.get("objectType").and_then(Value::as_str) == Some("Group") {
        let n = authority
            .get("member")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n != 2 || ifi_count(authority) != 0 {
            return fail(path, "a Group authority must be an anonymous Group of exactly two Agents (OAuth consumer and user)");
        }
    }
    check_actor(authority, path)
}

fn ifi_count(agent: &Obj) -> usize {
    IFI_KEYS.iter().filter(|k| agent.contains_key(**k)).count()
}

fn check_ifi(agent: &Obj, path: &JsonPath) -> Outcome {
    if let Some(mbox) = str_at(agent, "mbox") {
        if !is_mailto(mbox) {
            return fail(
                &path.key("mbox"),
                "mbox must be a mailto IRI such as mailto:learner@example.com",
            );
        }
    }
    if let Some(sha) = str_at(agent, "mbox_sha1sum") {
        if !is_hex(sha, 40) {
            return fail(
                &path.key("mbox_sha1sum"),
                "mbox_sha1sum must be 40 hexadecimal characters",
            );
        }
    }
    if let Some(openid) = str_at(agent, "openid") {
        iri(openid, &path.key("openid"))?;
    }
    if let Some(account) = obj_at(agent, "account") {
        if let Some(home) = str_at(account, "homePage") {
            iri(home, &path.key("account").key("homePage"))?;
        }
    }
    Ok(())
}

fn check_verb(verb: &Obj, path: &JsonPath) -> Outcome {
    if let Some(id) = str_at(verb, "id") {
        iri(id, &path.key("id"))?;
    }
    language_map(verb, "display", path)
}

fn check_object(object: &Obj, version: XapiVersion, path: &JsonPath) -> Outcome {
    match object.get("objectType").and_then(Value::as_str) {
        Some("Agent") => check_agent(object, path),
        Some("Group") => check_group(object, path),
        Some("StatementRef") => match str_at(object, "id") {
            Some(id) => uuid(id, &path.key("id")),
            None => Ok(()),
        },
        Some("SubStatement") => check_statement_body(object, version, path),
        _ => check_activity(object, path),
    }
}

pub fn check_activity(activity: &Obj, path: &JsonPath) -> Outcome {
    if let Some(id) = str_at(activity, "id") {
        iri(id, &path.key("id"))?;
    }
    let Some(def) = obj_at(activity, "definition") else {
        return Ok(());
    };
    let path = path.key("definition");
    language_map(def, "name", &path)?;
    language_map(def, "description", &path)?;
    if let Some(t) = str_at(def, "type") {
        iri(t, &path.key("type"))?;
    }
    if let Some(more) = str_at(def, "moreInfo") {
        iri(more, &path.key("moreInfo"))?;
    }
    extensions(def, &path)?;
    let interaction = str_at(def, "interactionType");
    let allowed: &[&str] = match interaction {
        Some("choice") | Some("sequencing") => &["choices"],
        Some("likert") => &["scale"],
        Some("matching") => &["source", "target"],
        Some("performance") => &["steps"],
        _ => &[],
    };
    for list in ["choices", "scale", "source", "target", "steps"] {
        let Some(components) = def.get(list).and_then(Value::as_array) else {
            continue;
        };
        let list_path = path.key(list);
        if !allowed.contains(&list) {
            return fail(
                &list_path,
                format!(
                    "{list} is not allowed for interactionType {:?}",
                    interaction.unwrap_or("(none)")
                ),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in components.iter().enumerate() {
            let Some(c) = c.as_object() else { continue };
            let c_path = list_path.index(i);
            if let Some(id) = str_at(c, "id") {
                if !seen.insert(id) {
                    return fail(
                        &c_path.key("id"),
                        format!("interaction component id {id:?} is used twice"),
                    );
                }
            }
            language_map(c, "description", &c_path)?;
        }
    }
    Ok(())
}

fn check_result(result: &Obj, path: &JsonPath) -> Outcome {
    if let Some(d) = str_at(result, "duration") {
        if !is_duration(d) {
            return fail(
                &path.key("duration"),
                "duration must be an ISO 8601 duration such as PT1H30M",
            );
        }
    }
    if let Some(score) = obj_at(result, "score") {
        let path = path.key("score");
        let num = |k: &str| score.get(k).and_then(Value::as_f64);
        if let Some(scaled) = num("scaled") {
            if !(-1.0..=1.0).contains(&scaled) {
                return fail(&path.key("scaled"), "scaled must be between -1 and 1");
            }
        }
        if let (Some(min), Some(max)) = (num("min"), num("max")) {
            if min > max {
                return fail(&path.key("min"), "min must not be greater than max");
            }
        }
        if let Some(raw) = num("raw") {
            if num("min").is_some_and(|min| raw < min) || num("max").is_some_and(|max| raw > max) {
                return fail(&path.key("raw"), "raw must lie between min and max");
            }
        }
    }
    extensions(result, path)
}

fn check_context(
    ctx: &Obj,
    object_is_activity: bool,
    version: XapiVersion,
    path: &JsonPath,
) -> Outcome {
    if let Some(r) = str_at(ctx, "registration") {
        uuid(r, &path.key("registration"))?;
    }
    if let Some(instructor) = obj_at(ctx, "instructor") {
        check_actor(instructor, &path.key("instructor"))?;
    }
    if let Some(team) = obj_at(ctx, "team") {
        if team.get("objectType").and_then(Value::as_str) != Some("Group") {
            return fail(&path.key("team"), "team must be a Group");
        }
        check_group(team, &path.key("team"))?;
    }
    for key in ["revision", "platform"] {
        if ctx.contains_key(key) && !object_is_activity {
            return fail(
                &path.key(key),
                format!("context.{key} is only allowed when the object is an Activity"),
            );
        }
    }
    if let Some(lang) = str_at(ctx, "language") {
        if !is_language_tag(lang) {
            return fail(
                &path.key("language"),
                "language must be an RFC 5646 language tag",
            );
        }
    }
    if let Some(sref) = obj_at(ctx, "statement") {
        if let Some(id) = str_at(sref, "id") {
            uuid(id, &path.key("statement").key("id"))?;
        }
    }
    if let Some(ca) = obj_at(ctx, "contextActivities") {
        let ca_path = path.key("contextActivities");
        for (kind, value) in ca {
            let kind_path = ca_path.key(kind);
            match value {
                Value::Array(list) => {
                    for (i, a) in list.iter().enumerate() {
                        if let Some(a) = a.as_object() {
                            check_activity(a, &kind_path.index(i))?;
                        }
                    }
                }
                Value::Object(a) => check_activity(a, &kind_path)?,
                _ => {}
            }
        }
    }
    for (key, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
        let Some(list) = ctx.get(key).and_then(Value::as_array) else {
            continue;
        };
        let list_path = path.key(key);
        if !version.is_2_0() {
            return fail(
                &list_path,
                format!("context.{key} is an xAPI 2.0 property; this request declared {version}"),
            );
        }
        for (i, entry) in list.iter().enumerate() {
            let Some(entry) = entry.as_object() else {
                continue;
            };
            let entry_path = list_path.index(i);
            if let Some(actor) = obj_at(entry, inner) {
                if inner == "group" {
                    check_group(actor, &entry_path.key(inner))?;
                } else {
                    check_agent(actor, &entry_path.key(inner))?;
                }
            }
            if let Some(types) = entry.get("relevantTypes").and_then(Value::as_array) {
                for (j, t) in types.iter().enumerate() {
                    if let Some(t) = t.as_str() {
                        iri(t, &entry_path.key("relevantTypes").index(j))?;
                    }
                }
            }
        }
    }
    extensions(ctx, path)
}

fn check_attachment(a: &Obj, path: &JsonPath) -> Outcome {
    if let Some(u) = str_at(a, "usageType") {
        iri(u, &path.key("usageType"))?;
    }
    language_map(a, "display", path)?;
    language_map(a, "description", path)?;
    if let Some(sha2) = str_at(a, "sha2") {
        if !(is_hex(sha2, 64) || is_hex(sha2, 96) || is_hex(sha2, 128)) {
            return fail(&path.key("sha2"), "sha2 must be a hexadecimal SHA-2 digest");
        }
    }
    if let Some(url) = str_at(a, "fileUrl") {
        iri(url, &path.key("fileUrl"))?;
    }
    if let Some(ct) = str_at(a, "contentType") {
        if !is_media_type(ct) {
            return fail(
                &path.key("contentType"),
                "contentType must be an Internet Media Type (type/subtype, optional parameters, printable ASCII)",
            );
        }
    }
    Ok(())
}

fn language_map(parent: &Obj, key: &str, path: &JsonPath) -> Outcome {
    let Some(map) = obj_at(parent, key) else {
        return Ok(());
    };
    for tag in map.keys() {
        if !is_language_tag(tag) {
            return fail(
                &path.key(key).key(tag),
                format!("{tag:?} is not an RFC 5646 language tag"),
            );
        }
    }
    Ok(())
}

fn extensions(parent: &Obj, path: &JsonPath) -> Outcome {
    let Some(ext) = obj_at(parent, "extensions") else {
        return Ok(());
    };
    for key in ext.keys() {
        if !is_iri(key) {
            return fail(
                &path.key("extensions").key(key),
                "extension keys must be IRIs",
            );
        }
    }
    Ok(())
}

fn uuid(s: &str, path: &JsonPath) -> Outcome {
    if is_uuid(s) {
        Ok(())
    } else {
        fail(path, format!("{s:?} is not a UUID"))
    }
}

fn iri(s: &str, path: &JsonPath) -> Outcome {
    if is_iri(s) {
        Ok(())
    } else {
        fail(path, format!("{s:?} is not an absolute IRI"))
    }
}

fn str_at<'a>(o: &'a Obj, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn obj_at<'a>(o: &'a Obj, key: &str) -> Option<&'a Obj> {
    o.get(key).and_then(Value::as_object)
}
