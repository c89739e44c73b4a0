//! Black-box tests of Trellis through HTTP and the binary: crash
//! durability, first start, the credentials command line, operations
//! (`ops`: metrics, logs, readiness, graceful shutdown), MongoDB (`mongo`),
//! analytics, dashboard sessions across instances (`dashboard`), and
//! (`transfer`) simulate, import and export. `helpers` starts servers
//! (in-process or the binary, on port 0) and has the HTTP client.
//! (HTTP behaviour by requirement lives in `conformance-tests/`.)

mod analytics;
mod auth_flood;
mod bodies;
mod dashboard;
mod helpers;
mod import_parity;
mod mongo;
mod ops;
mod ownership;
mod profiles;
mod robustness;
mod round_trip;
mod transfer;

use helpers::{Cli, Spawn};
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
    let mut server = Spawn::new(dir.path()).binary();
    let mut acknowledged = Vec::new();
    for batch in 0..20 {
        let body = Value::Array((0..50).map(|i| statement(batch * 50 + i)).collect());
        acknowledged.extend(server.post_statements(&body));
    }
    assert_eq!(acknowledged.len(), 1000);
    server.kill_9();

    let app = Spawn::new(dir.path()).in_process();
    for id in &acknowledged {
        let (status, body) = app.get(&format!("/xapi/statements?statementId={id}"));
        assert_eq!(
            status, 200,
            "statement {id} was acknowledged but is gone: {body}"
        );
    }
    assert_eq!(app.statement_ids("").len(), 1000, "nothing else is stored");
}

#[test]
fn a_first_start_without_credentials_prints_one_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Spawn::new(dir.path()).without_admin().binary();
    let printed = first.stdout_until("secret:");
    assert!(printed.contains("key:"), "{printed}");
    assert!(printed.contains("secret:"), "{printed}");
    assert!(first.terminate().success());
    let listed = Cli::run(dir.path(), &["credentials", "list", "--json"]);
    let list: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["scopes"], json!(["all"]));
    assert!(
        !listed.contains("secret"),
        "list must never show secrets: {listed}"
    );
    // The printed credential works.
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {printed}"))
    };
    let (key, secret) = (field("key:"), field("secret:"));
    assert_eq!(list[0]["key"], json!(key));

    let mut second = Spawn::new(dir.path()).without_admin().binary();
    let (status, _) = second
        .as_user(&key, &secret)
        .get("/xapi/statements?limit=1");
    assert_eq!(status, 200, "the printed credential is refused");
    assert!(second.terminate().success());
    let output = second.stdout_to_end();
    assert!(
        !output.contains("secret:"),
        "a credential was printed twice: {output}"
    );
    let listed = Cli::run(dir.path(), &["credentials", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&listed).unwrap().len(),
        1
    );
}

#[test]
fn credentials_created_on_the_command_line_work_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
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
    let lms = app.as_user(
        created["key"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );

    let (status, _) = lms.get("/xapi/statements?limit=1");
    assert_eq!(status, 200);
    let (status, _) = lms.post("/xapi/statements", &statement(1));
    assert_eq!(status, 403, "statements/read must not write");

    Cli::run(
        dir.path(),
        &["credentials", "revoke", created["key"].as_str().unwrap()],
    );
    let (status, _) = lms.get("/xapi/statements?limit=1");
    assert_eq!(status, 401);
}

#[test]
fn oversized_bodies_get_413_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path())
        .flags(&["--max-body-bytes", "4096"])
        .in_process();
    let big = Value::Array((0..100).map(statement).collect());
    assert!(big.to_string().len() > 4096);
    let (status, body) = app.post("/xapi/statements", &big);
    assert_eq!(status, 413, "{body}");
    let small = Value::Array((0..2).map(statement).collect());
    assert_eq!(app.post_statements(&small).len(), 2, "the limit is not 0");
    assert_eq!(app.statement_ids("").len(), 2);
}
