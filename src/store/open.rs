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
    backend: Opened,
}

enum Opened {
    /// Migrated at open, to this schema version.
    Sqlite { schema_version: u32 },
    /// Migrated by `initialize`.
    Mongo(Box<MongoStore>),
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
                backend: Opened::Mongo(Box::new(store)),
            }
        }
        StoreSettings::Sqlite(s) => {
            let store = SqliteStore::open(&s.data_dir)?;
            OpenedStore {
                backend: Opened::Sqlite {
                    schema_version: store.schema_version(),
                },
                store: wrap(store, backend, metrics),
            }
        }
    })
}

impl OpenedStore {
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Opened::Sqlite { .. } => "sqlite",
            Opened::Mongo(_) => "mongodb",
        }
    }

    /// One attempt at making the store usable; answers the schema version
    /// the data is at once it is. SQLite: done at open. MongoDB: reach the
    /// server, check it has transactions, run the schema migrations.
    pub async fn initialize(&self) -> Result<u32, StoreError> {
        match &self.backend {
            Opened::Sqlite { schema_version } => Ok(*schema_version),
            Opened::Mongo(m) => m.initialize().await,
        }
    }

    /// Retries `initialize` until it succeeds, waiting 1 s and doubling up
    /// to 30 s between attempts; logs every failure and tells `failed`.
    /// Answers the schema version.
    pub async fn initialize_with_retry(&self, failed: impl Fn(&StoreError)) -> u32 {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.initialize().await {
                Ok(version) => return version,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), backend = self.backend(), "the store is not usable yet; retrying");
                    failed(&e);
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
