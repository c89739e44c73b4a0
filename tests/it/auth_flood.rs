//! Authentication that cannot be turned into a denial of service: repeated
//! wrong secrets for a key are answered 429 with `Retry-After` without
//! another Argon2 verification, while the key's owner keeps working.

use crate::helpers::{Spawn, ADMIN_KEY};

#[test]
fn repeated_wrong_secrets_get_429_with_retry_after_and_the_owner_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let (status, _) = app.get("/xapi/statements?limit=1");
    assert_eq!(status, 200);
    let attacker = app.as_user(ADMIN_KEY, "a wrong guess");
    let first = attacker.request("GET", "/xapi/statements?limit=1", &[], None);
    assert_eq!(first.status, 401, "{}", first.body);
    let second = attacker.request("GET", "/xapi/statements?limit=1", &[], None);
    assert_eq!(second.status, 429, "{}", second.body);
    let retry: u64 = second
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(
        !second.body.contains("wrong guess"),
        "the secret is never echoed"
    );
    // The owner of the key is not locked out by someone else's guesses.
    let (status, body) = app.get("/xapi/statements?limit=1");
    assert_eq!(status, 200, "{body}");
    // Unknown keys are refused and back off the same way.
    let nobody = app.as_user("nobody", "x");
    assert_eq!(
        nobody
            .request("GET", "/xapi/statements?limit=1", &[], None)
            .status,
        401
    );
    assert_eq!(
        nobody
            .request("GET", "/xapi/statements?limit=1", &[], None)
            .status,
        429
    );
}
