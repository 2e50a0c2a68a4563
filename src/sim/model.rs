//! The simulated cluster's state: nodes, storages, guests with full configs and
//! snapshots, backup volumes, tasks, sessions and tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::error::ApiError;
use super::faults::Faults;
use super::rng::Rng;
use crate::pve::propstring::Disk;
use crate::pve::types::GuestKind;
use crate::pve::upid::Upid;

/// One node of the cluster.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub name: String,
    pub online: bool,
    pub ip: String,
    pub cpus: u32,
    pub maxmem: u64,
    /// Unix time the node booted (uptime derives from it).
    pub boot_unix: i64,
    /// Per-node phase so nodes do not move in step.
    pub phase: f64,
    /// The zone the node keeps its clock in (`/etc/timezone`): vzdump names
    /// archives and prune buckets them in it.
    pub timezone: String,
}

impl SimNode {
    /// The node's zone (UTC when the name is not one the tz database knows).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// A storage definition; `nodes` limits where it exists (None: every node).
#[derive(Debug, Clone)]
pub struct SimStorage {
    pub id: String,
    /// dir, lvmthin, nfs, ...
    pub kind: String,
    pub content: Vec<String>,
    pub shared: bool,
    pub total: u64,
    pub nodes: Option<Vec<String>>,
    /// The storage's retention (`keep-last=2`): vzdump prunes by it unless told otherwise.
    pub prune_backups: Option<String>,
}

impl SimStorage {
    pub fn on_node(&self, node: &str) -> bool {
        self.nodes
            .as_ref()
            .is_none_or(|n| n.iter().any(|x| x == node))
    }

    pub fn holds(&self, content: &str) -> bool {
        self.content.iter().any(|c| c == content)
    }
}

/// A guest snapshot, with the config as it was.
#[derive(Debug, Clone)]
pub struct SimSnapshot {
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
    pub snaptime: i64,
    pub vmstate: bool,
    pub config: BTreeMap<String, String>,
}

/// A VM or container.
#[derive(Debug, Clone)]
pub struct SimGuest {
    pub vmid: u32,
    pub kind: GuestKind,
    pub node: String,
    pub running: bool,
    /// The config as `GET .../config` shows it (template, lock, parent included).
    pub config: BTreeMap<String, String>,
    pub snapshots: BTreeMap<String, SimSnapshot>,
    pub started_unix: Option<i64>,
    pub phase: f64,
    /// Changes a running VM takes only at its next start (qemu-server's
    /// `[PENDING]` section): a NIC when `hotplug` leaves out `network`.
    pub pending: BTreeMap<String, String>,
}

impl SimGuest {
    pub fn name(&self) -> String {
        let key = match self.kind {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        };
        self.config
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("{}{}", self.kind.noun(), self.vmid))
    }

    /// The config with pending changes applied: what `GET .../config`
    /// answers unless `current=1` asks for the running values.
    pub fn config_with_pending(&self) -> BTreeMap<String, String> {
        let mut c = self.config.clone();
        c.extend(self.pending.clone());
        c
    }

    /// Start applies what was pending.
    pub fn apply_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.config.extend(pending);
    }

    /// Whether qemu hot-plugs NIC changes (`hotplug` default: network,disk,usb).
    pub fn hotplugs_network(&self) -> bool {
        match self.config.get("hotplug").map(String::as_str) {
            None | Some("1") => true,
            Some("0") => false,
            Some(list) => list.split(',').any(|f| f.trim() == "network"),
        }
    }

    pub fn template(&self) -> bool {
        self.config.get("template").is_some_and(|t| t == "1")
    }

    pub fn lock(&self) -> Option<&str> {
        self.config.get("lock").map(String::as_str)
    }

    pub fn status(&self) -> &'static str {
        if self.running { "running" } else { "stopped" }
    }

    /// Disks by config key.
    pub fn disks(&self) -> Vec<(String, Disk)> {
        self.config
            .iter()
            .filter(|(k, _)| crate::pve::propstring::is_disk_key(k))
            .filter_map(|(k, v)| Disk::parse(v).ok().map(|d| (k.clone(), d)))
            .filter(|(_, d)| d.media() != Some("cdrom") && d.storage().is_some())
            .collect()
    }

    /// Every volume the config names, CD-ROMs (ISOs, cloud-init drives)
    /// included: (key, disk, is a CD-ROM).
    pub fn volumes(&self) -> Vec<(String, Disk, bool)> {
        self.config
            .iter()
            .filter(|(k, _)| crate::pve::propstring::is_disk_key(k))
            .filter_map(|(k, v)| Disk::parse(v).ok().map(|d| (k.clone(), d)))
            .filter(|(_, d)| d.storage().is_some())
            .map(|(k, d)| {
                let cd = d.media() == Some("cdrom");
                (k, d, cd)
            })
            .collect()
    }

    pub fn maxdisk(&self) -> u64 {
        self.disks()
            .iter()
            .filter_map(|(_, d)| d.size_bytes())
            .sum()
    }

    pub fn maxmem(&self) -> u64 {
        self.config
            .get("memory")
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(512)
            * 1024
            * 1024
    }

    pub fn cpus(&self) -> u32 {
        self.config
            .get("cores")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
            * self
                .config
                .get("sockets")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1)
    }

    /// Where the config file would live, for Proxmox's error messages.
    pub fn conf_path(kind: GuestKind, node: &str, vmid: u32) -> String {
        match kind {
            GuestKind::Qemu => format!("nodes/{node}/qemu-server/{vmid}.conf"),
            GuestKind::Lxc => format!("nodes/{node}/lxc/{vmid}.conf"),
        }
    }
}

/// A volume in a storage (backups, ISOs).
#[derive(Debug, Clone)]
pub struct Volume {
    pub volid: String,
    pub content: String,
    pub format: String,
    pub size: u64,
    pub ctime: i64,
    pub vmid: Option<u32>,
    pub subtype: Option<GuestKind>,
    pub notes: Option<String>,
    pub protected: bool,
    /// For backups: the guest as it was backed up (what a restore brings back).
    pub backup_of: Option<(GuestKind, BTreeMap<String, String>)>,
}

/// A config file lock held by workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flock {
    Exclusive,
    /// Held shared by this many workers.
    Shared(usize),
}

/// The file Proxmox locks for a guest's config (qemu-server's and pve-container's).
pub fn lock_file(kind: GuestKind, vmid: u32) -> String {
    match kind {
        GuestKind::Qemu => format!("/var/lock/qemu-server/lock-{vmid}.conf"),
        GuestKind::Lxc => format!("/run/lock/lxc/pve-config-{vmid}.lock"),
    }
}

impl Model {
    /// Take a guest's config file lock for a worker; Proxmox's 1-second wait
    /// ends in its words when another worker holds it exclusively (or when an
    /// exclusive lock is wanted while others hold it).
    pub fn take_flock(
        &mut self,
        kind: GuestKind,
        vmid: u32,
        exclusive: bool,
    ) -> Result<(), String> {
        let busy = !matches!(
            (self.flocks.get(&vmid), exclusive),
            (None, _) | (Some(Flock::Shared(_)), false)
        );
        if busy || self.held_locks.contains_key(&vmid) {
            return Err(format!(
                "can't lock file '{}' - got timeout",
                lock_file(kind, vmid)
            ));
        }
        let next = match (self.flocks.get(&vmid), exclusive) {
            (_, true) => Flock::Exclusive,
            (Some(Flock::Shared(n)), false) => Flock::Shared(n + 1),
            _ => Flock::Shared(1),
        };
        self.flocks.insert(vmid, next);
        Ok(())
    }

    /// A worker lets go of a config file lock.
    pub fn drop_flock(&mut self, vmid: u32) {
        match self.flocks.get(&vmid).copied() {
            Some(Flock::Shared(n)) if n > 1 => {
                self.flocks.insert(vmid, Flock::Shared(n - 1));
            }
            _ => {
                self.flocks.remove(&vmid);
            }
        }
    }
}

/// How a task ended, or that it has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// `DELETE /tasks/{upid}` asked it to stop; the runner ends it at its next step.
    Stopping,
    Stopped(String),
}

#[derive(Debug, Clone)]
pub struct SimTask {
    pub upid: Upid,
    pub state: TaskState,
    pub log: Vec<String>,
    pub endtime: Option<i64>,
    /// The guest the task works on (fault matching, locks).
    pub vmid: Option<u32>,
    pub progress: f64,
}

/// A login session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    pub expires: Instant,
}

/// An API token; `privs` None means every privilege (a root token).
#[derive(Debug, Clone)]
pub struct TokenDef {
    pub secret: String,
    pub privs: Option<BTreeSet<String>>,
}

/// The whole simulated cluster.
#[derive(Debug)]
pub struct Model {
    pub cluster_name: String,
    pub version: String,
    pub nodes: BTreeMap<String, SimNode>,
    pub storages: Vec<SimStorage>,
    pub guests: BTreeMap<u32, SimGuest>,
    /// (storage, node) → volumes; shared storages use the node "".
    pub volumes: BTreeMap<(String, String), Vec<Volume>>,
    pub tasks: Vec<SimTask>,
    pub sessions: HashMap<String, Session>,
    pub ticket_ttl: Duration,
    pub tokens: BTreeMap<String, TokenDef>,
    pub password: String,
    pub faults: Faults,
    pub rng: Rng,
    pub next_pid: u32,
    /// Seconds of simulated time per real second is 1 / time_scale; 0 finishes tasks at once.
    pub time_scale: f64,
    /// Config locks held by someone else, until the given instant (None: until released).
    pub held_locks: HashMap<u32, Option<Instant>>,
    /// Config file locks (flock) held by running workers: a qemu clone holds
    /// its running source's exclusively, a stopped source's shared.
    pub flocks: HashMap<u32, Flock>,
    /// Every request seen, (method, path), for tests; capped.
    pub requests: Vec<(String, String)>,
    /// API requests answered since start (never capped): what a client
    /// costs the cluster, for tests and the benchmark harness.
    pub request_count: u64,
}

/// Keep at most this many finished tasks.
const MAX_TASKS: usize = 5000;

impl Model {
    pub fn new(cluster_name: &str, seed: u64) -> Model {
        Model {
            cluster_name: cluster_name.to_string(),
            version: "9.1.2".into(),
            nodes: BTreeMap::new(),
            storages: Vec::new(),
            guests: BTreeMap::new(),
            volumes: BTreeMap::new(),
            tasks: Vec::new(),
            sessions: HashMap::new(),
            ticket_ttl: Duration::from_secs(7200),
            tokens: BTreeMap::new(),
            password: String::new(),
            faults: Faults::default(),
            rng: Rng::new(seed),
            next_pid: 0x3A1F2,
            time_scale: 0.0,
            held_locks: HashMap::new(),
            flocks: HashMap::new(),
            requests: Vec::new(),
            request_count: 0,
        }
    }

    pub fn node(&self, name: &str) -> Result<&SimNode, ApiError> {
        self.nodes.get(name).ok_or_else(|| {
            ApiError::server(format!(
                "hostname lookup '{name}' failed - failed to get address info for: {name}: Name or service not known"
            ))
        })
    }

    /// The guest `vmid` of `kind` on `node`, or Proxmox's "does not exist".
    pub fn guest(&self, node: &str, kind: GuestKind, vmid: u32) -> Result<&SimGuest, ApiError> {
        match self.guests.get(&vmid) {
            Some(g) if g.node == node && g.kind == kind => Ok(g),
            _ => Err(ApiError::server(format!(
                "Configuration file '{}' does not exist",
                SimGuest::conf_path(kind, node, vmid)
            ))),
        }
    }

    pub fn guest_mut(
        &mut self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
    ) -> Result<&mut SimGuest, ApiError> {
        self.guest(node, kind, vmid)?;
        self.guests
            .get_mut(&vmid)
            .ok_or_else(|| ApiError::server("guest vanished"))
    }

    /// `VM is locked (backup)` / `CT is locked (backup)` when a config lock is set.
    pub fn check_lock(g: &SimGuest) -> Result<(), ApiError> {
        match g.lock() {
            Some(l) => Err(ApiError::server(format!(
                "{} is locked ({l})",
                g.kind.noun()
            ))),
            None => Ok(()),
        }
    }

    /// The config file lock: another holder makes Proxmox time out on it.
    pub fn check_config_lock(&mut self, kind: GuestKind, vmid: u32) -> Result<(), ApiError> {
        if let Some(until) = self.held_locks.get(&vmid).copied() {
            if until.is_none_or(|u| Instant::now() < u) {
                return Err(ApiError::server(format!(
                    "can't lock file '{}' - got timeout",
                    lock_file(kind, vmid)
                )));
            }
            self.held_locks.remove(&vmid);
        }
        Ok(())
    }

    pub fn storage(&self, id: &str) -> Result<&SimStorage, ApiError> {
        self.storages
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ApiError::server(format!("storage '{id}' does not exist")))
    }

    /// Whether a storage is shared (a missing one counts as local).
    pub fn is_shared(&self, id: &str) -> bool {
        self.storages.iter().any(|s| s.id == id && s.shared)
    }

    /// A storage that must exist on `node`.
    pub fn storage_on(&self, id: &str, node: &str) -> Result<&SimStorage, ApiError> {
        let s = self.storage(id)?;
        if !s.on_node(node) {
            return Err(ApiError::server(format!(
                "storage '{id}' is not available on node '{node}'"
            )));
        }
        Ok(s)
    }

    /// The volume list key of a storage seen from a node.
    pub fn volume_key(&self, storage: &str, node: &str) -> (String, String) {
        let shared = self.storages.iter().any(|s| s.id == storage && s.shared);
        (
            storage.to_string(),
            if shared {
                String::new()
            } else {
                node.to_string()
            },
        )
    }

    pub fn volumes(&self, storage: &str, node: &str) -> &[Volume] {
        self.volumes
            .get(&self.volume_key(storage, node))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn volumes_mut(&mut self, storage: &str, node: &str) -> &mut Vec<Volume> {
        let key = self.volume_key(storage, node);
        self.volumes.entry(key).or_default()
    }

    /// The lowest free VMID from 100.
    pub fn next_free_vmid(&self) -> u32 {
        (100u32..)
            .find(|id| !self.guests.contains_key(id))
            .unwrap_or(100)
    }

    pub fn alloc_pid(&mut self) -> u32 {
        self.next_pid = self.next_pid.wrapping_add(1 + (self.rng.below(97) as u32));
        self.next_pid
    }

    pub fn task(&self, upid: &str) -> Option<&SimTask> {
        self.tasks.iter().rev().find(|t| t.upid.as_str() == upid)
    }

    pub fn task_mut(&mut self, upid: &str) -> Option<&mut SimTask> {
        self.tasks
            .iter_mut()
            .rev()
            .find(|t| t.upid.as_str() == upid)
    }

    /// Drop the oldest finished tasks beyond the cap.
    pub fn trim_tasks(&mut self) {
        while self.tasks.len() > MAX_TASKS {
            match self
                .tasks
                .iter()
                .position(|t| matches!(t.state, TaskState::Stopped(_)))
            {
                Some(i) => {
                    self.tasks.remove(i);
                }
                None => break,
            }
        }
    }

    pub fn record_request(&mut self, method: &str, path: &str) {
        self.request_count += 1;
        self.requests.push((method.to_string(), path.to_string()));
        if self.requests.len() > 20_000 {
            self.requests.drain(..10_000);
        }
    }

    /// A MAC in Proxmox's own prefix (BC:24:11), as a fresh clone gets one.
    pub fn random_mac(&mut self) -> crate::macaddr::MacAddr {
        let v = self.rng.next_u64();
        crate::macaddr::MacAddr([0xBC, 0x24, 0x11, (v >> 16) as u8, (v >> 8) as u8, v as u8])
    }

    pub fn digest(&mut self) -> String {
        self.rng.hex(40)
    }
}

/// Current Unix time.
pub fn now_unix() -> i64 {
    crate::store::now()
}
