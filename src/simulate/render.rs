//! Turning simulated events into xAPI statements (valid for 1.0.3 and 2.0).
//! Survey answers, purchases, refunds and experiment exposures follow the
//! CX xAPI Profile (`schemas/cx-profile.jsonld`).

use serde_json::{json, Map, Value};

use super::catalog::{self, Course};
use super::journey::{Actor, Defect, Event, Kind};
use crate::xapi::datatypes::format_timestamp;

const ADL: &str = "http://adlnet.gov/expapi";

/// The CX xAPI Profile's purchase and refund verbs and its extensions.
pub const PURCHASE_VERB: &str = "http://activitystrea.ms/schema/1.0/purchase";
pub const REFUND_VERB: &str = "urn:trellis:cx:verb:refunded";
pub const AMOUNT_EXTENSION: &str = "urn:trellis:cx:extension:amount";
pub const CURRENCY_EXTENSION: &str = "urn:trellis:cx:extension:currency";
pub const EXPERIMENT_EXTENSION: &str = "urn:trellis:cx:extension:experiment";

fn verb(name: &str) -> Value {
    json!({"id": format!("{ADL}/verbs/{name}"), "display": {"en-US": name}})
}

fn course_activity(c: &Course) -> Value {
    activity(c.iri(), &c.title, &format!("{ADL}/activities/course"))
}

/// `result.extensions` of a purchase or refund, spoilt by `defect`.
fn money(amount: u32, currency: &str, defect: Option<Defect>) -> Value {
    let mut extensions = Map::new();
    extensions.insert(
        AMOUNT_EXTENSION.into(),
        match defect {
            Some(Defect::AmountAsText) => amount.to_string().into(),
            _ => amount.into(),
        },
    );
    match defect {
        Some(Defect::NoCurrency) => {}
        Some(Defect::LowercaseCurrency) => {
            extensions.insert(CURRENCY_EXTENSION.into(), currency.to_lowercase().into());
        }
        _ => {
            extensions.insert(CURRENCY_EXTENSION.into(), currency.into());
        }
    }
    json!({ "extensions": extensions })
}

fn activity(id: String, name: &str, kind: &str) -> Value {
    json!({
        "objectType": "Activity",
        "id": id,
        "definition": {"name": {"en-US": name}, "type": kind}
    })
}

fn duration(seconds: u32) -> String {
    format!("PT{}M{}S", seconds / 60, seconds % 60)
}

fn actor(actor: &Actor) -> Value {
    match actor {
        Actor::Learner(n) => catalog::learner_agent(*n),
        Actor::Registrar => catalog::registrar_agent(),
        Actor::Group(number, members, identified) => {
            let members: Vec<Value> = members.iter().map(|m| catalog::learner_agent(*m)).collect();
            let mut group = Map::new();
            group.insert("objectType".into(), "Group".into());
            group.insert("name".into(), format!("Study group {}", number + 1).into());
            if *identified {
                group.insert(
                    "mbox".into(),
                    format!(
                        "mailto:study-group-{}@groups.school.example.com",
                        number + 1
                    )
                    .into(),
                );
            }
            group.insert("member".into(), members.into());
            Value::Object(group)
        }
    }
}

/// The xAPI statement of `event`.
pub fn statement(event: &Event, courses: &[Course]) -> Value {
    let course = event.course.map(|c| &courses[c as usize]);
    let (verb, object, result) = match (&event.kind, course) {
        (Kind::FirstVisit, _) => (
            verb("experienced"),
            activity(
                catalog::ONBOARDING_IRI.into(),
                "Welcome tour",
                &format!("{ADL}/activities/module"),
            ),
            None,
        ),
        (Kind::Registered, Some(c)) => (verb("registered"), course_activity(c), None),
        (
            Kind::Purchased {
                amount,
                currency,
                defect,
            },
            Some(c),
        ) => (
            json!({"id": PURCHASE_VERB, "display": {"en-US": "purchased"}}),
            course_activity(c),
            Some(money(*amount, currency, *defect)),
        ),
        (
            Kind::Refunded {
                amount, currency, ..
            },
            Some(c),
        ) => (
            json!({"id": REFUND_VERB, "display": {"en-US": "refunded"}}),
            course_activity(c),
            Some(money(*amount, currency, None)),
        ),
        (Kind::LessonLaunched { lesson }, Some(c)) => (
            verb("launched"),
            activity(
                c.lesson_iri(*lesson),
                &format!("{}: lesson {}", c.title, lesson + 1),
                &format!("{ADL}/activities/lesson"),
            ),
            None,
        ),
        (Kind::LessonCompleted { lesson, seconds }, Some(c)) => (
            verb("completed"),
            activity(
                c.lesson_iri(*lesson),
                &format!("{}: lesson {}", c.title, lesson + 1),
                &format!("{ADL}/activities/lesson"),
            ),
            Some(json!({"completion": true, "duration": duration(*seconds)})),
        ),
        (
            Kind::Assessment {
                scaled,
                passed,
                attempt,
                seconds,
            },
            Some(c),
        ) => (
            verb(if *passed { "passed" } else { "failed" }),
            activity(
                c.assessment_iri(),
                &format!("{}: final assessment", c.title),
                &format!("{ADL}/activities/assessment"),
            ),
            Some(json!({
                "score": {"scaled": scaled, "raw": (scaled * 100.0).round(), "min": 0, "max": 100},
                "success": passed,
                "completion": true,
                "duration": duration(*seconds),
                "extensions": {"https://school.example.com/xapi/extensions/attempt": attempt}
            })),
        ),
        (Kind::CourseCompleted { scaled }, Some(c)) => (
            verb("completed"),
            course_activity(c),
            Some(json!({"score": {"scaled": scaled}, "success": true, "completion": true})),
        ),
        (Kind::Mistake, Some(c)) => (
            verb("completed"),
            course_activity(c),
            Some(json!({"completion": true})),
        ),
        (Kind::Survey { survey, raw }, Some(c)) => {
            let (min, max) = survey.scale();
            let mut object = activity(
                c.survey_iri(*survey),
                &format!("{}: {} survey", c.title, survey.slug().to_uppercase()),
                &survey.activity_type(),
            );
            object["definition"]["description"] = json!({"en-US": survey.question()});
            (
                verb("answered"),
                object,
                Some(json!({
                    "score": {"raw": raw, "min": min, "max": max},
                    "response": raw.to_string()
                })),
            )
        }
        (Kind::LiveSession { week }, Some(c)) => (
            verb("attended"),
            activity(
                c.live_session_iri(*week),
                &format!("{}: live session, week {}", c.title, week + 1),
                &format!("{ADL}/activities/meeting"),
            ),
            None,
        ),
        (Kind::Voided { target }, _) => (
            verb("voided"),
            json!({"objectType": "StatementRef", "id": target.to_string()}),
            None,
        ),
        (_, None) => unreachable!("journey.rs gives every course event its course"),
    };
    let mut s = Map::new();
    s.insert("id".into(), event.id.to_string().into());
    s.insert("actor".into(), actor(&event.actor));
    s.insert("verb".into(), verb);
    s.insert("object".into(), object);
    if let Some(result) = result {
        s.insert("result".into(), result);
    }
    let mut context = Map::new();
    if let Some(c) = course {
        if let Some(reg) = event.registration {
            context.insert("registration".into(), reg.to_string().into());
        }
        let mut activities = Map::new();
        // The course itself is the object of purchase, enrolment and
        // completion; its parts name it as their parent.
        if !matches!(
            event.kind,
            Kind::Registered
                | Kind::Purchased { .. }
                | Kind::Refunded { .. }
                | Kind::CourseCompleted { .. }
                | Kind::Mistake
        ) {
            activities.insert(
                "parent".into(),
                json!([{"objectType": "Activity", "id": c.iri()}]),
            );
        }
        activities.insert(
            "grouping".into(),
            json!([{"objectType": "Activity", "id": catalog::program_iri(c.program),
                    "definition": {"name": {"en-US": catalog::program_title(c.program)}}}]),
        );
        context.insert("contextActivities".into(), Value::Object(activities));
    }
    if let Kind::Refunded { purchase, .. } = event.kind {
        // The purchase refunded, as the profile recommends.
        context.insert(
            "statement".into(),
            json!({"objectType": "StatementRef", "id": purchase.to_string()}),
        );
    }
    if let Some(x) = event.exposure {
        context.insert(
            "extensions".into(),
            json!({ EXPERIMENT_EXTENSION: {"id": x.experiment, "variant": x.variant} }),
        );
    }
    if !context.is_empty() {
        context.insert("platform".into(), "Trellis simulator".into());
        context.insert("language".into(), "en-US".into());
        s.insert("context".into(), Value::Object(context));
    }
    let at = chrono::DateTime::from_timestamp_millis(event.at_ms).unwrap_or_default();
    s.insert("timestamp".into(), format_timestamp(at).into());
    Value::Object(s)
}
