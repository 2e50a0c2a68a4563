//! `proxdeck inventory` against fakepve: the rows a person and a script expect.

mod common;

use std::process::Command;

use common::fakepve::{self, FakePve};

fn inventory(args: &[&str]) -> (String, FakePve) {
    let fake = FakePve::seed();
    let dir = common::config_dir_for(&fake.url, &fake.fingerprint);
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(common::proxdeck_bin())
        .arg("--config")
        .arg(dir.path())
        .arg("inventory")
        .args(args)
        .env("PROXDECK_TEST_TOKEN", fakepve::TOKEN_SECRET)
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), fake)
}

#[test]
fn json_lists_guests_with_addresses_from_configs() {
    let (out, _fake) = inventory(&["--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let guests = v["guests"].as_array().unwrap();
    let rows: Vec<(u64, &str, &str, &str, bool, String, String)> = guests
        .iter()
        .map(|g| {
            (
                g["vmid"].as_u64().unwrap(),
                g["name"].as_str().unwrap(),
                g["node"].as_str().unwrap(),
                g["type"].as_str().unwrap(),
                g["template"].as_bool().unwrap(),
                g["ips"][0].as_str().unwrap_or("").to_string(),
                g["macs"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                101,
                "pve-db-01",
                "pve-node-01",
                "qemu",
                true,
                "192.168.1.101/24".into(),
                "02:00:00:a1:65:01".into()
            ),
            (
                102,
                "pve-av-01",
                "pve-node-01",
                "qemu",
                false,
                "192.168.1.102/24".into(),
                "02:00:00:a1:66:01".into()
            ),
            (
                103,
                "pve-test-01",
                "pve-node-01",
                "lxc",
                false,
                "192.168.1.200/24".into(),
                "02:00:00:a1:c8:01".into()
            ),
            (
                105,
                "pve-web-01",
                "pve-node-02",
                "lxc",
                false,
                "192.168.2.200/24".into(),
                "02:00:00:a2:c8:01".into()
            ),
            (
                350,
                "pve-app-03",
                "pve-node-03",
                "qemu",
                false,
                "192.168.3.150/24".into(),
                "02:00:00:a3:96:01".into()
            ),
        ]
    );
    assert_eq!(guests[2]["status"], "running");
    let nodes: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    for n in ["pve-node-01", "pve-node-02", "pve-node-03"] {
        assert!(nodes.contains(&n), "{nodes:?}");
    }
}

#[test]
fn table_for_people() {
    let (out, _fake) = inventory(&[]);
    let line = out
        .lines()
        .find(|l| l.starts_with("101 "))
        .expect("a row for 101");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        vec![
            "101",
            "pve-db-01",
            "pve-node-01",
            "qemu",
            "stopped",
            "yes",
            "192.168.1.101/24",
            "02:00:00:a1:65:01"
        ]
    );
    assert!(out.lines().any(|l| l.starts_with("VMID ")));
}

#[test]
fn a_missing_token_variable_is_a_clear_error() {
    let fake = FakePve::seed();
    let dir = common::config_dir_for(&fake.url, &fake.fingerprint);
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(common::proxdeck_bin())
        .arg("--config")
        .arg(dir.path())
        .arg("inventory")
        .env_remove("PROXDECK_TEST_TOKEN")
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("environment variable PROXDECK_TEST_TOKEN is not set"),
        "{err}"
    );
}
