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

    fn spawn(data: &Path, admin: bool, flags: &[&str]) -> Server {
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
        .env("TRELLIS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
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
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
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
