//! Guests: list, status, config, clone, template, destroy, migrate, power.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Call;
use crate::pve::propstring::{Disk, LxcNet, QemuNet};
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::metrics;
use crate::sim::model::{Model, SimGuest, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};

fn list_item(g: &SimGuest) -> Value {
    let mut e = json!({
        "vmid": g.vmid, "status": g.status(), "name": g.name(), "cpus": g.cpus(), "cpu": metrics::guest_cpu(g),
        "maxmem": g.maxmem(), "mem": metrics::guest_mem(g), "maxdisk": g.maxdisk(), "uptime": metrics::guest_uptime(g),
        "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    });
    let o = e.as_object_mut().expect("object");
    if g.template() {
        o.insert("template".into(), json!(1));
    }
    if let Some(l) = g.lock() {
        o.insert("lock".into(), json!(l));
    }
    if let Some(t) = g.config.get("tags") {
        o.insert("tags".into(), json!(t));
    }
    match g.kind {
        GuestKind::Qemu => {
            o.insert("qmpstatus".into(), json!(g.status()));
            o.insert("disk".into(), json!(0));
        }
        GuestKind::Lxc => {
            o.insert("type".into(), json!("lxc"));
            o.insert("disk".into(), json!(metrics::guest_disk(g)));
            o.insert("maxswap".into(), json!(536_870_912u64));
        }
    }
    e
}

pub fn list(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
) -> Result<Value, ApiError> {
    let spec: &[P] = match kind {
        GuestKind::Qemu => &[opt("full", Ty::Bool)],
        GuestKind::Lxc => &[],
    };
    call.check(spec, &["node"])?;
    Ok(Value::Array(
        model
            .guests
            .values()
            .filter(|g| g.node == node && g.kind == kind)
            .filter(|g| {
                call.require(&format!("/vms/{}", g.vmid), "VM.Audit")
                    .is_ok()
            })
            .map(list_item)
            .collect(),
    ))
}

pub fn status(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(&[], &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Audit")?;
    let g = model.guest(node, kind, vmid)?;
    let mut e = list_item(g);
    e.as_object_mut()
        .expect("object")
        .insert("ha".into(), json!({"managed": 0}));
    Ok(e)
}

pub fn config(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(
        &[opt("current", Ty::Bool), opt("snapshot", Ty::ConfigId)],
        &["node", "vmid"],
    )?;
    call.require(&format!("/vms/{vmid}"), "VM.Audit")?;
    let g = model.guest(node, kind, vmid)?;
    let cfg = match call.params.get("snapshot") {
        Some(s) => {
            &g.snapshots
                .get(s)
                .ok_or_else(|| ApiError::server(format!("snapshot '{s}' does not exist")))?
                .config
        }
        None => &g.config,
    };
    Ok(config_json(kind, cfg))
}

/// Keys the schema declares as integers or booleans go out as numbers, the
/// rest as text (qemu `memory` is a property string since PVE 8).
fn config_json(kind: GuestKind, cfg: &BTreeMap<String, String>) -> Value {
    let numeric: &[&str] = match kind {
        GuestKind::Qemu => &[
            "cores",
            "sockets",
            "template",
            "onboot",
            "balloon",
            "protection",
            "vcpus",
            "cpuunits",
        ],
        GuestKind::Lxc => &[
            "memory",
            "cores",
            "swap",
            "cpuunits",
            "template",
            "onboot",
            "protection",
            "unprivileged",
            "tty",
            "console",
        ],
    };
    let mut out = serde_json::Map::new();
    for (k, v) in cfg {
        let value = match (numeric.contains(&k.as_str()), v.parse::<i64>()) {
            (true, Ok(n)) => json!(n),
            _ => json!(v),
        };
        out.insert(k.clone(), value);
    }
    Value::Object(out)
}

const QEMU_CONFIG_SPEC: &[P] = &[
    opt("name", Ty::DnsName),
    opt("memory", Ty::Int),
    opt("cores", Ty::IntRange(1, 1024)),
    opt("sockets", Ty::IntRange(1, 4)),
    opt("cpu", Ty::Str),
    opt("description", Ty::StrMax(8192)),
    opt("tags", Ty::Str),
    opt("onboot", Ty::Bool),
    opt("net[n]", Ty::QemuNet),
    opt("ipconfig[n]", Ty::IpConfig),
    opt("nameserver", Ty::Str),
    opt("searchdomain", Ty::Str),
    opt("ciuser", Ty::Str),
    opt("cipassword", Ty::Str),
    opt("sshkeys", Ty::Str),
    opt("agent", Ty::Str),
    opt("boot", Ty::Str),
    opt(
        "ostype",
        Ty::Enum(&[
            "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11",
            "l24", "l26", "solaris",
        ]),
    ),
    opt("scsihw", Ty::Str),
    opt("scsi[n]", Ty::Disk),
    opt("virtio[n]", Ty::Disk),
    opt("ide[n]", Ty::Disk),
    opt("sata[n]", Ty::Disk),
    opt("balloon", Ty::Int),
    opt("protection", Ty::Bool),
    opt("startup", Ty::Str),
    opt("delete", Ty::ConfigIdList),
    opt("digest", Ty::StrMax(40)),
    opt("revert", Ty::ConfigIdList),
    opt("skiplock", Ty::Bool),
    opt("vmgenid", Ty::Str),
];

const QEMU_CONFIG_POST_EXTRA: &[P] = &[opt("background_delay", Ty::IntRange(1, 30))];

const LXC_CONFIG_SPEC: &[P] = &[
    opt("hostname", Ty::DnsName),
    opt("memory", Ty::Int),
    opt("swap", Ty::Int),
    opt("cores", Ty::IntRange(1, 8192)),
    opt("cpulimit", Ty::Num),
    opt("cpuunits", Ty::Int),
    opt("description", Ty::StrMax(8192)),
    opt("tags", Ty::Str),
    opt("onboot", Ty::Bool),
    opt("net[n]", Ty::LxcNet),
    opt("nameserver", Ty::Str),
    opt("searchdomain", Ty::Str),
    opt("rootfs", Ty::Disk),
    opt("mp[n]", Ty::Disk),
    opt("ostype", Ty::Str),
    opt("arch", Ty::Str),
    opt("unprivileged", Ty::Bool),
    opt("features", Ty::Str),
    opt("protection", Ty::Bool),
    opt("startup", Ty::Str),
    opt("delete", Ty::ConfigIdList),
    opt("digest", Ty::StrMax(40)),
    opt("revert", Ty::ConfigIdList),
];

/// PUT (sync, answers null) or qemu POST (answers null when nothing needs a worker).
pub fn set_config(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    post: bool,
) -> Result<Value, ApiError> {
    let mut spec: Vec<P> = match kind {
        GuestKind::Qemu => QEMU_CONFIG_SPEC.to_vec(),
        GuestKind::Lxc => LXC_CONFIG_SPEC.to_vec(),
    };
    if post {
        spec.extend_from_slice(QEMU_CONFIG_POST_EXTRA);
    }
    call.check(&spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Config.Options")?;
    model.guest(node, kind, vmid)?;
    model.check_config_lock(kind, vmid)?;
    let new_digest = model.digest();
    let g = model.guest_mut(node, kind, vmid)?;
    if call.params.flag("skiplock") != Some(true) {
        Model::check_lock(g)?;
    }
    if let Some(d) = call.params.get("digest")
        && g.config.get("digest").map(String::as_str) != Some(d)
    {
        return Err(ApiError::server(
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    for (k, v) in &call.params.0 {
        if matches!(
            k.as_str(),
            "delete" | "digest" | "revert" | "skiplock" | "background_delay" | "node" | "vmid"
        ) {
            continue;
        }
        g.config.insert(k.clone(), v.clone());
    }
    if let Some(del) = call.params.get("delete") {
        for key in del.split([',', ';', ' ']).filter(|s| !s.is_empty()) {
            g.config.remove(key);
        }
    }
    g.config.insert("digest".into(), new_digest);
    Ok(Value::Null)
}

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
            if !is_cd {
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
    if model.guests.contains_key(&newid) {
        return Err(ApiError::server(format!(
            "unable to create {noun} {newid}: config file already exists"
        )));
    }
    Model::check_lock(&src)?;
    let target = p.get("target").unwrap_or(node).to_string();
    if target != node {
        model
            .node(&target)
            .map_err(|_| ApiError::server(format!("no such cluster node '{target}'")))?;
    }
    let full = p.flag("full").unwrap_or(!src.template());
    let snapname = p.get("snapname");
    if kind == GuestKind::Lxc && src.running && full && snapname.is_none() {
        return Err(ApiError::server(
            "Full clone of a running container is only possible from a snapshot",
        ));
    }
    if !full && p.get("storage").is_some() {
        return Err(ApiError::server(
            "parameter 'storage' not allowed for linked clones",
        ));
    }
    if target != node {
        let local = src.disks().iter().any(|(_, d)| {
            d.storage()
                .is_none_or(|s| !model.storages.iter().any(|st| st.id == s && st.shared))
        });
        if local
            && p.get("storage")
                .is_none_or(|s| !model.storages.iter().any(|st| st.id == s && st.shared))
        {
            return Err(ApiError::server(format!(
                "can't clone {noun} to node '{target}' ({noun} uses local storage)"
            )));
        }
    }
    if let Some(st) = p.get("storage") {
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
    let base_cfg = match snapname {
        Some(s) => src
            .snapshots
            .get(s)
            .ok_or_else(|| ApiError::server(format!("snapshot '{s}' does not exist")))?
            .config
            .clone(),
        None => src.config.clone(),
    };
    let mut cfg = cloned_config(model, &base_cfg, kind, newid, p.get("storage"));
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
        },
    );
    let total: u64 = src.disks().iter().filter_map(|(_, d)| d.size_bytes()).sum();
    let mut spec = TaskSpec::new(
        node,
        if kind == GuestKind::Qemu {
            "qmclone"
        } else {
            "vzclone"
        },
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(newid)
    .lock("clone");
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
        GuestKind::Lxc => {
            make_template(model);
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

pub fn destroy(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    let mut spec = vec![
        opt("purge", Ty::Bool),
        opt("destroy-unreferenced-disks", Ty::Bool),
    ];
    match kind {
        GuestKind::Qemu => spec.push(opt("skiplock", Ty::Bool)),
        GuestKind::Lxc => spec.push(opt("force", Ty::Bool)),
    }
    call.check(&spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Allocate")?;
    model.check_config_lock(kind, vmid)?;
    let g = model.guest(node, kind, vmid)?;
    if g.running && call.params.flag("force") != Some(true) {
        return Err(ApiError::server(format!(
            "{} {vmid} is running - destroy failed",
            kind.noun()
        )));
    }
    Model::check_lock(g)?;
    if g.config.get("protection").is_some_and(|p| p == "1") {
        return Err(ApiError::server(format!(
            "{} {vmid} - protection mode enabled",
            kind.noun()
        )));
    }
    let volumes: Vec<String> = g
        .disks()
        .iter()
        .filter_map(|(_, d)| d.volume().map(str::to_string))
        .collect();
    let mut spec = TaskSpec::new(
        node,
        if kind == GuestKind::Qemu {
            "qmdestroy"
        } else {
            "vzdestroy"
        },
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid)
    .lock("destroyed");
    for v in volumes {
        spec = spec.step(
            0.5,
            50.0,
            format!(
                "  Logical volume \"{}\" successfully removed.",
                v.split(':').nth(1).unwrap_or(&v)
            ),
        );
    }
    let spec = spec.finish(move |m| {
        m.guests.remove(&vmid);
        Ok(Vec::new())
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

fn migrate_spec(kind: GuestKind) -> Vec<P> {
    match kind {
        GuestKind::Qemu => vec![
            req("target", Ty::Str),
            opt("online", Ty::Bool),
            opt("with-local-disks", Ty::Bool),
            opt("targetstorage", Ty::Str),
            opt("force", Ty::Bool),
            opt("migration_type", Ty::Enum(&["secure", "insecure"])),
            opt("migration_network", Ty::Str),
            opt("bwlimit", Ty::Int),
            opt("with-conntrack-state", Ty::Bool),
        ],
        GuestKind::Lxc => vec![
            req("target", Ty::Str),
            opt("online", Ty::Bool),
            opt("restart", Ty::Bool),
            opt("timeout", Ty::Int),
            opt("target-storage", Ty::Str),
            opt("bwlimit", Ty::Num),
        ],
    }
}

pub fn migrate(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(&migrate_spec(kind), &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Migrate")?;
    let p = &call.params;
    let target = p.get("target").unwrap_or_default().to_string();
    let g = model.guest(node, kind, vmid)?.clone();
    if target == node {
        return Err(ApiError::server("target is local node."));
    }
    let tnode = model
        .nodes
        .get(&target)
        .ok_or_else(|| ApiError::server(format!("no such cluster node '{target}'")))?
        .clone();
    Model::check_lock(&g)?;
    let online = p.flag("online").unwrap_or(false);
    if g.running {
        match kind {
            GuestKind::Qemu if !online => {
                return Err(ApiError::server(
                    "can't migrate running VM without --online",
                ));
            }
            GuestKind::Lxc if !online && p.flag("restart") != Some(true) => {
                return Err(ApiError::server(
                    "can't migrate running container without --online or --restart",
                ));
            }
            _ => {}
        }
    }
    let total: u64 = g.disks().iter().filter_map(|(_, d)| d.size_bytes()).sum();
    let local_disks = g.disks().iter().any(|(_, d)| {
        d.storage()
            .is_none_or(|s| !model.storages.iter().any(|st| st.id == s && st.shared))
    });
    let mut spec = TaskSpec::new(
        node,
        if kind == GuestKind::Qemu {
            "qmigrate"
        } else {
            "vzmigrate"
        },
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid)
    .lock("migrate")
    .header(format!(
        "{} starting migration of {} {vmid} to node '{target}' ({})",
        hms(),
        kind.noun(),
        tnode.ip
    ));
    if local_disks {
        spec = spec.step(
            0.5,
            1.0,
            format!("{} found local disk(s), copying to {target}", hms()),
        );
        for (secs, pct, line) in copy_steps(total, 300.0 * 1024.0 * 1024.0) {
            spec = spec.step(secs, pct * 0.98, format!("{} {line}", hms()));
        }
    }
    let target_c = target.clone();
    let spec = spec.finish(move |m| {
        if !m.nodes.get(&target_c).is_some_and(|n| n.online) {
            return Err(format!(
                "migration aborted: node '{target_c}' is not online"
            ));
        }
        if let Some(g) = m.guests.get_mut(&vmid) {
            g.node = target_c.clone();
        }
        Ok(vec![format!(
            "{} migration finished successfully (duration 00:00:{:02})",
            hms(),
            5 + total / (1 << 30)
        )])
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

/// `2026-01-29 14:03:11` as Proxmox prefixes migration log lines.
fn hms() -> String {
    crate::timefmt::now_local("%Y-%m-%d %H:%M:%S")
}

fn power_spec(kind: GuestKind, action: &str) -> Option<Vec<P>> {
    Some(match (kind, action) {
        (GuestKind::Qemu, "start") => vec![
            opt("skiplock", Ty::Bool),
            opt("timeout", Ty::Int),
            opt("machine", Ty::Str),
            opt("force-cpu", Ty::Str),
            opt("migratedfrom", Ty::Str),
            opt("migration_network", Ty::Str),
            opt("migration_type", Ty::Enum(&["secure", "insecure"])),
            opt("stateuri", Ty::Str),
            opt("targetstorage", Ty::Str),
            opt("nets-host-mtu", Ty::Str),
            opt("with-conntrack-state", Ty::Bool),
        ],
        (GuestKind::Qemu, "stop") => vec![
            opt("skiplock", Ty::Bool),
            opt("timeout", Ty::Int),
            opt("keepActive", Ty::Bool),
            opt("overrule-shutdown", Ty::Bool),
            opt("migratedfrom", Ty::Str),
        ],
        (GuestKind::Qemu, "shutdown") => vec![
            opt("timeout", Ty::Int),
            opt("forceStop", Ty::Bool),
            opt("keepActive", Ty::Bool),
            opt("skiplock", Ty::Bool),
        ],
        (GuestKind::Qemu, "reboot") => vec![opt("timeout", Ty::Int)],
        (GuestKind::Lxc, "start") => vec![opt("skiplock", Ty::Bool), opt("debug", Ty::Bool)],
        (GuestKind::Lxc, "stop") => vec![
            opt("skiplock", Ty::Bool),
            opt("overrule-shutdown", Ty::Bool),
        ],
        (GuestKind::Lxc, "shutdown") => vec![opt("timeout", Ty::Int), opt("forceStop", Ty::Bool)],
        (GuestKind::Lxc, "reboot") => vec![opt("timeout", Ty::Int)],
        _ => return None,
    })
}

pub fn power(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    action: &str,
) -> Result<Value, ApiError> {
    let Some(spec) = power_spec(kind, action) else {
        return Err(ApiError::not_implemented(
            call.method,
            &format!("/api2/json{}", call.path),
        ));
    };
    call.check(&spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.PowerMgmt")?;
    let g = model.guest(node, kind, vmid)?.clone();
    let prefix = if kind == GuestKind::Qemu { "qm" } else { "vz" };
    let task_type = format!("{prefix}{action}");
    let spec = TaskSpec::new(node, &task_type, vmid.to_string(), call.upid_user()).vmid(vmid);
    let skiplock = call.params.flag("skiplock") == Some(true);
    // Checks Proxmox makes before forking (500 at once) or inside the worker (a failed task).
    let in_task_error: Option<String> = match (kind, action) {
        (GuestKind::Lxc, "start") if g.running => {
            return Err(ApiError::server(format!("CT {vmid} already running")));
        }
        (GuestKind::Lxc, "stop" | "shutdown" | "reboot") if !g.running => {
            return Err(ApiError::server(format!("CT {vmid} not running")));
        }
        (GuestKind::Lxc, _) if !skiplock && g.lock().is_some() => {
            return Err(ApiError::server(format!(
                "CT is locked ({})",
                g.lock().unwrap_or_default()
            )));
        }
        (GuestKind::Lxc, "start") if g.template() => {
            Some("you can't start a CT if it's a template".into())
        }
        (GuestKind::Qemu, _) if !skiplock && g.lock().is_some() => {
            Some(format!("VM is locked ({})", g.lock().unwrap_or_default()))
        }
        (GuestKind::Qemu, "start") if g.template() => {
            Some("you can't start a vm if it's a template".into())
        }
        (GuestKind::Qemu, "start") if g.running => Some(format!("VM {vmid} already running")),
        (GuestKind::Qemu, "shutdown" | "reboot") if !g.running => {
            Some(format!("VM {vmid} not running"))
        }
        _ => None,
    };
    if let Some(msg) = in_task_error {
        return Ok(json!(
            tasks::finished(call.shared, model, spec, Err(msg)).as_str()
        ));
    }
    let action = action.to_string();
    let spec = spec
        .step(if action == "start" { 2.0 } else { 1.0 }, 100.0, "")
        .finish(move |m| {
            if let Some(g) = m.guests.get_mut(&vmid) {
                match action.as_str() {
                    "start" | "reboot" => {
                        g.running = true;
                        g.started_unix = Some(now_unix());
                    }
                    _ => {
                        g.running = false;
                        g.started_unix = None;
                    }
                }
            }
            Ok(Vec::new())
        });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}
