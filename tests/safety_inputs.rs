//! Inputs that must not hurt (F11, F16, F17 of the reliability review, and
//! exit codes): configuration files are regular files of sane size, a
//! dangling symlink is an error, leases stay within bounds, a closed pipe
//! ends a listing quietly, and `run --once` and `status` tell a script when
//! an action failed.

mod common;

use std::time::{Duration, Instant};

use common::target::Target;
use common::{proxdeck, proxdeck_bin, text};

fn check_config(dir: &std::path::Path) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let mut child = std::process::Command::new(proxdeck_bin())
        .arg("--config")
        .arg(dir)
        .arg("check-config")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A read that never ends (a FIFO) must not hang the command.
    loop {
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    (child.wait_with_output().unwrap(), started.elapsed())
}

/// Puts something in place of a configuration file.
type Maker = Box<dyn Fn(&std::path::Path)>;

#[test]
fn configuration_files_are_regular_files_of_sane_size() {
    let repo_config = common::repo().join("config");
    let cases: [(&str, &str, Maker); 4] = [
        (
            "action-policies.yml",
            "not a regular file",
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
        ),
        (
            "naming-conventions.yml",
            "not a regular file",
            Box::new(|p| {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                // SAFETY: a plain mkfifo(3) on a path string this test owns.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }),
        ),
        (
            "proxdeck.yml",
            "does not exist",
            Box::new(|p| std::os::unix::fs::symlink("/nonexistent/proxdeck.yml", p).unwrap()),
        ),
        (
            "action-policies.yml",
            "configuration files are at most",
            Box::new(|p| std::fs::write(p, "# padding\n".repeat(200_000)).unwrap()),
        ),
    ];
    for (file, why, make) in cases {
        let dir = tempfile::tempdir().unwrap();
        for f in ["naming-conventions.yml", "action-policies.yml"] {
            std::fs::copy(repo_config.join(f), dir.path().join(f)).unwrap();
        }
        let path = dir.path().join(file);
        let _ = std::fs::remove_file(&path);
        make(&path);
        let (o, took) = check_config(dir.path());
        assert!(took < Duration::from_secs(15), "{file}: took {took:?}");
        assert_eq!(o.status.code(), Some(1), "{file}: {}", text(&o));
        assert!(
            text(&o).contains(file),
            "{file}: names the file: {}",
            text(&o)
        );
        assert!(text(&o).contains(why), "{file}: {}", text(&o));
    }
}

#[test]
fn leases_stay_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "-5", "9223372036854775807"] {
        let o = proxdeck(
            dir.path(),
            &dir.path().join("p.db"),
            &["run", "--once", &format!("--lease-secs={bad}")],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("--lease-secs"), "{bad}: {}", text(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_a_listing_quietly() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    for i in 0..40 {
        let o = proxdeck(
            dir,
            &db,
            &["plan", "snapshot", "pve-web-01", "--name", &format!("s{i}")],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let cmd = format!(
        "'{}' --config '{}' --db '{}' queue --all | true",
        proxdeck_bin().display(),
        dir.display(),
        db.display()
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .env("PROXDECK_TEST_TOKEN", common::fakepve::TOKEN_SECRET)
        .env("XDG_STATE_HOME", dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_status_exit_non_zero_when_an_action_failed() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    let plan = |name: &str| {
        let o = proxdeck(
            dir,
            &db,
            &["plan", "snapshot", "pve-web-01", "--name", name, "--json"],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let good = plan("fine");
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, &db, &["status", &good], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    t.sim_post(
        "task-fail",
        serde_json::json!({"task_type": "vzsnapshot", "at_percent": 50.0, "message": "snapshot failed: out of space", "times": 1}),
    )
    .await;
    let bad = plan("doomed");
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&bad), "{}", text(&o));
    let o = proxdeck(dir, &db, &["status", &bad], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
