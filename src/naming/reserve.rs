//! Name reservations: a workflow takes the next name of a role before its guest
//! exists, inside the same transaction that reads what is taken.

use rusqlite::{OptionalExtension, Transaction, params};

use super::convention::Convention;
use super::render::RenderError;
use crate::store::{StoreError, now};

/// A name held for a workflow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameReservation {
    pub id: i64,
    pub name: String,
    pub hostname: String,
    pub role: String,
    pub seq: u32,
    pub node: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the name {0} is taken by {1}")]
    Taken(String, String),
}

impl From<rusqlite::Error> for NameError {
    fn from(e: rusqlite::Error) -> Self {
        NameError::Store(StoreError::Sql(e))
    }
}

/// Names currently held by workflows.
pub fn reserved_names(tx: &Transaction<'_>, cluster: &str) -> Result<Vec<String>, NameError> {
    let mut st =
        tx.prepare("SELECT name FROM name_reservations WHERE cluster = ?1 AND state = 'reserved'")?;
    let names = st
        .query_map([cluster], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// What a name is wanted for.
#[derive(Debug, Clone, Copy)]
pub struct NameRequest<'a> {
    pub node: &'a str,
    pub role: &'a str,
    pub action_id: Option<&'a str>,
    pub by: &'a str,
}

fn reservation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NameReservation> {
    Ok(NameReservation {
        id: r.get(0)?,
        name: r.get(1)?,
        hostname: r.get(2)?,
        role: r.get(3)?,
        seq: r.get(4)?,
        node: r.get(5)?,
    })
}

/// Reserve the next name of `role` for a guest on `node`. `live` are the names
/// of every guest in the cluster now. A reservation already held by
/// `action_id` for this node is returned again (a re-run gets the same name).
pub fn reserve_name(
    tx: &Transaction<'_>,
    cluster: &str,
    conv: &Convention,
    req: &NameRequest<'_>,
    live: &[String],
) -> Result<NameReservation, NameError> {
    let NameRequest {
        node,
        role,
        action_id,
        by,
    } = *req;
    if let Some(action) = action_id
        && let Some(existing) = tx
            .query_row(
                "SELECT id, name, hostname, role, seq, node FROM name_reservations
                 WHERE cluster = ?1 AND action_id = ?2 AND node = ?3 AND role = ?4 AND state = 'reserved'",
                params![cluster, action, node, role],
                reservation_row,
            )
            .optional()?
    {
        return Ok(existing);
    }
    let mut taken: Vec<String> = live.to_vec();
    taken.extend(reserved_names(tx, cluster)?);
    let seq = conv.next_seq(role, taken.iter().map(String::as_str));
    let name = conv.name(node, role, seq)?;
    let hostname = conv.hostname(node, role, seq)?;
    tx.execute(
        "INSERT INTO name_reservations (cluster, name, role, seq, node, hostname, state, reserved_at, reserved_by, action_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reserved', ?7, ?8, ?9)",
        params![cluster, name, role, seq, node, hostname, now(), by, action_id],
    )?;
    Ok(NameReservation {
        id: tx.last_insert_rowid(),
        name,
        hostname,
        role: role.to_string(),
        seq,
        node: node.to_string(),
    })
}

/// Reserve exactly `name` (the requester chose it). Taken names are refused;
/// a name outside the convention is allowed (the requester's choice) and
/// keeps the request's role with sequence 0.
pub fn reserve_exact(
    tx: &Transaction<'_>,
    cluster: &str,
    conv: &Convention,
    req: &NameRequest<'_>,
    name: &str,
    live: &[String],
) -> Result<NameReservation, NameError> {
    if let Some(action) = req.action_id
        && let Some(existing) = tx
            .query_row(
                "SELECT id, name, hostname, role, seq, node FROM name_reservations
                 WHERE cluster = ?1 AND action_id = ?2 AND node = ?3 AND name = ?4 AND state = 'reserved'",
                params![cluster, action, req.node, name],
                reservation_row,
            )
            .optional()?
    {
        return Ok(existing);
    }
    if live.iter().any(|n| n == name) {
        return Err(NameError::Taken(
            name.into(),
            "a guest in the cluster".into(),
        ));
    }
    if reserved_names(tx, cluster)?.iter().any(|n| n == name) {
        return Err(NameError::Taken(name.into(), "another running plan".into()));
    }
    let (role, seq) = match conv.check(name).parts() {
        Some(p) => (p.role.clone(), p.seq),
        None => (req.role.to_string(), 0),
    };
    let hostname = if seq > 0 {
        conv.hostname(req.node, &role, seq)
            .unwrap_or_else(|_| name.to_string())
    } else {
        name.to_string()
    };
    tx.execute(
        "INSERT INTO name_reservations (cluster, name, role, seq, node, hostname, state, reserved_at, reserved_by, action_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reserved', ?7, ?8, ?9)",
        params![cluster, name, role, seq, req.node, hostname, now(), req.by, req.action_id],
    )?;
    Ok(NameReservation {
        id: tx.last_insert_rowid(),
        name: name.to_string(),
        hostname,
        role,
        seq,
        node: req.node.to_string(),
    })
}

/// The guest now exists under its name: the reservation is no longer needed.
pub fn mark_used(tx: &Transaction<'_>, id: i64) -> Result<(), NameError> {
    tx.execute(
        "UPDATE name_reservations SET state = 'used', released_at = ?2 WHERE id = ?1 AND state = 'reserved'",
        params![id, now()],
    )?;
    Ok(())
}

/// A deleted guest's name becomes free again: its reservations (by VMID or
/// name) are released, kept for history.
pub fn release_guest(
    tx: &Transaction<'_>,
    cluster: &str,
    vmid: u32,
    name: &str,
) -> Result<(), NameError> {
    tx.execute(
        "UPDATE name_reservations SET state = 'released', released_at = ?4
          WHERE cluster = ?1 AND (vmid = ?2 OR name = ?3) AND state IN ('reserved', 'used')",
        params![cluster, vmid, name, now()],
    )?;
    Ok(())
}

/// Give one reservation back (a failed target).
pub fn release(tx: &Transaction<'_>, id: i64) -> Result<(), NameError> {
    tx.execute(
        "UPDATE name_reservations SET state = 'released', released_at = ?2 WHERE id = ?1 AND state = 'reserved'",
        params![id, now()],
    )?;
    Ok(())
}

pub fn release_for_action(
    tx: &Transaction<'_>,
    cluster: &str,
    action_id: &str,
) -> Result<usize, NameError> {
    Ok(tx.execute(
        "UPDATE name_reservations SET state = 'released', released_at = ?3
         WHERE cluster = ?1 AND action_id = ?2 AND state = 'reserved'",
        params![cluster, action_id, now()],
    )?)
}
