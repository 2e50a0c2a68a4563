//! The contract suite: every client call against a Proxmox API, happy paths and
//! the failures Proxmox really produces. Each case runs against fakepve (the
//! independent reference) and, through the same code, against proxdeck's simulator.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::target::Target;
use proxdeck::config::TlsConfig;
use proxdeck::pve::requests::*;
use proxdeck::pve::types::GuestKind;
use proxdeck::pve::{ClientOptions, GuestRef, PveClient, PveError, TaskEvent, WaitOptions};

const N1: &str = "pve-node-01";
const N2: &str = "pve-node-02";

fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll_start: std::time::Duration::from_millis(20),
        poll_max: std::time::Duration::from_millis(200),
        timeout: Some(std::time::Duration::from_secs(60)),
        page: 500,
    }
}

async fn stop(c: &PveClient, g: &GuestRef) {
    let up = c.power(g, Power::Stop).await.unwrap();
    wait_ok(c, &up).await;
}

async fn wait_ok(c: &PveClient, upid: &proxdeck::pve::Upid) -> Vec<String> {
    let mut lines = Vec::new();
    c.wait_task(upid, &fast_wait(), |e| {
        if let TaskEvent::Line(l) = e {
            lines.push(l.t)
        }
    })
    .await
    .unwrap_or_else(|e| panic!("task {upid} failed: {e}"));
    lines
}

/// A full clone of the seed's test container 103 on node-01, named as given;
/// its new VMID. Proxmox refuses a full clone of a running CT ("only possible
/// from a snapshot"), so it is stopped first.
async fn full_clone_of_the_test_ct(c: &PveClient, name: &str) -> u32 {
    stop(c, &GuestRef::new(N1, GuestKind::Lxc, 103)).await;
    let ct_id = c.next_id().await.unwrap();
    let up = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Lxc, 103),
            &CloneOptions {
                newid: ct_id,
                name: Some(name.into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(up.task_type, "vzclone");
    wait_ok(c, &up).await;
    ct_id
}

/// Version, resources, status, nodes: the reads every refresh makes.
async fn cluster_reads(t: Target) {
    let c = t.client();
    let v = c.version().await.unwrap();
    assert!(!v.version.is_empty());

    let res = c.cluster_resources(None).await.unwrap();
    let guests: BTreeSet<(u32, String, String)> = res
        .iter()
        .filter(|r| r.is_guest())
        .map(|r| (r.vmid.unwrap(), r.name.clone().unwrap(), r.kind.clone()))
        .collect();
    let expected: BTreeSet<(u32, String, String)> = [
        (101, "pve-db-01", "qemu"),
        (102, "pve-av-01", "qemu"),
        (103, "pve-test-01", "lxc"),
        (105, "pve-web-01", "lxc"),
        (350, "pve-app-03", "qemu"),
    ]
    .iter()
    .map(|(v, n, k)| (*v, n.to_string(), k.to_string()))
    .collect();
    assert_eq!(guests, expected);
    let db = res.iter().find(|r| r.vmid == Some(101)).unwrap();
    assert!(db.template, "pve-db-01 is a template");
    assert_eq!(db.node.as_deref(), Some(N1));
    let nodes: Vec<&str> = res
        .iter()
        .filter(|r| r.kind == "node")
        .filter_map(|r| r.node.as_deref())
        .collect();
    for n in [N1, N2, "pve-node-03"] {
        assert!(nodes.contains(&n), "{n} not in {nodes:?}");
    }
    let vms = c.cluster_resources(Some("vm")).await.unwrap();
    assert!(vms.iter().all(|r| r.is_guest()));

    let status = c.cluster_status().await.unwrap();
    assert!(status.iter().any(|s| s.kind == "node" && s.name == N1));
    let list = c.nodes().await.unwrap();
    assert!(list.iter().any(|n| n.node == N2 && n.status == "online"));
    let ns = c.node_status(N1).await.unwrap();
    if !t.is_fakepve() {
        // fakepve answers zeros here (its node status is a placeholder).
        assert!(ns.memory.total.unwrap_or(0) > 0);
        assert!(ns.uptime.unwrap_or(0) > 0);
    }
    let net = c.node_network(N1).await.unwrap();
    assert!(net.iter().any(|i| i.kind == "bridge"), "{net:?}");
}

/// Guest lists, status and configs, with the property strings parsed.
async fn guest_reads(t: Target) {
    let c = t.client();
    let qemu = c.guests(N1, GuestKind::Qemu).await.unwrap();
    assert!(qemu.iter().any(|g| g.vmid == 102 && g.status == "running"));
    let lxc = c.guests(N1, GuestKind::Lxc).await.unwrap();
    assert!(lxc.iter().any(|g| g.vmid == 103));

    let av = GuestRef::new(N1, GuestKind::Qemu, 102);
    assert_eq!(c.guest_status(&av).await.unwrap().status, "running");
    let cfg = c.guest_config(&av).await.unwrap();
    assert_eq!(cfg.name(), Some("pve-av-01"));
    let net = cfg.qemu_net(0).unwrap();
    assert_eq!(net.mac().unwrap().to_string(), "02:00:00:a1:66:01");
    let ip = cfg.ipconfig(0).unwrap();
    assert_eq!(
        ip.ip().unwrap().address(),
        Some("192.168.1.102".parse().unwrap())
    );
    assert!(cfg.digest().is_some());

    let test = GuestRef::new(N1, GuestKind::Lxc, 103);
    let cfg = c.guest_config(&test).await.unwrap();
    let net = cfg.lxc_net(0).unwrap();
    assert_eq!(net.mac().unwrap().to_string(), "02:00:00:a1:c8:01");
    assert_eq!(
        net.ip().unwrap().address(),
        Some("192.168.1.200".parse().unwrap())
    );
    assert_eq!(cfg.disks().len(), 1);
}

/// `/cluster/nextid` (a string on the wire) and the taken-vmid 400.
async fn next_id_and_taken_vmid(t: Target) {
    let c = t.client();
    let next = c.next_id().await.unwrap();
    assert!(next >= 100 && ![101, 102, 103, 105].contains(&next));
    assert!(c.vmid_free(next).await.unwrap());
    assert!(!c.vmid_free(101).await.unwrap());
    let err = c.execute(&next_id(Some(101))).await.unwrap_err();
    match err {
        PveError::BadRequest { errors, .. } => {
            assert_eq!(
                errors.get("vmid").map(String::as_str),
                Some("VM 101 already exists")
            )
        }
        other => panic!("expected 400, got {other:?}"),
    }
}

/// Clone a template, follow the task, find the clone, make it a template.
async fn clone_template_and_follow_task(t: Target) {
    let c = t.client();
    let newid = c.next_id().await.unwrap();
    let src = GuestRef::new(N1, GuestKind::Qemu, 101);
    let upid = c
        .clone_guest(
            &src,
            &CloneOptions {
                newid,
                name: Some("pve-db-09".into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(upid.task_type, "qmclone");
    assert_eq!(upid.id, "101", "a clone task's id is the source vmid");
    assert_eq!(upid.node, N1);
    wait_ok(&c, &upid).await;
    let new = GuestRef::new(N1, GuestKind::Qemu, newid);
    let cfg = c.guest_config(&new).await.unwrap();
    assert_eq!(cfg.name(), Some("pve-db-09"));

    // An LXC clone on the same node, named by hostname.
    let ct_id = full_clone_of_the_test_ct(&c, "pve-test-02").await;
    let cfg = c
        .guest_config(&GuestRef::new(N1, GuestKind::Lxc, ct_id))
        .await
        .unwrap();
    assert_eq!(cfg.get("hostname"), Some("pve-test-02"));

    // qemu template conversion runs as a task.
    let up = c
        .make_template(&new)
        .await
        .unwrap()
        .expect("qemu answers a UPID");
    wait_ok(&c, &up).await;
    assert!(c.guest_config(&new).await.unwrap().is_template());
}

/// Proxmox refuses a cross-node clone of a CT on local storage, with its own words.
async fn cross_node_clone_from_local_storage_is_refused(t: Target) {
    let c = t.client();
    let running = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Lxc, 103),
            &CloneOptions {
                newid: 990,
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        running,
        PveError::Server {
            message: "Full clone of a running container is only possible from a snapshot".into()
        }
    );
    stop(&c, &GuestRef::new(N1, GuestKind::Lxc, 103)).await;
    let newid = c.next_id().await.unwrap();
    let err = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Lxc, 103),
            &CloneOptions {
                newid,
                target: Some(N2.into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PveError::Server {
            message: "can't clone CT to node 'pve-node-02' (CT uses local storage)".into()
        }
    );
}

/// Config updates (PUT) read back, and a bad net0 is a 400 naming the parameter.
async fn config_update_and_bad_parameter(t: Target) {
    let c = t.client();
    let ct = GuestRef::new(N2, GuestKind::Lxc, 105);
    let cfg = c.guest_config(&ct).await.unwrap();
    let mut net = cfg.lxc_net(0).unwrap();
    net.set_ip(proxdeck::pve::propstring::IpSetting::Static(
        "192.168.2.210/24".parse().unwrap(),
    ));
    c.set_config(
        &ct,
        &ConfigChange::default()
            .set("net0", net.to_string())
            .set("description", "changed by the contract suite"),
    )
    .await
    .unwrap();
    let after = c.guest_config(&ct).await.unwrap();
    assert_eq!(
        after.lxc_net(0).unwrap().ip().unwrap().address(),
        Some("192.168.2.210".parse().unwrap())
    );
    assert_eq!(
        after.get("description"),
        Some("changed by the contract suite")
    );

    let err = c
        .set_config(
            &ct,
            &ConfigChange::default().set("net0", "bridge=vmbr0,bogus=1"),
        )
        .await
        .unwrap_err();
    match &err {
        PveError::BadRequest { errors, .. } => assert!(errors.contains_key("net0"), "{err:?}"),
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(err.to_string().contains("net0"), "{err}");
}

/// Snapshot create, list (with `current`), rollback, delete.
async fn snapshot_lifecycle(t: Target) {
    let c = t.client();
    let g = GuestRef::new(N1, GuestKind::Lxc, 103);
    let up = c
        .create_snapshot(
            &g,
            &SnapshotOptions {
                snapname: "auto-20260129-1403".into(),
                description: Some("before the change".into()),
                vmstate: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(up.task_type, "vzsnapshot");
    wait_ok(&c, &up).await;
    let snaps = c.snapshots(&g).await.unwrap();
    let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"auto-20260129-1403"), "{names:?}");
    let current = snaps
        .iter()
        .find(|s| s.name == "current")
        .expect("the current pseudo-snapshot");
    assert_eq!(current.parent.as_deref(), Some("auto-20260129-1403"));

    let up = c.rollback(&g, "auto-20260129-1403", None).await.unwrap();
    assert_eq!(up.task_type, "vzrollback");
    wait_ok(&c, &up).await;

    // Rolling back to a snapshot that does not exist fails.
    let missing = match c.rollback(&g, "no-such-snap", None).await {
        Err(e) => e,
        Ok(up) => c.wait_task(&up, &fast_wait(), |_| {}).await.unwrap_err(),
    };
    assert!(
        missing
            .proxmox_message()
            .unwrap_or_default()
            .contains("no-such-snap"),
        "{missing:?}"
    );

    let up = c.delete_snapshot(&g, "auto-20260129-1403").await.unwrap();
    wait_ok(&c, &up).await;
    let snaps = c.snapshots(&g).await.unwrap();
    assert!(snaps.iter().all(|s| s.name != "auto-20260129-1403"));
}

/// vzdump as a task that ends OK, with its exit status.
async fn vzdump_task_and_log(t: Target) {
    let c = t.client();
    let up = start_vzdump(&c).await;
    assert_eq!(up.task_type, "vzdump");
    assert_eq!(up.id, "103");
    let lines = wait_ok(&c, &up).await;
    assert_eq!(lines.last().map(String::as_str), Some("TASK OK"));
    let status = c.task_status(&up).await.unwrap();
    assert_eq!(status.exitstatus.as_deref(), Some("OK"));
}

async fn start_vzdump(c: &PveClient) -> proxdeck::pve::Upid {
    c.vzdump(
        N1,
        &VzdumpOptions {
            vmids: vec![103],
            mode: Some(BackupMode::Snapshot),
            storage: Some("local".into()),
            compress: Some(Compression::Zstd),
            notes_template: Some("{{guestname}}".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Simulator only: vzdump's log as Proxmox writes it, paged, and the task in
/// the cluster's and the node's task lists. fakepve's vzdump log is the
/// single line `TASK OK` and its /cluster/tasks answers a fixed example
/// list, so nothing here can be checked against it.
async fn sim_only_vzdump_log_pages_and_task_lists(t: Target) {
    let c = t.client();
    let up = start_vzdump(&c).await;
    let lines = wait_ok(&c, &up).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Starting Backup of VM 103")),
        "{lines:?}"
    );
    // The same log, paged two lines at a time.
    let (page, _) = c.task_log(&up, 0, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].n, 1);
    let (next, _) = c.task_log(&up, 2, 2).await.unwrap();
    assert_eq!(next[0].n, 3);
    let tasks = c.cluster_tasks().await.unwrap();
    assert!(
        tasks.iter().any(|t| t.upid == up.as_str()),
        "the task shows in /cluster/tasks"
    );
    let node_tasks = c
        .node_tasks(
            N1,
            &TaskListOptions {
                typefilter: Some("vzdump".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(node_tasks.iter().any(|t| t.upid == up.as_str()));
}

/// Storage list and backup content listing.
async fn storage_reads(t: Target) {
    let c = t.client();
    let st = c.storages(N1, &StorageQuery::default()).await.unwrap();
    let local = st
        .iter()
        .find(|s| s.storage == "local")
        .expect("local storage");
    assert!(local.holds("backup"), "{local:?}");
    assert!(st.iter().any(|s| s.storage == "local-lvm"));
    let backups = c
        .storage_content(N1, "local", Some("backup"), None)
        .await
        .unwrap();
    assert!(
        backups
            .iter()
            .all(|b| b.content.as_deref() == Some("backup"))
    );
}

/// Restore a container backup as a new guest.
async fn restore_container_backup(t: Target) {
    let c = t.client();
    let up = c
        .vzdump(
            N1,
            &VzdumpOptions {
                vmids: vec![103],
                storage: Some("local".into()),
                compress: Some(Compression::Zstd),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_ok(&c, &up).await;
    let listed = c
        .storage_content(N1, "local", Some("backup"), Some(103))
        .await
        .unwrap();
    let volid = match listed.first() {
        Some(b) => {
            assert!(b.volid.starts_with("local:backup/vzdump-lxc-103-"), "{b:?}");
            assert_eq!(b.format, "tar.zst");
            b.volid.clone()
        }
        // fakepve's vzdump adds no volume to the storage (FAKEPVE.md), but its
        // restore accepts any archive name: use the name Proxmox would give.
        None if t.is_fakepve() => "local:backup/vzdump-lxc-103-2026_01_29-14_03_11.tar.zst".into(),
        None => panic!("vzdump made no backup volume"),
    };
    let newid = c.next_id().await.unwrap();
    let up = c
        .restore(
            N1,
            GuestKind::Lxc,
            &RestoreOptions {
                vmid: newid,
                archive: volid.clone(),
                storage: Some("local-lvm".into()),
                unique: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(up.task_type, "vzrestore");
    wait_ok(&c, &up).await;
    let cfg = c
        .guest_config(&GuestRef::new(N1, GuestKind::Lxc, newid))
        .await
        .unwrap();
    assert!(
        cfg.get("rootfs")
            .is_some_and(|r| r.contains(&format!("vm-{newid}-disk-0"))),
        "{cfg:?}"
    );
    if !t.is_fakepve() {
        // The restored CT carries the backed-up config; unique=1 gives it a new MAC.
        assert_eq!(cfg.get("hostname"), Some("pve-test-01"));
        let mac = cfg.lxc_net(0).unwrap().mac().unwrap();
        assert_ne!(mac.to_string(), "02:00:00:a1:c8:01");
        // The volume can be deleted (an imgdel task).
        let up = c
            .delete_volume(N1, "local", &volid)
            .await
            .unwrap()
            .expect("a task");
        assert_eq!(up.task_type, "imgdel");
        wait_ok(&c, &up).await;
        let after = c
            .storage_content(N1, "local", Some("backup"), Some(103))
            .await
            .unwrap();
        assert!(after.iter().all(|b| b.volid != volid));
    }
}

/// Offline migration of stopped guests, then power actions.
async fn migrate_and_power(t: Target) {
    let c = t.client();
    // A container: clone the (stopped) test CT, move it to node-02.
    let ct_id = full_clone_of_the_test_ct(&c, "pve-test-05").await;
    let up = c
        .migrate(
            &GuestRef::new(N1, GuestKind::Lxc, ct_id),
            &MigrateOptions {
                target: N2.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(up.task_type, "vzmigrate");
    wait_ok(&c, &up).await;
    let moved_ct = GuestRef::new(N2, GuestKind::Lxc, ct_id);
    assert_eq!(
        c.guest_config(&moved_ct).await.unwrap().get("hostname"),
        Some("pve-test-05")
    );
    let res = c.cluster_resources(Some("vm")).await.unwrap();
    assert_eq!(
        res.iter()
            .find(|r| r.vmid == Some(ct_id))
            .and_then(|r| r.node.clone())
            .as_deref(),
        Some(N2)
    );
    let up = c.power(&moved_ct, Power::Start).await.unwrap();
    assert_eq!(up.task_type, "vzstart");
    wait_ok(&c, &up).await;
    assert_eq!(c.guest_status(&moved_ct).await.unwrap().status, "running");
    let up = c
        .power(
            &moved_ct,
            Power::Shutdown {
                timeout: Some(30),
                force_stop: true,
            },
        )
        .await
        .unwrap();
    wait_ok(&c, &up).await;
    assert_eq!(c.guest_status(&moved_ct).await.unwrap().status, "stopped");
    let up = c
        .destroy_guest(
            &moved_ct,
            &DestroyOptions {
                purge: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_ok(&c, &up).await;
    assert!(
        c.guest_config(&moved_ct).await.is_err(),
        "destroyed guest has no config"
    );
}

/// Simulator only: an offline qemu migration moves the VM to the target
/// node. fakepve answers a qemu migrate with a UPID (of type `migrate`) but
/// never moves the VM (its generic schema handler), so the move cannot be
/// checked against it.
async fn sim_only_qemu_migration_moves_the_vm(t: Target) {
    let c = t.client();
    let newid = c.next_id().await.unwrap();
    let up = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Qemu, 101),
            &CloneOptions {
                newid,
                name: Some("pve-db-08".into()),
                full: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_ok(&c, &up).await;
    let up = c
        .migrate(
            &GuestRef::new(N1, GuestKind::Qemu, newid),
            &MigrateOptions {
                target: N2.into(),
                with_local_disks: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(up.task_type, "qmigrate");
    wait_ok(&c, &up).await;
    let moved = GuestRef::new(N2, GuestKind::Qemu, newid);
    assert_eq!(
        c.guest_config(&moved).await.unwrap().name(),
        Some("pve-db-08")
    );
    let up = c.power(&moved, Power::Start).await.unwrap();
    assert_eq!(up.task_type, "qmstart");
    wait_ok(&c, &up).await;
    assert_eq!(c.guest_status(&moved).await.unwrap().status, "running");
    let up = c.power(&moved, Power::Stop).await.unwrap();
    wait_ok(&c, &up).await;
    assert_eq!(c.guest_status(&moved).await.unwrap().status, "stopped");
}

/// Starting a running VM: HTTP 200 and a task that fails; a running CT: 500 at once.
async fn start_running_guests(t: Target) {
    let c = t.client();
    let up = c
        .power(&GuestRef::new(N1, GuestKind::Qemu, 102), Power::Start)
        .await
        .expect("qemu answers a UPID even when already running");
    let err = c.wait_task(&up, &fast_wait(), |_| {}).await.unwrap_err();
    match &err {
        PveError::TaskFailed { exitstatus, .. } => {
            assert_eq!(exitstatus, "VM 102 already running")
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    let err = c
        .power(&GuestRef::new(N1, GuestKind::Lxc, 103), Power::Start)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PveError::Server {
            message: "CT 103 already running".into()
        }
    );
}

/// A token without the privilege gets 403 naming it.
async fn forbidden_names_the_privilege(mut t: Target) {
    t.add_limited_token("auditor@pve!ro", "ro-secret", &["VM.Audit", "Sys.Audit"])
        .await;
    let cluster = t.cluster(
        proxdeck::config::AuthConfig::Token {
            token_id: "auditor@pve!ro".into(),
            secret: proxdeck::config::SecretSource::Inline(proxdeck::secret::Secret::new(
                "ro-secret",
            )),
        },
        t.pin(),
    );
    let c = PveClient::with_options(&cluster, Target::quick_options()).unwrap();
    assert!(
        c.cluster_resources(None).await.is_ok(),
        "reading is allowed"
    );
    let err = c
        .power(&GuestRef::new(N1, GuestKind::Qemu, 102), Power::Stop)
        .await
        .unwrap_err();
    match &err {
        PveError::Forbidden {
            missing: Some((path, privilege)),
            ..
        } => {
            assert_eq!(
                (path.as_str(), privilege.as_str()),
                ("/vms/102", "VM.PowerMgmt")
            )
        }
        other => panic!("expected 403 naming the privilege, got {other:?}"),
    }
}

/// Injected 500 and a locked guest both surface Proxmox's message; a write is not retried.
async fn server_errors_and_locks(mut t: Target) {
    let c = t.client();
    let path = "/nodes/pve-node-01/qemu/101/clone";
    t.fail("POST", path, 500, "clone failed: injected", 1).await;
    let err = c
        .clone_guest(
            &GuestRef::new(N1, GuestKind::Qemu, 101),
            &CloneOptions {
                newid: 990,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PveError::Server {
            message: "clone failed: injected".into()
        }
    );
    assert_eq!(
        t.count_requests("POST", path).await,
        1,
        "a POST is never retried"
    );

    // A guest left locked by an unfinished backup refuses a snapshot.
    t.set_guest_lock(105, "backup").await;
    let ct = GuestRef::new(N2, GuestKind::Lxc, 105);
    let err = match c
        .create_snapshot(
            &ct,
            &SnapshotOptions {
                snapname: "locktest".into(),
                ..Default::default()
            },
        )
        .await
    {
        Err(e) => e,
        Ok(up) => c.wait_task(&up, &fast_wait(), |_| {}).await.unwrap_err(),
    };
    assert_eq!(
        err.proxmox_message(),
        Some("CT is locked (backup)"),
        "{err:?}"
    );
    t.clear_guest_lock(105).await;

    // Another holder keeps the config lock: a config change times out on it.
    t.hold_lock(105, None).await;
    let err = c
        .set_config(&ct, &ConfigChange::default().set("description", "x"))
        .await
        .unwrap_err();
    t.release_lock(105).await;
    let msg = err.proxmox_message().unwrap_or_default().to_string();
    assert!(
        msg.starts_with("can't lock file") && msg.ends_with("got timeout"),
        "{err:?}"
    );
}

/// A GET is retried after a transient 5xx and succeeds.
async fn get_is_retried_after_transient_error(mut t: Target) {
    let c = t.client();
    t.fail("GET", "/version", 503, "Service Unavailable", 1)
        .await;
    assert!(c.version().await.is_ok());
    assert_eq!(t.count_requests("GET", "/version").await, 2);
}

/// A node taken offline answers 595; back online it answers again.
async fn offline_node_answers_595(mut t: Target) {
    let c = t.client();
    t.set_offline(N2, true).await;
    let err = c.node_status(N2).await.unwrap_err();
    assert_eq!(err.status(), Some(595), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    t.set_offline(N2, false).await;
    assert!(c.node_status(N2).await.is_ok());
}

/// Ticket login: CSRF on writes, and a silent re-login when the ticket is gone.
async fn ticket_login_renewal_and_expiry(mut t: Target) {
    let cluster = t.cluster(t.password_auth(), t.pin());
    let c = PveClient::with_options(&cluster, Target::quick_options()).unwrap();
    assert!(c.version().await.is_ok());
    // A write needs the CSRF token.
    c.set_config(
        &GuestRef::new(N2, GuestKind::Lxc, 105),
        &ConfigChange::default().set("description", "via ticket"),
    )
    .await
    .unwrap();
    // The server forgets every ticket: the next call logs in again unnoticed.
    let logins_before = t.count_requests("POST", "/access/ticket").await;
    t.revoke_tickets().await;
    assert!(c.cluster_resources(None).await.is_ok());
    assert_eq!(
        t.count_requests("POST", "/access/ticket").await,
        logins_before + 1
    );

    // With renewal due at once, every call renews the ticket first, still unnoticed.
    let eager = PveClient::with_options(
        &cluster,
        ClientOptions {
            ticket_renew_after: std::time::Duration::ZERO,
            ..Target::quick_options()
        },
    )
    .unwrap();
    assert!(eager.version().await.is_ok());
    let before = t.count_requests("POST", "/access/ticket").await;
    for _ in 0..3 {
        assert!(eager.version().await.is_ok());
    }
    let renewals = t.count_requests("POST", "/access/ticket").await - before;
    if t.is_fakepve() {
        // fakepve does not accept a ticket as the password (real Proxmox does,
        // ENDPOINTS.md §2), so each renewal falls back to the password: 2 calls.
        assert_eq!(renewals, 6);
    } else {
        assert_eq!(renewals, 3);
    }

    // A wrong password is a clear 401.
    let bad = t.cluster(
        proxdeck::config::AuthConfig::Password {
            user: "root@pam".into(),
            password: proxdeck::config::SecretSource::Inline(proxdeck::secret::Secret::new(
                "wrong",
            )),
        },
        t.pin(),
    );
    let err = PveClient::with_options(&bad, Target::quick_options())
        .unwrap()
        .version()
        .await
        .unwrap_err();
    assert!(matches!(err, PveError::Unauthorized { .. }), "{err:?}");
}

/// TLS: pin, wrong pin, CA file, system roots (refused), insecure.
async fn tls_verification(t: Target) {
    let ok = PveClient::with_options(&t.cluster(t.token_auth(), t.pin()), Target::quick_options())
        .unwrap();
    assert!(ok.version().await.is_ok());

    let wrong: proxdeck::fingerprint::Fingerprint =
        "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99".parse().unwrap();
    let c = PveClient::with_options(
        &t.cluster(t.token_auth(), TlsConfig::Fingerprint(wrong)),
        Target::quick_options(),
    )
    .unwrap();
    let err = c.version().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&wrong.to_string()), "{msg}");
    assert!(
        msg.contains(&t.fingerprint),
        "the presented fingerprint is shown: {msg}"
    );

    let ca = PveClient::with_options(
        &t.cluster(t.token_auth(), TlsConfig::CaFile(t.certfile.clone())),
        Target::quick_options(),
    )
    .unwrap();
    assert!(ca.version().await.is_ok());

    let system = PveClient::with_options(
        &t.cluster(t.token_auth(), TlsConfig::System),
        Target::quick_options(),
    )
    .unwrap();
    let err = system.version().await.unwrap_err();
    assert!(matches!(err, PveError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("tls.fingerprint"), "{err}");

    let insecure = PveClient::with_options(
        &t.cluster(t.token_auth(), TlsConfig::Insecure),
        Target::quick_options(),
    )
    .unwrap();
    assert!(insecure.version().await.is_ok());
}

/// A dead first endpoint: the next one is used and remembered.
async fn endpoint_failover(t: Target) {
    let mut cluster = t.cluster(t.token_auth(), t.pin());
    // Port 9 on loopback: nothing listens (connection refused).
    cluster
        .endpoints
        .insert(0, reqwest::Url::parse("https://127.0.0.1:9").unwrap());
    let c = PveClient::with_options(&cluster, Target::quick_options()).unwrap();
    assert!(c.version().await.is_ok());
    assert_eq!(
        c.current_endpoint().as_str().trim_end_matches("/api2/json"),
        t.url.trim_end_matches('/')
    );
    // A write goes straight to the remembered endpoint.
    c.set_config(
        &GuestRef::new(N2, GuestKind::Lxc, 105),
        &ConfigChange::default().set("description", "x"),
    )
    .await
    .unwrap();

    let mut dead = t.cluster(t.token_auth(), t.pin());
    dead.endpoints = vec![reqwest::Url::parse("https://127.0.0.1:9").unwrap()];
    let err = PveClient::with_options(&dead, Target::quick_options())
        .unwrap()
        .version()
        .await
        .unwrap_err();
    assert!(matches!(err, PveError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}

/// Secrets never show in Debug output.
async fn secrets_stay_hidden(t: Target) {
    let c = t.client();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(common::fakepve::TOKEN_SECRET), "{dbg}");
    let cluster = t.cluster(t.password_auth(), t.pin());
    let dbg = format!("{cluster:?} {:?}", PveClient::new(&cluster).unwrap());
    assert!(!dbg.contains(common::fakepve::PASSWORD), "{dbg}");
}

on_sim_only!(
    sim_only_vzdump_log_pages_and_task_lists,
    sim_only_qemu_migration_moves_the_vm,
);

on_both!(
    cluster_reads,
    guest_reads,
    next_id_and_taken_vmid,
    clone_template_and_follow_task,
    cross_node_clone_from_local_storage_is_refused,
    config_update_and_bad_parameter,
    snapshot_lifecycle,
    vzdump_task_and_log,
    storage_reads,
    restore_container_backup,
    migrate_and_power,
    start_running_guests,
    forbidden_names_the_privilege,
    server_errors_and_locks,
    get_is_retried_after_transient_error,
    offline_node_answers_595,
    ticket_login_renewal_and_expiry,
    tls_verification,
    endpoint_failover,
    secrets_stay_hidden,
);
