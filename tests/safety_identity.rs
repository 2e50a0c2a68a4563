//! Who acts (F1 of the reliability review): the account of the process's
//! real uid, never `$USER` or `$LOGNAME`. With the four-eyes rule on, the
//! proposer cannot approve by claiming another name; a second account can.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::target::Target;
use common::{proxdeck, proxdeck_as, text};
use proxdeck::store::{Store, StoreError};

/// The `nobody` account (every Debian system has it).
const NOBODY: u32 = 65534;

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approver_is_the_real_uid_whatever_user_says() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let policies = std::fs::read_to_string(dir.join("action-policies.yml")).unwrap();
    std::fs::write(
        dir.join("action-policies.yml"),
        policies.replace(
            "require_distinct_approver: false",
            "require_distinct_approver: true",
        ),
    )
    .unwrap();
    // Both accounts share the database, as two admins on one jump host do.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = dir.join("shared.db");

    let o = proxdeck_as(
        NOBODY,
        dir,
        &db,
        &[
            "plan",
            "replicate",
            "pve-db-01",
            "--to",
            "node-02",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let p = json_of(&o);
    assert_eq!(p["proposed_by"], "nobody");
    let id = p["id"].as_str().unwrap();

    // The proposer says it is someone else: still the proposer.
    for env in [
        vec![("USER", "root"), ("LOGNAME", "root")],
        vec![("USER", "NOBODY-TWIN")],
    ] {
        let o = proxdeck_as(NOBODY, dir, &db, &["approve", id], &env);
        assert!(!o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("four-eyes rule: nobody proposed this action"),
            "{}",
            text(&o)
        );
    }

    // A second account approves, whatever its environment claims.
    let o = proxdeck(dir, &db, &["approve", id], &[("USER", "nobody")]);
    assert!(o.status.success(), "{}", text(&o));
    let store = Store::open(&db).unwrap();
    let approver: String = store
        .read(|c| {
            Ok::<_, StoreError>(c.query_row(
                "SELECT decided_by FROM approvals WHERE action_id = ?1",
                [id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(approver, "root");
}
