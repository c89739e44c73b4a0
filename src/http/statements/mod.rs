//! The Statement Resource (`/xapi/statements`): PUT and POST (`write`, which
//! maps the request to `ingest`), GET/HEAD (`read`, its parameters in
//! `query`, its `more` links in `more`), and the 1.0.3 alternate request
//! syntax (`alternate`).

mod alternate;
mod more;
mod ownership;
mod query;
mod read;
mod write;

use actix_web::{guard, web, HttpRequest};

use super::AppState;
use crate::xapi::datatypes::format_timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/statements")
            .route(
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(read::get_statements),
            )
            .route(web::put().to(write::put_statements))
            .route(web::post().to(write::post_statements)),
    );
}

/// `X-Experience-API-Consistent-Through` for every response of the
/// Statement Resource (required "regardless of the code returned").
pub async fn consistent_through_for(req: &HttpRequest) -> Option<String> {
    if !req.path().trim_end_matches('/').ends_with("/statements") {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    let ms = state.store.consistent_through().await.ok()?;
    Some(format_ms(ms))
}

fn format_ms(ms: i64) -> String {
    format_timestamp(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
}
