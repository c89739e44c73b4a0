//! The allowed dependencies between the crate's top-level modules, as data,
//! and the test that holds `src/` to them.
//!
//! The direction, bottom to top: `xapi` <- `store` <- {`auth`, `cx`,
//! `ingest`, `transfer`} <- `http` <- `config` <- `startup` <- `commands` <-
//! `main`; `metrics`, `health`, `shutdown` and `telemetry` are leaves every
//! layer above `xapi` may use, and `simulate` and `client` stand apart for
//! the `simulate` command. A module may name another through
//! `crate::<module>` only when its row lists it; the rows form no cycle, so
//! each module can be read bottom-up (or become its own crate).
//!
//! The scan reads every `src/**/*.rs` file, blanks comments, strings and
//! character literals, and collects the first segment after each `crate::`
//! (each item of a `crate::{..}` group), or after `trellis::` in `main.rs`,
//! which sees the crate as a library.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The rows of every module above `xapi`: its own dependencies plus the
/// leaves.
macro_rules! uses {
    ($($module:literal),*) => {
        &[$($module,)* "metrics", "health", "shutdown", "telemetry"]
    };
}

/// Each top-level module and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    // The data model: no I/O, no other module.
    ("xapi", &[]),
    // Leaves: they know no other module.
    ("metrics", &[]),
    ("health", &[]),
    ("shutdown", &[]),
    ("telemetry", &[]),
    // The simulator's generator and its xAPI client.
    ("simulate", &["xapi"]),
    ("client", &[]),
    // Storage.
    ("store", uses!["xapi"]),
    // What builds on storage, none on `http`.
    ("auth", uses!["store", "xapi"]),
    ("cx", uses!["store", "xapi"]),
    ("ingest", uses!["auth", "store", "xapi"]),
    ("transfer", uses!["ingest", "auth", "store", "xapi"]),
    // The HTTP surface.
    ("http", uses!["auth", "cx", "ingest", "store", "xapi"]),
    // The program: configuration combines the subsystems' settings; only
    // the program reads it.
    ("config", uses!["cx", "http", "store"]),
    ("cli", &["config"]),
    (
        "startup",
        uses!["config", "http", "auth", "cx", "ingest", "store", "xapi"],
    ),
    (
        "commands",
        uses![
            "cli", "config", "startup", "http", "transfer", "ingest", "cx", "auth", "store",
            "simulate", "client", "xapi"
        ],
    ),
    ("main", uses!["cli", "commands"]),
    // This file (tests only).
    ("layering", &[]),
];

/// Edges against the table that another branch removes; each must still
/// occur (so the entry goes once it is gone).
const PENDING: &[(&str, &str, &str)] = &[];

/// A use of another top-level module: where, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    module: String,
}

/// The top-level module a file under `src/` belongs to (`None` for the
/// crate root, which only declares the modules).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// `source` with comments, string literals and character literals replaced
/// by spaces (line breaks kept, so line numbers still hold).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            while i < chars.len() {
                let rest = &chars[i..];
                if rest.starts_with(&['/', '*']) {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if rest.starts_with(&['*', '/']) {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(rest) {
            // r"..." or r#"..."#: ends at a quote followed by the hashes.
            let open = hashes + 2;
            out.extend(std::iter::repeat_n(' ', open));
            i += open;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if chars[i] == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    out.push(blank(c));
                }
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if chars[i] == '\'' && char_literal_len(rest) > 0 {
            let n = char_literal_len(rest);
            out.extend(std::iter::repeat_n(' ', n));
            i += n;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string starting here (`r"`, `r#"`, `br"`),
/// unless `r` ends an identifier.
fn raw_string_start(rest: &[char]) -> Option<usize> {
    let after_b = match rest.first() {
        Some('b') | Some('c') => &rest[1..],
        _ => rest,
    };
    if after_b.first() != Some(&'r') {
        return None;
    }
    let hashes = after_b[1..].iter().take_while(|&&c| c == '#').count();
    (after_b.get(1 + hashes) == Some(&'"')).then_some(hashes + (rest.len() - after_b.len()))
}

/// The length of a character literal starting at `'` (`'a'`, `'\n'`,
/// `'\u{1b}'`), or 0 for a lifetime or a label.
fn char_literal_len(rest: &[char]) -> usize {
    match rest.get(1) {
        // The escaped character may itself be a quote: `'\''`.
        Some('\\') => rest
            .iter()
            .skip(3)
            .position(|&c| c == '\'')
            .map_or(0, |p| p + 4),
        Some(_) if rest.get(2) == Some(&'\'') => 3,
        _ => 0,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The top-level modules `source` names through `root::` (`crate`, or the
/// library's name in the binary).
fn references(source: &str, root: &str) -> Vec<Reference> {
    let code = code_only(source);
    let needle = format!("{root}::");
    let mut found = Vec::new();
    for (at, _) in code.match_indices(&needle) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = code[at + needle.len()..].trim_start();
        let names = match rest.strip_prefix('{') {
            Some(group) => group_heads(group),
            None => rest
                .split(|c: char| !is_ident(c))
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .into_iter()
                .collect(),
        };
        for module in names {
            found.push(Reference { line, module });
        }
    }
    found
}

/// The first segment of each item of a `{a::b, c, d::{e, f}}` group, read
/// from just after its `{`.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && is_ident(c) => {
                let name: String = group[i..].chars().take_while(|&c| is_ident(c)).collect();
                if name != "self" {
                    heads.push(name);
                }
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Every reference of `files` (path under `src/`, text) against `allowed`,
/// as messages naming the file, the line and the edge; edges listed in
/// `pending` are tolerated, and reported when they no longer occur.
fn violations(
    files: &[(String, String)],
    allowed: &[(&str, &[&str])],
    pending: &[(&str, &str, &str)],
) -> Vec<String> {
    let table: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    let mut problems = Vec::new();
    let mut pending_seen = BTreeSet::new();
    for (path, source) in files {
        let Some(module) = module_of(Path::new(path)) else {
            continue;
        };
        let Some(uses) = table.get(module.as_str()) else {
            problems.push(format!(
                "src/{path}: module `{module}` is not in the table of src/layering.rs; add its row"
            ));
            continue;
        };
        let root = if module == "main" { "trellis" } else { "crate" };
        for Reference { line, module: used } in references(source, root) {
            if used == module || uses.contains(&used.as_str()) {
                continue;
            }
            if pending
                .iter()
                .any(|(from, to, _)| *from == module && *to == used)
            {
                pending_seen.insert((module.clone(), used));
                continue;
            }
            let problem = if table.contains_key(used.as_str()) {
                let may = if uses.is_empty() {
                    "no other module".to_owned()
                } else {
                    uses.join(", ")
                };
                format!(
                    "src/{path}:{line}: `{module}` uses `{used}`, against the layering \
                     (`{module}` may use: {may})"
                )
            } else {
                format!("src/{path}:{line}: `{module}` uses `{used}`, which is not in the table")
            };
            problems.push(problem);
        }
    }
    for (from, to, why) in pending {
        if !pending_seen.contains(&(from.to_string(), to.to_string())) {
            problems.push(format!(
                "`{from}` no longer uses `{to}` ({why}): remove the edge from PENDING"
            ));
        }
    }
    problems
}

/// The modules on a cycle of `allowed`, if any.
fn cycle(allowed: &[(&str, &[&str])]) -> Option<Vec<String>> {
    let table: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    // Depth-first search; `path` is the chain being explored.
    fn visit<'a>(
        module: &'a str,
        table: &BTreeMap<&'a str, &'a [&'a str]>,
        done: &mut BTreeSet<&'a str>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == module) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for used in table.get(module).copied().unwrap_or_default() {
            if let Some(cycle) = visit(used, table, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    table
        .keys()
        .find_map(|m| visit(m, &table, &mut done, &mut Vec::new()))
}

/// Every `.rs` file under `dir`, as (path relative to `root`, text).
fn read_sources(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().into();
            out.push((relative, text));
        }
    }
}

#[test]
fn every_module_uses_only_the_modules_the_layering_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_sources(&src, &src, &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let problems = violations(&files, ALLOWED, PENDING);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_allowed_dependencies_form_no_cycle_and_name_known_modules() {
    assert_eq!(cycle(ALLOWED), None);
    let known: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    for (module, uses) in ALLOWED {
        for used in *uses {
            assert!(known.contains(used), "{module} -> unknown {used}");
        }
    }
}

#[test]
fn a_cycle_in_a_table_is_found() {
    let table: &[(&str, &[&str])] = &[("a", &["b"]), ("b", &["c"]), ("c", &["a"])];
    assert_eq!(
        cycle(table),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn a_use_against_the_table_is_reported_with_its_file_line_and_edge() {
    // The cycle the layering replaced: config -> cx -> config.
    let files = vec![
        (
            "config.rs".to_owned(),
            "use crate::cx::metrics::{SurveyKind};\n".to_owned(),
        ),
        (
            "cx/metrics.rs".to_owned(),
            "//! Metrics.\n\nuse crate::config::AnalyticsSettings;\n".to_owned(),
        ),
    ];
    let problems = violations(&files, ALLOWED, &[]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("src/cx/metrics.rs:3: `cx` uses `config`"),
        "{problems:?}"
    );
}

#[test]
fn groups_paths_and_the_binary_name_count_but_comments_and_strings_do_not() {
    let source = "use crate::{cx::metrics::{A, B}, http, self};\n\
                  // crate::startup in a comment\n\
                  /* crate::commands /* nested */ crate::cli */\n\
                  let s = \"crate::config\"; let r = r#\"crate::main\"#;\n\
                  let c = '\"'; let q = '\\''; fn f<'a>(x: &'a str) { crate::store::open(x); }\n";
    let modules: Vec<String> = references(source, "crate")
        .into_iter()
        .map(|r| r.module)
        .collect();
    assert_eq!(modules, ["cx", "http", "store"]);
    let main = "use trellis::cli::Cli;\nuse trellis::commands;\n";
    let modules: Vec<String> = references(main, "trellis")
        .into_iter()
        .map(|r| r.module)
        .collect();
    assert_eq!(modules, ["cli", "commands"]);
}

#[test]
fn a_pending_edge_that_no_longer_occurs_is_reported() {
    let files = vec![(
        "store/mod.rs".to_owned(),
        "use crate::xapi::X;\n".to_owned(),
    )];
    let pending = [("store", "config", "a test edge")];
    let problems = violations(&files, ALLOWED, &pending);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("remove the edge from PENDING"));
}

#[test]
fn a_module_missing_from_the_table_is_reported() {
    let files = vec![("plugins.rs".to_owned(), String::new())];
    let problems = violations(&files, ALLOWED, &[]);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("`plugins` is not in the table"));
}
