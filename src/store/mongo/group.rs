//! Group commit of this instance's statement writes.
//!
//! Every statement write updates the log counter, so two writes of one
//! instance side by side would only conflict: they run one at a time. What
//! waits meanwhile is not wasted: the instance that gets the turn takes
//! every write waiting in the queue (up to `MAX_GROUP_STATEMENTS`) and runs
//! them as one transaction, so a group of requests shares the round trips
//! of one (existence check, counter, insert, Activity definitions, commit).
//!
//! Each request stays atomic and is answered as if alone: when the group's
//! transaction fails because of what one request holds (a conflicting id, a
//! void of a voiding statement), every request of the group runs again on
//! its own, in queue order. Any other failure (the server unavailable) is
//! every request's answer.

use std::sync::Mutex as SyncMutex;

use tokio::sync::{oneshot, Mutex};
use uuid::Uuid;

use crate::store::{Attachment, NewStatement, StoreError};

/// The most statements one group's transaction takes (a request larger than
/// this still runs, alone).
const MAX_GROUP_STATEMENTS: usize = 2_000;

type Reply = oneshot::Sender<Result<Vec<Uuid>, StoreError>>;

/// One request waiting for its turn.
pub(super) struct Waiting {
    pub batch: Vec<NewStatement>,
    pub attachments: Vec<Attachment>,
    reply: Reply,
}

/// The queue of this instance's statement writes and the turn to run them.
#[derive(Default)]
pub(super) struct WriteQueue {
    waiting: SyncMutex<Vec<Waiting>>,
    /// Held by the request whose turn it is (fair: queue order).
    turn: Mutex<()>,
}

impl WriteQueue {
    /// Queues a request and answers its outcome. `run` stores one batch in
    /// one transaction; it is called with the requests of one group put
    /// together, or with one request.
    pub(super) async fn submit<F, Fut>(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
        run: F,
    ) -> Result<Vec<Uuid>, StoreError>
    where
        F: Fn(Vec<NewStatement>, Vec<Attachment>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Uuid>, StoreError>>,
    {
        let (reply, mut answer) = oneshot::channel();
        self.lock_waiting().push(Waiting {
            batch,
            attachments,
            reply,
        });
        loop {
            let turn = self.turn.lock().await;
            // An earlier turn may have run this request in its group.
            if let Ok(outcome) = answer.try_recv() {
                return outcome;
            }
            let group = self.take_group();
            if group.is_empty() {
                drop(turn);
                return answer.await.unwrap_or_else(|_| Err(gone()));
            }
            run_group(group, &run).await;
            drop(turn);
        }
    }

    /// Waits until every write queued before the call has run.
    pub(super) async fn drain(&self) {
        drop(self.turn.lock().await);
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The oldest waiting requests, up to `MAX_GROUP_STATEMENTS` statements
    /// (at least one request).
    fn take_group(&self) -> Vec<Waiting> {
        let mut waiting = self.lock_waiting();
        let mut statements = 0;
        let mut take = 0;
        for w in waiting.iter() {
            if take > 0 && statements + w.batch.len() > MAX_GROUP_STATEMENTS {
                break;
            }
            statements += w.batch.len();
            take += 1;
        }
        waiting.drain(..take).collect()
    }
}

async fn run_group<F, Fut>(mut group: Vec<Waiting>, run: &F)
where
    F: Fn(Vec<NewStatement>, Vec<Attachment>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Uuid>, StoreError>>,
{
    if group.len() == 1 {
        if let Some(w) = group.pop() {
            let _ = w.reply.send(run(w.batch, w.attachments).await);
        }
        return;
    }
    let lengths: Vec<usize> = group.iter().map(|w| w.batch.len()).collect();
    let batch: Vec<NewStatement> = group.iter().flat_map(|w| w.batch.clone()).collect();
    let attachments: Vec<Attachment> = group.iter().flat_map(|w| w.attachments.clone()).collect();
    match run(batch, attachments).await {
        Ok(ids) => {
            let mut ids = ids.into_iter();
            for (w, n) in group.into_iter().zip(lengths) {
                let _ = w.reply.send(Ok(ids.by_ref().take(n).collect()));
            }
        }
        // One request's content failed the group: each alone, in order.
        Err(StoreError::Conflict(_) | StoreError::Invalid(_)) => {
            for w in group {
                let _ = w.reply.send(run(w.batch, w.attachments).await);
            }
        }
        Err(e) => {
            for w in group {
                let _ = w.reply.send(Err(same_error(&e)));
            }
        }
    }
}

/// `e` again, for another request of the same failed group.
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
        other => StoreError::Unavailable(format!("the write failed: {other}")),
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable("the statement write was abandoned".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::store::contract::new_statement;

    #[tokio::test]
    async fn waiting_requests_share_one_run_and_get_their_own_ids() {
        let queue = Arc::new(WriteQueue::default());
        let runs = Arc::new(AtomicUsize::new(0));
        // Hold the turn so that three requests queue up behind it.
        let turn = queue.turn.lock().await;
        let mut tasks = Vec::new();
        for n in 0..3 {
            let (queue, runs) = (queue.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                let batch =
                    vec![new_statement(&format!("mailto:g{n}@x.io"), "http://x.io/v"); n + 1];
                let expected: Vec<Uuid> = batch.iter().filter_map(|s| s.statement.id()).collect();
                let ids = queue
                    .submit(batch, vec![], |b, _| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        async move { Ok(b.iter().filter_map(|s| s.statement.id()).collect()) }
                    })
                    .await
                    .unwrap();
                assert_eq!(ids, expected);
            }));
        }
        while queue.lock_waiting().len() < 3 {
            tokio::task::yield_now().await;
        }
        drop(turn);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_conflict_in_a_group_fails_only_its_own_request() {
        let queue = Arc::new(WriteQueue::default());
        let turn = queue.turn.lock().await;
        let bad = new_statement("mailto:bad@x.io", "http://x.io/bad");
        let bad_id = bad.statement.id().unwrap();
        let mut tasks = Vec::new();
        for statement in [new_statement("mailto:ok@x.io", "http://x.io/ok"), bad] {
            let queue = queue.clone();
            tasks.push(tokio::spawn(async move {
                queue
                    .submit(vec![statement], vec![], |b, _| async move {
                        match b.iter().find(|s| s.statement.id() == Some(bad_id)) {
                            Some(_) => Err(StoreError::Conflict(bad_id)),
                            None => Ok(b.iter().filter_map(|s| s.statement.id()).collect()),
                        }
                    })
                    .await
            }));
        }
        while queue.lock_waiting().len() < 2 {
            tokio::task::yield_now().await;
        }
        drop(turn);
        let outcomes: Vec<_> = futures_util::future::join_all(tasks).await;
        assert!(outcomes[0].as_ref().unwrap().is_ok());
        assert!(matches!(
            outcomes[1].as_ref().unwrap(),
            Err(StoreError::Conflict(id)) if *id == bad_id
        ));
    }
}
