//! Operations behaviour of the binary: request ids, metrics labels, request
//! logs, readiness, and a graceful shutdown that loses no acknowledged
//! statement.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{wait_until, Spawn};

fn statement(tag: &str, n: usize) -> Value {
    json!({
        "actor": {"mbox": format!("mailto:{tag}{n}@ops.example.com")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("http://example.com/ops/{tag}/{n}")}
    })
}

#[test]
fn every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let client = app.anonymous();

    let generated = client.request("GET", "/healthz", &[], None);
    let id = generated.header("x-request-id").expect("x-request-id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let other = client.request("GET", "/healthz", &[], None);
    assert_ne!(other.header("x-request-id"), Some(id), "ids must differ");

    let kept = client.request(
        "GET",
        "/xapi/about",
        &[("X-Request-Id", "edge-42.a:b_c")],
        None,
    );
    assert_eq!(kept.header("x-request-id"), Some("edge-42.a:b_c"));

    let long = "x".repeat(200);
    for bad in ["two words", long.as_str(), "a/b"] {
        let replaced = client.request("GET", "/healthz", &[("X-Request-Id", bad)], None);
        let id = replaced.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{bad:?} -> {id}");
    }
    // Errors carry one too.
    let unauthorized = client.request("GET", "/xapi/statements", &[], None);
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.header("x-request-id").is_some());
}

/// The values of `label` in every series of `metric` in a scrape.
fn label_values(scrape: &str, metric: &str, label: &str) -> HashSet<String> {
    let needle = format!("{label}=\"");
    scrape
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter_map(|l| {
            let start = l.find(&needle)? + needle.len();
            let end = l[start..].find('"')? + start;
            Some(l[start..end].to_owned())
        })
        .collect()
}

#[test]
fn metrics_label_requests_by_route_template_never_by_raw_path() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    app.post_statements(&statement("m", 1));
    let agent = "%7B%22mbox%22%3A%22mailto%3Asecret.learner%40example.com%22%7D";
    for path in [
        format!("/xapi/statements?agent={agent}"),
        format!("/xapi/activities/state?activityId=http%3A%2F%2Fx.io%2Fa&agent={agent}&stateId=s"),
        "/xapi/statements/extra/segments".to_owned(),
        "/no/such/mailto:someone@example.com".to_owned(),
        "/healthz".to_owned(),
    ] {
        app.request("GET", &path, &[], None);
    }
    let scrape = app.anonymous().request("GET", "/metrics", &[], None);
    assert_eq!(scrape.status, 200);
    assert!(scrape
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    let routes = label_values(&scrape.body, "trellis_http_requests_total", "route");
    for expected in [
        "/xapi/statements",
        "/xapi/activities/state",
        "/healthz",
        "unmatched",
    ] {
        assert!(routes.contains(expected), "{expected} not in {routes:?}");
    }
    for route in &routes {
        assert!(
            route == "unmatched" || (route.starts_with('/') && !route.contains(['?', '@', '%'])),
            "raw path in a route label: {route}"
        );
    }
    assert!(!scrape.body.contains("secret.learner"));
    assert!(scrape.body.contains("trellis_statements_stored_total 1"));
    assert!(scrape.body.contains(
        "trellis_http_request_duration_seconds_count{method=\"POST\",route=\"/xapi/statements\"} 1"
    ));
    assert!(scrape.body.contains("process_resident_memory_bytes"));
}

#[test]
fn rejected_statements_are_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let bad = json!([statement("r", 1), {"actor": {"mbox": "not-a-mailto"}}]);
    let (status, _) = app.post("/xapi/statements", &bad);
    assert_eq!(status, 400);
    let (status, _) = app
        .as_user("nobody", "wrong")
        .post("/xapi/statements", &statement("r", 2));
    assert_eq!(status, 401);
    let (_, scrape) = app.anonymous().get_text("/metrics");
    assert!(
        scrape.contains("trellis_statements_rejected_total{reason=\"invalid\"} 2"),
        "{scrape}"
    );
    assert!(scrape.contains("trellis_statements_rejected_total{reason=\"forbidden\"} 1"));
    assert!(scrape.contains("trellis_statements_stored_total 0"));
}

#[test]
fn readiness_reports_every_component() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    // The aggregator loads its state after the server is up.
    let body = wait_until("readiness", Duration::from_secs(10), || {
        let (status, body) = app.anonymous().get("/readyz");
        (status == 200).then_some(body)
    });
    assert_eq!(body["status"], "ready");
    assert_eq!(body["not_ready"], json!([]));
    for component in ["store", "migrations", "server", "aggregator:cx"] {
        assert_eq!(body["checks"][component]["ready"], true, "{body}");
    }
    let (_, scrape) = app.anonymous().get_text("/metrics");
    assert!(scrape.contains("trellis_ready 1"));
}

#[test]
fn one_json_log_line_per_request_without_secrets_or_statements() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Spawn::new(dir.path()).log("info").binary();
    let sent = server.request(
        "POST",
        "/xapi/statements",
        &[("X-Request-Id", "log-test-1")],
        Some(&statement("logged", 1)),
    );
    assert_eq!(sent.status, 200);
    assert!(server.terminate().success());
    let lines = server.log_to_end();
    let text = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let request_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["request_id"] == "log-test-1")
        .collect();
    assert_eq!(request_lines.len(), 1, "{text}");
    let line = &request_lines[0]["fields"];
    assert_eq!(line["method"], "POST");
    assert_eq!(line["route"], "/xapi/statements");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].is_number());
    assert!(
        !text.contains("logged1@ops.example.com"),
        "statement in logs"
    );
    assert!(!text.contains("Basic "), "credentials in logs");
    assert!(text.contains("shutdown complete"), "{text}");
}

#[test]
fn sigterm_during_a_load_of_posts_loses_no_acknowledged_statement() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Spawn::new(dir.path()).binary();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (client, acknowledged, stop) =
                (server.client(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Acquire) {
                    let batch = Value::Array(
                        (0..10)
                            .map(|i| statement(&format!("w{w}-"), n * 10 + i))
                            .collect(),
                    );
                    n += 1;
                    match client.send("POST", "/xapi/statements", &[], Some(&batch)) {
                        Ok(r) if r.status == 200 => {
                            let ids: Vec<String> = serde_json::from_str(&r.body).unwrap();
                            acknowledged.lock().unwrap().extend(ids);
                        }
                        // Refused or cut off by the shutdown: not acknowledged.
                        Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();
    wait_until(
        "500 acknowledged statements",
        Duration::from_secs(30),
        || (acknowledged.lock().unwrap().len() >= 500).then_some(()),
    );
    let status = server.terminate();
    stop.store(true, Ordering::Release);
    for w in workers {
        w.join().unwrap();
    }
    assert!(status.success(), "trellis exited with {status}");

    let app = Spawn::new(dir.path()).in_process();
    let stored: HashSet<String> = app.statement_ids("").into_iter().collect();
    let acknowledged = acknowledged.lock().unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged statements lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}
