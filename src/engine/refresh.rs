//! Reading the cluster for the front ends, with what the database derives
//! from it brought in line in the same call: the inventory (metadata and
//! address records reconciled), guest and LVM snapshots (catalog synced),
//! backups (catalog synced, retention classes computed). One place, so the
//! console, the CLI, the REST API and the assistant read the same way.

use std::collections::HashMap;
use std::sync::Arc;

use super::core::Engine;
use super::error::EngineError;
pub use super::refresh_snapshots::{LvmSnapshot, SnapshotAsk, SnapshotNote, Snapshots};
use super::workflows::common::backup::prune_marks;
use crate::backup::catalog::{self as backup_catalog, Listing};
use crate::inventory::{Inventory, RefreshOptions};
use crate::ipam::Allocation;
use crate::ipam::alloc::Ipam;
use crate::ipam::reconcile::Conflict;
use crate::metadata::ResourceMetadata;
use crate::naming::Convention;
use crate::pve::types::{GuestKind, StorageContent};

/// A read of the cluster with what the database derives from it. The
/// derived lists are shared (`Arc`) and the same allocation as the previous
/// read's when nothing changed, so a front end can skip work by pointer.
#[derive(Debug, Clone)]
pub struct InventoryRead {
    pub inventory: Arc<Inventory>,
    pub meta: Arc<Vec<ResourceMetadata>>,
    pub ip: Arc<IpData>,
    /// What the read cost and found.
    pub stats: crate::inventory::RefreshStats,
}

/// Change marks of the metadata and address tables.
type Marks = (Vec<u8>, Vec<u8>);

/// What the database derived from the last read, kept between reads.
pub(in crate::engine) struct Derived {
    /// The change marks of `resource_metadata` and `ip_allocations` the
    /// lists were read with (any process's change renews them).
    marks: Marks,
    meta: Arc<Vec<ResourceMetadata>>,
    ip: Arc<IpData>,
}

/// The part of a guest the database records: when none of it changed, a
/// refresh writes nothing.
fn identity_changed(prev: Option<&Inventory>, inv: &Inventory) -> bool {
    let Some(prev) = prev else { return true };
    if prev.guests.len() != inv.guests.len() {
        return true;
    }
    inv.guests.iter().any(|g| match prev.guest(g.vmid) {
        None => true,
        Some(p) => {
            p.name != g.name
                || p.node != g.node
                || p.kind != g.kind
                || p.template != g.template
                || p.hostname != g.hostname
                || p.nics != g.nics
                || p.config_known != g.config_known
        }
    })
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
        self.refresh_inventory_with(previous, &RefreshOptions::default())
            .await
    }

    /// As `refresh_inventory`, reading as `options` says (a budget for the
    /// first config reads, one node only). The database is brought in line
    /// only when a guest's identity changed, and its lists read again only
    /// when it changed (here or in another process).
    pub async fn refresh_inventory_with(
        &self,
        previous: Option<&Inventory>,
        options: &RefreshOptions,
    ) -> Result<InventoryRead, EngineError> {
        let (inv, stats) = Inventory::refresh(self.client(), previous, options).await?;
        let inv = Arc::new(inv);
        if identity_changed(previous, &inv) {
            let for_db = inv.clone();
            let conflicts = self
                .write(move |tx, inner| {
                    let conv = Convention::new(&inner.config.naming);
                    crate::metadata::sync(tx, &inner.cluster, &conv, &for_db)?;
                    let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                    Ok(ipam.reconcile(tx, &for_db)?.conflicts)
                })
                .await?;
            *self
                .inner_conflicts()
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = conflicts;
        }
        let (meta, ip) = self.derived_lists().await?;
        Ok(InventoryRead {
            inventory: inv,
            meta,
            ip,
            stats,
        })
    }

    /// One node's guests, for a one-shot question about that node (`ip
    /// next`): that node's guest lists (`/nodes/{node}/qemu` and `lxc`,
    /// not the whole cluster), then only the configs of guests the database
    /// does not already know under the same name and type (what it recorded
    /// from the last read is the cache; a renamed or new guest is read).
    /// Other nodes' addresses are in the records. The database is written
    /// only when a config was read.
    pub async fn refresh_node(&self, node: &str) -> Result<Arc<Inventory>, EngineError> {
        // The naming file's short name (`node-02`) or Proxmox's.
        let node = match self.config().naming.node(node) {
            Some(entry) => entry.pve_name.clone(),
            None => node.to_string(),
        };
        let node = node.as_str();
        let n = node.to_string();
        let known: HashMap<u32, (String, String)> = self
            .read(move |c, inner| {
                let mut st = c.prepare(
                    "SELECT vmid, name, guest_type FROM resource_metadata
                     WHERE cluster = ?1 AND node = ?2 AND gone_at IS NULL",
                )?;
                let rows = st.query_map(rusqlite::params![inner.cluster, n], |r| {
                    Ok((r.get::<_, u32>(0)?, (r.get(1)?, r.get(2)?)))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        let mut resources = vec![crate::pve::types::ClusterResource {
            id: format!("node/{node}"),
            kind: "node".into(),
            node: Some(node.to_string()),
            status: Some("online".into()),
            ..Default::default()
        }];
        for kind in [GuestKind::Qemu, GuestKind::Lxc] {
            for g in self.client().guests(node, kind).await? {
                resources.push(crate::pve::types::ClusterResource {
                    id: format!("{}/{}", kind.as_str(), g.vmid),
                    kind: kind.as_str().to_string(),
                    node: Some(node.to_string()),
                    vmid: Some(g.vmid),
                    name: g.name,
                    status: Some(g.status),
                    template: g.template,
                    ..Default::default()
                });
            }
        }
        let options = RefreshOptions {
            only_node: Some(node.to_string()),
            known,
            read_tasks: false,
            ..RefreshOptions::default()
        };
        let (inv, stats) =
            Inventory::refresh_from(self.client(), resources, 2, None, &options).await?;
        let inv = Arc::new(Inventory {
            partial: true,
            ..inv
        });
        if stats.configs_read > 0 {
            let for_db = inv.clone();
            self.write(move |tx, inner| {
                let conv = Convention::new(&inner.config.naming);
                crate::metadata::sync(tx, &inner.cluster, &conv, &for_db)?;
                let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                Ok(ipam.reconcile(tx, &for_db)?.conflicts)
            })
            .await?;
        }
        Ok(inv)
    }

    /// The metadata and address lists, read again only when the database
    /// changed since they were last read.
    async fn derived_lists(
        &self,
    ) -> Result<(Arc<Vec<ResourceMetadata>>, Arc<IpData>), EngineError> {
        let marks: Marks = self
            .read(|c, _| {
                Ok((
                    crate::store::marks::mark(c, "resource_metadata")?,
                    crate::store::marks::mark(c, "ip_allocations")?,
                ))
            })
            .await?;
        {
            let cached = self
                .inner_derived()
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(d) = cached.as_ref()
                && d.marks == marks
            {
                return Ok((d.meta.clone(), d.ip.clone()));
            }
        }
        let conflicts = self
            .inner_conflicts()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (meta, allocations) = self
            .read(|c, inner| {
                let ipam = Ipam::new(&inner.cluster, &inner.config.naming);
                Ok((
                    crate::metadata::list(c, &inner.cluster)?,
                    ipam.list(c, None, true)?,
                ))
            })
            .await?;
        let (meta, ip) = (
            Arc::new(meta),
            Arc::new(IpData {
                allocations,
                conflicts,
            }),
        );
        *self
            .inner_derived()
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Derived {
            marks,
            meta: meta.clone(),
            ip: ip.clone(),
        });
        Ok((meta, ip))
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
