//! The storage contract: one function per behaviour every backend must
//! show. Each backend's tests call `run_all` (SQLite on every `cargo test`,
//! MongoDB against the server the test script starts).
#![cfg(any(test, feature = "contract-tests"))]

use serde_json::json;
use uuid::Uuid;

use super::{
    AggregateCommit, DocumentScope, DocumentWrite, NewStatement, Precondition, StatementQuery,
    Store, StoreError, StoreExt,
};
use crate::xapi::document::DocumentKind;
use crate::xapi::{JsonPath, Statement, XapiVersion};

pub async fn run_all(store: &dyn Store) {
    inserted_statements_can_be_read_back(store).await;
    equivalent_resubmission_is_idempotent(store).await;
    conflicting_id_is_rejected(store).await;
    batch_is_atomic(store).await;
    voiding_marks_the_target(store).await;
    voiding_a_voiding_statement_is_rejected(store).await;
    queries_filter_by_agent_and_verb(store).await;
    statement_refs_answer_the_filters_of_their_target(store).await;
    pagination_is_stable_while_statements_arrive(store).await;
    stored_never_decreases_in_log_order(store).await;
    checkpoints_are_durable_positions(store).await;
    aggregate_commits_are_atomic_and_guarded_by_the_checkpoint(store).await;
    aggregate_records_page_by_key_and_reset(store).await;
    the_last_put_of_a_key_in_a_commit_wins(store).await;
    folding_aggregate_records_reads_them_all_at_one_checkpoint(store).await;
    credentials_can_be_created_listed_and_revoked(store).await;
    documents_round_trip_byte_for_byte(store).await;
    etag_mismatch_fails_and_changes_nothing(store).await;
    a_precondition_can_be_required_for_existing_documents(store).await;
    posts_merge_json_objects(store).await;
    documents_are_listed_and_deleted_by_scope(store).await;
    activity_definitions_merge_and_respect_define(store).await;
    ping_answers_while_the_store_works(store).await;
    flush_waits_for_every_earlier_write(store).await;
}

/// A statement by `mbox` with verb `verb`, given an id.
pub fn new_statement(mbox: &str, verb: &str) -> NewStatement {
    let value = json!({
        "actor": {"mbox": mbox},
        "verb": {"id": verb},
        "object": {"id": "http://example.com/contract/activity"}
    });
    with_value(value)
}

fn with_value(value: serde_json::Value) -> NewStatement {
    let mut statement = Statement::parse(value, XapiVersion::V2_0, &JsonPath::root())
        .expect("valid test statement");
    statement.ensure_id();
    NewStatement::new(statement, "contract".into(), true)
}

fn unique_mbox() -> String {
    format!("mailto:{}@contract.example.com", Uuid::new_v4())
}

fn query_agent(mbox: &str) -> StatementQuery {
    StatementQuery {
        agent: Some(format!("mbox:{mbox}")),
        limit: 100,
        ..StatementQuery::default()
    }
}

pub async fn inserted_statements_can_be_read_back(store: &dyn Store) {
    let s = new_statement(&unique_mbox(), "http://x.io/read");
    let id = s.statement.id().unwrap();
    assert_eq!(
        store.insert_statements(vec![s], vec![]).await.unwrap(),
        vec![id]
    );
    let stored = store.statement(id).await.unwrap().expect("stored");
    let json: serde_json::Value = serde_json::from_str(&stored.json).unwrap();
    assert_eq!(json["id"], id.to_string());
    assert!(json["stored"].is_string() && json["timestamp"] == json["stored"]);
    assert!(store.statement(Uuid::new_v4()).await.unwrap().is_none());
}

pub async fn equivalent_resubmission_is_idempotent(store: &dyn Store) {
    let s = new_statement(&unique_mbox(), "http://x.io/again");
    let id = s.statement.id().unwrap();
    store
        .insert_statements(vec![s.clone()], vec![])
        .await
        .unwrap();
    let first = store.statement(id).await.unwrap().unwrap();
    assert_eq!(
        store.insert_statements(vec![s], vec![]).await.unwrap(),
        vec![id]
    );
    assert_eq!(store.statement(id).await.unwrap().unwrap(), first);
}

pub async fn conflicting_id_is_rejected(store: &dyn Store) {
    let a = new_statement(&unique_mbox(), "http://x.io/one");
    let id = a.statement.id().unwrap();
    store.insert_statements(vec![a], vec![]).await.unwrap();
    let mut b = new_statement(&unique_mbox(), "http://x.io/two");
    let mut body = b.statement.body().clone();
    body.insert("id".into(), id.to_string().into());
    b = NewStatement::new(
        Statement::parse(body.into(), XapiVersion::V2_0, &JsonPath::root()).unwrap(),
        "contract".into(),
        true,
    );
    assert!(
        matches!(store.insert_statements(vec![b], vec![]).await, Err(StoreError::Conflict(c)) if c == id)
    );
}

pub async fn batch_is_atomic(store: &dyn Store) {
    let existing = new_statement(&unique_mbox(), "http://x.io/existing");
    store
        .insert_statements(vec![existing.clone()], vec![])
        .await
        .unwrap();
    let fresh = new_statement(&unique_mbox(), "http://x.io/fresh");
    let fresh_id = fresh.statement.id().unwrap();
    let mut conflicting = new_statement(&unique_mbox(), "http://x.io/other");
    let mut body = conflicting.statement.body().clone();
    body.insert(
        "id".into(),
        existing.statement.id().unwrap().to_string().into(),
    );
    conflicting = NewStatement::new(
        Statement::parse(body.into(), XapiVersion::V2_0, &JsonPath::root()).unwrap(),
        "contract".into(),
        true,
    );
    assert!(store
        .insert_statements(vec![fresh, conflicting], vec![])
        .await
        .is_err());
    assert!(
        store.statement(fresh_id).await.unwrap().is_none(),
        "half a batch was stored"
    );
}

fn voiding(target: Uuid) -> NewStatement {
    with_value(json!({
        "actor": {"mbox": unique_mbox()},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target.to_string()}
    }))
}

pub async fn voiding_marks_the_target(store: &dyn Store) {
    let mbox = unique_mbox();
    let target = new_statement(&mbox, "http://x.io/to-void");
    let target_id = target.statement.id().unwrap();
    store.insert_statements(vec![target], vec![]).await.unwrap();
    store
        .insert_statements(vec![voiding(target_id)], vec![])
        .await
        .unwrap();
    assert!(store.statement(target_id).await.unwrap().unwrap().voided);
    // The voided statement is gone from queries; the voiding statement
    // targets it, so it answers the same filter.
    let page = store.query(&query_agent(&mbox)).await.unwrap();
    assert!(page.statements.iter().all(|s| s.id != target_id));
    assert_eq!(page.statements.len(), 1);

    // A voiding statement that arrives before its target voids it on arrival.
    let late = new_statement(&unique_mbox(), "http://x.io/late");
    let late_id = late.statement.id().unwrap();
    store
        .insert_statements(vec![voiding(late_id)], vec![])
        .await
        .unwrap();
    store.insert_statements(vec![late], vec![]).await.unwrap();
    assert!(store.statement(late_id).await.unwrap().unwrap().voided);
}

pub async fn voiding_a_voiding_statement_is_rejected(store: &dyn Store) {
    let first = voiding(Uuid::new_v4());
    let first_id = first.statement.id().unwrap();
    store.insert_statements(vec![first], vec![]).await.unwrap();
    assert!(matches!(
        store
            .insert_statements(vec![voiding(first_id)], vec![])
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!store.statement(first_id).await.unwrap().unwrap().voided);
}

pub async fn queries_filter_by_agent_and_verb(store: &dyn Store) {
    let mbox = unique_mbox();
    let batch = vec![
        new_statement(&mbox, "http://x.io/a"),
        new_statement(&mbox, "http://x.io/b"),
        new_statement(&unique_mbox(), "http://x.io/a"),
    ];
    let ids = store.insert_statements(batch, vec![]).await.unwrap();
    let page = store.query(&query_agent(&mbox)).await.unwrap();
    assert_eq!(page.statements.len(), 2);
    let mut q = query_agent(&mbox);
    q.verb = Some("http://x.io/a".into());
    let page = store.query(&q).await.unwrap();
    assert_eq!(
        page.statements.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
}

pub async fn statement_refs_answer_the_filters_of_their_target(store: &dyn Store) {
    let verb = format!("http://x.io/ref/{}", Uuid::new_v4());
    let target = new_statement(&unique_mbox(), &verb);
    let target_id = target.statement.id().unwrap();
    let referring = with_value(json!({
        "actor": {"mbox": unique_mbox()},
        "verb": {"id": "http://x.io/mentioned"},
        "object": {"objectType": "StatementRef", "id": target_id.to_string()}
    }));
    let referring_id = referring.statement.id().unwrap();
    store.insert_statements(vec![target], vec![]).await.unwrap();
    store
        .insert_statements(vec![referring], vec![])
        .await
        .unwrap();
    let q = StatementQuery {
        verb: Some(verb),
        limit: 10,
        ..StatementQuery::default()
    };
    let ids: Vec<Uuid> = store
        .query(&q)
        .await
        .unwrap()
        .statements
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![referring_id, target_id]);
}

pub async fn pagination_is_stable_while_statements_arrive(store: &dyn Store) {
    let mbox = unique_mbox();
    for _ in 0..5 {
        store
            .insert_statements(vec![new_statement(&mbox, "http://x.io/page")], vec![])
            .await
            .unwrap();
    }
    for ascending in [false, true] {
        let mut q = query_agent(&mbox);
        q.limit = 2;
        q.ascending = ascending;
        let first = store.query(&q).await.unwrap();
        assert_eq!(first.statements.len(), 2);
        store
            .insert_statements(vec![new_statement(&mbox, "http://x.io/page")], vec![])
            .await
            .unwrap();
        let mut seen: Vec<Uuid> = first.statements.iter().map(|s| s.id).collect();
        let mut next = first.next;
        while let Some(cursor) = next {
            q.after_seq = Some(cursor.after_seq);
            q.snapshot_seq = Some(cursor.snapshot_seq);
            let page = store.query(&q).await.unwrap();
            seen.extend(page.statements.iter().map(|s| s.id));
            next = page.next;
        }
        let expected = if ascending { 6 } else { 5 };
        assert_eq!(seen.len(), expected, "ascending={ascending}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len());
    }
}

pub async fn stored_never_decreases_in_log_order(store: &dyn Store) {
    let log = store.log_after(0, 10_000).await.unwrap();
    assert!(!log.is_empty());
    assert!(log
        .windows(2)
        .all(|w| w[0].seq < w[1].seq && w[0].stored_ms <= w[1].stored_ms));
    let through = store.consistent_through().await.unwrap();
    assert!(through >= log.last().unwrap().stored_ms);
}

pub async fn checkpoints_are_durable_positions(store: &dyn Store) {
    let name = format!("consumer-{}", Uuid::new_v4());
    assert_eq!(store.checkpoint(&name).await.unwrap(), 0);
    for (from, to) in [(0, 42), (42, 43)] {
        let step = AggregateCommit {
            expected_checkpoint: from,
            checkpoint: to,
            ..AggregateCommit::default()
        };
        assert!(store.commit_aggregate(&name, step).await.unwrap());
    }
    assert_eq!(store.checkpoint(&name).await.unwrap(), 43);
}

pub async fn aggregate_commits_are_atomic_and_guarded_by_the_checkpoint(store: &dyn Store) {
    let name = format!("contract-aggregate-{}", Uuid::new_v4());
    let first = AggregateCommit {
        expected_checkpoint: 0,
        checkpoint: 10,
        deletes: vec![],
        puts: vec![("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())],
    };
    assert!(store.commit_aggregate(&name, first.clone()).await.unwrap());
    assert_eq!(store.checkpoint(&name).await.unwrap(), 10);
    // A second process replaying the same step from 0 is refused and
    // changes nothing.
    let stale = AggregateCommit {
        puts: vec![("c".into(), b"3".to_vec())],
        ..first
    };
    assert!(!store.commit_aggregate(&name, stale).await.unwrap());
    let next = AggregateCommit {
        expected_checkpoint: 10,
        checkpoint: 12,
        deletes: vec!["a".into(), "absent".into()],
        puts: vec![("b".into(), b"22".to_vec()), ("d".into(), b"4".to_vec())],
    };
    assert!(store.commit_aggregate(&name, next).await.unwrap());
    assert_eq!(store.checkpoint(&name).await.unwrap(), 12);
    let records = store.aggregate_records(&name, None, 100).await.unwrap();
    assert_eq!(
        records,
        vec![("b".into(), b"22".to_vec()), ("d".into(), b"4".to_vec())]
    );
    // Other consumers do not see them.
    let other = format!("contract-aggregate-{}", Uuid::new_v4());
    assert!(store
        .aggregate_records(&other, None, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn aggregate_records_page_by_key_and_reset(store: &dyn Store) {
    let name = format!("contract-aggregate-{}", Uuid::new_v4());
    let puts: Vec<(String, Vec<u8>)> = (0..25)
        .map(|i| (format!("k{i:03}"), vec![i as u8]))
        .collect();
    let commit = AggregateCommit {
        expected_checkpoint: 0,
        checkpoint: 3,
        deletes: vec![],
        puts: puts.clone(),
    };
    assert!(store.commit_aggregate(&name, commit).await.unwrap());
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.aggregate_records(&name, after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
        seen.extend(page);
    }
    assert_eq!(seen, puts);
    store.reset_aggregate(&name).await.unwrap();
    assert_eq!(store.checkpoint(&name).await.unwrap(), 0);
    assert!(store
        .aggregate_records(&name, None, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn the_last_put_of_a_key_in_a_commit_wins(store: &dyn Store) {
    let name = format!("contract-aggregate-{}", Uuid::new_v4());
    let commit = AggregateCommit {
        expected_checkpoint: 0,
        checkpoint: 1,
        deletes: vec!["k".into()],
        puts: vec![
            ("k".into(), b"first".to_vec()),
            ("k".into(), b"last".to_vec()),
        ],
    };
    assert!(store.commit_aggregate(&name, commit).await.unwrap());
    assert_eq!(
        store.aggregate_records(&name, None, 10).await.unwrap(),
        vec![("k".into(), b"last".to_vec())]
    );
}

pub async fn folding_aggregate_records_reads_them_all_at_one_checkpoint(store: &dyn Store) {
    let name = format!("contract-aggregate-{}", Uuid::new_v4());
    let (checkpoint, empty) = store
        .fold_aggregate(&name, 10, |n: &mut usize, _, _| {
            *n += 1;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!((checkpoint, empty), (0, 0));
    let puts: Vec<(String, Vec<u8>)> = (0..7).map(|i| (format!("k{i}"), vec![i])).collect();
    let commit = AggregateCommit {
        expected_checkpoint: 0,
        checkpoint: 9,
        deletes: vec![],
        puts: puts.clone(),
    };
    assert!(store.commit_aggregate(&name, commit).await.unwrap());
    // Pages of 3 cover the 7 records in key order.
    let (checkpoint, seen) = store
        .fold_aggregate(&name, 3, |seen: &mut Vec<(String, Vec<u8>)>, k, v| {
            seen.push((k.to_owned(), v.to_vec()));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(checkpoint, 9);
    assert_eq!(seen, puts);
    // An error of the fold is the answer.
    let failed = store
        .fold_aggregate(&name, 3, |_: &mut (), _, _| {
            Err(StoreError::Invalid("bad record".into()))
        })
        .await;
    assert!(matches!(failed, Err(StoreError::Invalid(_))));
}

pub async fn credentials_can_be_created_listed_and_revoked(store: &dyn Store) {
    let key = format!("key-{}", Uuid::new_v4());
    let c = super::Credential {
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

pub async fn ping_answers_while_the_store_works(store: &dyn Store) {
    store.ping().await.expect("a working store answers ping");
    // Ping is cheap: many in a row stay well under the readiness timeout.
    let started = std::time::Instant::now();
    for _ in 0..20 {
        store.ping().await.unwrap();
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "20 pings took {:?}",
        started.elapsed()
    );
}

pub async fn flush_waits_for_every_earlier_write(store: &dyn Store) {
    let mbox = unique_mbox();
    let writes = (0..10).map(|_| {
        let s = new_statement(&mbox, "http://x.io/flushed");
        store.insert_statements(vec![s], vec![])
    });
    let (results, flushed) = tokio::join!(futures_util::future::join_all(writes), store.flush());
    flushed.expect("flush succeeds");
    for r in results {
        r.expect("insert before flush");
    }
    store.flush().await.expect("a second flush");
    let page = store.query(&query_agent(&mbox)).await.unwrap();
    assert_eq!(page.statements.len(), 10);
    // The store keeps working after a flush.
    store
        .insert_statements(vec![new_statement(&mbox, "http://x.io/after")], vec![])
        .await
        .expect("writes after flush");
}
