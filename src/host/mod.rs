//! Running commands on nodes for host-level work (LVM, archive checks, copies,
//! upgrades). Commands are typed (a program and its arguments, never a shell
//! string built from input); every run has a timeout and returns the exit
//! status with stdout and stderr for the journal.

pub mod quote;
pub mod ssh;

use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

/// A command for a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCommand {
    pub program: String,
    pub args: Vec<String>,
    pub timeout: Duration,
}

impl HostCommand {
    pub fn new(program: &str) -> HostCommand {
        HostCommand {
            program: program.to_string(),
            args: Vec::new(),
            timeout: Duration::from_secs(120),
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> HostCommand {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> HostCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn timeout(mut self, t: Duration) -> HostCommand {
        self.timeout = t;
        self
    }

    /// A fixed bash script run with `pipefail`; `params` become `$1`, `$2`, ...
    /// so that no value is ever spliced into the script's text.
    pub fn script(script: &str, params: &[&str]) -> HostCommand {
        HostCommand::new("bash")
            .args(["-o", "pipefail", "-c", script, "proxdeck"])
            .args(params.iter().map(|p| p.to_string()))
    }

    /// The command line as the remote shell receives it (each word quoted).
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(quote::word)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutput {
    /// Exit status (None: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl HostOutput {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Stdout and stderr as the journal keeps them.
    pub fn transcript(&self) -> Vec<String> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .map(str::to_string)
            .collect()
    }

    /// Stderr's last non-empty line, else stdout's: what failed, in the tool's words.
    pub fn message(&self) -> String {
        // Progress output uses carriage returns: the last segment is the message.
        let pick = |s: &str| {
            s.split(['\n', '\r'])
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        };
        pick(&self.stderr)
            .or_else(|| pick(&self.stdout))
            .unwrap_or_else(|| {
                format!(
                    "exit status {}",
                    self.code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "signal".into())
                )
            })
    }

    /// Turn a non-zero exit into an error naming the command and the tool's message.
    pub fn check(self, node: &str, cmd: &HostCommand) -> Result<HostOutput, HostError> {
        if self.ok() {
            Ok(self)
        } else {
            Err(HostError::Failed {
                node: node.to_string(),
                command: cmd.program.clone(),
                code: self.code,
                message: self.message(),
            })
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HostError {
    #[error("no SSH access to node {node}: add it under ssh.nodes in proxdeck.yml")]
    NoAccess { node: String },
    #[error(
        "{node}: the host key does not match known_hosts ({message}); check the node before trusting it"
    )]
    HostKey { node: String, message: String },
    #[error("{node}: cannot connect over SSH: {message}")]
    Connect { node: String, message: String },
    #[error("{node}: {command} did not finish within {secs}s and was stopped")]
    Timeout {
        node: String,
        command: String,
        secs: u64,
    },
    #[error("cannot run ssh: {0}")]
    Spawn(String),
    #[error("{node}: {command} failed ({}): {message}", .code.map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into()))]
    Failed {
        node: String,
        command: String,
        code: Option<i32>,
        message: String,
    },
}

/// Runs commands on nodes: over SSH for real clusters, in the simulator for the demo.
pub trait HostRunner: Send + Sync {
    /// Run `cmd` on `node`. Output lines are also sent to `lines` as they
    /// arrive (for long commands whose progress the journal shows live).
    fn run<'a>(
        &'a self,
        node: &'a str,
        cmd: &'a HostCommand,
        lines: Option<mpsc::UnboundedSender<String>>,
    ) -> BoxFuture<'a, Result<HostOutput, HostError>>;

    /// Copy a file from one node to another; returns the bytes copied.
    fn copy<'a>(
        &'a self,
        from_node: &'a str,
        from_path: &'a str,
        to_node: &'a str,
        to_path: &'a str,
    ) -> BoxFuture<'a, Result<u64, HostError>>;

    /// Whether this runner reaches `node` at all.
    fn reaches(&self, node: &str) -> bool;
}
