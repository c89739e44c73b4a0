//! Attachments belong to their statements' readers
//! (`store::attachment_access`).

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::unique_mbox;
use crate::store::{Attachment, NewStatement, Store};
use crate::xapi::{JsonPath, Statement, XapiVersion};

/// A statement of credential `key` declaring content `sha2` (with a
/// `fileUrl`, so it is valid without the part).
fn declaring(key: &str, sha2: &str) -> NewStatement {
    let value = json!({
        "actor": {"mbox": unique_mbox()},
        "verb": {"id": "http://x.io/attached"},
        "object": {"id": "http://example.com/contract/attachments"},
        "attachments": [{
            "usageType": "http://x.io/usage",
            "display": {"en-US": "file"},
            "contentType": "text/plain",
            "length": 6,
            "sha2": sha2,
            "fileUrl": "http://example.com/file"
        }]
    });
    let mut statement =
        Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).expect("valid statement");
    statement.ensure_id();
    NewStatement::new(statement, key.to_owned(), false)
}

fn content() -> Attachment {
    let data = Uuid::new_v4().to_string().into_bytes();
    Attachment {
        sha2: format!("{:x}", Sha256::digest(&data)),
        content_type: "text/plain".into(),
        data,
    }
}

pub async fn attachments_go_only_with_statements_that_carried_them_or_their_sender(
    store: &dyn Store,
) {
    let secret = content();
    let carrier = declaring("alice", &secret.sha2);
    let carrier_id = carrier.statement.id().unwrap();
    store
        .insert_statements(vec![carrier], vec![secret.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.attachments(&[carrier_id]).await.unwrap(),
        std::slice::from_ref(&secret)
    );

    // Another credential declaring the same hash, without the content,
    // gets nothing: the hash is no key.
    let thief = declaring("mallory", &secret.sha2);
    let thief_id = thief.statement.id().unwrap();
    store.insert_statements(vec![thief], vec![]).await.unwrap();
    assert!(store.attachments(&[thief_id]).await.unwrap().is_empty());

    // The credential that sent the content may refer to it again.
    let again = declaring("alice", &secret.sha2);
    let again_id = again.statement.id().unwrap();
    store.insert_statements(vec![again], vec![]).await.unwrap();
    assert_eq!(
        store.attachments(&[again_id]).await.unwrap(),
        std::slice::from_ref(&secret)
    );

    // Content the other credential sends itself it gets with its own
    // statements, and only with those; each hash once per call.
    let own = content();
    let mine = declaring("mallory", &own.sha2);
    let mine_id = mine.statement.id().unwrap();
    store
        .insert_statements(vec![mine], vec![own.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.attachments(&[mine_id]).await.unwrap(),
        std::slice::from_ref(&own)
    );
    let both = store
        .attachments(&[thief_id, carrier_id, mine_id, again_id])
        .await
        .unwrap();
    assert_eq!(both, [secret, own]);
    assert!(store
        .attachments(&[Uuid::new_v4()])
        .await
        .unwrap()
        .is_empty());
}
