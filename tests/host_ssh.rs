//! Host commands over real SSH (OpenSSH client against a real sshd on
//! loopback): typed arguments, exit status and stderr, host key checks,
//! timeouts, streaming, copies between nodes, and archive verification of
//! real tar.zst / tar.gz / tar.lzo files, good, corrupted and truncated.

mod common;

use std::process::Command;
use std::time::Duration;

use common::sshd::Sshd;
use proptest::prelude::*;
use proxdeck::backup::verify::verify;
use proxdeck::host::ssh::SshRunner;
use proxdeck::host::{HostCommand, HostError, HostRunner};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn typed_arguments_arrive_as_written_with_status_and_stderr() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["pve-node-01"]));
    rt().block_on(async {
        let tricky = [
            "a b",
            "it's",
            "$(touch /tmp/proxdeck-pwned)",
            "x;y",
            "*",
            "",
        ];
        let cmd = HostCommand::new("printf").arg("%s|").args(tricky);
        let out = r.run("pve-node-01", &cmd, None).await.expect("runs");
        assert!(out.ok());
        assert_eq!(out.stdout, "a b|it's|$(touch /tmp/proxdeck-pwned)|x;y|*||");
        assert!(
            !std::path::Path::new("/tmp/proxdeck-pwned").exists(),
            "nothing was expanded"
        );
        let cmd = HostCommand::script("echo out; echo oops >&2; exit 3", &[]);
        let out = r.run("pve-node-01", &cmd, None).await.expect("runs");
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (Some(3), "out\n", "oops\n")
        );
        let err = out.check("pve-node-01", &cmd).expect_err("non-zero");
        assert_eq!(err.to_string(), "pve-node-01: bash failed (exit 3): oops");
        // The locale is fixed so tools answer in English.
        let out = r
            .run(
                "pve-node-01",
                &HostCommand::script("echo $LC_ALL", &[]),
                None,
            )
            .await
            .expect("runs");
        assert_eq!(out.stdout, "C\n");
    });
}

#[test]
fn lines_stream_while_the_command_runs() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["n1"]));
    rt().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cmd = HostCommand::script("for i in 1 2 3; do echo line$i; done; echo warn >&2", &[]);
        let out = r.run("n1", &cmd, Some(tx)).await.expect("runs");
        let mut got = Vec::new();
        while let Ok(l) = rx.try_recv() {
            got.push(l);
        }
        got.sort();
        assert_eq!(got, ["line1", "line2", "line3", "warn"]);
        assert_eq!(out.transcript(), ["line1", "line2", "line3", "warn"]);
    });
}

#[test]
fn a_wrong_or_unknown_host_key_is_an_error_not_a_prompt() {
    let s = Sshd::start();
    let mut cfg = s.config(&["n1"]);
    // A different key for this address.
    let other = s.path("other");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .output()
        .expect("keygen");
    assert!(out.status.success());
    let pubkey = std::fs::read_to_string(other.with_extension("pub")).expect("pub");
    let mut f = pubkey.split_whitespace();
    std::fs::write(
        s.path("wrong_known_hosts"),
        format!(
            "[127.0.0.1]:{} {} {}\n",
            s.port,
            f.next().unwrap_or(""),
            f.next().unwrap_or("")
        ),
    )
    .expect("write");
    cfg.known_hosts = Some(s.path("wrong_known_hosts"));
    let r = SshRunner::new(&cfg);
    rt().block_on(async {
        let e = r
            .run("n1", &HostCommand::new("true"), None)
            .await
            .expect_err("mismatch");
        assert!(matches!(e, HostError::HostKey { .. }), "{e}");
        assert!(e.to_string().contains("does not match known_hosts"), "{e}");
        std::fs::write(s.path("empty_known_hosts"), "").expect("write");
        let mut cfg = s.config(&["n1"]);
        cfg.known_hosts = Some(s.path("empty_known_hosts"));
        let e = SshRunner::new(&cfg)
            .run("n1", &HostCommand::new("true"), None)
            .await
            .expect_err("unknown");
        assert!(matches!(e, HostError::HostKey { .. }), "{e}");
        // A node without SSH settings.
        let e = r
            .run("n2", &HostCommand::new("true"), None)
            .await
            .expect_err("no access");
        assert_eq!(e, HostError::NoAccess { node: "n2".into() });
        // Nobody listening.
        let mut cfg = s.config(&["n1"]);
        cfg.nodes.get_mut("n1").expect("n1").port = 1;
        let e = SshRunner::new(&cfg)
            .run("n1", &HostCommand::new("true"), None)
            .await
            .expect_err("refused");
        assert!(matches!(e, HostError::Connect { .. }), "{e}");
    });
}

#[test]
fn a_command_past_its_timeout_is_stopped() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["n1"]));
    rt().block_on(async {
        let cmd = HostCommand::new("sleep")
            .arg("30")
            .timeout(Duration::from_secs(1));
        let t = std::time::Instant::now();
        let e = r.run("n1", &cmd, None).await.expect_err("timeout");
        assert!(matches!(e, HostError::Timeout { secs: 1, .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(20));
    });
}

#[test]
fn copies_between_nodes_arrive_whole() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["a", "b"]));
    let src = s.path("src.bin");
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&src, &data).expect("write");
    let dst = s.path("sub/dir/dst.bin");
    rt().block_on(async {
        let n = r
            .copy(
                "a",
                &src.display().to_string(),
                "b",
                &dst.display().to_string(),
            )
            .await
            .expect("copied");
        assert_eq!(n, data.len() as u64);
    });
    assert_eq!(std::fs::read(&dst).expect("copy"), data);
    assert!(!s.path("sub/dir/dst.bin.proxdeck-part").exists());
    // A missing source fails with cat's message and leaves nothing.
    rt().block_on(async {
        let e = r
            .copy(
                "a",
                "/nonexistent/x",
                "b",
                &s.path("never").display().to_string(),
            )
            .await
            .expect_err("missing");
        assert!(e.to_string().contains("No such file"), "{e}");
    });
    assert!(!s.path("never").exists());
}

/// Real archives of a small tree, as vzdump names them.
fn make_archives(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let tree = dir.join("rootfs");
    for i in 0..40 {
        let d = tree.join(format!("etc/d{}", i % 5));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(
            d.join(format!("f{i}.conf")),
            format!("setting{i}={}\n", "x".repeat(i * 37)),
        )
        .expect("write");
    }
    let tar = dir.join("vzdump-lxc-101-2026_01_29-02_00_00.tar");
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()
        .expect("tar");
    assert!(st.success());
    let mut out = vec![tar.clone()];
    for (tool, ext) in [("zstd", "tar.zst"), ("gzip", "tar.gz"), ("lzop", "tar.lzo")] {
        let target = dir.join(format!("vzdump-lxc-101-2026_01_29-02_00_00.{ext}"));
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{tool} -c < '{}' > '{}'",
                tar.display(),
                target.display()
            ))
            .status()
            .expect(tool);
        assert!(st.success(), "{tool}");
        out.push(target);
    }
    out
}

fn sha256(path: &std::path::Path) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, &std::fs::read(path).expect("read"));
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn good_archives_verify_with_their_checksum_and_members() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["pve-node-01"]));
    let archives = make_archives(s.dir.path());
    rt().block_on(async {
        for a in &archives {
            let v = verify(&r, "pve-node-01", &a.display().to_string())
                .await
                .expect("asked");
            assert!(
                v.ok,
                "{}: {:?}\n{}",
                a.display(),
                v.message,
                v.transcript.join("\n")
            );
            assert_eq!(
                v.sha256.as_deref(),
                Some(sha256(a).as_str()),
                "{}",
                a.display()
            );
            assert_eq!(v.size, Some(std::fs::metadata(a).expect("meta").len()));
            // 40 files, 5 directories, etc/ and the root.
            assert_eq!(v.members, Some(47), "{}", a.display());
        }
    });
}

#[test]
fn corrupted_and_truncated_archives_fail_with_the_tools_message() {
    let s = Sshd::start();
    let r = SshRunner::new(&s.config(&["pve-node-01"]));
    let archives = make_archives(s.dir.path());
    rt().block_on(async {
        for a in archives
            .iter()
            .filter(|a| a.extension().is_some_and(|e| e != "tar"))
        {
            let bytes = std::fs::read(a).expect("read");
            // Truncated to half.
            let t = a.with_file_name(format!(
                "trunc-{}",
                a.file_name().and_then(|n| n.to_str()).unwrap_or("")
            ));
            let t = t.with_file_name(
                a.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .replace("02_00_00", "03_00_00"),
            );
            std::fs::write(&t, &bytes[..bytes.len() / 2]).expect("write");
            let v = verify(&r, "pve-node-01", &t.display().to_string())
                .await
                .expect("asked");
            assert!(!v.ok, "{} truncated passed", t.display());
            let msg = v.message.clone().unwrap_or_default();
            assert!(msg.starts_with("compression check failed:"), "{msg}");
            assert!(
                ["end of file", "violation", "unexpected", "premature end"]
                    .iter()
                    .any(|w| msg.to_lowercase().contains(w)),
                "{}: {msg}",
                t.display()
            );
            // Bytes flipped in the middle.
            let c = a.with_file_name(
                a.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .replace("02_00_00", "04_00_00"),
            );
            let mut bad = bytes.clone();
            let mid = bad.len() / 2;
            for b in &mut bad[mid..mid + 64] {
                *b ^= 0x5a;
            }
            std::fs::write(&c, &bad).expect("write");
            let v = verify(&r, "pve-node-01", &c.display().to_string())
                .await
                .expect("asked");
            assert!(!v.ok, "{} corrupted passed", c.display());
            assert!(v.sha256.is_none());
        }
        // An uncompressed tar cut short: tar itself complains.
        let tar = &archives[0];
        let bytes = std::fs::read(tar).expect("read");
        let t = tar.with_file_name("vzdump-lxc-101-2026_01_29-05_00_00.tar");
        std::fs::write(&t, &bytes[..bytes.len() / 3]).expect("write");
        let v = verify(&r, "pve-node-01", &t.display().to_string())
            .await
            .expect("asked");
        assert!(!v.ok);
        assert!(
            v.message
                .unwrap_or_default()
                .starts_with("structure check failed")
        );
        // A file that is not there.
        let v = verify(
            &r,
            "pve-node-01",
            "/nonexistent/vzdump-lxc-1-2026_01_01-00_00_00.tar.zst",
        )
        .await
        .expect("asked");
        assert!(v.message.unwrap_or_default().contains("No such file"));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Any argument, whatever its characters, reaches the remote program unchanged.
    #[test]
    fn any_argument_survives_the_remote_shell(arg in "[ -~\\t]{0,40}") {
        let s = SHARED.get_or_init(Sshd::start);
        let r = SshRunner::new(&s.config(&["n1"]));
        let out = rt().block_on(r.run("n1", &HostCommand::new("printf").args(["%s", arg.as_str()]), None)).expect("runs");
        prop_assert_eq!(out.stdout, arg);
    }
}

static SHARED: std::sync::OnceLock<Sshd> = std::sync::OnceLock::new();
