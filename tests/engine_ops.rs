//! Host and backup workflows end to end against the simulator and its
//! simulated hosts: LVM snapshots (merged now, or pending until a reboot,
//! refused when invalid, removed by retention), the guarded upgrade passing
//! and failing, backups created, verified, synced and pruned, a corrupted
//! archive caught, and restores that land with a fresh identity.

mod common;

use proxdeck::engine::{
    CleanupLvmSnapshots, CreateBackup, CreateLvmSnapshot, GuardedHostUpgrade, PruneBackups,
    RestoreBackup, RestoreLvmSnapshot, VerifyBackup,
};
use std::sync::Arc;

use common::engine_env::{EngineEnv, config_for, fast_wait};
use common::target::Target;
use proxdeck::config::Config;
use proxdeck::config::operations::{KeepRules, SyncTarget, SyncVia};
use proxdeck::engine::{Action, ActionRecord, ActionState, Actor, EngineError, EngineOptions, Via};
use proxdeck::host::HostRunner;
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::sim::host::SimHost;

fn me() -> Actor {
    Actor::local(Via::Cli)
}

async fn env_with(edit: impl FnOnce(&mut Config)) -> (EngineEnv, SimHost) {
    let target = Target::sim().await;
    let hosts = SimHost::new(target.sim_handle().expect("sim").shared.clone());
    let mut cfg = config_for(&target);
    edit(&mut cfg);
    let env = EngineEnv::with_hosts(
        target,
        cfg,
        EngineOptions {
            wait: fast_wait(),
            ..Default::default()
        },
        Some(Arc::new(hosts.clone()) as Arc<dyn HostRunner>),
    );
    (env, hosts)
}

async fn run(env: &EngineEnv, action: Action) -> Result<ActionRecord, EngineError> {
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(action, me(), Some("test".into()), &inv)
        .await?;
    if rec.state == ActionState::PendingApproval {
        env.engine
            .approve(&rec.id, me(), rec.plan_hash.as_deref().unwrap_or(""), None)
            .await?;
    }
    env.engine.run_once().await?;
    Ok(env.engine.get(&rec.id).await?.expect("record"))
}

fn lvm_state(env: &EngineEnv, node: &str, name: &str) -> Option<(String, bool)> {
    env
        .db()
        .read(|c| {
            Ok::<_, proxdeck::store::StoreError>(
                c.query_row(
                    "SELECT state, created_by_proxdeck FROM snapshots WHERE kind = 'lvm' AND node = ?1 AND name = ?2",
                    [node, name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok(),
            )
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lvm_snapshots_are_taken_and_merged_back_honestly() {
    let (env, _) = env_with(|_| {}).await;
    let rec = run(
        &env,
        Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: "node-01".into(),
            volume: None,
            name: Some("before-kernel".into()),
            size: Some("10%".into()),
            description: Some("kernel 6.8".into()),
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let plan = rec.plan.unwrap();
    assert_eq!(
        plan.param("size"),
        Some(&*format!("{}b", (96u64 << 30) / 10)),
        "10% of the 96 GiB root"
    );
    let lvs = env.engine.lvs("pve-node-01").await.unwrap();
    assert!(
        lvs.iter()
            .any(|l| l.name == "before-kernel" && l.origin.as_deref() == Some("root"))
    );
    assert_eq!(
        lvm_state(&env, "pve-node-01", "before-kernel"),
        Some(("present".into(), true))
    );
    // The same name again is LVM's own refusal, before anything runs.
    let e = run(
        &env,
        Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: "pve-node-01".into(),
            volume: None,
            name: Some("before-kernel".into()),
            size: None,
            description: None,
        }),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("already exists in volume group"),
        "{e}"
    );
    // Merging into the mounted root waits for the next activation: said so, not claimed done.
    let rec = run(
        &env,
        Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: "pve-node-01".into(),
            volume: "pve/root".into(),
            name: "before-kernel".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    assert_eq!(
        rec.result.as_ref().unwrap()["state"],
        proxdeck::lvm::MERGE_PENDING
    );
    assert_eq!(
        lvm_state(&env, "pve-node-01", "before-kernel").unwrap().0,
        "merge_pending"
    );
    // A second merge of it is refused: one is already pending.
    let e = run(
        &env,
        Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: "pve-node-01".into(),
            volume: "pve/root".into(),
            name: "before-kernel".into(),
        }),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("already pending"), "{e}");
    // Not in use: merged at once.
    run(
        &env,
        Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: "pve-node-02".into(),
            volume: Some("pve/swap".into()),
            name: Some("s1".into()),
            size: Some("1G".into()),
            description: None,
        }),
    )
    .await
    .unwrap();
    let rec = run(
        &env,
        Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: "pve-node-02".into(),
            volume: "pve/swap".into(),
            name: "s1".into(),
        }),
    )
    .await
    .unwrap();
    assert!(
        rec.result.unwrap()["state"]
            .as_str()
            .unwrap()
            .starts_with("merged")
    );
    assert_eq!(lvm_state(&env, "pve-node-02", "s1").unwrap().0, "merged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowed_snapshot_cannot_be_merged_and_manual_deletion_is_prohibited() {
    let (env, hosts) = env_with(|_| {}).await;
    // 0.4 % an hour: after 11 days the copy-on-write space is full.
    hosts.add_snapshot("pve-node-03", "root", "old-full", 1 << 30, 11 * 86_400);
    let e = run(
        &env,
        Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: "pve-node-03".into(),
            volume: "pve/root".into(),
            name: "old-full".into(),
        }),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("invalidated"), "{e}");
    let lvs = env.engine.lvs("pve-node-03").await.unwrap();
    assert!(
        lvs.iter()
            .find(|l| l.name == "old-full")
            .unwrap()
            .is_invalid()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_only_expired_snapshots_proxdeck_made() {
    let (env, hosts) = env_with(|_| {}).await;
    for n in ["ours-old", "ours-new"] {
        run(
            &env,
            Action::CreateLvmSnapshot(CreateLvmSnapshot {
                node: "pve-node-01".into(),
                volume: None,
                name: Some(n.into()),
                size: Some("1G".into()),
                description: None,
            }),
        )
        .await
        .unwrap();
    }
    hosts.add_snapshot("pve-node-01", "root", "admins-old", 1 << 30, 40 * 86_400);
    env.db().write(|tx| {
        tx.execute("UPDATE snapshots SET created_at = created_at - 40 * 86400 WHERE name IN ('ours-old', 'admins-old')", [])?;
        Ok::<_, proxdeck::store::StoreError>(())
    }).unwrap();
    let rec = run(
        &env,
        Action::CleanupLvmSnapshots(CleanupLvmSnapshots {
            node: Some("pve-node-01".into()),
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let names: Vec<String> = env
        .engine
        .lvs("pve-node-01")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert!(!names.contains(&"ours-old".to_string()));
    assert!(
        names.contains(&"ours-new".to_string()) && names.contains(&"admins-old".to_string()),
        "{names:?}"
    );
    assert_eq!(
        lvm_state(&env, "pve-node-01", "ours-old").unwrap().0,
        "removed"
    );
    // Nothing left to do is said, not planned.
    let e = run(
        &env,
        Action::CleanupLvmSnapshots(CleanupLvmSnapshots {
            node: Some("pve-node-01".into()),
        }),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with("no LVM snapshot has expired"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_upgrade_keeps_its_snapshot_and_a_failing_one_merges_it_back() {
    let (env, _) = env_with(|_| {}).await;
    let rec = run(
        &env,
        Action::GuardedHostUpgrade(GuardedHostUpgrade {
            node: "pve-node-02".into(),
            command: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let snap = rec.plan.as_ref().unwrap().safety_snapshot.clone().unwrap();
    assert_eq!(lvm_state(&env, "pve-node-02", &snap).unwrap().0, "present");
    let log = env.engine.steps(&rec.id).await.unwrap();
    assert!(
        log.iter()
            .all(|s| s.state == proxdeck::engine::journal::StepState::Done),
        "{log:?}"
    );
    let output: Vec<String> = env
        .engine
        .log(&rec.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, _, l)| l)
        .collect();
    assert!(
        output.iter().any(|l| l.contains("Setting up pve-manager")),
        "the apt output is journaled"
    );

    let rec = run(
        &env,
        Action::GuardedHostUpgrade(GuardedHostUpgrade {
            node: "pve-node-03".into(),
            command: Some("apt-get update && exit 100".into()),
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::RolledBack, "{:?}", rec.error);
    let err = rec.error.clone().unwrap();
    assert!(
        err.contains("exited 100") && err.contains("reboot pve-node-03"),
        "{err}"
    );
    let snap = rec.plan.as_ref().unwrap().safety_snapshot.clone().unwrap();
    assert_eq!(
        lvm_state(&env, "pve-node-03", &snap).unwrap().0,
        "merge_pending"
    );
    let lvs = env.engine.lvs("pve-node-03").await.unwrap();
    assert_eq!(
        lvs.iter().find(|l| l.name == snap).unwrap().kind(),
        proxdeck::lvm::LvKind::MergingSnapshot
    );
}

/// verify_state, verify_message, sha256, mode.
type CatalogRow = (String, Option<String>, Option<String>, Option<String>);

fn catalog(env: &EngineEnv, volid: &str) -> Option<CatalogRow> {
    env
        .db()
        .read(|c| {
            Ok::<_, proxdeck::store::StoreError>(
                c.query_row(
                    "SELECT verify_state, verify_message, sha256, mode FROM backups WHERE volid = ?1 AND removed_at IS NULL",
                    [volid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .ok(),
            )
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_made_verified_synced_and_pruned() {
    let (env, _) = env_with(|c| {
        c.policies.ops.backup_retention = KeepRules {
            last: 2,
            ..Default::default()
        };
        c.policies.ops.backup_sync = Some(SyncTarget {
            node: "pve-node-03".into(),
            storage: "local".into(),
            via: SyncVia::Relay,
        });
    })
    .await;
    let inv = env.inventory().await;
    let rec = run(
        &env,
        Action::CreateBackup(CreateBackup {
            guest: EngineEnv::sel(&inv, "pve-web-01"),
            storage: "nfs-backup".into(),
            mode: "snapshot".into(),
            compress: "zstd".into(),
            notes: None,
            verify: true,
            sync: true,
            prune: true,
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let r = rec.result.unwrap();
    let volid = r["volid"].as_str().unwrap().to_string();
    let (state, _, sha, mode) = catalog(&env, &volid).unwrap();
    assert_eq!((state.as_str(), mode.as_deref()), ("ok", Some("snapshot")));
    assert_eq!(sha.as_ref().map(String::len), Some(64));
    // The copy on node-03's local storage, with the same checksum.
    let copy = r["copy"].as_str().unwrap();
    let listed = env
        .engine
        .client()
        .storage_content("pve-node-03", "local", Some("backup"), None)
        .await
        .unwrap();
    assert!(listed.iter().any(|c| c.volid == copy));
    assert_eq!(catalog(&env, copy).unwrap().2, sha);
    // keep-last=2; the protected one stays and does not count.
    let left = env
        .engine
        .client()
        .storage_content("pve-node-02", "nfs-backup", Some("backup"), Some(105))
        .await
        .unwrap();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.iter().any(|c| c.protected));
    assert!(left.iter().any(|c| c.volid == volid));
    assert_eq!(r["pruned"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_archive_fails_verification_with_the_tools_message() {
    let (env, hosts) = env_with(|_| {}).await;
    let list = env
        .engine
        .client()
        .storage_content("pve-node-01", "nfs-backup", Some("backup"), Some(105))
        .await
        .unwrap();
    let volid = list[0].volid.clone();
    hosts.corrupt(&volid);
    let inv = env.inventory().await;
    let rec = run(
        &env,
        Action::VerifyBackup(VerifyBackup {
            volid: volid.clone(),
            node: "pve-node-01".into(),
            guest: Some(EngineEnv::sel(&inv, "pve-web-01")),
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_ref()
            .unwrap()
            .contains("unexpected end of file"),
        "{:?}",
        rec.error
    );
    let (state, message, _, _) = catalog(&env, &volid).unwrap();
    assert_eq!(state, "failed");
    assert!(message.unwrap().contains("unexpected end of file"));
    // A good one passes.
    let rec = run(
        &env,
        Action::VerifyBackup(VerifyBackup {
            volid: list[1].volid.clone(),
            node: "pve-node-01".into(),
            guest: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_plans_show_every_archive_with_the_rule_that_keeps_it() {
    let (env, _) = env_with(|c| {
        c.policies.ops.backup_retention = KeepRules {
            last: 1,
            daily: 2,
            ..Default::default()
        }
    })
    .await;
    let inv = env.inventory().await;
    let rec = env
        .engine
        .propose(
            Action::PruneBackups(PruneBackups {
                vmid: 105,
                storage: "nfs-backup".into(),
                node: "pve-node-02".into(),
                guest: Some(EngineEnv::sel(&inv, "pve-web-01")),
            }),
            me(),
            None,
            &inv,
        )
        .await
        .unwrap();
    assert_eq!(
        rec.state,
        ActionState::PendingApproval,
        "prune_backups needs approval"
    );
    let notes = rec.plan.as_ref().unwrap().notes.clone();
    let labels: Vec<&str> = notes
        .iter()
        .map(|n| n.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        labels,
        [
            "keep-last",
            "keep-daily",
            "protected",
            "keep-daily",
            "remove"
        ],
        "{notes:#?}"
    );
    env.engine
        .approve(&rec.id, me(), rec.plan_hash.as_deref().unwrap(), None)
        .await
        .unwrap();
    env.engine.run_once().await.unwrap();
    let left = env
        .engine
        .client()
        .storage_content("pve-node-02", "nfs-backup", Some("backup"), Some(105))
        .await
        .unwrap();
    assert_eq!(left.len(), 4);
}

/// A restore of a container backup under a name the requester chose.
fn named_restore(
    volid: String,
    target: &str,
    name: &str,
    ip: Option<std::net::Ipv4Addr>,
) -> Action {
    Action::RestoreBackup(RestoreBackup {
        volid,
        node: "pve-node-02".into(),
        target_node: target.into(),
        new_name: Some(name.into()),
        new_ip: ip,
        new_mac: None,
        start: false,
        snapshot_target: false,
        guest: None,
        kind: GuestKind::Lxc,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_as_a_new_guest_with_a_fresh_identity() {
    let (env, _) = env_with(|_| {}).await;
    let inv = env.inventory().await;
    let list = env
        .engine
        .client()
        .storage_content("pve-node-02", "nfs-backup", Some("backup"), Some(105))
        .await
        .unwrap();
    let volid = list.iter().max_by_key(|c| c.ctime).unwrap().volid.clone();
    let rec = run(
        &env,
        Action::RestoreBackup(RestoreBackup {
            volid: volid.clone(),
            node: "pve-node-02".into(),
            target_node: "pve-node-03".into(),
            new_name: None,
            new_ip: None,
            new_mac: None,
            start: true,
            snapshot_target: true,
            guest: Some(EngineEnv::sel(&inv, "pve-web-01")),
            kind: GuestKind::Lxc,
        }),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let r = rec.result.unwrap();
    assert_eq!(
        (r["new_resource_name"].as_str(), r["ip"].as_str()),
        (Some("pve-web-02"), Some("192.168.3.200"))
    );
    let mac = r["mac"].as_str().unwrap().to_string();
    assert!(mac.starts_with("02:00:00:a3:"), "{mac}");
    let vmid: u32 = r["new_resource_id"].as_str().unwrap().parse().unwrap();
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-03", GuestKind::Lxc, vmid))
        .await
        .unwrap();
    assert_eq!(cfg.get("hostname"), Some("pve-web-02"));
    assert_eq!(
        cfg.lxc_net(0).unwrap().mac().map(|m| m.to_string()),
        Some(mac.clone())
    );
    // The address and MAC are recorded as active for the new guest.
    let held: (String, String, i64) = env
        .db()
        .read(|c| {
            Ok::<_, proxdeck::store::StoreError>(c.query_row(
                "SELECT ip, state, vmid FROM ip_allocations WHERE mac = ?1",
                [&mac],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert_eq!(
        held,
        ("192.168.3.200".into(), "active".into(), i64::from(vmid))
    );
    // The original is untouched.
    let orig = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-02", GuestKind::Lxc, 105))
        .await
        .unwrap();
    assert_eq!(orig.get("hostname"), Some("pve-web-01"));
    assert_eq!(
        orig.lxc_net(0)
            .unwrap()
            .ip()
            .and_then(|i| i.address())
            .map(|a| a.to_string()),
        Some("192.168.2.200".into())
    );
    // The target node got a safety LVM snapshot first.
    let snap = rec.plan.unwrap().safety_snapshot.unwrap();
    assert_eq!(lvm_state(&env, "pve-node-03", &snap).unwrap().0, "present");

    // The design's request shape: name and address given, MAC generated.
    let rec = run(
        &env,
        named_restore(
            volid.clone(),
            "node-03",
            "pve-web-07",
            Some("192.168.3.210".parse().unwrap()),
        ),
    )
    .await
    .unwrap();
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    let r = rec.result.unwrap();
    assert_eq!(
        (r["new_resource_name"].as_str(), r["ip"].as_str()),
        (Some("pve-web-07"), Some("192.168.3.210"))
    );
    // A name in use is refused before anything happens.
    let e = run(
        &env,
        named_restore(list[0].volid.clone(), "pve-node-03", "pve-web-07", None),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("pve-web-07 is taken"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_propose_their_work_once_per_period() {
    use proxdeck::config::operations::{BackupSchedule, Every, GuestMatch, SnapshotSchedule};
    let (env, _) = env_with(|c| {
        c.policies.ops.backup_schedules = vec![BackupSchedule {
            name: "nightly".into(),
            guests: GuestMatch {
                names: vec!["pve-web-*".into()],
                tags: vec![],
            },
            every: Every::Daily,
            at: (0, 0),
            storage: "nfs-backup".into(),
            mode: "snapshot".into(),
            compress: "zstd".into(),
            verify: true,
            sync: false,
            prune: false,
        }];
        c.policies.ops.snapshot_schedules = vec![SnapshotSchedule {
            name: "hourly".into(),
            guests: GuestMatch {
                names: vec![],
                tags: vec!["web".into()],
            },
            every: Every::Daily,
            at: (0, 0),
            keep: 2,
        }];
    })
    .await;
    let now = proxdeck::store::now();
    let due = env.engine.due_schedules(now).await.unwrap();
    assert_eq!(due, ["nightly", "hourly"]);
    let inv = env.inventory().await;
    let ids = env.engine.run_schedules(&inv, now).await.unwrap();
    assert_eq!(
        ids.len(),
        2,
        "a backup of pve-web-01 and a snapshot of it: {ids:?}"
    );
    for id in &ids {
        let rec = env.engine.get(id).await.unwrap().unwrap();
        assert_eq!(
            rec.state,
            ActionState::Approved,
            "scheduled_without_approval lets {} run",
            rec.kind
        );
        assert_eq!(
            rec.proposed_by.who,
            format!(
                "policy:schedule:{}",
                if rec.kind == "create_backup" {
                    "nightly"
                } else {
                    "hourly"
                }
            )
        );
    }
    // The same period again: nothing new.
    assert!(env.engine.due_schedules(now).await.unwrap().is_empty());
    assert!(
        env.engine
            .run_schedules(&inv, now)
            .await
            .unwrap()
            .is_empty()
    );
    env.engine.run_once().await.unwrap();
    for id in &ids {
        let rec = env.engine.get(id).await.unwrap().unwrap();
        assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
    }
}
