//! LVM snapshots in the `snapshots` catalog (kind `lvm`): what `lvs` shows,
//! plus who made each, why, for which action, and its state (present,
//! invalid, merge pending, merged, removed).

use rusqlite::{Connection, params};

use super::lvs::Lv;
use super::retention::Known;
use crate::store::{StoreError, now};

/// Bring a node's rows in line with `lvs`. A snapshot that was waiting to
/// merge and is now gone has merged; others that vanished were removed.
pub fn sync_node(
    conn: &Connection,
    cluster: &str,
    node: &str,
    lvs: &[Lv],
) -> Result<(), StoreError> {
    let t = now();
    for s in lvs.iter().filter(|l| l.is_snapshot()) {
        let volume = format!("{}/{}", s.vg, s.origin.clone().unwrap_or_default());
        conn.execute(
            "INSERT INTO snapshots (cluster, kind, node, volume, name, created_at, size_bytes, usage_percent, state, last_seen)
             VALUES (?1, 'lvm', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO UPDATE SET size_bytes = ?6, usage_percent = ?7, state = ?8, last_seen = ?9,
                 created_at = COALESCE(created_at, ?5), removed_at = NULL",
            params![cluster, node, volume, s.name, s.created, s.size_bytes.map(|b| b as i64), s.snap_percent, s.state(), t],
        )?;
    }
    let mut st = conn.prepare(
        "SELECT id, volume, name, state FROM snapshots WHERE cluster = ?1 AND kind = 'lvm' AND node = ?2 AND state IN ('present', 'invalid', 'merge_pending')",
    )?;
    let rows: Vec<(i64, String, String, String)> = st
        .query_map(params![cluster, node], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    for (id, volume, name, state) in rows {
        let listed = lvs.iter().any(|l| {
            l.is_snapshot()
                && l.name == name
                && format!("{}/{}", l.vg, l.origin.clone().unwrap_or_default()) == volume
        });
        if !listed {
            let next = if state == "merge_pending" {
                "merged"
            } else {
                "removed"
            };
            conn.execute(
                "UPDATE snapshots SET state = ?2, removed_at = ?3 WHERE id = ?1",
                params![id, next, t],
            )?;
        }
    }
    Ok(())
}

/// A snapshot proxdeck made.
#[allow(clippy::too_many_arguments)]
pub fn record_created(
    conn: &Connection,
    cluster: &str,
    node: &str,
    volume: &str,
    name: &str,
    description: Option<&str>,
    purpose: &str,
    action_id: &str,
    expires_at: Option<i64>,
) -> Result<(), StoreError> {
    let t = now();
    conn.execute(
        "INSERT INTO snapshots (cluster, kind, node, volume, name, description, created_at, created_by_proxdeck, purpose, protects_action, state, expires_at, last_seen)
         VALUES (?1, 'lvm', ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'present', ?9, ?6)
         ON CONFLICT DO UPDATE SET description = ?5, created_by_proxdeck = 1, purpose = ?7, protects_action = ?8, expires_at = ?9, removed_at = NULL",
        params![cluster, node, volume, name, description, t, purpose, action_id, expires_at],
    )?;
    Ok(())
}

/// Set a snapshot's state (`merge_pending`, `merged`, `removed`).
pub fn set_state(
    conn: &Connection,
    cluster: &str,
    node: &str,
    volume: &str,
    name: &str,
    state: &str,
) -> Result<(), StoreError> {
    let removed = matches!(state, "merged" | "removed").then(now);
    conn.execute(
        "UPDATE snapshots SET state = ?5, removed_at = COALESCE(?6, removed_at)
         WHERE cluster = ?1 AND kind = 'lvm' AND node = ?2 AND volume = ?3 AND name = ?4",
        params![cluster, node, volume, name, state, removed],
    )?;
    Ok(())
}

/// Every LVM snapshot still on a node, for retention.
pub fn known(conn: &Connection, cluster: &str) -> Result<Vec<Known>, StoreError> {
    let mut st = conn.prepare(
        "SELECT node, volume, name, created_at, created_by_proxdeck, protects_action, state FROM snapshots
         WHERE cluster = ?1 AND kind = 'lvm' AND state IN ('present', 'invalid', 'merge_pending')",
    )?;
    let rows = st
        .query_map([cluster], |r| {
            Ok(Known {
                node: r.get(0)?,
                volume: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                name: r.get(2)?,
                created_at: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                created_by_proxdeck: r.get(4)?,
                protects_action: r.get(5)?,
                state: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
