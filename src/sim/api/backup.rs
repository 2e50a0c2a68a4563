//! vzdump: backing guests up into archives on a backup storage.

use super::{Call, retention};
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimGuest, Volume, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt};
use serde_json::{Value, json};

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
pub(super) fn dump_dir(storage: &str) -> String {
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

/// The notes a backup gets: the template filled, first line only (what a
/// directory storage keeps in its `.notes` file).
fn fill_notes(template: &str, g: &SimGuest, node: &str, cluster: &str) -> String {
    let filled = retention::fill_notes(
        template,
        &[
            ("guestname", g.name()),
            ("vmid", g.vmid.to_string()),
            ("node", node.to_string()),
            ("cluster", cluster.to_string()),
        ],
    );
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
    if let Some(t) = p.get("notes-template") {
        retention::verify_notes_template(t).map_err(|e| ApiError::param("notes-template", &e))?;
    }
    let job = retention::job_retention(model, &storage, p.get("prune-backups"), p.flag("remove"))?;
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
    // vzdump names archives and logs times in the node's own zone.
    let zone = model.node(node)?.zone();
    let stamp = crate::timefmt::format_in(now_unix(), "%Y_%m_%d-%H_%M_%S", &zone);
    let clock = crate::timefmt::format_in(now_unix(), "%Y-%m-%d %H:%M:%S", &zone);
    let mut planned: Vec<(u32, Volume)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for vmid in &vmids {
        let Some(g) = model.guests.get(vmid).filter(|g| g.node == node).cloned() else {
            failures.push(format!("guest {vmid} is not on node {node}"));
            spec = spec.step(0.1, 0.0, format!("ERROR: Backup of VM {vmid} failed - unable to find VM '{vmid}' on node '{node}'"));
            continue;
        };
        if let Err(e) = retention::check_limit(model, &job, &storage, node, g.kind, *vmid) {
            failures.push(format!("{vmid}: {e}"));
            spec = spec.step(0.1, 0.0, format!("ERROR: Backup of VM {vmid} failed - {e}"));
            continue;
        }
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
            let later = crate::timefmt::format_in(now_unix() + bump, "%Y_%m_%d-%H_%M_%S", &zone);
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
        let mut lines = Vec::new();
        for (vmid, v) in planned {
            let kind = v.subtype.unwrap_or(GuestKind::Qemu);
            m.volumes_mut(&storage_c, &node_c).push(v);
            lines.extend(retention::prune_after_backup(
                m, &job, &storage_c, &node_c, kind, vmid,
            ));
        }
        if failures.is_empty() {
            lines.push("INFO: Backup job finished successfully".into());
            Ok(lines)
        } else {
            Err(format!("job errors: {}", failures.join("; ")))
        }
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}
