//! Reading guest and LVM snapshots for the front ends. A snapshot list
//! costs one request per guest, so only the guests asked for are read (the
//! ones a task touched, the ones a pane shows); the others keep the list
//! read before. The catalog is brought in line with what was read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::core::Engine;
use super::error::EngineError;
use super::snapshot_catalog as catalog;
use crate::inventory::Inventory;
use crate::pve::GuestRef;
use crate::pve::types::SnapshotInfo;

/// Snapshot lists read at once.
const CONCURRENCY: usize = 8;

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

impl Snapshots {
    /// Guests of `inv` whose list was never read (not even with an error).
    pub fn unread<'a>(&'a self, inv: &'a Inventory) -> impl Iterator<Item = u32> + 'a {
        inv.guests
            .iter()
            .map(|g| g.vmid)
            .filter(|v| !self.guests.contains_key(v) && !self.failed.contains_key(v))
    }
}

/// Which snapshot lists to read this time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotAsk {
    /// Guests whose list is read (the others keep the previous list).
    pub guests: BTreeSet<u32>,
    /// Read the LVM volumes of every node reached over SSH too.
    pub lvm: bool,
}

impl SnapshotAsk {
    /// Every guest of `inv`, and LVM: a full read.
    pub fn everything(inv: &Inventory) -> SnapshotAsk {
        SnapshotAsk {
            guests: inv.guests.iter().map(|g| g.vmid).collect(),
            lvm: true,
        }
    }
}

impl Engine {
    /// The snapshot lists `ask` names (a few at a time), the rest carried
    /// over from `previous` (guests gone from `inv` dropped), synced into
    /// the catalog.
    pub async fn read_snapshots(
        &self,
        inv: &Inventory,
        previous: Option<&Snapshots>,
        ask: &SnapshotAsk,
    ) -> Result<Snapshots, EngineError> {
        let online = inv.online_node_names();
        let guests: Vec<GuestRef> = ask
            .guests
            .iter()
            .filter_map(|v| inv.guest(*v))
            .filter(|g| online.contains(&g.node.as_str()))
            .map(|g| GuestRef::new(&g.node, g.kind, g.vmid))
            .collect();
        let asked = guests.len();
        let mut lists = BTreeMap::new();
        let mut failed = BTreeMap::new();
        let mut pending = FuturesUnordered::new();
        let mut queue = guests.into_iter();
        loop {
            while pending.len() < CONCURRENCY {
                let Some(g) = queue.next() else { break };
                let client = self.client().clone();
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
        if asked > 0
            && lists.is_empty()
            && let Some(first) = failed.values().next()
        {
            return Err(EngineError::Step(first.clone()));
        }
        // LVM snapshots of every node proxdeck reaches over SSH.
        let mut lvm_lists = Vec::new();
        if ask.lvm
            && let Some(h) = self.host_runner()
        {
            for n in online.iter().filter(|n| h.reaches(n)) {
                match self.lvs(n).await {
                    Ok(l) => lvm_lists.push((n.to_string(), l)),
                    Err(e) => tracing::debug!(node = n, error = %e, "lvs failed"),
                }
            }
        }
        let for_db: Vec<(u32, String, Vec<_>)> = lists
            .iter()
            .map(|(v, (n, l))| (*v, n.clone(), l.clone()))
            .collect();
        let rows = self
            .write(move |tx, inner| {
                for (vmid, node, list) in &for_db {
                    catalog::sync_guest(tx, &inner.cluster, node, *vmid, list)?;
                }
                for (node, lvs) in &lvm_lists {
                    crate::lvm::catalog::sync_node(tx, &inner.cluster, node, lvs)?;
                }
                Ok(catalog::present(tx, &inner.cluster)?)
            })
            .await?;
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
        let mut guests: BTreeMap<u32, Vec<SnapshotInfo>> =
            lists.into_iter().map(|(v, (_, l))| (v, l)).collect();
        if let Some(prev) = previous {
            let here = |v: &u32| inv.guest(*v).is_some();
            for (v, l) in prev.guests.iter().filter(|(v, _)| here(v)) {
                if !guests.contains_key(v) && !failed.contains_key(v) {
                    guests.insert(*v, l.clone());
                }
            }
            for (v, e) in prev.failed.iter().filter(|(v, _)| here(v)) {
                if !guests.contains_key(v) && !failed.contains_key(v) {
                    failed.insert(*v, e.clone());
                }
            }
        }
        Ok(Snapshots {
            guests,
            failed,
            notes,
            lvm,
        })
    }
}
