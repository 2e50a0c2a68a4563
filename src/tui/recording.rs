//! A world from recorded API responses (`tests/data/tui/seed-world.json`):
//! the fixture that screen tests and screenshots are drawn from, so they
//! show exactly what the console shows for that data.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::world::{BackupItem, IpData, Snapshots, World};
use crate::inventory::Inventory;
use crate::pve::types::{ClusterResource, GuestConfig, SnapshotInfo, StorageContent, TaskListItem};

#[derive(Debug, Deserialize)]
struct Storage {
    node: String,
    storage: String,
    content: Vec<StorageContent>,
}

/// The recorded responses.
#[derive(Debug, Deserialize)]
pub struct Recording {
    pub captured_unix: i64,
    resources: Vec<ClusterResource>,
    configs: BTreeMap<String, GuestConfig>,
    snapshots: BTreeMap<String, Vec<SnapshotInfo>>,
    backups: BTreeMap<String, Storage>,
    tasks: Vec<TaskListItem>,
    #[serde(default)]
    pub task_logs: BTreeMap<String, Vec<crate::pve::types::LogLine>>,
}

impl Recording {
    pub fn parse(json: &str) -> Result<Recording, String> {
        serde_json::from_str(json).map_err(|e| format!("recording: {e}"))
    }

    /// The world as a refresh at capture time would have left it.
    pub fn world(&self, cluster: &str, user: &str) -> World {
        let at = self.captured_unix;
        let configs = self
            .configs
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.clone())))
            .collect();
        let inv = Inventory::from_parts(&self.resources, configs, at);
        let mut w = World {
            cluster: cluster.into(),
            user: user.into(),
            refresh_secs: 5,
            ..World::default()
        };
        w.inventory.set(Arc::new(inv), at);
        w.snapshots.set(
            Snapshots {
                guests: self
                    .snapshots
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.clone())))
                    .collect(),
                ..Snapshots::default()
            },
            at,
        );
        let shared: Vec<&str> = self
            .resources
            .iter()
            .filter(|r| r.kind == "storage" && r.shared)
            .filter_map(|r| r.storage.as_deref())
            .collect();
        let backups = self
            .backups
            .values()
            .flat_map(|s| {
                s.content.iter().map(|c| BackupItem {
                    content: c.clone(),
                    storage: s.storage.clone(),
                    node: s.node.clone(),
                    shared: shared.contains(&s.storage.as_str()),
                    verification: None,
                    verification_error: None,
                    mode: None,
                    kept_by: None,
                })
            })
            .collect();
        w.backups.set(backups, at);
        w.tasks.set(self.tasks.clone(), at);
        w.ip.set(std::sync::Arc::new(IpData::default()), at);
        w.actions.set(Vec::new(), at);
        w
    }
}
