//! Reading the cluster for the front ends, with what the database derives
//! from it brought in line in the same call: the inventory (metadata and
//! address records reconciled), guest and LVM snapshots (catalog synced),
//! backups (catalog synced, retention classes computed). One place, so the
//! console, the CLI, the REST API and the assistant read the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::core::Engine;
use super::error::EngineError;
use super::snapshot_catalog as catalog;
use super::workflows::common::backup::prune_marks;
use crate::backup::catalog::{self as backup_catalog, Listing};
use crate::inventory::{Inventory, RefreshOptions};
use crate::ipam::Allocation;
use crate::ipam::alloc::Ipam;
use crate::ipam::reconcile::Conflict;
use crate::metadata::ResourceMetadata;
use crate::naming::Convention;
use crate::pve::GuestRef;
use crate::pve::types::{SnapshotInfo, StorageContent};

/// A read of the cluster with what the database derives from it.
#[derive(Debug, Clone)]
pub struct InventoryRead {
    pub inventory: Arc<Inventory>,
    pub meta: Vec<ResourceMetadata>,
    pub ip: IpData,
}

/// What proxdeck's catalog says about a snapshot it knows.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotNote {
    pub created_by_proxdeck: bool,
    pub purpose: Option<String>,
    pub protects_action: Option<String>,
    pub expires_at: Option<i64>,
}

/// An LVM snapshot on a node, from the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct LvmSnapshot {
    pub node: String,
    pub volume: String,
    pub name: String,
    pub size_bytes: Option<u64>,
    pub usage_percent: Option<f64>,
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub state: String,
    pub description: Option<String>,
}

/// Guest snapshots as Proxmox lists them, per VMID, plus the catalog's notes.
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    pub guests: BTreeMap<u32, Vec<SnapshotInfo>>,
    /// Guests whose listing failed, with the error.
    pub failed: BTreeMap<u32, String>,
    pub notes: HashMap<(u32, String), SnapshotNote>,
    pub lvm: Vec<LvmSnapshot>,
}

/// One backup archive, wherever copies of it live.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupItem {
    pub content: StorageContent,
    pub storage: String,
    /// Node it was listed from (any node for a shared storage).
    pub node: String,
    pub shared: bool,
    /// From proxdeck's catalog: `unverified`, `ok`, `failed`.
    pub verification: Option<String>,
    pub verification_error: Option<String>,
    /// vzdump mode, when proxdeck made the backup.
    pub mode: Option<String>,
    /// The retention rule that keeps it (`keep-daily`, ...), when computed.
    pub kept_by: Option<String>,
}

impl BackupItem {
    /// The archive's file name (the same on every storage it was copied to).
    pub fn file(&self) -> &str {
        let v = self.content.volid.as_str();
        let after = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
        after.rsplit('/').next().unwrap_or(after)
    }
}

/// Addresses as the database records them, and what disagrees.
#[derive(Debug, Clone, Default)]
pub struct IpData {
    /// Reserved, active, observed and (for history) released records.
    pub allocations: Vec<Allocation>,
    pub conflicts: Vec<Conflict>,
}

impl Engine {
    /// Read the cluster, bring metadata and address records in line, and
    /// return what front ends show. `previous` lets unchanged guests keep
    /// their config.
    pub async fn refresh_inventory(
        &self,
        previous: Option<&Inventory>,
    ) -> Result<InventoryRead, EngineError> {
        let (inv, _) =
            Inventory::refresh(self.client(), previous, &RefreshOptions::default()).await?;
        let inv = Arc::new(inv);
        let for_db = inv.clone();
        let (meta, ip) = self
            .write(move |tx, inner| {
                let conv = Convention::new(&inner.config.naming);
                crate::metadata::sync(tx, &inner.cluster, &conv, &for_db)?;
                let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                let report = ipam.reconcile(tx, &for_db)?;
                let allocations = ipam.list(tx, None, true)?;
                let meta = crate::metadata::list(tx, &inner.cluster)?;
                Ok((
                    meta,
                    IpData {
                        allocations,
                        conflicts: report.conflicts,
                    },
                ))
            })
            .await?;
        Ok(InventoryRead {
            inventory: inv,
            meta,
            ip,
        })
    }
}

impl Engine {
    /// Every guest's snapshot list (a few at a time), synced into the catalog.
    pub async fn read_snapshots(&self, inv: &Inventory) -> Result<Snapshots, EngineError> {
        let engine = self;
        let online = inv.online_node_names();
        let guests: Vec<GuestRef> = inv
            .guests
            .iter()
            .filter(|g| online.contains(&g.node.as_str()))
            .map(|g| GuestRef::new(&g.node, g.kind, g.vmid))
            .collect();
        let mut lists = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let mut pending = FuturesUnordered::new();
        let mut queue = guests.into_iter();
        loop {
            while pending.len() < 8 {
                let Some(g) = queue.next() else { break };
                let client = engine.client().clone();
                pending.push(async move {
                    let r = client.snapshots(&g).await;
                    (g, r)
                });
            }
            let Some((g, r)) = pending.next().await else {
                break;
            };
            match r {
                Ok(list) => {
                    lists.insert(g.vmid, (g.node.clone(), list));
                }
                Err(e) => {
                    failed.insert(g.vmid, e.to_string());
                }
            }
        }
        if lists.is_empty()
            && let Some(first) = failed.values().next()
        {
            return Err(EngineError::Step(first.clone()));
        }
        // LVM snapshots of every node proxdeck reaches over SSH.
        let mut lvm_lists = Vec::new();
        if let Some(h) = engine.host_runner() {
            for n in online.iter().filter(|n| h.reaches(n)) {
                match engine.lvs(n).await {
                    Ok(l) => lvm_lists.push((n.to_string(), l)),
                    Err(e) => tracing::debug!(node = n, error = %e, "lvs failed"),
                }
            }
        }
        let for_db: Vec<(u32, String, Vec<_>)> = lists
            .iter()
            .map(|(v, (n, l))| (*v, n.clone(), l.clone()))
            .collect();
        let rows = engine
            .write(move |tx, inner| {
                for (vmid, node, list) in &for_db {
                    catalog::sync_guest(tx, &inner.cluster, node, *vmid, list)?;
                }
                for (node, lvs) in &lvm_lists {
                    crate::lvm::catalog::sync_node(tx, &inner.cluster, node, lvs)?;
                }
                Ok(catalog::present(tx, &inner.cluster)?)
            })
            .await;
        let rows = rows?;
        let mut notes = HashMap::new();
        let mut lvm = Vec::new();
        for r in rows {
            if r.kind == "lvm" {
                lvm.push(LvmSnapshot {
                    node: r.node,
                    volume: r.volume.unwrap_or_default(),
                    name: r.name,
                    size_bytes: r.size_bytes,
                    usage_percent: r.usage_percent,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    state: r.state,
                    description: r.description,
                });
            } else if let Some(vmid) = r.vmid {
                notes.insert(
                    (vmid, r.name),
                    SnapshotNote {
                        created_by_proxdeck: r.created_by_proxdeck,
                        purpose: r.purpose,
                        protects_action: r.protects_action,
                        expires_at: r.expires_at,
                    },
                );
            }
        }
        let snaps = Snapshots {
            guests: lists.into_iter().map(|(v, (_, l))| (v, l)).collect(),
            failed,
            notes,
            lvm,
        };
        Ok(snaps)
    }

    /// Every backup-capable storage's archives (shared storages read once),
    /// synced into the catalog, with what retention would keep.
    pub async fn read_backups(&self, inv: &Inventory) -> Result<Vec<BackupItem>, EngineError> {
        let engine = self;
        let online = inv.online_node_names();
        let mut seen_shared = Vec::new();
        let mut targets = Vec::new();
        for s in &inv.storages {
            if !s.content.iter().any(|c| c == "backup")
                || !online.contains(&s.node.as_str())
                || s.status == "unknown"
            {
                continue;
            }
            if s.shared {
                if seen_shared.contains(&s.storage) {
                    continue;
                }
                seen_shared.push(s.storage.clone());
            }
            targets.push((s.node.clone(), s.storage.clone(), s.shared));
        }
        let mut listings = Vec::new();
        let mut errors = Vec::new();
        for (node, storage, shared) in targets {
            match engine
                .client()
                .storage_content(&node, &storage, Some("backup"), None)
                .await
            {
                Ok(c) => listings.push((node, storage, shared, c)),
                Err(e) => errors.push(format!("{storage} on {node}: {e}")),
            }
        }
        if listings.is_empty() && !errors.is_empty() {
            return Err(EngineError::Step(errors.join("; ")));
        }
        let for_db = listings.clone();
        let known = engine
            .write(move |tx, inner| {
                let l: Vec<Listing<'_>> = for_db
                    .iter()
                    .map(|(n, s, _, c)| Listing {
                        node: n,
                        storage: s,
                        content: c,
                    })
                    .collect();
                backup_catalog::sync(tx, &inner.cluster, &l)?;
                Ok(backup_catalog::known_by_volid(tx, &inner.cluster)?)
            })
            .await
            .unwrap_or_default();
        // What the retention rules would keep now, per guest and storage.
        let keep = engine.config().policies.ops.backup_retention;
        let mut classes = HashMap::new();
        for (node, storage, _, content) in &listings {
            let mut vmids: Vec<u32> = content.iter().filter_map(|c| c.vmid).collect();
            vmids.sort_unstable();
            vmids.dedup();
            let zone = engine.node_zone(node).await;
            for v in vmids {
                for (c, m) in prune_marks(content, v, &keep, &zone) {
                    let label = match m {
                        crate::backup::prune::Mark::Remove => "next prune".to_string(),
                        other => other.label(),
                    };
                    classes.insert((storage.clone(), c.volid.clone()), label);
                }
            }
        }
        let mut items = Vec::new();
        for (node, storage, shared, content) in listings {
            for c in content {
                let k = known.get(&c.volid);
                items.push(BackupItem {
                    verification: k.map(|k| k.verify_state.clone()),
                    verification_error: k.and_then(|k| k.verify_message.clone()),
                    mode: k.and_then(|k| k.mode.clone()),
                    kept_by: classes.get(&(storage.clone(), c.volid.clone())).cloned(),
                    content: c,
                    storage: storage.clone(),
                    node: node.clone(),
                    shared,
                });
            }
        }
        Ok(items)
    }
}

impl Engine {
    /// A node's LVs (over SSH), the LVM snapshot catalog brought in line.
    pub async fn read_lvs(&self, node: &str) -> Result<Vec<crate::lvm::Lv>, EngineError> {
        let lvs = self.lvs(node).await?;
        let (n, l) = (node.to_string(), lvs.clone());
        self.write(move |tx, inner| {
            Ok(crate::lvm::catalog::sync_node(tx, &inner.cluster, &n, &l)?)
        })
        .await?;
        Ok(lvs)
    }
}
