//! The statement log (`StatementLog`).

use serde_json::json;
use uuid::Uuid;

use super::{new_statement, query_agent, unique_mbox, with_value};
use crate::store::{NewStatement, StatementQuery, Store, StoreError};
use crate::xapi::{JsonPath, Statement, XapiVersion};

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
    // A backend may index behind the log: the header catches up.
    let newest = log.last().unwrap().stored_ms;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.consistent_through().await.unwrap() < newest {
        assert!(
            std::time::Instant::now() < deadline,
            "consistent-through stays behind"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
