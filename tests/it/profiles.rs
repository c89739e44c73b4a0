//! xAPI 1.0.3 profile PUTs without If-Match/If-None-Match: a new document is
//! refused by default (the ADL suite expects 400) and created with
//! `--allow-profile-put-without-precondition` (xAPI.js sends such PUTs); an
//! existing document answers 409 either way.

use serde_json::json;

use crate::helpers::Spawn;

const PATHS: [&str; 2] = [
    "/xapi/agents/profile?agent=%7B%22mbox%22%3A%22mailto%3Aana%40example.com%22%7D&profileId=",
    "/xapi/activities/profile?activityId=http%3A%2F%2Fexample.com%2Flesson&profileId=",
];

#[test]
fn a_1_0_3_profile_put_without_precondition_creates_a_new_document_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path())
        .flags(&["--allow-profile-put-without-precondition"])
        .in_process();
    let v103 = [("X-Experience-API-Version", "1.0.3")];
    for path in PATHS {
        let path = format!("{path}{}", uuid::Uuid::new_v4());
        let created = app.request("PUT", &path, &v103, Some(&json!({"a": 1})));
        assert!(matches!(created.status, 201 | 204), "{path}: {created:?}");
        let again = app.request("PUT", &path, &v103, Some(&json!({"a": 2})));
        assert_eq!(again.status, 409, "{path}: {again:?}");
        let read = app.request("GET", &path, &v103, None);
        assert_eq!(read.json(), json!({"a": 1}));
    }
}

#[test]
fn by_default_a_1_0_3_profile_put_without_precondition_is_refused_for_a_new_document() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let v103 = [("X-Experience-API-Version", "1.0.3")];
    for path in PATHS {
        let path = format!("{path}{}", uuid::Uuid::new_v4());
        let refused = app.request("PUT", &path, &v103, Some(&json!({"a": 1})));
        assert_eq!(refused.status, 400, "{path}: {refused:?}");
        let created = app.request(
            "PUT",
            &path,
            &[v103[0], ("If-None-Match", "*")],
            Some(&json!({"a": 1})),
        );
        assert_eq!(created.status, 204, "{path}: {created:?}");
        let again = app.request("PUT", &path, &v103, Some(&json!({"a": 2})));
        assert_eq!(again.status, 409, "{path}: {again:?}");
    }
}
