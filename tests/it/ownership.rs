//! What a `statements/read/mine` credential may do with statements another
//! credential sent: neither read nor void them, nor learn that they exist.

use serde_json::{json, Value};

use crate::helpers::{Cli, Client, Spawn};

/// A credential with `scopes`, created on the command line beside the
/// running server; answers a client acting as it.
pub fn credential(app: &Client, dir: &std::path::Path, name: &str, scopes: &str) -> Client {
    let created = Cli::run(
        dir,
        &[
            "credentials",
            "create",
            "--name",
            name,
            "--scopes",
            scopes,
            "--json",
        ],
    );
    let created: Value = serde_json::from_str(&created).unwrap();
    app.as_user(
        created["key"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    )
}

fn voiding(target: &str) -> Value {
    json!({
        "actor": {"mbox": "mailto:voider@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target}
    })
}

/// The 404 answer without the id it names.
fn without_id(body: &Value, id: &str) -> String {
    body.to_string().replace(id, "ID")
}

#[test]
fn a_read_mine_credential_can_neither_void_nor_tell_apart_another_credentials_statement() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let mine = "statements/write,statements/read/mine";
    let alice = credential(&app, dir.path(), "alice", mine);
    let mallory = credential(&app, dir.path(), "mallory", mine);
    let ids = alice.post_statements(&json!({
        "actor": {"mbox": "mailto:alice@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.com/ownership"}
    }));
    let alices = &ids[0];
    let missing = uuid::Uuid::new_v4().to_string();

    // Reading: another credential's statement and a missing one read alike.
    let (status, exists) = mallory.get(&format!("/xapi/statements?statementId={alices}"));
    assert_eq!(status, 404, "{exists}");
    let (status, absent) = mallory.get(&format!("/xapi/statements?statementId={missing}"));
    assert_eq!(status, 404, "{absent}");
    assert_eq!(without_id(&exists, alices), without_id(&absent, &missing));
    let (status, exists) = mallory.get(&format!("/xapi/statements?voidedStatementId={alices}"));
    let (_, absent) = mallory.get(&format!("/xapi/statements?voidedStatementId={missing}"));
    assert_eq!(status, 404);
    assert_eq!(without_id(&exists, alices), without_id(&absent, &missing));

    // Voiding: refused for another credential's statement and a missing one
    // alike, and nothing is voided.
    let (status, refused) = mallory.post("/xapi/statements", &voiding(alices));
    assert_eq!(status, 403, "{refused}");
    let (status, absent) = mallory.post("/xapi/statements", &voiding(&missing));
    assert_eq!(status, 403, "{absent}");
    assert_eq!(without_id(&refused, alices), without_id(&absent, &missing));
    let (status, _) = alice.get(&format!("/xapi/statements?statementId={alices}"));
    assert_eq!(status, 200, "mallory voided alice's statement");

    // Its own statements, stored or in the same batch, it may void.
    let (status, body) = alice.post("/xapi/statements", &voiding(alices));
    assert_eq!(status, 200, "{body}");
    let (status, _) = alice.get(&format!("/xapi/statements?voidedStatementId={alices}"));
    assert_eq!(status, 200);
    let fresh = uuid::Uuid::new_v4().to_string();
    let batch = json!([
        {"id": fresh, "actor": {"mbox": "mailto:m@example.com"},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
         "object": {"id": "http://example.com/ownership/2"}},
        voiding(&fresh)
    ]);
    let (status, body) = mallory.post("/xapi/statements", &batch);
    assert_eq!(status, 200, "{body}");
    // A credential that may read everything voids any statement.
    let ids = mallory.post_statements(&json!({
        "actor": {"mbox": "mailto:m@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.com/ownership/3"}
    }));
    let (status, body) = app.post("/xapi/statements", &voiding(&ids[0]));
    assert_eq!(status, 200, "{body}");
}
