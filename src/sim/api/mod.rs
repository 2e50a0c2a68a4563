//! The simulated API: routing of `/api2/json/...` paths to handlers.

mod backup;
mod clone;
mod cluster;
mod content;
mod guests;
mod lifecycle;
mod restore;
mod retention;
mod snapshots;
mod tasks;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::Shared;
use super::error::ApiError;
use super::model::Model;
use super::validate::{P, Params, check};
use crate::pve::types::GuestKind;

/// One authenticated API call.
pub struct Call<'a> {
    pub shared: &'a Arc<Shared>,
    pub method: &'a str,
    pub path: &'a str,
    pub params: Params,
    /// The user, or `user@realm!token` for a token.
    pub user: String,
    /// Privileges on `/`; None means all (root).
    pub privs: Option<BTreeSet<String>>,
}

impl Call<'_> {
    /// Proxmox's permission check.
    pub fn require(&self, path: &str, privilege: &str) -> Result<(), ApiError> {
        match &self.privs {
            Some(p) if !p.contains(privilege) => Err(ApiError::forbidden(path, privilege)),
            _ => Ok(()),
        }
    }

    /// Validate the parameters; path placeholders are not repeated.
    pub fn check(&self, spec: &[P], path_params: &[&str]) -> Result<(), ApiError> {
        check(&self.params, spec, path_params)
    }

    /// The user as it goes into a UPID.
    pub fn upid_user(&self) -> &str {
        &self.user
    }
}

pub fn vmid(seg: &str) -> Result<u32, ApiError> {
    seg.parse::<u32>()
        .ok()
        .filter(|v| *v >= 100)
        .ok_or_else(|| {
            ApiError::param(
                "vmid",
                "invalid format - value does not look like a valid VM ID",
            )
        })
}

fn kind(seg: &str) -> Option<GuestKind> {
    match seg {
        "qemu" => Some(GuestKind::Qemu),
        "lxc" => Some(GuestKind::Lxc),
        _ => None,
    }
}

/// A successful answer: `data`, plus `total` where the API gives one (task logs).
pub struct Reply {
    pub data: Value,
    pub total: Option<usize>,
}

impl From<Value> for Reply {
    fn from(data: Value) -> Reply {
        Reply { data, total: None }
    }
}

/// Answer one call. `segs` are the path segments after `/api2/json`.
pub fn dispatch(call: &Call, model: &mut Model, segs: &[&str]) -> Result<Reply, ApiError> {
    if let (["nodes", node, "tasks", upid, "log"], "GET") = (segs, call.method) {
        model.node(node)?;
        return tasks::log(call, model, node, upid);
    }
    route(call, model, segs).map(Reply::from)
}

fn route(call: &Call, model: &mut Model, segs: &[&str]) -> Result<Value, ApiError> {
    let m = call.method;
    match segs {
        ["version"] if m == "GET" => cluster::version(call, model),
        ["cluster", "resources"] if m == "GET" => cluster::resources(call, model),
        ["cluster", "status"] if m == "GET" => cluster::status(call, model),
        ["cluster", "tasks"] if m == "GET" => tasks::cluster_tasks(call, model),
        ["cluster", "nextid"] if m == "GET" => cluster::next_id(call, model),
        ["nodes"] if m == "GET" => cluster::nodes(call, model),
        ["nodes", node, rest @ ..] => node_call(call, model, node, rest),
        _ => Err(ApiError::not_implemented(
            m,
            &format!("/api2/json{}", call.path),
        )),
    }
}

fn node_call(call: &Call, model: &mut Model, node: &str, rest: &[&str]) -> Result<Value, ApiError> {
    model.node(node)?;
    let m = call.method;
    match rest {
        ["status"] if m == "GET" => cluster::node_status(call, model, node),
        ["time"] if m == "GET" => cluster::node_time(call, model, node),
        ["network"] if m == "GET" => cluster::network(call, model, node),
        ["storage"] if m == "GET" => cluster::storages(call, model, node),
        ["storage", storage, "content"] if m == "GET" => {
            content::content(call, model, node, storage)
        }
        // A volid has a '/' (`local:backup/vzdump-...`); clients send it encoded or not.
        ["storage", storage, "content", volume @ ..] if m == "PUT" && !volume.is_empty() => {
            content::update_volume(call, model, node, storage, &volume.join("/"))
        }
        ["storage", storage, "content", volume @ ..] if m == "DELETE" && !volume.is_empty() => {
            content::delete_volume(call, model, node, storage, &volume.join("/"))
        }
        ["vzdump"] if m == "POST" => backup::vzdump(call, model, node),
        ["tasks"] if m == "GET" => tasks::node_tasks(call, model, node),
        ["tasks", upid, "status"] if m == "GET" => tasks::status(call, model, node, upid),
        ["tasks", upid] if m == "DELETE" => tasks::stop(call, model, node, upid),
        [k] if kind(k).is_some() => {
            let k = kind(k).unwrap_or(GuestKind::Qemu);
            match m {
                "GET" => guests::list(call, model, node, k),
                "POST" => restore::restore(call, model, node, k),
                _ => Err(ApiError::not_implemented(
                    m,
                    &format!("/api2/json{}", call.path),
                )),
            }
        }
        [k, id, tail @ ..] if kind(k).is_some() => {
            let k = kind(k).unwrap_or(GuestKind::Qemu);
            let id = vmid(id)?;
            guest_call(call, model, node, k, id, tail)
        }
        _ => Err(ApiError::not_implemented(
            m,
            &format!("/api2/json{}", call.path),
        )),
    }
}

fn guest_call(
    call: &Call,
    model: &mut Model,
    node: &str,
    k: GuestKind,
    id: u32,
    tail: &[&str],
) -> Result<Value, ApiError> {
    let m = call.method;
    match (m, tail) {
        ("DELETE", []) => lifecycle::destroy(call, model, node, k, id),
        ("GET", ["status", "current"]) => guests::status(call, model, node, k, id),
        ("POST", ["status", action]) => lifecycle::power(call, model, node, k, id, action),
        ("GET", ["config"]) => guests::config(call, model, node, k, id),
        ("PUT", ["config"]) => guests::set_config(call, model, node, k, id, false),
        ("POST", ["config"]) if k == GuestKind::Qemu => {
            guests::set_config(call, model, node, k, id, true)
        }
        ("POST", ["clone"]) => clone::clone(call, model, node, k, id),
        ("POST", ["template"]) => clone::template(call, model, node, k, id),
        ("POST", ["migrate"]) => lifecycle::migrate(call, model, node, k, id),
        ("GET", ["snapshot"]) => snapshots::list(call, model, node, k, id),
        ("POST", ["snapshot"]) => snapshots::create(call, model, node, k, id),
        ("DELETE", ["snapshot", name]) => snapshots::delete(call, model, node, k, id, name),
        ("POST", ["snapshot", name, "rollback"]) => {
            snapshots::rollback(call, model, node, k, id, name)
        }
        _ => Err(ApiError::not_implemented(
            m,
            &format!("/api2/json{}", call.path),
        )),
    }
}
