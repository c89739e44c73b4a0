//! `Statement`: an incoming statement that passed the schema and the rules,
//! normalised the way the LRS stores it, with the query terms it answers to.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::datatypes::{format_timestamp, parse_timestamp};
use super::path::JsonPath;
use super::rules::{self, VOIDED_VERB};
use super::schema;
use super::version::XapiVersion;
use super::ValidationError;

pub const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";

/// A validated statement. Only `parse` makes one, so holding a `Statement`
/// means holding a statement the LRS may store.
#[derive(Debug, Clone)]
pub struct Statement {
    body: Map<String, Value>,
    /// The statement as the client sent it (before normalisation): the
    /// payload a JWS signature must match.
    original: Map<String, Value>,
    had_timestamp: bool,
}

/// Attachment metadata declared in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub sha2: String,
    pub content_type: String,
    pub usage_type: String,
    pub has_file_url: bool,
}

/// Everything the store indexes a statement by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementTerms {
    /// `agent` filter: actor or object Agent/Group, by IFI key.
    pub agents: Vec<String>,
    /// `related_agents=true`: every Agent/Group anywhere in the statement.
    pub related_agents: Vec<String>,
    pub verb: String,
    /// `activity` filter: the object Activity.
    pub activity: Option<String>,
    /// `related_activities=true`: every Activity anywhere in the statement.
    pub related_activities: Vec<String>,
    pub registration: Option<String>,
}

impl Statement {
    /// Validates `value` by the rules of `version` and normalises it:
    /// timestamps become UTC with milliseconds, single contextActivities
    /// become arrays.
    pub fn parse(
        value: Value,
        version: XapiVersion,
        path: &JsonPath,
    ) -> Result<Statement, ValidationError> {
        let Value::Object(original) = value else {
            return Err(ValidationError::new(
                path.clone(),
                "a statement must be a JSON object",
            ));
        };
        let as_value = Value::Object(original);
        schema::check_structure(&as_value, path)?;
        let Value::Object(original) = as_value else {
            unreachable!("checked above")
        };
        rules::check_statement(&original, version, path)?;

        let mut body = original.clone();
        // The LRS sets `stored`; a client's value is replaced.
        body.shift_remove("stored");
        let had_timestamp = body.contains_key("timestamp");
        normalise(&mut body, version);
        if !body.contains_key("version") {
            body.insert("version".into(), version.default_statement_version().into());
        }
        Ok(Statement {
            body,
            original,
            had_timestamp,
        })
    }

    pub fn id(&self) -> Option<Uuid> {
        self.body
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// Gives the statement its id, keeping one the client sent.
    pub fn ensure_id(&mut self) -> Uuid {
        self.ensure_id_or(Uuid::new_v4())
    }

    /// Keeps the client's id, or gives the statement `id` (a PUT's
    /// `statementId`) when it has none.
    pub fn ensure_id_or(&mut self, id: Uuid) -> Uuid {
        if let Some(own) = self.id() {
            // Store the canonical lower-case form so lookups are exact.
            self.body.insert("id".into(), own.to_string().into());
            return own;
        }
        // `id` goes first so stored statements read naturally.
        let mut body = Map::with_capacity(self.body.len() + 1);
        body.insert("id".into(), id.to_string().into());
        body.extend(std::mem::take(&mut self.body));
        self.body = body;
        id
    }

    pub fn set_authority(&mut self, authority: Value) {
        self.body.insert("authority".into(), authority);
    }

    pub fn verb_id(&self) -> &str {
        self.body
            .get("verb")
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The statement a voiding statement voids.
    pub fn voided_target(&self) -> Option<Uuid> {
        (self.verb_id() == VOIDED_VERB)
            .then(|| self.statement_ref_target())
            .flatten()
    }

    /// The target of a StatementRef object.
    pub fn statement_ref_target(&self) -> Option<Uuid> {
        statement_ref_target(&self.body)
    }

    pub fn attachments(&self) -> Vec<AttachmentRef> {
        let Some(list) = self.body.get("attachments").and_then(Value::as_array) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(Value::as_object)
            .map(|a| AttachmentRef {
                sha2: a
                    .get("sha2")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                content_type: a
                    .get("contentType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                usage_type: a
                    .get("usageType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                has_file_url: a.contains_key("fileUrl"),
            })
            .collect()
    }

    /// The statement as sent, which a signature's payload must match.
    pub fn original(&self) -> &Map<String, Value> {
        &self.original
    }

    pub fn terms(&self) -> StatementTerms {
        StatementTerms::of(&self.body)
    }

    /// Whether an already stored statement with the same id is the same
    /// statement (then a resubmission is accepted without change).
    pub fn is_equivalent_to(&self, stored: &Map<String, Value>) -> bool {
        let strip = |m: &Map<String, Value>| {
            let mut m = m.clone();
            for key in ["stored", "authority", "version"] {
                m.remove(key);
            }
            if !self.had_timestamp {
                m.remove("timestamp");
            }
            m
        };
        strip(&self.body) == strip(stored)
    }

    /// The statement as JSON text, without the times the store assigns.
    /// Computed before the store's transaction so the writer only splices.
    pub fn serialize(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_default()
    }

    /// `serialized` (from `serialize`) with `stored`, and `timestamp` when
    /// the client sent none, appended.
    pub fn stored_json(&self, serialized: &str, stored: &str) -> String {
        let body = serialized.strip_suffix('}').unwrap_or(serialized);
        let mut json = String::with_capacity(body.len() + 80);
        json.push_str(body);
        json.push_str(",\"stored\":\"");
        json.push_str(stored);
        json.push('"');
        if !self.had_timestamp {
            json.push_str(",\"timestamp\":\"");
            json.push_str(stored);
            json.push('"');
        }
        json.push('}');
        json
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }
}

impl StatementTerms {
    /// The terms of a statement's body, as validated or as stored (the
    /// times the store adds are no terms): a store's background indexer
    /// derives them from the stored text.
    pub fn of(body: &Map<String, Value>) -> StatementTerms {
        let mut t = StatementTerms {
            verb: body
                .get("verb")
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            registration: body
                .get("context")
                .and_then(|c| c.get("registration"))
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
            ..StatementTerms::default()
        };
        // A Group matches the agent filter through its members too
        // (Communication 2.1.3, `agent` parameter).
        if let Some(actor) = body.get("actor") {
            collect_agents(actor, &mut t.agents);
        }
        if let Some(object) = body.get("object") {
            match object.get("objectType").and_then(Value::as_str) {
                Some("Agent") | Some("Group") => collect_agents(object, &mut t.agents),
                None | Some("Activity") => {
                    t.activity = object.get("id").and_then(Value::as_str).map(str::to_owned)
                }
                _ => {}
            }
        }
        collect_related(body, &mut t);
        if let Some(authority) = body.get("authority") {
            collect_agents(authority, &mut t.related_agents);
        }
        t.related_agents.sort();
        t.related_agents.dedup();
        t.related_activities.sort();
        t.related_activities.dedup();
        t
    }
}

/// The target of a StatementRef object in a statement's body.
pub fn statement_ref_target(body: &Map<String, Value>) -> Option<Uuid> {
    let object = body.get("object")?;
    if object.get("objectType").and_then(Value::as_str) != Some("StatementRef") {
        return None;
    }
    object
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn normalise(stmt: &mut Map<String, Value>, version: XapiVersion) {
    if let Some(Value::String(t)) = stmt.get("timestamp") {
        if let Some(parsed) = parse_timestamp(t, version) {
            stmt.insert("timestamp".into(), format_timestamp(parsed).into());
        }
    }
    if let Some(Value::Object(ctx)) = stmt.get_mut("context") {
        if let Some(Value::Object(ca)) = ctx.get_mut("contextActivities") {
            for value in ca.values_mut() {
                if value.is_object() {
                    *value = Value::Array(vec![value.take()]);
                }
            }
        }
    }
    if let Some(Value::Object(object)) = stmt.get_mut("object") {
        if object.get("objectType").and_then(Value::as_str) == Some("SubStatement") {
            normalise(object, version);
        }
    }
}

/// The key an Agent or identified Group is matched by: its IFI.
pub fn ifi_key(actor: &Value) -> Option<String> {
    let o = actor.as_object()?;
    if let Some(m) = o.get("mbox").and_then(Value::as_str) {
        return Some(format!("mbox:{m}"));
    }
    if let Some(s) = o.get("mbox_sha1sum").and_then(Value::as_str) {
        return Some(format!("sha1:{}", s.to_ascii_lowercase()));
    }
    if let Some(s) = o.get("openid").and_then(Value::as_str) {
        return Some(format!("openid:{s}"));
    }
    if let Some(a) = o.get("account").and_then(Value::as_object) {
        let home = a.get("homePage").and_then(Value::as_str)?;
        let name = a.get("name").and_then(Value::as_str)?;
        return Some(format!("account:{home}|{name}"));
    }
    None
}

fn collect_agents(actor: &Value, out: &mut Vec<String>) {
    out.extend(ifi_key(actor));
    if let Some(members) = actor.get("member").and_then(Value::as_array) {
        for m in members {
            out.extend(ifi_key(m));
        }
    }
}

/// Related agents and activities of a statement or SubStatement.
fn collect_related(stmt: &Map<String, Value>, t: &mut StatementTerms) {
    if let Some(actor) = stmt.get("actor") {
        collect_agents(actor, &mut t.related_agents);
    }
    if let Some(object) = stmt.get("object") {
        match object.get("objectType").and_then(Value::as_str) {
            Some("Agent") | Some("Group") => collect_agents(object, &mut t.related_agents),
            Some("SubStatement") => {
                if let Some(sub) = object.as_object() {
                    collect_related(sub, t)
                }
            }
            Some("StatementRef") => {}
            _ => t
                .related_activities
                .extend(object.get("id").and_then(Value::as_str).map(str::to_owned)),
        }
    }
    let Some(ctx) = stmt.get("context") else {
        return;
    };
    for key in ["instructor", "team"] {
        if let Some(a) = ctx.get(key) {
            collect_agents(a, &mut t.related_agents);
        }
    }
    for (key, inner) in [("contextAgents", "agent"), ("contextGroups", "group")] {
        for entry in ctx.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(a) = entry.get(inner) {
                collect_agents(a, &mut t.related_agents);
            }
        }
    }
    if let Some(ca) = ctx.get("contextActivities").and_then(Value::as_object) {
        for list in ca.values() {
            let items = match list {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            };
            for a in items {
                t.related_activities
                    .extend(a.get("id").and_then(Value::as_str).map(str::to_owned));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Statement, ValidationError> {
        Statement::parse(v, XapiVersion::V2_0, &JsonPath::root())
    }

    fn simple() -> Value {
        json!({
            "actor": {"mbox": "mailto:ana@example.com", "name": "Ana"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
            "object": {"id": "http://example.com/lesson/3"}
        })
    }

    #[test]
    fn a_simple_statement_parses_and_gets_a_version() {
        let s = parse(simple()).unwrap();
        assert_eq!(s.body()["version"], "2.0.0");
        assert_eq!(s.verb_id(), "http://adlnet.gov/expapi/verbs/completed");
    }

    #[test]
    fn errors_carry_the_path_of_the_offending_property() {
        let mut v = simple();
        v["actor"]["mbox"] = json!("ana@example.com");
        let err = parse(v).unwrap_err();
        assert_eq!(err.path.as_str(), "$.actor.mbox");

        let mut v = simple();
        v["verb"]["id"] = json!("not an iri");
        assert_eq!(parse(v).unwrap_err().path.as_str(), "$.verb.id");
    }

    #[test]
    fn timestamps_are_normalised_to_utc_milliseconds() {
        let mut v = simple();
        v["timestamp"] = json!("2023-05-04T12:00:00-05:00");
        let s = parse(v).unwrap();
        assert_eq!(s.body()["timestamp"], "2023-05-04T17:00:00.000Z");
    }

    #[test]
    fn single_context_activities_become_arrays() {
        let mut v = simple();
        v["context"] =
            json!({"contextActivities": {"parent": {"id": "http://example.com/course"}}});
        let s = parse(v).unwrap();
        assert!(s.body()["context"]["contextActivities"]["parent"].is_array());
        assert_eq!(
            s.terms().related_activities,
            vec!["http://example.com/course", "http://example.com/lesson/3"]
        );
    }

    #[test]
    fn context_agents_are_rejected_in_1_0() {
        let mut v = simple();
        v["context"] = json!({"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:b@example.com"}}]});
        let err = Statement::parse(v.clone(), XapiVersion::V1_0, &JsonPath::root()).unwrap_err();
        assert_eq!(err.path.as_str(), "$.context.contextAgents");
        assert!(parse(v).is_ok());
    }

    #[test]
    fn equivalence_ignores_lrs_assigned_properties() {
        let mut a = parse(simple()).unwrap();
        a.ensure_id();
        let stored = a.stored_json(&a.serialize(), "2024-01-01T00:00:00.000Z");
        let stored: Map<String, Value> = serde_json::from_str(&stored).unwrap();
        assert_eq!(stored["timestamp"], stored["stored"]);
        let mut b = parse(simple()).unwrap();
        b.body.insert("id".into(), a.body()["id"].clone());
        b.set_authority(json!({"mbox": "mailto:someone@else.org"}));
        assert!(b.is_equivalent_to(&stored));
        b.body.insert("result".into(), json!({"success": true}));
        assert!(!b.is_equivalent_to(&stored));
    }

    #[test]
    fn terms_cover_actor_object_and_context() {
        let mut v = simple();
        v["context"] = json!({
            "registration": "AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            "instructor": {"mbox": "mailto:teacher@example.com"}
        });
        let t = parse(v).unwrap().terms();
        assert_eq!(t.agents, vec!["mbox:mailto:ana@example.com"]);
        assert!(t
            .related_agents
            .contains(&"mbox:mailto:teacher@example.com".to_owned()));
        assert_eq!(t.activity.as_deref(), Some("http://example.com/lesson/3"));
        assert_eq!(
            t.registration.as_deref(),
            Some("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
        );
    }

    #[test]
    fn voiding_statements_name_their_target() {
        let target = Uuid::new_v4();
        let v = json!({
            "actor": {"mbox": "mailto:ana@example.com"},
            "verb": {"id": VOIDED_VERB},
            "object": {"objectType": "StatementRef", "id": target.to_string()}
        });
        assert_eq!(parse(v).unwrap().voided_target(), Some(target));
    }
}
