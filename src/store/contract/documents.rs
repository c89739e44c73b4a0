//! Documents, Activity definitions (`DocumentStore`) and credentials
//! (`CredentialStore`).

use serde_json::json;
use uuid::Uuid;

use super::unique_mbox;
use crate::store::{
    Credential, DocumentScope, DocumentWrite, NewStatement, Precondition, Store, StoreError,
};
use crate::xapi::document::DocumentKind;
use crate::xapi::{JsonPath, Statement, XapiVersion};

pub async fn credentials_can_be_created_listed_and_revoked(store: &dyn Store) {
    let key = format!("key-{}", Uuid::new_v4());
    let c = Credential {
        key: key.clone(),
        name: "contract".into(),
        scopes: vec!["statements/read".into(), "statements/write".into()],
        secret_hash: "$argon2id$placeholder".into(),
        created: "2026-01-01T00:00:00.000Z".into(),
    };
    store.put_credential(c.clone()).await.unwrap();
    assert_eq!(store.credential(&key).await.unwrap(), Some(c));
    assert!(store
        .credentials()
        .await
        .unwrap()
        .iter()
        .any(|c| c.key == key));
    assert!(store.revoke_credential(&key).await.unwrap());
    assert!(!store.revoke_credential(&key).await.unwrap());
    assert_eq!(store.credential(&key).await.unwrap(), None);
}

fn state_scope(registration: Option<&str>) -> DocumentScope {
    DocumentScope {
        kind: DocumentKind::State,
        activity: format!("http://example.com/contract/{}", Uuid::new_v4()),
        agent: format!("mbox:{}", unique_mbox()),
        registration: registration.map(str::to_owned),
    }
}

fn replace(content_type: &str, content: &[u8]) -> DocumentWrite {
    DocumentWrite::Replace {
        content_type: content_type.into(),
        content: content.to_vec(),
    }
}

fn merge(content: &str) -> DocumentWrite {
    DocumentWrite::Merge {
        content_type: "application/json".into(),
        content: content.as_bytes().to_vec(),
    }
}

pub async fn documents_round_trip_byte_for_byte(store: &dyn Store) {
    let scope = state_scope(None);
    let bytes: Vec<u8> = (0..=255u8).collect();
    let put = store
        .put_document(
            &scope,
            "bin",
            replace("application/octet-stream", &bytes),
            Precondition::default(),
        )
        .await
        .unwrap();
    let got = store.document(&scope, "bin").await.unwrap().unwrap();
    assert_eq!(got, put);
    assert_eq!(got.content, bytes);
    assert_eq!(got.content_type, "application/octet-stream");
    assert_eq!(got.etag.len(), 40);
    assert!(store.document(&scope, "other").await.unwrap().is_none());
}

pub async fn etag_mismatch_fails_and_changes_nothing(store: &dyn Store) {
    let scope = state_scope(None);
    let first = store
        .put_document(
            &scope,
            "d",
            replace("text/plain", b"one"),
            Precondition::default(),
        )
        .await
        .unwrap();
    let wrong = Precondition {
        if_match: Some(vec!["0".repeat(40)]),
        ..Precondition::default()
    };
    assert!(matches!(
        store
            .put_document(&scope, "d", replace("text/plain", b"two"), wrong.clone())
            .await,
        Err(StoreError::PreconditionFailed(_))
    ));
    assert!(matches!(
        store.delete_documents(&scope, Some("d"), wrong).await,
        Err(StoreError::PreconditionFailed(_))
    ));
    let only_new = Precondition {
        if_none_match: Some(vec!["*".into()]),
        ..Precondition::default()
    };
    assert!(matches!(
        store
            .put_document(&scope, "d", replace("text/plain", b"two"), only_new)
            .await,
        Err(StoreError::PreconditionFailed(_))
    ));
    assert_eq!(
        store.document(&scope, "d").await.unwrap().unwrap().content,
        b"one"
    );
    let right = Precondition {
        if_match: Some(vec![first.etag.clone()]),
        ..Precondition::default()
    };
    let second = store
        .put_document(&scope, "d", replace("text/plain", b"two"), right)
        .await
        .unwrap();
    assert_ne!(second.etag, first.etag);
    assert!(second.updated_ms > first.updated_ms);
}

pub async fn a_precondition_can_be_required_for_existing_documents(store: &dyn Store) {
    let scope = state_scope(None);
    let required = Precondition {
        required_for_existing: true,
        ..Precondition::default()
    };
    store
        .put_document(&scope, "p", replace("text/plain", b"a"), required.clone())
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_document(&scope, "p", replace("text/plain", b"b"), required)
            .await,
        Err(StoreError::PreconditionRequired(_))
    ));
    assert_eq!(
        store.document(&scope, "p").await.unwrap().unwrap().content,
        b"a"
    );
}

pub async fn posts_merge_json_objects(store: &dyn Store) {
    let scope = state_scope(None);
    store
        .put_document(
            &scope,
            "m",
            merge(r#"{"a":1,"b":{"x":1}}"#),
            Precondition::default(),
        )
        .await
        .unwrap();
    store
        .put_document(
            &scope,
            "m",
            merge(r#"{"b":{"y":2},"c":3}"#),
            Precondition::default(),
        )
        .await
        .unwrap();
    let doc = store.document(&scope, "m").await.unwrap().unwrap();
    let merged: serde_json::Value = serde_json::from_slice(&doc.content).unwrap();
    assert_eq!(merged, json!({"a":1,"b":{"y":2},"c":3}));
    store
        .put_document(
            &scope,
            "t",
            replace("text/plain", b"text"),
            Precondition::default(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_document(&scope, "t", merge(r#"{"a":1}"#), Precondition::default())
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .put_document(&scope, "m", merge("[1,2]"), Precondition::default())
            .await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn documents_are_listed_and_deleted_by_scope(store: &dyn Store) {
    let registration = Uuid::new_v4().to_string();
    let mut with_reg = state_scope(Some(&registration));
    let mut without = with_reg.clone();
    without.registration = None;
    store
        .put_document(
            &without,
            "a",
            replace("text/plain", b"1"),
            Precondition::default(),
        )
        .await
        .unwrap();
    let b = store
        .put_document(
            &with_reg,
            "b",
            replace("text/plain", b"2"),
            Precondition::default(),
        )
        .await
        .unwrap();
    let ids = |listed: Vec<(String, i64)>| listed.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.document_ids(&without, None).await.unwrap()),
        vec!["a", "b"]
    );
    let listed = store.document_ids(&with_reg, None).await.unwrap();
    assert_eq!(listed, vec![("b".to_owned(), b.updated_ms)]);
    assert!(store
        .document_ids(&without, Some(b.updated_ms))
        .await
        .unwrap()
        .is_empty());
    store
        .delete_documents(&with_reg, None, Precondition::default())
        .await
        .unwrap();
    assert_eq!(
        ids(store.document_ids(&without, None).await.unwrap()),
        vec!["a"]
    );
    with_reg.registration = None;
    store
        .delete_documents(&with_reg, None, Precondition::default())
        .await
        .unwrap();
    assert!(store.document_ids(&without, None).await.unwrap().is_empty());
}

pub async fn activity_definitions_merge_and_respect_define(store: &dyn Store) {
    let id = format!("http://example.com/contract/activity/{}", Uuid::new_v4());
    let with_name = |lang: &str, name: &str, may_define: bool| {
        let value = json!({
            "actor": {"mbox": unique_mbox()},
            "verb": {"id": "http://x.io/define"},
            "object": {"id": id, "definition": {"name": {lang: name}}}
        });
        let mut s = Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).unwrap();
        s.ensure_id();
        NewStatement::new(s, "contract".into(), may_define)
    };
    assert_eq!(store.activity_definition(&id).await.unwrap(), None);
    store
        .insert_statements(
            vec![
                with_name("en-US", "Lesson", false),
                with_name("fr-FR", "Leçon", true),
            ],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        store.activity_definition(&id).await.unwrap(),
        Some(json!({"name": {"en-US": "Lesson", "fr-FR": "Leçon"}}))
    );
    store
        .insert_statements(vec![with_name("de-DE", "Lektion", false)], vec![])
        .await
        .unwrap();
    assert_eq!(
        store.activity_definition(&id).await.unwrap(),
        Some(json!({"name": {"en-US": "Lesson", "fr-FR": "Leçon"}}))
    );
}
