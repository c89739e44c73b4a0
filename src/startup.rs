//! Building and running the HTTP application. `Application::build` binds its
//! own listener (port 0 works; `address` tells the bound one) so tests can
//! run many servers side by side, in-process through `build_with_admin` and
//! `run_until`. The application owns the metrics registry, the readiness
//! registry and the shutdown signal; components started beside the server
//! (aggregators) get them from its accessors.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use crate::auth::{create_credential, Scope};
use crate::config::Settings;
use crate::cx::aggregator::Aggregator;
use crate::cx::exporter::CxCollector;
use crate::cx::Cx;
use crate::health::{self, Health};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::shutdown::{self, Shutdown};
use crate::store::OpenedStore;
use crate::store::Store;

/// How often readiness pings the store.
const STORE_PROBE_INTERVAL: Duration = Duration::from_secs(2);

pub struct Application {
    address: SocketAddr,
    server: Server,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    health: Health,
    shutdown: Shutdown,
    grace: Duration,
}

/// The credential `TRELLIS_ADMIN_KEY` / `TRELLIS_ADMIN_SECRET` name: made
/// (or updated) with scope `all` at start-up. (No `Debug`: it holds a secret.)
pub struct AdminCredential {
    pub key: String,
    pub secret: String,
}

impl AdminCredential {
    /// `TRELLIS_ADMIN_KEY` and `TRELLIS_ADMIN_SECRET`: both or neither.
    pub fn from_env() -> anyhow::Result<Option<AdminCredential>> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        match (var("TRELLIS_ADMIN_KEY"), var("TRELLIS_ADMIN_SECRET")) {
            (Some(key), Some(secret)) => Ok(Some(AdminCredential { key, secret })),
            (None, None) => Ok(None),
            _ => anyhow::bail!("set both TRELLIS_ADMIN_KEY and TRELLIS_ADMIN_SECRET, or neither"),
        }
    }
}

impl Application {
    /// The application `trellis serve` runs: the admin credential comes from
    /// the environment (`AdminCredential::from_env`).
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        Self::build_with_admin(settings, AdminCredential::from_env()?).await
    }

    /// As `build`, with the admin credential given (tests start many
    /// applications in one process and must not share its environment).
    /// `None`: on a first start, one credential is made and printed.
    pub async fn build_with_admin(
        settings: &Settings,
        admin: Option<AdminCredential>,
    ) -> anyhow::Result<Application> {
        let metrics = Metrics::new().context("registering metrics")?;
        let health = Health::new();
        let shutdown = Shutdown::new();
        let opened = crate::store::open(&settings.store, Some(&metrics)).await?;
        let store: Arc<dyn Store> = opened.store.clone();
        if opened.backend() == "sqlite" {
            // `open` returns once the schema is migrated.
            let version = opened.initialize().await?;
            health.report("migrations", true, format!("schema version {version}"));
            ensure_credentials(store.as_ref(), admin.as_ref()).await?;
        } else {
            // MongoDB may be down at start: serve (answering 503 and not
            // ready) while connecting in the background.
            health.report("migrations", false, "not run yet: connecting to MongoDB");
            tokio::spawn(bootstrap(opened, admin, health.clone()));
        }
        health::probe(&health, "store", store.ping(), STORE_PROBE_INTERVAL).await;
        let pinged = store.clone();
        shutdown.spawn(
            "store-probe",
            health::watch(
                health.clone(),
                "store",
                move || {
                    let store = pinged.clone();
                    async move { store.ping().await }
                },
                STORE_PROBE_INTERVAL,
                shutdown.signalled(),
            ),
        );
        let cx = Arc::new(Cx::new(settings.analytics.clone()));
        metrics.register(Box::new(CxCollector::new(cx.clone())))?;
        health.report("aggregator:cx", false, "loading the aggregate state");
        let listener = TcpListener::bind(&settings.http.listen)
            .with_context(|| format!("binding {}", settings.http.listen))?;
        let address = listener.local_addr()?;
        let state = web::Data::new(AppState {
            metrics: metrics.clone(),
            health: health.clone(),
            cx: cx.clone(),
            ..AppState::new(
                store.clone(),
                settings.http.limits.clone(),
                settings.http.public_url_or(address),
            )?
        });
        let grace = settings.shutdown.timeout;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(cors())
                .wrap(actix_web::middleware::from_fn(http::panics::catch_panics))
                .wrap(actix_web::middleware::from_fn(http::observe::observe))
                .configure(http::configure)
        })
        // Signals are ours: `run_until_stopped` orders the shutdown.
        .disable_signals()
        .shutdown_timeout(grace.as_secs())
        .listen(listener)?
        .run();
        health.report("server", true, "accepting requests");
        // The aggregator runs beside the server and stops with it; statement
        // ingestion never waits for it.
        shutdown.spawn(
            "cx",
            run_aggregator(store.clone(), cx, health.clone(), shutdown.signalled()),
        );
        Ok(Application {
            address,
            server,
            store,
            metrics,
            health,
            shutdown,
            grace,
        })
    }

    /// The address the listener is bound to (the real port when the
    /// settings asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store every component shares (instrumented).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The registry `/metrics` exports.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The readiness registry `/readyz` answers from.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// The shutdown signal; background components start with
    /// `Shutdown::spawn` so the shutdown waits for them.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM/SIGINT (or `Shutdown::trigger`), then shuts
    /// down in order: not ready, signal background tasks, stop accepting and
    /// finish requests in flight, await background tasks, flush the store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown::os_signal()).await
    }

    /// As `run_until_stopped`, with `stop` in place of the process's
    /// signals (an in-process test must leave SIGINT/SIGTERM alone).
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Application {
            mut server,
            store,
            health,
            shutdown,
            grace,
            ..
        } = self;
        let handle = server.handle();
        let stopped_by_itself = tokio::select! {
            result = &mut server => Some(result),
            () = stop => None,
            () = shutdown.signalled() => None,
        };
        health.report_quietly("server", false, "shutting down");
        shutdown.trigger();
        match stopped_by_itself {
            Some(result) => result.context("the HTTP server failed")?,
            None => {
                // Stops accepting and lets requests in flight finish (up to
                // the server's shutdown timeout). The server future runs the
                // stop command, so it is polled alongside.
                let (_, result) = tokio::join!(handle.stop(true), server);
                result.context("the HTTP server failed")?;
            }
        }
        tracing::info!("HTTP server stopped; waiting for background tasks");
        shutdown.wait_for_tasks(grace).await;
        store.flush().await.context("flushing the store")?;
        tracing::info!("store flushed; shutdown complete");
        Ok(())
    }
}

/// Browser clients (content players) call the LRS from other origins.
fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(86_400)
}

/// Loads the CX aggregate state (retrying while the store is unavailable),
/// then folds the log until shutdown.
async fn run_aggregator(
    store: Arc<dyn Store>,
    cx: Arc<Cx>,
    health: Health,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut wait = Duration::from_millis(500);
    let aggregator = loop {
        match Aggregator::load(store.clone(), cx.clone()).await {
            Ok(a) => break a,
            Err(e) => {
                health.report("aggregator:cx", false, format!("loading: {e}"));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    };
    health.report("aggregator:cx", true, "running");
    aggregator.run_until_stopped(stop).await;
}

/// Makes a store that may still be unreachable usable, then applies the
/// credential settings; retries each step until it succeeds.
async fn bootstrap(opened: OpenedStore, admin: Option<AdminCredential>, health: Health) {
    let version = opened
        .initialize_with_retry(|e| health.report("migrations", false, format!("not run yet: {e}")))
        .await;
    health.report("migrations", true, format!("schema version {version}"));
    let mut wait = std::time::Duration::from_secs(1);
    while let Err(e) = ensure_credentials(opened.store.as_ref(), admin.as_ref()).await {
        tracing::warn!(error = %e, "applying the credential settings failed; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(std::time::Duration::from_secs(30));
    }
    tracing::info!(backend = opened.backend(), "the store is ready");
}

/// Makes `admin` (`TRELLIS_ADMIN_KEY` / `TRELLIS_ADMIN_SECRET`) active, and
/// on a first start with no credential at all creates one and prints it once.
async fn ensure_credentials(
    store: &dyn Store,
    admin: Option<&AdminCredential>,
) -> anyhow::Result<()> {
    match admin {
        Some(AdminCredential { key, secret }) => {
            let current = store.credential(key).await?;
            let unchanged = current.as_ref().is_some_and(|c| {
                c.scopes == ["all"]
                    && argon2::password_hash::PasswordHash::new(&c.secret_hash).is_ok_and(|h| {
                        argon2::password_hash::PasswordVerifier::verify_password(
                            &argon2::Argon2::default(),
                            secret.as_bytes(),
                            &h,
                        )
                        .is_ok()
                    })
            });
            if !unchanged {
                create_credential(
                    store,
                    "admin",
                    vec![Scope::All],
                    Some(key.clone()),
                    Some(secret.clone()),
                )
                .await?;
            }
            tracing::info!(key, "admin credential from TRELLIS_ADMIN_KEY is active");
        }
        None => {
            if store.credentials().await?.is_empty() {
                let issued =
                    create_credential(store, "admin", vec![Scope::All], None, None).await?;
                println!(
                    "Created the first credential (scope: all). The secret is shown only once:"
                );
                println!("  key:    {}", issued.key);
                println!("  secret: {}", issued.secret);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServeArgs, StoreArgs};
    use crate::health::Check;

    fn on_port_0() -> ServeArgs {
        ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            ..ServeArgs::default()
        }
    }

    fn migrations(app: &Application) -> Check {
        app.health().readiness().checks["migrations"].clone()
    }

    #[tokio::test]
    async fn readiness_reports_the_schema_version_of_the_sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreArgs {
            data_dir: Some(dir.path().to_owned()),
            ..StoreArgs::default()
        };
        let app = Application::build(&Settings::load(&store, &on_port_0()).unwrap())
            .await
            .unwrap();
        let on_disk: u32 = rusqlite::Connection::open(dir.path().join("trellis.db"))
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert!(on_disk > 0);
        assert_eq!(
            migrations(&app),
            Check {
                ready: true,
                detail: format!("schema version {on_disk}"),
            }
        );
    }

    /// Waits up to 10 s for the `migrations` check to satisfy `done`.
    async fn wait_for_migrations(app: &Application, done: impl Fn(&Check) -> bool) -> Check {
        for _ in 0..200 {
            let check = migrations(app);
            if done(&check) {
                return check;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        migrations(app)
    }

    #[tokio::test]
    async fn mongodb_readiness_reports_the_schema_version_and_refuses_a_newer_schema() {
        let Ok(uri) = std::env::var("TRELLIS_TEST_MONGODB_URI") else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "TRELLIS_TEST_MONGODB_URI is not set under CI: the MongoDB tests must run"
            );
            eprintln!("skipped: TRELLIS_TEST_MONGODB_URI is not set");
            return;
        };
        let database = format!("trellis_test_{}", uuid::Uuid::new_v4().simple());
        let store = StoreArgs {
            mongodb_uri: Some(uri.clone()),
            mongodb_database: Some(database.clone()),
            ..StoreArgs::default()
        };
        let settings = Settings::load(&store, &on_port_0()).unwrap();
        let app = Application::build(&settings).await.unwrap();
        let check = wait_for_migrations(&app, |c| c.ready).await;
        assert!(check.ready, "{check:?}");
        let db = mongodb::Client::with_uri_str(&uri)
            .await
            .unwrap()
            .database(&database);
        let meta = db
            .collection::<mongodb::bson::Document>("meta")
            .find_one(mongodb::bson::doc! {"_id": "schema"})
            .await
            .unwrap()
            .expect("schema version document");
        let version = meta.get_i64("version").unwrap();
        assert_eq!(check.detail, format!("schema version {version}"));
        drop(app);
        // A database a newer release migrated: this one stays not ready.
        db.collection::<mongodb::bson::Document>("meta")
            .update_one(
                mongodb::bson::doc! {"_id": "schema"},
                mongodb::bson::doc! {"$set": {"version": version + 1}},
            )
            .await
            .unwrap();
        let app = Application::build(&settings).await.unwrap();
        let check = wait_for_migrations(&app, |c| c.detail.contains("newer")).await;
        assert!(!check.ready, "{check:?}");
        assert!(
            check
                .detail
                .contains(&format!("schema version {}", version + 1)),
            "{check:?}"
        );
        db.drop().await.unwrap();
    }
}
