//! A small blocking xAPI client (ureq, rustls) that posts statement batches
//! to any LRS: what `trellis simulate --endpoint` sends with.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub struct XapiClient {
    agent: ureq::Agent,
    statements_url: String,
    authorization: Option<String>,
    version: String,
}

impl XapiClient {
    /// `endpoint` is the xAPI base, e.g. `http://127.0.0.1:8080/xapi/`.
    pub fn new(
        endpoint: &str,
        user: Option<&str>,
        password: Option<&str>,
        version: &str,
    ) -> XapiClient {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .max_idle_connections_per_host(64)
            .build()
            .into();
        let authorization = user.map(|u| {
            format!(
                "Basic {}",
                STANDARD.encode(format!("{u}:{}", password.unwrap_or_default()))
            )
        });
        XapiClient {
            agent,
            statements_url: format!("{}/statements", endpoint.trim_end_matches('/')),
            authorization,
            version: version.to_owned(),
        }
    }

    /// POSTs a JSON array of statements. Connection failures, 429 and 5xx
    /// are retried with back-off (a POST of statements with ids is
    /// idempotent); other refusals are returned at once.
    pub fn post_statements(&self, body: &str) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..5u32 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
            let mut request = self
                .agent
                .post(&self.statements_url)
                .header("X-Experience-API-Version", &self.version)
                .header("Content-Type", "application/json");
            if let Some(auth) = &self.authorization {
                request = request.header("Authorization", auth);
            }
            match request.send(body) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    last = format!(
                        "HTTP {status}: {}",
                        text.chars().take(300).collect::<String>()
                    );
                    if status != 429 && status < 500 {
                        return Err(last);
                    }
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }
}
