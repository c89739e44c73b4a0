//! Starting the real binary and talking HTTP/1.1 to it over a plain socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_trellis");
pub const ADMIN_KEY: &str = "it-admin";
pub const ADMIN_SECRET: &str = "it-admin-secret";

pub struct Server {
    child: Child,
    port: u16,
    stdout: mpsc::Receiver<String>,
    seen: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::spawn(data, true, &[])
    }

    pub fn start_with(data: &Path, flags: &[&str]) -> Server {
        Self::spawn(data, true, flags)
    }

    pub fn start_without_admin(data: &Path) -> Server {
        Self::spawn(data, false, &[])
    }

    /// Logs JSON lines at level info to the file `log`.
    pub fn start_logging_to(data: &Path, log: &Path) -> Server {
        Self::spawn_with_log(data, true, &["--log-format", "json"], Some(log))
    }

    /// A server on MongoDB (`uri`, database `database`); returns once the
    /// store answers.
    pub fn start_mongo(data: &Path, uri: &str, database: &str) -> Server {
        let mut server = Self::spawn_env(
            data,
            true,
            &[],
            None,
            &[
                ("TRELLIS_MONGODB_URI", uri),
                ("TRELLIS_MONGODB_DATABASE", database),
            ],
        );
        server.wait_ready();
        server
    }

    fn spawn(data: &Path, admin: bool, flags: &[&str]) -> Server {
        Self::spawn_with_log(data, admin, flags, None)
    }

    fn spawn_with_log(data: &Path, admin: bool, flags: &[&str], log: Option<&Path>) -> Server {
        Self::spawn_env(data, admin, flags, log, &[])
    }

    /// Waits until an authenticated query succeeds (the store is usable).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = self.try_request(
                Some((ADMIN_KEY, ADMIN_SECRET)),
                "GET",
                "/xapi/statements?limit=1",
                None,
            ) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("trellis did not become ready");
    }

    fn spawn_env(
        data: &Path,
        admin: bool,
        flags: &[&str],
        log: Option<&Path>,
        envs: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .args(flags)
        .env_remove("TRELLIS_ADMIN_KEY")
        .env_remove("TRELLIS_ADMIN_SECRET")
        .env_remove("TRELLIS_MONGODB_URI")
        .env_remove("TRELLIS_MONGODB_DATABASE")
        .envs(envs.iter().copied())
        .env("TRELLIS_LOG", if log.is_some() { "info" } else { "warn" })
        .stdout(Stdio::piped())
        .stderr(match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::null(),
        });
        if admin {
            cmd.env("TRELLIS_ADMIN_KEY", ADMIN_KEY)
                .env("TRELLIS_ADMIN_SECRET", ADMIN_SECRET);
        }
        let mut child = cmd.spawn().expect("the trellis binary starts");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            port,
            stdout: rx,
            seen: String::new(),
        };
        server.wait_healthy();
        server
    }

    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("trellis exited early with {status}");
            }
            if let Ok((200, _)) = self.try_request(None, "GET", "/healthz", None) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("trellis did not become healthy");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        self.request_as(ADMIN_KEY, ADMIN_SECRET, method, path, body)
    }

    pub fn request_as(
        &self,
        key: &str,
        secret: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, String) {
        self.try_request(Some((key, secret)), method, path, body)
            .expect("HTTP exchange")
    }

    fn try_request(
        &self,
        auth: Option<(&str, &str)>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, String)> {
        self.client()
            .exchange(auth, method, path, &[], body)
            .map(|r| (r.status, r.body))
    }

    /// A handle other threads can send requests with.
    pub fn client(&self) -> Client {
        Client { port: self.port }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("trellis exits")
    }

    /// Reads stdout lines until one contains `needle`; returns all read.
    pub fn stdout_until(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen.contains(needle) && Instant::now() < deadline {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(100)) {
                self.seen.push_str(&line);
                self.seen.push('\n');
            }
        }
        self.seen.clone()
    }

    pub fn stdout(&mut self) -> String {
        while let Ok(line) = self.stdout.try_recv() {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        self.seen.clone()
    }

    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A full HTTP answer.
pub struct Response {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy)]
pub struct Client {
    port: u16,
}

impl Client {
    /// As the admin credential.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> std::io::Result<Response> {
        self.exchange(Some((ADMIN_KEY, ADMIN_SECRET)), method, path, headers, body)
    }

    /// Without credentials.
    pub fn anonymous(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.exchange(None, method, path, headers, None)
            .expect("HTTP exchange")
    }

    pub fn exchange(
        &self,
        auth: Option<(&str, &str)>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Experience-API-Version: 2.0.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some((key, secret)) = auth {
            head.push_str(&format!(
                "Authorization: Basic {}\r\n",
                STANDARD.encode(format!("{key}:{secret}"))
            ));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: body.to_owned(),
        })
    }
}

pub struct Cli;

impl Cli {
    /// Runs a subcommand against `data`; returns its output, whatever the status.
    pub fn output(data: &Path, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env_remove("TRELLIS_ADMIN_KEY")
            .env_remove("TRELLIS_ADMIN_SECRET")
            .output()
            .expect("the trellis binary runs")
    }

    /// Starts a subcommand against `data` without waiting for it.
    pub fn spawn(data: &Path, args: &[&str]) -> Child {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the trellis binary starts")
    }

    /// Runs a subcommand against `data`; returns stdout, panicking on failure.
    pub fn run(data: &Path, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env_remove("TRELLIS_ADMIN_KEY")
            .env_remove("TRELLIS_ADMIN_SECRET")
            .output()
            .expect("the trellis binary runs");
        assert!(
            out.status.success(),
            "trellis {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A MongoDB-wire server this test owns, so it can kill and restart it:
/// `$TRELLIS_TEST_MONGODB_SERVER` is the server program (SecantusDB's
/// `secantusd-py`, installed by scripts/test.sh), started with
/// `--host 127.0.0.1 --port P --storage-path DIR`, plus the words of
/// `$TRELLIS_TEST_MONGODB_SERVER_ARGS` (scripts/test.sh passes
/// `--sync-on-commit`, without which SecantusDB does not make a journaled
/// commit durable against kill -9).
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
            port: free_port(),
            storage: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.restart();
        Some(server)
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, on the same port and storage) and waits
    /// until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new(&self.program)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(self.storage.path())
            .args(
                std::env::var("TRELLIS_TEST_MONGODB_SERVER_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the MongoDB server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "MongoDB did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        self.kill_9();
    }
}
