//! The index's promises while it is behind the log, and its rebuilds.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::super::SqliteStore;
use super::{index_path, INDEX_FILE};
use crate::store::contract::new_statement;
use crate::store::{StatementLog, StatementQuery};

const VERB: &str = "http://x.io/indexed";

fn by_verb() -> StatementQuery {
    StatementQuery {
        verb: Some(VERB.into()),
        limit: 100,
        ..StatementQuery::default()
    }
}

async fn store_some(store: &SqliteStore, n: usize) -> Vec<uuid::Uuid> {
    let batch = (0..n)
        .map(|i| new_statement(&format!("mailto:l{i}@example.com"), VERB))
        .collect();
    store.insert_statements(batch, vec![]).await.unwrap()
}

/// Waits until the store's header covers `stored_ms`.
async fn caught_up(store: &SqliteStore, stored_ms: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.consistent_through().await.unwrap() < stored_ms {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Holds the index database's write lock, as a stalled indexer would.
fn hold_index(data: &Path) -> Connection {
    let conn = Connection::open(index_path(&data.join("trellis.db"))).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_indexer_is_behind_queries_answer_only_what_it_covers_and_the_header_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let first = store_some(&store, 3).await;
    let first_stored = store.statement(first[2]).await.unwrap().unwrap().stored_ms;
    caught_up(&store, first_stored).await;

    let lock = hold_index(dir.path());
    let later = store_some(&store, 2).await;
    // Read by id at once: the log has it, whatever the index says.
    let got = store.statement(later[0]).await.unwrap().unwrap();
    let through = store.consistent_through().await.unwrap();
    // The millisecond before the position's own: later statements may
    // share it.
    assert!(
        through >= first_stored - 1,
        "{through} < {first_stored} - 1"
    );
    assert!(
        through < got.stored_ms,
        "the header claims unindexed statements"
    );
    // The query waits, then answers the whole of what the index covers:
    // every earlier statement and none of the later ones.
    let page = store.query(&by_verb()).await.unwrap();
    let mut ids: Vec<_> = page.statements.iter().map(|s| s.id).collect();
    ids.sort();
    let mut expected = first.clone();
    expected.sort();
    assert_eq!(ids, expected);
    // Unfiltered too, though the log alone could answer it: one position
    // for every query, the one the header reports.
    let all = StatementQuery {
        limit: 100,
        ..StatementQuery::default()
    };
    assert_eq!(store.query(&all).await.unwrap().statements.len(), 3);

    drop(lock);
    caught_up(&store, got.stored_ms).await;
    let page = store.query(&by_verb()).await.unwrap();
    assert_eq!(page.statements.len(), 5);
}

#[tokio::test]
async fn a_missing_or_foreign_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store_some(&store, 4).await;
        assert_eq!(store.query(&by_verb()).await.unwrap().statements.len(), 4);
    }
    // An index whose position names a statement the log does not hold
    // there (e.g. an index copied from another store).
    {
        let index = Connection::open(dir.path().join(INDEX_FILE)).unwrap();
        let changed = index
            .execute("UPDATE position SET id = 'another statement'", [])
            .unwrap();
        assert_eq!(changed, 1);
    }
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        let newer = store_some(&store, 1).await;
        let stored = store.statement(newer[0]).await.unwrap().unwrap().stored_ms;
        caught_up(&store, stored).await;
        assert_eq!(store.query(&by_verb()).await.unwrap().statements.len(), 5);
    }
    // No index at all.
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("{INDEX_FILE}{suffix}"));
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.query(&by_verb()).await.unwrap().statements.len(), 5);
}
