//! Reading the cluster in the background: the inventory (with metadata and
//! addresses reconciled), tasks and actions on a short period; snapshots and
//! backups on a longer one. Each read becomes a message; a failed read is a
//! message too, so the console can say the data is old.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, mpsc};

use super::msg::{InventoryRead, Msg};
use super::world::{BackupItem, IpData, LvmSnapshot, SnapshotNote, Snapshots};
use crate::backup::catalog::{self as backup_catalog, Listing};
use crate::engine::Engine;
use crate::engine::catalog;
use crate::inventory::{Inventory, RefreshOptions};
use crate::ipam::alloc::Ipam;
use crate::naming::Convention;
use crate::pve::GuestRef;
use crate::store::now;

/// Snapshots and backups are read this many times less often than the inventory.
const SLOW_FACTOR: u32 = 6;

/// Handle to the background readers.
#[derive(Clone)]
pub struct Refresher {
    now: Arc<Notify>,
    actions: Arc<Notify>,
    latest: Arc<Mutex<Option<Arc<Inventory>>>>,
}

impl Refresher {
    /// Start reading; messages go to `tx` until it closes.
    pub fn spawn(engine: Engine, tx: mpsc::UnboundedSender<Msg>, period: Duration) -> Refresher {
        let r = Refresher {
            now: Arc::new(Notify::new()),
            actions: Arc::new(Notify::new()),
            latest: Arc::new(Mutex::new(None)),
        };
        let me = r.clone();
        let eng = engine.clone();
        let txc = tx.clone();
        tokio::spawn(async move {
            let mut round: u32 = 0;
            loop {
                let inv = me.read_inventory(&eng, &txc).await;
                read_actions(&eng, &txc).await;
                read_tasks(&eng, &txc).await;
                if round.is_multiple_of(SLOW_FACTOR)
                    && let Some(inv) = inv
                {
                    read_snapshots(&eng, &txc, &inv).await;
                    read_backups(&eng, &txc, &inv).await;
                }
                if txc.is_closed() {
                    return;
                }
                round = round.wrapping_add(1);
                tokio::select! {
                    _ = me.now.notified() => round = 0,
                    _ = tokio::time::sleep(period) => {}
                }
            }
        });
        let me = r.clone();
        tokio::spawn(async move {
            loop {
                me.actions.notified().await;
                if tx.is_closed() {
                    return;
                }
                read_actions(&engine, &tx).await;
            }
        });
        r
    }

    /// Read everything now.
    pub fn refresh(&self) {
        self.now.notify_one();
    }

    /// Re-read the action queue only (cheap: the database).
    pub fn reload_actions(&self) {
        self.actions.notify_one();
    }

    /// The newest inventory read (for planning against).
    pub fn latest(&self) -> Option<Arc<Inventory>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn read_inventory(
        &self,
        engine: &Engine,
        tx: &mpsc::UnboundedSender<Msg>,
    ) -> Option<Arc<Inventory>> {
        let previous = self.latest();
        match fresh_inventory(engine, previous.as_deref()).await {
            Ok(read) => {
                let inv = read.inventory.clone();
                *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(inv.clone());
                let _ = tx.send(Msg::Inventory(Ok(read), now()));
                Some(inv)
            }
            Err(e) => {
                let _ = tx.send(Msg::Inventory(Err(e), now()));
                None
            }
        }
    }
}

/// Read the cluster, bring metadata and address records in line, and
/// return what the panes need.
pub async fn fresh_inventory(
    engine: &Engine,
    previous: Option<&Inventory>,
) -> Result<InventoryRead, String> {
    let (inv, _) = Inventory::refresh(engine.client(), previous, &RefreshOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let inv = Arc::new(inv);
    let for_db = inv.clone();
    let (meta, ip) = engine
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
        .await
        .map_err(|e| e.to_string())?;
    Ok(InventoryRead {
        inventory: inv,
        meta,
        ip,
    })
}

async fn read_actions(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>) {
    let r = engine.overview(50).await.map_err(|e| e.to_string());
    let _ = tx.send(Msg::Actions(r, now()));
}

async fn read_tasks(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>) {
    let r = engine
        .client()
        .cluster_tasks()
        .await
        .map_err(|e| e.to_string());
    let _ = tx.send(Msg::Tasks(r, now()));
}

/// Every guest's snapshot list (a few at a time), synced into the catalog.
async fn read_snapshots(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>, inv: &Inventory) {
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
    if lists.is_empty() && !failed.is_empty() {
        let first = failed.values().next().cloned().unwrap_or_default();
        let _ = tx.send(Msg::Snapshots(Err(first), now()));
        return;
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
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Msg::Snapshots(Err(e.to_string()), now()));
            return;
        }
    };
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
    let _ = tx.send(Msg::Snapshots(Ok(snaps), now()));
}

/// Every backup-capable storage's archives (shared storages read once).
async fn read_backups(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>, inv: &Inventory) {
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
        let _ = tx.send(Msg::Backups(Err(errors.join("; ")), now()));
        return;
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
    for (_, storage, _, content) in &listings {
        let mut vmids: Vec<u32> = content.iter().filter_map(|c| c.vmid).collect();
        vmids.sort_unstable();
        vmids.dedup();
        for v in vmids {
            for (c, m) in crate::engine::plan_backup::prune_marks(content, v, &keep) {
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
    let _ = tx.send(Msg::Backups(Ok(items), now()));
}
