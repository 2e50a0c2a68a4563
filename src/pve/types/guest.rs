use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pve::de;
use crate::pve::propstring::{Disk, IpConfig, LxcNet, QemuNet, is_disk_key};

/// Virtual machine or container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    Qemu,
    Lxc,
}

impl GuestKind {
    /// The path segment and resource type: `qemu` / `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }

    pub fn parse(s: &str) -> Option<GuestKind> {
        match s {
            "qemu" | "vm" => Some(GuestKind::Qemu),
            "lxc" | "ct" => Some(GuestKind::Lxc),
            _ => None,
        }
    }

    /// How Proxmox words errors about this kind (`VM 100` / `CT 101`).
    pub fn noun(self) -> &'static str {
        match self {
            GuestKind::Qemu => "VM",
            GuestKind::Lxc => "CT",
        }
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `GET /nodes/{node}/qemu` or `/lxc`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct GuestListItem {
    #[serde(deserialize_with = "de::u32_")]
    pub vmid: u32,
    pub status: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub template: bool,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub cpus: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub mem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default)]
    pub lock: Option<String>,
    #[serde(default)]
    pub tags: Option<String>,
}

/// `GET .../status/current`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct GuestStatus {
    pub status: String,
    #[serde(default, deserialize_with = "de::opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub qmpstatus: Option<String>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default)]
    pub lock: Option<String>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub template: bool,
}

/// A guest's configuration as a flat key → text map (numbers become text).
///
/// Proxmox configs are open-ended (`net0..netN`, `scsi0..`, `unused0..`), so
/// this keeps every key and offers typed views of the ones proxdeck uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GuestConfig {
    pub values: BTreeMap<String, String>,
}

impl<'de> Deserialize<'de> for GuestConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let values = map
            .into_iter()
            .filter_map(|(k, v)| de::scalar_text(&v).map(|t| (k, t)))
            .collect();
        Ok(GuestConfig { values })
    }
}

impl GuestConfig {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// qemu `name` or lxc `hostname`.
    pub fn name(&self) -> Option<&str> {
        self.get("name").or_else(|| self.get("hostname"))
    }

    pub fn is_template(&self) -> bool {
        matches!(self.get("template"), Some("1"))
    }

    pub fn lock(&self) -> Option<&str> {
        self.get("lock")
    }

    pub fn digest(&self) -> Option<&str> {
        self.get("digest")
    }

    /// Indexed keys with this prefix, in index order (`net0`, `net1`, ...).
    pub fn indexed(&self, prefix: &str) -> Vec<(u32, &str)> {
        let mut out: Vec<(u32, &str)> = self
            .values
            .iter()
            .filter_map(|(k, v)| {
                let idx = k.strip_prefix(prefix)?.parse::<u32>().ok()?;
                Some((idx, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(i, _)| *i);
        out
    }

    pub fn qemu_net(&self, idx: u32) -> Option<QemuNet> {
        QemuNet::parse(self.get(&format!("net{idx}"))?).ok()
    }

    pub fn ipconfig(&self, idx: u32) -> Option<IpConfig> {
        IpConfig::parse(self.get(&format!("ipconfig{idx}"))?).ok()
    }

    pub fn lxc_net(&self, idx: u32) -> Option<LxcNet> {
        LxcNet::parse(self.get(&format!("net{idx}"))?).ok()
    }

    /// Every disk (not CD-ROMs), by key.
    pub fn disks(&self) -> Vec<(String, Disk)> {
        self.values
            .iter()
            .filter(|(k, _)| is_disk_key(k))
            .filter_map(|(k, v)| Disk::parse(v).ok().map(|d| (k.clone(), d)))
            .filter(|(_, d)| !d.is_cdrom())
            .collect()
    }

    /// CD-ROM drives with something in them (an ISO, a cloud-init drive or
    /// the host's drive `cdrom`), by key; empty drives (`none`) are left out.
    pub fn cdroms(&self) -> Vec<(String, Disk)> {
        self.values
            .iter()
            .filter(|(k, _)| is_disk_key(k))
            .filter_map(|(k, v)| Disk::parse(v).ok().map(|d| (k.clone(), d)))
            .filter(|(_, d)| d.is_cdrom() && d.volume() != Some("none"))
            .collect()
    }

    /// Whether the VM has a cloud-init drive (only then does `ipconfigN` reach the guest).
    pub fn has_cloudinit(&self) -> bool {
        self.cdroms().iter().any(|(_, d)| d.is_cloudinit())
    }

    /// Tags as a list.
    pub fn tags(&self) -> Vec<String> {
        super::cluster::split_tags(self.get("tags").unwrap_or(""))
    }
}

/// One entry of `GET .../snapshot` (the list ends with the `current` pseudo-snapshot).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SnapshotInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub snaptime: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub vmstate: Option<bool>,
}
