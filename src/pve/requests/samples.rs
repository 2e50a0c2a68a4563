//! Every request with every option set: what the schema test checks.

use super::super::request::{ApiRequest, ParamValue};
use super::super::types::GuestKind;
use super::*;

/// One request per builder and guest kind, with every option set: what the
/// schema test checks.
pub fn samples() -> Vec<ApiRequest> {
    let upid = "UPID:pve-node-01:0003A1F2:01B2C3D4:67A0B1C2:qmclone:100:root@pam:";
    let mut out = vec![
        version(),
        ticket("root@pam", "secret"),
        cluster_resources(Some("vm")),
        cluster_status(),
        cluster_tasks(),
        next_id(Some(200)),
        nodes(),
        node_status("pve-node-01"),
        node_time("pve-node-01"),
        node_network("pve-node-01", Some("bridge")),
        node_tasks(
            "pve-node-01",
            &TaskListOptions {
                limit: Some(50),
                start: Some(0),
                vmid: Some(100),
                typefilter: Some("vzdump".into()),
                source: Some("all".into()),
                errors: Some(true),
                since: Some(1_700_000_000),
            },
        ),
        task_status("pve-node-01", upid),
        task_log("pve-node-01", upid, 0, 500),
        task_stop("pve-node-01", upid),
        vzdump(
            "pve-node-01",
            &VzdumpOptions {
                vmids: vec![100, 101],
                mode: Some(BackupMode::Snapshot),
                storage: Some("local".into()),
                compress: Some(Compression::Zstd),
                notes_template: Some("{{guestname}}".into()),
                protected: Some(false),
                prune_backups: Some("keep-last=3".into()),
                bwlimit: Some(10000),
            },
        ),
        vzdump(
            "pve-node-01",
            &VzdumpOptions {
                vmids: vec![100],
                storage: Some("local".into()),
                notes_template: notes_template("C:\\temp\nsecond line {{vmid}}").ok(),
                ..Default::default()
            },
        ),
        storages(
            "pve-node-01",
            &StorageQuery {
                content: Some("backup".into()),
                enabled: Some(true),
                target: Some("pve-node-02".into()),
            },
        ),
        storage_content("pve-node-01", "local", Some("backup"), Some(100)),
        volume_update(
            "pve-node-01",
            "local",
            "local:backup/x.tar.zst",
            Some("n"),
            Some(true),
        ),
        volume_delete("pve-node-01", "local", "local:backup/x.tar.zst", Some(5)),
    ];
    for kind in [GuestKind::Qemu, GuestKind::Lxc] {
        let g = GuestRef::new("pve-node-01", kind, 100);
        let change = ConfigChange {
            set: vec![
                (
                    if kind == GuestKind::Qemu {
                        "name"
                    } else {
                        "hostname"
                    }
                    .into(),
                    ParamValue::Str("pve-db-02".into()),
                ),
                (
                    "net0".into(),
                    ParamValue::Str("virtio=02:00:00:A2:65:01,bridge=vmbr0".into()),
                ),
                ("description".into(), ParamValue::Str("replica".into())),
                ("tags".into(), ParamValue::Str("db".into())),
            ],
            delete: vec!["unused0".into()],
            digest: Some("0123456789abcdef0123456789abcdef01234567".into()),
        };
        out.extend([
            guest_list("pve-node-01", kind),
            guest_status(&g),
            guest_config(&g),
            guest_config_current(&g),
            set_config(&g, &change),
            clone(
                &g,
                &CloneOptions {
                    newid: 201,
                    name: Some("pve-db-02".into()),
                    description: Some("replica".into()),
                    target: Some("pve-node-02".into()),
                    full: Some(true),
                    storage: Some("local-lvm".into()),
                    format: Some("raw".into()),
                    pool: Some("p".into()),
                    snapname: Some("s".into()),
                    bwlimit: Some(1000),
                },
            ),
            template(&g),
            destroy(
                &g,
                &DestroyOptions {
                    purge: Some(true),
                    destroy_unreferenced_disks: Some(true),
                },
            ),
            migrate(
                &g,
                &MigrateOptions {
                    target: "pve-node-02".into(),
                    online: Some(false),
                    with_local_disks: Some(true),
                    target_storage: Some("local-lvm".into()),
                    restart: Some(false),
                    bwlimit: Some(1000),
                },
            ),
            power(&g, Power::Start),
            power(&g, Power::Stop),
            power(
                &g,
                Power::Shutdown {
                    timeout: Some(60),
                    force_stop: true,
                },
            ),
            snapshots(&g),
            snapshot_create(
                &g,
                &SnapshotOptions {
                    snapname: "auto-20260129-1403".into(),
                    description: Some("before".into()),
                    vmstate: Some(false),
                },
            ),
            snapshot_delete(&g, "auto-20260129-1403", Some(false)),
            rollback(&g, "auto-20260129-1403", Some(false)),
            restore(
                "pve-node-01",
                kind,
                &RestoreOptions {
                    vmid: 300,
                    archive: "local:backup/vzdump-qemu-100-2026_01_29-14_03_11.vma.zst".into(),
                    storage: Some("local-lvm".into()),
                    force: Some(false),
                    unique: Some(true),
                    start: Some(false),
                    pool: Some("p".into()),
                    bwlimit: Some(1000),
                },
            ),
        ]);
    }
    out.push(set_qemu_config_async(
        &GuestRef::new("pve-node-01", GuestKind::Qemu, 100),
        &ConfigChange::default().set("ipconfig0", "ip=192.168.2.101/24,gw=192.168.2.1"),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_every_endpoint() {
        let samples = samples();
        for ep in ALL {
            assert!(
                samples.iter().any(|r| std::ptr::eq(r.endpoint, *ep)),
                "{} {} has no sample",
                ep.method(),
                ep.path()
            );
        }
        for r in &samples {
            assert_eq!(
                r.path_params.len(),
                r.endpoint.placeholders().len(),
                "{} fills the wrong number of placeholders",
                r.path()
            );
        }
    }

    #[test]
    fn clone_names_the_guest_by_kind() {
        let o = CloneOptions {
            newid: 201,
            name: Some("pve-db-02".into()),
            ..Default::default()
        };
        let q = clone(&GuestRef::new("n1", GuestKind::Qemu, 101), &o);
        let l = clone(&GuestRef::new("n1", GuestKind::Lxc, 101), &o);
        assert!(q.params.iter().any(|(k, _)| k == "name"));
        assert!(l.params.iter().any(|(k, _)| k == "hostname"));
    }
}
