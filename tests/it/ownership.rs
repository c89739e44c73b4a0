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

/// A statement declaring an attachment with `sha2`; with `fileUrl` when it
/// does not carry the content.
fn attached(sha2: &str, file_url: bool) -> Value {
    let mut attachment = json!({
        "usageType": "http://example.com/usage/report",
        "display": {"en-US": "report"},
        "contentType": "text/plain",
        "length": 23,
        "sha2": sha2
    });
    if file_url {
        attachment["fileUrl"] = json!("http://example.com/report.txt");
    }
    json!({
        "actor": {"mbox": "mailto:learner@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.com/ownership/attachments"},
        "attachments": [attachment]
    })
}

#[test]
fn a_declared_hash_never_reaches_another_credentials_attachment() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let mine = "statements/write,statements/read/mine";
    let alice = credential(&app, dir.path(), "alice", mine);
    let mallory = credential(&app, dir.path(), "mallory", mine);
    let secret = b"alice's private report\n";
    let sha2 = format!("{:x}", Sha256::digest(secret));

    // Alice sends the content with her statement.
    let boundary = "ownership-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}\r\n\
         Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n",
        attached(&sha2, false)
    )
    .into_bytes();
    body.extend_from_slice(secret);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/mixed; boundary={boundary}");
    let r = alice.send_bytes(
        "POST",
        "/xapi/statements",
        &[("Content-Type", content_type.as_str())],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, page) = alice.get_text("/xapi/statements?attachments=true");
    assert_eq!(status, 200);
    assert!(page.contains("alice's private report"), "{page}");

    // Mallory declares the same hash (a fileUrl, no content) and reads her
    // own statements with their attachments: Alice's bytes are not there.
    let ids = mallory.post_statements(&attached(&sha2, true));
    let (status, page) = mallory.get_text("/xapi/statements?attachments=true");
    assert_eq!(status, 200);
    assert!(page.contains(&ids[0]), "{page}");
    assert!(!page.contains("alice's private report"), "{page}");
    let (status, single) = mallory.get_text(&format!(
        "/xapi/statements?statementId={}&attachments=true",
        ids[0]
    ));
    assert_eq!(status, 200);
    assert!(!single.contains("alice's private report"), "{single}");
    // Alice, sending the hash again without the content, still gets it.
    let again = alice.post_statements(&attached(&sha2, true));
    let (_, single) = alice.get_text(&format!(
        "/xapi/statements?statementId={}&attachments=true",
        again[0]
    ));
    assert!(single.contains("alice's private report"), "{single}");
}
