use serde::{Deserialize, Serialize};

use crate::pve::de;

/// `GET /version`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Version {
    pub version: String,
    #[serde(default)]
    pub release: String,
    #[serde(default)]
    pub repoid: String,
}

/// One entry of `GET /cluster/resources`: a node, guest, storage, pool or SDN zone.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct ClusterResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default, deserialize_with = "de::opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub template: bool,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub mem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub disk: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default)]
    pub tags: Option<String>,
    #[serde(default)]
    pub lock: Option<String>,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub hastate: Option<String>,
    #[serde(default)]
    pub storage: Option<String>,
    #[serde(default)]
    pub plugintype: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub shared: bool,
}

impl ClusterResource {
    pub fn is_guest(&self) -> bool {
        self.kind == "qemu" || self.kind == "lxc"
    }

    /// Tags as a list (`;`, `,` and spaces all separate them).
    pub fn tag_list(&self) -> Vec<String> {
        split_tags(self.tags.as_deref().unwrap_or(""))
    }
}

/// Split a Proxmox tag list.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split([';', ',', ' '])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// One entry of `GET /cluster/status` (the cluster itself, or a node).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ClusterStatusItem {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub online: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub quorate: Option<bool>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "de::opt_u32")]
    pub nodes: Option<u32>,
}
