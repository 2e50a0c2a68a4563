//! The cluster as proxdeck sees it: one `/cluster/resources` call for the whole
//! cluster (as the Proxmox web UI does), plus guest configs read only when a
//! guest is new, changed, or its cached config is old.

mod fetch;
pub mod watch;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::macaddr::MacAddr;
use crate::pve::propstring::IpSetting;
use crate::pve::types::{ClusterResource, GuestConfig, GuestKind};

pub use fetch::RefreshStats;
pub use watch::{RefreshOptions, Touched};

/// A node and its live figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeInfo {
    pub name: String,
    /// `online`, `offline` or `unknown`.
    pub status: String,
    pub cpu: Option<f64>,
    pub maxcpu: Option<f64>,
    pub mem: Option<u64>,
    pub maxmem: Option<u64>,
    pub uptime: Option<u64>,
}

impl NodeInfo {
    pub fn online(&self) -> bool {
        self.status == "online"
    }
}

/// One network interface of a guest, from its config.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Nic {
    /// `net0`, `net1`, ...
    pub key: String,
    pub mac: Option<MacAddr>,
    /// Static address (or dhcp/manual): qemu `ipconfigN`, lxc `ip=` in `netN`.
    #[serde(serialize_with = "ser_ip")]
    pub ip: Option<IpSetting>,
    pub gw: Option<Ipv4Addr>,
    pub bridge: Option<String>,
}

fn ser_ip<S: serde::Serializer>(ip: &Option<IpSetting>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(i) => s.collect_str(i),
        None => s.serialize_none(),
    }
}

impl Nic {
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.ip.and_then(|i| i.address())
    }
}

/// A guest with its identity and live figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GuestInfo {
    pub vmid: u32,
    pub name: String,
    pub node: String,
    pub kind: GuestKind,
    pub status: String,
    pub template: bool,
    pub tags: Vec<String>,
    pub lock: Option<String>,
    pub cpu: Option<f64>,
    pub maxcpu: Option<f64>,
    pub mem: Option<u64>,
    pub maxmem: Option<u64>,
    pub uptime: Option<u64>,
    /// lxc `hostname` (qemu guests use the name).
    pub hostname: Option<String>,
    pub nics: Vec<Nic>,
    /// Storages the guest's disks live on (CD-ROMs not counted: see `media`).
    pub storages: Vec<String>,
    /// CD-ROM drives with something in them: Proxmox counts their storage
    /// when it decides whether a clone can go straight to another node, and
    /// refuses to migrate a local ISO.
    pub media: Vec<Media>,
    /// Whether the config could be read (false: NICs unknown).
    pub config_known: bool,
}

impl GuestInfo {
    /// The first static address.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.nics.iter().find_map(Nic::address)
    }

    pub fn primary_mac(&self) -> Option<MacAddr> {
        self.nics.iter().find_map(|n| n.mac)
    }

    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// Whether a cloud-init drive carries `ipconfigN` to the guest.
    pub fn has_cloudinit(&self) -> bool {
        self.media.iter().any(|m| m.cloudinit)
    }
}

/// A CD-ROM drive's content.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Media {
    /// Config key (`ide2`).
    pub key: String,
    /// Volume (`local:iso/debian.iso`, `local-lvm:vm-101-cloudinit`, or `cdrom` for the host's drive).
    pub volume: String,
    /// Storage of the volume (None: the host's drive).
    pub storage: Option<String>,
    pub cloudinit: bool,
}

/// A storage as the cluster lists it (one entry per node for local storages).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StorageEntry {
    pub storage: String,
    pub node: String,
    pub plugintype: String,
    pub content: Vec<String>,
    pub shared: bool,
    pub status: String,
    pub disk: Option<u64>,
    pub maxdisk: Option<u64>,
}

/// What one refresh saw.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub nodes: Vec<NodeInfo>,
    pub guests: Vec<GuestInfo>,
    pub storages: Vec<StorageEntry>,
    /// When this inventory was read.
    pub fetched_at: Option<Instant>,
    /// Unix time of the read, for records.
    pub fetched_unix: i64,
    /// Per vmid: the config read and when (the cache for the next refresh).
    /// Entries are shared with the previous read: a refresh copies pointers,
    /// not configs.
    pub(crate) configs: BTreeMap<u32, Arc<CachedConfig>>,
    /// Tasks the cluster lists (`/cluster/tasks`), as read with it.
    pub tasks: Vec<crate::pve::types::TaskListItem>,
    /// What tasks changed since the previous read.
    pub touched: watch::Touched,
    /// Guests whose config is not read yet (the first reads, filling in).
    pub configs_loading: usize,
    /// Only part of the cluster was listed (one node's guests): a guest
    /// missing from it is not gone.
    pub partial: bool,
    /// Position of each guest in `guests`, by VMID.
    pub(crate) index: std::collections::HashMap<u32, usize>,
    pub(crate) watch: watch::Watch,
}

/// A guest's config as read, with what the panes take from it worked out
/// once (not on every refresh).
#[derive(Debug)]
pub(crate) struct CachedConfig {
    pub(crate) config: GuestConfig,
    pub(crate) read_at: Instant,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) hostname: Option<String>,
    pub(crate) nics: Vec<Nic>,
    pub(crate) storages: Vec<String>,
    pub(crate) media: Vec<Media>,
}

/// What about a guest, when changed, calls for its config to be read again.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fingerprint {
    name: Option<String>,
    node: Option<String>,
    status: Option<String>,
    lock: Option<String>,
    template: bool,
    tags: Option<String>,
}

impl Fingerprint {
    pub(crate) fn of(r: &ClusterResource) -> Fingerprint {
        Fingerprint {
            name: r.name.clone(),
            node: r.node.clone(),
            status: r.status.clone(),
            lock: r.lock.clone(),
            template: r.template,
            tags: r.tags.clone(),
        }
    }
}

impl Inventory {
    pub fn guest(&self, vmid: u32) -> Option<&GuestInfo> {
        let indexed = self.index.get(&vmid).and_then(|i| self.guests.get(*i));
        match indexed {
            Some(g) if g.vmid == vmid => Some(g),
            // An index that does not match the list (the list was edited by
            // hand after the read): look the slow way.
            _ if self.index.len() != self.guests.len() || indexed.is_some() => {
                self.guests.iter().find(|g| g.vmid == vmid)
            }
            _ => None,
        }
    }

    /// A guest by name or VMID text.
    pub fn find(&self, name_or_id: &str) -> Option<&GuestInfo> {
        match name_or_id.parse::<u32>() {
            Ok(id) => self.guest(id),
            Err(_) => self.guests.iter().find(|g| g.name == name_or_id),
        }
    }

    /// The names of the nodes answering now (the others cannot be asked anything).
    pub fn online_node_names(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.online())
            .map(|n| n.name.as_str())
            .collect()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The config read for a guest, if any.
    pub fn config(&self, vmid: u32) -> Option<&GuestConfig> {
        self.configs.get(&vmid).map(|c| &c.config)
    }

    /// How old the data is.
    pub fn age(&self) -> Option<Duration> {
        self.fetched_at.map(|t| t.elapsed())
    }
}

/// Read a guest's NICs from its config.
pub fn nics_of(kind: GuestKind, cfg: &GuestConfig) -> Vec<Nic> {
    cfg.indexed("net")
        .into_iter()
        .map(|(idx, _)| match kind {
            GuestKind::Qemu => {
                let net = cfg.qemu_net(idx);
                let ipc = cfg.ipconfig(idx);
                Nic {
                    key: format!("net{idx}"),
                    mac: net.as_ref().and_then(|n| n.mac()),
                    ip: ipc.as_ref().and_then(|c| c.ip()),
                    gw: ipc.as_ref().and_then(|c| c.gw()),
                    bridge: net.as_ref().and_then(|n| n.bridge().map(str::to_string)),
                }
            }
            GuestKind::Lxc => {
                let net = cfg.lxc_net(idx);
                Nic {
                    key: format!("net{idx}"),
                    mac: net.as_ref().and_then(|n| n.mac()),
                    ip: net.as_ref().and_then(|n| n.ip()),
                    gw: net.as_ref().and_then(|n| n.gw()),
                    bridge: net.as_ref().and_then(|n| n.bridge().map(str::to_string)),
                }
            }
        })
        .collect()
}
