//! Graceful shutdown: one signal that background components wait on, and the
//! tasks the application waits for before it flushes the store.
//!
//! The order on SIGTERM/SIGINT (`startup::Application::run_until_stopped`):
//! 1. readiness turns false (component `shutdown`), so load balancers stop
//!    sending new requests;
//! 2. the signal fires: background tasks started with `Shutdown::spawn` see
//!    `signalled()` complete, finish their step and write their checkpoint;
//! 3. the HTTP server stops accepting and finishes the requests in flight;
//! 4. the background tasks are awaited (bounded by the grace period);
//! 5. the store is flushed (`Store::flush`): every queued write is durable.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a shutdown waits: for requests in flight once the server stops
/// accepting, then for the background tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timeout: Duration::from_secs(30),
        }
    }
}

/// Background tasks by name.
type Tasks = Vec<(String, JoinHandle<()>)>;

#[derive(Clone)]
pub struct Shutdown {
    signal: Arc<watch::Sender<bool>>,
    tasks: Arc<Mutex<Tasks>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            signal: Arc::new(watch::channel(false).0),
            tasks: Arc::default(),
        }
    }

    /// Starts the shutdown (idempotent).
    pub fn trigger(&self) {
        self.signal.send_replace(true);
    }

    /// Completes once the shutdown has started (at once if it already has).
    pub fn signalled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.signal.subscribe();
        async move {
            // An error means the sender is gone: shutting down all the same.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Runs a background task (an aggregator's `run_until_stopped`, for
    /// example) that the shutdown waits for before flushing the store. The
    /// task should end soon after `signalled()` completes.
    pub fn spawn(&self, name: &str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push((name.to_owned(), handle));
        }
    }

    /// Waits for every spawned task, at most `grace` in all; tasks still
    /// running then are aborted and named in the log.
    pub async fn wait_for_tasks(&self, grace: Duration) {
        let tasks = self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + grace;
        for (name, mut handle) in tasks {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(())) => tracing::info!(task = %name, "background task stopped"),
                Ok(Err(e)) => tracing::error!(task = %name, error = %e, "background task failed"),
                Err(_) => {
                    handle.abort();
                    tracing::warn!(task = %name, "background task did not stop in time; aborted");
                }
            }
        }
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn os_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
                    _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn tasks_see_the_signal_and_are_awaited() {
        let shutdown = Shutdown::new();
        let finished = Arc::new(AtomicBool::new(false));
        let (signalled, done) = (shutdown.signalled(), finished.clone());
        shutdown.spawn("worker", async move {
            signalled.await;
            tokio::time::sleep(Duration::from_millis(30)).await;
            done.store(true, Ordering::Release);
        });
        let mut early = std::pin::pin!(shutdown.signalled());
        assert!(
            futures_util::FutureExt::now_or_never(early.as_mut()).is_none(),
            "no signal before the trigger"
        );
        shutdown.trigger();
        shutdown.wait_for_tasks(Duration::from_secs(5)).await;
        assert!(finished.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_signal_is_aborted_after_the_grace_period() {
        let shutdown = Shutdown::new();
        shutdown.spawn("stuck", std::future::pending());
        shutdown.trigger();
        let started = std::time::Instant::now();
        shutdown.wait_for_tasks(Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
