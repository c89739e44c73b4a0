//! `InstrumentedStore`: any backend with per-operation latency and error
//! metrics (`trellis_store_operation_duration_seconds`,
//! `trellis_store_errors_total`), labelled by operation and backend.
//!
//! Only failures of the backend itself count as errors (`Unavailable`,
//! `Backend`); a conflict or a failed precondition is an answer, not a fault.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use prometheus::{Histogram, IntCounter};

use super::{Op, Store, StoreError, StoreLayer};
use crate::metrics::Metrics;

pub struct InstrumentedStore<S> {
    inner: S,
    /// Per operation, indexed by `Op as usize`: its latency histogram and
    /// its error counter, resolved once so a call costs no label lookup.
    series: Vec<(Histogram, IntCounter)>,
}

impl<S: Store> InstrumentedStore<S> {
    /// Wraps `inner`; `backend` is its label value (`sqlite`, `mongodb`).
    /// Every operation's series exist from the start (at zero).
    pub fn new(inner: S, backend: &'static str, metrics: &Arc<Metrics>) -> InstrumentedStore<S> {
        let series = Op::ALL
            .iter()
            .map(|op| {
                let labels = [op.as_str(), backend];
                (
                    metrics.store_duration.with_label_values(&labels),
                    metrics.store_errors.with_label_values(&labels),
                )
            })
            .collect();
        InstrumentedStore { inner, series }
    }
}

impl<S: Store> StoreLayer for InstrumentedStore<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    async fn around<'a, T: Send + 'a>(
        &'a self,
        op: Op,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        if let Some((duration, errors)) = self.series.get(op as usize) {
            duration.observe(started.elapsed().as_secs_f64());
            if matches!(
                result,
                Err(StoreError::Unavailable(_) | StoreError::Backend { .. })
            ) {
                errors.inc();
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::faulty::FaultyStore;
    use crate::store::sqlite::SqliteStore;
    use crate::store::StatementLog;

    #[tokio::test]
    async fn instrumented_sqlite_store_passes_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new().unwrap();
        let store =
            InstrumentedStore::new(SqliteStore::open(dir.path()).unwrap(), "sqlite", &metrics);
        crate::store::contract::run_all(&store).await;
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            "trellis_store_operation_duration_seconds_count{backend=\"sqlite\",operation=\"insert_statements\"}"
        ));
    }

    #[tokio::test]
    async fn backend_failures_count_as_errors_and_answers_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new().unwrap();
        let faulty = FaultyStore::new(SqliteStore::open(dir.path()).unwrap());
        let control = faulty.control();
        let store = InstrumentedStore::new(faulty, "sqlite", &metrics);
        let errors = |op: &str| {
            metrics
                .store_errors
                .with_label_values(&[op, "sqlite"])
                .get()
        };
        let s = crate::store::contract::new_statement("mailto:m@example.com", "http://x.io/v");
        store.insert_statements(vec![s], vec![]).await.unwrap();
        assert_eq!(store.statement(Uuid::new_v4()).await.unwrap(), None);
        assert_eq!(errors("insert_statements") + errors("statement"), 0);
        control.fail(true);
        assert!(store.ping().await.is_err());
        assert_eq!(errors("ping"), 1);
        let count = metrics
            .store_duration
            .with_label_values(&["ping", "sqlite"])
            .get_sample_count();
        assert_eq!(count, 1);
    }
}
