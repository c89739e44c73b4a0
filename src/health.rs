//! Readiness: a small shared registry that components report into, and a
//! watcher that keeps a component's entry current by pinging it.
//!
//! The server is ready when every registered component is. Components are
//! named (`store`, `migrations`, `shutdown`, `aggregator:<name>`, ...); a
//! component that registers as not ready keeps the server not ready until it
//! reports otherwise. `/readyz` answers from the latest reports, so a probe
//! costs no I/O; watchers (the store's, started by `startup`) ping in the
//! background. This module knows no component: it sits below all of them.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// One component's last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub ready: bool,
    /// Why it is not ready, or what it last saw.
    pub detail: String,
}

#[derive(Clone, Default)]
pub struct Health {
    checks: Arc<Mutex<BTreeMap<String, Check>>>,
}

/// The readiness of the whole server at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// Names of the components that are not ready.
    pub not_ready: Vec<String>,
    pub checks: BTreeMap<String, Check>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// Records `component`'s state, registering it on first report; logs
    /// a warning when it is not ready.
    pub fn report(&self, component: &str, ready: bool, detail: impl Into<String>) {
        self.record(component, ready, detail.into(), true);
    }

    /// Like `report`, for expected changes (a shutdown) that need no warning.
    pub fn report_quietly(&self, component: &str, ready: bool, detail: impl Into<String>) {
        self.record(component, ready, detail.into(), false);
    }

    fn record(&self, component: &str, ready: bool, detail: String, warn: bool) {
        let check = Check { ready, detail };
        if let Ok(mut checks) = self.checks.lock() {
            if checks.get(component) != Some(&check) {
                if !ready && warn {
                    tracing::warn!(component, detail = %check.detail, "not ready");
                } else if checks.get(component).is_some_and(|c| !c.ready) {
                    tracing::info!(component, "ready again");
                }
                checks.insert(component.to_owned(), check);
            }
        }
    }

    pub fn readiness(&self) -> Readiness {
        let checks = self.checks.lock().map(|c| c.clone()).unwrap_or_default();
        let not_ready: Vec<String> = checks
            .iter()
            .filter(|(_, c)| !c.ready)
            .map(|(name, _)| name.clone())
            .collect();
        Readiness {
            // A server nothing has reported into yet has not started.
            ready: not_ready.is_empty() && !checks.is_empty(),
            not_ready,
            checks,
        }
    }
}

/// Awaits one `ping` of a component, within `timeout`, and reports the
/// outcome under `component`.
pub async fn probe<E: Display>(
    health: &Health,
    component: &str,
    ping: impl Future<Output = Result<(), E>>,
    timeout: Duration,
) {
    match tokio::time::timeout(timeout, ping).await {
        Ok(Ok(())) => health.report(component, true, "reachable"),
        Ok(Err(e)) => health.report(component, false, format!("ping failed: {e}")),
        Err(_) => health.report(
            component,
            false,
            format!("no answer to ping within {} ms", timeout.as_millis()),
        ),
    }
}

/// Probes `component` with a fresh `ping()` every `interval` until `stop`
/// completes.
pub async fn watch<P, F, E>(
    health: Health,
    component: &str,
    ping: P,
    interval: Duration,
    stop: impl Future<Output = ()>,
) where
    P: Fn() -> F,
    F: Future<Output = Result<(), E>>,
    E: Display,
{
    let timeout = interval.min(Duration::from_secs(2));
    let watch = async {
        loop {
            probe(&health, component, ping(), timeout).await;
            tokio::time::sleep(interval).await;
        }
    };
    tokio::select! {
        () = watch => {}
        () = stop => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_component_is() {
        let health = Health::new();
        assert!(!health.readiness().ready, "nothing reported yet");
        health.report("store", true, "reachable");
        health.report("aggregator:cx", false, "catching up");
        let r = health.readiness();
        assert!(!r.ready);
        assert_eq!(r.not_ready, vec!["aggregator:cx".to_owned()]);
        health.report("aggregator:cx", true, "caught up");
        assert!(health.readiness().ready);
    }

    async fn wait_for(health: &Health, ready: bool) {
        for _ in 0..200 {
            if health.readiness().ready == ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("readiness never became {ready}: {:?}", health.readiness());
    }

    /// A component whose ping fails, hangs or answers on demand.
    #[derive(Clone, Default)]
    struct Component {
        failing: Arc<std::sync::atomic::AtomicBool>,
        hanging: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Component {
        async fn ping(self) -> Result<(), String> {
            use std::sync::atomic::Ordering::Relaxed;
            if self.hanging.load(Relaxed) {
                std::future::pending::<()>().await;
            }
            match self.failing.load(Relaxed) {
                true => Err("refused".into()),
                false => Ok(()),
            }
        }
    }

    #[tokio::test]
    async fn readiness_flips_when_a_watched_component_goes_away_and_comes_back() {
        use std::sync::atomic::Ordering::Relaxed;
        let component = Component::default();
        let health = Health::new();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let pinged = component.clone();
        let watcher = tokio::spawn(watch(
            health.clone(),
            "store",
            move || pinged.clone().ping(),
            Duration::from_millis(20),
            async {
                let _ = stop_rx.await;
            },
        ));
        wait_for(&health, true).await;
        component.failing.store(true, Relaxed);
        wait_for(&health, false).await;
        assert_eq!(health.readiness().not_ready, vec!["store".to_owned()]);
        assert!(health.readiness().checks["store"]
            .detail
            .contains("refused"));
        component.failing.store(false, Relaxed);
        wait_for(&health, true).await;
        component.hanging.store(true, Relaxed);
        wait_for(&health, false).await;
        assert!(health.readiness().checks["store"]
            .detail
            .contains("no answer"));
        component.hanging.store(false, Relaxed);
        wait_for(&health, true).await;
        let _ = stop_tx.send(());
        watcher.await.unwrap();
    }
}
