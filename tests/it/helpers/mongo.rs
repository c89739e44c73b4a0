//! A MongoDB-wire server a test owns, so it can kill and restart it.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::wait_until;

/// `$TRELLIS_TEST_MONGODB_SERVER` is the server program (SecantusDB's
/// `secantusd-py`, installed by scripts/test.sh), started with `--host
/// 127.0.0.1 --port P --storage-path DIR`, plus the words of
/// `$TRELLIS_TEST_MONGODB_SERVER_ARGS` (scripts/test.sh passes
/// `--sync-on-commit`, without which SecantusDB does not make a journaled
/// commit durable against kill -9). It first starts on port 0 and logs
/// `listening on HOST:PORT`; a restart reuses that port, so that the URI
/// Trellis was given stays valid.
pub struct MongoServer {
    program: String,
    port: u16,
    storage: tempfile::TempDir,
    child: Option<Child>,
}

impl MongoServer {
    /// `None` (skip) when no server program is configured outside CI.
    pub fn start() -> Option<MongoServer> {
        let Ok(program) = std::env::var("TRELLIS_TEST_MONGODB_SERVER") else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "TRELLIS_TEST_MONGODB_SERVER is not set under CI: the MongoDB tests must run"
            );
            eprintln!("skipped: TRELLIS_TEST_MONGODB_SERVER is not set");
            return None;
        };
        let mut server = MongoServer {
            program,
            port: 0,
            storage: tempfile::tempdir().expect("a storage directory"),
            child: None,
        };
        let mut child = server.spawn(Stdio::piped);
        let (tx, rx) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            // Reads to the end, so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        server.child = Some(child);
        server.port = wait_until(
            "the MongoDB server's address",
            Duration::from_secs(30),
            || {
                let line = rx.recv_timeout(Duration::from_millis(100)).ok()?;
                let (_, address) = line.split_once("listening on ")?;
                address.trim().rsplit_once(':')?.1.parse().ok()
            },
        );
        server.wait_accepting();
        Some(server)
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    /// Starts the server again, on the same port and storage, and waits
    /// until it accepts connections.
    pub fn restart(&mut self) {
        self.kill_9();
        self.child = Some(self.spawn(Stdio::null));
        self.wait_accepting();
    }

    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn spawn(&self, output: fn() -> Stdio) -> Child {
        Command::new(&self.program)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(self.storage.path())
            .args(
                std::env::var("TRELLIS_TEST_MONGODB_SERVER_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .stdin(Stdio::null())
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("the MongoDB server starts")
    }

    fn wait_accepting(&self) {
        wait_until(
            "MongoDB to accept connections",
            Duration::from_secs(30),
            || TcpStream::connect(("127.0.0.1", self.port)).ok(),
        );
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        self.kill_9();
    }
}
