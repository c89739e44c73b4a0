//! The simulator's promises, checked on the statements it renders.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

use super::experiments::{BUTTON, ONBOARDING};
use super::journey::Actor;
use super::render::{
    AMOUNT_EXTENSION, CURRENCY_EXTENSION, EXPERIMENT_EXTENSION, PURCHASE_VERB, REFUND_VERB,
};
use super::*;
use crate::xapi::datatypes::parse_timestamp;
use crate::xapi::statement::ifi_key;
use crate::xapi::{JsonPath, Statement, XapiVersion};

fn params(seed: u64) -> Params {
    Params {
        seed,
        learners: 400,
        courses: 5,
        days: 120,
        start: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
    }
}

fn lines(p: &Params) -> Vec<String> {
    Simulation::generate(p)
        .statements()
        .map(|s| s.to_string())
        .collect()
}

fn ms(s: &Value) -> i64 {
    parse_timestamp(s["timestamp"].as_str().unwrap(), XapiVersion::V2_0)
        .unwrap()
        .timestamp_millis()
}

#[test]
fn the_same_seed_gives_byte_identical_output() {
    let a = lines(&params(42));
    assert_eq!(a, lines(&params(42)));
    assert_ne!(a, lines(&params(43)));
    assert!(a.len() > 2_000, "{} statements", a.len());
    // Purchases, refunds and exposures included.
    for part in [PURCHASE_VERB, REFUND_VERB, EXPERIMENT_EXTENSION] {
        assert!(a.iter().filter(|l| l.contains(part)).count() > 10, "{part}");
    }
}

#[test]
fn every_statement_passes_trellis_validation_in_both_versions() {
    for s in Simulation::generate(&params(7)).statements() {
        for version in [XapiVersion::V2_0, XapiVersion::V1_0] {
            if let Err(e) = Statement::parse(s.clone(), version, &JsonPath::root()) {
                panic!("{e} in {s}");
            }
        }
    }
}

#[test]
fn the_population_has_what_the_metrics_need() {
    let p = params(11);
    let statements: Vec<Value> = Simulation::generate(&p).statements().collect();
    let end_ms = (p.start + chrono::Days::new(p.days as u64))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let day = 86_400_000i64;

    // Time order, inside the period, unique ids.
    let times: Vec<i64> = statements.iter().map(ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(*times.last().unwrap() < end_ms);
    let ids: HashSet<&str> = statements
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), statements.len());

    let verb = |s: &Value| {
        s["verb"]["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let count = |name: &str| statements.iter().filter(|s| verb(s) == name).count();
    for v in [
        "registered",
        "completed",
        "passed",
        "failed",
        "answered",
        "attended",
    ] {
        assert!(count(v) > 10, "too few {v}: {}", count(v));
    }

    // Courses: parent = the course for parts, grouping = the program.
    let lesson = statements.iter().find(|s| verb(s) == "launched").unwrap();
    let parent = lesson["context"]["contextActivities"]["parent"][0]["id"]
        .as_str()
        .unwrap();
    assert!(lesson["object"]["id"].as_str().unwrap().starts_with(parent));
    assert!(lesson["context"]["contextActivities"]["grouping"][0]["id"]
        .as_str()
        .unwrap()
        .contains("/programs/"));

    // Cohorts: enrolments spread over several ISO weeks and months.
    let weeks: BTreeSet<i64> = statements
        .iter()
        .filter(|s| verb(s) == "registered")
        .map(|s| (ms(s) / day + 3) / 7)
        .collect();
    assert!(weeks.len() >= 8, "enrolment weeks: {}", weeks.len());

    // Drop-off: learners enrolled in a course, not finished, whose last
    // statement in it is 7 to 30 days before the end (churn risk), and
    // learners silent for longer (churned).
    let mut last_in_course: HashMap<(String, String), i64> = HashMap::new();
    let mut completed: HashSet<(String, String)> = HashSet::new();
    let voided: HashSet<&str> = statements
        .iter()
        .filter(|s| verb(s) == "voided")
        .map(|s| s["object"]["id"].as_str().unwrap())
        .collect();
    for s in &statements {
        let Some(course) = s["context"]["contextActivities"]["parent"][0]["id"]
            .as_str()
            .or_else(|| {
                (s["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/course")
                    .then(|| s["object"]["id"].as_str().unwrap())
            })
        else {
            continue;
        };
        if s["actor"]["objectType"] == "Group" {
            continue;
        }
        let key = (ifi_key(&s["actor"]).unwrap(), course.to_owned());
        if verb(s) == "completed"
            && s["object"]["id"] == course
            && !voided.contains(s["id"].as_str().unwrap())
        {
            completed.insert(key.clone());
        }
        last_in_course.insert(key, ms(s));
    }
    let at_risk = last_in_course
        .iter()
        .filter(|(k, t)| !completed.contains(*k) && (7 * day..30 * day).contains(&(end_ms - **t)))
        .count();
    let churned = last_in_course
        .iter()
        .filter(|(k, t)| !completed.contains(*k) && end_ms - **t >= 30 * day)
        .count();
    assert!(at_risk >= 10, "learners at risk: {at_risk}");
    assert!(churned >= 10, "churned learners: {churned}");
    assert!(completed.len() >= 20, "completions: {}", completed.len());

    // Passes and failures carry scores, success and completion.
    for s in statements
        .iter()
        .filter(|s| matches!(verb(s).as_str(), "passed" | "failed"))
    {
        let scaled = s["result"]["score"]["scaled"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&scaled));
        assert_eq!(s["result"]["success"], verb(s) == "passed");
        assert_eq!(s["result"]["completion"], true);
    }

    // Surveys: all three kinds, raw scores on their scales.
    let mut surveys: HashMap<String, usize> = HashMap::new();
    for s in statements.iter().filter(|s| verb(s) == "answered") {
        let kind = s["object"]["definition"]["type"].as_str().unwrap();
        let raw = s["result"]["score"]["raw"].as_u64().unwrap() as u8;
        let survey = match kind {
            "urn:trellis:cx:activity-type:nps" => catalog::Survey::Nps,
            "urn:trellis:cx:activity-type:csat" => catalog::Survey::Csat,
            "urn:trellis:cx:activity-type:ces" => catalog::Survey::Ces,
            other => panic!("unexpected survey type {other}"),
        };
        let (min, max) = survey.scale();
        assert!((min..=max).contains(&raw), "{kind} answered {raw}");
        *surveys.entry(kind.to_owned()).or_default() += 1;
    }
    assert_eq!(surveys.len(), 3, "{surveys:?}");
    assert!(surveys.values().all(|n| *n >= 10), "{surveys:?}");
    // NPS answers include promoters and detractors.
    let nps: Vec<u64> = statements
        .iter()
        .filter(|s| s["object"]["definition"]["type"] == "urn:trellis:cx:activity-type:nps")
        .map(|s| s["result"]["score"]["raw"].as_u64().unwrap())
        .collect();
    assert!(nps.iter().any(|r| *r >= 9) && nps.iter().any(|r| *r <= 6));

    // Every IFI kind, and Groups (identified and anonymous).
    for ifi in ["mbox", "mbox_sha1sum", "openid", "account"] {
        assert!(
            statements
                .iter()
                .any(|s| s["actor"].get(ifi).is_some() && s["actor"]["objectType"] == "Agent"),
            "no learner identified by {ifi}"
        );
    }
    let groups: Vec<&Value> = statements
        .iter()
        .map(|s| &s["actor"])
        .filter(|a| a["objectType"] == "Group")
        .collect();
    assert!(groups.iter().any(|g| g.get("mbox").is_some()));
    assert!(groups.iter().any(|g| g.get("mbox").is_none()));
    assert!(groups
        .iter()
        .all(|g| g["member"].as_array().unwrap().len() >= 2));

    // Voids reference statements sent earlier.
    let mut seen = HashSet::new();
    let mut voids = 0;
    for s in &statements {
        if verb(s) == "voided" {
            voids += 1;
            let target = s["object"]["id"].as_str().unwrap();
            assert_eq!(s["object"]["objectType"], "StatementRef");
            assert!(
                seen.contains(target),
                "void of an unseen statement {target}"
            );
        }
        seen.insert(s["id"].as_str().unwrap());
    }
    assert!(voids >= 3, "voids: {voids}");

    // Time to first value: the first touch precedes the first enrolment.
    let first_visits = count("experienced");
    assert_eq!(first_visits as u32, p.learners);
}

#[test]
fn learners_buy_at_enrolment_some_get_refunds_and_finishers_buy_again() {
    let p = Params {
        learners: 2_000,
        ..params(5)
    };
    let simulation = Simulation::generate(&p);
    let statements: Vec<Value> = simulation.statements().collect();
    let voided: HashSet<&str> = statements
        .iter()
        .filter(|s| s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided")
        .map(|s| s["object"]["id"].as_str().unwrap())
        .collect();
    let counted = || {
        statements
            .iter()
            .filter(|s| !voided.contains(s["id"].as_str().unwrap()))
    };
    let money = |s: &Value| {
        let x = &s["result"]["extensions"];
        let currency = x[CURRENCY_EXTENSION]
            .as_str()
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
        Some((x[AMOUNT_EXTENSION].as_f64()?, currency?.to_owned()))
    };
    let registration = |s: &Value| s["context"]["registration"].as_str().unwrap().to_owned();
    // Purchases by registration; the course's list price.
    let mut bought: HashMap<String, &Value> = HashMap::new();
    let (mut purchases, mut invalid) = (0, 0);
    for s in counted().filter(|s| s["verb"]["id"] == PURCHASE_VERB) {
        purchases += 1;
        let Some((amount, currency)) = money(s) else {
            invalid += 1;
            continue;
        };
        let course = simulation
            .courses
            .iter()
            .find(|c| s["object"]["id"] == c.iri())
            .unwrap();
        assert_eq!(amount, course.price.amount as f64);
        assert_eq!(currency, course.price.currency);
        bought.entry(registration(s)).or_insert(s);
    }
    assert!(
        invalid > 0 && invalid * 100 < purchases,
        "{invalid} of {purchases}"
    );
    let currencies: BTreeSet<String> = bought
        .values()
        .filter_map(|s| money(s))
        .map(|m| m.1)
        .collect();
    assert_eq!(currencies.len(), 3, "{currencies:?}");
    // Voided duplicates of a purchase exist (sent twice by a webhook).
    let void_purchases = statements
        .iter()
        .filter(|s| s["verb"]["id"] == PURCHASE_VERB && voided.contains(s["id"].as_str().unwrap()))
        .count();
    assert!(void_purchases > 0);

    // A purchase comes seconds before its enrolment, of the same course (a
    // copy whose voiding falls after the period may follow); a few
    // enrolments are free.
    let mut per_registration: HashMap<String, Vec<&Value>> = HashMap::new();
    for s in counted().filter(|s| s["verb"]["id"] == PURCHASE_VERB) {
        per_registration.entry(registration(s)).or_default().push(s);
    }
    let enrolments: Vec<&Value> = counted()
        .filter(|s| s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/registered")
        .collect();
    let paid = enrolments
        .iter()
        .filter(|e| {
            let all = per_registration
                .get(&registration(e))
                .map_or(&[][..], |v| v);
            for s in all {
                assert_eq!(s["object"]["id"], e["object"]["id"]);
            }
            let first = all.iter().map(|s| ms(s)).min();
            if let Some(first) = first {
                assert!((2_000..=20_000).contains(&(ms(e) - first)));
            }
            first.is_some()
        })
        .count();
    let free = enrolments.len() - paid;
    assert!(
        free * 30 > enrolments.len() && free * 7 < enrolments.len(),
        "{free} free of {}",
        enrolments.len()
    );

    // Refunds point to an earlier purchase of the same course by the same
    // learner, in its currency, for at most its amount; some come within
    // days of the purchase, some are partial.
    let by_id: HashMap<&str, &Value> = statements
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    let (mut refunds, mut early, mut partial) = (0, 0, 0);
    for r in counted().filter(|s| s["verb"]["id"] == REFUND_VERB) {
        refunds += 1;
        assert_eq!(r["context"]["statement"]["objectType"], "StatementRef");
        let p = by_id[r["context"]["statement"]["id"].as_str().unwrap()];
        assert_eq!(p["verb"]["id"], PURCHASE_VERB);
        assert_eq!(
            (&p["actor"], &p["object"]["id"]),
            (&r["actor"], &r["object"]["id"])
        );
        let ((paid, currency), (back, back_currency)) = (money(p).unwrap(), money(r).unwrap());
        assert_eq!(currency, back_currency);
        assert!(0.0 < back && back <= paid && ms(p) < ms(r));
        early += (ms(r) - ms(p) < 3 * 86_400_000) as usize;
        partial += (back < paid) as usize;
    }
    assert!(
        refunds * 100 > bought.len() && refunds * 8 < bought.len(),
        "{refunds} refunds of {} purchases",
        bought.len()
    );
    assert!(early > 0 && partial > 0, "{early} early, {partial} partial");

    // Repeat buyers: most bought again after completing a course.
    let mut journeys: HashMap<String, Vec<&Value>> = HashMap::new();
    for s in counted().filter(|s| s["actor"]["objectType"] == "Agent") {
        journeys
            .entry(ifi_key(&s["actor"]).unwrap())
            .or_default()
            .push(s);
    }
    let (mut buyers, mut repeat, mut after_finishing) = (0, 0, 0);
    for events in journeys.values() {
        let purchases: Vec<&&Value> = events
            .iter()
            .filter(|s| s["verb"]["id"] == PURCHASE_VERB && money(s).is_some())
            .collect();
        buyers += !purchases.is_empty() as usize;
        if let Some(second) = purchases.get(1) {
            repeat += 1;
            after_finishing += events.iter().any(|s| {
                s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
                    && s["object"]["definition"]["type"]
                        == "http://adlnet.gov/expapi/activities/course"
                    && ms(s) < ms(second)
            }) as usize;
        }
    }
    assert!(
        repeat * 10 > buyers && repeat * 2 < buyers,
        "{repeat} repeat buyers of {buyers}"
    );
    assert!(
        after_finishing * 2 > repeat,
        "{after_finishing} of {repeat}"
    );
}

/// Each learner's variant of `experiment` (first exposure), and the
/// learners exposed to two variants.
fn assignments(
    events: &[journey::Event],
    experiment: &str,
) -> (HashMap<u32, &'static str>, HashSet<u32>) {
    let mut assigned = HashMap::new();
    let mut conflicted = HashSet::new();
    for e in events {
        let (Actor::Learner(n), Some(x)) = (&e.actor, e.exposure) else {
            continue;
        };
        if x.experiment == experiment && *assigned.entry(*n).or_insert(x.variant) != x.variant {
            conflicted.insert(*n);
        }
    }
    (assigned, conflicted)
}

/// Per variant: (learners, learners who completed a course).
fn completion_by_variant(
    events: &[journey::Event],
    experiment: &str,
) -> (BTreeMap<&'static str, (f64, f64)>, usize) {
    let (assigned, conflicted) = assignments(events, experiment);
    let finishers: HashSet<u32> = events
        .iter()
        .filter_map(|e| match (&e.actor, &e.kind) {
            (Actor::Learner(n), journey::Kind::CourseCompleted { .. }) => Some(*n),
            _ => None,
        })
        .collect();
    let mut by_variant: BTreeMap<&'static str, (f64, f64)> = BTreeMap::new();
    for (n, variant) in &assigned {
        if !conflicted.contains(n) {
            let v = by_variant.entry(variant).or_default();
            v.0 += 1.0;
            v.1 += finishers.contains(n) as u8 as f64;
        }
    }
    (by_variant, conflicted.len())
}

/// The two-proportion z statistic of b's rate against a's (pooled).
fn z(a: (f64, f64), b: (f64, f64)) -> f64 {
    let pooled = (a.1 + b.1) / (a.0 + b.0);
    let se = (pooled * (1.0 - pooled) * (1.0 / a.0 + 1.0 / b.0)).sqrt();
    (b.1 / b.0 - a.1 / a.0) / se
}

#[test]
fn the_onboarding_treatment_raises_completion_and_the_button_colour_changes_nothing() {
    let p = Params {
        learners: 8_000,
        ..params(17)
    };
    let simulation = Simulation::generate(&p);
    let events = simulation.events();

    let (onboarding, conflicted) = completion_by_variant(events, ONBOARDING.id);
    assert_eq!(conflicted, 0);
    assert_eq!(
        onboarding.keys().copied().collect::<Vec<_>>(),
        ONBOARDING.variants
    );
    let (control, treatment) = (onboarding["control"], onboarding["treatment"]);
    assert_eq!(control.0 + treatment.0, p.learners as f64);
    let lift = (treatment.1 / treatment.0) / (control.1 / control.0);
    assert!(
        z(control, treatment) > 5.0 && lift > 1.1,
        "control {control:?}, treatment {treatment:?}"
    );

    let (button, conflicted) = completion_by_variant(events, BUTTON.id);
    assert!(
        (1..p.learners as usize / 100).contains(&conflicted),
        "{conflicted} conflicted"
    );
    assert_eq!(button.keys().copied().collect::<Vec<_>>(), {
        let mut v = BUTTON.variants.to_vec();
        v.sort();
        v
    });
    let exposed: f64 = button.values().map(|v| v.0).sum();
    let rates: Vec<(f64, f64)> = button.values().copied().collect();
    for (i, a) in rates.iter().enumerate() {
        // An even split, and completion rates within noise.
        let sd = (exposed / 3.0 * (2.0 / 3.0)).sqrt();
        assert!((a.0 - exposed / 3.0).abs() < 4.0 * sd, "{button:?}");
        for b in &rates[i + 1..] {
            assert!(z(*a, *b).abs() < 3.0, "{button:?}");
        }
    }
}
