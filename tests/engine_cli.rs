//! The engine through the CLI: nothing gated runs before approval, prohibited
//! and self-protected actions never run, read-only rejects all, plan hashes
//! are checked, the audit chain catches tampering, and
//! two executors on one database run each action once.

mod common;

use std::path::Path;

use common::target::Target;
use common::{proxdeck, text};
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::store::{Store, StoreError};

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn plan(dir: &Path, db: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["plan"];
    a.extend_from_slice(args);
    a.push("--json");
    let o = proxdeck(dir, db, &a, &[]);
    assert!(o.status.success(), "{}", text(&o));
    json_of(&o)
}

async fn guest_names(t: &Target) -> Vec<String> {
    let mut n: Vec<String> = t
        .client()
        .cluster_resources(Some("vm"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.name)
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_prohibited_protected_and_read_only_actions_never_run() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    let before = guest_names(&t).await;

    // Gated: queued, and `run --once` leaves it alone.
    let p = plan(dir, &db, &["replicate", "pve-db-01", "--to", "all"]);
    assert_eq!(p["state"], "pending_approval");
    assert_eq!(p["policy_rule"], "approval_required: replicate_resource");
    let id = p["id"].as_str().unwrap().to_string();
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(
        o.status.success() && text(&o).contains("ran 0 action(s)"),
        "{}",
        text(&o)
    );
    assert_eq!(guest_names(&t).await, before, "nothing ran before approval");

    // A plan hash other than the one stored is refused.
    let o = proxdeck(dir, &db, &["approve", &id, "--plan-hash", "deadbeef"], &[]);
    assert!(
        !o.status.success() && text(&o).contains("changed since it was shown"),
        "{}",
        text(&o)
    );

    // Prohibited: the primary node's template.
    let o = proxdeck(dir, &db, &["plan", "delete", "pve-db-01"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("rejected by policy rule prohibited.delete_primary_templates"),
        "{}",
        text(&o)
    );
    let o = proxdeck(
        dir,
        &db,
        &["plan", "delete-snapshot", "pve-av-01", "pre-upgrade"],
        &[],
    );
    assert!(
        text(&o).contains("prohibited.manual_snapshot_deletion"),
        "{}",
        text(&o)
    );

    // Self-protected: a guest that looks like N8N.
    t.client()
        .set_config(
            &GuestRef::new("pve-node-01", GuestKind::Qemu, 102),
            &proxdeck::pve::requests::ConfigChange::default().set("name", "n8n-worker"),
        )
        .await
        .unwrap();
    let o = proxdeck(dir, &db, &["plan", "snapshot", "n8n-worker", "--json"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o)["rule"], "self_protection.n8n-containers");

    // Read-only rejects everything, even what needs no approval.
    let o = proxdeck(
        dir,
        &db,
        &["--read-only", "plan", "snapshot", "pve-web-01"],
        &[],
    );
    assert!(
        text(&o).contains("rejected by policy rule read_only"),
        "{}",
        text(&o)
    );
    let o = proxdeck(dir, &db, &["--read-only", "approve", &id], &[]);
    assert!(
        !o.status.success() && text(&o).contains("read_only"),
        "{}",
        text(&o)
    );

    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let after = guest_names(&t).await;
    assert_eq!(
        after.len(),
        before.len(),
        "prohibited and protected actions did not run"
    );
    let snaps = t
        .client()
        .snapshots(&GuestRef::new("pve-node-01", GuestKind::Qemu, 102))
        .await
        .unwrap();
    assert_eq!(
        snaps.len(),
        3,
        "no snapshot was taken of the protected guest"
    );
    let q = json_of(&proxdeck(dir, &db, &["queue", "--all", "--json"], &[]));
    let states: Vec<(&str, &str)> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    assert!(
        states.contains(&("delete_template", "rejected")),
        "{states:?}"
    );
    assert!(
        states.contains(&("replicate_resource", "pending_approval")),
        "{states:?}"
    );

    // Approved, it runs.
    let o = proxdeck(dir, &db, &["approve", &id], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(text(&o).contains("ran 1 action(s)"), "{}", text(&o));
    let st = json_of(&proxdeck(dir, &db, &["status", &id, "--json"], &[]));
    assert_eq!(st["status"], "completed");
    assert_eq!(st["results"].as_array().unwrap().len(), 2);
    let o = proxdeck(dir, &db, &["audit", "verify"], &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// A copy of a database with its audit head and key, as a backup would take it.
fn copy_db(from: &Path, to: &Path) {
    use proxdeck::engine::{audit::head_path, audit_key::key_path};
    std::fs::copy(from, to).unwrap();
    std::fs::copy(head_path(from), head_path(to)).unwrap();
    std::fs::copy(key_path(from), key_path(to)).unwrap();
}

fn count(db: &Path, sql: &str) -> i64 {
    let store = Store::open(db).unwrap();
    store
        .read(|c| Ok::<_, StoreError>(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_catches_altered_and_removed_rows() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    plan(dir, &db, &["snapshot", "pve-web-01", "--name", "one"]);
    plan(dir, &db, &["snapshot", "pve-web-01", "--name", "two"]);
    assert!(proxdeck(dir, &db, &["run", "--once"], &[]).status.success());
    let o = proxdeck(dir, &db, &["audit", "verify"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = count(&db, "SELECT count(*) FROM audit_log");
    assert!(rows > 10);

    // Altering any row breaks the chain at that row.
    let altered = dir.join("altered.db");
    copy_db(&db, &altered);
    let conn = rusqlite::Connection::open(&altered).unwrap();
    conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    let o = proxdeck(dir, &altered, &["audit", "verify"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("row 3 (") && text(&o).contains("was altered"),
        "{}",
        text(&o)
    );

    // Deleting the newest rows shows against the head file.
    let cut = dir.join("cut.db");
    copy_db(&db, &cut);
    let conn = rusqlite::Connection::open(&cut).unwrap();
    conn.execute(
        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
        [],
    )
    .unwrap();
    drop(conn);
    let o = proxdeck(dir, &cut, &["audit", "verify"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("the newest rows were removed"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_run_each_of_20_actions_once() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path().to_path_buf();
    let db = dir.join("p.db");
    for i in 0..20 {
        let guest = if i % 2 == 0 {
            "pve-web-01"
        } else {
            "pve-test-01"
        };
        let name = format!("s{i:02}");
        let p = plan(&dir, &db, &["snapshot", guest, "--name", &name]);
        assert_eq!(p["state"], "approved");
    }
    let spawn = |dir: std::path::PathBuf, db: std::path::PathBuf| {
        std::thread::spawn(move || proxdeck(&dir, &db, &["run", "--once"], &[]))
    };
    let a = spawn(dir.clone(), db.clone());
    let b = spawn(dir.clone(), db.clone());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM actions WHERE state = 'succeeded'"
        ),
        20
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM actions WHERE attempts != 1"),
        0,
        "every action was claimed exactly once"
    );
    let tasks = t.client().cluster_tasks().await.unwrap();
    assert_eq!(
        tasks.iter().filter(|x| x.task_type == "vzsnapshot").count(),
        20,
        "each snapshot was taken once"
    );
    let owners = count(
        &db,
        "SELECT count(DISTINCT actor) FROM action_transitions WHERE to_state = 'running'",
    );
    assert!(owners >= 1);
}
