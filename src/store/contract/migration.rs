//! The data of the schema migration tests.

use uuid::Uuid;

use crate::store::{DocumentScope, StatementQuery, Store};
use crate::xapi::document::DocumentKind;

/// Not part of `run_all`: the data every migration test fixture holds (the
/// backends' `schema::tests::OLDER_VERSIONS`: two statements, the first
/// voided by the second, an attachment, an Activity definition, a State
/// document, a credential, and the `cx` consumer's checkpoint and record)
/// reads back unchanged once the schema is migrated to the newest version.
pub async fn fixture_data_survives_migration(store: &dyn Store) {
    let voided = Uuid::parse_str("6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d").unwrap();
    let voiding = Uuid::parse_str("0b7e8f6a-4c2d-4e1f-8a9b-3c5d7e9f1a2b").unwrap();
    let first = store.statement(voided).await.unwrap().expect("statement 1");
    assert_eq!(
        (first.seq, first.stored_ms, first.voided),
        (1, 1_700_000_000_000, true)
    );
    assert!(first.json.starts_with(r#"{"id":"6f0f2a5c"#));
    let log = store.log_after(0, 10).await.unwrap();
    assert_eq!(
        log.iter().map(|s| s.id).collect::<Vec<_>>(),
        [voided, voiding]
    );
    // Queries still run on the terms: the voided statement is left out.
    let page = store
        .query(&StatementQuery {
            agent: Some("mbox:mailto:legacy@example.com".into()),
            verb: Some("http://x.io/legacy".into()),
            limit: 10,
            ..StatementQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.statements.iter().map(|s| s.id).collect::<Vec<_>>(),
        [voiding]
    );
    // The sending credential's key survives too (`statements/read/mine`).
    let page = store
        .query(&StatementQuery {
            authority_key: Some("legacy-key".into()),
            limit: 10,
            ..StatementQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.statements.iter().map(|s| s.id).collect::<Vec<_>>(),
        [voiding]
    );
    let hash = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    // The first statement declaring a stored hash is taken as its carrier.
    let attachments = store.attachments(&[voided]).await.unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].data, b"hello");
    assert_eq!(attachments[0].sha2, hash);
    let credential = store
        .credential("legacy-key")
        .await
        .unwrap()
        .expect("credential");
    assert_eq!(credential.scopes, ["all", "statements/read"]);
    assert_eq!(
        store
            .activity_definition("http://x.io/legacy-activity")
            .await
            .unwrap(),
        Some(serde_json::json!({"name": {"en-US": "Legacy"}}))
    );
    let scope = DocumentScope {
        kind: DocumentKind::State,
        activity: "http://x.io/legacy-activity".into(),
        agent: "mbox:mailto:legacy@example.com".into(),
        registration: None,
    };
    let document = store
        .document(&scope, "bookmark")
        .await
        .unwrap()
        .expect("document");
    assert_eq!(
        (document.content, document.updated_ms),
        (b"page 7\n".to_vec(), 1_700_000_000_002)
    );
    assert_eq!(store.checkpoint("cx").await.unwrap(), 2);
    assert_eq!(
        store.aggregate_records("cx", None, 10).await.unwrap(),
        [(voided.to_string(), b"{}".to_vec())]
    );
}
