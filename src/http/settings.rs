//! The HTTP server's settings: where it listens, the request limits, and
//! the public URL statement authorities name. `config` fills them from the
//! TOML file, `TRELLIS_*` variables and flags.

use std::fmt::Display;
use std::time::Duration;

/// Limits applied to requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body (413 above).
    pub max_body_bytes: usize,
    /// Most statements in one request (413 above).
    pub max_batch: usize,
    /// Most statements in one page of a query.
    pub max_page: usize,
    /// Most bytes of statements in one page of a query (at least one
    /// statement is always sent); a `more` link continues.
    pub max_page_bytes: usize,
    /// A request body that sends nothing for this long is dropped (408).
    pub body_stall_timeout: Duration,
    /// xAPI 1.0.3: create a new Agent/Activity Profile document on a PUT
    /// without If-Match/If-None-Match (as xAPI.js sends) instead of 400 (as
    /// the ADL conformance suite expects). An existing one answers 409
    /// either way.
    pub allow_profile_put_without_precondition: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            max_batch: 1000,
            max_page: 1000,
            max_page_bytes: 16 * 1024 * 1024,
            body_stall_timeout: Duration::from_secs(30),
            allow_profile_put_without_precondition: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Address to listen on (`host:port`; port 0 picks a free one).
    pub listen: String,
    pub limits: Limits,
    /// Base URL clients reach the server at; `None`: `http://` and the
    /// address the server listens on.
    pub public_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: "127.0.0.1:8080".into(),
            limits: Limits::default(),
            public_url: None,
        }
    }
}

impl Settings {
    /// Refuses limits no request could meet.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.limits.max_batch > 0, "max_batch must be at least 1");
        anyhow::ensure!(self.limits.max_page > 0, "max_page must be at least 1");
        anyhow::ensure!(
            self.limits.max_page_bytes >= 1024,
            "max_page_bytes must be at least 1024"
        );
        anyhow::ensure!(
            !self.limits.body_stall_timeout.is_zero(),
            "body_stall_timeout must be more than 0 seconds"
        );
        anyhow::ensure!(
            self.limits.max_body_bytes >= 1024,
            "max_body_bytes must be at least 1024"
        );
        Ok(())
    }

    /// The homePage of the accounts in statement authorities: the
    /// configured public URL, else `http://` and `address` (where the
    /// server listens).
    pub fn public_url_or(&self, address: impl Display) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn limits_no_request_could_meet_are_refused() {
        for limits in [
            Limits {
                max_batch: 0,
                ..Limits::default()
            },
            Limits {
                max_page: 0,
                ..Limits::default()
            },
            Limits {
                max_body_bytes: 1023,
                ..Limits::default()
            },
        ] {
            let s = Settings {
                limits: limits.clone(),
                ..Settings::default()
            };
            assert!(s.validate().is_err(), "{limits:?}");
        }
    }

    #[test]
    fn the_public_url_defaults_to_the_listening_address() {
        let s = Settings::default();
        assert_eq!(s.public_url_or("127.0.0.1:9000"), "http://127.0.0.1:9000");
        let s = Settings {
            public_url: Some("https://lrs.example.com".into()),
            ..Settings::default()
        };
        assert_eq!(s.public_url_or("127.0.0.1:9000"), "https://lrs.example.com");
    }
}
