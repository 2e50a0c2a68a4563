//! Crash resume: the executor is killed at every step boundary of the
//! replicate workflow in turn (`PROXDECK_CRASH_AT`, with the `test-hooks` feature); a second
//! process resumes after the lease runs out. Every time the end state has
//! exactly the expected guests, no duplicate and no leaked reservation.

mod common;

use common::target::Target;
use common::{proxdeck, text};
use proxdeck::store::{Store, StoreError};

async fn crash_and_resume(point: &str) {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    let o = proxdeck(
        dir,
        &db,
        &["plan", "replicate", "pve-db-01", "--to", "all", "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let id = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(proxdeck(dir, &db, &["approve", &id], &[]).status.success());

    let crashed = proxdeck(
        dir,
        &db,
        &["run", "--once", "--lease-secs", "1"],
        &[("PROXDECK_CRASH_AT", &format!("replicate:{point}"))],
    );
    assert!(
        !crashed.status.success(),
        "the crash point {point} was not reached: {}",
        text(&crashed)
    );
    assert!(text(&crashed).contains("crash point"), "{}", text(&crashed));

    let resumed = proxdeck(dir, &db, &["run", "--once", "--lease-secs", "1"], &[]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let st: serde_json::Value =
        serde_json::from_slice(&proxdeck(dir, &db, &["status", &id, "--json"], &[]).stdout)
            .unwrap();
    assert_eq!(st["status"], "completed", "after a crash at {point}: {st}");

    // Exactly one pve-db-02 on node-02 and one pve-db-03 on node-03, nothing else new.
    let res = t.client().cluster_resources(Some("vm")).await.unwrap();
    let mut names: Vec<(String, String)> = res
        .iter()
        .map(|r| (r.name.clone().unwrap(), r.node.clone().unwrap()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("pve-app-03".into(), "pve-node-03".into()),
            ("pve-av-01".into(), "pve-node-01".into()),
            ("pve-db-01".into(), "pve-node-01".into()),
            ("pve-db-02".into(), "pve-node-02".into()),
            ("pve-db-03".into(), "pve-node-03".into()),
            ("pve-test-01".into(), "pve-node-01".into()),
            ("pve-web-01".into(), "pve-node-02".into()),
        ],
        "after a crash at {point}"
    );
    for r in res.iter().filter(|r| {
        r.name
            .as_deref()
            .is_some_and(|n| n == "pve-db-02" || n == "pve-db-03")
    }) {
        assert!(r.template && r.lock.is_none(), "{r:?}");
    }
    let store = Store::open(&db).unwrap();
    let (ips, names, active): (i64, i64, i64) = store
        .read(|c| {
            Ok::<_, StoreError>((
                c.query_row("SELECT count(*) FROM ip_allocations WHERE state = 'reserved'", [], |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM name_reservations WHERE state = 'reserved'", [], |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM ip_allocations WHERE state = 'active' AND ip IN ('192.168.2.101', '192.168.3.101')", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!((ips, names, active), (0, 0, 2), "after a crash at {point}");
    let attempts: i64 = store
        .read(|c| {
            Ok::<_, StoreError>(c.query_row(
                "SELECT attempts FROM actions WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(
        attempts, 2,
        "claimed by the crashed process, then resumed once"
    );
    assert!(
        proxdeck(dir, &db, &["audit", "verify"], &[])
            .status
            .success()
    );
}

macro_rules! crash_points {
    ($($name:ident => $point:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                crash_and_resume($point).await
            }
        )*
    };
}

crash_points! {
    prepare_02_before => "prepare@pve-node-02:before",
    prepare_02_after => "prepare@pve-node-02:after",
    clone_02_before => "clone@pve-node-02:before",
    clone_02_upid => "clone@pve-node-02:upid",
    clone_02_after => "clone@pve-node-02:after",
    migrate_02_before => "migrate@pve-node-02:before",
    migrate_02_upid => "migrate@pve-node-02:upid",
    migrate_02_after => "migrate@pve-node-02:after",
    configure_02_before => "configure@pve-node-02:before",
    configure_02_after => "configure@pve-node-02:after",
    template_02_before => "template@pve-node-02:before",
    template_02_after => "template@pve-node-02:after",
    verify_02_before => "verify@pve-node-02:before",
    verify_02_after => "verify@pve-node-02:after",
    record_02_before => "record@pve-node-02:before",
    record_02_after => "record@pve-node-02:after",
    prepare_03_before => "prepare@pve-node-03:before",
    prepare_03_after => "prepare@pve-node-03:after",
    clone_03_before => "clone@pve-node-03:before",
    clone_03_upid => "clone@pve-node-03:upid",
    clone_03_after => "clone@pve-node-03:after",
    migrate_03_before => "migrate@pve-node-03:before",
    migrate_03_upid => "migrate@pve-node-03:upid",
    migrate_03_after => "migrate@pve-node-03:after",
    configure_03_before => "configure@pve-node-03:before",
    configure_03_after => "configure@pve-node-03:after",
    template_03_before => "template@pve-node-03:before",
    template_03_after => "template@pve-node-03:after",
    verify_03_before => "verify@pve-node-03:before",
    verify_03_after => "verify@pve-node-03:after",
    record_03_before => "record@pve-node-03:before",
    record_03_after => "record@pve-node-03:after",
}
