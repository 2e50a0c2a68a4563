//! The snapshot catalog for guest snapshots: what Proxmox lists, plus what
//! proxdeck knows (who made it, why, for which action).

use rusqlite::{Connection, params};

use crate::pve::types::SnapshotInfo;
use crate::store::{StoreError, now};

/// Why proxdeck took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Manual,
    Safety,
    Scheduled,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Manual => "manual",
            Purpose::Safety => "safety",
            Purpose::Scheduled => "scheduled",
        }
    }
}

/// A snapshot proxdeck made.
#[derive(Debug, Clone, Copy)]
pub struct Made<'a> {
    pub node: &'a str,
    pub vmid: u32,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub purpose: Purpose,
    pub action_id: &'a str,
}

/// Record a snapshot proxdeck made.
pub fn record_created(conn: &Connection, cluster: &str, m: &Made<'_>) -> Result<(), StoreError> {
    let Made {
        node,
        vmid,
        name,
        description,
        purpose,
        action_id,
    } = *m;
    let t = now();
    conn.execute(
        "INSERT INTO snapshots (cluster, kind, node, vmid, name, description, created_at, created_by_proxdeck, purpose, protects_action, state, last_seen)
         VALUES (?1, 'guest', ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'present', ?6)
         ON CONFLICT DO UPDATE SET created_by_proxdeck = 1, purpose = ?7, protects_action = ?8, state = 'present', last_seen = ?6, removed_at = NULL",
        params![cluster, node, vmid, name, description, t, purpose.as_str(), action_id],
    )?;
    Ok(())
}

/// Bring a guest's catalog rows in line with Proxmox's listing.
pub fn sync_guest(
    conn: &Connection,
    cluster: &str,
    node: &str,
    vmid: u32,
    list: &[SnapshotInfo],
) -> Result<(), StoreError> {
    let t = now();
    for s in list.iter().filter(|s| s.name != "current") {
        conn.execute(
            "INSERT INTO snapshots (cluster, kind, node, vmid, name, parent, description, created_at, state, last_seen)
             VALUES (?1, 'guest', ?2, ?3, ?4, ?5, ?6, ?7, 'present', ?8)
             ON CONFLICT DO UPDATE SET node = ?2, parent = ?5, description = ?6, created_at = COALESCE(created_at, ?7),
                 state = 'present', last_seen = ?8, removed_at = NULL",
            params![cluster, node, vmid, s.name, s.parent, s.description, s.snaptime, t],
        )?;
    }
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    let mut st = conn.prepare("SELECT id, name FROM snapshots WHERE cluster = ?1 AND kind = 'guest' AND vmid = ?2 AND state = 'present'")?;
    let rows: Vec<(i64, String)> = st
        .query_map(params![cluster, vmid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, name) in rows {
        if !names.contains(&name.as_str()) {
            conn.execute(
                "UPDATE snapshots SET state = 'removed', removed_at = ?2 WHERE id = ?1",
                params![id, t],
            )?;
        }
    }
    Ok(())
}

/// What the catalog adds to a snapshot Proxmox (or LVM) lists.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogRow {
    pub kind: String,
    pub node: String,
    pub vmid: Option<u32>,
    pub volume: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<i64>,
    pub created_by_proxdeck: bool,
    pub purpose: Option<String>,
    pub protects_action: Option<String>,
    pub size_bytes: Option<u64>,
    pub usage_percent: Option<f64>,
    pub state: String,
    pub expires_at: Option<i64>,
}

/// Snapshots still present (guest and LVM) of a cluster.
pub fn present(conn: &Connection, cluster: &str) -> Result<Vec<CatalogRow>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT kind, node, vmid, volume, name, description, created_at, created_by_proxdeck, purpose,
                protects_action, size_bytes, usage_percent, state, expires_at
         FROM snapshots WHERE cluster = ?1 AND state != 'removed' ORDER BY kind, node, vmid, name",
    )?;
    let rows = st
        .query_map([cluster], |r| {
            Ok(CatalogRow {
                kind: r.get(0)?,
                node: r.get(1)?,
                vmid: r.get(2)?,
                volume: r.get(3)?,
                name: r.get(4)?,
                description: r.get(5)?,
                created_at: r.get(6)?,
                created_by_proxdeck: r.get(7)?,
                purpose: r.get(8)?,
                protects_action: r.get(9)?,
                size_bytes: r.get::<_, Option<i64>>(10)?.map(|v| v.max(0) as u64),
                usage_percent: r.get(11)?,
                state: r.get(12)?,
                expires_at: r.get(13)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
