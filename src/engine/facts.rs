//! What planning a host or backup action needs to know that the inventory
//! does not hold: the node's logical volumes (from `lvs`) and a storage's
//! backup listing. Read before the planning transaction, never inside it.

use std::collections::BTreeMap;

use super::action::Action;
use super::core::Engine;
use super::error::EngineError;
use crate::host::HostError;
use crate::lvm::{Lv, parse_lvs};
use crate::pve::types::StorageContent;

/// Facts read for one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    /// Per node: every LV.
    pub lvs: BTreeMap<String, Vec<Lv>>,
    /// Per (node, storage): the backups listed.
    pub backups: BTreeMap<(String, String), Vec<StorageContent>>,
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
        parse_lvs(&out.stdout).map_err(EngineError::Plan)
    }

    pub(crate) async fn gather(&self, action: &Action) -> Result<PlanFacts, EngineError> {
        let mut f = PlanFacts::default();
        // Nodes may be named either way (`node-02`, `pve-node-02`); facts use Proxmox's.
        let pve = |n: &str| {
            self.config()
                .naming
                .node(n)
                .map(|e| e.pve_name.clone())
                .unwrap_or_else(|| n.to_string())
        };
        let mut lvs_on: Vec<String> = Vec::new();
        let mut content: Vec<(String, String)> = Vec::new();
        match action {
            Action::CreateLvmSnapshot { node, .. }
            | Action::RestoreLvmSnapshot { node, .. }
            | Action::GuardedHostUpgrade { node, .. } => lvs_on.push(pve(node)),
            Action::CleanupLvmSnapshots { node } => match node {
                Some(n) => lvs_on.push(pve(n)),
                None => {
                    for n in &self.config().naming.nodes {
                        if self.host_runner().is_some_and(|h| h.reaches(&n.pve_name)) {
                            lvs_on.push(n.pve_name.clone());
                        }
                    }
                }
            },
            Action::VerifyBackup { volid, node, .. } | Action::SyncBackup { volid, node, .. } => {
                content.push((pve(node), storage_of(volid).to_string()));
            }
            Action::RestoreBackup {
                volid,
                node,
                target_node,
                snapshot_target,
                ..
            } => {
                content.push((pve(node), storage_of(volid).to_string()));
                if *snapshot_target {
                    lvs_on.push(pve(target_node));
                }
            }
            Action::PruneBackups { storage, node, .. } => {
                content.push((pve(node), storage.clone()))
            }
            _ => {}
        }
        for node in lvs_on {
            let lvs = self.lvs(&node).await?;
            f.lvs.insert(node, lvs);
        }
        for (node, storage) in content {
            let list = self
                .client()
                .storage_content(&node, &storage, Some("backup"), None)
                .await?;
            f.backups.insert((node, storage), list);
        }
        // Work on archives runs on the nodes: say so now if they cannot be reached.
        match action {
            Action::VerifyBackup { volid, node, .. } => {
                let pbs = f
                    .backups_on(&pve(node), storage_of(volid))
                    .iter()
                    .any(|c| c.volid == *volid && c.format.starts_with("pbs"));
                if !pbs {
                    self.hosts(&pve(node))?;
                }
            }
            Action::SyncBackup { node, to_node, .. } => {
                self.hosts(&pve(node))?;
                self.hosts(&pve(to_node))?;
            }
            Action::CreateBackup {
                guest,
                verify,
                sync,
                ..
            } if *verify || *sync => {
                self.hosts(&guest.node)?;
            }
            _ => {}
        }
        Ok(f)
    }
}

impl From<HostError> for EngineError {
    fn from(e: HostError) -> Self {
        EngineError::Host(e.to_string())
    }
}
