//! Every request proxdeck can send, built from typed options.
//!
//! This is the one place requests are made; `samples()` builds each of them
//! with every option set, and the schema test checks those samples against the
//! official API schema (8.4 and 9.1), so no call or parameter escapes the check.

use super::endpoints::*;
use super::request::{ApiRequest, ParamValue};
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

/// vzdump's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupMode {
    Snapshot,
    Suspend,
    Stop,
}

impl BackupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupMode::Snapshot => "snapshot",
            BackupMode::Suspend => "suspend",
            BackupMode::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<BackupMode> {
        match s {
            "snapshot" => Some(BackupMode::Snapshot),
            "suspend" => Some(BackupMode::Suspend),
            "stop" => Some(BackupMode::Stop),
            _ => None,
        }
    }
}

/// vzdump's compression choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Lzo,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "0",
            Compression::Lzo => "lzo",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "0" | "none" => Some(Compression::None),
            "1" | "lzo" => Some(Compression::Lzo),
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VzdumpOptions {
    pub vmids: Vec<u32>,
    pub mode: Option<BackupMode>,
    pub storage: Option<String>,
    pub compress: Option<Compression>,
    /// `{{guestname}}`, `{{vmid}}`, `{{node}}`, `{{cluster}}` are filled in; one line.
    pub notes_template: Option<String>,
    pub protected: Option<bool>,
    pub remove: Option<bool>,
    pub prune_backups: Option<String>,
    pub bwlimit: Option<u64>,
}

pub fn vzdump(n: &str, o: &VzdumpOptions) -> ApiRequest {
    let vmids = (!o.vmids.is_empty()).then(|| {
        o.vmids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    node(&VZDUMP, n)
        .opt_str("vmid", vmids)
        .opt_str("mode", o.mode.map(|m| m.as_str()))
        .opt_str("storage", o.storage.clone())
        .opt_str("compress", o.compress.map(|c| c.as_str()))
        .opt_str("notes-template", o.notes_template.clone())
        .opt_bool("protected", o.protected)
        .opt_bool("remove", o.remove)
        .opt_str("prune-backups", o.prune_backups.clone())
        .opt_int("bwlimit", o.bwlimit.map(|b| b as i64))
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageQuery {
    pub content: Option<String>,
    pub enabled: Option<bool>,
    /// Only storages shared with this node.
    pub target: Option<String>,
}

pub fn storages(n: &str, q: &StorageQuery) -> ApiRequest {
    node(&STORAGE_LIST, n)
        .opt_str("content", q.content.clone())
        .opt_bool("enabled", q.enabled)
        .opt_str("target", q.target.clone())
}

pub fn storage_content(
    n: &str,
    storage: &str,
    content: Option<&str>,
    vmid: Option<u32>,
) -> ApiRequest {
    node(&STORAGE_CONTENT, n)
        .at("storage", storage)
        .opt_str("content", content)
        .opt_int("vmid", vmid)
}

pub fn volume_update(
    n: &str,
    storage: &str,
    volid: &str,
    notes: Option<&str>,
    protected: Option<bool>,
) -> ApiRequest {
    node(&VOLUME_UPDATE, n)
        .at("storage", storage)
        .at("volume", volid)
        .opt_str("notes", notes)
        .opt_bool("protected", protected)
}

pub fn volume_delete(n: &str, storage: &str, volid: &str, delay: Option<u32>) -> ApiRequest {
    node(&VOLUME_DELETE, n)
        .at("storage", storage)
        .at("volume", volid)
        .opt_int("delay", delay)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreOptions {
    pub vmid: u32,
    /// The backup volid (qemu `archive`, lxc `ostemplate` with `restore=1`).
    pub archive: String,
    pub storage: Option<String>,
    pub force: Option<bool>,
    /// New random MACs.
    pub unique: Option<bool>,
    pub start: Option<bool>,
    pub pool: Option<String>,
    pub bwlimit: Option<u64>,
}

pub fn restore(n: &str, kind: GuestKind, o: &RestoreOptions) -> ApiRequest {
    match kind {
        GuestKind::Qemu => node(&QEMU_CREATE, n)
            .int("vmid", o.vmid)
            .str("archive", &o.archive)
            .opt_str("storage", o.storage.clone())
            .opt_bool("force", o.force)
            .opt_bool("unique", o.unique)
            .opt_bool("start", o.start)
            .opt_str("pool", o.pool.clone())
            .opt_int("bwlimit", o.bwlimit.map(|b| b as i64)),
        GuestKind::Lxc => {
            let r = node(&LXC_CREATE, n)
                .int("vmid", o.vmid)
                .str("ostemplate", &o.archive)
                .bool("restore", true)
                .opt_str("storage", o.storage.clone())
                .opt_bool("force", o.force)
                .opt_bool("unique", o.unique)
                .opt_bool("start", o.start)
                .opt_str("pool", o.pool.clone());
            match o.bwlimit {
                Some(b) => r.num("bwlimit", b as f64),
                None => r,
            }
        }
    }
}

/// Login (the client sends this itself).
pub fn ticket(user: &str, password: &str) -> ApiRequest {
    ApiRequest::new(&TICKET)
        .str("username", user)
        .str("password", password)
}

/// One request per builder and guest kind, with every option set: what the
/// schema test checks.
pub fn samples() -> Vec<ApiRequest> {
    let upid = "UPID:pve-node-01:0003A1F2:01B2C3D4:67A0B1C2:qmclone:100:root@pam:";
    let mut out = vec![
        version(),
        ticket("root@pam", "secret"),
        cluster_resources(Some("vm")),
        cluster_status(),
        cluster_tasks(),
        next_id(Some(200)),
        nodes(),
        node_status("pve-node-01"),
        node_network("pve-node-01", Some("bridge")),
        node_tasks(
            "pve-node-01",
            &TaskListOptions {
                limit: Some(50),
                start: Some(0),
                vmid: Some(100),
                typefilter: Some("vzdump".into()),
                source: Some("all".into()),
                errors: Some(true),
                since: Some(1_700_000_000),
            },
        ),
        task_status("pve-node-01", upid),
        task_log("pve-node-01", upid, 0, 500),
        task_stop("pve-node-01", upid),
        vzdump(
            "pve-node-01",
            &VzdumpOptions {
                vmids: vec![100, 101],
                mode: Some(BackupMode::Snapshot),
                storage: Some("local".into()),
                compress: Some(Compression::Zstd),
                notes_template: Some("{{guestname}}".into()),
                protected: Some(false),
                remove: Some(false),
                prune_backups: Some("keep-last=3".into()),
                bwlimit: Some(10000),
            },
        ),
        storages(
            "pve-node-01",
            &StorageQuery {
                content: Some("backup".into()),
                enabled: Some(true),
                target: Some("pve-node-02".into()),
            },
        ),
        storage_content("pve-node-01", "local", Some("backup"), Some(100)),
        volume_update(
            "pve-node-01",
            "local",
            "local:backup/x.tar.zst",
            Some("n"),
            Some(true),
        ),
        volume_delete("pve-node-01", "local", "local:backup/x.tar.zst", Some(5)),
    ];
    for kind in [GuestKind::Qemu, GuestKind::Lxc] {
        let g = GuestRef::new("pve-node-01", kind, 100);
        let change = ConfigChange {
            set: vec![
                (
                    if kind == GuestKind::Qemu {
                        "name"
                    } else {
                        "hostname"
                    }
                    .into(),
                    ParamValue::Str("pve-db-02".into()),
                ),
                (
                    "net0".into(),
                    ParamValue::Str("virtio=02:00:00:A2:65:01,bridge=vmbr0".into()),
                ),
                ("description".into(), ParamValue::Str("replica".into())),
                ("tags".into(), ParamValue::Str("db".into())),
            ],
            delete: vec!["unused0".into()],
            digest: Some("0123456789abcdef0123456789abcdef01234567".into()),
        };
        out.extend([
            guest_list("pve-node-01", kind),
            guest_status(&g),
            guest_config(&g),
            set_config(&g, &change),
            clone(
                &g,
                &CloneOptions {
                    newid: 201,
                    name: Some("pve-db-02".into()),
                    description: Some("replica".into()),
                    target: Some("pve-node-02".into()),
                    full: Some(true),
                    storage: Some("local-lvm".into()),
                    format: Some("raw".into()),
                    pool: Some("p".into()),
                    snapname: Some("s".into()),
                    bwlimit: Some(1000),
                },
            ),
            template(&g),
            destroy(
                &g,
                &DestroyOptions {
                    purge: Some(true),
                    destroy_unreferenced_disks: Some(true),
                },
            ),
            migrate(
                &g,
                &MigrateOptions {
                    target: "pve-node-02".into(),
                    online: Some(false),
                    with_local_disks: Some(true),
                    target_storage: Some("local-lvm".into()),
                    restart: Some(false),
                    bwlimit: Some(1000),
                },
            ),
            power(&g, Power::Start),
            power(&g, Power::Stop),
            power(
                &g,
                Power::Shutdown {
                    timeout: Some(60),
                    force_stop: true,
                },
            ),
            snapshots(&g),
            snapshot_create(
                &g,
                &SnapshotOptions {
                    snapname: "auto-20260129-1403".into(),
                    description: Some("before".into()),
                    vmstate: Some(false),
                },
            ),
            snapshot_delete(&g, "auto-20260129-1403", Some(false)),
            rollback(&g, "auto-20260129-1403", Some(false)),
            restore(
                "pve-node-01",
                kind,
                &RestoreOptions {
                    vmid: 300,
                    archive: "local:backup/vzdump-qemu-100-2026_01_29-14_03_11.vma.zst".into(),
                    storage: Some("local-lvm".into()),
                    force: Some(false),
                    unique: Some(true),
                    start: Some(false),
                    pool: Some("p".into()),
                    bwlimit: Some(1000),
                },
            ),
        ]);
    }
    out.push(set_qemu_config_async(
        &GuestRef::new("pve-node-01", GuestKind::Qemu, 100),
        &ConfigChange::default().set("ipconfig0", "ip=192.168.2.101/24,gw=192.168.2.1"),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_cover_every_endpoint() {
        let samples = samples();
        for ep in ALL {
            assert!(
                samples.iter().any(|r| std::ptr::eq(r.endpoint, *ep)),
                "{} {} has no sample",
                ep.method(),
                ep.path()
            );
        }
        for r in &samples {
            assert_eq!(
                r.path_params.len(),
                r.endpoint.placeholders().len(),
                "{} fills the wrong number of placeholders",
                r.path()
            );
        }
    }

    #[test]
    fn clone_names_the_guest_by_kind() {
        let o = CloneOptions {
            newid: 201,
            name: Some("pve-db-02".into()),
            ..Default::default()
        };
        let q = clone(&GuestRef::new("n1", GuestKind::Qemu, 101), &o);
        let l = clone(&GuestRef::new("n1", GuestKind::Lxc, 101), &o);
        assert!(q.params.iter().any(|(k, _)| k == "name"));
        assert!(l.params.iter().any(|(k, _)| k == "hostname"));
    }
}
