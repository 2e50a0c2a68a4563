//! Start `fakepve` (PyPI: an independent fake of the Proxmox VE API that checks
//! every parameter against the official schema) for a test, and stop it on drop.
//!
//! The server runs from `tests/support/fakepve_serve.py` under the Python of the
//! venv that `.ci/run` makes (`target/venv`), or the command in
//! `PROXDECK_FAKEPVE_PYTHON`. Faults are injected through its stdin.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The API token every harness server accepts (root, so it holds every privilege).
pub const TOKEN_ID: &str = "root@pam!proxdeck";
pub const TOKEN_SECRET: &str = "3f1c6a52-harness-token";
/// root@pam's password on harness servers.
pub const PASSWORD: &str = "secret";

/// What a test sees when fakepve is not installed.
pub const INSTALL_HINT: &str = "fakepve is not installed. Run `bash .ci/run` once, or: \
python3 -m venv target/venv && target/venv/bin/pip install 'fakepve[crypto]==0.5.0' 'proxmoxer==2.3.0' requests \
(or point PROXDECK_FAKEPVE_PYTHON at a Python that has it)";

/// A running fakepve.
pub struct FakePve {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Its self-signed certificate (PEM), usable as a CA file.
    pub certfile: PathBuf,
    /// SHA-256 of its certificate, `AA:BB:...`.
    pub fingerprint: String,
}

/// Options for starting a fake.
#[derive(Debug, Clone)]
pub struct Options {
    pub guests: PathBuf,
    pub time_scale: f64,
    pub python: Vec<String>,
}

impl Options {
    pub fn new(guests: &Path) -> Options {
        Options {
            guests: guests.to_path_buf(),
            time_scale: 0.0,
            python: python_command(),
        }
    }
}

/// The Python that runs fakepve.
pub fn python_command() -> Vec<String> {
    if let Ok(cmd) = std::env::var("PROXDECK_FAKEPVE_PYTHON") {
        return cmd.split_whitespace().map(String::from).collect();
    }
    let venv = super::repo().join("target/venv/bin/python");
    vec![venv.display().to_string()]
}

impl FakePve {
    /// Start fakepve with the seed cluster (pve-node-01..03); panics with the install hint if it is missing.
    pub fn seed() -> FakePve {
        FakePve::start(Options::new(&super::support("seed-guests.json")))
    }

    /// Start fakepve; panics with a clear message on failure.
    pub fn start(options: Options) -> FakePve {
        match FakePve::try_start(&options) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start fakepve, or say why not (with the install hint when it is missing).
    pub fn try_start(options: &Options) -> Result<FakePve, String> {
        let (program, args) = options
            .python
            .split_first()
            .ok_or_else(|| "empty python command".to_string())?;
        let probe = Command::new(program)
            .args(args)
            .args(["-c", "import fakepve, fakepve.certs, cryptography"])
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "{INSTALL_HINT}\n({} says: {})",
                    options.python.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "{INSTALL_HINT}\n(cannot run {}: {e})",
                    options.python.join(" ")
                ));
            }
        }
        let mut child = Command::new(program)
            .args(args)
            .arg(super::support("fakepve_serve.py"))
            .arg(&options.guests)
            .arg("--token")
            .arg(format!("{TOKEN_ID}={TOKEN_SECRET}"))
            .arg("--time-scale")
            .arg(options.time_scale.to_string())
            .arg("--password")
            .arg(PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start fakepve: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let replies = spawn_reader(stdout);
        let first = replies.recv_timeout(Duration::from_secs(60)).map_err(|_| {
            let _ = child.kill();
            "fakepve did not report that it listens within 60 s".to_string()
        })?;
        let hello: Value =
            serde_json::from_str(&first).map_err(|e| format!("fakepve said {first:?}: {e}"))?;
        let get = |k: &str| hello[k].as_str().unwrap_or_default().to_string();
        let fake = FakePve {
            url: get("url"),
            host: get("host"),
            port: hello["port"].as_u64().unwrap_or(0) as u16,
            certfile: PathBuf::from(get("certfile")),
            fingerprint: get("fingerprint"),
            child,
            stdin,
            replies,
        };
        fake.wait_until_answering()?;
        Ok(fake)
    }

    fn wait_until_answering(&self) -> Result<(), String> {
        let addr = format!("{}:{}", self.host, self.port);
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("fakepve at {addr} does not accept connections"))
    }

    /// Send a control command (see fakepve_serve.py) and return its answer; panics if it failed.
    pub fn control(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").expect("write to fakepve");
        self.stdin.flush().expect("flush fakepve stdin");
        let line = self
            .replies
            .recv_timeout(Duration::from_secs(30))
            .expect("fakepve answers a control command");
        let answer: Value = serde_json::from_str(&line).expect("control answer is JSON");
        assert_eq!(
            answer["ok"], true,
            "fakepve control {command} failed: {answer}"
        );
        answer
    }

    /// The base API URL, `https://host:port/api2/json`.
    pub fn api(&self) -> String {
        format!("{}/api2/json", self.url)
    }
}

fn spawn_reader(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Drop for FakePve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
