//! The rules of `ingest`, one behaviour per test.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::auth::Scope;
use crate::xapi::statement::SIGNATURE_USAGE;

const HOME: &str = "http://lrs.example.com";

fn sender() -> Sender {
    let principal = Principal {
        key: "client-key".into(),
        name: "LMS".into(),
        scopes: vec![Scope::StatementsWrite],
    };
    Sender::for_principal(&principal, HOME).unwrap()
}

fn resource() -> Options {
    Options::statement_resource(XapiVersion::V2_0, sender(), 10)
}

fn import() -> Options {
    Options::import(XapiVersion::V2_0, Some(XapiVersion::V1_0), sender())
}

fn statement(n: usize) -> Value {
    json!({
        "actor": {"mbox": format!("mailto:l{n}@example.com")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("http://example.com/a/{n}")}
    })
}

fn post(body: &Value, options: &Options) -> Result<Batch, IngestError> {
    let submission = Submission::post(body.to_string().as_bytes())?;
    prepare(submission, Vec::new(), options)
}

fn put(body: &Value, id: Uuid) -> Result<Batch, IngestError> {
    let submission = Submission::put(body.to_string().as_bytes(), id)?;
    prepare(submission, Vec::new(), &resource())
}

fn ids(batch: &Batch) -> Vec<Uuid> {
    batch
        .statements
        .iter()
        .map(|s| s.statement.id().unwrap())
        .collect()
}

fn invalid_at(result: Result<Batch, IngestError>) -> String {
    match result {
        Err(IngestError::Invalid(e)) => e.path.to_string(),
        other => panic!("expected an invalid statement, got {other:?}"),
    }
}

// ------------------------------------------------------------ shape, size

#[test]
fn a_post_takes_one_statement_or_an_array_and_nothing_else() {
    assert_eq!(
        post(&statement(1), &resource()).unwrap().statements.len(),
        1
    );
    let two = json!([statement(1), statement(2)]);
    assert_eq!(post(&two, &resource()).unwrap().statements.len(), 2);
    assert!(matches!(
        Submission::post(b"42"),
        Err(IngestError::NotStatements)
    ));
    assert!(matches!(
        Submission::post(b"{\"actor\":"),
        Err(IngestError::NotJson(_))
    ));
}

#[test]
fn a_repeated_key_makes_the_body_invalid_json() {
    let body = br#"{"id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa1"}"#;
    assert!(matches!(
        Submission::post(body),
        Err(IngestError::NotJson(_))
    ));
}

#[test]
fn more_statements_than_the_limit_are_refused_whole() {
    let body = Value::Array((0..11).map(statement).collect());
    let submission = Submission::post(body.to_string().as_bytes()).unwrap();
    assert_eq!(submission.len(), 11);
    assert!(matches!(
        prepare(submission, Vec::new(), &resource()),
        Err(IngestError::TooManyStatements {
            count: 11,
            limit: 10
        })
    ));
}

#[test]
fn an_invalid_statement_is_reported_at_its_position_in_the_array() {
    let mut bad = statement(2);
    bad["actor"]["mbox"] = json!("l2@example.com");
    let path = invalid_at(post(&json!([statement(1), bad]), &resource()));
    assert!(path.starts_with("$[1].actor"), "{path}");
}

// ------------------------------------------------------------ ids

#[test]
fn a_statement_without_an_id_gets_a_random_one_and_keeps_its_own_otherwise() {
    let batch = post(&json!([statement(1), statement(1)]), &resource()).unwrap();
    let got = ids(&batch);
    assert_ne!(got[0], got[1], "two random ids");
    assert_eq!(got[0].get_version_num(), 4);
    let mut own = statement(3);
    own["id"] = json!("FD41C918-B88B-4B20-A0A5-A4C32391AAA0");
    let batch = post(&own, &resource()).unwrap();
    // Stored in canonical lower case, so lookups by id are exact.
    assert_eq!(
        batch.statements[0].statement.body()["id"],
        "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
    );
}

#[test]
fn content_derived_ids_repeat_for_the_same_statement() {
    let first = ids(&post(&statement(1), &import()).unwrap());
    let again = ids(&post(&statement(1), &import()).unwrap());
    let other = ids(&post(&statement(2), &import()).unwrap());
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(first[0].get_version_num(), 5);
}

#[test]
fn a_put_gives_its_statement_id_to_a_statement_without_one() {
    let id = Uuid::new_v4();
    assert_eq!(ids(&put(&statement(1), id).unwrap()), vec![id]);
}

#[test]
fn a_put_accepts_the_same_id_in_the_statement_in_any_case() {
    let id = Uuid::new_v4();
    let mut s = statement(1);
    s["id"] = json!(id.to_string().to_uppercase());
    assert_eq!(ids(&put(&s, id).unwrap()), vec![id]);
}

#[test]
fn a_put_whose_statement_id_differs_from_the_statement_id_is_refused() {
    let mut s = statement(1);
    s["id"] = json!(Uuid::new_v4().to_string());
    assert!(matches!(
        put(&s, Uuid::new_v4()),
        Err(IngestError::StatementIdMismatch)
    ));
}

#[test]
fn a_put_of_an_array_is_refused() {
    let body = json!([statement(1)]).to_string();
    assert!(matches!(
        Submission::put(body.as_bytes(), Uuid::new_v4()),
        Err(IngestError::PutNotAnObject)
    ));
}

// ------------------------------------------------------------ duplicates

#[test]
fn an_id_repeated_within_a_submission_is_refused_at_the_repeat() {
    let id = Uuid::new_v4();
    let mut a = statement(1);
    a["id"] = json!(id.to_string());
    let mut b = statement(2);
    b["id"] = json!(id.to_string().to_uppercase());
    let path = invalid_at(post(&json!([a, statement(3), b]), &resource()));
    assert_eq!(path, "$[2].id");
}

#[test]
fn the_same_statement_twice_without_ids_is_a_duplicate_only_with_content_ids() {
    let twice = json!([statement(1), statement(1)]);
    assert!(post(&twice, &resource()).is_ok());
    assert_eq!(invalid_at(post(&twice, &import())), "$[1].id");
}

// ------------------------------------------------------------ authority

#[test]
fn the_statement_resource_replaces_any_authority_with_the_senders() {
    let mut s = statement(1);
    s["authority"] = json!({"objectType": "Agent", "account": {"homePage": "http://other.example.com", "name": "x"}});
    let batch = post(&s, &resource()).unwrap();
    let stored = &batch.statements[0];
    assert_eq!(stored.statement.body()["authority"], sender().authority);
    assert_eq!(stored.authority_key, "client-key");
    assert!(!stored.may_define, "statements/write alone does not define");
}

#[test]
fn an_import_keeps_a_given_authority_and_sets_the_senders_otherwise() {
    let theirs = json!({"objectType": "Agent", "account": {"homePage": "http://other.example.com", "name": "lms"}});
    let mut with = statement(1);
    with["authority"] = theirs.clone();
    let batch = post(&json!([with, statement(2)]), &import()).unwrap();
    assert_eq!(batch.statements[0].statement.body()["authority"], theirs);
    assert_eq!(
        batch.statements[1].statement.body()["authority"],
        sender().authority
    );
}

#[test]
fn a_credential_without_statements_write_may_not_send() {
    let reader = Principal {
        key: "k".into(),
        name: "reader".into(),
        scopes: vec![Scope::StatementsRead, Scope::Define],
    };
    assert!(matches!(
        Sender::for_principal(&reader, HOME),
        Err(IngestError::NotPermitted)
    ));
    let admin = Principal {
        scopes: vec![Scope::All],
        ..reader
    };
    assert!(Sender::for_principal(&admin, HOME).unwrap().may_define);
}

// ------------------------------------------------------------ versions, times

#[test]
fn the_fallback_rules_accept_what_the_version_refuses_and_report_the_first_refusal() {
    // An offset without a colon is ISO 8601 but not RFC 3339: 1.0.3 takes
    // it, 2.0 does not.
    let mut old = statement(1);
    old["timestamp"] = json!("2026-01-01T10:00:00+0100");
    assert!(post(&old, &import()).is_ok());
    let strict = Options {
        fallback: None,
        ..import()
    };
    assert_eq!(invalid_at(post(&old, &strict)), "$.timestamp");
    assert_eq!(invalid_at(post(&old, &resource())), "$.timestamp");
    old["actor"]["mbox"] = json!("nobody");
    // Refused by both: the 2.0 refusal (the timestamp) is reported.
    assert_eq!(invalid_at(post(&old, &import())), "$.timestamp");
}

#[test]
fn an_import_keeps_the_original_stored_time_as_the_timestamp() {
    let mut exported = statement(1);
    exported["stored"] = json!("2025-05-01T08:00:00.000Z");
    let batch = post(&exported, &import()).unwrap();
    let body = batch.statements[0].statement.body();
    assert_eq!(body["timestamp"], "2025-05-01T08:00:00.000Z");
    assert!(body.get("stored").is_none(), "the store assigns stored");
    let batch = post(&exported, &resource()).unwrap();
    assert!(batch.statements[0]
        .statement
        .body()
        .get("timestamp")
        .is_none());
}

// ------------------------------------------------------------ voiding

fn voiding(object: Value) -> Value {
    json!({
        "actor": {"mbox": "mailto:admin@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": object
    })
}

#[test]
fn a_voiding_statement_must_target_a_statement_ref() {
    let target = Uuid::new_v4();
    let batch = post(
        &voiding(json!({"objectType": "StatementRef", "id": target.to_string()})),
        &resource(),
    )
    .unwrap();
    assert_eq!(batch.statements[0].statement.voided_target(), Some(target));
    let path = invalid_at(post(
        &voiding(json!({"id": "http://example.com/a/1"})),
        &resource(),
    ));
    assert!(path.starts_with("$.object"), "{path}");
}

#[test]
fn a_statement_and_its_voiding_statement_may_arrive_together() {
    // Which of them wins is the store's to decide, in its transaction.
    let id = Uuid::new_v4();
    let mut target = statement(1);
    target["id"] = json!(id.to_string());
    let void = voiding(json!({"objectType": "StatementRef", "id": id.to_string()}));
    assert_eq!(
        post(&json!([target, void]), &resource())
            .unwrap()
            .statements
            .len(),
        2
    );
}

// ------------------------------------------------------------ attachments

fn part(data: &[u8]) -> AttachmentPart {
    AttachmentPart {
        content_type: "text/plain".into(),
        hash: Some(sha2_hex(data, "")),
        transfer_encoding: Some("binary".into()),
        data: data.to_vec(),
    }
}

fn with_attachment(n: usize, data: &[u8], extra: Value) -> Value {
    let mut s = statement(n);
    let mut a = json!({
        "usageType": "http://example.com/usage/notes",
        "display": {"en-US": "notes"},
        "contentType": "text/plain; charset=utf-8",
        "length": data.len(),
        "sha2": sha2_hex(data, "")
    });
    if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    s["attachments"] = json!([a]);
    s
}

fn post_parts(body: &Value, parts: Vec<AttachmentPart>) -> Result<Batch, IngestError> {
    let submission = Submission::post(body.to_string().as_bytes())?;
    prepare(submission, parts, &resource())
}

#[test]
fn a_part_is_stored_once_with_the_declared_content_type() {
    let body = json!([
        with_attachment(1, b"notes", json!({})),
        with_attachment(2, b"notes", json!({}))
    ]);
    let batch = post_parts(&body, vec![part(b"notes")]).unwrap();
    assert_eq!(batch.attachments.len(), 1);
    assert_eq!(batch.attachments[0].data, b"notes");
    assert_eq!(
        batch.attachments[0].content_type,
        "text/plain; charset=utf-8"
    );
}

#[test]
fn a_declared_attachment_needs_a_part_unless_it_has_a_file_url() {
    let body = with_attachment(1, b"notes", json!({}));
    assert_eq!(
        invalid_at(post_parts(&body, Vec::new())),
        "$.attachments[0].sha2"
    );
    let remote = with_attachment(1, b"notes", json!({"fileUrl": "http://example.com/notes"}));
    assert!(post_parts(&remote, Vec::new())
        .unwrap()
        .attachments
        .is_empty());
}

#[test]
fn parts_need_a_hash_the_binary_encoding_matching_content_and_a_declaration() {
    let body = with_attachment(1, b"notes", json!({}));
    let no_hash = AttachmentPart {
        hash: None,
        ..part(b"notes")
    };
    assert!(matches!(
        post_parts(&body, vec![no_hash]),
        Err(IngestError::PartWithoutHash)
    ));
    let base64 = AttachmentPart {
        transfer_encoding: Some("base64".into()),
        ..part(b"notes")
    };
    assert!(matches!(
        post_parts(&body, vec![base64]),
        Err(IngestError::PartNotBinary)
    ));
    let tampered = AttachmentPart {
        data: b"other".to_vec(),
        ..part(b"notes")
    };
    assert!(matches!(
        post_parts(&body, vec![tampered]),
        Err(IngestError::PartHashMismatch(_))
    ));
    assert!(matches!(
        post_parts(&body, vec![part(b"notes"), part(b"stray")]),
        Err(IngestError::UnmatchedPart(h)) if h == sha2_hex(b"stray", "")
    ));
}

#[test]
fn hashes_are_matched_without_regard_to_case() {
    let mut upper = part(b"notes");
    upper.hash = upper.hash.map(|h| h.to_uppercase());
    let body = with_attachment(1, b"notes", json!({}));
    assert_eq!(post_parts(&body, vec![upper]).unwrap().attachments.len(), 1);
}

// ------------------------------------------------------------ signatures

/// A statement signed by a JWS without a certificate (the LRS checks the
/// payload; with no key it cannot check the signature itself).
fn signed(payload_change: impl Fn(&mut Value)) -> (Value, AttachmentPart) {
    let mut payload = statement(1);
    payload["id"] = json!(Uuid::new_v4().to_string());
    payload_change(&mut payload);
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let jws = format!(
        "{}.{}.{}",
        enc(&json!({"alg": "RS256"})),
        enc(&payload),
        URL_SAFE_NO_PAD.encode(b"signature")
    );
    let mut s = statement(1);
    s["id"] = payload["id"].clone();
    let mut jws_part = part(jws.as_bytes());
    jws_part.content_type = "application/octet-stream".into();
    s["attachments"] = json!([{
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "signature"},
        "contentType": "application/octet-stream",
        "length": jws.len(),
        "sha2": sha2_hex(jws.as_bytes(), "")
    }]);
    (s, jws_part)
}

#[test]
fn a_signature_of_the_statement_is_accepted() {
    let (s, jws) = signed(|_| {});
    assert_eq!(post_parts(&s, vec![jws]).unwrap().attachments.len(), 1);
}

#[test]
fn a_signature_of_other_content_is_refused() {
    let (s, jws) = signed(|p| p["verb"]["id"] = json!("http://example.com/other"));
    assert_eq!(invalid_at(post_parts(&s, vec![jws])), "$.attachments[0]");
}

#[test]
fn a_signature_needs_its_part_even_with_a_file_url_and_the_octet_stream_type() {
    let (mut s, jws) = signed(|_| {});
    s["attachments"][0]["fileUrl"] = json!("http://example.com/sig");
    assert_eq!(invalid_at(post_parts(&s, Vec::new())), "$.attachments[0]");
    s["attachments"][0]["contentType"] = json!("text/plain");
    assert_eq!(
        invalid_at(post_parts(&s, vec![jws])),
        "$.attachments[0].contentType"
    );
}
