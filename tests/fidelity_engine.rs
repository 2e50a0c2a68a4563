//! The engine against a simulator as strict as Proxmox: each finding of the
//! December fidelity review (A1-A16) as the workflow an admin would run,
//! succeeding where Proxmox allows it, refusing at plan time (in plain
//! words) where it does not, and never deleting backups it did not make.

mod common;

use common::engine_env::EngineEnv;
use common::target::Target;
use proxdeck::config::operations::KeepRules;
use proxdeck::engine::plan::Strategy;
use proxdeck::engine::{
    Action, ActionRecord, ActionState, AssignStaticIp, CloneGuest, CreateBackup, CreateLvmSnapshot,
    EngineError, PruneBackups, Replicate, RestoreBackup, RestoreLvmSnapshot, RollbackGuestSnapshot,
    Targets,
};
use proxdeck::lvm::LvKind;
use proxdeck::pve::{GuestKind, GuestRef};
use proxdeck::sim::Scenario;
use serde_json::json;

use common::SEED;

async fn env_of(text: &str, time_scale: f64) -> EngineEnv {
    EngineEnv::new(Target::sim_with(Scenario::parse(text, "fidelity").unwrap(), time_scale).await)
        .await
}

async fn replicate(env: &EngineEnv, name: &str, targets: Targets) -> ActionRecord {
    let inv = env.inventory().await;
    env.run_action(Action::Replicate(Replicate {
        source: EngineEnv::sel(&inv, name),
        targets,
        start: false,
    }))
    .await
}

fn succeeded(rec: &ActionRecord) {
    assert_eq!(rec.state, ActionState::Succeeded, "{:?}", rec.error);
}

/// A1: Proxmox locks a container's clone source, and a running VM's
/// exclusively, for the whole clone: the engine runs one clone of a source
/// at a time, so replicating either to every node succeeds (tasks take
/// real, scaled time here, so the clones would overlap otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_container_and_a_running_vm_replicate_to_every_node() {
    let env = env_of(SEED, 0.02).await;
    for name in ["pve-web-01", "pve-av-01"] {
        let rec = replicate(&env, name, Targets::All).await;
        succeeded(&rec);
        assert_eq!(rec.plan.unwrap().targets.len(), 2, "{name}");
    }
}

/// A2: a running container is cloned from a temporary snapshot, also on
/// its own node, and the snapshot is gone afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_container_clones_on_its_node_from_a_snapshot() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env
        .run_action(Action::CloneGuest(CloneGuest {
            source: EngineEnv::sel(&inv, "pve-web-01"),
            target_node: "node-02".into(),
            role: None,
            start: false,
        }))
        .await;
    succeeded(&rec);
    let t = &rec.plan.unwrap().targets[0];
    assert_eq!(t.strategy, Some(Strategy::CloneLocal));
    assert_eq!(
        t.from_snapshot.as_deref(),
        Some(format!("proxdeck-copy-{}", t.vmid).as_str())
    );
    env.assert_no_temporary_snapshots(&GuestRef::new("pve-node-02", GuestKind::Lxc, 105))
        .await;
}

/// A3: on a backup storage with `keep-last=2`, the backups proxdeck makes
/// (one asked for, and a replication's vehicle) leave the older ones alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_proxdeck_makes_leave_the_storages_older_backups_alone() {
    // pve-web-01 runs on a directory storage (no snapshots): it is copied by
    // backup and restore through nfs-backup, which keeps the last two.
    let text = SEED
        .replace(
            "  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000 }",
            "  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000, prune_backups: \"keep-last=2\" }\n  - { id: ct-dir, type: dir, content: [rootdir], total_gib: 200, nodes: [pve-node-01, pve-node-02] }",
        )
        .replace("local-lvm:vm-105-disk-0,size=8G", "ct-dir:105/vm-105-disk-0.raw,size=8G");
    let env = env_of(&text, 0.0).await;
    let c = env.engine.client();
    let count = || async {
        c.storage_content("pve-node-02", "nfs-backup", Some("backup"), Some(105))
            .await
            .unwrap()
            .len()
    };
    assert_eq!(count().await, 5);
    let inv = env.inventory().await;
    let rec = env
        .run_action(Action::CreateBackup(CreateBackup {
            guest: EngineEnv::sel(&inv, "pve-web-01"),
            storage: "nfs-backup".into(),
            mode: "snapshot".into(),
            compress: "zstd".into(),
            notes: None,
            verify: false,
            sync: false,
            prune: false,
        }))
        .await;
    succeeded(&rec);
    assert_eq!(count().await, 6, "the new backup joined the five");
    let rec = replicate(&env, "pve-web-01", Targets::All).await;
    succeeded(&rec);
    let plan = rec.plan.unwrap();
    assert!(
        plan.targets
            .iter()
            .all(|t| matches!(t.strategy, Some(Strategy::BackupRestore { .. }))),
        "{:?}",
        plan.targets
    );
    // A8: each restore lands on a storage its node has: ct-dir where it
    // exists, the roomiest one for containers where it does not (local-zfs
    // has more room than local-lvm).
    let storages: Vec<(String, Option<String>)> = plan
        .targets
        .iter()
        .map(|t| (t.node.clone(), t.storage.clone()))
        .collect();
    assert_eq!(
        storages,
        vec![
            ("pve-node-01".into(), Some("ct-dir".into())),
            ("pve-node-03".into(), Some("local-zfs".into())),
        ]
    );
    assert_eq!(count().await, 6, "the vehicles are gone, nothing else");
}

/// A4: a template with its disk on shared storage but its cloud-init drive
/// on local storage is cloned on its node and migrated (Proxmox refuses the
/// direct clone); a VM with a local ISO has its clone's CD-ROM emptied
/// before the migration, and the plan says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cd_roms_and_cloud_init_drives_decide_how_a_copy_travels() {
    let env = env_of(&common::seed_with_cd_roms(), 0.0).await;
    let rec = replicate(&env, "pve-db-01", Targets::Nodes(vec!["node-02".into()])).await;
    succeeded(&rec);
    assert_eq!(
        rec.plan.unwrap().targets[0].strategy,
        Some(Strategy::CloneThenMigrate)
    );
    let rec = replicate(&env, "pve-av-01", Targets::Nodes(vec!["node-02".into()])).await;
    succeeded(&rec);
    let plan = rec.plan.unwrap();
    let t = &plan.targets[0];
    assert!(plan.steps.iter().any(|s| s.key == "eject@pve-node-02"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("local:iso/debian-12.iso") && n.contains("local ISO")),
        "{:?}",
        plan.notes
    );
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-02", GuestKind::Qemu, t.vmid))
        .await
        .unwrap();
    assert_eq!(cfg.get("ide2"), Some("none,media=cdrom"));
}

/// A5: on ZFS a rollback to anything but the newest snapshot is refused at
/// plan time, naming the newer ones; to the newest it runs, and the safety
/// net is a backup (a new snapshot would block the rollback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zfs_rollbacks_go_to_the_newest_snapshot_behind_a_backup() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let app = EngineEnv::sel(&inv, "pve-app-03");
    let older = env
        .propose(Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: app.clone(),
            snapshot: "before-deploy".into(),
            start: false,
        }))
        .await;
    assert!(
        matches!(&older, Err(EngineError::NotPossible(m))
            if m.contains("only to the most recent snapshot") && m.contains("after-deploy")),
        "{older:?}"
    );
    let rec = env
        .run_action(Action::RollbackGuestSnapshot(RollbackGuestSnapshot {
            guest: app,
            snapshot: "after-deploy".into(),
            start: false,
        }))
        .await;
    succeeded(&rec);
    let plan = rec.plan.unwrap();
    assert!(plan.steps.iter().any(|s| s.key == "safety-backup"));
    assert_eq!(plan.safety_snapshot, None);
    let c = env.engine.client();
    let snaps = c
        .snapshots(&GuestRef::new("pve-node-03", GuestKind::Qemu, 350))
        .await
        .unwrap();
    assert_eq!(snaps.len(), 3, "no new snapshot: {snaps:?}");
    let volid = rec.result.unwrap()["safety_backup"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(volid.contains("vzdump-qemu-350-"), "{volid}");
}

/// A6, A13: a VM without a cloud-init drive gets no `ipconfig0`; the plan
/// says the address must come from DHCP or the guest, and the outcome says
/// "manual". A running VM with cloud-init gets it at its next boot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_gets_its_address_only_through_cloud_init() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let rec = env
        .run_action(Action::AssignStaticIp(AssignStaticIp {
            guest: EngineEnv::sel(&inv, "pve-av-01"),
            ip: Some("192.168.1.150".parse().unwrap()),
            mac: None,
            hostname: None,
        }))
        .await;
    succeeded(&rec);
    let plan = rec.plan.clone().unwrap();
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("no cloud-init drive") && n.contains("DHCP")),
        "{:?}",
        plan.notes
    );
    assert_eq!(rec.result.unwrap()["applies"], json!("manual"));
    let c = env.engine.client();
    let cfg = c
        .guest_config(&GuestRef::new("pve-node-01", GuestKind::Qemu, 102))
        .await
        .unwrap();
    assert_eq!(cfg.get("ipconfig0"), None, "no address it would not use");

    let rec = env
        .run_action(Action::AssignStaticIp(AssignStaticIp {
            guest: EngineEnv::sel(&inv, "pve-app-03"),
            ip: Some("192.168.3.151".parse().unwrap()),
            mac: None,
            hostname: None,
        }))
        .await;
    succeeded(&rec);
    assert_eq!(rec.result.unwrap()["applies"], json!("next_boot"));

    // Replicas of a VM without cloud-init: the verify step says "manual".
    let rec = replicate(&env, "pve-av-01", Targets::Nodes(vec!["node-03".into()])).await;
    succeeded(&rec);
    let steps = env.engine.steps(&rec.id).await.unwrap();
    let verify = steps
        .iter()
        .find(|s| s.key == "verify@pve-node-03")
        .unwrap();
    assert_eq!(verify.detail.as_ref().unwrap()["address"], json!("manual"));
}

/// A7: a container's template conversion runs as a task the API does not
/// name: the engine finds and follows it, so its failure fails the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_containers_template_conversion_is_followed_to_its_end() {
    let text = SEED.replace(
        "    name: pve-test-01\n    type: lxc\n    node: pve-node-01\n    status: running",
        "    name: pve-test-01\n    type: lxc\n    node: pve-node-01\n    status: stopped\n    template: true",
    );
    let env = env_of(&text, 0.0).await;
    let rec = replicate(&env, "pve-test-01", Targets::Nodes(vec!["node-02".into()])).await;
    succeeded(&rec);
    let t = &rec.plan.unwrap().targets[0];
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-02", GuestKind::Lxc, t.vmid))
        .await
        .unwrap();
    assert!(cfg.is_template());

    env.target
        .sim_post(
            "task-fail",
            json!({"task_type": "vztemplate", "at_percent": 50.0, "message": "unable to create base volume"}),
        )
        .await;
    let rec = replicate(&env, "pve-test-01", Targets::Nodes(vec!["node-03".into()])).await;
    assert_eq!(rec.state, ActionState::Failed, "{:?}", rec.error);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("unable to create base volume"),
        "{:?}",
        rec.error
    );
    assert_eq!(env.reserved_count().await, (0, 0));
}

/// A9: a failed VM restore is left on the cluster by Proxmox: proxdeck
/// removes it, then gives its identity back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_vm_restore_is_removed_and_its_identity_given_back() {
    let env = EngineEnv::new(Target::sim().await).await;
    let c = env.engine.client();
    let backup = c
        .storage_content("pve-node-01", "local", Some("backup"), Some(102))
        .await
        .unwrap()
        .remove(0);
    env.target
        .sim_post(
            "task-fail",
            json!({"task_type": "qmrestore", "at_percent": 40.0, "message": "disk write error"}),
        )
        .await;
    let inv = env.inventory().await;
    let rec = env
        .run_action(Action::RestoreBackup(RestoreBackup {
            volid: backup.volid.clone(),
            node: "node-01".into(),
            target_node: "node-01".into(),
            new_name: None,
            new_ip: None,
            new_mac: None,
            start: false,
            snapshot_target: false,
            guest: Some(EngineEnv::sel(&inv, "pve-av-01")),
            kind: GuestKind::Qemu,
        }))
        .await;
    assert_eq!(rec.state, ActionState::Failed);
    let vmid = rec.plan.unwrap().targets[0].vmid;
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains(&format!("removed the half-restored guest {vmid}")),
        "{:?}",
        rec.error
    );
    let res = c.cluster_resources(Some("vm")).await.unwrap();
    assert!(res.iter().all(|r| r.vmid != Some(vmid)));
    assert_eq!(env.reserved_count().await, (0, 0));
}

/// A12: an archive on another node's local storage cannot be restored
/// there: refused when planning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_archive_is_not_restored_on_another_node() {
    let env = EngineEnv::new(Target::sim().await).await;
    let backup = env
        .engine
        .client()
        .storage_content("pve-node-01", "local", Some("backup"), Some(102))
        .await
        .unwrap()
        .remove(0);
    let err = env
        .propose(Action::RestoreBackup(RestoreBackup {
            volid: backup.volid,
            node: "node-01".into(),
            target_node: "node-02".into(),
            new_name: None,
            new_ip: None,
            new_mac: None,
            start: false,
            snapshot_target: false,
            guest: None,
            kind: GuestKind::Qemu,
        }))
        .await;
    assert!(
        matches!(&err, Err(EngineError::NotPossible(m)) if m.contains("local to pve-node-01")),
        "{err:?}"
    );
}

/// A10, A11: prune leaves renamed archives alone, keeps a VMID's qemu and
/// lxc backups apart, and buckets days in the node's time zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_follows_proxmox_groups_names_and_the_nodes_zone() {
    // Backups that fall on one UTC day but on two days in Kiritimati
    // (UTC+14, the node's zone), an old qemu backup of the same VMID, and a
    // renamed archive.
    let text = SEED
        .replace(
            "  - { name: pve-node-01, ip: 10.0.0.11, cpus: 16, memory_gib: 64 }",
            "  - { name: pve-node-01, ip: 10.0.0.11, cpus: 16, memory_gib: 64, timezone: Pacific/Kiritimati }",
        )
        .replace(
            "backups:\n",
            "backups:\n  - { vmid: 103, storage: nfs-backup, at: \"2026-11-30T08:00:00Z\", notes: z }\n  - { vmid: 103, storage: nfs-backup, at: \"2026-11-30T09:30:00Z\", notes: a }\n  - { vmid: 103, storage: nfs-backup, at: \"2026-11-30T10:30:00Z\", notes: b }\n  - { vmid: 103, storage: nfs-backup, at: \"2026-11-01T10:30:00Z\", type: qemu, notes: old-vm }\n  - { vmid: 103, storage: nfs-backup, at: \"2026-10-01T10:30:00Z\", file: vzdump-lxc-103-before-upgrade.tar.zst, notes: kept-by-hand }\n",
        );
    let target = Target::sim_with(Scenario::parse(&text, "prune").unwrap(), 0.0).await;
    let env = EngineEnv::edited(target, |cfg| {
        cfg.policies.ops.backup_retention = KeepRules {
            daily: 2,
            ..KeepRules::default()
        };
    });
    let inv = env.inventory().await;
    let plan = env
        .propose(Action::PruneBackups(PruneBackups {
            vmid: 103,
            storage: "nfs-backup".into(),
            node: "node-01".into(),
            guest: Some(EngineEnv::sel(&inv, "pve-test-01")),
        }))
        .await
        .unwrap()
        .plan
        .unwrap();
    let mark_of = |file_part: &str| {
        plan.notes
            .iter()
            .find(|n| n.contains(file_part))
            .map(|n| n.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("{file_part} not in {:?}", plan.notes))
    };
    assert_eq!(mark_of("before-upgrade"), "renamed");
    assert_eq!(mark_of("vzdump-qemu-103"), "keep-daily", "its own group");
    // In the node's zone 09:30 and 10:30 UTC are on different days: both
    // kept, only 08:00 (the same local day as 09:30) goes; in UTC all three
    // would share a day and two would go.
    assert_eq!(mark_of("2026_12_01-00_30_00"), "keep-daily");
    assert_eq!(mark_of("2026_11_30-23_30_00"), "keep-daily");
    assert_eq!(mark_of("2026_11_30-22_00_00"), "remove");
    assert_eq!(
        plan.steps
            .iter()
            .filter(|s| s.key.starts_with("remove"))
            .count(),
        1
    );
}

/// A15: backup notes are sent as text, whatever they hold; a `{{word}}`
/// vzdump does not know is refused when planning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_notes_are_sent_as_written() {
    let env = EngineEnv::new(Target::sim().await).await;
    let inv = env.inventory().await;
    let backup = |notes: &str| {
        Action::CreateBackup(CreateBackup {
            guest: EngineEnv::sel(&inv, "pve-test-01"),
            storage: "local".into(),
            mode: "snapshot".into(),
            compress: "zstd".into(),
            notes: Some(notes.into()),
            verify: false,
            sync: false,
            prune: false,
        })
    };
    let rec = env
        .run_action(backup("logs in C:\\temp for {{guestname}}"))
        .await;
    succeeded(&rec);
    let notes: Vec<String> = env
        .engine
        .client()
        .storage_content("pve-node-01", "local", Some("backup"), Some(103))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|b| b.notes)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("logs in C:\\temp for pve-test-01 (")),
        "{notes:?}"
    );
    let err = env.propose(backup("made {{date}}")).await;
    assert!(
        matches!(&err, Err(EngineError::Invalid(m)) if m.contains("{{date}}") && m.contains("guestname")),
        "{err:?}"
    );
}

/// A16: a clone straight to another node keeps each disk on its own shared
/// storage (no `storage` parameter moving them all to one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_to_another_node_keeps_each_disk_where_it_was() {
    let text = SEED
        .replace(
            "  - { id: nfs-backup,",
            "  - { id: san, type: rbd, shared: true, content: [images], total_gib: 4000 }\n  - { id: san2, type: rbd, shared: true, content: [images], total_gib: 4000 }\n  - { id: nfs-backup,",
        )
        .replace(
            "      scsi0: \"local-lvm:base-101-disk-0,size=8G\"",
            "      scsi0: \"san:base-101-disk-0,size=8G\"\n      scsi1: \"san2:base-101-disk-1,size=20G\"",
        )
        .replace("local-lvm:vm-101-cloudinit", "san:vm-101-cloudinit");
    let env = env_of(&text, 0.0).await;
    let rec = replicate(&env, "pve-db-01", Targets::Nodes(vec!["node-03".into()])).await;
    succeeded(&rec);
    let t = &rec.plan.unwrap().targets[0];
    assert!(matches!(t.strategy, Some(Strategy::CloneWithTarget { .. })));
    let cfg = env
        .engine
        .client()
        .guest_config(&GuestRef::new("pve-node-03", GuestKind::Qemu, t.vmid))
        .await
        .unwrap();
    assert!(cfg.get("scsi0").unwrap().starts_with("san:"), "{cfg:?}");
    assert!(cfg.get("scsi1").unwrap().starts_with("san2:"), "{cfg:?}");
}

/// A finished migration counts when the guest is on its new node, not
/// when the task says OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_did_not_move_the_guest_fails_its_target() {
    let env = EngineEnv::new(Target::sim().await).await;
    env.target
        .sim_post(
            "task-fail",
            json!({"task_type": "qmigrate", "message": "", "without_effect": true, "times": 1}),
        )
        .await;
    let rec = replicate(&env, "pve-db-01", Targets::Nodes(vec!["node-02".into()])).await;
    assert_eq!(rec.state, ActionState::Failed);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("but the guest is on pve-node-01, not pve-node-02"),
        "{:?}",
        rec.error
    );
    assert_eq!(env.reserved_count().await, (0, 0));
}

/// A14: a thin volume's snapshot is thin (no size); the thin pool and an
/// origin whose merge is pending are refused when planning, in LVM's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lvm_snapshots_follow_lvms_rules_for_thin_volumes_and_merges() {
    let env = EngineEnv::edited(Target::sim().await, |_| {});
    let snapshot = |volume: &str, name: &str, size: Option<&str>| {
        Action::CreateLvmSnapshot(CreateLvmSnapshot {
            node: "node-01".into(),
            volume: Some(volume.into()),
            name: Some(name.into()),
            size: size.map(str::to_string),
            description: None,
        })
    };
    let pool = env.propose(snapshot("pve/data", "p1", None)).await;
    assert!(
        matches!(&pool, Err(EngineError::NotPossible(m)) if m.contains("Snapshots of thin pool type volumes are not supported.")),
        "{pool:?}"
    );
    let sized = env
        .propose(snapshot("pve/vm-102-disk-0", "t1", Some("8G")))
        .await;
    assert!(
        matches!(&sized, Err(EngineError::Invalid(m)) if m.contains("thin volume")),
        "{sized:?}"
    );
    let rec = env
        .run_action(snapshot("pve/vm-102-disk-0", "t1", None))
        .await;
    succeeded(&rec);
    let plan = rec.plan.unwrap();
    assert!(
        plan.steps
            .iter()
            .any(|s| s.description == "lvcreate -s -n t1 pve/vm-102-disk-0"),
        "{:?}",
        plan.steps
    );
    let lvs = env.engine.lvs("pve-node-01").await.unwrap();
    let t1 = lvs.iter().find(|l| l.name == "t1").unwrap();
    assert_eq!(t1.kind(), LvKind::ThinSnapshot);
    // A merge into the mounted root waits for the next boot; until then
    // the root takes no new snapshot.
    succeeded(&env.run_action(snapshot("pve/root", "r1", Some("1G"))).await);
    succeeded(
        &env.run_action(Action::RestoreLvmSnapshot(RestoreLvmSnapshot {
            node: "node-01".into(),
            volume: "pve/root".into(),
            name: "r1".into(),
        }))
        .await,
    );
    let merging = env.propose(snapshot("pve/root", "r2", Some("1G"))).await;
    assert!(
        matches!(&merging, Err(EngineError::NotPossible(m)) if m.contains("Snapshots of an origin that has a merging snapshot are not supported.")),
        "{merging:?}"
    );
}
