//! Choosing and opening a backend: `StoreSettings` names the backend with
//! its own settings, and `open` / `open_store` are the one place a backend
//! is chosen (server and command line).

use std::sync::Arc;
use std::time::Duration;

use super::mongo::{MongoSettings, MongoStore};
use super::sqlite::{SqliteSettings, SqliteStore};
use super::{instrumented, Store, StoreError};
use crate::metrics::Metrics;

/// Which backend holds the data, with that backend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// The embedded store: one SQLite database in a data directory.
    Sqlite(SqliteSettings),
    /// MongoDB (a replica set or a sharded cluster).
    Mongo(MongoSettings),
}

impl StoreSettings {
    /// The backend's name, as in the `backend` metric label.
    pub fn backend(&self) -> &'static str {
        match self {
            StoreSettings::Sqlite(_) => "sqlite",
            StoreSettings::Mongo(_) => "mongodb",
        }
    }
}

/// Opens the configured store for a command-line tool (`import`, `export`,
/// `credentials`, `analytics`): like `open`, but usable at once or a clear
/// error.
pub async fn open_store(settings: &StoreSettings) -> anyhow::Result<Arc<dyn Store>> {
    let opened = open(settings, None).await?;
    opened
        .initialize()
        .await
        .map_err(|e| anyhow::anyhow!("cannot use the {} store: {e}", opened.backend()))?;
    Ok(opened.store)
}

/// The configured backend, opened but maybe not yet usable (a MongoDB
/// server may still be unreachable).
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    mongo: Option<MongoStore>,
}

/// Opens the backend `settings` select. With `metrics`, the store records
/// its operations there.
pub async fn open(
    settings: &StoreSettings,
    metrics: Option<&Arc<Metrics>>,
) -> anyhow::Result<OpenedStore> {
    fn wrap<S: Store>(
        store: S,
        backend: &'static str,
        metrics: Option<&Arc<Metrics>>,
    ) -> Arc<dyn Store> {
        match metrics {
            Some(m) => Arc::new(instrumented::InstrumentedStore::new(store, backend, m)),
            None => Arc::new(store),
        }
    }
    let backend = settings.backend();
    Ok(match settings {
        StoreSettings::Mongo(m) => {
            let store = MongoStore::connect(m).await?;
            OpenedStore {
                store: wrap(store.clone(), backend, metrics),
                mongo: Some(store),
            }
        }
        StoreSettings::Sqlite(s) => OpenedStore {
            store: wrap(SqliteStore::open(&s.data_dir)?, backend, metrics),
            mongo: None,
        },
    })
}

impl OpenedStore {
    pub fn backend(&self) -> &'static str {
        if self.mongo.is_some() {
            "mongodb"
        } else {
            "sqlite"
        }
    }

    /// One attempt at making the store usable. For MongoDB: reach the
    /// server, check it has transactions, create the indexes.
    pub async fn initialize(&self) -> Result<(), StoreError> {
        match &self.mongo {
            Some(m) => m.initialize().await,
            None => Ok(()),
        }
    }

    /// Retries `initialize` until it succeeds, waiting 1 s and doubling up
    /// to 30 s between attempts, and logs every failure.
    pub async fn initialize_with_retry(&self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.initialize().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), backend = self.backend(), "the store is not usable yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
