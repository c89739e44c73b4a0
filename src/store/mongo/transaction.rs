//! Multi-document transactions: the retry loop every MongoDB write runs in
//! (`in_transaction!`), with a deadline per attempt.

use std::time::Duration;

use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::{ReadConcern, TransactionOptions, WriteConcern};
use mongodb::ClientSession;

use super::error::{is_duplicate_key, unreachable};
use crate::store::StoreError;

/// How often a transaction is retried after a transient error (a write
/// conflict with another instance, a primary election).
pub(super) const MAX_TRANSACTION_ATTEMPTS: u32 = 30;
/// The longest one transaction attempt may take, commit included.
pub(super) const TRANSACTION_DEADLINE: Duration = Duration::from_secs(10);
/// How long the server may spend on a commit (`maxCommitTimeMS`).
const MAX_COMMIT_TIME: Duration = Duration::from_secs(5);
/// How long after taking its `stored` a write can still become visible:
/// the attempt deadline, the commit time, and one second of clock skew
/// between instances.
pub(super) const WRITE_WINDOW_MS: i64 = 16_000;

/// The options of every transaction: snapshot reads, the configured write
/// concern, a bounded commit.
pub(super) fn options(write_concern: WriteConcern) -> TransactionOptions {
    TransactionOptions::builder()
        .read_concern(ReadConcern::snapshot())
        .write_concern(write_concern)
        .max_commit_time(MAX_COMMIT_TIME)
        .build()
}

/// An error inside a transaction body: ours (returned as is) or the
/// driver's (maybe retried).
pub(super) enum TxnError {
    Store(StoreError),
    Driver(mongodb::error::Error),
}

impl From<StoreError> for TxnError {
    fn from(e: StoreError) -> Self {
        TxnError::Store(e)
    }
}

impl From<mongodb::error::Error> for TxnError {
    fn from(e: mongodb::error::Error) -> Self {
        TxnError::Driver(e)
    }
}

/// Runs `$body` (an expression using `$session`, evaluating to
/// `Result<T, TxnError>`) in a transaction, retrying the whole transaction
/// on transient errors and the commit on an unknown commit result.
macro_rules! in_transaction {
    ($store:expr, |$session:ident| $body:expr) => {{
        // Items, unlike locals, are not hygienic: one module alias keeps
        // the names used here from shadowing those of `$body`.
        use $crate::store::mongo::transaction as __transaction;
        let store: &$crate::store::mongo::MongoStore = $store;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut session = store.session().await?;
            session
                .start_transaction()
                .with_options(store.transaction.clone())
                .await
                .map_err($crate::store::mongo::error::map_error)?;
            // The whole attempt, commit included, has a deadline: a write
            // that took its `stored` is visible within `WRITE_WINDOW_MS` or
            // never, which is what `consistent_through` relies on.
            let attempt_outcome =
                tokio::time::timeout(__transaction::TRANSACTION_DEADLINE, async {
                    let outcome = {
                        let $session: &mut mongodb::ClientSession = &mut session;
                        $body
                    };
                    match outcome {
                        Ok(value) => __transaction::commit(&mut session)
                            .await
                            .map(|()| value)
                            .map_err(|e| (__transaction::TxnError::Driver(e), true)),
                        Err(e) => Err((e, false)),
                    }
                })
                .await;
            match attempt_outcome {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err((__transaction::TxnError::Store(e), _))) => {
                    let _ = session.abort_transaction().await;
                    break Err(e);
                }
                Ok(Err((__transaction::TxnError::Driver(e), committing))) => {
                    if !committing {
                        let _ = session.abort_transaction().await;
                    }
                    if __transaction::retryable(&e)
                        && attempt < __transaction::MAX_TRANSACTION_ATTEMPTS
                    {
                        __transaction::backoff(attempt).await;
                        continue;
                    }
                    break Err($crate::store::mongo::error::map_error(e));
                }
                Err(_elapsed) => {
                    let _ = session.abort_transaction().await;
                    break Err($crate::store::StoreError::Unavailable(format!(
                        "MongoDB did not complete the write within {} s",
                        __transaction::TRANSACTION_DEADLINE.as_secs()
                    )));
                }
            }
        }
    }};
}
pub(super) use in_transaction;

/// Commits, retrying while the outcome is unknown (commit is idempotent).
pub(super) async fn commit(session: &mut ClientSession) -> Result<(), mongodb::error::Error> {
    let mut tries = 0;
    loop {
        match session.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < 3 => {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Whether the whole transaction may simply run again: after a write
/// conflict or a duplicate key (another instance got there first). Not when
/// the server is unreachable: that fails at once with 503, so clients learn
/// of an outage within the server selection timeout instead of hanging.
pub(super) fn retryable(e: &mongodb::error::Error) -> bool {
    if unreachable(e) {
        return false;
    }
    e.contains_label(TRANSIENT_TRANSACTION_ERROR) || is_duplicate_key(e)
}

pub(super) async fn backoff(attempt: u32) {
    let ms = (5u64 << attempt.min(6)).min(250);
    let jitter = u64::from(getrandom::u32().unwrap_or(0) % 10);
    tokio::time::sleep(Duration::from_millis(ms + jitter)).await;
}
