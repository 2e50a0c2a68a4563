//! The engine end to end on the simulator (and fakepve where it supports the
//! calls): replication by each strategy, guest snapshots, rollbacks, static
//! addresses, faults, and auto-replication.

mod common;

use common::engine_env::{EngineEnv, me};
use common::target::Target;
use proxdeck::engine::{Action, ActionState, Actor, EngineError, Targets, Via};
use proxdeck::engine::{
    AssignStaticIp, CloneGuest, CreateGuestSnapshot, Replicate, RollbackGuestSnapshot, TargetStatus,
};
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::sim::Scenario;
use serde_json::json;

/// Copy the named guest to the given nodes, left stopped.
fn replicate(inv: &proxdeck::inventory::Inventory, name: &str, targets: Targets) -> Action {
    Action::Replicate(Replicate {
        source: EngineEnv::sel(inv, name),
        targets,
        start: false,
    })
}

async fn approve(env: &EngineEnv, rec: &proxdeck::engine::ActionRecord) {
    env.approve(rec).await;
}

async fn admin(t: &Target, what: &str, body: serde_json::Value) {
    t.sim_post(what, body).await;
}

async fn propose_and_run(env: &EngineEnv, action: Action) -> proxdeck::engine::ActionRecord {
    env.run_action(action).await
}

/// The design's worked example, checked through the API.
async fn check_db_replicas(env: &EngineEnv, id: &str) {
    let st = env.engine.status(id).await.unwrap();
    assert_eq!(st.status, "completed", "{st:?}");
    assert_eq!(st.progress, 100.0);
    let got: Vec<(String, String, String, String, String)> = st
        .results
        .iter()
        .map(|r| {
            (
                r.target_node.clone(),
                r.new_resource_name.clone(),
                r.ip.clone().unwrap(),
                r.mac.clone().unwrap(),
                r.status.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "pve-node-02".into(),
                "pve-db-02".into(),
                "192.168.2.101".into(),
                "02:00:00:a2:65:01".into(),
                "success".into()
            ),
            (
                "pve-node-03".into(),
                "pve-db-03".into(),
                "192.168.3.101".into(),
                "02:00:00:a3:65:01".into(),
                "success".into()
            ),
        ]
    );
    let c = env.engine.client();
    for r in &st.results {
        let vmid: u32 = r.new_resource_id.parse().unwrap();
        let cfg = c
            .guest_config(&GuestRef::new(&r.target_node, GuestKind::Qemu, vmid))
            .await
            .unwrap();
        assert_eq!(cfg.name(), Some(r.new_resource_name.as_str()));
        assert_eq!(
            cfg.qemu_net(0).unwrap().mac().unwrap().to_string(),
            *r.mac.as_ref().unwrap()
        );
        assert_eq!(
            cfg.ipconfig(0)
                .unwrap()
                .ip()
                .unwrap()
                .address()
                .unwrap()
                .to_string(),
            *r.ip.as_ref().unwrap()
        );
        assert!(cfg.is_template(), "a replica of a template is a template");
        let md = env
            .db()
            .read(|conn| proxdeck::metadata::get(conn, env.engine.cluster(), vmid))
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                md.origin_node.as_deref(),
                md.origin_template_id,
                md.is_replica
            ),
            (Some("pve-node-01"), Some(101), true)
        );
    }
    let src = env
        .db()
        .read(|conn| proxdeck::metadata::get(conn, env.engine.cluster(), 101))
        .unwrap()
        .unwrap();
    assert_eq!(src.replicated_nodes, vec!["pve-node-02", "pve-node-03"]);
    assert_eq!(
        env.reserved_count().await,
        (0, 0),
        "no reservation is left over"
    );
    let v = proxdeck::engine::audit::verify(&env.db()).unwrap();
    assert!(v.problems.is_empty(), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicate_the_template_to_all_nodes_by_clone_and_migrate() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let src = EngineEnv::sel(&inv, "pve-db-01");
    let rec = env
        .engine
        .propose(
            Action::Replicate(Replicate {
                source: src,
                targets: Targets::All,
                start: false,
            }),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    assert_eq!(rec.state, ActionState::PendingApproval);
    assert_eq!(
        rec.policy_rule.as_deref(),
        Some("approval_required: replicate_resource")
    );
    // Nothing runs before approval.
    assert_eq!(env.engine.run_once().await.unwrap(), 0);
    let plan = rec.plan.clone().unwrap();
    assert!(
        plan.steps.iter().any(|s| s.key == "migrate@pve-node-02"),
        "local disks: clone then migrate"
    );
    approve(&env, &rec).await;
    assert_eq!(env.engine.run_once().await.unwrap(), 1);
    check_db_replicas(&env, &rec.id).await;
    // Replicating again finds every node done.
    let inv = env.inventory().await;
    let again = env
        .engine
        .propose(replicate(&inv, "pve-db-01", Targets::All), me(), None, &inv)
        .await;
    assert!(
        matches!(&again, Err(EngineError::NothingToDo(m)) if m.contains("already has a replica")),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicate_from_shared_storage_clones_straight_to_the_target() {
    let text = include_str!("../src/sim/scenarios/seed.yml")
        .replace("  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000 }",
                 "  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000 }\n  - { id: san, type: rbd, shared: true, content: [images, rootdir], total_gib: 4000 }")
        .replace("local-lvm:base-101-disk-0,size=8G", "san:base-101-disk-0,size=8G")
        // The cloud-init drive counts too: Proxmox clones to another node only
        // when every volume, CD-ROMs included, is on shared storage.
        .replace("local-lvm:vm-101-cloudinit", "san:vm-101-cloudinit");
    let env =
        EngineEnv::new(Target::sim_with(Scenario::parse(&text, "shared").unwrap(), 0.0).await)
            .await;
    let inv = env.inventory().await;
    let rec = propose_and_run(&env, replicate(&inv, "pve-db-01", Targets::All)).await;
    let plan = rec.plan.clone().unwrap();
    assert!(
        !plan.steps.iter().any(|s| s.key.starts_with("migrate")),
        "shared disks need no migration"
    );
    assert!(matches!(
        plan.targets[0].strategy,
        Some(proxdeck::engine::plan::Strategy::CloneWithTarget { .. })
    ));
    check_db_replicas(&env, &rec.id).await;
    // The clone task ran with a target (straight to the node): the clone's disk is on san.
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new(
            "pve-node-03",
            GuestKind::Qemu,
            plan.targets[1].vmid,
        ))
        .await
        .unwrap();
    assert!(cfg.get("scsi0").unwrap().starts_with("san:"), "{cfg:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_container_replicates_from_a_temporary_snapshot() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = propose_and_run(
        &env,
        Action::Replicate(Replicate {
            source: EngineEnv::sel(&inv, "pve-web-01"),
            targets: Targets::All,
            start: true,
        }),
    )
    .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let plan = rec.plan.unwrap();
    // Proxmox clones a running container only from a snapshot: one per
    // target, taken and removed around its clone, one clone at a time.
    for t in &plan.targets {
        assert_eq!(
            t.from_snapshot.as_deref(),
            Some(format!("proxdeck-copy-{}", t.vmid).as_str())
        );
        let clone = plan
            .steps
            .iter()
            .find(|s| s.key == format!("clone@{}", t.node))
            .unwrap();
        assert!(
            clone.description.contains("temporary snapshot"),
            "{}",
            clone.description
        );
    }
    env.assert_no_temporary_snapshots(&GuestRef::new("pve-node-02", GuestKind::Lxc, 105))
        .await;
    let st = env.engine.status(&rec.id).await.unwrap();
    let got: Vec<(String, String, String)> = st
        .results
        .iter()
        .map(|r| {
            (
                r.target_node.clone(),
                r.new_resource_name.clone(),
                r.ip.clone().unwrap(),
            )
        })
        .collect();
    // 192.168.1.200 is pve-test-01's: node-01 gets the next container address.
    assert_eq!(
        got,
        vec![
            (
                "pve-node-01".into(),
                "pve-web-02".into(),
                "192.168.1.201".into()
            ),
            (
                "pve-node-03".into(),
                "pve-web-03".into(),
                "192.168.3.200".into()
            ),
        ]
    );
    let c = env.engine.client();
    for (t, r) in plan.targets.iter().zip(&st.results) {
        let g = GuestRef::new(&t.node, GuestKind::Lxc, t.vmid);
        let cfg = c.guest_config(&g).await.unwrap();
        assert_eq!(cfg.get("hostname"), Some(r.new_resource_name.as_str()));
        assert_eq!(
            cfg.lxc_net(0).unwrap().mac().map(|m| m.to_string()),
            r.mac.clone()
        );
        assert_eq!(
            c.guest_status(&g).await.unwrap().status,
            "running",
            "start was asked for"
        );
    }
    assert_eq!(env.reserved_count().await, (0, 0));
}

#[tokio::test]
async fn replicate_a_container_against_fakepve() {
    let env = EngineEnv::new(Target::fakepve()).await;
    // fakepve moves containers (vzmigrate), not VMs: replicate the stopped test container.
    let c = env.engine.client();
    let ct = GuestRef::new("pve-node-01", GuestKind::Lxc, 103);
    let up = c
        .power(&ct, proxdeck::pve::requests::Power::Stop)
        .await
        .unwrap();
    c.wait_task(&up, &common::engine_env::fast_wait(), |_| {})
        .await
        .unwrap();
    let inv = env.inventory().await;
    let rec = propose_and_run(
        &env,
        replicate(&inv, "pve-test-01", Targets::Nodes(vec!["node-02".into()])),
    )
    .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let t = &rec.plan.unwrap().targets[0];
    assert_eq!(
        (t.name.as_str(), t.ip.unwrap().to_string()),
        ("pve-test-02", "192.168.2.201".to_string())
    );
    let cfg = c
        .guest_config(&GuestRef::new("pve-node-02", GuestKind::Lxc, t.vmid))
        .await
        .unwrap();
    assert_eq!(cfg.get("hostname"), Some("pve-test-02"));
    let net = cfg.lxc_net(0).unwrap();
    assert_eq!(
        net.ip().unwrap().address().unwrap().to_string(),
        "192.168.2.201"
    );
    assert_eq!(net.mac().unwrap().to_string(), t.mac.unwrap().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_failing_half_way_fails_its_target_and_releases_everything() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(replicate(&inv, "pve-db-01", Targets::All), me(), None, &inv)
        .await
        .unwrap();
    let node2 = rec.plan.as_ref().unwrap().targets[0].vmid;
    admin(&env.target, "task-fail", json!({"task_type": "qmclone", "vmid": node2, "at_percent": 50.0, "message": "clone failed: disk write error"})).await;
    approve(&env, &rec).await;
    env.engine.run_once().await.unwrap();
    let rec = env.engine.get(&rec.id).await.unwrap().unwrap();
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("clone failed: disk write error"),
        "{:?}",
        rec.error
    );
    let st = env.engine.status(&rec.id).await.unwrap();
    assert_eq!(st.results[0].status, TargetStatus::Failed);
    assert_eq!(
        st.results[1].status,
        TargetStatus::Success,
        "one target failing does not stop the others"
    );
    assert!(
        env.engine
            .client()
            .cluster_resources(Some("vm"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.vmid != Some(node2))
    );
    assert_eq!(env.reserved_count().await, (0, 0));
    let held: i64 = env
        .db()
        .read(|c| Ok::<_, proxdeck::store::StoreError>(c.query_row("SELECT count(*) FROM ip_allocations WHERE ip = '192.168.2.101' AND state IN ('reserved', 'active')", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(held, 0, "the failed target's address is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_going_offline_a_locked_guest_and_an_api_500_each_fail_cleanly() {
    // Node offline: the migration to it cannot finish.
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(
            replicate(&inv, "pve-db-01", Targets::Nodes(vec!["node-03".into()])),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    approve(&env, &rec).await;
    admin(
        &env.target,
        "node",
        json!({"node": "pve-node-03", "online": false}),
    )
    .await;
    env.engine.run_once().await.unwrap();
    let rec = env.engine.get(&rec.id).await.unwrap().unwrap();
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error.as_deref().unwrap().contains("not online"),
        "{:?}",
        rec.error
    );
    let vmid = rec.plan.unwrap().targets[0].vmid;
    assert!(
        env.engine
            .client()
            .cluster_resources(Some("vm"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.vmid != Some(vmid)),
        "the half-made clone was removed"
    );
    assert_eq!(env.reserved_count().await, (0, 0));
    admin(
        &env.target,
        "node",
        json!({"node": "pve-node-03", "online": true}),
    )
    .await;

    // A locked source.
    admin(&env.target, "lock", json!({"vmid": 101, "lock": "backup"})).await;
    let rec = propose_and_run(
        &env,
        replicate(
            &env.inventory().await,
            "pve-db-01",
            Targets::Nodes(vec!["node-02".into()]),
        ),
    )
    .await;
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("VM is locked (backup)"),
        "{:?}",
        rec.error
    );
    admin(&env.target, "unlock", json!({"vmid": 101})).await;
    assert_eq!(env.reserved_count().await, (0, 0));

    // A 500 from the API, with its message.
    admin(&env.target, "fail", json!({"method": "POST", "path": "/nodes/pve-node-01/qemu/101/clone", "status": 500, "message": "storage 'local-lvm' is not online"})).await;
    let rec = propose_and_run(
        &env,
        replicate(
            &env.inventory().await,
            "pve-db-01",
            Targets::Nodes(vec!["node-02".into()]),
        ),
    )
    .await;
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("Proxmox: storage 'local-lvm' is not online"),
        "{:?}",
        rec.error
    );
    assert_eq!(env.reserved_count().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_rollback_with_a_safety_snapshot_first() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let web = EngineEnv::sel(&inv, "pve-web-01");
    let snap = propose_and_run(
        &env,
        Action::CreateGuestSnapshot(CreateGuestSnapshot {
            guest: web.clone(),
            name: Some("before-change".into()),
            description: Some("test".into()),
            vmstate: false,
        }),
    )
    .await;
    assert_eq!(
        snap.state,
        ActionState::Succeeded,
        "snapshots need no approval: {:?}",
        snap.error
    );
    let c = env.engine.client();
    let g = GuestRef::new("pve-node-02", GuestKind::Lxc, 105);
    c.set_config(
        &g,
        &proxdeck::pve::requests::ConfigChange::default().set("description", "changed"),
    )
    .await
    .unwrap();
    let rb = propose_and_run(
        &env,
        Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: web.clone(),
            snapshot: "before-change".into(),
            start: true,
        }),
    )
    .await;
    assert_eq!(rb.state, ActionState::Succeeded, "{:?}", rb.error);
    let safety = rb
        .plan
        .as_ref()
        .unwrap()
        .safety_snapshot
        .clone()
        .expect("policy asks for a safety snapshot before a rollback");
    let names: Vec<String> = c
        .snapshots(&g)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.contains(&safety), "{names:?}");
    assert_ne!(
        c.guest_config(&g).await.unwrap().get("description"),
        Some("changed"),
        "rolled back"
    );
    assert_eq!(c.guest_status(&g).await.unwrap().status, "running");
    // The catalog knows who made what.
    let purposes: Vec<(String, Option<String>)> = env
        .db()
        .read(|conn| {
            let mut st = conn.prepare("SELECT name, purpose FROM snapshots WHERE vmid = 105 AND state = 'present' ORDER BY name")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
            Ok::<_, proxdeck::store::StoreError>(rows)
        })
        .unwrap();
    assert!(
        purposes.contains(&("before-change".into(), Some("manual".into()))),
        "{purposes:?}"
    );
    assert!(
        purposes.contains(&(safety.clone(), Some("safety".into()))),
        "{purposes:?}"
    );

    // A snapshot that does not exist is refused when planning, naming those that do.
    let inv = env.inventory().await;
    let missing = env
        .engine
        .propose(
            Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
                guest: web.clone(),
                snapshot: "no-such-snapshot".into(),
                start: false,
            }),
            me(),
            None,
            &inv,
        )
        .await;
    assert!(
        matches!(&missing, Err(EngineError::NotPossible(m)) if m.contains("has no snapshot no-such-snapshot") && m.contains("auto-nightly")),
        "{missing:?}"
    );

    // A rollback that fails goes back to its safety snapshot: rolled_back.
    admin(&env.target, "task-fail", json!({"task_type": "vzrollback", "vmid": 105, "at_percent": 50.0, "message": "rollback failed: disk error", "times": 1})).await;
    let bad = propose_and_run(
        &env,
        Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: web,
            snapshot: "auto-nightly".into(),
            start: false,
        }),
    )
    .await;
    assert_eq!(bad.state, ActionState::RolledBack, "{:?}", bad.error);
    assert!(
        bad.error
            .as_deref()
            .unwrap()
            .contains("rollback failed: disk error"),
        "{:?}",
        bad.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_a_static_address_to_a_guest() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    // Without an address the plan keeps a valid one the guest already has.
    let keep = env
        .engine
        .propose(
            Action::AssignStaticIp(AssignStaticIp {
                guest: EngineEnv::sel(&inv, "pve-web-01"),
                ip: None,
                mac: None,
                hostname: None,
            }),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    assert_eq!(
        keep.plan.as_ref().unwrap().targets[0]
            .ip
            .unwrap()
            .to_string(),
        "192.168.2.200"
    );
    env.engine
        .reject(&keep.id, me(), "just looking")
        .await
        .unwrap();
    let wanted = Some("192.168.2.201".parse().unwrap());
    let rec = propose_and_run(
        &env,
        Action::AssignStaticIp(AssignStaticIp {
            guest: EngineEnv::sel(&inv, "pve-web-01"),
            ip: wanted,
            mac: None,
            hostname: None,
        }),
    )
    .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-02", GuestKind::Lxc, 105))
        .await
        .unwrap();
    let net = cfg.lxc_net(0).unwrap();
    assert_eq!(
        net.ip().unwrap().address().unwrap().to_string(),
        "192.168.2.201"
    );
    assert_eq!(
        net.mac().unwrap().to_string(),
        "02:00:00:a2:c8:01",
        "the guest keeps its MAC"
    );
    let active: Vec<String> = env
        .db()
        .read(|c| {
            let mut st =
                c.prepare("SELECT ip FROM ip_allocations WHERE vmid = 105 AND state = 'active'")?;
            let r = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, proxdeck::store::StoreError>(r)
        })
        .unwrap();
    assert_eq!(active, vec!["192.168.2.201"]);
    assert!(
        rec.plan.unwrap().safety_snapshot.is_some(),
        "a network change takes a safety snapshot first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replication_proposes_what_the_rules_ask_for() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let recs = env.engine.propose_missing_replicas(&inv).await.unwrap();
    let got: Vec<(String, Vec<String>, String)> = recs
        .iter()
        .map(|r| {
            (
                r.action.guests()[0].name.clone(),
                r.plan
                    .as_ref()
                    .unwrap()
                    .targets
                    .iter()
                    .map(|t| t.node.clone())
                    .collect(),
                r.proposed_by.who.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "pve-db-01".into(),
                vec!["pve-node-02".to_string(), "pve-node-03".to_string()],
                "policy:auto_replicate_from_primary".into()
            ),
            (
                "pve-web-01".into(),
                vec!["pve-node-01".to_string(), "pve-node-03".to_string()],
                "policy:cross_node_replication".into()
            ),
        ]
    );
    assert!(
        recs.iter().all(|r| r.state == ActionState::PendingApproval),
        "they follow the policy like any other"
    );
    // A second refresh proposes nothing new while those are queued.
    assert!(
        env.engine
            .propose_missing_replicas(&inv)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_a_guest_to_a_node_with_a_fresh_identity() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let mut events = env.engine.subscribe();
    let rec = propose_and_run(
        &env,
        Action::CloneGuest(CloneGuest {
            source: EngineEnv::sel(&inv, "pve-db-01"),
            target_node: "node-03".into(),
            role: Some("app".into()),
            start: false,
        }),
    )
    .await;
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    assert_eq!(rec.kind, "clone_vm");
    let t = &rec.plan.as_ref().unwrap().targets[0];
    assert_eq!(
        (
            t.name.as_str(),
            t.ip.unwrap().to_string(),
            t.mac.unwrap().to_string()
        ),
        (
            "pve-app-01",
            "192.168.3.100".into(),
            "02:00:00:a3:64:01".into()
        )
    );
    let md = env
        .db()
        .read(|c| proxdeck::metadata::get(c, env.engine.cluster(), t.vmid))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            md.origin_node.as_deref(),
            md.origin_template_id,
            md.is_replica
        ),
        (Some("pve-node-01"), Some(101), false)
    );
    // Front ends saw the run as it went.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen.iter().any(|e| matches!(e, proxdeck::engine::EngineEvent::StepStarted { key, .. } if key == "clone@pve-node-03")));
    assert!(seen.iter().any(|e| matches!(e, proxdeck::engine::EngineEvent::Progress { percent, .. } if *percent >= 100.0)));
    assert!(seen.iter().any(|e| matches!(e, proxdeck::engine::EngineEvent::TaskLine { line, .. } if line.contains("transferred"))));
    assert!(seen.iter().any(|e| matches!(e, proxdeck::engine::EngineEvent::ActionChanged { state, .. } if *state == ActionState::Succeeded)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_between_steps_and_cleans_up() {
    // Tasks take simulated time here, so the cancel lands while the clone runs.
    let env = EngineEnv::new(Target::sim_with(Scenario::seed(), 0.05).await).await;
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(
            replicate(&inv, "pve-db-01", Targets::Nodes(vec!["node-02".into()])),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    // Not yet running: cancelled at once, identities released.
    let c = env.engine.cancel(&rec.id, me()).await.unwrap();
    assert_eq!(c.state, ActionState::Cancelled);
    assert_eq!(env.reserved_count().await, (0, 0));
    // Running: the cancel is seen before the next step.
    let rec = env
        .engine
        .propose(
            replicate(&inv, "pve-db-01", Targets::Nodes(vec!["node-02".into()])),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    approve(&env, &rec).await;
    let mut events = env.engine.subscribe();
    let engine = env.engine.clone();
    let id = rec.id.clone();
    let canceller = tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            if matches!(&e, proxdeck::engine::EngineEvent::StepStarted { key, .. } if key == "clone@pve-node-02")
            {
                engine.cancel(&id, Actor::local(Via::Cli)).await.unwrap();
                return;
            }
        }
    });
    env.engine.run_once().await.unwrap();
    canceller.await.unwrap();
    let rec = env.engine.get(&rec.id).await.unwrap().unwrap();
    assert_eq!(rec.state, ActionState::Cancelled, "{:?}", rec.error);
    let vmid = rec.plan.unwrap().targets[0].vmid;
    assert!(
        env.engine
            .client()
            .cluster_resources(Some("vm"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.vmid != Some(vmid)),
        "the clone was removed"
    );
    assert_eq!(env.reserved_count().await, (0, 0));
    let steps = env.engine.steps(&rec.id).await.unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.key == "migrate@pve-node-02" && s.state.as_str() == "skipped"),
        "{steps:?}"
    );
}

/// The console's path: a proposal held while its plan is shown, then sent on
/// by hash, or dropped (and, if forgotten, expired) with its reservations freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_proposals_wait_for_their_confirmation() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let action = replicate(&inv, "pve-db-01", Targets::All);
    let held = env
        .engine
        .propose_held(action.clone(), me(), None, &inv)
        .await
        .unwrap();
    assert_eq!(held.state, ActionState::Proposed);
    assert_eq!(
        held.policy_rule.as_deref(),
        Some("approval_required: replicate_resource")
    );
    assert_eq!(
        env.reserved_count().await,
        (2, 2),
        "names and addresses held while shown"
    );
    // Nothing runs a held proposal, and it is not in the overview.
    assert_eq!(env.engine.run_once().await.unwrap(), 0);
    assert!(
        env.engine
            .overview(10)
            .await
            .unwrap()
            .iter()
            .all(|a| a.record.id != held.id)
    );
    // Another plan's hash is refused; the shown one goes on to approval.
    let err = env.engine.submit(&held.id, "0000", me()).await.unwrap_err();
    assert!(matches!(err, EngineError::PlanChanged { .. }), "{err}");
    let rec = env
        .engine
        .submit(&held.id, held.plan_hash.as_deref().unwrap(), me())
        .await
        .unwrap();
    assert_eq!(rec.state, ActionState::PendingApproval);
    let again = env
        .engine
        .submit(&held.id, held.plan_hash.as_deref().unwrap(), me())
        .await
        .unwrap_err();
    assert!(matches!(again, EngineError::WrongState { .. }), "{again}");
    env.engine.reject(&rec.id, me(), "test").await.unwrap();
    assert_eq!(env.reserved_count().await, (0, 0));

    // Dropped from the dialog: reservations freed at once.
    let held = env
        .engine
        .propose_held(action.clone(), me(), None, &inv)
        .await
        .unwrap();
    let dropped = env.engine.cancel(&held.id, me()).await.unwrap();
    assert_eq!(dropped.state, ActionState::Cancelled);
    assert_eq!(env.reserved_count().await, (0, 0));

    // Forgotten (the console died with the dialog open): expired.
    let held = env
        .engine
        .propose_held(action, me(), None, &inv)
        .await
        .unwrap();
    assert_eq!(
        env.engine.expire_held(3600).await.unwrap(),
        0,
        "young proposals stay"
    );
    env.db()
        .write(|tx| {
            tx.execute(
                "UPDATE actions SET updated_at = updated_at - 7200 WHERE id = ?1",
                [&held.id],
            )?;
            Ok::<_, proxdeck::store::StoreError>(())
        })
        .unwrap();
    assert_eq!(env.engine.expire_held(3600).await.unwrap(), 1);
    assert_eq!(
        env.engine.get(&held.id).await.unwrap().unwrap().state,
        ActionState::Cancelled
    );
    assert_eq!(env.reserved_count().await, (0, 0));
}

/// A policy that changed between showing and confirming wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_asks_the_policy_again() {
    let target = Target::sim().await;
    let mut cfg = common::engine_env::config_for(&target);
    let env_plan = EngineEnv::with_config(target, cfg.clone(), Default::default());
    let inv = env_plan.inventory().await;
    let action = Action::CreateGuestSnapshot(CreateGuestSnapshot {
        guest: EngineEnv::sel(&inv, "pve-av-01"),
        name: Some("x1".into()),
        description: None,
        vmstate: false,
    });
    let held = env_plan
        .engine
        .propose_held(action, me(), None, &inv)
        .await
        .unwrap();
    // The same database and cluster, now read-only.
    cfg.policies.read_only = true;
    let ro = proxdeck::engine::Engine::new(
        cfg,
        env_plan.engine.cluster(),
        env_plan.engine.client().clone(),
        env_plan.db(),
        Default::default(),
        None,
    );
    let err = ro
        .submit(&held.id, held.plan_hash.as_deref().unwrap(), me())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Policy { ref rule, .. } if rule == "read_only"),
        "{err}"
    );
    assert_eq!(
        ro.get(&held.id).await.unwrap().unwrap().state,
        ActionState::Rejected
    );
}
