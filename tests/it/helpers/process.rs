//! The `trellis` binary: `serve` as a child process the test can kill,
//! signal and read, and the other subcommands (`Cli`).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{wait_until, Client, Spawn, ADMIN_KEY, ADMIN_SECRET, START_TIMEOUT};

const BIN: &str = env!("CARGO_BIN_EXE_trellis");

/// Environment variables of the binary that only the harness sets.
const OWN_ENV: [&str; 6] = [
    "TRELLIS_ADMIN_KEY",
    "TRELLIS_ADMIN_SECRET",
    "TRELLIS_MONGODB_URI",
    "TRELLIS_MONGODB_DATABASE",
    "TRELLIS_CONFIG",
    "TRELLIS_LOG",
];

/// The lines a child writes to one of its pipes, read on a thread so the
/// child never blocks on a full pipe.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
    closed: bool,
}

impl Lines {
    fn read(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
            closed: false,
        }
    }

    /// Takes the lines already read, waiting at most `wait` for one more.
    fn take(&mut self, wait: Duration) {
        if self.closed {
            return;
        }
        match self.rx.recv_timeout(wait) {
            Ok(line) => self.seen.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => return,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.closed = true;
                return;
            }
        }
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
    }

    /// Reads until the pipe is closed (the process has exited).
    fn read_to_end(&mut self) -> &[String] {
        while !self.closed {
            self.take(Duration::from_secs(1));
        }
        &self.seen
    }
}

/// `trellis serve` running as a child process; killed when dropped.
pub struct Process {
    child: Child,
    client: Client,
    stdout: Lines,
    stderr: Lines,
}

impl Spawn {
    /// Starts `trellis serve --listen 127.0.0.1:0 --log-format json` and
    /// returns once it printed its address and answers (`/healthz`; with
    /// the admin credential, an authenticated query).
    pub fn binary(self) -> Process {
        let mut command = Command::new(BIN);
        command
            .args(self.args())
            .args(["--log-format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in OWN_ENV {
            command.env_remove(name);
        }
        command.env("TRELLIS_LOG", &self.log_filter);
        if self.admin {
            command
                .env("TRELLIS_ADMIN_KEY", ADMIN_KEY)
                .env("TRELLIS_ADMIN_SECRET", ADMIN_SECRET);
        }
        let mut child = command.spawn().expect("the trellis binary starts");
        let stdout = Lines::read(child.stdout.take().expect("piped stdout"));
        let mut stderr = Lines::read(child.stderr.take().expect("piped stderr"));
        let address = announced_address(&mut child, &mut stderr);
        let process = Process {
            child,
            client: Client::new(&format!("http://{address}")),
            stdout,
            stderr,
        };
        let anonymous = process.client.anonymous();
        wait_until("the server to answer /healthz", START_TIMEOUT, || {
            anonymous
                .send("GET", "/healthz", &[], None)
                .is_ok_and(|r| r.status == 200)
                .then_some(())
        });
        if self.admin {
            wait_until("the store to answer", START_TIMEOUT, || {
                process.client.is_ready().then_some(())
            });
        }
        process
    }
}

/// The address of the start-up log line (`fields.address`), which the
/// server writes once its listener is bound.
fn announced_address(child: &mut Child, stderr: &mut Lines) -> SocketAddr {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut read = 0;
    loop {
        stderr.take(Duration::from_millis(50));
        for line in &stderr.seen[read..] {
            let address = serde_json::from_str::<Value>(line).ok().and_then(|l| {
                l["fields"]["address"]
                    .as_str()
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            });
            if let Some(address) = address {
                return address;
            }
        }
        read = stderr.seen.len();
        if stderr.closed || Instant::now() > deadline {
            panic!(
                "trellis did not log its address (exit: {:?}); stderr:\n{}",
                child.try_wait(),
                stderr.seen.join("\n")
            );
        }
    }
}

impl Process {
    /// A client of this server (admin credential) to move to other threads.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Reads stdout until a line contains `needle` (at most 10 s); returns
    /// everything read so far.
    pub fn stdout_until(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.stdout.seen.iter().any(|l| l.contains(needle))
            && !self.stdout.closed
            && Instant::now() < deadline
        {
            self.stdout.take(Duration::from_millis(50));
        }
        self.stdout.seen.join("\n")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().expect("trellis exits")
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("trellis exits");
    }

    /// All of stdout; the process must have exited.
    pub fn stdout_to_end(&mut self) -> String {
        self.stdout.read_to_end().join("\n")
    }

    /// Every log line (JSON), parsed; the process must have exited.
    pub fn log_to_end(&mut self) -> Vec<Value> {
        self.stderr
            .read_to_end()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Deref for Process {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The subcommands other than `serve`, against a data directory.
pub struct Cli;

impl Cli {
    /// `trellis ARGS --data-dir DATA`, with none of the harness's
    /// environment variables; stdin closed, stdout and stderr captured.
    pub fn command(data: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args).arg("--data-dir").arg(data);
        for name in OWN_ENV {
            command.env_remove(name);
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs a subcommand; returns its output, whatever the status.
    pub fn output(data: &Path, args: &[&str]) -> std::process::Output {
        Self::command(data, args)
            .output()
            .expect("the trellis binary runs")
    }

    /// Runs a subcommand; returns stdout, panicking on failure.
    pub fn run(data: &Path, args: &[&str]) -> String {
        let out = Self::output(data, args);
        assert!(
            out.status.success(),
            "trellis {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }
}
