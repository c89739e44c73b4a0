//! What Trellis stores it accepts back (issue 12, item 8): hostile values
//! go through `import`, `export`, `import` into an empty store and
//! `export` again, and the two exports are the same bytes (less the
//! `stored` each store assigns). A timestamp that would be stored in a form
//! Trellis refuses (year 0000 in UTC, five-digit years) is refused at the
//! first import instead.

use std::path::Path;

use crate::helpers::{Cli, Spawn};

/// Statement text as a client would send it: numbers and strings at the
/// edges of what JSON and xAPI allow.
const HOSTILE: &[&str] = &[
    r#"{"actor":{"mbox":"mailto:edge1@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"},"timestamp":"0001-01-01T00:30:00-01:00"}"#,
    r#"{"actor":{"mbox":"mailto:edge2@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"},"timestamp":"9999-12-31T23:59:59.999999Z"}"#,
    r#"{"actor":{"mbox":"mailto:edge3@example.com","name":"\u0000\u001f\u2028\u2029\ud83d\ude00 </script> \"q\" \\ é"},"verb":{"id":"http://adlnet.gov/expapi/verbs/scored","display":{"ar":"سجل","zh-Hant":"記錄"}},"object":{"id":"http://example.com/%F0%9F%98%80?q=1&r=%00#frag"},"result":{"score":{"raw":12345678901234567890123,"min":-0,"max":1.7976931348623157e308,"scaled":-0.0},"duration":"P0.5D","extensions":{"http://example.com/n":[0.1,1E2,-6.290552831369366e-269,5e-324,1.0,-9223372036854775808,18446744073709551615]}}}"#,
    r#"{"actor":{"mbox":"mailto:edge4@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"},"context":{"extensions":{"http://example.com/deep":{"a":[[[[{"b":[true,false,null,""]}]]]]}}}}"#,
];

/// Refused at the first import: stored as written, they would be refused
/// when sent back.
const UNSTORABLE: &[&str] = &[
    r#"{"actor":{"mbox":"mailto:bad1@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"},"timestamp":"0001-01-01T00:30:00+01:00"}"#,
    r#"{"actor":{"mbox":"mailto:bad2@example.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"},"timestamp":"9999-12-31T23:30:00-01:00"}"#,
];

fn import(data: &Path, file: &Path) -> std::process::Output {
    Cli::output(data, &["import", "-q", file.to_str().unwrap()])
}

/// The export with each line's `stored` member removed, as text.
fn export_without_stored(data: &Path) -> String {
    Cli::run(data, &["export", "-q", "--ascending"])
        .lines()
        .map(|line| {
            let start = line.find(",\"stored\":\"").expect("every line has stored");
            let end = line[start + 11..].find('"').expect("stored is closed") + start + 12;
            format!("{}{}\n", &line[..start], &line[end..])
        })
        .collect()
}

#[test]
fn export_import_export_of_hostile_values_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.jsonl");
    let mut lines: Vec<&str> = HOSTILE.to_vec();
    lines.extend(UNSTORABLE);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let first = dir.path().join("first");
    let out = import(&first, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for n in HOSTILE.len() + 1..=lines.len() {
        assert!(
            stderr.contains(&format!("hostile.jsonl:line {n}: ")),
            "line {n} should be refused: {stderr}"
        );
    }
    let exported = Cli::run(&first, &["export", "-q", "--ascending"]);
    assert_eq!(exported.lines().count(), HOSTILE.len(), "{stderr}");
    let export_file = dir.path().join("export.jsonl");
    std::fs::write(&export_file, &exported).unwrap();

    let second = dir.path().join("second");
    let out = import(&second, &export_file);
    assert!(
        out.status.success(),
        "Trellis refused its own export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        export_without_stored(&first),
        export_without_stored(&second)
    );
}

#[test]
fn format_exact_returns_numbers_as_they_were_sent() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let sent: serde_json::Value = serde_json::from_str(HOSTILE[2]).unwrap();
    let ids = app.post_statements(&sent);
    let (status, body) = app.get_text(&format!(
        "/xapi/statements?statementId={}&format=exact",
        ids[0]
    ));
    assert_eq!(status, 200, "{body}");
    for number in [
        r#""raw":12345678901234567890123"#,
        r#""min":-0,"#,
        r#""scaled":-0.0"#,
        "18446744073709551615]",
        "-6.290552831369366e-269",
    ] {
        assert!(body.contains(number), "{number} is not as sent in {body}");
    }
}
