//! Requests about guests: status, config, clone, template, destroy,
//! migrate, power, snapshots.

use super::super::endpoints::*;
use super::super::request::{ApiRequest, ParamValue};
use super::super::types::GuestKind;
use super::{GuestRef, node};

pub fn guest_list(n: &str, kind: GuestKind) -> ApiRequest {
    match kind {
        GuestKind::Qemu => node(&QEMU_LIST, n),
        GuestKind::Lxc => node(&LXC_LIST, n),
    }
}

pub fn guest_status(g: &GuestRef) -> ApiRequest {
    g.req(&QEMU_STATUS, &LXC_STATUS)
}

pub fn guest_config(g: &GuestRef) -> ApiRequest {
    g.req(&QEMU_CONFIG, &LXC_CONFIG)
}

/// The running values (`current=1`), without changes pending for the next start.
pub fn guest_config_current(g: &GuestRef) -> ApiRequest {
    g.req(&QEMU_CONFIG, &LXC_CONFIG).bool("current", true)
}

/// A configuration change: keys to set, keys to delete, and the digest the
/// change was planned against (Proxmox refuses it if the config moved on).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigChange {
    pub set: Vec<(String, ParamValue)>,
    pub delete: Vec<String>,
    pub digest: Option<String>,
}

impl ConfigChange {
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set
            .push((key.to_string(), ParamValue::Str(value.into())));
        self
    }
}

fn apply_change(mut r: ApiRequest, c: &ConfigChange) -> ApiRequest {
    for (k, v) in &c.set {
        r.params.push((k.clone(), v.clone()));
    }
    if !c.delete.is_empty() {
        r = r.str("delete", c.delete.join(","));
    }
    r.opt_str("digest", c.digest.clone())
}

/// Synchronous config update (PUT; qemu and lxc both answer null).
pub fn set_config(g: &GuestRef, c: &ConfigChange) -> ApiRequest {
    apply_change(g.req(&QEMU_CONFIG_SET, &LXC_CONFIG_SET), c)
}

/// qemu only: config update as a task (POST; answers a UPID or null).
pub fn set_qemu_config_async(g: &GuestRef, c: &ConfigChange) -> ApiRequest {
    apply_change(
        ApiRequest::new(&QEMU_CONFIG_SET_ASYNC)
            .at("node", &g.node)
            .at_int("vmid", g.vmid),
        c,
    )
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloneOptions {
    pub newid: u32,
    /// qemu `name`, lxc `hostname`.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Another node: only when the source disks are on shared storage.
    pub target: Option<String>,
    pub full: Option<bool>,
    pub storage: Option<String>,
    /// qemu only: raw, qcow2, vmdk.
    pub format: Option<String>,
    pub pool: Option<String>,
    pub snapname: Option<String>,
    pub bwlimit: Option<u64>,
}

pub fn clone(g: &GuestRef, o: &CloneOptions) -> ApiRequest {
    let name_key = match g.kind {
        GuestKind::Qemu => "name",
        GuestKind::Lxc => "hostname",
    };
    let mut r = g
        .req(&QEMU_CLONE, &LXC_CLONE)
        .int("newid", o.newid)
        .opt_str(name_key, o.name.clone())
        .opt_str("description", o.description.clone())
        .opt_str("target", o.target.clone())
        .opt_bool("full", o.full)
        .opt_str("storage", o.storage.clone())
        .opt_str("pool", o.pool.clone())
        .opt_str("snapname", o.snapname.clone());
    if g.kind == GuestKind::Qemu {
        r = r
            .opt_str("format", o.format.clone())
            .opt_int("bwlimit", o.bwlimit.map(|b| b as i64));
    } else if let Some(b) = o.bwlimit {
        // lxc declares bwlimit as a number.
        r = r.num("bwlimit", b as f64);
    }
    r
}

pub fn template(g: &GuestRef) -> ApiRequest {
    g.req(&QEMU_TEMPLATE, &LXC_TEMPLATE)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DestroyOptions {
    pub purge: Option<bool>,
    pub destroy_unreferenced_disks: Option<bool>,
}

pub fn destroy(g: &GuestRef, o: &DestroyOptions) -> ApiRequest {
    g.req(&QEMU_DESTROY, &LXC_DESTROY)
        .opt_bool("purge", o.purge)
        .opt_bool("destroy-unreferenced-disks", o.destroy_unreferenced_disks)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrateOptions {
    pub target: String,
    pub online: Option<bool>,
    /// qemu only.
    pub with_local_disks: Option<bool>,
    /// qemu `targetstorage`, lxc `target-storage`.
    pub target_storage: Option<String>,
    /// lxc only: restart migration.
    pub restart: Option<bool>,
    pub bwlimit: Option<u64>,
}

pub fn migrate(g: &GuestRef, o: &MigrateOptions) -> ApiRequest {
    let r = g
        .req(&QEMU_MIGRATE, &LXC_MIGRATE)
        .str("target", &o.target)
        .opt_bool("online", o.online);
    match g.kind {
        GuestKind::Qemu => r
            .opt_bool("with-local-disks", o.with_local_disks)
            .opt_str("targetstorage", o.target_storage.clone())
            .opt_int("bwlimit", o.bwlimit.map(|b| b as i64)),
        GuestKind::Lxc => {
            let r = r
                .opt_str("target-storage", o.target_storage.clone())
                .opt_bool("restart", o.restart);
            match o.bwlimit {
                Some(b) => r.num("bwlimit", b as f64),
                None => r,
            }
        }
    }
}

/// Power actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Shutdown {
        timeout: Option<u32>,
        force_stop: bool,
    },
}

pub fn power(g: &GuestRef, p: Power) -> ApiRequest {
    match p {
        Power::Start => g.req(&QEMU_START, &LXC_START),
        Power::Stop => g.req(&QEMU_STOP, &LXC_STOP),
        Power::Shutdown {
            timeout,
            force_stop,
        } => g
            .req(&QEMU_SHUTDOWN, &LXC_SHUTDOWN)
            .opt_int("timeout", timeout)
            .opt_bool("forceStop", force_stop.then_some(true)),
    }
}

pub fn snapshots(g: &GuestRef) -> ApiRequest {
    g.req(&QEMU_SNAPSHOTS, &LXC_SNAPSHOTS)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotOptions {
    pub snapname: String,
    pub description: Option<String>,
    /// qemu only: include RAM.
    pub vmstate: Option<bool>,
}

pub fn snapshot_create(g: &GuestRef, o: &SnapshotOptions) -> ApiRequest {
    let r = g
        .req(&QEMU_SNAPSHOT_CREATE, &LXC_SNAPSHOT_CREATE)
        .str("snapname", &o.snapname)
        .opt_str("description", o.description.clone());
    match g.kind {
        GuestKind::Qemu => r.opt_bool("vmstate", o.vmstate),
        GuestKind::Lxc => r,
    }
}

pub fn snapshot_delete(g: &GuestRef, snapname: &str, force: Option<bool>) -> ApiRequest {
    g.req(&QEMU_SNAPSHOT_DELETE, &LXC_SNAPSHOT_DELETE)
        .at("snapname", snapname)
        .opt_bool("force", force)
}

pub fn rollback(g: &GuestRef, snapname: &str, start: Option<bool>) -> ApiRequest {
    g.req(&QEMU_ROLLBACK, &LXC_ROLLBACK)
        .at("snapname", snapname)
        .opt_bool("start", start)
}
