//! Nothing leaks (F9, F10, F14, F6 of the reliability review): deleting a
//! guest gives its address, MAC and name back; `ip release` gives back a
//! gone guest's records; a re-address keeps the guest's own MAC; a failed
//! address change that changed nothing is not rolled back, and a rollback
//! starts a guest that ran; `ip assign` checks policy, the guest and
//! audits; hostnames and MACs are checked before anything is sent.

mod common;

use common::engine_env::EngineEnv;
use common::target::Target;
use common::{proxdeck, text};
use proxdeck::engine::{
    Action, ActionState, AssignStaticIp, DeleteGuest, EngineError, Replicate, Targets,
};
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::store::StoreError;
use serde_json::json;

async fn live_records_of(env: &EngineEnv, vmid: u32) -> Vec<String> {
    env.engine
        .addresses(None, false)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.vmid == Some(vmid))
        .map(|a| a.ip.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_guest_gives_back_its_address_and_name() {
    let env = EngineEnv::new(Target::sim().await).await;
    let replicate = |inv: &proxdeck::inventory::Inventory| {
        Action::Replicate(Replicate {
            source: EngineEnv::sel(inv, "pve-db-01"),
            targets: Targets::Nodes(vec!["node-02".into()]),
            start: false,
        })
    };
    let rec = env.run_action(replicate(&env.inventory().await)).await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let t = rec.plan.unwrap().targets[0].clone();
    assert_eq!(live_records_of(&env, t.vmid).await, vec!["192.168.2.101"]);

    let inv = env.inventory().await;
    let rec = env
        .run_action(Action::DeleteGuest(DeleteGuest {
            guest: EngineEnv::sel(&inv, "pve-db-02"),
        }))
        .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    assert!(live_records_of(&env, t.vmid).await.is_empty());
    // Kept as history.
    let all = env.engine.addresses(None, true).await.unwrap();
    assert!(all.iter().any(|a| a.vmid == Some(t.vmid)));
    // The same name, address and VMID are handed out again.
    let again = env.run_action(replicate(&env.inventory().await)).await;
    let t2 = &again.plan.unwrap().targets[0];
    assert_eq!(
        (t2.name.as_str(), t2.ip, t2.vmid),
        ("pve-db-02", t.ip, t.vmid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_release_gives_back_a_gone_guests_records() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    let o = proxdeck(
        dir,
        &db,
        &[
            "ip",
            "assign",
            "--resource",
            "pve-test-01",
            "--ip",
            "192.168.1.210",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The address the guest carries is refused; the recorded one is not configured.
    let o = proxdeck(dir, &db, &["ip", "release", "192.168.1.200"], &[]);
    assert!(!o.status.success());
    // The guest goes away behind proxdeck's back.
    let c = t.client();
    let ct = GuestRef::new("pve-node-01", GuestKind::Lxc, 103);
    let up = c
        .power(&ct, proxdeck::pve::requests::Power::Stop)
        .await
        .unwrap();
    c.wait_task(&up, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    let up = c.destroy_guest(&ct, &Default::default()).await.unwrap();
    c.wait_task(&up, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    let o = proxdeck(dir, &db, &["ip", "release", "103"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("released 192.168.1.210"), "{}", text(&o));
    let o = proxdeck(dir, &db, &["ip", "list", "--json"], &[]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["vmid"] != json!(103)),
        "{rows:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readdressing_keeps_the_guests_own_mac() {
    let env = EngineEnv::new(Target::sim().await).await;
    for ip in ["192.168.1.150", "192.168.1.151"] {
        let inv = env.inventory().await;
        let rec = env
            .run_action(Action::AssignStaticIp(AssignStaticIp {
                guest: EngineEnv::sel(&inv, "pve-av-01"),
                ip: Some(ip.parse().unwrap()),
                mac: None,
                hostname: None,
            }))
            .await;
        assert_eq!(rec.state, ActionState::Succeeded, "{ip}: {:?}", rec.error);
        assert_eq!(
            rec.plan.unwrap().targets[0].mac.map(|m| m.to_string()),
            Some("02:00:00:a1:66:01".into())
        );
    }
    assert_eq!(live_records_of(&env, 102).await, vec!["192.168.1.151"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_is_not_rolled_back_and_a_rollback_restarts_the_guest() {
    let env = EngineEnv::new(Target::sim().await).await;
    let ct = GuestRef::new("pve-node-01", GuestKind::Lxc, 103);
    let assign = |inv: &proxdeck::inventory::Inventory| {
        Action::AssignStaticIp(AssignStaticIp {
            guest: EngineEnv::sel(inv, "pve-test-01"),
            ip: Some("192.168.1.220".parse().unwrap()),
            mac: None,
            hostname: None,
        })
    };
    // Proxmox refuses the parameters: nothing changed, nothing rolled back.
    env.target
        .sim_post(
            "fail",
            json!({"method": "PUT", "path": "/nodes/pve-node-01/lxc/103/config", "status": 400, "message": "Parameter verification failed.", "times": 1}),
        )
        .await;
    let rec = env.run_action(assign(&env.inventory().await)).await;
    assert_eq!(rec.state, ActionState::Failed, "{:?}", rec.error);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("nothing was changed"),
        "{:?}",
        rec.error
    );
    let c = env.engine.client();
    assert_eq!(c.guest_status(&ct).await.unwrap().status, "running");
    // A change that fails half-way is rolled back, and the guest runs again.
    env.target
        .sim_post(
            "fail",
            json!({"method": "PUT", "path": "/nodes/pve-node-01/lxc/103/config", "status": 500, "message": "unable to apply network change", "times": 1}),
        )
        .await;
    let rec = env.run_action(assign(&env.inventory().await)).await;
    assert_eq!(rec.state, ActionState::RolledBack, "{:?}", rec.error);
    assert_eq!(c.guest_status(&ct).await.unwrap().status, "running");
    assert_eq!(env.reserved_count().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostnames_and_macs_are_checked_before_anything_is_sent() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let assign = |hostname: Option<&str>, mac: Option<&str>| {
        Action::AssignStaticIp(AssignStaticIp {
            guest: EngineEnv::sel(&inv, "pve-test-01"),
            ip: None,
            mac: mac.map(|m| m.parse().unwrap()),
            hostname: hostname.map(str::to_string),
        })
    };
    for (h, m, why) in [
        (Some("x;reboot"), None, "is not a hostname"),
        (Some("a b"), None, "is not a hostname"),
        (None, Some("ff:ff:ff:ff:ff:ff"), "broadcast"),
        (None, Some("01:00:5e:00:00:01"), "multicast"),
        (None, Some("00:00:00:00:00:00"), "all zeros"),
    ] {
        let r = env.propose(assign(h, m)).await;
        assert!(
            matches!(&r, Err(EngineError::Invalid(e)) if e.contains(why)),
            "{h:?} {m:?}: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_assign_checks_the_guest_and_the_policy_and_is_audited() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = dir.join("p.db");
    let assign = |guest: &str, extra: &[&str]| {
        let mut a = vec!["ip", "assign", "--resource", guest];
        if !extra.contains(&"--ip") {
            a.extend(["--ip", "192.168.1.230"]);
        }
        a.extend_from_slice(extra);
        proxdeck(dir, &db, &a, &[])
    };
    let o = assign("99999", &[]);
    assert!(
        !o.status.success() && text(&o).contains("no guest named or numbered '99999'"),
        "{}",
        text(&o)
    );
    let o = assign("pve-test-01", &["--type", "qemu"]);
    assert!(
        !o.status.success() && text(&o).contains("is a CT, not a VM"),
        "{}",
        text(&o)
    );
    let o = assign("pve-test-01", &["--node", "node-02"]);
    assert!(
        !o.status.success() && text(&o).contains("is on pve-node-01"),
        "{}",
        text(&o)
    );
    // Protected by a tag: refused.
    t.client()
        .set_config(
            &GuestRef::new("pve-node-01", GuestKind::Lxc, 103),
            &proxdeck::pve::requests::ConfigChange::default().set("tags", "test;n8n"),
        )
        .await
        .unwrap();
    let o = assign("pve-test-01", &[]);
    assert!(
        !o.status.success() && text(&o).contains("self_protection.n8n-containers"),
        "{}",
        text(&o)
    );
    let o = assign("pve-web-01", &["--ip", "192.168.2.230"]);
    assert!(o.status.success(), "{}", text(&o));
    let events: Vec<String> = proxdeck::store::Store::open(&db)
        .unwrap()
        .read(|c| {
            let mut st = c.prepare("SELECT event FROM audit_log")?;
            let r = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, StoreError>(r)
        })
        .unwrap();
    assert!(events.contains(&"address_assigned".into()), "{events:?}");
    // Read-only refuses.
    let o = proxdeck(
        dir,
        &db,
        &[
            "--read-only",
            "ip",
            "assign",
            "--resource",
            "pve-web-01",
            "--ip",
            "192.168.2.231",
        ],
        &[],
    );
    assert!(
        !o.status.success() && text(&o).contains("read-only"),
        "{}",
        text(&o)
    );
}
