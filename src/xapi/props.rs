//! Property tests: no input makes the xAPI parsers panic (issue 12).
//!
//! Every field of a rich statement (found by walking it, so a field added
//! to the example is covered without a new test) is replaced by an
//! arbitrary string or an arbitrary JSON value, and the statement is parsed
//! under both versions; what parses is then put through everything the
//! store and the query path do with an accepted statement. The scalar
//! checks, the resource parameters and the JWS checks get arbitrary text.
//!
//! Case counts are bounded (`CASES`) so the property suite stays within
//! seconds in a debug build; a failure prints the shrunk input.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::datatypes::{is_duration, is_media_type, parse_timestamp};
use super::format::{self, Format};
use super::params::{iri_param, parse_agent_param, parse_uuid_param, AgentParam};
use super::signature;
use super::{JsonPath, Statement, XapiVersion};

const CASES: u32 = 256;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Shrinking is for failures; keep a failing run short too.
        max_shrink_iters: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const VERSIONS: [XapiVersion; 2] = [XapiVersion::V1_0, XapiVersion::V2_0];

/// A statement using every part of the model: Agent and Group actors,
/// result, context with every kind of context activity, context agents and
/// groups (2.0), an interaction Activity, attachments, a SubStatement.
pub(crate) fn rich_statement() -> Value {
    json!({
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": {"objectType": "Group", "name": "Team", "member": [
            {"mbox": "mailto:ana@example.com", "name": "Ana"},
            {"account": {"homePage": "http://example.com", "name": "bo"}}
        ], "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.com/q/1",
            "definition": {
                "name": {"en-US": "Question"},
                "description": {"en-US": "A question"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "moreInfo": "http://example.com/more",
                "interactionType": "choice",
                "correctResponsesPattern": ["a[,]b"],
                "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}],
                "extensions": {"http://example.com/ext": {"k": [1, 2.5, "x"]}}
            }
        },
        "result": {
            "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
            "success": true,
            "completion": true,
            "response": "a[,]b",
            "duration": "PT1H30M2.25S",
            "extensions": {"http://example.com/r": 1}
        },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"openid": "http://example.com/teacher"},
            "team": {"objectType": "Group", "account": {"homePage": "http://example.com", "name": "t"}},
            "contextActivities": {
                "parent": [{"id": "http://example.com/course"}],
                "grouping": [{"id": "http://example.com/program"}],
                "category": [{"id": "http://example.com/profile", "definition": {"type": "http://adlnet.gov/expapi/activities/profile"}}],
                "other": [{"id": "http://example.com/other"}]
            },
            "revision": "r1",
            "platform": "web",
            "language": "en-US",
            "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
            "extensions": {"http://example.com/c": "v"}
        },
        "timestamp": "2024-03-01T10:00:00.123+01:00",
        "attachments": [{
            "usageType": "http://example.com/usage",
            "display": {"en-US": "file"},
            "description": {"en-US": "a file"},
            "contentType": "text/plain; charset=utf-8",
            "length": 5,
            "sha2": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "fileUrl": "http://example.com/file.txt"
        }]
    })
}

/// The same as a SubStatement object, so the substatement rules are
/// walked too.
fn rich_sub_statement() -> Value {
    let mut sub = rich_statement();
    let Some(o) = sub.as_object_mut() else {
        return sub;
    };
    for key in ["id", "attachments", "timestamp"] {
        o.shift_remove(key);
    }
    o.insert("objectType".into(), "SubStatement".into());
    json!({
        "actor": {"mbox": "mailto:ana@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": sub,
        "context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:bo@example.com"}, "relevantTypes": ["http://example.com/t"]}],
                    "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:c@example.com"}]}}]}
    })
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every value inside `v` (the root excluded).
fn every_path(v: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::Object(o) => {
                for (k, child) in o {
                    prefix.push(Step::Key(k.clone()));
                    out.push(prefix.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    prefix.push(Step::Index(i));
                    out.push(prefix.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn slot<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Strings that look like what the fields expect, and anything at all.
pub(crate) fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,12}",
        "[PTYMWDHS0-9.,é-]{0,10}",
        "[0-9]{0,6}-[0-9]{0,3}-[0-9]{0,3}T[0-9:.]{0,12}(Z|[+-][0-9:]{0,6})?",
        "[a-z]{1,8}:[\\PC]{0,16}",
        "mailto:[\\PC]{0,10}",
        "[a-zA-Z0-9!#$&^_.+-]{0,10}/[a-zA-Z0-9!#$&^_.+-]{0,10}(;[\\PC]{0,12})?",
        "[0-9a-fA-F-]{30,40}",
        "[\\x00-\\x1f\\x7f\r\n\t ]{0,4}",
    ]
}

/// Any JSON value, nested a few levels.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// What the store and the query path do with an accepted statement: none
/// of it may panic either.
fn use_accepted(mut s: Statement, version: XapiVersion) {
    let _ = s.ensure_id();
    let _ = (s.terms(), s.attachments(), s.voided_target());
    let _ = (s.statement_ref_target(), s.verb_id().len());
    let serialized = s.serialize();
    let stored = s.stored_json(&serialized, "2024-01-01T00:00:00.000Z");
    let Ok(Value::Object(back)) = serde_json::from_str::<Value>(&stored) else {
        panic!("a stored statement is not a JSON object: {stored}");
    };
    // A resubmission of the same statement is recognised as the same
    // (numbers parse back to the same value).
    assert!(
        s.is_equivalent_to(&back),
        "not equivalent to its stored form"
    );
    for f in [Format::Exact, Format::Ids, Format::Canonical] {
        let mut v = Value::Object(back.clone());
        format::apply(&mut v, f, &["en-US".to_owned(), "fr".to_owned()]);
    }
    let _ = super::activity::defined_activities(&back);
    // What Trellis stored it accepts back (issue 12, item 8).
    let reparsed = Statement::parse(Value::Object(back), version, &JsonPath::root());
    assert!(
        reparsed.is_ok(),
        "a stored statement is refused: {reparsed:?}"
    );
}

fn parse_both(v: &Value) {
    for version in VERSIONS {
        if let Ok(s) = Statement::parse(v.clone(), version, &JsonPath::root()) {
            use_accepted(s, version);
        }
    }
}

#[test]
fn the_rich_statements_are_valid_so_the_properties_test_something() {
    for v in [rich_statement(), rich_sub_statement()] {
        for version in VERSIONS {
            let parsed = Statement::parse(v.clone(), version, &JsonPath::root());
            if version.is_2_0() || v.pointer("/context/contextAgents").is_none() {
                assert!(parsed.is_ok(), "{version:?}: {parsed:?}");
            }
        }
    }
}

fn field_strategy(base: Value) -> impl Strategy<Value = (Vec<Step>, Value)> {
    let paths = every_path(&base);
    (
        prop::sample::select(paths),
        prop_oneof![hostile_string().prop_map(Value::from), json_value()],
    )
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn any_value_in_any_statement_field_never_panics((path, value) in field_strategy(rich_statement())) {
        let mut v = rich_statement();
        if let Some(slot) = slot(&mut v, &path) {
            *slot = value;
        }
        parse_both(&v);
    }

    #[test]
    fn any_value_in_any_sub_statement_field_never_panics((path, value) in field_strategy(rich_sub_statement())) {
        let mut v = rich_sub_statement();
        if let Some(slot) = slot(&mut v, &path) {
            *slot = value;
        }
        parse_both(&v);
    }

    #[test]
    fn any_extra_key_in_any_statement_object_never_panics(
        (path, key, value) in (prop::sample::select(every_path(&rich_statement())), hostile_string(), json_value())
    ) {
        let mut v = rich_statement();
        if let Some(Value::Object(o)) = slot(&mut v, &path) {
            o.insert(key, value);
        }
        parse_both(&v);
    }

    #[test]
    fn any_json_value_as_a_statement_never_panics(v in json_value()) {
        parse_both(&v);
    }

    #[test]
    fn scalar_checks_never_panic(s in hostile_string()) {
        let _ = (is_duration(&s), is_media_type(&s));
        for version in VERSIONS {
            let _ = parse_timestamp(&s, version);
        }
        let _ = signature::truncate_duration(&s);
        let _ = format::accept_language(&s);
        let _ = Format::parse(&s);
    }

    #[test]
    fn resource_parameters_never_panic(s in hostile_string(), agent in json_value()) {
        let _ = (parse_uuid_param("registration", &s), iri_param("activity", &s));
        for kind in [AgentParam::AgentOnly, AgentParam::AgentOrGroup] {
            let _ = parse_agent_param(&s, kind);
            let _ = parse_agent_param(&agent.to_string(), kind);
        }
    }

    #[test]
    fn any_bytes_as_a_jws_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), text in hostile_string()) {
        let statement = rich_statement().as_object().cloned().unwrap_or_default();
        let _ = signature::check(&bytes, &statement);
        let _ = signature::check(text.as_bytes(), &statement);
    }

    #[test]
    fn any_jws_header_and_payload_never_panic(
        header in json_value(),
        alg in prop_oneof![Just("RS256".to_owned()), Just("RS512".to_owned()), hostile_string()],
        x5c in json_value(),
        payload in json_value(),
        signature_bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let statement = rich_statement().as_object().cloned().unwrap_or_default();
        let mut header = header;
        if let Value::Object(h) = &mut header {
            h.insert("alg".into(), alg.into());
            h.insert("x5c".into(), x5c);
        }
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        for payload in [payload, Value::Object(statement.clone())] {
            let jws = format!("{}.{}.{}", enc(&header), enc(&payload), URL_SAFE_NO_PAD.encode(&signature_bytes));
            let _ = signature::check(jws.as_bytes(), &statement);
        }
    }
}
