//! Authentication that cannot be turned into a denial of service: repeated
//! wrong secrets for a key are answered 429 with `Retry-After` without
//! another Argon2 verification, while the key's owner keeps working.

use crate::helpers::{Spawn, ADMIN_KEY};

/// Wrong secrets answered 401 before a key backs off (`auth::throttle`:
/// ten free failures, then the eleventh starts the backoff).
const REFUSALS_BEFORE_BACKOFF: usize = 11;

#[test]
fn repeated_wrong_secrets_get_429_with_retry_after_and_the_owner_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let (status, _) = app.get("/xapi/statements?limit=1");
    assert_eq!(status, 200);
    let attacker = app.as_user(ADMIN_KEY, "a wrong guess");
    // A few failures are answered 401 (a mistyped secret), then the key
    // backs off.
    for _ in 0..REFUSALS_BEFORE_BACKOFF {
        let refused = attacker.request("GET", "/xapi/statements?limit=1", &[], None);
        assert_eq!(refused.status, 401, "{}", refused.body);
    }
    let throttled = attacker.request("GET", "/xapi/statements?limit=1", &[], None);
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    let retry: u64 = throttled
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(
        !throttled.body.contains("wrong guess"),
        "the secret is never echoed"
    );
    // The owner of the key is not locked out by someone else's guesses.
    let (status, body) = app.get("/xapi/statements?limit=1");
    assert_eq!(status, 200, "{body}");
    // Unknown keys are refused and back off the same way.
    let nobody = app.as_user("nobody", "x");
    for _ in 0..REFUSALS_BEFORE_BACKOFF {
        assert_eq!(
            nobody
                .request("GET", "/xapi/statements?limit=1", &[], None)
                .status,
            401
        );
    }
    assert_eq!(
        nobody
            .request("GET", "/xapi/statements?limit=1", &[], None)
            .status,
        429
    );
}
