//! Every request proxdeck can send, built from typed options.
//!
//! This is the one place requests are made; `samples()` builds each of them
//! with every option set, and the schema test checks those samples against the
//! official API schema (8.4 and 9.1), so no call or parameter escapes the check.
//! Cluster, node and task requests are here; guests' and backups' beside it.

mod backups;
mod guests;
mod samples;

pub use backups::*;
pub use guests::*;
pub use samples::samples;

use super::endpoints::*;
use super::request::ApiRequest;
use super::types::GuestKind;

/// A guest by where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestRef {
    pub node: String,
    pub kind: GuestKind,
    pub vmid: u32,
}

impl GuestRef {
    pub fn new(node: &str, kind: GuestKind, vmid: u32) -> GuestRef {
        GuestRef {
            node: node.to_string(),
            kind,
            vmid,
        }
    }

    fn req(&self, qemu: &'static Endpoint, lxc: &'static Endpoint) -> ApiRequest {
        let ep = match self.kind {
            GuestKind::Qemu => qemu,
            GuestKind::Lxc => lxc,
        };
        ApiRequest::new(ep)
            .at("node", &self.node)
            .at_int("vmid", self.vmid)
    }
}

impl std::fmt::Display for GuestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} on {}", self.kind.noun(), self.vmid, self.node)
    }
}

fn node(ep: &'static Endpoint, node: &str) -> ApiRequest {
    ApiRequest::new(ep).at("node", node)
}

pub fn version() -> ApiRequest {
    ApiRequest::new(&VERSION)
}

/// `type` is `vm`, `storage`, `node` or `sdn`.
pub fn cluster_resources(kind: Option<&str>) -> ApiRequest {
    ApiRequest::new(&CLUSTER_RESOURCES).opt_str("type", kind)
}

pub fn cluster_status() -> ApiRequest {
    ApiRequest::new(&CLUSTER_STATUS)
}

pub fn cluster_tasks() -> ApiRequest {
    ApiRequest::new(&CLUSTER_TASKS)
}

/// The next free VMID, or whether `vmid` is free (400 if taken).
pub fn next_id(vmid: Option<u32>) -> ApiRequest {
    ApiRequest::new(&CLUSTER_NEXTID).opt_int("vmid", vmid)
}

pub fn nodes() -> ApiRequest {
    ApiRequest::new(&NODES)
}

pub fn node_status(n: &str) -> ApiRequest {
    node(&NODE_STATUS, n)
}

pub fn node_time(n: &str) -> ApiRequest {
    node(&NODE_TIME, n)
}

pub fn node_network(n: &str, kind: Option<&str>) -> ApiRequest {
    node(&NODE_NETWORK, n).opt_str("type", kind)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskListOptions {
    pub limit: Option<u32>,
    pub start: Option<u32>,
    pub vmid: Option<u32>,
    pub typefilter: Option<String>,
    pub source: Option<String>,
    pub errors: Option<bool>,
    pub since: Option<i64>,
}

pub fn node_tasks(n: &str, o: &TaskListOptions) -> ApiRequest {
    node(&NODE_TASKS, n)
        .opt_int("limit", o.limit)
        .opt_int("start", o.start)
        .opt_int("vmid", o.vmid)
        .opt_str("typefilter", o.typefilter.clone())
        .opt_str("source", o.source.clone())
        .opt_bool("errors", o.errors)
        .opt_int("since", o.since)
}

pub fn task_status(n: &str, upid: &str) -> ApiRequest {
    node(&TASK_STATUS, n).at("upid", upid)
}

pub fn task_log(n: &str, upid: &str, start: u32, limit: u32) -> ApiRequest {
    node(&TASK_LOG, n)
        .at("upid", upid)
        .int("start", start)
        .int("limit", limit)
}

pub fn task_stop(n: &str, upid: &str) -> ApiRequest {
    node(&TASK_STOP, n).at("upid", upid)
}

/// Login (the client sends this itself).
pub fn ticket(user: &str, password: &str) -> ApiRequest {
    ApiRequest::new(&TICKET)
        .str("username", user)
        .str("password", password)
}
