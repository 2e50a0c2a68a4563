//! Restoring a backup as a guest (or creating one from nothing).

use super::Call;
use crate::pve::propstring::{Disk, LxcNet, QemuNet};
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimGuest, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn create_spec(kind: GuestKind) -> Vec<P> {
    let mut s = vec![
        req("vmid", Ty::VmId),
        opt("storage", Ty::Str),
        opt("force", Ty::Bool),
        opt("unique", Ty::Bool),
        opt("start", Ty::Bool),
        opt("pool", Ty::Str),
        opt("memory", Ty::Int),
        opt("cores", Ty::Int),
        opt("description", Ty::Str),
        opt("tags", Ty::Str),
        opt("onboot", Ty::Bool),
        opt("ha-managed", Ty::Bool),
    ];
    match kind {
        GuestKind::Qemu => s.extend([
            opt("archive", Ty::StrMax(255)),
            opt("name", Ty::DnsName),
            opt("bwlimit", Ty::Int),
            opt("live-restore", Ty::Bool),
            opt("net[n]", Ty::QemuNet),
            opt("ipconfig[n]", Ty::IpConfig),
            opt("scsi[n]", Ty::Str),
            opt("virtio[n]", Ty::Str),
            opt("sockets", Ty::Int),
            opt("ostype", Ty::Str),
            opt("scsihw", Ty::Str),
        ]),
        GuestKind::Lxc => s.extend([
            req("ostemplate", Ty::StrMax(255)),
            opt("restore", Ty::Bool),
            opt("hostname", Ty::DnsName),
            opt("bwlimit", Ty::Num),
            opt("net[n]", Ty::LxcNet),
            opt("rootfs", Ty::Str),
            opt("unprivileged", Ty::Bool),
            opt("ignore-unpack-errors", Ty::Bool),
            opt("swap", Ty::Int),
            opt("ostype", Ty::Str),
            opt("password", Ty::Str),
            opt("ssh-public-keys", Ty::Str),
        ]),
    }
    s
}

/// `POST /nodes/{node}/qemu|lxc`: restore from a backup (`archive`, or `ostemplate` + `restore=1`), or create.
pub fn restore(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
) -> Result<Value, ApiError> {
    call.check(&create_spec(kind), &["node"])?;
    let p = &call.params;
    let vmid = p.int("vmid").unwrap_or(0) as u32;
    call.require(&format!("/vms/{vmid}"), "VM.Allocate")?;
    let archive = match kind {
        GuestKind::Qemu => p.get("archive").map(str::to_string),
        GuestKind::Lxc if p.flag("restore") == Some(true) => {
            p.get("ostemplate").map(str::to_string)
        }
        GuestKind::Lxc => None,
    };
    let force = p.flag("force").unwrap_or(false);
    let noun = kind.noun();
    if let Some(existing) = model.guests.get(&vmid) {
        if !force || archive.is_none() {
            return Err(ApiError::server(format!(
                "unable to {} {noun} {vmid} - {noun} {vmid} already exists on node '{}'",
                if archive.is_some() {
                    "restore"
                } else {
                    "create"
                },
                existing.node
            )));
        }
        if existing.running {
            return Err(ApiError::server(match kind {
                GuestKind::Lxc => "can't overwrite running container".to_string(),
                GuestKind::Qemu => format!("unable to restore VM {vmid} - VM is running"),
            }));
        }
    }
    // Without `storage`, pve-container restores to `local`; qemu-server puts
    // each disk back on the storage it came from (checked in the worker).
    let given = p.get("storage").map(str::to_string);
    let storage = match (&given, kind) {
        (Some(s), _) => s.clone(),
        (None, GuestKind::Lxc) => "local".into(),
        (None, GuestKind::Qemu) => String::new(),
    };
    if storage.is_empty() {
        let Some(archive) = archive else {
            return create(call, model, node, kind, vmid, "local-lvm");
        };
        return restore_archive(call, model, node, kind, vmid, &archive, None);
    }
    let st = model.storage_on(&storage, node)?.clone();
    let content = if kind == GuestKind::Qemu {
        "images"
    } else {
        "rootdir"
    };
    if !st.holds(content) {
        return Err(ApiError::server(format!(
            "storage '{storage}' does not allow content type '{content}' ({})",
            if kind == GuestKind::Qemu {
                "VM"
            } else {
                "Container"
            }
        )));
    }
    let Some(archive) = archive else {
        return create(call, model, node, kind, vmid, &storage);
    };
    restore_archive(call, model, node, kind, vmid, &archive, Some(&storage))
}

/// Restore `archive` as guest `vmid`, its disks on `storage` (None: each on
/// the storage it was backed up from).
fn restore_archive(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    archive: &str,
    storage: Option<&str>,
) -> Result<Value, ApiError> {
    let p = &call.params;
    let (astore, aname) = archive.split_once(':').unwrap_or(("local", archive));
    let backup = model
        .volumes(astore, node)
        .iter()
        .find(|v| v.volid == archive)
        .cloned();
    let task_type = if kind == GuestKind::Qemu {
        "qmrestore"
    } else {
        "vzrestore"
    };
    let spec = TaskSpec::new(node, task_type, vmid.to_string(), call.upid_user()).vmid(vmid);
    let path = format!(
        "{}/{}",
        super::backup::dump_dir(astore),
        aname.trim_start_matches("backup/")
    );
    // The API handler resolves the archive before any worker starts
    // (`abs_filesystem_path`): a missing one is a plain error, no task.
    let Some(backup) = backup else {
        return Err(ApiError::server(format!("can't find file '{archive}'")));
    };
    let Some((bkind, bconfig)) = backup.backup_of.clone().filter(|(k, _)| *k == kind) else {
        let msg = match kind {
            GuestKind::Qemu => format!(
                "unable to restore VM {vmid} - ERROR: file '{path}' does not look like a QemuServer vzdump backup"
            ),
            GuestKind::Lxc => {
                format!("unable to restore CT {vmid} - archive '{path}' is not a container backup")
            }
        };
        return Ok(json!(
            tasks::finished(call.shared, model, spec, Err(msg)).as_str()
        ));
    };
    let unique = p.flag("unique").unwrap_or(false);
    let unavailable = match storage {
        Some(_) => None,
        None => bconfig
            .iter()
            .filter(|(k, _)| crate::pve::propstring::is_disk_key(k))
            .filter_map(|(_, v)| Disk::parse(v).ok())
            .filter(|d| d.media() != Some("cdrom"))
            .filter_map(|d| d.storage().map(str::to_string))
            .find(|s| model.storage_on(s, node).is_err()),
    };
    let mut config = restored_config(model, &bconfig, bkind, vmid, storage, unique);
    if let Some(h) = p.get("hostname").filter(|_| kind == GuestKind::Lxc) {
        config.insert("hostname".into(), h.to_string());
    }
    let start = p.flag("start").unwrap_or(false);
    let phase = model.rng.phase();
    let previous = model.guests.get(&vmid).cloned();
    model.guests.insert(
        vmid,
        SimGuest {
            vmid,
            kind,
            node: node.to_string(),
            running: false,
            config,
            snapshots: BTreeMap::new(),
            started_unix: None,
            phase,
            pending: BTreeMap::new(),
        },
    );
    let total = backup.size.max(1 << 28);
    let mut spec = spec.lock("create");
    if let Some(s) = unavailable {
        spec = spec.fail_at(
            5.0,
            &format!("storage '{s}' is not available on node '{node}'"),
        );
    }
    let mut spec = spec.header(match kind {
        GuestKind::Qemu => format!("restore vma archive: zstd -q -d -c {path} | vma extract -v -r /var/tmp/vzdumptmp.fifo - /var/tmp/vzdumptmp"),
        GuestKind::Lxc => format!("recovering backed-up configuration from '{archive}'"),
    });
    for i in 1..=10u32 {
        let frac = f64::from(i) / 10.0;
        spec = spec.step(
            total as f64 / (350.0 * 1024.0 * 1024.0) / 10.0,
            frac * 100.0 * 0.98,
            match kind {
                GuestKind::Qemu => format!(
                    "progress {}% (read {} bytes, duration {} sec)",
                    i * 10,
                    (total as f64 * frac) as u64,
                    i
                ),
                GuestKind::Lxc => String::new(),
            },
        );
    }
    if kind == GuestKind::Lxc {
        spec = spec
            .step(0.1, 99.0, format!("extracting archive '{path}'"))
            .step(
                0.1,
                99.5,
                format!(
                    "Total bytes read: {total} ({:.1}GiB, 350MiB/s)",
                    total as f64 / f64::from(1u32 << 30)
                ),
            );
    }
    let spec = spec
        .finish(move |m| {
            if start && let Some(g) = m.guests.get_mut(&vmid) {
                g.running = true;
                g.started_unix = Some(now_unix());
            }
            Ok(Vec::new())
        })
        .undo(move |m| {
            // pve-container removes what it made; qemu-server leaves the VM
            // as it is ("state is NOT cleaned up"), only its lock goes.
            if kind == GuestKind::Lxc {
                match previous {
                    Some(p) => m.guests.insert(vmid, p),
                    None => m.guests.remove(&vmid),
                };
            }
        });
    let spec = match kind {
        GuestKind::Qemu => spec.on_failure(format!(
            "error before or during data restore, some or all disks were not completely restored. VM {vmid} state is NOT cleaned up."
        )),
        GuestKind::Lxc => spec,
    };
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

/// A backed-up config made into guest `vmid`: disks on `storage`, MACs new when `unique`.
fn restored_config(
    model: &mut Model,
    src: &BTreeMap<String, String>,
    kind: GuestKind,
    vmid: u32,
    storage: Option<&str>,
    unique: bool,
) -> BTreeMap<String, String> {
    let mut cfg = src.clone();
    for k in ["lock", "parent", "digest", "template"] {
        cfg.remove(k);
    }
    let keys: Vec<String> = cfg.keys().cloned().collect();
    let mut index = 0;
    for k in keys {
        let v = cfg[&k].clone();
        if crate::pve::propstring::is_disk_key(&k) {
            if let Ok(d) = Disk::parse(&v)
                && d.storage().is_some()
                && d.media() != Some("cdrom")
            {
                let size = d.size().map(|s| format!(",size={s}")).unwrap_or_default();
                let to = storage.or(d.storage()).unwrap_or("local");
                cfg.insert(k, format!("{to}:vm-{vmid}-disk-{index}{size}"));
                index += 1;
            }
        } else if unique && k.starts_with("net") && k[3..].chars().all(|c| c.is_ascii_digit()) {
            let mac = model.random_mac();
            let new = match kind {
                GuestKind::Qemu => QemuNet::parse(&v).ok().map(|mut n| {
                    n.set_mac(mac);
                    n.to_string()
                }),
                GuestKind::Lxc => LxcNet::parse(&v).ok().map(|mut n| {
                    n.set_mac(mac);
                    n.to_string()
                }),
            };
            if let Some(n) = new {
                cfg.insert(k, n);
            }
        }
    }
    let digest = model.digest();
    cfg.insert("digest".into(), digest);
    cfg
}

/// A plain create (no archive): the config from the parameters, disks sized `storage:GiB`.
fn create(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    storage: &str,
) -> Result<Value, ApiError> {
    let mut cfg = BTreeMap::new();
    let mut index = 0;
    for (k, v) in &call.params.0 {
        if matches!(
            k.as_str(),
            "vmid"
                | "storage"
                | "force"
                | "unique"
                | "start"
                | "pool"
                | "restore"
                | "ostemplate"
                | "password"
                | "ssh-public-keys"
                | "ignore-unpack-errors"
                | "ha-managed"
        ) {
            continue;
        }
        if crate::pve::propstring::is_disk_key(k) {
            let (st, size) = v.split_once(':').unwrap_or((storage, v));
            let size = size.split(',').next().unwrap_or("8");
            cfg.insert(
                k.clone(),
                format!("{st}:vm-{vmid}-disk-{index},size={size}G"),
            );
            index += 1;
        } else {
            cfg.insert(k.clone(), v.clone());
        }
    }
    if kind == GuestKind::Lxc && !cfg.contains_key("rootfs") {
        cfg.insert(
            "rootfs".into(),
            format!("{storage}:vm-{vmid}-disk-0,size=8G"),
        );
    }
    if let Some(t) = call
        .params
        .get("ostemplate")
        .filter(|_| kind == GuestKind::Lxc)
    {
        cfg.entry("ostype".to_string()).or_insert_with(|| {
            if t.contains("debian") {
                "debian".into()
            } else {
                "unmanaged".into()
            }
        });
    }
    let digest = model.digest();
    cfg.insert("digest".into(), digest);
    let phase = model.rng.phase();
    model.guests.insert(
        vmid,
        SimGuest {
            vmid,
            kind,
            node: node.to_string(),
            running: false,
            config: cfg,
            snapshots: BTreeMap::new(),
            started_unix: None,
            phase,
            pending: BTreeMap::new(),
        },
    );
    let start = call.params.flag("start").unwrap_or(false);
    let spec = TaskSpec::new(
        node,
        if kind == GuestKind::Qemu {
            "qmcreate"
        } else {
            "vzcreate"
        },
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid)
    .lock("create")
    .step(2.0, 100.0, "")
    .finish(move |m| {
        if start && let Some(g) = m.guests.get_mut(&vmid) {
            g.running = true;
            g.started_unix = Some(now_unix());
        }
        Ok(Vec::new())
    })
    .undo(move |m| {
        m.guests.remove(&vmid);
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}
