//! The dashboard's HTTP behaviour through the whole router: pages and
//! their headers, sign-in, the cookie's flags and reach, sign-out and
//! revocation.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App};
use serde_json::json;

use crate::auth::{create_credential, Scope};
use crate::http::{configure, AppState, Limits};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    state: web::Data<AppState>,
}

fn fixture(public_url: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let limits = Limits {
        max_body_bytes: 1 << 20,
        max_batch: 10,
        max_page: 10,
        ..Limits::default()
    };
    let state = web::Data::new(AppState::new(store.clone(), limits, public_url).unwrap());
    Fixture {
        _dir: dir,
        store,
        state,
    }
}

fn cookie_of(res: &ServiceResponse) -> String {
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `name=value` of a Set-Cookie header, for the next request's Cookie.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

fn sign_in(key: &str, secret: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/dashboard/session")
        .set_json(json!({"key": key, "secret": secret}))
}

fn statements_with(cookie: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri("/xapi/statements?limit=1")
        .insert_header(("X-Experience-API-Version", "2.0.0"))
        .insert_header(("Cookie", cookie.to_owned()))
}

#[actix_web::test]
async fn the_root_redirects_to_the_dashboard_whose_files_carry_a_strict_policy() {
    let f = fixture("http://test");
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers().get("location").unwrap(), "/dashboard/");
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/dashboard/").to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let csp = res.headers().get("content-security-policy").unwrap();
    assert!(csp.to_str().unwrap().contains("script-src 'self'"));
    assert!(!csp.to_str().unwrap().contains("unsafe-inline"));
    let etag = res.headers().get("etag").unwrap().clone();
    let again = test::TestRequest::get()
        .uri("/dashboard/")
        .insert_header(("If-None-Match", etag))
        .to_request();
    assert_eq!(test::call_service(&app, again).await.status(), 304);
    for (name, kind) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/dashboard/assets/{name}"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        let ct = res.headers().get("content-type").unwrap().to_str().unwrap();
        assert!(ct.starts_with(kind), "{name}: {ct}");
    }
    let missing = test::TestRequest::get()
        .uri("/dashboard/assets/nothing.js")
        .to_request();
    assert_eq!(test::call_service(&app, missing).await.status(), 404);
}

#[actix_web::test]
async fn a_session_cookie_reads_with_get_only_and_ends_at_sign_out() {
    let f = fixture("http://test");
    let admin = create_credential(f.store.as_ref(), "admin", vec![Scope::All], None, None)
        .await
        .unwrap();
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;

    let res = test::call_service(&app, sign_in(&admin.key, "wrong").to_request()).await;
    assert_eq!(res.status(), 401);
    assert!(cookie_of(&res).is_empty());
    // No HTTP Basic challenge: the browser must not open its own prompt.
    assert!(res.headers().get("www-authenticate").is_none());

    let res = test::call_service(&app, sign_in(&admin.key, &admin.secret).to_request()).await;
    assert_eq!(res.status(), 200);
    let set = cookie_of(&res);
    for flag in ["HttpOnly", "SameSite=Strict", "Max-Age=", "Path=/"] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert!(!set.contains(&admin.secret));
    let cookie = pair(&set);

    let who = test::TestRequest::get()
        .uri("/dashboard/session")
        .insert_header(("Cookie", cookie.clone()))
        .to_request();
    let res = test::call_service(&app, who).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body["signed_in"], true);
    assert_eq!(body["key"], admin.key.as_str());

    let res = test::call_service(&app, statements_with(&cookie).to_request()).await;
    assert_eq!(res.status(), 200, "GET with the cookie reads statements");

    // A write with the cookie alone is not authenticated.
    let post = test::TestRequest::post()
        .uri("/xapi/statements")
        .insert_header(("X-Experience-API-Version", "2.0.0"))
        .insert_header(("Cookie", cookie.clone()))
        .set_json(json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "http://example.com/a"}
        }))
        .to_request();
    assert_eq!(app.call(post).await.map(|r| r.status()).unwrap(), 401);

    let out = test::TestRequest::delete()
        .uri("/dashboard/session")
        .insert_header(("Cookie", cookie.clone()))
        .to_request();
    let res = test::call_service(&app, out).await;
    assert_eq!(res.status(), 204);
    assert!(cookie_of(&res).contains("Max-Age=0"));

    // The old cookie no longer works, even if the browser kept it.
    let res = test::call_service(&app, statements_with(&cookie).to_request()).await;
    assert_eq!(res.status(), 401);
    let who = test::TestRequest::get()
        .uri("/dashboard/session")
        .insert_header(("Cookie", cookie))
        .to_request();
    let res = test::call_service(&app, who).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body, json!({"signed_in": false}));
}

#[actix_web::test]
async fn revoking_the_credential_ends_its_sessions_at_once() {
    let f = fixture("http://test");
    let reader = create_credential(f.store.as_ref(), "r", vec![Scope::AllRead], None, None)
        .await
        .unwrap();
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    let res = test::call_service(&app, sign_in(&reader.key, &reader.secret).to_request()).await;
    let cookie = pair(&cookie_of(&res));
    let res = test::call_service(&app, statements_with(&cookie).to_request()).await;
    assert_eq!(res.status(), 200);
    f.store.revoke_credential(&reader.key).await.unwrap();
    let res = test::call_service(&app, statements_with(&cookie).to_request()).await;
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn only_credentials_that_read_every_statement_may_sign_in() {
    let f = fixture("http://test");
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    for scopes in [
        vec![Scope::StatementsWrite],
        vec![Scope::StatementsReadMine],
        vec![Scope::State, Scope::Define],
    ] {
        let c = create_credential(f.store.as_ref(), "c", scopes, None, None)
            .await
            .unwrap();
        let res = test::call_service(&app, sign_in(&c.key, &c.secret).to_request()).await;
        assert_eq!(res.status(), 403);
        assert!(cookie_of(&res).is_empty());
    }
    let bad = test::TestRequest::post()
        .uri("/dashboard/session")
        .insert_header(("Content-Type", "application/json"))
        .set_payload("key=a&secret=b")
        .to_request();
    assert_eq!(test::call_service(&app, bad).await.status(), 400);
}

#[actix_web::test]
async fn sign_in_takes_only_a_json_body_so_another_site_cannot_post_a_form_to_it() {
    let f = fixture("http://test");
    let admin = create_credential(f.store.as_ref(), "admin", vec![Scope::All], None, None)
        .await
        .unwrap();
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    let json_body = json!({"key": admin.key, "secret": admin.secret}).to_string();
    let form_body = format!("key={}&secret={}", admin.key, admin.secret);
    // What a cross-site form can send without a CORS preflight, and no type.
    for (content_type, body) in [
        (Some("application/x-www-form-urlencoded"), form_body.clone()),
        (Some("text/plain"), json_body.clone()),
        (Some("multipart/form-data; boundary=x"), json_body.clone()),
        (Some("application/jsonp"), json_body.clone()),
        (None, json_body.clone()),
    ] {
        let mut req = test::TestRequest::post()
            .uri("/dashboard/session")
            .set_payload(body);
        if let Some(t) = content_type {
            req = req.insert_header(("Content-Type", t));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), 415, "{content_type:?}");
        assert!(cookie_of(&res).is_empty(), "{content_type:?}");
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "unsupported_media_type");
    }
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/dashboard/session")
            .insert_header(("Content-Type", "application/json; charset=utf-8"))
            .set_payload(json_body)
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200, "JSON with a charset parameter is JSON");
    assert!(!cookie_of(&res).is_empty());
}

#[actix_web::test]
async fn an_ended_session_is_refused_without_a_basic_challenge_but_api_clients_still_get_one() {
    let f = fixture("http://test");
    let admin = create_credential(f.store.as_ref(), "admin", vec![Scope::All], None, None)
        .await
        .unwrap();
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    let res = test::call_service(&app, sign_in(&admin.key, &admin.secret).to_request()).await;
    let signed_out = pair(&cookie_of(&res));
    let out = test::TestRequest::delete()
        .uri("/dashboard/session")
        .insert_header(("Cookie", signed_out.clone()))
        .to_request();
    assert_eq!(test::call_service(&app, out).await.status(), 204);
    // A session that expired: its record is still stored, past its expiry.
    let token = super::session::start_expired(f.store.as_ref(), &admin.key).await;
    let expired = format!("{}={token}", super::session::COOKIE);

    for cookie in [signed_out, expired] {
        for uri in ["/xapi/statements?limit=1", "/analytics/v1/activities"] {
            let req = test::TestRequest::get()
                .uri(uri)
                .insert_header(("X-Experience-API-Version", "2.0.0"))
                .insert_header(("Cookie", cookie.clone()))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), 401, "{uri} with {cookie}");
            assert!(
                res.headers().get("www-authenticate").is_none(),
                "{uri} with {cookie}: a challenge would open the browser's password prompt"
            );
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["error"], "unauthorized");
        }
    }

    // An API client without credentials, or with wrong ones, is challenged.
    for authorization in [None, Some("Basic bm9ib2R5Om5vdGhpbmc=")] {
        let mut req = test::TestRequest::get()
            .uri("/xapi/statements?limit=1")
            .insert_header(("X-Experience-API-Version", "2.0.0"));
        if let Some(a) = authorization {
            req = req.insert_header(("Authorization", a));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), 401);
        let challenge = res.headers().get("www-authenticate").unwrap();
        assert!(challenge.to_str().unwrap().starts_with("Basic"));
    }
}

#[actix_web::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let f = fixture("https://lrs.example.com");
    let admin = create_credential(f.store.as_ref(), "a", vec![Scope::All], None, None)
        .await
        .unwrap();
    let app = test::init_service(App::new().app_data(f.state.clone()).configure(configure)).await;
    let res = test::call_service(&app, sign_in(&admin.key, &admin.secret).to_request()).await;
    assert_eq!(res.status(), 200);
    assert!(cookie_of(&res).contains("; Secure"));
}

#[actix_web::test]
async fn the_activity_list_needs_read_access_like_any_analytics_endpoint() {
    let f = fixture("http://test");
    let app = test::init_service(
        App::new()
            .app_data(f.state.clone())
            .configure(crate::http::analytics::configure),
    )
    .await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/analytics/v1/activities")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 401);
}
