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

use crate::auth::{create_credential, Authenticator, Scope};
use crate::config::Settings;
use crate::cx::aggregator::Aggregator;
use crate::cx::exporter::CxCollector;
use crate::cx::Cx;
use crate::health::{self, Health};
use crate::http::{self, AppState, Limits};
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
        let opened = crate::store::open(settings, Some(&metrics)).await?;
        let store: Arc<dyn Store> = opened.store.clone();
        if opened.backend() == "sqlite" {
            // `open` returns once the schema is created or upgraded.
            health.report("migrations", true, "schema up to date");
            ensure_credentials(store.as_ref(), admin.as_ref()).await?;
        } else {
            // MongoDB may be down at start: serve (answering 503 and not
            // ready) while connecting in the background.
            health.report("migrations", false, "connecting to MongoDB");
            tokio::spawn(bootstrap(opened, admin, health.clone()));
        }
        health::probe_store(store.as_ref(), &health, STORE_PROBE_INTERVAL).await;
        shutdown.spawn(
            "store-probe",
            health::watch_store(
                store.clone(),
                health.clone(),
                STORE_PROBE_INTERVAL,
                shutdown.signalled(),
            ),
        );
        let cx = Arc::new(Cx::new(settings.analytics.clone()));
        CxCollector::register(cx.clone(), metrics.registry())?;
        health.report("aggregator:cx", false, "loading the aggregate state");
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let state = web::Data::new(AppState {
            authenticator: Authenticator::new(store.clone()),
            store: store.clone(),
            limits: Limits {
                max_body_bytes: settings.max_body_bytes,
                max_batch: settings.max_batch,
                max_page: settings.max_page,
            },
            public_url,
            declared_versions: Default::default(),
            metrics: metrics.clone(),
            health: health.clone(),
            cx: cx.clone(),
        });
        let grace = Duration::from_secs(settings.shutdown_timeout_secs);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(cors())
                .wrap(actix_web::middleware::from_fn(http::observe::observe))
                .configure(http::configure)
        })
        // Signals are ours: `run_until_stopped` orders the shutdown.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_secs)
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
    opened.initialize_with_retry().await;
    health.report("migrations", true, "MongoDB indexes in place");
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
