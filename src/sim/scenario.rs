//! Scenarios: the cluster a simulator starts with. `seed` is the original
//! design's cluster; a YAML file can describe any other; `generated` builds a
//! large one for benchmarks.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::faults::{HttpFault, TaskFault};
use super::model::{Model, SimGuest, SimNode, SimSnapshot, SimStorage, Volume, now_unix};
use super::rng::Rng;
use crate::pve::types::GuestKind;

const SEED: &str = include_str!("scenarios/seed.yml");
const DEFAULT_NAMING: &str = include_str!("../../config/naming-conventions.yml");
const DEFAULT_POLICIES: &str = include_str!("../../config/action-policies.yml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDoc {
    pub cluster: String,
    #[serde(default)]
    pub version: Option<String>,
    pub nodes: Vec<NodeDoc>,
    #[serde(default)]
    pub storages: Vec<StorageDoc>,
    #[serde(default)]
    pub guests: Vec<GuestDoc>,
    #[serde(default)]
    pub backups: Vec<BackupDoc>,
    #[serde(default)]
    pub faults: FaultsDoc,
    /// Text of the naming-conventions.yml to write with `--write-config`.
    #[serde(default)]
    pub naming_conventions: Option<String>,
    /// Text of the action-policies.yml to write with `--write-config`.
    #[serde(default)]
    pub action_policies: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDoc {
    pub name: String,
    pub ip: String,
    #[serde(default = "default_cpus")]
    pub cpus: u32,
    #[serde(default = "default_mem")]
    pub memory_gib: u64,
    #[serde(default)]
    pub offline: bool,
    /// The node's time zone (`Europe/Vienna`); UTC when left out.
    #[serde(default)]
    pub timezone: Option<String>,
}

fn default_cpus() -> u32 {
    8
}
fn default_mem() -> u64 {
    32
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageDoc {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub content: Vec<String>,
    #[serde(default)]
    pub shared: bool,
    #[serde(default = "default_total")]
    pub total_gib: u64,
    #[serde(default)]
    pub nodes: Option<Vec<String>>,
    /// Retention as Proxmox writes it in storage.cfg (`keep-last=2,keep-daily=7`).
    #[serde(default)]
    pub prune_backups: Option<String>,
}

fn default_total() -> u64 {
    100
}

/// A config value as YAML writes it (numbers and booleans become Proxmox text).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Bool(bool),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestDoc {
    pub vmid: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: GuestKind,
    pub node: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub template: bool,
    #[serde(default)]
    pub config: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub snapshots: Vec<SnapshotDoc>,
}

fn default_status() -> String {
    "stopped".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDoc {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub age_hours: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupDoc {
    pub vmid: u32,
    pub storage: String,
    /// For node-local storages: where the file lives (default: the guest's node).
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub age_hours: f64,
    #[serde(default = "default_compress")]
    pub compress: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub protected: bool,
    #[serde(default = "default_size")]
    pub size_mib: u64,
    /// When it was made, as an RFC 3339 instant (`2026-11-30T09:30:00Z`);
    /// overrides `age_hours`.
    #[serde(default)]
    pub at: Option<String>,
    /// The guest type the archive holds (default: the guest's): an old
    /// backup of a VMID that now belongs to another kind of guest.
    #[serde(default, rename = "type")]
    pub kind: Option<GuestKind>,
    /// A file name of the admin's choosing (a "renamed" archive); default:
    /// vzdump's own `vzdump-TYPE-VMID-YYYY_MM_DD-HH_MM_SS.EXT`.
    #[serde(default)]
    pub file: Option<String>,
}

fn default_compress() -> String {
    "zstd".into()
}
fn default_size() -> u64 {
    512
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsDoc {
    #[serde(default)]
    pub http: Vec<HttpFault>,
    #[serde(default)]
    pub tasks: Vec<TaskFault>,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub locks: Vec<LockDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockDoc {
    pub vmid: u32,
    /// A config `lock:` value; absent: hold the config file lock for `secs`.
    #[serde(default)]
    pub lock: Option<String>,
    #[serde(default)]
    pub secs: Option<f64>,
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub doc: ScenarioDoc,
}

impl Scenario {
    /// The original design's cluster.
    pub fn seed() -> Scenario {
        Scenario::parse(SEED, "seed").unwrap_or_else(|e| panic!("built-in seed scenario: {e}"))
    }

    /// The same scenario with one more storage.
    pub fn with_storage(mut self, s: StorageDoc) -> Scenario {
        self.doc.storages.push(s);
        self
    }

    /// The same scenario with one more guest.
    pub fn with_guest(mut self, g: GuestDoc) -> Scenario {
        self.doc.guests.push(g);
        self
    }

    /// The same scenario with a guest's config key set (or removed, with None).
    pub fn with_config(mut self, vmid: u32, key: &str, value: Option<&str>) -> Scenario {
        if let Some(g) = self.doc.guests.iter_mut().find(|g| g.vmid == vmid) {
            match value {
                Some(v) => {
                    g.config
                        .insert(key.to_string(), Scalar::Text(v.to_string()));
                }
                None => {
                    g.config.remove(key);
                }
            }
        }
        self
    }

    /// The same scenario with a guest running or stopped.
    pub fn with_status(mut self, vmid: u32, status: &str) -> Scenario {
        if let Some(g) = self.doc.guests.iter_mut().find(|g| g.vmid == vmid) {
            g.status = status.to_string();
        }
        self
    }

    pub fn parse(text: &str, source: &str) -> Result<Scenario, String> {
        let doc: ScenarioDoc = serde_saphyr::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            format!(
                "{source}{at}: {}",
                e.to_string().lines().next().unwrap_or("")
            )
        })?;
        let s = Scenario { doc };
        s.check().map_err(|e| format!("{source}: {e}"))?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// `seed`, or a path to a YAML file.
    pub fn named(name: &str) -> Result<Scenario, String> {
        if name == "seed" {
            Ok(Scenario::seed())
        } else {
            Scenario::from_file(Path::new(name))
        }
    }

    fn check(&self) -> Result<(), String> {
        let nodes: Vec<&str> = self.doc.nodes.iter().map(|n| n.name.as_str()).collect();
        let mut ids = std::collections::HashSet::new();
        for g in &self.doc.guests {
            if !nodes.contains(&g.node.as_str()) {
                return Err(format!("guest {} is on unknown node '{}'", g.vmid, g.node));
            }
            if !ids.insert(g.vmid) {
                return Err(format!("vmid {} is used twice", g.vmid));
            }
        }
        for b in &self.doc.backups {
            if !self.doc.storages.iter().any(|s| s.id == b.storage) {
                return Err(format!(
                    "backup of {} names unknown storage '{}'",
                    b.vmid, b.storage
                ));
            }
            if !ids.contains(&b.vmid) {
                return Err(format!("backup of unknown guest {}", b.vmid));
            }
        }
        Ok(())
    }

    /// The naming-conventions.yml that fits this cluster.
    pub fn naming_yaml(&self) -> String {
        self.doc
            .naming_conventions
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMING.to_string())
    }

    pub fn policies_yaml(&self) -> String {
        self.doc
            .action_policies
            .clone()
            .unwrap_or_else(|| DEFAULT_POLICIES.to_string())
    }

    /// Fill an empty model with this scenario.
    pub fn build(&self, model: &mut Model) {
        let now = now_unix();
        let d = &self.doc;
        model.cluster_name = d.cluster.clone();
        if let Some(v) = &d.version {
            model.version = v.clone();
        }
        for (i, n) in d.nodes.iter().enumerate() {
            model.nodes.insert(
                n.name.clone(),
                SimNode {
                    name: n.name.clone(),
                    online: !n.offline,
                    ip: n.ip.clone(),
                    cpus: n.cpus,
                    maxmem: n.memory_gib << 30,
                    boot_unix: now - 86_400 * (12 + i as i64 * 3) - 3_600 * i as i64,
                    phase: i as f64 * 1.7,
                    timezone: n.timezone.clone().unwrap_or_else(|| "UTC".into()),
                },
            );
        }
        for s in &d.storages {
            model.storages.push(SimStorage {
                id: s.id.clone(),
                kind: s.kind.clone(),
                content: s.content.clone(),
                shared: s.shared,
                total: s.total_gib << 30,
                nodes: s.nodes.clone(),
                prune_backups: s.prune_backups.clone(),
            });
        }
        for g in &d.guests {
            let mut config: BTreeMap<String, String> = g
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.text()))
                .collect();
            let name_key = if g.kind == GuestKind::Qemu {
                "name"
            } else {
                "hostname"
            };
            config
                .entry(name_key.to_string())
                .or_insert_with(|| g.name.clone());
            if g.template {
                config.insert("template".into(), "1".into());
            }
            let mut snapshots = BTreeMap::new();
            for s in &g.snapshots {
                let mut snap_cfg = config.clone();
                snap_cfg.remove("template");
                snapshots.insert(
                    s.name.clone(),
                    SimSnapshot {
                        name: s.name.clone(),
                        description: s.description.clone(),
                        parent: s.parent.clone(),
                        snaptime: now - (s.age_hours * 3600.0) as i64,
                        vmstate: false,
                        config: snap_cfg,
                    },
                );
            }
            if let Some(latest) = g
                .snapshots
                .iter()
                .max_by(|a, b| b.age_hours.total_cmp(&a.age_hours))
            {
                config.insert("parent".into(), latest.name.clone());
            }
            config.insert("digest".into(), model.digest());
            let running = g.status == "running";
            let phase = model.rng.phase();
            model.guests.insert(
                g.vmid,
                SimGuest {
                    vmid: g.vmid,
                    kind: g.kind,
                    node: g.node.clone(),
                    running,
                    config,
                    snapshots,
                    started_unix: running.then(|| now - 3600 * (24 + i64::from(g.vmid % 40))),
                    phase,
                    pending: BTreeMap::new(),
                },
            );
        }
        for b in &d.backups {
            let Some(g) = model.guests.get(&b.vmid).cloned() else {
                continue;
            };
            let node = b.node.clone().unwrap_or_else(|| g.node.clone());
            let ctime = match &b.at {
                Some(at) => at
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_second())
                    .unwrap_or(now),
                None => now - (b.age_hours * 3600.0) as i64,
            };
            let kind = b.kind.unwrap_or(g.kind);
            let zone = model
                .nodes
                .get(&node)
                .map(|n| n.zone())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let stamp = crate::timefmt::format_in(ctime, "%Y_%m_%d-%H_%M_%S", &zone);
            let base = if kind == GuestKind::Qemu {
                "vma"
            } else {
                "tar"
            };
            let ext = match b.compress.as_str() {
                "zstd" => ".zst",
                "gzip" => ".gz",
                "lzo" => ".lzo",
                _ => "",
            };
            let format = format!("{base}{ext}");
            let file = b
                .file
                .clone()
                .unwrap_or_else(|| format!("vzdump-{kind}-{}-{stamp}.{format}", b.vmid));
            model.volumes_mut(&b.storage, &node).push(Volume {
                volid: format!("{}:backup/{file}", b.storage),
                content: "backup".into(),
                format,
                size: b.size_mib << 20,
                ctime,
                vmid: Some(b.vmid),
                subtype: Some(kind),
                notes: b.notes.clone(),
                protected: b.protected,
                backup_of: Some((kind, g.config.clone())),
            });
        }
        model.faults.http = d.faults.http.clone();
        model.faults.tasks = d.faults.tasks.clone();
        model.faults.latency = std::time::Duration::from_millis(d.faults.latency_ms);
        for l in &d.faults.locks {
            match &l.lock {
                Some(v) => {
                    if let Some(g) = model.guests.get_mut(&l.vmid) {
                        g.config.insert("lock".into(), v.clone());
                    }
                }
                None => {
                    let until = l
                        .secs
                        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs_f64(s));
                    model.held_locks.insert(l.vmid, until);
                }
            }
        }
    }

    /// A large cluster: `nodes` nodes, `guests` guests spread over them, with
    /// names, subnets and addresses that follow a generated convention.
    pub fn generated(nodes: u32, guests: u32, seed: u64) -> Scenario {
        let nodes = nodes.clamp(1, 250);
        let mut rng = Rng::new(seed);
        let roles = ["web", "db", "app", "cache", "test", "av"];
        let mut doc = ScenarioDoc {
            cluster: format!("generated-{nodes}x{guests}"),
            version: None,
            nodes: (1..=nodes)
                .map(|i| NodeDoc {
                    name: format!("pve-node-{i:02}"),
                    ip: format!("10.0.{}.{}", i / 200, 11 + i % 200),
                    cpus: 32,
                    memory_gib: 256,
                    offline: false,
                    timezone: None,
                })
                .collect(),
            storages: vec![
                StorageDoc {
                    id: "local".into(),
                    kind: "dir".into(),
                    content: vec!["backup".into(), "iso".into(), "vztmpl".into()],
                    shared: false,
                    total_gib: 200,
                    nodes: None,
                    prune_backups: None,
                },
                StorageDoc {
                    id: "local-lvm".into(),
                    kind: "lvmthin".into(),
                    content: vec!["images".into(), "rootdir".into()],
                    shared: false,
                    total_gib: 4000,
                    nodes: None,
                    prune_backups: None,
                },
            ],
            guests: Vec::new(),
            backups: Vec::new(),
            faults: FaultsDoc::default(),
            naming_conventions: None,
            action_policies: None,
        };
        let mut seq: BTreeMap<&str, u32> = BTreeMap::new();
        let mut vm_host: BTreeMap<u32, u32> = BTreeMap::new();
        let mut ct_host: BTreeMap<u32, u32> = BTreeMap::new();
        for i in 0..guests {
            let node = i % nodes + 1;
            let role = roles[(rng.below(roles.len() as u64)) as usize];
            let n = seq.entry(role).or_insert(0);
            *n += 1;
            let kind = if rng.unit() < 0.4 {
                GuestKind::Qemu
            } else {
                GuestKind::Lxc
            };
            let vmid = 1000 + i;
            // Per node a /20: VMs from .0.100 up, containers from .8.0 up.
            let (base, counter) = match kind {
                GuestKind::Qemu => (100u32, vm_host.entry(node).or_insert(0)),
                GuestKind::Lxc => (8 * 256, ct_host.entry(node).or_insert(0)),
            };
            let host = base + *counter;
            *counter += 1;
            let ip = format!("10.{node}.{}.{}", host / 256, host % 256);
            let mac = format!(
                "02:00:00:{:02X}:{:02X}:{:02X}",
                node.min(255),
                (host >> 8) as u8,
                host as u8
            );
            let name = format!("pve-{role}-{n:03}");
            let mut config = BTreeMap::new();
            config.insert("memory".to_string(), Scalar::Int(1024));
            config.insert("cores".to_string(), Scalar::Int(2));
            match kind {
                GuestKind::Qemu => {
                    config.insert(
                        "scsi0".into(),
                        Scalar::Text(format!("local-lvm:vm-{vmid}-disk-0,size=16G")),
                    );
                    config.insert(
                        "net0".into(),
                        Scalar::Text(format!("virtio={mac},bridge=vmbr0")),
                    );
                    config.insert(
                        "ipconfig0".into(),
                        Scalar::Text(format!("ip={ip}/20,gw=10.{node}.0.1")),
                    );
                }
                GuestKind::Lxc => {
                    config.insert("hostname".into(), Scalar::Text(name.clone()));
                    config.insert(
                        "rootfs".into(),
                        Scalar::Text(format!("local-lvm:vm-{vmid}-disk-0,size=8G")),
                    );
                    config.insert("net0".into(), Scalar::Text(format!("name=eth0,bridge=vmbr0,gw=10.{node}.0.1,hwaddr={mac},ip={ip}/20,type=veth")));
                }
            }
            config.insert("tags".into(), Scalar::Text(role.into()));
            doc.guests.push(GuestDoc {
                vmid,
                name,
                kind,
                node: format!("pve-node-{node:02}"),
                status: if rng.unit() < 0.8 {
                    "running".into()
                } else {
                    "stopped".into()
                },
                template: false,
                config,
                snapshots: Vec::new(),
            });
        }
        let mut naming = String::from(
            "naming_pattern: \"pve-{type}-{seq:03d}\"\nnode_prefix: \"pve-\"\nroles: [web, db, app, cache, test, av]\nnodes:\n",
        );
        for i in 1..=nodes {
            naming.push_str(&format!("  - name: \"node-{i:02}\"\n"));
        }
        naming.push_str("ip_ranges:\n");
        for i in 1..=nodes {
            naming.push_str(&format!(
                "  node-{i:02}:\n    subnet: \"10.{i}.0.0/20\"\n    gateway: \"10.{i}.0.1\"\n    vm_range_start: \"10.{i}.0.100\"\n    vm_range_end: \"10.{i}.7.255\"\n    lxc_range_start: \"10.{i}.8.0\"\n    lxc_range_end: \"10.{i}.15.254\"\n"
            ));
        }
        doc.naming_conventions = Some(naming);
        Scenario { doc }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_parses_with_the_designs_guests() {
        let s = Scenario::seed();
        let names: Vec<&str> = s.doc.guests.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "pve-db-01",
                "pve-av-01",
                "pve-test-01",
                "pve-web-01",
                "pve-app-03"
            ]
        );
    }

    #[test]
    fn bad_scenarios_name_the_problem() {
        let err = Scenario::parse(
            "cluster: x\nnodes: []\nguests:\n  - {vmid: 1, name: a, type: lxc, node: nowhere}\n",
            "t.yml",
        )
        .unwrap_err();
        assert!(err.contains("unknown node 'nowhere'"), "{err}");
        let err = Scenario::parse("cluster: x\nnodez: []\n", "t.yml").unwrap_err();
        assert!(err.starts_with("t.yml:"), "{err}");
    }

    #[test]
    fn generated_naming_config_is_valid() {
        let s = Scenario::generated(3, 30, 1);
        assert_eq!(s.doc.guests.len(), 30);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("naming-conventions.yml"), s.naming_yaml()).unwrap();
        std::fs::write(dir.path().join("action-policies.yml"), s.policies_yaml()).unwrap();
        crate::config::Config::load(dir.path()).unwrap();
    }
}
