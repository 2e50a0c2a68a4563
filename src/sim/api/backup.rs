//! Backups and storage content: vzdump, content listings, volume notes and
//! protection, volume deletion, and restoring (or creating) guests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Call;
use crate::pve::propstring::{Disk, LxcNet, QemuNet};
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimGuest, Volume, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};

const VZDUMP_SPEC: &[P] = &[
    opt("vmid", Ty::VmIdList),
    opt("all", Ty::Bool),
    opt("mode", Ty::Enum(&["snapshot", "suspend", "stop"])),
    opt("storage", Ty::Str),
    opt("compress", Ty::Enum(&["0", "1", "gzip", "lzo", "zstd"])),
    opt("notes-template", Ty::StrMax(1024)),
    opt("protected", Ty::Bool),
    opt("remove", Ty::Bool),
    opt("prune-backups", Ty::Str),
    opt("bwlimit", Ty::Int),
    opt("zstd", Ty::Int),
    opt("pigz", Ty::Int),
    opt("ionice", Ty::IntRange(0, 8)),
    opt("lockwait", Ty::Int),
    opt("stopwait", Ty::Int),
    opt("stdexcludes", Ty::Bool),
    opt("exclude", Ty::VmIdList),
    opt("exclude-path", Ty::Str),
    opt("node", Ty::Str),
    opt("quiet", Ty::Bool),
    opt("stop", Ty::Bool),
    opt("pool", Ty::Str),
    opt("mailto", Ty::Str),
    opt("mailnotification", Ty::Enum(&["always", "failure"])),
    opt(
        "notification-mode",
        Ty::Enum(&["auto", "legacy-sendmail", "notification-system"]),
    ),
    opt("fleecing", Ty::Str),
    opt("performance", Ty::Str),
    opt("tmpdir", Ty::Str),
    opt("dumpdir", Ty::Str),
    opt("script", Ty::Str),
    opt("maxfiles", Ty::Int),
    opt("job-id", Ty::Str),
    opt("stdout", Ty::Bool),
    opt(
        "pbs-change-detection-mode",
        Ty::Enum(&["legacy", "data", "metadata"]),
    ),
];

/// `/var/lib/vz/dump` for `local`, `/mnt/pve/<id>/dump` for others.
fn dump_dir(storage: &str) -> String {
    if storage == "local" {
        "/var/lib/vz/dump".into()
    } else {
        format!("/mnt/pve/{storage}/dump")
    }
}

fn archive_suffix(kind: GuestKind, compress: &str) -> (String, String) {
    let base = if kind == GuestKind::Qemu {
        "vma"
    } else {
        "tar"
    };
    let ext = match compress {
        "zstd" => ".zst",
        "gzip" => ".gz",
        "1" | "lzo" => ".lzo",
        _ => "",
    };
    (format!("{base}{ext}"), format!("{base}{ext}"))
}

fn fill_notes(template: &str, g: &SimGuest, node: &str, cluster: &str) -> String {
    let filled = template
        .replace("{{guestname}}", &g.name())
        .replace("{{vmid}}", &g.vmid.to_string())
        .replace("{{node}}", node)
        .replace("{{cluster}}", cluster)
        .replace("\\n", "\n");
    filled.lines().next().unwrap_or("").to_string()
}

pub fn vzdump(call: &Call, model: &mut Model, node: &str) -> Result<Value, ApiError> {
    call.check(VZDUMP_SPEC, &["node"])?;
    let p = &call.params;
    let storage = p.get("storage").unwrap_or("local").to_string();
    let st = model.storage_on(&storage, node)?.clone();
    if !st.holds("backup") {
        return Err(ApiError::server(format!(
            "storage '{storage}' does not support backups"
        )));
    }
    if p.get("notes-template").is_some() && p.get("storage").is_none() {
        return Err(ApiError::param(
            "notes-template",
            "missing property - 'storage' requires this property",
        ));
    }
    let vmids: Vec<u32> = if p.flag("all") == Some(true) {
        model
            .guests
            .values()
            .filter(|g| g.node == node)
            .map(|g| g.vmid)
            .collect()
    } else {
        p.get("vmid")
            .unwrap_or("")
            .split([',', ' ', ';'])
            .filter_map(|s| s.parse().ok())
            .collect()
    };
    if vmids.is_empty() {
        return Err(ApiError::param(
            "vmid",
            "property is missing and it is not optional",
        ));
    }
    for v in &vmids {
        call.require(&format!("/vms/{v}"), "VM.Backup")?;
    }
    let mode = p.get("mode").unwrap_or("snapshot").to_string();
    let compress = p.get("compress").unwrap_or("0").to_string();
    let notes_template = p.get("notes-template").map(str::to_string);
    let protected = p.flag("protected").unwrap_or(false);
    let id = if vmids.len() == 1 {
        vmids[0].to_string()
    } else {
        String::new()
    };
    let mut cmd = format!(
        "vzdump {}",
        vmids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (k, v) in &p.0 {
        if k != "vmid" {
            cmd.push_str(&format!(
                " --{k} {}",
                if v.contains(' ') || v.contains('{') {
                    format!("'{v}'")
                } else {
                    v.clone()
                }
            ));
        }
    }
    let mut spec = TaskSpec::new(node, "vzdump", id, call.upid_user())
        .header(format!("INFO: starting new backup job: {cmd}"));
    // Only a single guest holds its lock for the whole task (several: one after the other).
    if vmids.len() == 1 {
        spec = spec.vmid(vmids[0]).lock("backup");
    }
    let stamp = crate::timefmt::now_local("%Y_%m_%d-%H_%M_%S");
    let clock = crate::timefmt::now_local("%Y-%m-%d %H:%M:%S");
    let mut planned: Vec<(u32, Volume)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for vmid in &vmids {
        let Some(g) = model.guests.get(vmid).filter(|g| g.node == node).cloned() else {
            failures.push(format!("guest {vmid} is not on node {node}"));
            spec = spec.step(0.1, 0.0, format!("ERROR: Backup of VM {vmid} failed - unable to find VM '{vmid}' on node '{node}'"));
            continue;
        };
        let (format, suffix) = archive_suffix(g.kind, &compress);
        let mut name = format!("vzdump-{}-{vmid}-{stamp}.{suffix}", g.kind);
        // A real job takes more than a second, so names never repeat there;
        // the simulator can finish two in one second: make the second unique.
        let mut bump = 1;
        while model
            .volumes(&storage, node)
            .iter()
            .any(|v| v.volid == format!("{storage}:backup/{name}"))
        {
            let later = crate::timefmt::format_local(now_unix() + bump, "%Y_%m_%d-%H_%M_%S");
            name = format!("vzdump-{}-{vmid}-{later}.{suffix}", g.kind);
            bump += 1;
        }
        let used = (g.maxdisk() as f64 * (0.25 + 0.1 * g.phase.sin().abs())) as u64;
        let ratio = if compress == "0" { 1.0 } else { 0.42 };
        let size = ((used as f64) * ratio) as u64 + 4096;
        spec = spec
            .step(
                0.2,
                1.0,
                format!("INFO: Starting Backup of VM {vmid} ({})", g.kind),
            )
            .step(0.1, 2.0, format!("INFO: Backup started at {clock}"))
            .step(0.1, 3.0, format!("INFO: status = {}", g.status()))
            .step(
                0.1,
                4.0,
                format!(
                    "INFO: {} Name: {}",
                    if g.kind == GuestKind::Qemu {
                        "VM"
                    } else {
                        "CT"
                    },
                    g.name()
                ),
            )
            .step(0.1, 5.0, format!("INFO: backup mode: {mode}"))
            .step(0.1, 6.0, "INFO: ionice priority: 7");
        if mode == "stop" && g.running {
            spec = spec.step(2.0, 8.0, "INFO: stopping virtual guest");
        }
        if mode == "suspend" && g.running {
            spec = spec.step(1.0, 8.0, "INFO: suspending guest");
        }
        spec = spec.step(
            0.3,
            10.0,
            format!(
                "INFO: creating vzdump archive '{}/{name}'",
                dump_dir(&storage)
            ),
        );
        if g.kind == GuestKind::Qemu {
            for i in 1..=10u32 {
                let frac = f64::from(i) / 10.0;
                let gib = used as f64 / f64::from(1u32 << 30);
                spec = spec.step(
                    used as f64 / (300.0 * 1024.0 * 1024.0) / 10.0,
                    10.0 + 80.0 * frac,
                    format!(
                        "INFO: {:3}% ({:.1} GiB of {:.1} GiB) in {}s, read: 300.0 MiB/s, write: 120.0 MiB/s",
                        i * 10,
                        gib * frac,
                        gib,
                        i * 2
                    ),
                );
            }
        } else {
            spec = spec.step(
                used as f64 / (200.0 * 1024.0 * 1024.0),
                90.0,
                format!(
                    "INFO: Total bytes written: {used} ({:.1}GiB, 200MiB/s)",
                    used as f64 / f64::from(1u32 << 30)
                ),
            );
        }
        spec = spec.step(
            0.2,
            95.0,
            format!("INFO: archive file size: {:.2}GB", size as f64 / 1e9),
        );
        let notes = notes_template
            .as_ref()
            .map(|t| fill_notes(t, &g, node, &model.cluster_name));
        if notes.is_some() {
            spec = spec.step(0.1, 96.0, "INFO: adding notes to backup");
        }
        if mode != "snapshot" && g.running {
            spec = spec.step(1.0, 97.0, "INFO: resuming guest");
        }
        spec = spec.step(
            0.1,
            98.0,
            format!(
                "INFO: Finished Backup of VM {vmid} (00:00:{:02})",
                3 + used / (200 << 20)
            ),
        );
        planned.push((
            *vmid,
            Volume {
                volid: format!("{storage}:backup/{name}"),
                content: "backup".into(),
                format,
                size,
                ctime: now_unix(),
                vmid: Some(*vmid),
                subtype: Some(g.kind),
                notes,
                protected,
                backup_of: Some((g.kind, g.config.clone())),
            },
        ));
    }
    spec = spec.step(0.1, 99.0, format!("INFO: Backup finished at {clock}"));
    let storage_c = storage.clone();
    let node_c = node.to_string();
    let spec = spec.finish(move |m| {
        for (_, v) in planned {
            m.volumes_mut(&storage_c, &node_c).push(v);
        }
        if failures.is_empty() {
            Ok(vec!["INFO: Backup job finished successfully".into()])
        } else {
            Err(format!("job errors: {}", failures.join("; ")))
        }
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

/// Guest disks on a storage, listed as Proxmox lists `images`/`rootdir` content.
fn disk_volumes(model: &Model, node: &str, storage: &str) -> Vec<Value> {
    let shared = model.storages.iter().any(|s| s.id == storage && s.shared);
    model
        .guests
        .values()
        .filter(|g| shared || g.node == node)
        .flat_map(|g| {
            g.disks()
                .into_iter()
                .filter(|(_, d)| d.storage() == Some(storage))
                .map(move |(_, d)| {
                    json!({
                        "volid": d.volume().unwrap_or(""), "format": "raw", "size": d.size_bytes().unwrap_or(0),
                        "vmid": g.vmid, "content": if g.kind == GuestKind::Qemu { "images" } else { "rootdir" },
                    })
                })
        })
        .collect()
}

pub fn content(
    call: &Call,
    model: &mut Model,
    node: &str,
    storage: &str,
) -> Result<Value, ApiError> {
    call.check(
        &[
            opt(
                "content",
                Ty::Enum(&[
                    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
                ]),
            ),
            opt("vmid", Ty::VmId),
        ],
        &["node", "storage"],
    )?;
    call.require(&format!("/storage/{storage}"), "Datastore.Audit")?;
    let st = model.storage_on(storage, node)?.clone();
    let content = call.params.get("content");
    let vmid = call.params.int("vmid").map(|v| v as u32);
    let mut out: Vec<Value> = model
        .volumes(storage, node)
        .iter()
        .filter(|v| content.is_none_or(|c| c == v.content))
        .filter(|v| vmid.is_none_or(|id| v.vmid == Some(id)))
        .map(|v| {
            let mut e = json!({"volid": v.volid, "format": v.format, "size": v.size, "ctime": v.ctime, "content": v.content});
            let o = e.as_object_mut().expect("object");
            if let Some(id) = v.vmid {
                o.insert("vmid".into(), json!(id));
            }
            if let Some(k) = v.subtype {
                o.insert("subtype".into(), json!(k.as_str()));
            }
            if let Some(n) = &v.notes {
                o.insert("notes".into(), json!(n));
            }
            if v.protected {
                o.insert("protected".into(), json!(1));
            }
            e
        })
        .collect();
    if content.is_none_or(|c| c == "images" || c == "rootdir")
        && (st.holds("images") || st.holds("rootdir"))
    {
        out.extend(
            disk_volumes(model, node, storage)
                .into_iter()
                .filter(|v| content.is_none_or(|c| v["content"] == c))
                .filter(|v| vmid.is_none_or(|id| v["vmid"] == id)),
        );
    }
    Ok(Value::Array(out))
}

/// Volume names arrive either as full volids or as names inside the storage.
fn full_volid(storage: &str, volume: &str) -> String {
    if volume.contains(':') {
        volume.to_string()
    } else {
        format!("{storage}:{volume}")
    }
}

pub fn update_volume(
    call: &Call,
    model: &mut Model,
    node: &str,
    storage: &str,
    volume: &str,
) -> Result<Value, ApiError> {
    call.check(
        &[opt("notes", Ty::Str), opt("protected", Ty::Bool)],
        &["node", "storage", "volume"],
    )?;
    call.require(&format!("/storage/{storage}"), "Datastore.AllocateSpace")?;
    model.storage_on(storage, node)?;
    let volid = full_volid(storage, volume);
    let notes = call.params.get("notes").map(str::to_string);
    let protected = call.params.flag("protected");
    let v = model
        .volumes_mut(storage, node)
        .iter_mut()
        .find(|v| v.volid == volid)
        .ok_or_else(|| ApiError::server(format!("volume '{volid}' does not exist")))?;
    if let Some(n) = notes {
        v.notes = Some(n.lines().next().unwrap_or("").to_string()).filter(|s| !s.is_empty());
    }
    if let Some(p) = protected {
        v.protected = p;
    }
    Ok(Value::Null)
}

pub fn delete_volume(
    call: &Call,
    model: &mut Model,
    node: &str,
    storage: &str,
    volume: &str,
) -> Result<Value, ApiError> {
    call.check(
        &[opt("delay", Ty::IntRange(1, 30)), opt("storage", Ty::Str)],
        &["node", "storage", "volume"],
    )?;
    call.require(&format!("/storage/{storage}"), "Datastore.AllocateSpace")?;
    model.storage_on(storage, node)?;
    let volid = full_volid(storage, volume);
    let name = volid
        .split_once(':')
        .map(|(_, n)| n)
        .unwrap_or(&volid)
        .to_string();
    let found = model
        .volumes(storage, node)
        .iter()
        .find(|v| v.volid == volid)
        .cloned();
    let owner = found.as_ref().and_then(|v| v.vmid);
    let id = match owner {
        Some(v) => format!("{v}@{storage}"),
        None => storage.to_string(),
    };
    let path = format!(
        "{}/{}",
        dump_dir(storage),
        name.trim_start_matches("backup/")
    );
    let spec = TaskSpec::new(node, "imgdel", id, call.upid_user());
    let result: Result<(), String> = match &found {
        None => Err(format!(
            "removing archive {path} failed: No such file or directory"
        )),
        Some(v) if v.protected => Err(format!("cannot remove protected archive '{path}'")),
        Some(_) => Ok(()),
    };
    let delay = call.params.int("delay").is_some();
    if result.is_ok() {
        let (st, nd, vid) = (storage.to_string(), node.to_string(), volid.clone());
        let spec = spec
            .step(0.2, 100.0, format!("Removed volume '{volid}'"))
            .finish(move |m| {
                m.volumes_mut(&st, &nd).retain(|v| v.volid != vid);
                Ok(Vec::new())
            });
        let upid = tasks::start(call.shared, model, spec);
        let done = model
            .task(upid.as_str())
            .is_some_and(|t| !matches!(t.state, crate::sim::model::TaskState::Running));
        return Ok(if delay && done {
            Value::Null
        } else {
            json!(upid.as_str())
        });
    }
    let msg = result.err().unwrap_or_default();
    if delay {
        return Err(ApiError::server(msg));
    }
    Ok(json!(
        tasks::finished(call.shared, model, spec, Err(msg)).as_str()
    ))
}

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
    let storage = p
        .get("storage")
        .map(str::to_string)
        .unwrap_or_else(|| "local-lvm".into());
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
    let (astore, aname) = archive
        .split_once(':')
        .unwrap_or(("local", archive.as_str()));
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
        dump_dir(astore),
        aname.trim_start_matches("backup/")
    );
    let Some(backup) = backup else {
        let msg = format!("unable to restore {noun} {vmid} - can't find archive file '{path}'");
        return Ok(json!(
            tasks::finished(call.shared, model, spec, Err(msg)).as_str()
        ));
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
    let mut config = restored_config(model, &bconfig, bkind, vmid, &storage, unique);
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
        },
    );
    let total = backup.size.max(1 << 28);
    let mut spec = spec.lock("create").header(match kind {
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
            match previous {
                Some(p) => m.guests.insert(vmid, p),
                None => m.guests.remove(&vmid),
            };
        });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

/// A backed-up config made into guest `vmid`: disks on `storage`, MACs new when `unique`.
fn restored_config(
    model: &mut Model,
    src: &BTreeMap<String, String>,
    kind: GuestKind,
    vmid: u32,
    storage: &str,
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
                cfg.insert(k, format!("{storage}:vm-{vmid}-disk-{index}{size}"));
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
