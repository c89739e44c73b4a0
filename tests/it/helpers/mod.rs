//! The black-box harness: one way to start Trellis on port 0, in-process or
//! as the binary, and a real HTTP client.
//!
//! ```ignore
//! let app = Spawn::new(dir.path()).in_process();        // most tests
//! let app = Spawn::new(dir.path()).flags(&["--max-body-bytes", "4096"]).in_process();
//! let app = Spawn::new(dir.path()).mongo(&uri, "db").in_process();
//! let mut process = Spawn::new(dir.path()).binary();    // the process is under test
//! let (status, body) = app.get("/xapi/statements?limit=1");   // (u16, serde_json::Value)
//! let ids = app.post_statements(&json!([...]));
//! let r = app.anonymous().request("GET", "/healthz", &[("X-Request-Id", "a")], None);
//! ```
//!
//! - `Spawn::in_process` builds the application the binary runs
//!   (`trellis::startup::Application`, from the same command-line flags) on
//!   a thread of its own and returns a `TestApp` once it answers. Use it
//!   wherever the process itself is not under test.
//! - `Spawn::binary` starts `trellis serve --listen 127.0.0.1:0` and learns
//!   the port from its start-up log line; the `Process` can be killed,
//!   signalled, and its stdout and JSON log read. Use it for kill -9,
//!   signals, logs, first start.
//! - Both dereference to a `Client` with the admin credential
//!   (`ADMIN_KEY`/`ADMIN_SECRET`); `as_user` / `anonymous` change that.
//! - `Cli` runs the other subcommands; `MongoServer` is a MongoDB-wire
//!   server a test owns and can kill; `wait_until` polls a condition.

mod client;
mod in_process;
mod mongo;
mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// The types a test names when it passes a server or an answer around.
pub use client::Client;
#[allow(unused_imports)]
pub use client::Response;
#[allow(unused_imports)]
pub use in_process::TestApp;
pub use mongo::MongoServer;
pub use process::Cli;
#[allow(unused_imports)]
pub use process::Process;

pub const ADMIN_KEY: &str = "it-admin";
pub const ADMIN_SECRET: &str = "it-admin-secret";

/// How long a server may take to answer after it started (MongoDB may be
/// slow to accept a first connection).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start: the store, the flags of `trellis serve` and whether the
/// admin credential is set.
#[derive(Clone)]
pub struct Spawn {
    data: PathBuf,
    flags: Vec<String>,
    mongo: Option<(String, String)>,
    admin: bool,
    log_filter: String,
}

impl Spawn {
    /// Trellis on SQLite in `data` (created if missing), with the admin
    /// credential `ADMIN_KEY`/`ADMIN_SECRET`.
    pub fn new(data: &Path) -> Spawn {
        Spawn {
            data: data.to_owned(),
            flags: Vec::new(),
            mongo: None,
            admin: true,
            // The start-up line (with the bound address) and problems.
            log_filter: "warn,trellis::commands::serve=info".to_owned(),
        }
    }

    /// Extra flags of `trellis serve`, e.g. `["--max-body-bytes", "4096"]`.
    pub fn flags(mut self, flags: &[&str]) -> Spawn {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    /// On MongoDB at `uri`, database `database` (`data` still holds what is
    /// not in the store).
    pub fn mongo(mut self, uri: &str, database: &str) -> Spawn {
        self.mongo = Some((uri.to_owned(), database.to_owned()));
        self
    }

    /// Without `TRELLIS_ADMIN_KEY`/`SECRET`: a first start makes and
    /// prints a credential. The client then has no valid credential.
    pub fn without_admin(mut self) -> Spawn {
        self.admin = false;
        self
    }

    /// `TRELLIS_LOG` of a binary (default: the start-up line and warnings).
    pub fn log(mut self, filter: &str) -> Spawn {
        self.log_filter = filter.to_owned();
        self
    }

    /// The arguments after `trellis`: `--data-dir D [--mongodb-* ..] serve
    /// --listen 127.0.0.1:0 FLAGS`.
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data.display().to_string()];
        if let Some((uri, database)) = &self.mongo {
            args.extend([
                "--mongodb-uri".to_owned(),
                uri.clone(),
                "--mongodb-database".to_owned(),
                database.clone(),
            ]);
        }
        args.extend(["serve", "--listen", "127.0.0.1:0"].map(str::to_owned));
        args.extend(self.flags.iter().cloned());
        args
    }
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most
/// `timeout`; panics naming `what` when it never does.
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
