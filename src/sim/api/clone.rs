//! Cloning a guest (full or linked, on its node or to another over shared
//! storage) and turning a guest into a template.

use super::Call;
use crate::pve::propstring::{Disk, LxcNet, QemuNet};
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimGuest};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn clone_spec(kind: GuestKind) -> Vec<P> {
    let mut s = vec![
        req("newid", Ty::VmId),
        opt("description", Ty::StrMax(8192)),
        opt("target", Ty::Str),
        opt("full", Ty::Bool),
        opt("storage", Ty::Str),
        opt("pool", Ty::Str),
        opt("snapname", Ty::ConfigId),
    ];
    match kind {
        GuestKind::Qemu => s.extend([
            opt("name", Ty::DnsName),
            opt("format", Ty::Enum(&["raw", "qcow2", "vmdk"])),
            opt("bwlimit", Ty::Int),
        ]),
        GuestKind::Lxc => s.extend([opt("hostname", Ty::DnsName), opt("bwlimit", Ty::Num)]),
    }
    s
}

/// Disk copy progress lines, as `qemu-img`/`drive-mirror` log them.
pub fn copy_steps(total_bytes: u64, rate_bytes_per_sec: f64) -> Vec<(f64, f64, String)> {
    let total = total_bytes.max(1 << 30) as f64;
    let secs = total / rate_bytes_per_sec;
    let gib = |b: f64| b / (1u64 << 30) as f64;
    (1..=10)
        .map(|i| {
            let frac = f64::from(i) / 10.0;
            (
                secs / 10.0,
                frac * 100.0,
                format!(
                    "transferred {:.1} GiB of {:.1} GiB ({:.2}%)",
                    gib(total * frac),
                    gib(total),
                    frac * 100.0
                ),
            )
        })
        .collect()
}

/// Rename a disk volume for another guest: `local-lvm:base-101-disk-0` → `local-lvm:vm-300-disk-0`.
fn disk_for(
    disk: &str,
    newid: u32,
    storage: Option<&str>,
    index: usize,
    kind: GuestKind,
) -> String {
    let Ok(d) = Disk::parse(disk) else {
        return disk.to_string();
    };
    let st = storage.or(d.storage()).unwrap_or("local-lvm");
    let size = d.size().map(|s| format!(",size={s}")).unwrap_or_default();
    let _ = kind;
    format!("{st}:vm-{newid}-disk-{index}{size}")
}

/// A guest's config with new identity: disks renamed, MACs regenerated, no template/lock/parent.
fn cloned_config(
    model: &mut Model,
    src: &BTreeMap<String, String>,
    kind: GuestKind,
    newid: u32,
    storage: Option<&str>,
) -> BTreeMap<String, String> {
    let mut cfg = src.clone();
    for k in [
        "template", "lock", "parent", "digest", "snaptime", "vmstate",
    ] {
        cfg.remove(k);
    }
    let mut disk_index = 0;
    let keys: Vec<String> = cfg.keys().cloned().collect();
    for k in keys {
        let v = cfg[&k].clone();
        if crate::pve::propstring::is_disk_key(&k) {
            let is_cd = Disk::parse(&v)
                .ok()
                .is_some_and(|d| d.media() == Some("cdrom") || d.storage().is_none());
            if is_cd && v.contains("-cloudinit") {
                // The cloud-init drive is made again for the new guest.
                if let Some((st, _)) = v.split_once(':') {
                    let st = storage.unwrap_or(st);
                    cfg.insert(k.clone(), format!("{st}:vm-{newid}-cloudinit,media=cdrom"));
                }
            } else if !is_cd {
                cfg.insert(k.clone(), disk_for(&v, newid, storage, disk_index, kind));
                disk_index += 1;
            }
        } else if k.starts_with("net") && k[3..].chars().all(|c| c.is_ascii_digit()) {
            let mac = model.random_mac();
            let replaced = match kind {
                GuestKind::Qemu => QemuNet::parse(&v).ok().map(|mut n| {
                    n.set_mac(mac);
                    n.to_string()
                }),
                GuestKind::Lxc => LxcNet::parse(&v).ok().map(|mut n| {
                    n.set_mac(mac);
                    n.to_string()
                }),
            };
            if let Some(r) = replaced {
                cfg.insert(k, r);
            }
        } else if k == "vmgenid" || k == "smbios1" {
            cfg.remove(&k);
        }
    }
    let digest = model.digest();
    cfg.insert("digest".into(), digest);
    cfg
}

pub fn clone(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(&clone_spec(kind), &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Clone")?;
    let p = &call.params;
    let newid = p.int("newid").unwrap_or(0) as u32;
    call.require(&format!("/vms/{newid}"), "VM.Allocate")?;
    let src = model.guest(node, kind, vmid)?.clone();
    let noun = kind.noun();
    let target = p.get("target").unwrap_or(node).to_string();
    if target != node {
        model
            .node(&target)
            .map_err(|_| ApiError::server(format!("no such cluster node '{target}'")))?;
    }
    // Both: the source's config lock first (an LXC clone takes `disk` on it,
    // a qemu clone checks it); pve-guest-common AbstractConfig::check_lock.
    Model::check_lock(&src)?;
    if model.guests.contains_key(&newid) {
        return Err(ApiError::server(match kind {
            GuestKind::Qemu => format!("unable to create VM {newid}: config file already exists"),
            GuestKind::Lxc => {
                let at = model
                    .guests
                    .get(&newid)
                    .map(|g| g.node.clone())
                    .unwrap_or_default();
                format!("CT {newid} already exists on node '{at}'")
            }
        }));
    }
    let full = p.flag("full").unwrap_or(!src.template());
    let snapname = p.get("snapname");
    let storage = p.get("storage");
    if !full && storage.is_some() {
        return Err(ApiError::server(
            "parameter 'storage' not allowed for linked clones",
        ));
    }
    let base_cfg = match snapname {
        Some(s) => src
            .snapshots
            .get(s)
            .ok_or_else(|| ApiError::server(format!("snapshot '{s}' does not exist")))?
            .config
            .clone(),
        None => src.config.clone(),
    };
    let base = SimGuest {
        config: base_cfg.clone(),
        ..src.clone()
    };
    // Whether every volume is on shared storage, as each kind decides it.
    let shared = match kind {
        // qemu: CD-ROMs (ISOs, cloud-init drives) count; `storage` does not
        // make local disks shared (Qemu.pm $check_storage_access_clone).
        GuestKind::Qemu => base
            .volumes()
            .iter()
            .all(|(_, d, _)| d.storage().is_some_and(|st| model.is_shared(st))),
        // LXC: volumes only; a given `storage` stands in for each volume's
        // (LXC.pm clone_vm: `$sid = $storage if defined($storage)`). A running
        // container is cloned in full only from a snapshot, checked per
        // volume before sharedness is decided.
        GuestKind::Lxc => {
            let mut all = true;
            for (_, d, cd) in base.volumes() {
                if cd {
                    continue;
                }
                if full && src.running && snapname.is_none() {
                    return Err(ApiError::server(
                        "Full clone of a running container is only possible from a snapshot",
                    ));
                }
                let sid = storage.or(d.storage()).unwrap_or_default();
                all &= model.is_shared(sid);
            }
            all
        }
    };
    if target != node && !shared {
        return Err(ApiError::server(format!(
            "can't clone {noun} to node '{target}' ({noun} uses local storage)"
        )));
    }
    if let Some(st) = storage {
        let s = model.storage_on(st, &target)?;
        let content = if kind == GuestKind::Qemu {
            "images"
        } else {
            "rootdir"
        };
        if !s.holds(content) {
            return Err(ApiError::server(format!(
                "storage '{st}' does not support {}",
                if kind == GuestKind::Qemu {
                    "vm images"
                } else {
                    "CT rootdirs"
                }
            )));
        }
    }
    let mut cfg = cloned_config(model, &base_cfg, kind, newid, storage);
    let name_key = if kind == GuestKind::Qemu {
        "name"
    } else {
        "hostname"
    };
    match p.get(name_key) {
        Some(n) => {
            cfg.insert(name_key.into(), n.to_string());
        }
        None if kind == GuestKind::Qemu => {
            cfg.insert("name".into(), format!("Copy-of-VM-{}", src.name()));
        }
        None => {}
    }
    if let Some(d) = p.get("description") {
        cfg.insert("description".into(), d.to_string());
    }
    let phase = model.rng.phase();
    model.guests.insert(
        newid,
        SimGuest {
            vmid: newid,
            kind,
            node: target.clone(),
            running: false,
            config: cfg,
            snapshots: BTreeMap::new(),
            started_unix: None,
            phase,
            pending: BTreeMap::new(),
        },
    );
    let total: u64 = src.disks().iter().filter_map(|(_, d)| d.size_bytes()).sum();
    let spec = TaskSpec::new(
        node,
        if kind == GuestKind::Qemu {
            "qmclone"
        } else {
            "vzclone"
        },
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(newid);
    let spec = match kind {
        // The new VM's config is locked `clone`; the worker holds the source's
        // config file lock, exclusively while it runs (Qemu.pm clone_vm
        // $lock_source_vm), so a second clone of a running VM fails on it.
        GuestKind::Qemu => spec.lock("clone").flock(GuestKind::Qemu, vmid, src.running),
        // The source's config is locked `disk` before the worker starts and
        // until it ends; the new CT's is `create` (LXC.pm clone_vm).
        GuestKind::Lxc => spec.lock("create").lock_other(vmid, "disk"),
    };
    let mut spec = spec;
    for (k, d) in src.disks() {
        spec = spec.header(format!(
            "create {} clone of drive {k} ({})",
            if full { "full" } else { "linked" },
            d.volume().unwrap_or("")
        ));
    }
    let rate = if full {
        400.0 * 1024.0 * 1024.0
    } else {
        8.0 * 1024.0 * 1024.0 * 1024.0
    };
    for (secs, pct, line) in copy_steps(total, rate) {
        spec = spec.step(secs, pct, line);
    }
    let spec = spec.undo(move |m| {
        m.guests.remove(&newid);
    });
    let upid = tasks::start(call.shared, model, spec);
    Ok(json!(upid.as_str()))
}

pub fn template(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    let spec: &[P] = match kind {
        GuestKind::Qemu => &[opt("disk", Ty::Str)],
        GuestKind::Lxc => &[],
    };
    call.check(spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Allocate")?;
    let g = model.guest(node, kind, vmid)?;
    let noun = kind.noun();
    Model::check_lock(g)?;
    if g.template() {
        return Err(ApiError::server(
            "you can't convert a template to a template",
        ));
    }
    if g.running {
        return Err(ApiError::server(match kind {
            GuestKind::Qemu => "you can't convert a VM to template if VM is running".to_string(),
            GuestKind::Lxc => "you can't convert a CT to template if the CT is running".to_string(),
        }));
    }
    if !g.snapshots.is_empty() {
        return Err(ApiError::server(format!(
            "unable to create template, because {noun} contains snapshots"
        )));
    }
    let make_template = move |m: &mut Model| {
        if let Some(g) = m.guests.get_mut(&vmid) {
            g.config.insert("template".into(), "1".into());
            let keys: Vec<String> = g
                .config
                .keys()
                .filter(|k| crate::pve::propstring::is_disk_key(k))
                .cloned()
                .collect();
            for k in keys {
                let v =
                    g.config[&k].replace(&format!("vm-{vmid}-disk"), &format!("base-{vmid}-disk"));
                g.config.insert(k, v);
            }
        }
    };
    match kind {
        // The conversion runs in a `vztemplate` worker; the API answers null
        // at once (LXC.pm template: fork_worker, then `return undef`).
        GuestKind::Lxc => {
            let spec = TaskSpec::new(node, "vztemplate", vmid.to_string(), call.upid_user())
                .vmid(vmid)
                .flock(GuestKind::Lxc, vmid, true)
                .step(2.0, 100.0, "converting the rootfs into a base image")
                .finish(move |m| {
                    make_template(m);
                    Ok(Vec::new())
                });
            tasks::start(call.shared, model, spec);
            Ok(Value::Null)
        }
        GuestKind::Qemu => {
            let spec = TaskSpec::new(node, "qmtemplate", vmid.to_string(), call.upid_user())
                .vmid(vmid)
                .lock("create")
                .step(2.0, 100.0, "renaming disks to base images")
                .finish(move |m| {
                    make_template(m);
                    Ok(Vec::new())
                });
            Ok(json!(tasks::start(call.shared, model, spec).as_str()))
        }
    }
}
