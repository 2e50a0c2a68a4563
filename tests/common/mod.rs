//! Support shared by the integration tests. Each test crate uses a part of it.
#![allow(dead_code)]

pub mod engine_env;
pub mod fakepve;
pub mod lvmvm;
pub mod schema;
pub mod sshd;
pub mod target;
pub mod tmux;
pub mod tui;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under tests/support.
pub fn support(name: &str) -> PathBuf {
    repo().join("tests").join("support").join(name)
}

/// The built proxdeck binary.
pub fn proxdeck_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_proxdeck"))
}

/// A config directory (the repository's naming and policy files) whose
/// proxdeck.yml points at `url` with the harness token from PROXDECK_TEST_TOKEN
/// and the certificate pinned.
pub fn config_dir_for(url: &str, fingerprint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["naming-conventions.yml", "action-policies.yml"] {
        std::fs::copy(repo().join("config").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("proxdeck.yml"),
        format!(
            "clusters:\n  - name: test\n    endpoints: [\"{url}\"]\n    auth:\n      token_id: \"{}\"\n      token_secret_env: PROXDECK_TEST_TOKEN\n    tls:\n      fingerprint: \"{fingerprint}\"\n",
            fakepve::TOKEN_ID
        ),
    )
    .unwrap();
    dir
}

/// Run the proxdeck binary with a config dir and database, the harness token in
/// the environment, and logs kept in `dir`.
pub fn proxdeck(
    dir: &std::path::Path,
    db: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(proxdeck_bin());
    cmd.arg("--config")
        .arg(dir)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("PROXDECK_TEST_TOKEN", fakepve::TOKEN_SECRET)
        .env("XDG_STATE_HOME", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// stdout and stderr together, for assertion messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
