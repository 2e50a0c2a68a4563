use serde::{Deserialize, Serialize};

use crate::pve::de;

/// One entry of `GET /nodes/{node}/storage`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct StorageInfo {
    pub storage: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, deserialize_with = "de::bool01")]
    pub active: bool,
    #[serde(default, deserialize_with = "de::opt_bool01")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub shared: bool,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub used: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub avail: Option<u64>,
}

impl StorageInfo {
    pub fn holds(&self, content: &str) -> bool {
        self.content.split(',').any(|c| c == content)
    }
}

/// PBS verification state carried by a backup listing.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Verification {
    pub state: String,
    #[serde(default)]
    pub upid: Option<String>,
}

/// One entry of `GET /nodes/{node}/storage/{storage}/content`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct StorageContent {
    pub volid: String,
    #[serde(default)]
    pub format: String,
    /// `size`, or `approximate-size` on newer servers.
    #[serde(default, alias = "approximate-size", deserialize_with = "de::opt_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub ctime: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default)]
    pub content: Option<String>,
    /// `qemu`, `lxc` or `openvz` for backups.
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "de::bool01")]
    pub protected: bool,
    #[serde(default)]
    pub verification: Option<Verification>,
    #[serde(default)]
    pub encrypted: Option<String>,
}
