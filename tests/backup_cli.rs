//! The backup, lvm and upgrade commands from a shell, against the simulator:
//! plans with ids in their JSON, the listing with verification and the rule
//! that keeps each archive, and clear errors where SSH is not configured.

mod common;

use common::target::Target;
use common::{proxdeck, text};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_listed_planned_and_run_from_the_command_line() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let (dir, db) = (cfg.path(), cfg.path().join("p.db"));

    let o = proxdeck(
        dir,
        &db,
        &["backup", "list", "--guest", "pve-web-01", "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let list = json(&o);
    assert_eq!(
        list["retention"],
        "keep-last=3, keep-daily=7, keep-weekly=4, keep-monthly=6"
    );
    let rows = list["backups"].as_array().expect("rows");
    assert_eq!(rows.len(), 5, "{rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r["verification"] == "unverified" && r["guest"] == "pve-web-01")
    );
    assert!(rows.iter().any(|r| r["kept_by"] == "protected"));

    // create_backup waits for approval; the JSON carries the id.
    let o = proxdeck(
        dir,
        &db,
        &[
            "backup",
            "create",
            "pve-web-01",
            "--storage",
            "nfs-backup",
            "--prune",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let p = json(&o);
    assert_eq!(p["state"], "pending_approval");
    let id = p["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("backup-105-"), "{id}");
    let steps: Vec<&str> = p["plan"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert_eq!(steps, ["backup", "catalog", "prune"]);
    let o = proxdeck(dir, &db, &["approve", &id], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, &db, &["show", &id, "--json"], &[]);
    assert_eq!(json(&o)["state"], "succeeded", "{}", text(&o));
    let o = proxdeck(
        dir,
        &db,
        &["backup", "list", "--guest", "105", "--json"],
        &[],
    );
    let rows = json(&o)["backups"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().any(|r| r["mode"] == "snapshot"),
        "the new archive's mode is in the catalog"
    );

    // A restore by file name, with the design's fields.
    let file = rows[0]["volid"]
        .as_str()
        .expect("volid")
        .rsplit('/')
        .next()
        .expect("file")
        .to_string();
    let o = proxdeck(
        dir,
        &db,
        &[
            "backup",
            "restore",
            &file,
            "--to",
            "pve-node-03",
            "--name",
            "pve-web-07",
            "--ip",
            "192.168.3.210",
            "--mac",
            "auto-generate",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let p = json(&o);
    let target = &p["plan"]["targets"][0];
    assert_eq!(
        (target["name"].as_str(), target["ip"].as_str()),
        (Some("pve-web-07"), Some("192.168.3.210"))
    );
    assert!(
        target["mac"]
            .as_str()
            .is_some_and(|m| m.starts_with("02:00:00:a3:"))
    );

    // Verifying needs the node over SSH: said plainly.
    let o = proxdeck(dir, &db, &["backup", "verify", &file, "--json"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no SSH access to node"), "{}", text(&o));
    let o = proxdeck(dir, &db, &["lvm", "list"], &[]);
    assert!(
        !o.status.success() && text(&o).contains("no node is reachable over SSH"),
        "{}",
        text(&o)
    );
    let o = proxdeck(dir, &db, &["upgrade", "pve-node-01"], &[]);
    assert!(
        !o.status.success() && text(&o).contains("no SSH access to node pve-node-01"),
        "{}",
        text(&o)
    );
}
