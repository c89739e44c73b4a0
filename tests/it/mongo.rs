//! Trellis on MongoDB, black-box: a server outage under load, and two
//! instances sharing one database. Each test owns its MongoDB server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{wait_until, Client, MongoServer, Spawn};

fn statement(id: Uuid, n: usize) -> Value {
    json!({
        "id": id.to_string(),
        "actor": {"mbox": format!("mailto:learner{n}@mongo.example.com")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("http://example.com/mongo/{}", n % 7)}
    })
}

/// Every statement id the server lists, oldest first.
fn all_ids(client: &Client) -> Vec<String> {
    client.statement_ids("ascending=true")
}

#[derive(Default)]
struct Outcomes {
    acknowledged: Vec<Uuid>,
    /// (status, whether Retry-After was sent) of every failed request.
    failures: Vec<(u16, bool)>,
}

#[test]
fn acknowledged_statements_survive_a_mongodb_crash_under_load() {
    let Some(mut mongo) = MongoServer::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let app = Spawn::new(data.path())
        .mongo(&mongo.uri(), "faults")
        .in_process();
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, stop, outcomes) = (app.client(), stop.clone(), outcomes.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
                    let body = Value::Array(
                        ids.iter()
                            .map(|id| {
                                n += 1;
                                statement(*id, w * 1_000_000 + n)
                            })
                            .collect(),
                    );
                    let outcome = client.send("POST", "/xapi/statements", &[], Some(&body));
                    let mut o = outcomes.lock().unwrap();
                    match outcome {
                        Ok(r) if r.status == 200 => o.acknowledged.extend(ids),
                        Ok(r) => o
                            .failures
                            .push((r.status, r.header("retry-after").is_some())),
                        Err(_) => o.failures.push((0, false)),
                    }
                }
            })
        })
        .collect();
    let acknowledged = || outcomes.lock().unwrap().acknowledged.len();
    let failed = || outcomes.lock().unwrap().failures.len();
    let readyz = || app.anonymous().get("/readyz").0;
    let wait = |what: &str, condition: &dyn Fn() -> bool| {
        wait_until(what, Duration::from_secs(60), || condition().then_some(()));
    };

    wait("readiness", &|| readyz() == 200);
    wait("writes before the crash", &|| acknowledged() >= 100);
    mongo.kill_9();
    // Readiness (probed every 2 s, 2 s timeout) notices the outage, and
    // requests fail once they are past the server selection timeout (5 s)
    // and the transaction deadline (10 s): the request in flight at the
    // crash cannot ride the outage out.
    wait("readiness to notice the outage", &|| readyz() == 503);
    wait("a write to fail", &|| failed() > 0);
    let before_restart = acknowledged();
    mongo.restart();
    wait("readiness once MongoDB is back", &|| readyz() == 200);
    wait("writes after the outage", &|| {
        acknowledged() >= before_restart + 100
    });
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }

    let o = outcomes.lock().unwrap();
    for (status, retry_after) in &o.failures {
        assert_eq!(*status, 503, "a failed write must be a 503, got {status}");
        assert!(retry_after, "a 503 must carry Retry-After");
    }

    // Trellis recovered by itself; every acknowledged statement is there once.
    let listed = all_ids(&app);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &listed {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "a statement is listed twice"
    );
    let missing: Vec<String> = o
        .acknowledged
        .iter()
        .map(Uuid::to_string)
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    let by_id: Vec<u16> = missing
        .iter()
        .map(|id| app.get(&format!("/xapi/statements?statementId={id}")).0)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged statements are not listed (GET by id: {by_id:?}): {missing:?}",
        missing.len(),
        o.acknowledged.len()
    );
}

#[test]
fn two_instances_on_one_database_serve_consistent_results() {
    let Some(mongo) = MongoServer::start() else {
        return;
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Spawn::new(da.path())
        .mongo(&mongo.uri(), "shared")
        .in_process();
    let b = Spawn::new(db.path())
        .mongo(&mongo.uri(), "shared")
        .in_process();
    let mut sent = Vec::new();
    for round in 0..20 {
        let server = if round % 2 == 0 { &a } else { &b };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let body = Value::Array(
            ids.iter()
                .enumerate()
                .map(|(i, id)| statement(*id, round * 3 + i))
                .collect(),
        );
        let assigned = server.post_statements(&body);
        assert_eq!(
            assigned,
            ids.iter().map(Uuid::to_string).collect::<Vec<_>>()
        );
        sent.extend(assigned);
    }
    // Both list every statement once, in the order they were stored.
    assert_eq!(all_ids(&a), sent);
    assert_eq!(all_ids(&b), sent);

    // A `more` link from one instance continues on the other.
    let (_, first) = a.get("/xapi/statements?limit=7&ascending=true");
    let more = first["more"].as_str().expect("a more link").to_owned();
    let (status, second) = b.get(&more);
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["statements"][0]["id"], json!(sent[7]));

    // A statement written on one is readable at once on the other, and the
    // other's Consistent-Through covers its `stored`.
    let id = Uuid::new_v4();
    let (status, _) = a.put(
        &format!("/xapi/statements?statementId={id}"),
        &statement(id, 99),
    );
    assert_eq!(status, 204);
    let r = b.request(
        "GET",
        &format!("/xapi/statements?statementId={id}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = r.json()["stored"].as_str().unwrap().to_owned();
    let through = r
        .header("x-experience-api-consistent-through")
        .expect("Consistent-Through header")
        .to_owned();
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    assert!(parse(&through) >= parse(&stored), "{through} < {stored}");

    // A conflicting statement with the same id is refused on either.
    let mut other = statement(id, 100);
    other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/completed");
    let (status, _) = b.post("/xapi/statements", &other);
    assert_eq!(status, 409);
    let unique: HashSet<String> = all_ids(&b).into_iter().collect();
    assert_eq!(unique.len(), sent.len() + 1);
}
