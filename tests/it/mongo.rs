//! Trellis on MongoDB, black-box: a server outage under load, and two
//! instances sharing one database. Each test owns its MongoDB server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{MongoServer, Server, ADMIN_KEY, ADMIN_SECRET};

fn statement(id: Uuid, n: usize) -> Value {
    json!({
        "id": id.to_string(),
        "actor": {"mbox": format!("mailto:learner{n}@mongo.example.com")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("http://example.com/mongo/{}", n % 7)}
    })
}

/// Every statement id the server lists, following `more` links.
fn all_ids(server: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = "/xapi/statements?limit=500&ascending=true".to_owned();
    loop {
        let (status, body) = server.request("GET", &path, None);
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        for s in page["statements"].as_array().unwrap() {
            ids.push(s["id"].as_str().unwrap().to_owned());
        }
        match page["more"].as_str() {
            Some(more) if !more.is_empty() => path = more.to_owned(),
            _ => return ids,
        }
    }
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
    let server = Server::start_mongo(data.path(), &mongo.uri(), "faults");
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, stop, outcomes) = (server.client(), stop.clone(), outcomes.clone());
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
                    let outcome = client.exchange(
                        Some((ADMIN_KEY, ADMIN_SECRET)),
                        "POST",
                        "/xapi/statements",
                        &[],
                        Some(&body),
                    );
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

    let readyz = || server.client().anonymous("GET", "/readyz", &[]).status;
    let became_ready = |deadline: Duration| {
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            if readyz() == 200 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    };
    assert!(became_ready(Duration::from_secs(30)), "never ready");
    std::thread::sleep(Duration::from_millis(1500));
    mongo.kill_9();
    // Longer than the server selection timeout (5 s): requests must fail,
    // and readiness (probed every 2 s with a 2 s timeout) must say so.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(readyz(), 503, "not ready while MongoDB is down");
    // Past the transaction deadline (10 s) too: the request in flight at
    // the crash cannot ride the outage out, so some request must fail.
    std::thread::sleep(Duration::from_secs(5));
    mongo.restart();
    assert!(
        became_ready(Duration::from_secs(30)),
        "ready again once MongoDB is back"
    );
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }

    let o = outcomes.lock().unwrap();
    assert!(
        !o.failures.is_empty(),
        "the outage went unnoticed: no request failed"
    );
    for (status, retry_after) in &o.failures {
        assert_eq!(*status, 503, "a failed write must be a 503, got {status}");
        assert!(retry_after, "a 503 must carry Retry-After");
    }
    assert!(
        o.acknowledged.len() > 50,
        "too little was written before and after the outage"
    );

    // Trellis recovered by itself; every acknowledged statement is there once.
    let listed = all_ids(&server);
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
        .map(|id| {
            server
                .request("GET", &format!("/xapi/statements?statementId={id}"), None)
                .0
        })
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
    let a = Server::start_mongo(da.path(), &mongo.uri(), "shared");
    let b = Server::start_mongo(db.path(), &mongo.uri(), "shared");
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
        let (status, response) = server.request("POST", "/xapi/statements", Some(&body));
        assert_eq!(status, 200, "{response}");
        sent.extend(ids.iter().map(Uuid::to_string));
    }
    // Both list every statement once, in the order they were stored.
    assert_eq!(all_ids(&a), sent);
    assert_eq!(all_ids(&b), sent);

    // A `more` link from one instance continues on the other.
    let (_, first) = a.request("GET", "/xapi/statements?limit=7&ascending=true", None);
    let first: Value = serde_json::from_str(&first).unwrap();
    let more = first["more"].as_str().expect("a more link").to_owned();
    let (status, second) = b.request("GET", &more, None);
    assert_eq!(status, 200, "{second}");
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["statements"][0]["id"], json!(sent[7]));

    // A statement written on one is readable at once on the other, and the
    // other's Consistent-Through covers its `stored`.
    let id = Uuid::new_v4();
    let (status, _) = a.request(
        "PUT",
        &format!("/xapi/statements?statementId={id}"),
        Some(&statement(id, 99)),
    );
    assert_eq!(status, 204);
    let r = b
        .client()
        .request(
            "GET",
            &format!("/xapi/statements?statementId={id}"),
            &[],
            None,
        )
        .expect("HTTP exchange");
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = serde_json::from_str::<Value>(&r.body).unwrap()["stored"]
        .as_str()
        .unwrap()
        .to_owned();
    let through = r
        .header("x-experience-api-consistent-through")
        .expect("Consistent-Through header")
        .to_owned();
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    assert!(parse(&through) >= parse(&stored), "{through} < {stored}");

    // A conflicting statement with the same id is refused on either.
    let mut other = statement(id, 100);
    other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/completed");
    let (status, _) = b.request("POST", "/xapi/statements", Some(&other));
    assert_eq!(status, 409);
    let unique: HashSet<String> = all_ids(&b).into_iter().collect();
    assert_eq!(unique.len(), sent.len() + 1);
}
