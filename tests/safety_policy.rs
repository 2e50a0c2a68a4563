//! A safe policy by default (F8 of the reliability review): a missing,
//! empty or key-less action-policies.yml means approval for the risky
//! actions and the design's self-protection, and check-config says so; only
//! an explicit `[]` in the file opens them.

mod common;

use common::target::Target;
use common::{proxdeck, text};
use proxdeck::pve::requests::ConfigChange;
use proxdeck::pve::{GuestKind, GuestRef};

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_empty_or_keyless_policy_file_means_the_safe_defaults() {
    let t = Target::sim().await;
    // A guest the design protects by name.
    t.client()
        .set_config(
            &GuestRef::new("pve-node-02", GuestKind::Lxc, 105),
            &ConfigChange::default().set("hostname", "n8n-main"),
        )
        .await
        .unwrap();
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let policies = dir.join("action-policies.yml");
    let cases: [(&str, Option<&str>); 3] = [
        ("missing", None),
        ("empty", Some("")),
        (
            "key-less",
            Some("replication:\n  primary_node: \"pve-node-01\"\n"),
        ),
    ];
    for (case, content) in cases {
        match content {
            None => {
                let _ = std::fs::remove_file(&policies);
            }
            Some(c) => std::fs::write(&policies, c).unwrap(),
        }
        let db = dir.join(format!("{case}.db"));
        let o = proxdeck(dir, &db, &["check-config"], &[]);
        assert!(o.status.success(), "{case}: {}", text(&o));
        assert!(
            text(&o).contains("safe default"),
            "{case}: check-config says what applies: {}",
            text(&o)
        );
        let o = proxdeck(
            dir,
            &db,
            &["plan", "assign-ip", "pve-test-01", "--json"],
            &[],
        );
        assert!(o.status.success(), "{case}: {}", text(&o));
        assert_eq!(json_of(&o)["state"], "pending_approval", "{case}");
        let o = proxdeck(dir, &db, &["plan", "snapshot", "n8n-main"], &[]);
        assert!(
            !o.status.success() && text(&o).contains("self_protection.n8n-containers"),
            "{case}: {}",
            text(&o)
        );
    }
    // Opting out is spelled out in the file.
    std::fs::write(
        &policies,
        "approval_required: []\nself_protection: []\nreplication:\n  primary_node: \"pve-node-01\"\n",
    )
    .unwrap();
    let db = dir.join("open.db");
    let o = proxdeck(
        dir,
        &db,
        &["plan", "assign-ip", "pve-test-01", "--json"],
        &[],
    );
    assert_eq!(json_of(&o)["state"], "approved", "{}", text(&o));
}
