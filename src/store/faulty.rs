//! `FaultyStore`: a test wrapper that makes any backend fail or hang on
//! demand, to check how the server behaves when its store goes away.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Op, Store, StoreError, StoreLayer};

/// Switches shared by a `FaultyStore` and whoever holds a copy.
#[derive(Clone, Default)]
pub struct FaultControl {
    failing: Arc<AtomicBool>,
    hanging: Arc<AtomicBool>,
}

impl FaultControl {
    /// Every call fails with `Unavailable` while on.
    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::Release);
    }

    /// Every call waits (without answering) while on.
    pub fn hang(&self, on: bool) {
        self.hanging.store(on, Ordering::Release);
    }
}

pub struct FaultyStore<S> {
    inner: S,
    control: FaultControl,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            control: FaultControl::default(),
        }
    }

    pub fn control(&self) -> FaultControl {
        self.control.clone()
    }

    pub fn fail(&self, on: bool) {
        self.control.fail(on);
    }

    pub fn hang(&self, on: bool) {
        self.control.hang(on);
    }

    async fn gate(&self) -> Result<(), StoreError> {
        while self.control.hanging.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.control.failing.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("fault injected".into()));
        }
        Ok(())
    }
}

impl<S: Store> StoreLayer for FaultyStore<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    async fn around<'a, T: Send + 'a>(
        &'a self,
        _op: Op,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> Result<T, StoreError> {
        self.gate().await?;
        call.await
    }
}
