//! Log consumers' state (`ConsumerState`, `StoreExt::fold_aggregate`).

use uuid::Uuid;

use crate::store::{AggregateCommit, Store, StoreError, StoreExt};

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
