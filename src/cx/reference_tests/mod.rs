//! The incremental engine against a from-scratch reference: a separate,
//! deliberately naive implementation of `docs/cx-metrics.md` over the raw
//! stored statements, compared on seeded random statement sequences (voids,
//! voids that arrive before their target, random arrival order, groups,
//! every IFI kind, late timestamps, out-of-range survey answers), with
//! restarts in the middle and several instances sharing one store.

use std::sync::Arc;

use chrono::DateTime;
use serde_json::{json, Value};
use uuid::Uuid;

mod engine;
mod engine2;
mod naive;
mod naive2;

use super::aggregator::Aggregator;
use super::metrics::{self, Period};
use super::Cx;
use super::Settings;
use crate::store::sqlite::SqliteStore;
use crate::store::{NewStatement, Store};
use crate::xapi::{JsonPath, Statement, XapiVersion};
use engine::engine;
use naive::{reference, Variant};

const DAY: i64 = 86_400_000_000;
const BASE: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

/// xorshift64*: a small seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 32) % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        (self.next() >> 32) % 100 < percent
    }
}

const ACTIVITIES: [&str; 4] = [
    "http://x.example/course/1",
    "http://x.example/course/1/lesson/1",
    "http://x.example/course/2",
    "http://x.example/program",
];
const VERBS: [&str; 6] = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
    "https://w3id.org/xapi/tla/verbs/mastered",
    "https://w3id.org/xapi/adl/verbs/satisfied",
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/answered",
];
const SURVEY_TYPES: [&str; 4] = [
    "urn:trellis:cx:activity-type:nps",
    "urn:trellis:cx:activity-type:csat",
    "urn:trellis:cx:activity-type:ces",
    "http://x.example/type/other",
];

fn actor(rng: &mut Rng) -> Value {
    let n = rng.below(12);
    match rng.below(10) {
        0 => {
            json!({"objectType": "Group", "name": "team", "member": [{"mbox": format!("mailto:m{n}@x.example")}]})
        }
        1 => json!({"objectType": "Group", "mbox": format!("mailto:g{n}@x.example")}),
        2 => json!({"mbox_sha1sum": format!("{:040x}", n)}),
        3 => json!({"openid": format!("http://openid.x.example/{n}")}),
        4 => json!({"account": {"homePage": "http://x.example", "name": format!("u{n}")}}),
        _ => json!({"mbox": format!("mailto:l{n}@x.example")}),
    }
}

fn random_statement(rng: &mut Rng) -> Value {
    let verb = VERBS[rng.below(VERBS.len())];
    let mut s =
        json!({"id": Uuid::new_v4().to_string(), "actor": actor(rng), "verb": {"id": verb}});
    if rng.chance(15) {
        let kind = SURVEY_TYPES[rng.below(SURVEY_TYPES.len())];
        s["object"] = json!({"id": format!("http://x.example/survey/{}", rng.below(3)),
            "definition": {"type": kind}});
        s["result"] = json!({"score": {"raw": rng.below(13) as i64 - 1}});
    } else if rng.chance(5) {
        s["object"] = json!({"objectType": "Agent", "mbox": "mailto:peer@x.example"});
    } else {
        s["object"] = json!({"id": ACTIVITIES[rng.below(ACTIVITIES.len())]});
        let mut result = serde_json::Map::new();
        if rng.chance(20) {
            result.insert("completion".into(), json!(rng.chance(50)));
        }
        if rng.chance(20) {
            result.insert("success".into(), json!(rng.chance(50)));
        }
        if rng.chance(30) {
            result.insert(
                "score".into(),
                json!({"scaled": rng.below(11) as f64 / 10.0}),
            );
        }
        if !result.is_empty() {
            s["result"] = Value::Object(result);
        }
    }
    if rng.chance(50) {
        let parent = ACTIVITIES[rng.below(ACTIVITIES.len())];
        let grouping = ACTIVITIES[rng.below(ACTIVITIES.len())];
        s["context"] = json!({"contextActivities": {"parent": [{"id": parent}], "grouping": [{"id": grouping}]}});
    }
    if rng.chance(8) {
        // Purchases and refunds, some malformed.
        let refund = rng.chance(25);
        s["verb"] = json!({"id": if refund { crate::cx::facts::REFUND_VERB } else { crate::cx::facts::PURCHASE_VERB }});
        s["object"] = json!({"id": ACTIVITIES[rng.below(ACTIVITIES.len())]});
        let amount = match rng.below(10) {
            0 => json!(-5),
            1 => json!("12"),
            _ => json!((rng.below(5000) as f64) / 100.0),
        };
        let currency = ["EUR", "USD", "eur", "EURO", "USD"][rng.below(5)];
        let mut ext = serde_json::Map::new();
        if !rng.chance(5) {
            ext.insert(crate::cx::facts::AMOUNT_EXTENSION.into(), amount);
        }
        ext.insert(crate::cx::facts::CURRENCY_EXTENSION.into(), json!(currency));
        s["result"] = json!({"extensions": ext});
    }
    if rng.chance(12) {
        let variant = ["control", "b", "c"][rng.below(3)];
        let id = ["exp1", "exp2"][rng.below(2)];
        let context = s
            .as_object_mut()
            .map(|o| o.entry("context").or_insert_with(|| json!({})));
        if let Some(Value::Object(c)) = context {
            c.insert(
                "extensions".into(),
                json!({crate::cx::facts::EXPERIMENT_EXTENSION: {"id": id, "variant": variant}}),
            );
        }
    }
    if rng.chance(90) {
        // Late and early data: anywhere in 120 days.
        let t = BASE + (rng.next() % (120 * DAY as u64)) as i64 / 1000 * 1000;
        s["timestamp"] = json!(super::period::rfc3339(t));
    }
    s
}

fn voiding(target: &str) -> Value {
    json!({"id": Uuid::new_v4().to_string(), "actor": {"mbox": "mailto:admin@x.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target}})
}

fn new_statement(value: Value) -> NewStatement {
    let statement =
        Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).expect("valid statement");
    NewStatement::new(statement, "test".into(), true)
}

/// A random arrival sequence: statements, voids of some of them (some
/// voids arriving before their target), shuffled.
fn random_log(rng: &mut Rng, n: usize) -> Vec<Value> {
    let mut statements: Vec<Value> = (0..n).map(|_| random_statement(rng)).collect();
    let mut voids = Vec::new();
    for s in &statements {
        if rng.chance(12) {
            voids.push(voiding(s["id"].as_str().unwrap_or_default()));
        }
    }
    statements.extend(voids);
    for i in (1..statements.len()).rev() {
        statements.swap(i, rng.below(i + 1));
    }
    statements
}

async fn insert(store: &dyn Store, rng: &mut Rng, values: &[Value]) {
    let mut i = 0;
    while i < values.len() {
        let k = (1 + rng.below(5)).min(values.len() - i);
        let batch = values[i..i + k]
            .iter()
            .cloned()
            .map(new_statement)
            .collect();
        store
            .insert_statements(batch, vec![])
            .await
            .expect("stored");
        i += k;
    }
}

// ------------------------------------------------------------ the reference

/// A counted statement as the reference reads it, straight from JSON.
struct Raw {
    seq: i64,
    learner: Option<String>,
    time: i64,
    verb: String,
    object: Option<String>,
    value: Value,
}

impl Raw {
    fn in_scope(&self, scope: Option<&str>) -> bool {
        let Some(s) = scope else { return true };
        if self.object.as_deref() == Some(s) {
            return true;
        }
        ["parent", "grouping"].iter().any(|k| {
            self.value
                .pointer(&format!("/context/contextActivities/{k}"))
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x["id"] == s))
        })
    }
    fn result_bool(&self, name: &str) -> bool {
        self.value["result"][name] == true
    }
}

async fn counted(store: &dyn Store) -> Vec<Raw> {
    let log = store.log_after(0, 1_000_000).await.unwrap();
    let mut out = Vec::new();
    for s in log {
        let v: Value = serde_json::from_str(&s.json).unwrap();
        let voiding = v["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided";
        if s.voided || voiding {
            continue;
        }
        let learner = if v["actor"]["objectType"] == "Group" {
            None
        } else if let Some(m) = v["actor"]["mbox"].as_str() {
            Some(format!("mbox:{m}"))
        } else if let Some(m) = v["actor"]["mbox_sha1sum"].as_str() {
            Some(format!("sha1:{m}"))
        } else if let Some(m) = v["actor"]["openid"].as_str() {
            Some(format!("openid:{m}"))
        } else {
            let a = &v["actor"]["account"];
            Some(format!(
                "account:{}|{}",
                a["homePage"].as_str().unwrap(),
                a["name"].as_str().unwrap()
            ))
        };
        let time = match v["timestamp"].as_str() {
            Some(t) => DateTime::parse_from_rfc3339(t).unwrap().timestamp_micros(),
            None => s.stored_ms * 1000,
        };
        let object = match v["object"]["objectType"].as_str() {
            None | Some("Activity") => v["object"]["id"].as_str().map(str::to_owned),
            _ => None,
        };
        out.push(Raw {
            seq: s.seq,
            learner,
            time,
            verb: v["verb"]["id"].as_str().unwrap().to_owned(),
            object,
            value: v,
        });
    }
    out
}

fn nearest_rank(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64 - 1e-9).ceil().max(1.0) as usize;
    Some(sorted[rank - 1] as f64 / 1e6)
}

fn stats(mut v: Vec<i64>) -> Value {
    v.sort();
    let mean =
        (!v.is_empty()).then(|| v.iter().map(|&x| x as f64 / 1e6).sum::<f64>() / v.len() as f64);
    json!({"count": v.len(), "mean": mean, "median": nearest_rank(&v, 0.5), "p90": nearest_rank(&v, 0.9)})
}

fn div(a: usize, b: usize) -> Value {
    if b == 0 {
        Value::Null
    } else {
        json!(a as f64 / b as f64)
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The parameter sets compared: defaults, then others for every
/// parameter (cohort periods, day offsets, thresholds, periods, since and
/// until, survey periods, churn bounds and paging).
fn variants() -> Vec<Variant> {
    vec![
        Variant {
            cohort: Period::Week,
            days: metrics::DEFAULT_RETENTION_DAYS.to_vec(),
            threshold: 0.8,
            engagement: Period::Week,
            activity: Period::Day,
            since: None,
            until: None,
            surveys: None,
            churn: (7, 30, 1_000_000, 0),
        },
        Variant {
            cohort: Period::Day,
            days: vec![0, 2, 45],
            threshold: 0.5,
            engagement: Period::Day,
            activity: Period::Week,
            since: Some(BASE + 10 * DAY + 5 * 3_600_000_000),
            until: Some(BASE + 40 * DAY + 7),
            surveys: Some(Period::Month),
            churn: (3, 10, 5, 2),
        },
        Variant {
            cohort: Period::Month,
            days: vec![13],
            threshold: 1.0,
            engagement: Period::Month,
            activity: Period::Month,
            since: Some(BASE - 3 * DAY),
            until: None,
            surveys: Some(Period::Week),
            churn: (0, 400, 3, 0),
        },
        Variant {
            cohort: Period::Week,
            days: vec![1, 7],
            threshold: 0.0,
            engagement: Period::Week,
            activity: Period::Day,
            since: None,
            until: Some(BASE + 33 * DAY + 11),
            surveys: Some(Period::Day),
            churn: (1, 2, 1, 0),
        },
    ]
}

async fn check(cx: &Cx, store: &dyn Store, seed: u64, what: &str) {
    let raw = counted(store).await;
    let plain = &variants()[0];
    // The data exercises what is compared.
    let all = reference(&raw, Some(ACTIVITIES[0]), BASE + 400 * DAY, plain);
    assert!(all["completion"][1].as_u64() > Some(0), "{all}");
    assert!(all["ttc"][1]["count"].as_u64() > Some(0), "{all}");
    let global = reference(&raw, None, BASE + 400 * DAY, plain);
    assert!(
        global["surveys"]["nps"][0].as_u64() > Some(0)
            && global["surveys"]["invalid"].as_u64() > Some(0),
        "{}",
        global["surveys"]
    );
    let scopes = [
        None,
        Some(ACTIVITIES[0]),
        Some(ACTIVITIES[1]),
        Some(ACTIVITIES[3]),
        Some("http://x.example/survey/1"),
        Some("http://x.example/never-seen"),
    ];
    let now = chrono::Utc::now().timestamp_micros();
    let snapshot = cx.snapshot();
    for as_of in [
        BASE + 20 * DAY + 12345,
        BASE + 61 * DAY,
        BASE + 200 * DAY,
        now + DAY,
    ] {
        for scope in scopes {
            for v in &variants() {
                let want = reference(&raw, scope, as_of, v);
                let got = engine(&snapshot.state, scope, as_of, v);
                assert!(
                    same(&want, &got),
                    "seed {seed} ({what}), scope {scope:?}, as_of {as_of}, {v:?}:\nreference {want}\nengine    {got}"
                );
            }
            check_part2(&raw, &snapshot.state, scope, as_of, seed, what);
        }
    }
}

/// Journey, funnels, experiments and revenue against the reference.
fn check_part2(
    raw: &[Raw],
    state: &crate::cx::state::State,
    scope: Option<&str>,
    as_of: i64,
    seed: u64,
    what: &str,
) {
    let compare = |name: &str, want: Value, got: Value| {
        assert!(
            same(&want, &got),
            "seed {seed} ({what}), {name}, scope {scope:?}, as_of {as_of}:\nreference {want}\nengine    {got}"
        );
    };
    compare(
        "journey",
        naive2::journey(raw, scope, as_of),
        engine2::journey(state, scope, as_of),
    );
    let verb = |v: &str| (Some(v.to_owned()), None, None);
    let funnels: [(Vec<naive2::StepRef>, Option<u32>, Option<Period>); 3] = [
        (vec![verb(VERBS[4]), verb(VERBS[0])], None, None),
        (
            vec![
                (None, Some(ACTIVITIES[1].to_owned()), None),
                verb(VERBS[5]),
                (
                    Some(VERBS[1].to_owned()),
                    Some(ACTIVITIES[0].to_owned()),
                    None,
                ),
            ],
            Some(20),
            Some(Period::Week),
        ),
        (
            vec![
                (None, None, Some(SURVEY_TYPES[0].to_owned())),
                verb(VERBS[4]),
                verb(VERBS[4]),
                (None, None, Some("http://never.example/type".to_owned())),
            ],
            Some(3),
            Some(Period::Month),
        ),
    ];
    for (steps, window, cohort) in &funnels {
        compare(
            "funnel",
            naive2::funnel(raw, scope, as_of, steps, *window, *cohort),
            engine2::funnel(state, scope, as_of, steps, *window, *cohort),
        );
    }
    for (id, metric, window, day) in [
        ("exp1", "retention", 30, 7),
        ("exp2", "retention", 1, 0),
        ("exp1", "nps", 30, 7),
        ("exp2", "csat", 30, 7),
        ("exp1", "ces", 30, 7),
        ("exp1", "completion", 30, 7),
        ("exp2", "completion", 5, 7),
        ("none", "retention", 30, 7),
    ] {
        if metric == "completion" && scope.is_none() {
            continue;
        }
        compare(
            metric,
            naive2::experiment(raw, id, metric, scope, as_of, window, day),
            engine2::experiment(state, id, metric, scope, as_of, window, day),
        );
    }
    for (currency, cohort, days) in [
        (None, Period::Month, vec![30, 90, 180, 365]),
        (Some("EUR"), Period::Week, vec![0, 3, 10]),
    ] {
        compare(
            "revenue",
            naive2::revenue(raw, scope, as_of, currency, cohort, &days),
            engine2::revenue(state, scope, as_of, currency, cohort, &days),
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn incremental_results_equal_a_recomputation_across_restarts_and_instances() {
    runtime().block_on(async {
        for seed in 1..=6u64 {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1234_5678_9abc));
            let log = random_log(&mut rng, 300);
            let (first, second) = log.split_at(log.len() / 2);

            let cx_a = Arc::new(Cx::new(Settings::default()));
            // Instance a writes a snapshot of its state as soon as its steps
            // hold 40 facts, so restarts read snapshots and steps.
            let mut a = Aggregator::load(store.clone(), cx_a.clone())
                .await
                .unwrap()
                .with_page(7)
                .with_compaction(40);
            insert(store.as_ref(), &mut rng, first).await;
            a.catch_up_with_log().await.unwrap();
            check(&cx_a, store.as_ref(), seed, "first half").await;

            // A second instance starts from the persisted state while the
            // first keeps running; both fold the second half.
            insert(store.as_ref(), &mut rng, second).await;
            let cx_b = Arc::new(Cx::new(Settings::default()));
            let mut b = Aggregator::load(store.clone(), cx_b.clone())
                .await
                .unwrap()
                .with_page(11);
            b.catch_up_with_log().await.unwrap();
            a.catch_up_with_log().await.unwrap();
            check(&cx_a, store.as_ref(), seed, "running instance").await;
            check(&cx_b, store.as_ref(), seed, "second instance").await;

            // A restart loads what the two persisted.
            let cx_c = Arc::new(Cx::new(Settings::default()));
            let mut c = Aggregator::load(store.clone(), cx_c.clone()).await.unwrap();
            assert_eq!(
                cx_c.snapshot().state.counted,
                cx_a.snapshot().state.counted,
                "seed {seed}"
            );
            c.catch_up_with_log().await.unwrap();
            check(&cx_c, store.as_ref(), seed, "after restart").await;
        }
    });
}
