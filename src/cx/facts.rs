//! What the CX metrics need from one stored statement: a `Fact`, read once
//! when the aggregator folds the log (and kept, in compact form, in the
//! state and its persisted records instead of the statement).
//!
//! Facts keep raw values (verb, `result` flags and scores, the object's own
//! `definition.type`, amounts, experiment exposures); configuration
//! (completion verbs, thresholds, survey type mapping) is applied when the
//! state is built from facts, so changing it needs no rebuild of the
//! persisted records. Extraction parses only the fields it needs, borrowing
//! strings from the stored JSON text.

use std::borrow::Cow;
use std::fmt;

use chrono::DateTime;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use uuid::Uuid;

use crate::store::StoredStatement;

pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";
/// The verb of a purchase (docs/cx-metrics.md, Part 2).
pub const PURCHASE_VERB: &str = "http://activitystrea.ms/schema/1.0/purchase";
/// The verb of a refund.
pub const REFUND_VERB: &str = "urn:trellis:cx:verb:refunded";
pub const AMOUNT_EXTENSION: &str = "urn:trellis:cx:extension:amount";
pub const CURRENCY_EXTENSION: &str = "urn:trellis:cx:extension:currency";
pub const EXPERIMENT_EXTENSION: &str = "urn:trellis:cx:extension:experiment";

/// One counted statement, reduced to what the metrics read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fact<'a> {
    /// Log position: the arrival order (ties of event time).
    pub seq: i64,
    /// IFI key of the learner (`xapi::statement::ifi_key`); `None` for a
    /// Group actor (counted in statement totals only).
    pub learner: Option<Cow<'a, str>>,
    /// Event time in microseconds since the Unix epoch (UTC).
    pub time: i64,
    pub verb: Cow<'a, str>,
    /// The object's id when the object is an Activity.
    pub object: Option<Cow<'a, str>>,
    /// `contextActivities.parent` and `grouping` ids, deduplicated, without
    /// `object`.
    pub context: Vec<Cow<'a, str>>,
    /// `result.completion` is true.
    pub completion: bool,
    /// `result.success` is true.
    pub success: bool,
    pub scaled: Option<f64>,
    /// `result.score.raw`.
    pub raw: Option<f64>,
    /// The object Activity's own `definition.type`, as the statement carries it.
    pub activity_type: Option<Cow<'a, str>>,
    /// A purchase or refund verb.
    pub purchase: Option<Purchase<'a>>,
    /// An experiment exposure in `context.extensions`.
    pub exposure: Option<Exposure<'a>>,
}

/// A statement with the purchase or refund verb.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase<'a> {
    pub refund: bool,
    /// Amount and currency when both are well formed (an amount that is a
    /// JSON number >= 0, a currency of exactly three uppercase ASCII
    /// letters); `None` makes the statement an invalid purchase or refund.
    pub valid: Option<(f64, Cow<'a, str>)>,
}

/// An exposure to a variant of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure<'a> {
    pub experiment: Cow<'a, str>,
    pub variant: Cow<'a, str>,
}

impl Fact<'_> {
    /// The same fact owning its strings.
    pub fn into_owned(self) -> Fact<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Fact {
            seq: self.seq,
            learner: self.learner.map(own),
            time: self.time,
            verb: own(self.verb),
            object: self.object.map(own),
            context: self.context.into_iter().map(own).collect(),
            completion: self.completion,
            success: self.success,
            scaled: self.scaled,
            raw: self.raw,
            activity_type: self.activity_type.map(own),
            purchase: self.purchase.map(|p| Purchase {
                refund: p.refund,
                valid: p.valid.map(|(a, c)| (a, own(c))),
            }),
            exposure: self.exposure.map(|e| Exposure {
                experiment: own(e.experiment),
                variant: own(e.variant),
            }),
        }
    }
}

/// What a log entry means to the metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry<'a> {
    /// A counted statement.
    Counted(Box<Fact<'a>>),
    /// A voiding statement: never counted, retracts its target.
    Voids(Uuid),
    /// A voided statement (never counted) or one that cannot be read.
    Ignored,
}

/// Classifies a stored statement. A statement already voided when read is
/// ignored; a voiding statement read later retracts a fact read earlier.
pub fn extract(stored: &StoredStatement) -> LogEntry<'_> {
    let Ok(raw) = serde_json::from_str::<RawStatement<'_>>(&stored.json) else {
        return LogEntry::Ignored;
    };
    if let Some(target) = raw.voided_target() {
        return LogEntry::Voids(target);
    }
    if stored.voided {
        return LogEntry::Ignored;
    }
    LogEntry::Counted(Box::new(raw.into_fact(stored.seq, stored.stored_ms)))
}

/// The fact of a stored statement whatever its voided state (a voided
/// statement's fact is what its voiding retracts); `None` for a voiding
/// statement or unreadable JSON.
pub fn fact_of(stored: &StoredStatement) -> Option<Fact<'_>> {
    let raw = serde_json::from_str::<RawStatement<'_>>(&stored.json).ok()?;
    if raw.voided_target().is_some() {
        return None;
    }
    Some(raw.into_fact(stored.seq, stored.stored_ms))
}

#[derive(Deserialize)]
struct RawStatement<'a> {
    #[serde(borrow, default)]
    actor: Option<RawActor<'a>>,
    #[serde(borrow, default)]
    verb: Option<RawId<'a>>,
    #[serde(borrow, default)]
    object: Option<RawObject<'a>>,
    #[serde(default)]
    result: Option<RawResult>,
    #[serde(borrow, default)]
    context: Option<RawContext<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawActor<'a> {
    #[serde(rename = "objectType", borrow, default)]
    object_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mbox: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mbox_sha1sum: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    openid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account: Option<RawAccount<'a>>,
}

#[derive(Deserialize)]
struct RawAccount<'a> {
    #[serde(rename = "homePage", borrow, default)]
    home_page: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawId<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawObject<'a> {
    #[serde(rename = "objectType", borrow, default)]
    object_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    definition: Option<RawDefinition<'a>>,
}

#[derive(Deserialize)]
struct RawDefinition<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(default)]
    completion: Option<bool>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    score: Option<RawScore>,
    #[serde(default)]
    extensions: Option<RawResultExtensions>,
}

#[derive(Deserialize)]
struct RawScore {
    #[serde(default)]
    scaled: Option<f64>,
    #[serde(default)]
    raw: Option<f64>,
}

#[derive(Deserialize)]
struct RawResultExtensions {
    #[serde(rename = "urn:trellis:cx:extension:amount", default)]
    amount: Option<Value>,
    #[serde(rename = "urn:trellis:cx:extension:currency", default)]
    currency: Option<Value>,
}

#[derive(Deserialize)]
struct RawContext<'a> {
    #[serde(rename = "contextActivities", borrow, default)]
    context_activities: Option<RawContextActivities<'a>>,
    #[serde(default)]
    extensions: Option<RawContextExtensions>,
}

#[derive(Deserialize)]
struct RawContextActivities<'a> {
    #[serde(borrow, default)]
    parent: Option<Ids<'a>>,
    #[serde(borrow, default)]
    grouping: Option<Ids<'a>>,
}

#[derive(Deserialize)]
struct RawContextExtensions {
    #[serde(rename = "urn:trellis:cx:extension:experiment", default)]
    experiment: Option<Value>,
}

/// The ids of a context activity list: an array of Activities, or (before
/// normalisation) one Activity.
struct Ids<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Ids<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ids<'a>, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Ids<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an Activity or an array of Activities")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ids<'a>, A::Error> {
                let mut ids = Vec::new();
                while let Some(item) = seq.next_element::<RawId<'a>>()? {
                    ids.extend(item.id);
                }
                Ok(Ids(ids))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Ids<'a>, M::Error> {
                let one = RawId::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Ids(one.id.into_iter().collect()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'a> RawStatement<'a> {
    fn verb_id(&self) -> &str {
        self.verb
            .as_ref()
            .and_then(|v| v.id.as_deref())
            .unwrap_or_default()
    }

    fn voided_target(&self) -> Option<Uuid> {
        if self.verb_id() != VOIDED_VERB {
            return None;
        }
        let object = self.object.as_ref()?;
        if object.object_type.as_deref() != Some("StatementRef") {
            return None;
        }
        Uuid::parse_str(object.id.as_deref()?).ok()
    }

    fn into_fact(self, seq: i64, stored_ms: i64) -> Fact<'a> {
        let learner = self.actor.as_ref().and_then(learner_key);
        let time = self
            .timestamp
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros())
            .unwrap_or(stored_ms.saturating_mul(1000));
        let verb = self.verb.and_then(|v| v.id).unwrap_or(Cow::Borrowed(""));
        let (object, activity_type) = match self.object {
            Some(o) if matches!(o.object_type.as_deref(), None | Some("Activity")) => {
                (o.id, o.definition.and_then(|d| d.kind))
            }
            _ => (None, None),
        };
        let mut context: Vec<Cow<'a, str>> = Vec::new();
        let (activities, extensions) = match self.context {
            Some(c) => (c.context_activities, c.extensions),
            None => (None, None),
        };
        if let Some(ca) = activities {
            for id in [ca.parent, ca.grouping]
                .into_iter()
                .flatten()
                .flat_map(|ids| ids.0)
            {
                if Some(&id) != object.as_ref() && !context.contains(&id) {
                    context.push(id);
                }
            }
        }
        let (completion, success, scaled, raw, amounts) = match self.result {
            Some(r) => (
                r.completion == Some(true),
                r.success == Some(true),
                r.score.as_ref().and_then(|s| s.scaled),
                r.score.as_ref().and_then(|s| s.raw),
                r.extensions,
            ),
            None => (false, false, None, None, None),
        };
        let purchase = match &*verb {
            PURCHASE_VERB | REFUND_VERB => Some(Purchase {
                refund: verb == REFUND_VERB,
                valid: amounts.and_then(|e| valid_amount(e.amount, e.currency)),
            }),
            _ => None,
        };
        let exposure = extensions.and_then(|e| e.experiment).and_then(|v| match v {
            Value::Object(mut o) => match (o.remove("id"), o.remove("variant")) {
                (Some(Value::String(id)), Some(Value::String(variant))) => Some(Exposure {
                    experiment: Cow::Owned(id),
                    variant: Cow::Owned(variant),
                }),
                _ => None,
            },
            _ => None,
        });
        Fact {
            seq,
            learner,
            time,
            verb,
            object,
            context,
            completion,
            success,
            scaled,
            raw,
            activity_type,
            purchase,
            exposure,
        }
    }
}

fn valid_amount(
    amount: Option<Value>,
    currency: Option<Value>,
) -> Option<(f64, Cow<'static, str>)> {
    let amount = amount?.as_f64().filter(|a| a.is_finite() && *a >= 0.0)?;
    match currency? {
        Value::String(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
            Some((amount, Cow::Owned(c)))
        }
        _ => None,
    }
}

/// The IFI key of an Agent actor, as `xapi::statement::ifi_key` spells it;
/// `None` for a Group.
fn learner_key<'a>(actor: &RawActor<'a>) -> Option<Cow<'a, str>> {
    if actor.object_type.as_deref() == Some("Group") {
        return None;
    }
    if let Some(m) = &actor.mbox {
        return Some(Cow::Owned(format!("mbox:{m}")));
    }
    if let Some(s) = &actor.mbox_sha1sum {
        return Some(Cow::Owned(format!("sha1:{}", s.to_ascii_lowercase())));
    }
    if let Some(s) = &actor.openid {
        return Some(Cow::Owned(format!("openid:{s}")));
    }
    let account = actor.account.as_ref()?;
    Some(Cow::Owned(format!(
        "account:{}|{}",
        account.home_page.as_deref()?,
        account.name.as_deref()?
    )))
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

    fn fact(value: Value) -> Fact<'static> {
        match extract(&stored(value, false)) {
            LogEntry::Counted(f) => (*f).into_owned(),
            other => panic!("expected a counted statement, got {other:?}"),
        }
    }

    #[test]
    fn each_ifi_kind_identifies_the_learner_as_ifi_key_does_and_groups_are_not_learners() {
        let base = |actor: Value| json!({"actor": actor, "verb": {"id": "v:x"}, "object": {"id": "http://a"}});
        for actor in [
            json!({"mbox": "mailto:a@x"}),
            json!({"mbox_sha1sum": "ABC"}),
            json!({"openid": "http://o"}),
            json!({"account": {"homePage": "http://h", "name": "n"}}),
        ] {
            assert_eq!(
                fact(base(actor.clone())).learner.as_deref(),
                crate::xapi::statement::ifi_key(&actor).as_deref()
            );
        }
        assert_eq!(
            fact(base(json!({"mbox_sha1sum": "ABC"})))
                .learner
                .as_deref(),
            Some("sha1:abc")
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
                "grouping": {"id": "http://program"}}}
        }));
        assert_eq!(f.object.as_deref(), Some("http://q"));
        assert_eq!(f.context, vec!["http://course", "http://program"]);
        assert!(f.completion && !f.success);
        assert_eq!((f.raw, f.scaled), (Some(9.0), Some(0.9)));
        assert_eq!(
            f.activity_type.as_deref(),
            Some("urn:trellis:cx:activity-type:nps")
        );
        let agent_object = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"objectType": "Agent", "mbox": "mailto:b@x"}}),
        );
        assert_eq!(agent_object.object, None);
    }

    #[test]
    fn purchases_refunds_and_exposures_are_read_and_malformed_amounts_are_invalid() {
        let buy = |amount: Value, currency: Value| {
            fact(json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": PURCHASE_VERB},
                "object": {"id": "http://course"},
                "result": {"extensions": {AMOUNT_EXTENSION: amount, CURRENCY_EXTENSION: currency}}}))
            .purchase
            .unwrap()
        };
        assert_eq!(
            buy(json!(49.5), json!("EUR")).valid,
            Some((49.5, Cow::Borrowed("EUR")))
        );
        assert_eq!(buy(json!(0), json!("USD")).valid.map(|v| v.0), Some(0.0));
        for (amount, currency) in [
            (json!(-1), json!("EUR")),
            (json!("10"), json!("EUR")),
            (json!(10), json!("eur")),
            (json!(10), json!("EURO")),
            (json!(10), json!(978)),
        ] {
            assert_eq!(
                buy(amount.clone(), currency.clone()).valid,
                None,
                "{amount} {currency}"
            );
        }
        let refund = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": REFUND_VERB},
            "object": {"id": "http://course"}}),
        );
        assert_eq!(
            refund.purchase,
            Some(Purchase {
                refund: true,
                valid: None
            })
        );
        let exposed = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"id": "http://course"},
            "context": {"extensions": {EXPERIMENT_EXTENSION: {"id": "onboarding", "variant": "b"}}}}),
        );
        assert_eq!(
            exposed.exposure,
            Some(Exposure {
                experiment: "onboarding".into(),
                variant: "b".into()
            })
        );
        let malformed = fact(
            json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"},
            "object": {"id": "http://course"},
            "context": {"extensions": {EXPERIMENT_EXTENSION: "onboarding/b"}}}),
        );
        assert_eq!(malformed.exposure, None);
    }

    #[test]
    fn voiding_statements_and_voided_statements_are_not_counted() {
        let target = Uuid::new_v4();
        let voiding = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": VOIDED_VERB},
            "object": {"objectType": "StatementRef", "id": target.to_string()}});
        assert_eq!(
            extract(&stored(voiding.clone(), false)),
            LogEntry::Voids(target)
        );
        assert_eq!(fact_of(&stored(voiding, false)), None);
        let plain = json!({"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "v:x"}, "object": {"id": "http://a"}});
        assert_eq!(extract(&stored(plain.clone(), true)), LogEntry::Ignored);
        assert!(fact_of(&stored(plain, true)).is_some());
        assert_eq!(
            extract(&stored(json!("not an object"), false)),
            LogEntry::Ignored
        );
    }
}
