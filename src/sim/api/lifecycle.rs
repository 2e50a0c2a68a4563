//! A guest's life: destroy, migrate, start/stop/shutdown/reboot.

use super::Call;
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};
use serde_json::{Value, json};

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
    // What the worker's prepare step refuses (QemuMigrate.pm prepare and
    // scan_local_volumes): a volume whose storage the target lacks, and for
    // qemu a CD-ROM image on local storage (a cloud-init drive is made again).
    let mut problems: Vec<(String, String)> = Vec::new();
    for (_, d, cd) in g.volumes() {
        let Some(sid) = d.storage() else { continue };
        let volid = d.volume().unwrap_or_default().to_string();
        let shared = model.is_shared(sid);
        if !model
            .storages
            .iter()
            .any(|st| st.id == sid && st.on_node(&target))
        {
            problems.push((
                volid,
                format!("storage '{sid}' is not available on node '{target}'"),
            ));
        } else if kind == GuestKind::Qemu && cd && !shared && !d.is_cloudinit() {
            problems.push((volid, "local cdrom image".to_string()));
        }
    }
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
    if !problems.is_empty() {
        // qemu logs each volume it cannot move, then gives up; the worker
        // ends "migration aborted" (QemuMigrate.pm scan_local_volumes,
        // AbstractMigrate.pm). A container's migration stops at the first.
        let mut spec = spec;
        let why = match kind {
            GuestKind::Qemu => {
                for (volid, why) in &problems {
                    spec = spec.step(
                        0.1,
                        1.0,
                        format!("{} WARN: can't migrate local disk '{volid}': {why}", hms()),
                    );
                }
                "Problem found while scanning volumes - can't migrate VM - check log".to_string()
            }
            GuestKind::Lxc => problems[0].1.clone(),
        };
        let spec = spec
            .step(0.5, 2.0, format!("{} ERROR: {why}", hms()))
            .step(
                0.1,
                3.0,
                format!(
                    "{} ERROR: migration aborted (duration 00:00:01): {why}",
                    hms()
                ),
            )
            .fail_at(3.0, "migration aborted");
        return Ok(json!(tasks::start(call.shared, model, spec).as_str()));
    }
    if local_disks {
        spec = spec.step(
            0.5,
            1.0,
            format!("{} found local disk(s), copying to {target}", hms()),
        );
        for (secs, pct, line) in super::clone::copy_steps(total, 300.0 * 1024.0 * 1024.0) {
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
                        g.apply_pending();
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
