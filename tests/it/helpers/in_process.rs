//! Trellis in the test's own process: the application `trellis serve` runs,
//! built from the same flags, on a thread with its own actix runtime.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{mpsc, Once};
use std::thread::JoinHandle;

use clap::Parser;
use trellis::cli::{Cli, Command};
use trellis::config::Settings;
use trellis::shutdown::Shutdown;
use trellis::startup::{AdminCredential, Application};

use super::{wait_until, Client, Spawn, ADMIN_KEY, ADMIN_SECRET, START_TIMEOUT};

/// A running application; stops (gracefully) when dropped.
pub struct TestApp {
    client: Client,
    shutdown: Shutdown,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

/// What the application thread hands back once the listener is bound.
type Started = (SocketAddr, Shutdown);

impl Spawn {
    /// Builds and starts the application; returns once it answers (for
    /// MongoDB: once an authenticated query succeeds).
    pub fn in_process(self) -> TestApp {
        init_logs();
        let settings = self.settings();
        let admin = self.admin.then(|| AdminCredential {
            key: ADMIN_KEY.to_owned(),
            secret: ADMIN_SECRET.to_owned(),
        });
        let (started_tx, started_rx) = mpsc::channel::<anyhow::Result<Started>>();
        let thread = std::thread::Builder::new()
            .name("trellis-app".to_owned())
            .spawn(move || {
                // The runtime `trellis serve` runs on (`#[actix_web::main]`).
                actix_web::rt::System::new().block_on(async move {
                    let app = match Application::build_with_admin(&settings, admin).await {
                        Ok(app) => app,
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return Ok(());
                        }
                    };
                    let shutdown = app.shutdown();
                    let _ = started_tx.send(Ok((app.address(), shutdown.clone())));
                    // Stopped by `TestApp::stop`, never by the test
                    // process's signals.
                    app.run_until(std::future::pending()).await
                })
            })
            .expect("a thread for the application");
        let (address, shutdown) = match started_rx.recv() {
            Ok(Ok(started)) => started,
            Ok(Err(e)) => panic!("the application did not start: {e:#}"),
            Err(_) => panic!("the application thread died: {:?}", thread.join()),
        };
        let app = TestApp {
            client: Client::new(&format!("http://{address}")),
            shutdown,
            thread: Some(thread),
        };
        if self.admin {
            wait_until("the store to answer", START_TIMEOUT, || {
                app.client.is_ready().then_some(())
            });
        }
        app
    }

    /// The settings `trellis serve` would load from the same flags. Only
    /// the store selection is taken from the harness, never from the
    /// environment the tests run in.
    fn settings(&self) -> Settings {
        let args = std::iter::once("trellis".to_owned()).chain(self.args());
        let mut cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("bad flags: {e}"));
        cli.store.config = None;
        if self.mongo.is_none() {
            cli.store.mongodb_uri = None;
        }
        let Command::Serve(serve) = &cli.command else {
            unreachable!("Spawn::args starts `serve`")
        };
        Settings::load(&cli.store, serve).expect("valid settings")
    }
}

impl TestApp {
    /// A client of this server (admin credential) to move to other threads.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Shuts down as on SIGTERM (requests in flight finish, background
    /// tasks stop, the store is flushed) and asserts that it went well.
    pub fn stop(mut self) {
        if let Err(e) = self.shut_down() {
            panic!("the application did not shut down cleanly: {e:#}");
        }
    }

    fn shut_down(&mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the application thread panicked"),
            None => Ok(()),
        }
    }
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Application logs go to the output of the test that started the
/// application (shown when it fails); `TRELLIS_TEST_LOG` filters them
/// (default `warn`).
fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("TRELLIS_TEST_LOG").unwrap_or_else(|_| "warn".to_owned());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}
