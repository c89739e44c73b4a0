//! The last line of defence: a handler that panics answers 500 with the
//! request id instead of dropping the connection with no status.
//!
//! actix-web does not catch panics; without this the client sees a reset
//! connection, and neither the request log nor the metrics see the request.
//! Nothing reachable from a request should panic (the parsers are property
//! tested); this turns a bug that slipped through into one log line and a
//! `trellis_panics_total` increment that an alert can watch.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use futures_util::FutureExt as _;

use super::error::ApiError;
use super::observe::RequestId;
use super::AppState;

/// Runs the rest of the chain, turning a panic into a 500
/// (`ApiError::Panicked`, which carries the request id).
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Taken before the chain consumes `req` (a clone of the request would
    // break routing, which needs it unshared).
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let route = req.match_pattern();
    // Unwind safety: after a panic the request's own state is dropped; the
    // shared state (metrics, stores, caches) is behind atomics or locks
    // that a handler does not leave half-updated.
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            if let Some(state) = &state {
                state.metrics.panics.inc();
            }
            tracing::error!(
                request_id = %request_id,
                route = route.as_deref().unwrap_or_default(),
                panic = panic_message(payload.as_ref()),
                "request handler panicked"
            );
            Err(ApiError::Panicked { request_id }.into())
        }
    }
}

/// The text of a panic (`panic!` carries a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::middleware::from_fn;
    use actix_web::{test, App};

    use super::*;
    use crate::http::observe::{observe, REQUEST_ID_HEADER};
    use crate::http::Limits;
    use crate::metrics::Metrics;
    use crate::store::sqlite::SqliteStore;
    use crate::store::Store;
    use actix_web::HttpResponse;

    /// A route that exists only in this test: production has no way to
    /// reach a deliberate panic.
    async fn panicking_handler() -> HttpResponse {
        panic!("deliberate panic for the test")
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_with_the_request_id_and_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let metrics = Metrics::new().unwrap();
        let state = web::Data::new(AppState {
            metrics: metrics.clone(),
            ..AppState::new(store, Limits::default(), "http://test").unwrap()
        });
        let (logs, _guard) = crate::telemetry::Captured::start();
        let app = test::init_service(
            App::new()
                .app_data(state)
                .wrap(from_fn(catch_panics))
                .wrap(from_fn(observe))
                .route("/test/panic", web::get().to(panicking_handler))
                .route("/test/fine", web::get().to(HttpResponse::Ok)),
        )
        .await;

        let req = test::TestRequest::get()
            .uri("/test/panic")
            .insert_header((REQUEST_ID_HEADER, "panic-test-1"))
            .to_request();
        // The error leaves the app; the server answers it with its
        // `error_response`, as here.
        let error = test::try_call_service(&app, req)
            .await
            .err()
            .expect("a panic answers an error");
        let res = error.error_response();
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers().get(REQUEST_ID_HEADER).unwrap(),
            "panic-test-1"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&actix_web::body::to_bytes(res.into_body()).await.unwrap())
                .unwrap();
        assert_eq!(body["request_id"], "panic-test-1");
        assert_eq!(body["error"], "internal");
        assert!(!body.to_string().contains("deliberate"), "{body}");
        assert_eq!(metrics.panics.get(), 1);
        assert!(metrics.encode().unwrap().contains("trellis_panics_total 1"));
        let log = logs.text();
        let panic_lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("request handler panicked"))
            .collect();
        assert_eq!(panic_lines.len(), 1, "{log}");
        assert!(panic_lines[0].contains("panic-test-1"), "{log}");

        // The worker survives and answers the next request.
        let res = test::call_service(
            &app,
            test::TestRequest::get().uri("/test/fine").to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(metrics.panics.get(), 1);
    }
}
