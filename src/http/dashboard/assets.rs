//! The dashboard's files, compiled into the binary (`include_bytes!`), with
//! their content types and ETags, and the security headers every dashboard
//! page carries.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// The Content-Security-Policy of the dashboard: its own scripts, styles
/// and images only, requests to its own origin only, no inline script or
/// style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// One compiled-in file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// An entry of `ASSETS`: the file `assets/NAME` compiled in.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/dashboard/` (`index.html` is the page itself).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", JS),
    asset!("charts.js", JS),
    asset!("views.js", JS),
    asset!("views2.js", JS),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
];

/// A strong ETag per asset, computed once.
fn etag(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.bytes);
                let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    });
    tags.get(index).map(String::as_str).unwrap_or("\"\"")
}

/// Adds the headers every dashboard response carries.
pub fn secure(builder: &mut actix_web::HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

/// Serves asset `name`: 304 when the client's copy is current, 404 when
/// there is no such file. Clients revalidate on every load (`no-cache`), so
/// a new binary's files are picked up at once.
pub fn serve(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some((index, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.name == name) else {
        let mut res = HttpResponse::NotFound();
        secure(&mut res);
        return res.content_type("text/plain").body("no such file");
    };
    let tag = etag(index);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    secure(&mut res);
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.bytes)
}
