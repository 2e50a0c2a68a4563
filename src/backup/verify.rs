//! Checking an archive on the node that holds it: the compression layer's own
//! test (`zstd -t`, `gzip -t`, `lzop -t`), a full read of the structure (every
//! member of an LXC tar; `vma verify` of a qemu archive's decompressed
//! stream), and its SHA-256. A failure carries the tool's own message.

use super::archive::{self, Compression, Container};
use crate::host::{HostCommand, HostError, HostRunner};

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// What failed, in the tool's words.
    pub message: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// Members read from a tar archive.
    pub members: Option<u64>,
    /// Commands run and what they said, for the journal.
    pub transcript: Vec<String>,
}

impl Verified {
    fn failed(message: String, transcript: Vec<String>) -> Verified {
        Verified {
            ok: false,
            message: Some(message),
            sha256: None,
            size: None,
            members: None,
            transcript,
        }
    }
}

/// The commands that check `path` (the name tells the format).
pub fn checks(path: &str) -> Result<Vec<(&'static str, HostCommand)>, String> {
    let a = archive::parse(path).ok_or_else(|| format!("{path} is not a vzdump archive name"))?;
    let mut out = Vec::new();
    if let Some(tool) = a.compression.tool() {
        out.push((
            "compression",
            HostCommand::new(tool)
                .args(["-t", "-q", "--", path])
                .timeout(long()),
        ));
    }
    let structure = match (a.container, a.compression) {
        (Container::Tar, Compression::None) => {
            HostCommand::script(r#"tar -tf "$1" | wc -l"#, &[path])
        }
        (Container::Tar, c) => HostCommand::script(
            r#""$1" -d -c -q -- "$2" | tar -tf - | wc -l"#,
            &[c.tool().unwrap_or("cat"), path],
        ),
        (Container::Vma, Compression::None) => HostCommand::new("vma").args(["verify", "-v", path]),
        (Container::Vma, c) => HostCommand::script(
            r#""$1" -d -c -q -- "$2" | vma verify -v -"#,
            &[c.tool().unwrap_or("cat"), path],
        ),
    };
    out.push(("structure", structure.timeout(long())));
    out.push((
        "checksum",
        HostCommand::new("sha256sum")
            .args(["-b", "--", path])
            .timeout(long()),
    ));
    Ok(out)
}

fn long() -> std::time::Duration {
    std::time::Duration::from_secs(4 * 3600)
}

/// Verify `path` on `node`. `Err` only when the node could not be asked;
/// a bad archive is `Ok` with `ok: false`.
pub async fn verify(host: &dyn HostRunner, node: &str, path: &str) -> Result<Verified, HostError> {
    let mut transcript = Vec::new();
    let size_cmd = HostCommand::new("stat").args(["-c", "%s", "--", path]);
    let out = host.run(node, &size_cmd, None).await?;
    transcript.push(format!("$ {}", size_cmd.line()));
    transcript.extend(out.transcript());
    if !out.ok() {
        return Ok(Verified::failed(out.message(), transcript));
    }
    let size = out.stdout.trim().parse::<u64>().ok();
    let checks = match checks(path) {
        Ok(c) => c,
        Err(e) => return Ok(Verified::failed(e, transcript)),
    };
    let mut members = None;
    let mut sha256 = None;
    for (what, cmd) in checks {
        let out = host.run(node, &cmd, None).await?;
        transcript.push(format!("$ {}", cmd.line()));
        transcript.extend(out.transcript());
        // A pipeline can end well while tar complained: tar's message counts.
        let complaint = out.stderr.lines().find(|l| {
            let l = l.to_lowercase();
            l.contains("error")
                || l.contains("unexpected")
                || l.contains("corrupt")
                || l.contains("truncated")
        });
        if !out.ok() || (what == "structure" && complaint.is_some()) {
            let msg = complaint
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| out.message());
            return Ok(Verified {
                size,
                ..Verified::failed(format!("{what} check failed: {msg}"), transcript)
            });
        }
        match what {
            "structure" => members = out.stdout.trim().parse().ok(),
            "checksum" => sha256 = out.stdout.split_whitespace().next().map(str::to_string),
            _ => {}
        }
    }
    Ok(Verified {
        ok: true,
        message: None,
        sha256,
        size,
        members,
        transcript,
    })
}
