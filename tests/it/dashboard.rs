//! Dashboard sessions across instances: two Trellis instances on one
//! MongoDB database share the sessions, so a sign-in on one works on the
//! other and a sign-out on either ends it on both.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{wait_until, Client, MongoServer, Spawn, ADMIN_KEY, ADMIN_SECRET};

/// The `name=value` of the session cookie a sign-in answered.
fn sign_in(client: &Client) -> String {
    let r = client.request(
        "POST",
        "/dashboard/session",
        &[],
        Some(&json!({"key": ADMIN_KEY, "secret": ADMIN_SECRET})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").expect("a session cookie").to_owned();
    set.split(';').next().unwrap_or_default().to_owned()
}

fn reads(client: &Client, cookie: &str) -> u16 {
    client
        .request(
            "GET",
            "/xapi/statements?limit=1",
            &[("Cookie", cookie)],
            None,
        )
        .status
}

#[test]
fn a_session_from_one_instance_works_on_another_and_sign_out_ends_it_on_both() {
    let Some(mongo) = MongoServer::start() else {
        return;
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let app_a = Spawn::new(da.path())
        .mongo(&mongo.uri(), "dashboard")
        .in_process();
    let app_b = Spawn::new(db.path())
        .mongo(&mongo.uri(), "dashboard")
        .in_process();
    // Without HTTP Basic credentials: only the cookie authenticates.
    let (a, b) = (app_a.anonymous(), app_b.anonymous());

    let cookie = sign_in(&a);
    assert_eq!(reads(&a, &cookie), 200);
    assert_eq!(
        reads(&b, &cookie),
        200,
        "the other instance knows the session"
    );
    // The analytics accept the cookie too, once their state is loaded.
    wait_until(
        "the analytics answer with the cookie",
        Duration::from_secs(30),
        || {
            let r = b.request(
                "GET",
                "/analytics/v1/retention",
                &[("Cookie", &cookie)],
                None,
            );
            assert!(matches!(r.status, 200 | 503), "{}", r.body);
            (r.status == 200).then_some(())
        },
    );

    let out = b.request("DELETE", "/dashboard/session", &[("Cookie", &cookie)], None);
    assert_eq!(out.status, 204);
    assert_eq!(reads(&a, &cookie), 401, "signed out on b, ended on a");
    assert_eq!(reads(&b, &cookie), 401);
}
