//! Proxmox's own rules, asked of the API directly: what the simulator must
//! refuse as Proxmox does, in Proxmox's words (the rules and their upstream
//! sources are listed in tests/SIM_RULES.md). Cases fakepve can express run
//! on both; the others run on the simulator and say what fakepve lacks.

#[macro_use]
mod common;

use std::time::Duration;

use common::target::Target;
use proxdeck::pve::requests::{
    CloneOptions, ConfigChange, MigrateOptions, Power, RestoreOptions, VzdumpOptions,
};
use proxdeck::pve::{GuestKind, GuestRef, PveClient, PveError, TaskEvent, Upid, WaitOptions};
use proxdeck::sim::Scenario;

const N1: &str = "pve-node-01";
const N2: &str = "pve-node-02";
const N3: &str = "pve-node-03";
use common::SEED;

fn wait() -> WaitOptions {
    WaitOptions {
        poll_start: Duration::from_millis(10),
        poll_max: Duration::from_millis(50),
        timeout: Some(Duration::from_secs(60)),
        page: 500,
    }
}

/// Follow a task; its log lines and how it ended.
async fn follow(c: &PveClient, up: &Upid) -> (Vec<String>, Result<(), PveError>) {
    let mut lines = Vec::new();
    let r = c
        .wait_task(up, &wait(), |e| {
            if let TaskEvent::Line(l) = e {
                lines.push(l.t)
            }
        })
        .await
        .map(|_| ());
    (lines, r)
}

fn server(message: &str) -> PveError {
    PveError::Server {
        message: message.into(),
    }
}

async fn sim_of(text: &str, time_scale: f64) -> Target {
    Target::sim_with(Scenario::parse(text, "fidelity").unwrap(), time_scale).await
}

/// A container's clone locks its source `disk` for the whole task: a second
/// clone is refused at once with Proxmox's words (LXC.pm clone_vm). fakepve
/// does not lock a clone's source.
async fn sim_only_a_container_clone_locks_its_source(mut t: Target) {
    let c = t.client();
    let ct = GuestRef::new(N1, GuestKind::Lxc, 103);
    let up = c.power(&ct, Power::Stop).await.unwrap();
    follow(&c, &up).await.1.unwrap();
    t.set_time_scale(0.05).await;
    let first = c
        .clone_guest(
            &ct,
            &CloneOptions {
                newid: 901,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = c
        .clone_guest(
            &ct,
            &CloneOptions {
                newid: 902,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(second, server("CT is locked (disk)"));
    follow(&c, &first).await.1.unwrap();
    // Once the first is done, the source is free again.
    let third = c
        .clone_guest(
            &ct,
            &CloneOptions {
                newid: 903,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    follow(&c, &third).await.1.unwrap();
}

/// A running VM's clone holds its config file exclusively: a second clone's
/// worker cannot take it and fails (Qemu.pm clone_vm, lock_config_mode).
/// fakepve does not model the worker's file lock.
async fn sim_only_a_running_vm_clone_holds_its_source_exclusively(mut t: Target) {
    let c = t.client();
    let vm = GuestRef::new(N1, GuestKind::Qemu, 102);
    t.set_time_scale(0.05).await;
    let opts = |newid| CloneOptions {
        newid,
        full: Some(true),
        ..Default::default()
    };
    let first = c.clone_guest(&vm, &opts(911)).await.unwrap();
    let second = c.clone_guest(&vm, &opts(912)).await.unwrap();
    let (_, r) = follow(&c, &second).await;
    assert!(
        matches!(&r, Err(PveError::TaskFailed { exitstatus, .. })
            if exitstatus == "can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout"),
        "{r:?}"
    );
    follow(&c, &first).await.1.unwrap();
    // A stopped template's clones share the lock: both run.
    let tpl = GuestRef::new(N1, GuestKind::Qemu, 101);
    let a = c.clone_guest(&tpl, &opts(913)).await.unwrap();
    let b = c.clone_guest(&tpl, &opts(914)).await.unwrap();
    follow(&c, &a).await.1.unwrap();
    follow(&c, &b).await.1.unwrap();
}

/// A VM's CD-ROM and cloud-init volumes count when Proxmox decides whether
/// a clone may go straight to another node (Qemu.pm
/// $check_storage_access_clone); migration refuses a local ISO but makes a
/// local cloud-init drive again (QemuMigrate.pm). fakepve has neither rule.
#[tokio::test]
async fn sim_only_cd_roms_count_for_clones_and_migrations() {
    let t = sim_of(&common::seed_with_cd_roms(), 0.0).await;
    let c = t.client();
    let to_n2 = |newid| CloneOptions {
        newid,
        target: Some(N2.into()),
        full: Some(true),
        ..Default::default()
    };
    // The disk is on shared storage, the cloud-init drive is not.
    let err = c
        .clone_guest(&GuestRef::new(N1, GuestKind::Qemu, 101), &to_n2(921))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        server("can't clone VM to node 'pve-node-02' (VM uses local storage)")
    );
    // A clone of the template on its node migrates: the cloud-init drive is made again.
    let up = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Qemu, 101),
            &CloneOptions {
                newid: 922,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    follow(&c, &up).await.1.unwrap();
    let mig = MigrateOptions {
        target: N2.into(),
        with_local_disks: Some(true),
        ..Default::default()
    };
    let up = c
        .migrate(&GuestRef::new(N1, GuestKind::Qemu, 922), &mig)
        .await
        .unwrap();
    follow(&c, &up).await.1.unwrap();
    // A stopped VM with an ISO from `local`: refused, in the log's words.
    let vm = GuestRef::new(N1, GuestKind::Qemu, 102);
    let up = c.power(&vm, Power::Stop).await.unwrap();
    follow(&c, &up).await.1.unwrap();
    let up = c.migrate(&vm, &mig).await.unwrap();
    let (lines, r) = follow(&c, &up).await;
    assert!(
        matches!(&r, Err(PveError::TaskFailed { exitstatus, .. }) if exitstatus == "migration aborted"),
        "{r:?}"
    );
    assert!(
        lines.iter().any(|l| l
            .ends_with("can't migrate local disk 'local:iso/debian-12.iso': local cdrom image")),
        "{lines:?}"
    );
}

/// ZFS rolls back only to the most recent snapshot (ZFSPoolPlugin.pm
/// volume_rollback_is_possible); LVM-thin to any. fakepve has no ZFS rule.
#[tokio::test]
async fn sim_only_zfs_rolls_back_only_to_the_newest_snapshot() {
    let t = Target::sim().await;
    let c = t.client();
    let app = GuestRef::new(N3, GuestKind::Qemu, 350);
    let up = c.rollback(&app, "before-deploy", None).await.unwrap();
    let (_, r) = follow(&c, &up).await;
    assert!(
        matches!(&r, Err(PveError::TaskFailed { exitstatus, .. })
            if exitstatus == "can't rollback, 'before-deploy' is not most recent snapshot on 'local-zfs:vm-350-disk-0'"),
        "{r:?}"
    );
    assert_eq!(
        c.guest_status(&app).await.unwrap().status,
        "running",
        "nothing was stopped"
    );
    let up = c.rollback(&app, "after-deploy", None).await.unwrap();
    follow(&c, &up).await.1.unwrap();
    // On LVM-thin an older snapshot is fine.
    let av = GuestRef::new(N1, GuestKind::Qemu, 102);
    let up = c.rollback(&av, "pre-upgrade", None).await.unwrap();
    follow(&c, &up).await.1.unwrap();
}

/// vzdump prunes by the storage's retention unless told otherwise (`remove`
/// defaults to 1); `remove=0` with a limit is refused before the backup;
/// `prune-backups=keep-all=1` keeps everything (VZDump.pm). fakepve adds no
/// backup volumes, so it cannot show either.
#[tokio::test]
async fn sim_only_vzdump_applies_the_storages_retention() {
    let text = SEED.replace(
        "  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000 }",
        "  - { id: nfs-backup, type: nfs, shared: true, content: [backup], total_gib: 2000, prune_backups: \"keep-last=2\" }",
    );
    let t = sim_of(&text, 0.0).await;
    let c = t.client();
    let list = || async {
        c.storage_content(N2, "nfs-backup", Some("backup"), Some(105))
            .await
            .unwrap()
    };
    assert_eq!(list().await.len(), 5);
    let base = VzdumpOptions {
        vmids: vec![105],
        storage: Some("nfs-backup".into()),
        ..Default::default()
    };
    // proxdeck's request: keep-all, nothing removed.
    let up = c.vzdump(N2, &base).await.unwrap();
    follow(&c, &up).await.1.unwrap();
    assert_eq!(list().await.len(), 6, "keep-all=1 removes nothing");
    // What vzdump does by default (the storage's keep-last=2; the protected one stays).
    let storage_default = VzdumpOptions {
        prune_backups: Some("keep-last=2".into()),
        ..base.clone()
    };
    let up = c.vzdump(N2, &storage_default).await.unwrap();
    let (lines, r) = follow(&c, &up).await;
    r.unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l == "INFO: prune older backups with retention: keep-last=2"),
        "{lines:?}"
    );
    let left = list().await;
    assert_eq!(left.len(), 3, "two kept and the protected one: {left:?}");
    assert_eq!(left.iter().filter(|b| b.protected).count(), 1);
}

/// A notes template with a raw line feed, an unknown escape or an unknown
/// variable is a 400 on `notes-template` (VZDump.pm verify_notes_template).
/// fakepve checks the schema only.
#[tokio::test]
async fn sim_only_vzdump_checks_the_notes_template() {
    let t = Target::sim().await;
    let c = t.client();
    for (template, why) in [
        ("first\nsecond", "contains a line feed"),
        (
            "C:\\temp {{date}}",
            "found unknown: escape sequence '\\t' at char 2, variable 'date' at char 12",
        ),
    ] {
        let err = c
            .vzdump(
                N1,
                &VzdumpOptions {
                    vmids: vec![103],
                    storage: Some("local".into()),
                    notes_template: Some(template.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        match err {
            PveError::BadRequest { errors, .. } => {
                assert_eq!(
                    errors.get("notes-template").map(String::as_str),
                    Some(why),
                    "{template:?}"
                )
            }
            other => panic!("{template:?}: {other:?}"),
        }
    }
}

/// A missing archive is refused by the API handler before any task, naming
/// the volume (Storage.pm abs_filesystem_path). fakepve starts a task.
#[tokio::test]
async fn sim_only_restore_of_a_missing_archive_is_refused_at_once() {
    let t = Target::sim().await;
    let c = t.client();
    let volid = "local:backup/vzdump-qemu-102-2020_01_01-00_00_00.vma.zst";
    let err = c
        .restore(
            N1,
            GuestKind::Qemu,
            &RestoreOptions {
                vmid: 931,
                archive: volid.into(),
                storage: Some("local-lvm".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err, server(&format!("can't find file '{volid}'")));
}

/// A failed VM restore is left where it is ("VM N state is NOT cleaned
/// up", Qemu.pm create_vm); a failed container restore removes itself.
#[tokio::test]
async fn sim_only_a_failed_vm_restore_is_left_behind() {
    let t = Target::sim().await;
    let c = t.client();
    t.sim_post(
        "task-fail",
        serde_json::json!({"task_type": "qmrestore", "at_percent": 40.0, "message": "unable to restore VM 932 - disk write error"}),
    )
    .await;
    let backup = c
        .storage_content(N1, "local", Some("backup"), Some(102))
        .await
        .unwrap()
        .remove(0);
    let up = c
        .restore(
            N1,
            GuestKind::Qemu,
            &RestoreOptions {
                vmid: 932,
                archive: backup.volid,
                storage: Some("local-lvm".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (lines, r) = follow(&c, &up).await;
    assert!(r.is_err());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("VM 932 state is NOT cleaned up")),
        "{lines:?}"
    );
    let left = c
        .guest_config(&GuestRef::new(N1, GuestKind::Qemu, 932))
        .await
        .unwrap();
    assert_eq!(left.lock(), None, "the create lock is gone, the VM stays");
}

/// Deleting a protected backup through the API fails in the storage
/// plugin's words (Plugin.pm free_image). fakepve words it differently.
#[tokio::test]
async fn sim_only_a_protected_backup_is_not_deleted() {
    let t = Target::sim().await;
    let c = t.client();
    let protected = c
        .storage_content(N2, "nfs-backup", Some("backup"), Some(105))
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.protected)
        .unwrap();
    let name = protected.volid.split_once(':').unwrap().1.to_string();
    let up = c
        .delete_volume(N2, "nfs-backup", &protected.volid)
        .await
        .unwrap()
        .unwrap();
    let (_, r) = follow(&c, &up).await;
    assert!(
        matches!(&r, Err(PveError::TaskFailed { exitstatus, .. })
            if *exitstatus == format!("cannot remove protected volume '{name}' on 'nfs-backup'")),
        "{r:?}"
    );
}

/// `ip=manual` is a valid address setting (pve-ipv4-config: a CIDR, dhcp or manual).
async fn manual_addresses_are_accepted(t: Target) {
    let c = t.client();
    let g = GuestRef::new(N1, GuestKind::Qemu, 101);
    c.set_config(&g, &ConfigChange::default().set("ipconfig0", "ip=manual"))
        .await
        .unwrap();
    assert_eq!(
        c.guest_config(&g).await.unwrap().get("ipconfig0"),
        Some("ip=manual")
    );
}

/// A config write made against an old digest is refused, so a concurrent
/// edit is never overwritten. fakepve ignores `digest`.
async fn sim_only_a_stale_digest_is_refused(t: Target) {
    let c = t.client();
    let g = GuestRef::new(N1, GuestKind::Qemu, 102);
    let before = c.guest_config(&g).await.unwrap();
    let digest = before.digest().unwrap().to_string();
    c.set_config(
        &g,
        &ConfigChange {
            digest: Some(digest.clone()),
            ..Default::default()
        }
        .set("description", "first"),
    )
    .await
    .unwrap();
    let stale = c
        .set_config(
            &g,
            &ConfigChange {
                digest: Some(digest),
                ..Default::default()
            }
            .set("description", "late"),
        )
        .await
        .unwrap_err();
    assert!(
        stale
            .to_string()
            .contains("detected modified configuration - file changed by other user? Try again."),
        "{stale}"
    );
}

/// A running VM that does not hot-plug NICs takes a NIC change at its next
/// start: `current=1` shows the running value, the plain read the pending
/// one. fakepve applies every change at once.
#[tokio::test]
async fn sim_only_pending_nic_changes_wait_for_the_next_start() {
    let text = SEED.replace(
        "      description: \"ClamAV scanning service\"",
        "      description: \"ClamAV scanning service\"\n      hotplug: \"disk,usb\"",
    );
    let t = sim_of(&text, 0.0).await;
    let c = t.client();
    let g = GuestRef::new(N1, GuestKind::Qemu, 102);
    let new = "virtio=02:00:00:A1:66:09,bridge=vmbr0,firewall=1";
    c.set_config(&g, &ConfigChange::default().set("net0", new))
        .await
        .unwrap();
    assert_eq!(c.guest_config(&g).await.unwrap().get("net0"), Some(new));
    assert_ne!(
        c.guest_config_current(&g).await.unwrap().get("net0"),
        Some(new)
    );
    for p in [Power::Stop, Power::Start] {
        let up = c.power(&g, p).await.unwrap();
        follow(&c, &up).await.1.unwrap();
    }
    assert_eq!(
        c.guest_config_current(&g).await.unwrap().get("net0"),
        Some(new),
        "the next start applies it"
    );
}

/// The node says which zone it keeps its clock in.
async fn node_time_zone(t: Target) {
    let tz = t.client().node_time(N1).await.unwrap();
    assert!(!tz.timezone.is_empty(), "{tz:?}");
}

on_both!(manual_addresses_are_accepted, node_time_zone);

on_sim_only!(
    sim_only_a_container_clone_locks_its_source,
    sim_only_a_running_vm_clone_holds_its_source_exclusively,
    sim_only_a_stale_digest_is_refused,
);
