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
