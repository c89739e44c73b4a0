//! What the CX metrics need from one stored statement: a compact `Fact`,
//! extracted once when the aggregator reads the log and persisted instead
//! of the statement.
//!
//! Facts keep raw values (verb, `result` flags, the object's own
//! `definition.type`); configuration (completion verbs, thresholds, survey
//! type mapping) is applied when a metric is computed, so changing it needs
//! no rebuild.
//!
//! A persisted fact (a record) is one format byte, `RECORD_FORMAT`, then
//! the fact as JSON. The records of a format this build does not read are
//! not converted: the aggregator drops them and rebuilds from the log (see
//! `Aggregator::load`). Changing `Fact`'s serialised form means a new format.

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::store::StoredStatement;
use crate::xapi::statement::ifi_key;

pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";

/// One counted statement, reduced to what the metrics read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Log position (tie-break between equal event times).
    pub seq: i64,
    /// IFI key of the learner; `None` for a Group actor (counted in
    /// statement totals only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learner: Option<String>,
    /// Event time in microseconds since the Unix epoch (UTC).
    pub time: i64,
    pub verb: String,
    /// The object's id when the object is an Activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// `contextActivities.parent` and `grouping` ids, deduplicated, without
    /// `object`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// `result.completion` is true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub completion: bool,
    /// `result.success` is true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled: Option<f64>,
    /// `result.score.raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<f64>,
    /// The object Activity's own `definition.type`, as the statement carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_type: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The format of the records this build writes and reads. Format 1 (before
/// formats were numbered) was the bare JSON object.
pub const RECORD_FORMAT: u8 = 2;

/// A record that does not hold a fact of `RECORD_FORMAT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record format {found}, this build reads format {RECORD_FORMAT}")]
    OtherFormat { found: u8 },
    #[error("unreadable record: {0}")]
    Unreadable(String),
}

impl Fact {
    /// The persisted form: the format byte, then JSON.
    pub fn to_record(&self) -> Vec<u8> {
        let mut record = vec![RECORD_FORMAT];
        // A `Fact` (strings, numbers, booleans) always serialises.
        let _ = serde_json::to_writer(&mut record, self);
        record
    }

    pub fn from_record(record: &[u8]) -> Result<Fact, RecordError> {
        match record.split_first() {
            Some((&RECORD_FORMAT, json)) => {
                serde_json::from_slice(json).map_err(|e| RecordError::Unreadable(e.to_string()))
            }
            // Format 1 was the bare JSON object.
            Some((b'{', _)) => Err(RecordError::OtherFormat { found: 1 }),
            Some((&found, _)) => Err(RecordError::OtherFormat { found }),
            None => Err(RecordError::Unreadable("empty".into())),
        }
    }
}

/// What a log entry means to the metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    /// A counted statement.
    Counted(Uuid, Box<Fact>),
    /// A voiding statement: never counted, retracts its target.
    Voids(Uuid),
    /// A voided statement (never counted) or one that cannot be read.
    Ignored,
}

/// Classifies a stored statement. A statement already voided when read is
/// ignored; a voiding statement read later retracts a fact read earlier.
pub fn extract(stored: &StoredStatement) -> LogEntry {
    let Ok(value) = serde_json::from_str::<Value>(&stored.json) else {
        return LogEntry::Ignored;
    };
    if let Some(target) = voided_target(&value) {
        return LogEntry::Voids(target);
    }
    if stored.voided {
        return LogEntry::Ignored;
    }
    LogEntry::Counted(stored.id, Box::new(fact_of(&value, stored)))
}

fn voided_target(value: &Value) -> Option<Uuid> {
    if value.pointer("/verb/id").and_then(Value::as_str) != Some(VOIDED_VERB) {
        return None;
    }
    let object = value.get("object")?;
    if object.get("objectType").and_then(Value::as_str) != Some("StatementRef") {
        return None;
    }
    object
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

fn fact_of(value: &Value, stored: &StoredStatement) -> Fact {
    let actor = value.get("actor");
    let is_group = actor
        .and_then(|a| a.get("objectType"))
        .and_then(Value::as_str)
        == Some("Group");
    let learner = if is_group {
        None
    } else {
        actor.and_then(ifi_key)
    };
    let time = value
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_micros())
        .unwrap_or(stored.stored_ms.saturating_mul(1000));
    let object = value.get("object");
    let object_is_activity = object.is_some_and(|o| {
        matches!(
            o.get("objectType").and_then(Value::as_str),
            None | Some("Activity")
        )
    });
    let object_id = object
        .filter(|_| object_is_activity)
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let activity_type = object
        .filter(|_| object_is_activity)
        .and_then(|o| o.pointer("/definition/type"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut context: Vec<String> = Vec::new();
    for kind in ["parent", "grouping"] {
        let list = value
            .pointer(&format!("/context/contextActivities/{kind}"))
            .map(|v| match v {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            })
            .unwrap_or_default();
        for activity in list {
            if let Some(id) = activity.get("id").and_then(Value::as_str) {
                if Some(id) != object_id.as_deref() && !context.iter().any(|c| c == id) {
                    context.push(id.to_owned());
                }
            }
        }
    }
    let result = value.get("result");
    let flag = |name: &str| {
        result
            .and_then(|r| r.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let score = |name: &str| {
        result
            .and_then(|r| r.get("score"))
            .and_then(|s| s.get(name))
            .and_then(Value::as_f64)
    };
    Fact {
        seq: stored.seq,
        learner,
        time,
        verb: value
            .pointer("/verb/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        object: object_id,
        context,
        completion: flag("completion"),
        success: flag("success"),
        scaled: score("scaled"),
        raw: score("raw"),
        activity_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(value: Value, voided: bool) -> StoredStatement {
        StoredStatement {
            seq: 7,
            id: Uuid::new_v4(),
            stored_ms: 1_700_000_000_123,
            voided,
            json: value.to_string(),
        }
    }

    fn fact(value: Value) -> Fact {
        match extract(&stored(value, false)) {
            LogEntry::Counted(_, f) => *f,
            other => panic!("expected a counted statement, got {other:?}"),
        }
    }

    #[test]
    fn each_ifi_kind_identifies_the_learner_and_groups_are_not_learners() {
        let base = |actor: Value| json!({"actor": actor, "verb": {"id": "v:x"}, "object": {"id": "http://a"}});
        assert_eq!(
            fact(base(json!({"mbox": "mailto:a@x"}))).learner.as_deref(),
            Some("mbox:mailto:a@x")
        );
        assert_eq!(
            fact(base(json!({"mbox_sha1sum": "ABC"})))
                .learner
                .as_deref(),
            Some("sha1:abc")
        );
        assert_eq!(
            fact(base(json!({"openid": "http://o"}))).learner.as_deref(),
            Some("openid:http://o")
        );
        assert_eq!(
            fact(base(
                json!({"account": {"homePage": "http://h", "name": "n"}})
            ))
            .learner
            .as_deref(),
            Some("account:http://h|n")
        );
        let group = json!({"objectType": "Group", "mbox": "mailto:g@x", "member": []});
        assert_eq!(fact(base(group)).learner, None);
    }

    #[test]
    fn event_time_is_the_timestamp_else_stored() {
        let with = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"id": "http://a"}, "timestamp": "2024-01-02T03:04:05.678901Z"});
        assert_eq!(fact(with).time, 1_704_164_645_678_901);
        let without = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"}, "object": {"id": "http://a"}});
        assert_eq!(fact(without).time, 1_700_000_000_123_000);
    }

    #[test]
    fn scopes_results_and_survey_fields_are_extracted() {
        let f = fact(json!({
            "actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"id": "http://q", "definition": {"type": "urn:trellis:cx:activity-type:nps"}},
            "result": {"completion": true, "success": false, "score": {"raw": 9, "scaled": 0.9}},
            "context": {"contextActivities": {
                "parent": [{"id": "http://course"}, {"id": "http://q"}],
                "grouping": [{"id": "http://course"}, {"id": "http://program"}]}}
        }));
        assert_eq!(f.object.as_deref(), Some("http://q"));
        assert_eq!(f.context, vec!["http://course", "http://program"]);
        assert!(f.completion && !f.success);
        assert_eq!((f.raw, f.scaled), (Some(9.0), Some(0.9)));
        assert_eq!(
            f.activity_type.as_deref(),
            Some("urn:trellis:cx:activity-type:nps")
        );
    }

    #[test]
    fn voiding_statements_and_voided_statements_are_not_counted() {
        let target = Uuid::new_v4();
        let voiding = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": VOIDED_VERB},
            "object": {"objectType": "StatementRef", "id": target.to_string()}});
        assert_eq!(extract(&stored(voiding, false)), LogEntry::Voids(target));
        let plain = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"}, "object": {"id": "http://a"}});
        assert_eq!(extract(&stored(plain, true)), LogEntry::Ignored);
    }

    #[test]
    fn facts_round_trip_through_their_persisted_form() {
        let f = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"objectType": "Agent", "mbox": "mailto:b@x"}}),
        );
        assert_eq!(f.object, None);
        let record = f.to_record();
        assert_eq!(record[0], RECORD_FORMAT);
        assert_eq!(Fact::from_record(&record).unwrap(), f);
    }

    #[test]
    fn a_record_of_another_format_is_named_by_its_format() {
        let f = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"id": "http://a"}}),
        );
        let unnumbered = serde_json::to_vec(&f).unwrap();
        assert_eq!(
            Fact::from_record(&unnumbered),
            Err(RecordError::OtherFormat { found: 1 })
        );
        let mut later = f.to_record();
        later[0] = RECORD_FORMAT + 1;
        assert_eq!(
            Fact::from_record(&later),
            Err(RecordError::OtherFormat {
                found: RECORD_FORMAT + 1
            })
        );
        assert!(matches!(
            Fact::from_record(&[RECORD_FORMAT, b'x']),
            Err(RecordError::Unreadable(_))
        ));
        assert!(matches!(
            Fact::from_record(&[]),
            Err(RecordError::Unreadable(_))
        ));
    }
}
