//! SSH with the system's OpenSSH client: key authentication only, host keys
//! checked against known_hosts (a mismatch or an unknown host is an error,
//! never a prompt), a connect timeout, and a hard timeout per command.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use super::{HostCommand, HostError, HostOutput, HostRunner};
use crate::config::{SshConfig, SshNode};

/// Reaches nodes through `ssh`.
#[derive(Debug, Clone)]
pub struct SshRunner {
    user: String,
    key_file: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    connect_timeout: Duration,
    nodes: BTreeMap<String, SshNode>,
}

impl SshRunner {
    pub fn new(c: &SshConfig) -> SshRunner {
        SshRunner {
            user: c.user.clone(),
            key_file: c.key_file.clone(),
            known_hosts: c.known_hosts.clone(),
            connect_timeout: c.connect_timeout,
            nodes: c.nodes.clone(),
        }
    }

    /// The options every connection uses.
    fn options(&self, port: u16) -> Vec<String> {
        let mut o: Vec<String> = [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "KbdInteractiveAuthentication=no",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        o.push("-o".into());
        o.push(format!(
            "ConnectTimeout={}",
            self.connect_timeout.as_secs().max(1)
        ));
        if let Some(k) = &self.key_file {
            o.extend([
                "-o".into(),
                "IdentitiesOnly=yes".into(),
                "-i".into(),
                k.display().to_string(),
            ]);
        }
        if let Some(k) = &self.known_hosts {
            o.extend(["-o".into(), format!("UserKnownHostsFile={}", k.display())]);
        }
        o.extend([
            "-p".into(),
            port.to_string(),
            "-l".into(),
            self.user.clone(),
        ]);
        o
    }

    fn ssh(&self, node: &str, remote: &str) -> Result<Command, HostError> {
        let n = self.nodes.get(node).ok_or_else(|| HostError::NoAccess {
            node: node.to_string(),
        })?;
        let mut c = Command::new("ssh");
        c.args(self.options(n.port))
            .arg(&n.host)
            .arg("--")
            .arg(remote);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Ok(c)
    }

    /// Tell SSH's own failures (exit 255) apart from the command's.
    fn classify(node: &str, out: HostOutput) -> Result<HostOutput, HostError> {
        if out.code != Some(255) {
            return Ok(out);
        }
        let e = out.stderr.to_lowercase();
        let message = out.message();
        if e.contains("host key verification failed")
            || e.contains("remote host identification has changed")
            || e.contains("no matching host key")
        {
            Err(HostError::HostKey {
                node: node.into(),
                message,
            })
        } else if e.contains("ssh:")
            || e.contains("permission denied")
            || e.contains("connection")
            || e.contains("could not resolve")
        {
            Err(HostError::Connect {
                node: node.into(),
                message,
            })
        } else {
            // The remote command itself exited 255.
            Ok(out)
        }
    }
}

/// Read a stream exactly as written, forwarding each line as it completes.
async fn collect<R: AsyncRead + Unpin>(
    r: R,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> String {
    let mut all = Vec::new();
    let mut reader = BufReader::new(r);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Some(tx) = &lines {
                    let text = String::from_utf8_lossy(&line);
                    let _ = tx.send(text.trim_end_matches(['\n', '\r']).to_string());
                }
                all.extend_from_slice(&line);
            }
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

impl HostRunner for SshRunner {
    fn run<'a>(
        &'a self,
        node: &'a str,
        cmd: &'a HostCommand,
        lines: Option<mpsc::UnboundedSender<String>>,
    ) -> BoxFuture<'a, Result<HostOutput, HostError>> {
        async move {
            // A fixed, parseable locale for every tool.
            let remote = format!("LC_ALL=C {}", cmd.line());
            let mut child = self
                .ssh(node, &remote)?
                .spawn()
                .map_err(|e| HostError::Spawn(e.to_string()))?;
            let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
                return Err(HostError::Spawn("no pipes".into()));
            };
            let work = async {
                let (o, e) = tokio::join!(collect(stdout, lines.clone()), collect(stderr, lines));
                let status = child.wait().await;
                (o, e, status)
            };
            match tokio::time::timeout(cmd.timeout, work).await {
                Ok((stdout, stderr, status)) => {
                    let status = status.map_err(|e| HostError::Spawn(e.to_string()))?;
                    Self::classify(
                        node,
                        HostOutput {
                            code: status.code(),
                            stdout,
                            stderr,
                        },
                    )
                }
                Err(_) => Err(HostError::Timeout {
                    node: node.to_string(),
                    command: cmd.program.clone(),
                    secs: cmd.timeout.as_secs(),
                }),
            }
        }
        .boxed()
    }

    fn copy<'a>(
        &'a self,
        from_node: &'a str,
        from_path: &'a str,
        to_node: &'a str,
        to_path: &'a str,
    ) -> BoxFuture<'a, Result<u64, HostError>> {
        async move {
            // Through this machine: `cat` on one side, `cat >` on the other, so
            // the nodes need no SSH trust between them. The copy is written
            // under a temporary name and renamed only once it is complete.
            let reader = HostCommand::new("cat").arg("--").arg(from_path);
            let tmp = format!("{to_path}.proxdeck-part");
            let writer =
                HostCommand::script(r#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1""#, &[&tmp]);
            let mut src = self.ssh(from_node, &format!("LC_ALL=C {}", reader.line()))?;
            let mut dst = self.ssh(to_node, &format!("LC_ALL=C {}", writer.line()))?;
            dst.stdin(Stdio::piped());
            let mut src = src.spawn().map_err(|e| HostError::Spawn(e.to_string()))?;
            let mut dst = dst.spawn().map_err(|e| HostError::Spawn(e.to_string()))?;
            let (Some(mut out), Some(mut input)) = (src.stdout.take(), dst.stdin.take()) else {
                return Err(HostError::Spawn("no pipes".into()));
            };
            let src_err = src.stderr.take();
            let dst_err = dst.stderr.take();
            let work = async {
                let copied = tokio::io::copy(&mut out, &mut input).await;
                drop(input);
                let se = match src_err {
                    Some(e) => collect(e, None).await,
                    None => String::new(),
                };
                let de = match dst_err {
                    Some(e) => collect(e, None).await,
                    None => String::new(),
                };
                let s1 = src.wait().await;
                let s2 = dst.wait().await;
                (copied, se, de, s1, s2)
            };
            let (copied, se, de, s1, s2) =
                tokio::time::timeout(Duration::from_secs(6 * 3600), work)
                    .await
                    .map_err(|_| HostError::Timeout {
                        node: from_node.into(),
                        command: "copy".into(),
                        secs: 6 * 3600,
                    })?;
            let code = |s: std::io::Result<std::process::ExitStatus>| s.ok().and_then(|s| s.code());
            let out1 = HostOutput {
                code: code(s1),
                stdout: String::new(),
                stderr: se,
            };
            let out2 = HostOutput {
                code: code(s2),
                stdout: String::new(),
                stderr: de,
            };
            let read_ok = Self::classify(from_node, out1).and_then(|o| o.check(from_node, &reader));
            let write_ok = Self::classify(to_node, out2).and_then(|o| o.check(to_node, &writer));
            let bytes = copied.map_err(|e| HostError::Spawn(format!("copying: {e}")));
            // Only a whole copy takes the final name; anything less is removed.
            if let Err(e) = read_ok
                .and(write_ok)
                .and(bytes.as_ref().map(|_| ()).map_err(Clone::clone))
            {
                let rm = HostCommand::new("rm").args(["-f", "--", tmp.as_str()]);
                let _ = self.run(to_node, &rm, None).await;
                return Err(e);
            }
            let mv = HostCommand::new("mv").args(["-f", "--", tmp.as_str(), to_path]);
            self.run(to_node, &mv, None).await?.check(to_node, &mv)?;
            bytes
        }
        .boxed()
    }

    fn reaches(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }
}
