//! The storage contract: one function per behaviour every backend must
//! show, grouped by the trait they exercise (`statements`, `documents`,
//! `consumers`; the whole-store operations here). Each backend's tests call
//! `run_all` (SQLite on every `cargo test`, MongoDB against the server the
//! test script starts); its schema tests call `migration`'s check.
#![cfg(any(test, feature = "contract-tests"))]

mod attachments;
mod consumers;
mod documents;
mod migration;
mod statements;

use serde_json::json;
use uuid::Uuid;

pub use attachments::*;
pub use consumers::*;
pub use documents::*;
pub use migration::*;
pub use statements::*;

use super::{NewStatement, StatementQuery, Store};
use crate::xapi::{JsonPath, Statement, XapiVersion};

pub async fn run_all(store: &dyn Store) {
    inserted_statements_can_be_read_back(store).await;
    equivalent_resubmission_is_idempotent(store).await;
    conflicting_id_is_rejected(store).await;
    batch_is_atomic(store).await;
    voiding_marks_the_target(store).await;
    voiding_a_voiding_statement_is_rejected(store).await;
    attachments_go_only_with_statements_that_carried_them_or_their_sender(store).await;
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
