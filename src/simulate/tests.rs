//! The simulator's promises, checked on the statements it renders.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

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
