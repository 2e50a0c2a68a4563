use serde::{Deserialize, Serialize};

use crate::pve::de;

/// One entry of `GET /nodes`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeListItem {
    pub node: String,
    pub status: String,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub mem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default)]
    pub ssl_fingerprint: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct MemoryInfo {
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub used: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub free: Option<u64>,
}

/// `GET /nodes/{node}/time`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeTime {
    /// tz database name (`Europe/Vienna`).
    pub timezone: String,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub time: Option<i64>,
}

/// `GET /nodes/{node}/status`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeStatus {
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default)]
    pub memory: MemoryInfo,
    #[serde(default)]
    pub rootfs: MemoryInfo,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default)]
    pub loadavg: Vec<String>,
    #[serde(default)]
    pub pveversion: Option<String>,
    #[serde(default)]
    pub kversion: Option<String>,
}

/// One entry of `GET /nodes/{node}/network`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NetworkIface {
    pub iface: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub netmask: Option<String>,
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub bridge_ports: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub autostart: Option<bool>,
    #[serde(default, rename = "vlan-id", deserialize_with = "de::opt_u32")]
    pub vlan_id: Option<u32>,
    #[serde(default)]
    pub comments: Option<String>,
}
