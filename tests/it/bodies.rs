//! Credentials before bodies: an unauthenticated request is answered
//! without its body being read, a stalled body is dropped, and statement
//! pages are bounded by bytes as well as by count.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::Spawn;

/// Sends `head` (request line and headers, no body) and whatever of the
/// body `partial` holds, then reads what the server answers within
/// `within`, without sending anything more.
fn answer_without_body(base: &str, head: &str, partial: &[u8], within: Duration) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(partial).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    let deadline = Instant::now() + within;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer);
                // A final (non-1xx) status line with its headers is enough.
                if text
                    .split("\r\n\r\n")
                    .any(|h| h.starts_with("HTTP/1.1 4") || h.starts_with("HTTP/1.1 2"))
                {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn an_unauthenticated_post_is_refused_before_its_body_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    let head = "POST /xapi/statements HTTP/1.1\r\nHost: trellis\r\n\
                X-Experience-API-Version: 2.0.0\r\nContent-Type: application/json\r\n\
                Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n";
    let answer = answer_without_body(app.base_url(), head, b"", Duration::from_secs(10));
    assert!(answer.contains("HTTP/1.1 401"), "{answer:?}");
    // Wrong credentials the same way.
    let head = head.replace(
        "Host: trellis\r\n",
        "Host: trellis\r\nAuthorization: Basic bm9ib2R5Om5vdGhpbmc=\r\n",
    );
    let answer = answer_without_body(app.base_url(), &head, b"", Duration::from_secs(10));
    assert!(answer.contains("HTTP/1.1 401"), "{answer:?}");
}

#[test]
fn a_body_that_stalls_is_dropped_after_the_configured_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path())
        .flags(&["--body-stall-timeout-secs", "1"])
        .in_process();
    let (status, _) = app.get("/xapi/statements?limit=1");
    assert_eq!(status, 200);
    let authorization = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            crate::helpers::ADMIN_KEY,
            crate::helpers::ADMIN_SECRET
        ))
    };
    let head = format!(
        "POST /xapi/statements HTTP/1.1\r\nHost: trellis\r\nAuthorization: Basic {authorization}\r\n\
         X-Experience-API-Version: 2.0.0\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n"
    );
    let started = Instant::now();
    let answer = answer_without_body(
        app.base_url(),
        &head,
        b"[{\"actor\":",
        Duration::from_secs(20),
    );
    assert!(answer.contains("HTTP/1.1 408"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(app.statement_ids("").is_empty());
}

#[test]
fn statement_pages_are_bounded_by_bytes_and_a_more_link_continues() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path())
        .flags(&["--max-page-bytes", "4096"])
        .in_process();
    let padding = "x".repeat(900);
    let statements: Vec<Value> = (0..12)
        .map(|i| {
            json!({
                "actor": {"mbox": format!("mailto:big{i}@example.com")},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                "object": {"id": "http://example.com/big",
                           "definition": {"description": {"en-US": padding}}}
            })
        })
        .collect();
    let mut sent = app.post_statements(&Value::Array(statements));
    let (status, page) = app.get("/xapi/statements?limit=100");
    assert_eq!(status, 200);
    let first = page["statements"].as_array().unwrap();
    assert!(
        !first.is_empty() && first.len() < 5,
        "a 4 KiB page holds at most 4 statements of ~1 KiB, got {}",
        first.len()
    );
    assert!(page.to_string().len() < 8192);
    assert!(!page["more"].as_str().unwrap_or_default().is_empty());
    // Every statement is reachable through the more links, once.
    let mut listed = app.statement_ids("ascending=true");
    assert_eq!(listed.len(), 12);
    listed.sort();
    sent.sort();
    assert_eq!(listed, sent);
}
