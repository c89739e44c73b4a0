//! A file imported and the same statements POSTed to the Statement Resource
//! are accepted or refused alike: both go through `ingest` and the store, so
//! on tricky input the verdicts must agree, statement by statement, under
//! either xAPI version.

use std::sync::Arc;

use actix_web::test::{call_service, init_service, TestRequest};
use actix_web::{web, App};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use uuid::Uuid;

use trellis::auth::{create_credential, Scope};
use trellis::http::{self, AppState, Limits};
use trellis::store::sqlite::SqliteStore;
use trellis::store::Store;
use trellis::transfer::import::{import_authority, ImportOptions, Importer};
use trellis::transfer::source;
use trellis::xapi::XapiVersion;

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// One input and whether each version's rules accept it.
struct Case {
    name: &'static str,
    json: String,
    accepted_2_0: bool,
    accepted_1_0_3: bool,
}

fn case(name: &'static str, json: String, accepted: bool) -> Case {
    Case {
        name,
        json,
        accepted_2_0: accepted,
        accepted_1_0_3: accepted,
    }
}

fn statement(extra: &str) -> String {
    format!(
        r#"{{"actor": {{"mbox": "mailto:learner@example.com"}}, "verb": {{"id": "http://adlnet.gov/expapi/verbs/experienced"}}, "object": {{"id": "http://example.com/course"}}{extra}}}"#
    )
}

fn attachment(extra: &str) -> String {
    format!(
        r#", "attachments": [{{"usageType": "http://example.com/usage/{{u}}", "display": {{"en-US": "a"}}, "contentType": "text/plain", "length": 5, "sha2": "{}"{extra}}}]"#,
        trellis::ingest::sha2_hex(b"hello", "")
    )
}

/// Statements both paths are given first, so that later cases can
/// resubmit, conflict with or void them.
struct Seed {
    stored: Uuid,
    voiding: Uuid,
}

fn seeds(seed: &Seed, target: Uuid) -> Vec<String> {
    vec![
        statement(&format!(r#", "id": "{}""#, seed.stored)),
        format!(
            r#"{{"id": "{}", "actor": {{"mbox": "mailto:admin@example.com"}}, "verb": {{"id": "{VOIDED}"}}, "object": {{"objectType": "StatementRef", "id": "{target}"}}}}"#,
            seed.voiding
        ),
    ]
}

fn cases(seed: &Seed) -> Vec<Case> {
    let void = |object: String| {
        format!(
            r#"{{"actor": {{"mbox": "mailto:admin@example.com"}}, "verb": {{"id": "{VOIDED}"}}, "object": {object}}}"#
        )
    };
    let id = |extra: &str| format!(r#", "id": "{}"{extra}"#, Uuid::new_v4());
    vec![
        case("a plain statement", statement(""), true),
        case("an id in upper case", statement(&format!(r#", "id": "{}""#, Uuid::new_v4().to_string().to_uppercase())), true),
        case("an id that is not a UUID", statement(r#", "id": "not-a-uuid""#), false),
        case("an mbox without mailto", statement("").replace("mailto:", ""), false),
        case("an unknown property", statement(r#", "colour": "blue""#), false),
        case("a repeated key", statement(r#", "verb": {"id": "http://example.com/other"}"#), false),
        Case {
            name: "a timestamp offset without a colon (ISO 8601, not RFC 3339)",
            json: statement(r#", "timestamp": "2026-01-01T10:00:00+0100""#),
            accepted_2_0: false,
            accepted_1_0_3: true,
        },
        case("a timestamp at -00:00", statement(r#", "timestamp": "2026-01-01T10:00:00-00:00""#), false),
        case("a stored time that is no timestamp", statement(r#", "stored": "yesterday""#), false),
        Case {
            name: "context agents (xAPI 2.0 only)",
            json: statement(r#", "context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:b@example.com"}}]}"#),
            accepted_2_0: true,
            accepted_1_0_3: false,
        },
        case("a registration that is not a UUID", statement(r#", "context": {"registration": "r-1"}"#), false),
        case("a statement version of another family", statement(r#", "version": "3.0.0""#), false),
        case("an authority of its own", statement(r#", "authority": {"objectType": "Agent", "account": {"homePage": "http://lms.example.com", "name": "lms"}}"#), true),
        case("an authority without an identifier", statement(r#", "authority": {"objectType": "Agent", "name": "nobody"}"#), false),
        case("an attachment with a fileUrl", statement(&attachment(r#", "fileUrl": "http://example.com/hello.txt""#)).replace("{u}", "notes"), true),
        case("an attachment without fileUrl or content", statement(&attachment("")).replace("{u}", "notes"), false),
        case(
            "a signature without its JWS part",
            statement(&attachment(r#", "fileUrl": "http://example.com/sig""#))
                .replace("http://example.com/usage/{u}", trellis::xapi::statement::SIGNATURE_USAGE)
                .replace("text/plain", "application/octet-stream"),
            false,
        ),
        case("a voiding statement of an Activity", void(r#"{"id": "http://example.com/course"}"#.into()), false),
        case("a voiding statement of an unknown statement", void(format!(r#"{{"objectType": "StatementRef", "id": "{}"}}"#, Uuid::new_v4())), true),
        case("a voiding statement of a voiding statement", void(format!(r#"{{"objectType": "StatementRef", "id": "{}"}}"#, seed.voiding)), false),
        case("a SubStatement with an id", statement("").replace(r#""object": {"id": "http://example.com/course"}"#, &format!(r#""object": {{"objectType": "SubStatement", "id": "{}", "actor": {{"mbox": "mailto:a@example.com"}}, "verb": {{"id": "http://example.com/v"}}, "object": {{"id": "http://example.com/o"}}}}"#, Uuid::new_v4())), false),
        case("a resubmission of a stored statement", statement(&format!(r#", "id": "{}""#, seed.stored)), true),
        case("other content under a stored id", statement(&format!(r#", "id": "{}", "result": {{"completion": true}}"#, seed.stored)), false),
        case("a score out of its range", statement(&id(r#", "result": {"score": {"scaled": 1.5}}"#)), false),
        case("a context language that is no language tag", statement(&id(r#", "context": {"language": "not a tag!"}"#)), false),
        case("an attachment display with a bad language tag", statement(&attachment(r#", "fileUrl": "http://example.com/hello.txt""#)).replace("{u}", "notes").replace(r#""en-US""#, r#""not a tag!""#), false),
    ]
}

const KEY: &str = "parity";
const SECRET: &str = "parity-secret";

/// The verdict of each body POSTed one by one to a fresh server.
async fn posted(version: XapiVersion, bodies: &[String]) -> Vec<bool> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    create_credential(
        store.as_ref(),
        "parity",
        vec![Scope::All],
        Some(KEY.into()),
        Some(SECRET.into()),
    )
    .await
    .unwrap();
    let limits = Limits {
        max_body_bytes: 1 << 20,
        max_batch: 10,
        max_page: 10,
        ..Limits::default()
    };
    let state = AppState::new(store.clone(), limits, "http://lrs.example.com").unwrap();
    let state = web::Data::new(state);
    let app = init_service(App::new().app_data(state).configure(http::configure)).await;
    let auth = format!("Basic {}", STANDARD.encode(format!("{KEY}:{SECRET}")));
    let mut verdicts = Vec::new();
    for body in bodies {
        let request = TestRequest::post()
            .uri("/xapi/statements")
            .insert_header(("Authorization", auth.as_str()))
            .insert_header(("X-Experience-API-Version", version.header_value()))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.clone())
            .to_request();
        let response = call_service(&app, request).await;
        let status = response.status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 409),
            "POST answered {status}: {body}"
        );
        verdicts.push(status == 200);
    }
    verdicts
}

/// The verdict of each line of a JSON-lines file imported into a fresh
/// store, one statement per store batch as a POST is one request.
async fn imported(version: XapiVersion, lines: &[String]) -> Vec<bool> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let options = ImportOptions {
        version,
        fallback: None,
        batch_size: 1,
        authority: import_authority("http://lrs.example.com"),
    };
    let mut importer = Importer::new(store, options);
    let file = lines.join("\n").into_bytes();
    for record in source::records(std::io::Cursor::new(file)).unwrap() {
        importer
            .push("parity.jsonl", record.unwrap())
            .await
            .unwrap();
    }
    importer.flush().await.unwrap();
    assert_eq!(importer.report.read, lines.len());
    let mut verdicts = vec![true; lines.len()];
    for rejected in &importer.report.rejected {
        let source::Location::Line(n) = rejected.location else {
            panic!("a JSON-lines file reports lines")
        };
        verdicts[n - 1] = false;
    }
    verdicts
}

async fn check(version: XapiVersion) {
    let target = Uuid::new_v4();
    let seed = Seed {
        stored: Uuid::new_v4(),
        voiding: Uuid::new_v4(),
    };
    let cases = cases(&seed);
    let bodies: Vec<String> = seeds(&seed, target)
        .into_iter()
        .chain(cases.iter().map(|c| c.json.clone()))
        .collect();
    for body in &bodies {
        assert!(!body.contains('\n'), "one statement per line");
    }
    let posted = posted(version, &bodies).await;
    let imported = imported(version, &bodies).await;
    assert_eq!(&posted[..2], [true, true], "the seeds are stored");
    assert_eq!(&imported[..2], [true, true], "the seeds are imported");
    let mut disagreements = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let expected = if version.is_2_0() {
            case.accepted_2_0
        } else {
            case.accepted_1_0_3
        };
        let (post, import) = (posted[i + 2], imported[i + 2]);
        if post != expected || import != expected {
            disagreements.push(format!(
                "{}: expected {expected}, POST {post}, import {import}",
                case.name
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "xAPI {version}:\n{}",
        disagreements.join("\n")
    );
}

#[actix_web::test]
async fn import_and_post_accept_and_refuse_the_same_statements_under_2_0() {
    check(XapiVersion::V2_0).await;
}

#[actix_web::test]
async fn import_and_post_accept_and_refuse_the_same_statements_under_1_0_3() {
    check(XapiVersion::V1_0).await;
}

#[test]
fn the_cases_parse_as_json_except_the_repeated_key() {
    // Guards the table itself: a typo would make a case refused for the
    // wrong reason on both paths.
    let seed = Seed {
        stored: Uuid::new_v4(),
        voiding: Uuid::new_v4(),
    };
    for case in cases(&seed) {
        let parsed = serde_json::from_str::<Value>(&case.json);
        assert!(parsed.is_ok(), "{}: {}", case.name, case.json);
        let strict = trellis::xapi::json::from_slice(case.json.as_bytes());
        assert_eq!(
            strict.is_err(),
            case.name == "a repeated key",
            "{}",
            case.name
        );
    }
}
