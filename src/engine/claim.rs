//! Choosing the next action to run, inside the executor's write
//! transaction (`BEGIN IMMEDIATE`, so two processes never claim the same):
//! an approved action whose guests no running action holds, or a running
//! one whose owner's lease ran out (never one this process runs itself). An
//! approved action that must wait says for what.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::audit;
use super::error::EngineError;
use super::queue::{ActionRecord, ActionState, get};
use crate::store::now;

/// How many candidates one claim looks at (the oldest first).
const CANDIDATES: usize = 64;

/// Another running action holding one of this action's guests, as
/// (its id, the guest's VMID).
fn blocker(conn: &Connection, id: &str) -> Result<Option<(String, u32)>, EngineError> {
    Ok(conn
        .query_row(
            "SELECT o.id, g.vmid FROM action_guests g
               JOIN action_guests og ON og.cluster = g.cluster AND og.vmid = g.vmid AND og.action_id <> g.action_id
               JOIN actions o ON o.id = og.action_id
              WHERE g.action_id = ?1 AND o.state = 'running'
              ORDER BY o.created_at LIMIT 1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Say why an action waits (only when that changes, so the note does not churn).
fn set_waiting(conn: &Connection, id: &str, note: Option<&str>) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE actions SET waiting = ?2 WHERE id = ?1 AND waiting IS NOT ?2",
        params![id, note],
    )?;
    Ok(())
}

/// Claim one action for `owner` with a lease of `lease_secs`.
pub fn claim(
    conn: &Connection,
    cluster: &str,
    owner: &str,
    lease_secs: i64,
) -> Result<Option<ActionRecord>, EngineError> {
    let t = now();
    let candidates: Vec<(String, String)> = {
        let mut st = conn.prepare_cached(
            "SELECT id, state FROM actions WHERE cluster = ?1
               AND (state = 'approved'
                    OR (state = 'running' AND (lease_expires IS NULL OR lease_expires < ?2)
                        AND lease_owner IS NOT ?3))
             ORDER BY created_at, id LIMIT ?4",
        )?;
        st.query_map(params![cluster, t, owner, CANDIDATES as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?
    };
    for (id, state) in candidates {
        if state == ActionState::Approved.as_str() {
            if let Some((other, vmid)) = blocker(conn, &id)? {
                let rec = get(conn, &id)?;
                let guest = rec
                    .as_ref()
                    .and_then(|r| r.action.guests().into_iter().find(|g| g.vmid == vmid))
                    .map(|g| g.name.clone())
                    .unwrap_or_else(|| format!("VMID {vmid}"));
                set_waiting(conn, &id, Some(&format!("waiting for {other} on {guest}")))?;
                continue;
            }
            set_waiting(conn, &id, None)?;
        }
        return take(conn, &id, owner, lease_secs, t).map(Some);
    }
    Ok(None)
}

/// Mark `id` running under `owner`, recorded and audited.
fn take(
    conn: &Connection,
    id: &str,
    owner: &str,
    lease_secs: i64,
    t: i64,
) -> Result<ActionRecord, EngineError> {
    let rec = get(conn, id)?.ok_or_else(|| EngineError::NoSuchAction(id.to_string()))?;
    let resumed = rec.state == ActionState::Running;
    conn.execute(
        "UPDATE actions SET state = 'running', lease_owner = ?2, lease_expires = ?3, attempts = attempts + 1, updated_at = ?4 WHERE id = ?1",
        params![id, owner, t.saturating_add(lease_secs), t],
    )?;
    let note = if resumed {
        format!(
            "resumed by {owner} after the lease of {} ran out",
            rec.lease_owner.as_deref().unwrap_or("?")
        )
    } else {
        format!("claimed by {owner}")
    };
    conn.execute(
        "INSERT INTO action_transitions (action_id, from_state, to_state, at, actor, note) VALUES (?1, ?2, 'running', ?3, ?4, ?5)",
        params![id, rec.state.as_str(), t, owner, note],
    )?;
    audit::append(
        conn,
        owner,
        if resumed { "resumed" } else { "running" },
        Some(id),
        &json!({"from": rec.state, "note": note}),
    )?;
    get(conn, id)?.ok_or_else(|| EngineError::NoSuchAction(id.to_string()))
}
