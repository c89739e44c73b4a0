//! Operations endpoints, outside `/xapi` and without authentication:
//! `/healthz` (the process answers), `/readyz` (every component ready) and
//! `/metrics` (Prometheus text format). Operators restrict `/metrics` at the
//! network level (see deploy/README.md).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use super::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// 200 when ready, else 503; the body names what is not ready.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let readiness = state.health.readiness();
    state.metrics.ready.set(i64::from(readiness.ready));
    let body = serde_json::json!({
        "status": if readiness.ready { "ready" } else { "not_ready" },
        "not_ready": readiness.not_ready,
        "checks": readiness.checks,
    });
    if readiness.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state
        .metrics
        .ready
        .set(i64::from(state.health.readiness().ready));
    match state.metrics.encode() {
        Ok(text) => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ))
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use actix_web::{test, App};

    use super::*;
    use crate::health::{probe, Health};
    use crate::http::Limits;
    use crate::store::faulty::FaultyStore;
    use crate::store::sqlite::SqliteStore;
    use crate::store::Store;

    #[actix_web::test]
    async fn readyz_answers_503_naming_the_store_while_it_is_away() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyStore::new(SqliteStore::open(dir.path()).unwrap());
        let control = faulty.control();
        let store: Arc<dyn Store> = Arc::new(faulty);
        let health = Health::new();
        health.report("migrations", true, "done");
        let state = web::Data::new(AppState {
            health: health.clone(),
            ..AppState::new(
                store.clone(),
                Limits {
                    max_body_bytes: 1 << 20,
                    max_batch: 10,
                    max_page: 10,
                    ..Limits::default()
                },
                "http://test",
            )
            .unwrap()
        });
        let app = test::init_service(App::new().app_data(state.clone()).configure(configure)).await;
        let get = |path: &'static str| test::TestRequest::get().uri(path).to_request();
        let timeout = Duration::from_millis(200);

        probe(&health, "store", store.ping(), timeout).await;
        let res = test::call_service(&app, get("/readyz")).await;
        assert_eq!(res.status(), 200);

        control.fail(true);
        probe(&health, "store", store.ping(), timeout).await;
        let res = test::call_service(&app, get("/readyz")).await;
        assert_eq!(res.status(), 503);
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["status"], "not_ready");
        assert_eq!(body["not_ready"], serde_json::json!(["store"]));
        assert_eq!(body["checks"]["store"]["ready"], false);
        assert_eq!(body["checks"]["migrations"]["ready"], true);
        let metrics = test::call_and_read_body(&app, get("/metrics")).await;
        assert!(String::from_utf8_lossy(&metrics).contains("trellis_ready 0"));

        control.fail(false);
        probe(&health, "store", store.ping(), timeout).await;
        let res = test::call_service(&app, get("/readyz")).await;
        assert_eq!(res.status(), 200);
    }
}
