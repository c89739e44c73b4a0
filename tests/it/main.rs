//! Black-box tests of the `trellis` binary: crash durability, first start,
//! the credentials command line, operations (`ops`: metrics, logs,
//! readiness, graceful shutdown), MongoDB (`mongo`) and (`transfer.rs`)
//! simulate, import and export. (HTTP behaviour by requirement lives in
//! `conformance-tests/`.)

mod analytics;
mod helpers;
mod import_parity;
mod mongo;
mod ops;
mod transfer;

use helpers::{Cli, Server};
use serde_json::{json, Value};

fn statement(n: usize) -> Value {
    json!({
        "actor": {"mbox": format!("mailto:learner{n}@durability.example.com")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("http://example.com/durability/{n}")}
    })
}

#[test]
fn acknowledged_statements_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let mut acknowledged = Vec::new();
    for batch in 0..20 {
        let body = Value::Array((0..50).map(|i| statement(batch * 50 + i)).collect());
        let (status, response) = server.request("POST", "/xapi/statements", Some(&body));
        assert_eq!(status, 200, "{response}");
        let ids: Vec<String> = serde_json::from_str(&response).unwrap();
        acknowledged.extend(ids);
    }
    server.kill_9();

    let server = Server::start(dir.path());
    for id in &acknowledged {
        let (status, body) =
            server.request("GET", &format!("/xapi/statements?statementId={id}"), None);
        assert_eq!(
            status, 200,
            "statement {id} was acknowledged but is gone: {body}"
        );
    }
    assert_eq!(acknowledged.len(), 1000);
}

#[test]
fn a_first_start_without_credentials_prints_one_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Server::start_without_admin(dir.path());
    let printed = first.stdout_until("secret:");
    assert!(printed.contains("key:"), "{printed}");
    first.stop();
    let listed = Cli::run(dir.path(), &["credentials", "list", "--json"]);
    let list: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["scopes"], json!(["all"]));
    assert!(
        !listed.contains("secret"),
        "list must never show secrets: {listed}"
    );

    let mut second = Server::start_without_admin(dir.path());
    second.wait_healthy();
    second.stop();
    assert!(
        !second.stdout().contains("secret:"),
        "a credential was printed twice"
    );
}

#[test]
fn credentials_created_on_the_command_line_work_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let created = Cli::run(
        dir.path(),
        &[
            "credentials",
            "create",
            "--name",
            "lms",
            "--scopes",
            "statements/read",
            "--json",
        ],
    );
    let created: Value = serde_json::from_str(&created).unwrap();
    let (key, secret) = (
        created["key"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );

    let (status, _) = server.request_as(key, secret, "GET", "/xapi/statements?limit=1", None);
    assert_eq!(status, 200);
    let (status, _) =
        server.request_as(key, secret, "POST", "/xapi/statements", Some(&statement(1)));
    assert_eq!(status, 403, "statements/read must not write");

    Cli::run(dir.path(), &["credentials", "revoke", key]);
    let (status, _) = server.request_as(key, secret, "GET", "/xapi/statements?limit=1", None);
    assert_eq!(status, 401);
}

#[test]
fn oversized_bodies_get_413_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "4096"]);
    let big = Value::Array((0..100).map(statement).collect());
    let (status, body) = server.request("POST", "/xapi/statements", Some(&big));
    assert_eq!(status, 413, "{body}");
    let (_, listing) = server.request("GET", "/xapi/statements?limit=5", None);
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing["statements"], json!([]));
}
