//! The About resource: supported versions; open to anyone.

use actix_web::{guard, web, HttpResponse};
use serde_json::json;

use crate::xapi::XapiVersion;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/about",
        web::route()
            .guard(guard::Any(guard::Get()).or(guard::Head()))
            .to(get_about),
    );
}

async fn get_about() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": XapiVersion::SUPPORTED,
        "extensions": {
            "urn:trellis:about:server": {
                "name": "Trellis",
                "version": env!("CARGO_PKG_VERSION")
            }
        }
    }))
}
