//! What planning a host or backup action needs to know that the inventory
//! does not hold: the node's logical volumes (from `lvs`) and a storage's
//! backup listing. Read before the planning transaction, never inside it.

use std::collections::BTreeMap;

use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::lvm::{Lv, parse_lvs};
use crate::pve::types::{SnapshotInfo, StorageContent};

/// Facts read for one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    /// Per node: every LV.
    pub lvs: BTreeMap<String, Vec<Lv>>,
    /// Per (node, storage): the backups listed.
    pub backups: BTreeMap<(String, String), Vec<StorageContent>>,
    /// Per node whose backups were listed: its time zone (prune buckets in it).
    pub zones: BTreeMap<String, jiff::tz::TimeZone>,
    /// Per guest: its snapshots (the `current` entry left out).
    pub snapshots: BTreeMap<u32, Vec<SnapshotInfo>>,
}

impl PlanFacts {
    pub fn lvs_of(&self, node: &str) -> &[Lv] {
        self.lvs.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn backups_on(&self, node: &str, storage: &str) -> &[StorageContent] {
        self.backups
            .get(&(node.to_string(), storage.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A guest's snapshots as read for this plan.
    pub fn snapshots_of(&self, vmid: u32) -> &[SnapshotInfo] {
        self.snapshots.get(&vmid).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A node's time zone as read for this plan (this machine's if not read).
    pub fn zone_of(&self, node: &str) -> jiff::tz::TimeZone {
        self.zones
            .get(node)
            .cloned()
            .unwrap_or_else(jiff::tz::TimeZone::system)
    }
}

/// The storage id of a volid (`nfs-backup:backup/...` → `nfs-backup`).
pub fn storage_of(volid: &str) -> &str {
    volid.split(':').next().unwrap_or(volid)
}

impl Engine {
    /// Read every LV of a node.
    pub async fn lvs(&self, node: &str) -> Result<Vec<Lv>, EngineError> {
        let hosts = self.hosts(node)?;
        let cmd = crate::lvm::ops::lvs();
        let out = hosts.run(node, &cmd, None).await?.check(node, &cmd)?;
        parse_lvs(&out.stdout).map_err(EngineError::Step)
    }

    /// The node's name as Proxmox spells it (facts are keyed so).
    pub(crate) fn pve_name(&self, node: &str) -> String {
        self.config()
            .naming
            .node(node)
            .map(|e| e.pve_name.clone())
            .unwrap_or_else(|| node.to_string())
    }

    /// Read a guest's snapshots into facts for a plan.
    pub(crate) async fn snapshot_facts(
        &self,
        g: &crate::pve::GuestRef,
    ) -> Result<PlanFacts, EngineError> {
        let mut f = PlanFacts::default();
        let list = self.client().snapshots(g).await?;
        f.snapshots.insert(
            g.vmid,
            list.into_iter().filter(|s| s.name != "current").collect(),
        );
        Ok(f)
    }

    /// Read the LVs of `nodes` and the backup listings of `(node, storage)`
    /// pairs into facts for a plan.
    pub(crate) async fn read_facts(
        &self,
        lvs_on: &[String],
        content: &[(String, String)],
    ) -> Result<PlanFacts, EngineError> {
        let mut f = PlanFacts::default();
        for node in lvs_on {
            let node = self.pve_name(node);
            let lvs = self.lvs(&node).await?;
            f.lvs.insert(node, lvs);
        }
        for (node, storage) in content {
            let node = self.pve_name(node);
            let list = self
                .client()
                .storage_content(&node, storage, Some("backup"), None)
                .await?;
            let zone = self.node_zone(&node).await;
            f.zones.insert(node.clone(), zone);
            f.backups.insert((node, storage.clone()), list);
        }
        Ok(f)
    }
}
