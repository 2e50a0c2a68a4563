//! Storage content: listings, volume notes and protection, deleting volumes.

use super::Call;
use crate::pve::types::GuestKind;
use crate::sim::error::ApiError;
use crate::sim::model::Model;
use crate::sim::tasks::{self, TaskSpec};
use crate::sim::validate::{Ty, opt};
use serde_json::{Value, json};

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
        super::backup::dump_dir(storage),
        name.trim_start_matches("backup/")
    );
    let spec = TaskSpec::new(node, "imgdel", id, call.upid_user());
    let result: Result<(), String> = match &found {
        None => Err(format!(
            "removing archive {path} failed: No such file or directory"
        )),
        // The API's delete goes through the plugin's free_image (Plugin.pm).
        Some(v) if v.protected => Err(format!(
            "cannot remove protected volume '{name}' on '{storage}'"
        )),
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
