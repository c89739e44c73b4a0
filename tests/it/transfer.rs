//! `trellis simulate`, `import` and `export` through the binary.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{wait_until, Cli, Spawn, ADMIN_KEY, ADMIN_SECRET};

const SIM: [&str; 8] = [
    "--learners",
    "60",
    "--start",
    "2026-02-02",
    "--days",
    "60",
    "--seed",
    "5",
];

fn simulate_to(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut args = vec!["simulate", "-q", "--output", path.to_str().unwrap()];
    args.extend(SIM);
    Cli::run(dir, &args);
    path
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every stored statement (the whole log, voided ones included).
fn export_all(data: &Path) -> Vec<Value> {
    let out = Cli::run(data, &["export", "-q"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn without_stored(mut statements: Vec<Value>) -> Vec<Value> {
    for s in &mut statements {
        s.as_object_mut().unwrap().shift_remove("stored");
    }
    statements
}

fn import(data: &Path, file: &Path) -> std::process::Output {
    Cli::output(data, &["import", "-q", file.to_str().unwrap()])
}

#[test]
fn simulate_is_deterministic_and_fills_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let a = simulate_to(dir.path(), "a.jsonl");
    let b = simulate_to(dir.path(), "b.jsonl");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let generated = read_lines(&a);

    let data = dir.path().join("data");
    let app = Spawn::new(&data).in_process();
    let endpoint = format!("{}/xapi/", app.base_url());
    let mut args = vec![
        "simulate",
        "-q",
        "--endpoint",
        &endpoint,
        "--user",
        ADMIN_KEY,
        "--password",
        ADMIN_SECRET,
        "--batch-size",
        "50",
        "--concurrency",
        "3",
    ];
    args.extend(SIM);
    let out = Cli::output(&data, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains(&format!("sent {} statements", generated.len())),
        "{summary}"
    );

    let stored = export_all(&data);
    assert_eq!(stored.len(), generated.len());
    // A voided statement is only found by voidedStatementId.
    let void = generated
        .iter()
        .find(|s| s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided")
        .expect("the population has voids");
    let target = void["object"]["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/xapi/statements?statementId={target}"));
    assert_eq!(status, 404);
    let (status, _) = app.get(&format!("/xapi/statements?voidedStatementId={target}"));
    assert_eq!(status, 200);
}

#[test]
fn export_then_import_into_an_empty_store_gives_identical_statements() {
    let dir = tempfile::tempdir().unwrap();
    let generated = simulate_to(dir.path(), "sim.jsonl");
    let first = dir.path().join("first");
    let out = import(&first, &generated);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = dir.path().join("export.jsonl");
    Cli::run(
        &first,
        &["export", "-q", "--output", exported.to_str().unwrap()],
    );

    let second = dir.path().join("second");
    let out = import(&second, &exported);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let original = without_stored(read_lines(&exported));
    let copied = without_stored(export_all(&second));
    assert_eq!(original.len(), read_lines(&generated).len());
    assert_eq!(copied, original);

    // The copy answers queries like the original, voids included.
    let app = Spawn::new(&second).in_process();
    let (status, void) =
        app.get("/xapi/statements?verb=http://adlnet.gov/expapi/verbs/voided&limit=1");
    assert_eq!(status, 200);
    let target = void["statements"][0]["object"]["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/xapi/statements?statementId={target}"));
    assert_eq!(status, 404, "the voided statement stays voided in the copy");

    // Filtered export follows the statement query.
    let agent = json!({"mbox": "mailto:learner0@learners.example.com"}).to_string();
    let filtered = Cli::run(&second, &["export", "-q", "--agent", &agent, "--ascending"]);
    let filtered: Vec<Value> = filtered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!filtered.is_empty());
    let mine = |a: &Value| a["mbox"] == "mailto:learner0@learners.example.com";
    assert!(filtered.iter().all(|s| mine(&s["actor"])
        || s["actor"]["member"]
            .as_array()
            .is_some_and(|m| m.iter().any(mine))));
    assert!(filtered
        .windows(2)
        .all(|w| w[0]["stored"].as_str() <= w[1]["stored"].as_str()));
}

#[test]
fn an_invalid_line_is_reported_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.jsonl");
    let ok = |n: usize| {
        json!({
            "actor": {"mbox": format!("mailto:m{n}@example.com")},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "http://example.com/course"}
        })
        .to_string()
    };
    let bad = json!({"actor": {"mbox": "m3@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": {"id": "http://example.com/course"}});
    std::fs::write(
        &file,
        format!("{}\n{}\n{}\n{{not json\n{}\n", ok(1), ok(2), bad, ok(5)),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = import(&data, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mixed.jsonl:line 3: "), "{stderr}");
    assert!(stderr.contains("mailto"), "{stderr}");
    assert!(
        stderr.contains("mixed.jsonl:line 4: not valid JSON"),
        "{stderr}"
    );
    assert_eq!(export_all(&data).len(), 3);
}

#[test]
fn an_interrupted_import_keeps_its_whole_batches_and_a_rerun_completes_it_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    // Statements as an LMS exports them, without ids: the import derives
    // them from the content, which is what makes a rerun idempotent.
    let lines: Vec<String> = (0..3000)
        .map(|n| {
            json!({
                "actor": {"mbox": format!("mailto:r{}@example.com", n % 300)},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                "object": {"id": format!("http://example.com/lesson/{n}")},
                "timestamp": "2026-03-01T12:00:00Z"
            })
            .to_string()
        })
        .collect();
    let file = dir.path().join("no-ids.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let data = dir.path().join("data");

    // The first run reads stdin and gets 20 batches of 50 and 25 statements
    // of a 21st, then waits for more input until it is killed.
    let mut first = Cli::command(&data, &["import", "-q", "--batch-size", "50", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = first.stdin.take().unwrap();
    writeln!(input, "{}", lines[..1025].join("\n")).unwrap();
    input.flush().unwrap();
    wait_until(
        "the first 20 batches to be stored",
        Duration::from_secs(30),
        || {
            let out = Cli::output(&data, &["export", "-q"]);
            // The store may not exist yet.
            let count = out.status.success().then(|| {
                out.stdout
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count()
            })?;
            (count >= 1000).then_some(())
        },
    );
    first.kill().unwrap();
    first.wait().unwrap();
    drop(input);

    // Whole batches only: the 20 complete ones, nothing of the 21st.
    let partial = export_all(&data);
    let lessons = |statements: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = statements
            .iter()
            .map(|s| s["object"]["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut first_thousand: Vec<String> = (0..1000)
        .map(|n| format!("http://example.com/lesson/{n}"))
        .collect();
    first_thousand.sort();
    assert_eq!(lessons(&partial), first_thousand);

    // A rerun of the whole file stores the rest and nothing twice; the
    // statements already there are left as they were.
    let out = import(&data, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("read 3000 statements: 3000 stored"),
        "{stderr}"
    );
    let complete = export_all(&data);
    assert_eq!(complete.len(), 3000);
    let ids: HashSet<&str> = complete.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3000, "a statement is stored twice");
    let lessons_stored: HashSet<String> = lessons(&complete).into_iter().collect();
    assert_eq!(lessons_stored.len(), 3000, "a statement is stored twice");
    let now: HashMap<&str, &Value> = complete
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    for before in &partial {
        let id = before["id"].as_str().unwrap();
        assert_eq!(now.get(id), Some(&before), "statement {id} was rewritten");
    }

    // Once complete, another run adds nothing.
    let out = import(&data, &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(export_all(&data), complete);
}
