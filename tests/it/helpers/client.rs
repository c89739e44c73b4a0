//! An HTTP client for a running Trellis (ureq, the crate the simulator
//! sends with): admin credentials and `X-Experience-API-Version: 2.0.0` by
//! default, answers as `(status, JSON)`.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use ureq::http::{HeaderMap, Request};

use super::{ADMIN_KEY, ADMIN_SECRET};

/// A whole answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Response {
    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON: `Null` when empty, a JSON string holding the text
    /// when it is not JSON (so a failed assertion still shows it).
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()))
    }
}

/// Requests to one server as one credential (or none). Cheap to clone and
/// to send to other threads: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`) with the
    /// admin credential the harness starts servers with.
    pub fn new(base: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            // Shorter than the server's keep-alive (5 s), so a pooled
            // connection is never one the server is closing.
            .max_idle_age(Duration::from_secs(2))
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            authorization: None,
        }
        .as_user(ADMIN_KEY, ADMIN_SECRET)
    }

    /// The same server, as another credential.
    pub fn as_user(&self, key: &str, secret: &str) -> Client {
        Client {
            authorization: Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{key}:{secret}"))
            )),
            ..self.clone()
        }
    }

    /// The same server, without credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            authorization: None,
            ..self.clone()
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request; `Err` when no HTTP answer came (refused, reset,
    /// timed out). `path` starts with `/`; a JSON `body` is sent with
    /// `Content-Type: application/json`. `headers` are added last and may
    /// replace the defaults.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Response, ureq::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("X-Experience-API-Version", "2.0.0");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        for (name, value) in headers {
            if let Some(h) = request.headers_mut() {
                h.remove(*name);
            }
            request = request.header(*name, *value);
        }
        let mut response = match body {
            Some(body) => self.agent.run(request.body(body.to_string())?)?,
            None => self.agent.run(request.body(())?)?,
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()?;
        Ok(Response {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
        })
    }

    /// `send`, panicking when no HTTP answer came.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        self.send(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// `GET path` → (status, JSON body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.request("GET", path, &[], None);
        (r.status, r.json())
    }

    /// `GET path` → (status, body text), for answers that are not JSON.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.request("GET", path, &[], None);
        (r.status, r.body)
    }

    /// `POST path` with a JSON body → (status, JSON body).
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.request("POST", path, &[], Some(body));
        (r.status, r.json())
    }

    /// `PUT path` with a JSON body → (status, JSON body).
    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.request("PUT", path, &[], Some(body));
        (r.status, r.json())
    }

    /// POSTs statements and returns the ids the server assigned, asserting 200.
    pub fn post_statements(&self, statements: &Value) -> Vec<String> {
        let (status, body) = self.post("/xapi/statements", statements);
        assert_eq!(status, 200, "POST /xapi/statements: {body}");
        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// The ids of every statement the server lists for `query` (e.g.
    /// `ascending=true`), in its order, following `more` links.
    pub fn statement_ids(&self, query: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut path = format!("/xapi/statements?format=ids&limit=500&{query}");
        loop {
            let (status, page) = self.get(&path);
            assert_eq!(status, 200, "GET {path}: {page}");
            let statements = page["statements"].as_array().expect("a statement result");
            ids.extend(
                statements
                    .iter()
                    .map(|s| s["id"].as_str().expect("an id").to_owned()),
            );
            match page["more"].as_str() {
                Some(more) if !more.is_empty() => path = more.to_owned(),
                _ => return ids,
            }
        }
    }

    /// Succeeds once an authenticated statement query answers 200 (the
    /// store is usable and the admin credential in place).
    pub fn is_ready(&self) -> bool {
        self.send("GET", "/xapi/statements?limit=1", &[], None)
            .is_ok_and(|r| r.status == 200)
    }
}
