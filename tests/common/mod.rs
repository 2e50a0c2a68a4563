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
    proxdeck_cmd(
        std::process::Command::new(proxdeck_bin()),
        dir,
        db,
        args,
        env,
    )
}

/// As `proxdeck`, run as another OS account (`setpriv`, so the real uid
/// changes: the test runs as root). `dir` must be open to that account.
pub fn proxdeck_as(
    uid: u32,
    dir: &std::path::Path,
    db: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = std::process::Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg("--")
        .arg(proxdeck_bin());
    proxdeck_cmd(cmd, dir, db, args, env)
}

fn proxdeck_cmd(
    mut cmd: std::process::Command,
    dir: &std::path::Path,
    db: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
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

/// The seed scenario's text, to change for a test.
pub const SEED: &str = include_str!("../../src/sim/scenarios/seed.yml");

/// The seed with a shared `san` storage holding the template's disk (its
/// cloud-init drive stays local) and an ISO from `local` in pve-av-01's
/// CD-ROM drive: the CD-ROM cases of clones and migrations.
pub fn seed_with_cd_roms() -> String {
    SEED.replace(
        "  - { id: nfs-backup,",
        "  - { id: san, type: rbd, shared: true, content: [images], total_gib: 4000 }\n  - { id: nfs-backup,",
    )
    .replace("local-lvm:base-101-disk-0,size=8G", "san:base-101-disk-0,size=8G")
    .replace(
        "      scsi0: \"local-lvm:vm-102-disk-0,size=32G\"",
        "      scsi0: \"local-lvm:vm-102-disk-0,size=32G\"\n      ide2: \"local:iso/debian-12.iso,media=cdrom\"",
    )
}

/// One test per case against fakepve and one against the simulator, each
/// with the seed cluster (`$case(target)` in the calling file).
#[allow(unused_macros)]
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod fakepve {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Target::fakepve()).await
                }
            )*
        }
        mod sim {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Target::sim().await).await
                }
            )*
        }
    };
}

/// Cases the simulator alone can answer; each says what fakepve lacks.
#[allow(unused_macros)]
macro_rules! on_sim_only {
    ($($case:ident),* $(,)?) => {
        mod sim_only {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Target::sim().await).await
                }
            )*
        }
    };
}
