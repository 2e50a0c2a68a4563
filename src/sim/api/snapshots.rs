//! Guest snapshots: list (with the `current` pseudo-entry), create, delete, rollback.

use serde_json::{Value, json};

use super::Call;
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::{Model, SimSnapshot, now_unix};
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{P, Ty, opt, req};

pub fn list(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    call.check(&[], &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Audit")?;
    let g = model.guest(node, kind, vmid)?;
    let mut out: Vec<Value> = g
        .snapshots
        .values()
        .map(|s| {
            let mut e =
                json!({"name": s.name, "description": s.description, "snaptime": s.snaptime});
            let o = e.as_object_mut().expect("object");
            if let Some(p) = &s.parent {
                o.insert("parent".into(), json!(p));
            }
            if kind == GuestKind::Qemu {
                o.insert("vmstate".into(), json!(u8::from(s.vmstate)));
            }
            e
        })
        .collect();
    let mut current = json!({"name": "current", "description": "You are here!"});
    if let Some(p) = g.config.get("parent") {
        current
            .as_object_mut()
            .expect("object")
            .insert("parent".into(), json!(p));
    }
    if kind == GuestKind::Qemu {
        current
            .as_object_mut()
            .expect("object")
            .insert("running".into(), json!(u8::from(g.running)));
    }
    out.push(current);
    Ok(Value::Array(out))
}

fn task_type(kind: GuestKind, what: &str) -> String {
    format!(
        "{}{what}",
        if kind == GuestKind::Qemu { "qm" } else { "vz" }
    )
}

pub fn create(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
) -> Result<Value, ApiError> {
    let mut spec: Vec<P> = vec![req("snapname", Ty::ConfigId), opt("description", Ty::Str)];
    if kind == GuestKind::Qemu {
        spec.push(opt("vmstate", Ty::Bool));
    }
    call.check(&spec, &["node", "vmid"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Snapshot")?;
    model.check_config_lock(kind, vmid)?;
    let g = model.guest(node, kind, vmid)?.clone();
    let name = call.params.get("snapname").unwrap_or_default().to_string();
    let description = call.params.get("description").unwrap_or("").to_string();
    let vmstate = call.params.flag("vmstate").unwrap_or(false) && g.running;
    let spec = TaskSpec::new(
        node,
        &task_type(kind, "snapshot"),
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid);
    let problem = if let Some(l) = g.lock() {
        Some(format!("{} is locked ({l})", kind.noun()))
    } else if g.template() {
        Some("you can't take a snapshot if it's a template".to_string())
    } else if name == "current" {
        Some("snapshot name 'current' is reserved".to_string())
    } else if g.snapshots.contains_key(&name) {
        Some(format!("snapshot name '{name}' already used"))
    } else {
        None
    };
    if let Some(msg) = problem {
        return Ok(json!(
            tasks::finished(call.shared, model, spec, Err(msg)).as_str()
        ));
    }
    let disks: Vec<String> = g.disks().iter().map(|(k, _)| k.clone()).collect();
    let mut spec = spec.lock("snapshot");
    if vmstate {
        spec = spec.step(
            3.0,
            50.0,
            "saving VM state and RAM using storage 'local-lvm'",
        );
    }
    for d in disks {
        spec = spec.step(
            0.5,
            90.0,
            format!(
                "snapshotting '{d}' ({})",
                g.config.get(&d).cloned().unwrap_or_default()
            ),
        );
    }
    let spec = spec.finish(move |m| {
        let Some(g) = m.guests.get_mut(&vmid) else {
            return Err(format!("{} {vmid} vanished", kind.noun()));
        };
        let mut config = g.config.clone();
        for k in ["parent", "lock", "digest"] {
            config.remove(k);
        }
        let parent = g.config.get("parent").cloned();
        g.snapshots.insert(
            name.clone(),
            SimSnapshot {
                name: name.clone(),
                description,
                parent,
                snaptime: now_unix(),
                vmstate,
                config,
            },
        );
        g.config.insert("parent".into(), name);
        Ok(Vec::new())
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

pub fn delete(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    name: &str,
) -> Result<Value, ApiError> {
    call.check(&[opt("force", Ty::Bool)], &["node", "vmid", "snapname"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Snapshot")?;
    model.check_config_lock(kind, vmid)?;
    let g = model.guest(node, kind, vmid)?;
    if !g.snapshots.contains_key(name) {
        return Err(ApiError::server(format!(
            "snapshot '{name}' does not exist"
        )));
    }
    if g.template() {
        return Err(ApiError::server(
            "you can't delete a snapshot if vm is a template",
        ));
    }
    if call.params.flag("force") != Some(true) {
        Model::check_lock(g)?;
    }
    let name = name.to_string();
    let spec = TaskSpec::new(
        node,
        &task_type(kind, "delsnapshot"),
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid)
    .lock("snapshot-delete")
    .step(1.0, 100.0, "")
    .finish(move |m| {
        let Some(g) = m.guests.get_mut(&vmid) else {
            return Err(format!("{} {vmid} vanished", kind.noun()));
        };
        let Some(gone) = g.snapshots.remove(&name) else {
            return Err(format!("snapshot '{name}' does not exist"));
        };
        for s in g.snapshots.values_mut() {
            if s.parent.as_deref() == Some(name.as_str()) {
                s.parent = gone.parent.clone();
            }
        }
        if g.config.get("parent") == Some(&name) {
            match gone.parent {
                Some(p) => {
                    g.config.insert("parent".into(), p);
                }
                None => {
                    g.config.remove("parent");
                }
            }
        }
        Ok(Vec::new())
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

pub fn rollback(
    call: &Call,
    model: &mut Model,
    node: &str,
    kind: GuestKind,
    vmid: u32,
    name: &str,
) -> Result<Value, ApiError> {
    call.check(&[opt("start", Ty::Bool)], &["node", "vmid", "snapname"])?;
    call.require(&format!("/vms/{vmid}"), "VM.Snapshot.Rollback")?;
    model.check_config_lock(kind, vmid)?;
    let g = model.guest(node, kind, vmid)?.clone();
    let spec = TaskSpec::new(
        node,
        &task_type(kind, "rollback"),
        vmid.to_string(),
        call.upid_user(),
    )
    .vmid(vmid);
    let problem = if g.template() {
        Some("you can't rollback if vm is a template".to_string())
    } else if !g.snapshots.contains_key(name) {
        Some(format!("snapshot '{name}' does not exist"))
    } else {
        g.lock().map(|l| format!("{} is locked ({l})", kind.noun()))
    };
    if let Some(msg) = problem {
        return Ok(json!(
            tasks::finished(call.shared, model, spec, Err(msg)).as_str()
        ));
    }
    let name_text = name.to_string();
    let start = call.params.flag("start").unwrap_or(false);
    let mut spec = spec.lock("rollback");
    // The worker checks every volume before it stops the guest.
    if let Some(msg) = newest_only_refusal(model, &g, name) {
        let spec = spec.step(0.5, 5.0, "").fail_at(5.0, &msg);
        return Ok(json!(tasks::start(call.shared, model, spec).as_str()));
    }
    let name = name_text;
    if g.running {
        spec = spec.step(1.0, 30.0, format!("stopping {} {vmid}", kind.noun()));
    }
    let spec = spec.step(1.5, 100.0, "").finish(move |m| {
        let Some(g) = m.guests.get_mut(&vmid) else {
            return Err(format!("{} {vmid} vanished", kind.noun()));
        };
        let snap = g
            .snapshots
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("snapshot '{name}' does not exist"))?;
        let mut config = snap.config.clone();
        config.insert("parent".into(), name.clone());
        let digest = m.rng.hex(40);
        config.insert("digest".into(), digest);
        if let Some(g) = m.guests.get_mut(&vmid) {
            g.config = config;
            g.running = start || snap.vmstate;
            g.started_unix = g.running.then(now_unix);
        }
        Ok(Vec::new())
    });
    Ok(json!(tasks::start(call.shared, model, spec).as_str()))
}

/// ZFS rolls a volume back only to its most recent snapshot
/// (pve-storage `ZFSPoolPlugin::volume_rollback_is_possible`): the refusal
/// for the first such disk that has newer snapshots, in Proxmox's words.
fn newest_only_refusal(
    model: &Model,
    g: &crate::sim::model::SimGuest,
    name: &str,
) -> Option<String> {
    let target = g.snapshots.get(name)?;
    let newer = g
        .snapshots
        .values()
        .any(|s| s.name != name && s.snaptime > target.snaptime);
    if !newer {
        return None;
    }
    g.disks().into_iter().find_map(|(_, d)| {
        let storage = d.storage()?;
        let kind = model
            .storages
            .iter()
            .find(|s| s.id == storage)?
            .kind
            .as_str();
        (kind == "zfspool").then(|| {
            format!(
                "can't rollback, '{name}' is not most recent snapshot on '{}'",
                d.volume().unwrap_or_default()
            )
        })
    })
}
