//! `proxdeck sim` (the real binary) driven by proxmoxer, an independent
//! Python client: login, resources, clone and task, snapshot and rollback,
//! vzdump and the backup in storage content.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn proxmoxer_runs_the_seed_scenario_against_proxdeck_sim() {
    let python = common::fakepve::python_command();
    let probe = Command::new(&python[0])
        .args(&python[1..])
        .args(["-c", "import proxmoxer, requests"])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{}", common::fakepve::INSTALL_HINT);

    let dir = tempfile::tempdir().unwrap();
    let mut sim = Command::new(common::proxdeck_bin())
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--time-scale",
            "0",
            "--print-json",
            "--write-config",
        ])
        .arg(dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let out = Command::new(&python[0])
        .args(&python[1..])
        .arg(common::support("proxmoxer_scenario.py"))
        .arg(info["url"].as_str().unwrap())
        .arg(info["token_id"].as_str().unwrap())
        .arg(info["token_secret"].as_str().unwrap())
        .arg(dir.path().join("sim-ca.pem"))
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("scenario complete"), "{text}");
}
