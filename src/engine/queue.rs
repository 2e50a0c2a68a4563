//! The action queue in SQLite: records, state transitions (each journaled and
//! audited), approvals, and claiming with leases so several processes sharing
//! one database never run an action twice.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::action::{Action, Actor};
use super::audit;
use super::error::EngineError;
use super::plan::Plan;
use crate::store::now;

/// The life of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    Proposed,
    PendingApproval,
    Approved,
    Running,
    Succeeded,
    Failed,
    RolledBack,
    Rejected,
    Cancelled,
}

impl ActionState {
    pub const ALL: &'static [ActionState] = &[
        ActionState::Proposed,
        ActionState::PendingApproval,
        ActionState::Approved,
        ActionState::Running,
        ActionState::Succeeded,
        ActionState::Failed,
        ActionState::RolledBack,
        ActionState::Rejected,
        ActionState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Proposed => "proposed",
            ActionState::PendingApproval => "pending_approval",
            ActionState::Approved => "approved",
            ActionState::Running => "running",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::RolledBack => "rolled_back",
            ActionState::Rejected => "rejected",
            ActionState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ActionState> {
        ActionState::ALL.iter().copied().find(|a| a.as_str() == s)
    }

    /// No further transitions.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ActionState::Succeeded
                | ActionState::Failed
                | ActionState::RolledBack
                | ActionState::Rejected
                | ActionState::Cancelled
        )
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row of `actions`.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub id: String,
    pub cluster: String,
    pub kind: String,
    pub action: Action,
    pub plan: Option<Plan>,
    pub plan_hash: Option<String>,
    pub state: ActionState,
    pub proposed_by: Actor,
    pub reason: Option<String>,
    pub policy_rule: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub lease_owner: Option<String>,
    pub lease_expires: Option<i64>,
    pub attempts: i64,
    pub cancel_requested: bool,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    /// Why an approved action has not started (another action holds one of its guests).
    pub waiting: Option<String>,
}

const COLUMNS: &str = "id, cluster, kind, action_json, plan_json, plan_hash, state, proposed_by, proposed_from, reason, policy_rule,
    created_at, updated_at, lease_owner, lease_expires, attempts, cancel_requested, result_json, error, waiting";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ActionRecord> {
    let bad = |what: &str, e: String| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{what}: {e}").into(),
        )
    };
    let action: String = r.get(3)?;
    let plan: Option<String> = r.get(4)?;
    let state: String = r.get(6)?;
    let who: String = r.get(7)?;
    let result: Option<String> = r.get(17)?;
    let (who, via) = match who.split_once('|') {
        Some((w, v)) => (
            w.to_string(),
            serde_json::from_value(json!(v)).unwrap_or(super::action::Via::Cli),
        ),
        None => (who, super::action::Via::Cli),
    };
    Ok(ActionRecord {
        id: r.get(0)?,
        cluster: r.get(1)?,
        kind: r.get(2)?,
        action: serde_json::from_str(&action).map_err(|e| bad("action", e.to_string()))?,
        plan: match plan {
            Some(p) => Some(serde_json::from_str(&p).map_err(|e| bad("plan", e.to_string()))?),
            None => None,
        },
        plan_hash: r.get(5)?,
        state: ActionState::parse(&state).ok_or_else(|| bad("state", state.clone()))?,
        proposed_by: Actor {
            who,
            from: r.get(8)?,
            via,
        },
        reason: r.get(9)?,
        policy_rule: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        lease_owner: r.get(13)?,
        lease_expires: r.get(14)?,
        attempts: r.get(15)?,
        cancel_requested: r.get(16)?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
        error: r.get(18)?,
        waiting: r.get(19)?,
    })
}

fn via_str(a: &Actor) -> String {
    serde_json::to_value(a.via)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "cli".into())
}

/// Store a new action (and its plan) in `state`.
pub fn insert(conn: &Connection, rec: &ActionRecord) -> Result<(), EngineError> {
    conn.execute(
        &format!("INSERT INTO actions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, NULL, 0, 0, NULL, ?14, NULL)"),
        params![
            rec.id,
            rec.cluster,
            rec.kind,
            serde_json::to_string(&rec.action)?,
            rec.plan.as_ref().map(serde_json::to_string).transpose()?,
            rec.plan_hash,
            rec.state.as_str(),
            format!("{}|{}", rec.proposed_by.who, via_str(&rec.proposed_by)),
            rec.proposed_by.from,
            rec.reason,
            rec.policy_rule,
            rec.created_at,
            rec.updated_at,
            rec.error,
        ],
    )?;
    conn.execute(
        "INSERT INTO action_transitions (action_id, from_state, to_state, at, actor, note) VALUES (?1, NULL, ?2, ?3, ?4, ?5)",
        params![rec.id, rec.state.as_str(), now(), rec.proposed_by.label(), rec.policy_rule],
    )?;
    audit::append(
        conn,
        &rec.proposed_by.label(),
        "proposed",
        Some(&rec.id),
        &json!({"kind": rec.kind, "describe": rec.action.describe(), "state": rec.state, "rule": rec.policy_rule,
                "plan_hash": rec.plan_hash, "reason": rec.reason}),
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<ActionRecord>, EngineError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM actions WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Actions of a cluster, newest first; `states` empty means all.
pub fn list(
    conn: &Connection,
    cluster: &str,
    states: &[ActionState],
) -> Result<Vec<ActionRecord>, EngineError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM actions WHERE cluster = ?1 ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = st
        .query_map([cluster], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|r| states.is_empty() || states.contains(&r.state))
        .collect())
}

/// Move an action from one of `from` to `to`, journaled and audited.
pub fn transition(
    conn: &Connection,
    id: &str,
    from: &[ActionState],
    to: ActionState,
    actor: &str,
    note: Option<&str>,
) -> Result<ActionRecord, EngineError> {
    let rec = get(conn, id)?.ok_or_else(|| EngineError::NoSuchAction(id.to_string()))?;
    if !from.contains(&rec.state) {
        return Err(EngineError::WrongState {
            id: id.to_string(),
            state: rec.state,
            what: format!("it cannot become {to}"),
        });
    }
    let t = now();
    conn.execute(
        "UPDATE actions SET state = ?2, updated_at = ?3,
             lease_owner = CASE WHEN ?4 THEN NULL ELSE lease_owner END,
             lease_expires = CASE WHEN ?4 THEN NULL ELSE lease_expires END,
             error = COALESCE(?5, error)
         WHERE id = ?1",
        params![
            id,
            to.as_str(),
            t,
            to.is_terminal(),
            if to.is_terminal() && to != ActionState::Succeeded {
                note
            } else {
                None
            }
        ],
    )?;
    conn.execute(
        "INSERT INTO action_transitions (action_id, from_state, to_state, at, actor, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, rec.state.as_str(), to.as_str(), t, actor, note],
    )?;
    audit::append(
        conn,
        actor,
        to.as_str(),
        Some(id),
        &json!({"from": rec.state, "note": note}),
    )?;
    get(conn, id)?.ok_or_else(|| EngineError::NoSuchAction(id.to_string()))
}

/// Record an approval or rejection tied to the plan hash that was shown.
pub fn decide(
    conn: &Connection,
    id: &str,
    approved: bool,
    actor: &Actor,
    plan_hash: &str,
    reason: Option<&str>,
) -> Result<(), EngineError> {
    conn.execute(
        "INSERT INTO approvals (action_id, decision, decided_by, decided_from, decided_at, plan_hash, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, if approved { "approved" } else { "rejected" }, actor.who, actor.from, now(), plan_hash, reason],
    )?;
    Ok(())
}

pub fn set_result(
    conn: &Connection,
    id: &str,
    result: &serde_json::Value,
) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE actions SET result_json = ?2 WHERE id = ?1",
        params![id, result.to_string()],
    )?;
    Ok(())
}

pub fn request_cancel(conn: &Connection, id: &str) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE actions SET cancel_requested = 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

pub fn cancel_requested(conn: &Connection, id: &str) -> Result<bool, EngineError> {
    Ok(conn
        .query_row(
            "SELECT cancel_requested FROM actions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Extend the leases this owner holds.
/// The policy rule an action is under.
pub fn set_rule(conn: &Connection, id: &str, rule: &str) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE actions SET policy_rule = ?2 WHERE id = ?1",
        params![id, rule],
    )?;
    Ok(())
}

/// Held proposals last touched before `cutoff`.
pub fn held_before(
    conn: &Connection,
    cluster: &str,
    cutoff: i64,
) -> Result<Vec<String>, EngineError> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM actions WHERE cluster = ?1 AND state = 'proposed' AND updated_at < ?2",
    )?;
    let ids = st
        .query_map(params![cluster, cutoff], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Ids of the cluster's actions in any of `states`.
pub fn ids_in(
    conn: &Connection,
    cluster: &str,
    states: &[ActionState],
) -> Result<Vec<String>, EngineError> {
    let mut st = conn.prepare_cached("SELECT id, state FROM actions WHERE cluster = ?1")?;
    let rows = st
        .query_map([cluster], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, s)| ActionState::parse(s).is_some_and(|s| states.contains(&s)))
        .map(|(id, _)| id)
        .collect())
}

pub fn heartbeat(conn: &Connection, owner: &str, lease_secs: i64) -> Result<usize, EngineError> {
    Ok(conn.execute(
        "UPDATE actions SET lease_expires = ?2 WHERE lease_owner = ?1 AND state = 'running'",
        params![owner, now().saturating_add(lease_secs)],
    )?)
}

/// Record the guests an action works on (its own and the ones it makes).
pub fn set_guests(
    conn: &Connection,
    cluster: &str,
    id: &str,
    vmids: &[u32],
) -> Result<(), EngineError> {
    for v in vmids {
        conn.execute(
            "INSERT OR IGNORE INTO action_guests (action_id, cluster, vmid) VALUES (?1, ?2, ?3)",
            params![id, cluster, v],
        )?;
    }
    Ok(())
}

/// Whether this owner still holds the action (another may have taken it over).
pub fn holds(conn: &Connection, id: &str, owner: &str) -> Result<bool, EngineError> {
    Ok(conn
        .query_row(
            "SELECT lease_owner = ?2 AND state = 'running' FROM actions WHERE id = ?1",
            params![id, owner],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Snapshot names the plans of open actions hold, as (node, name): a
/// guest's snapshots (`guest` = its VMID) or a node's LVM snapshots (`guest`
/// None, by the plan's `node` parameter). Two plans never pick one name.
pub fn snapshot_names_held(
    conn: &Connection,
    cluster: &str,
    guest: Option<u32>,
) -> Result<std::collections::HashSet<(String, String)>, EngineError> {
    let mut st = conn.prepare_cached(
        "SELECT a.plan_json, a.action_json FROM actions a
          WHERE a.cluster = ?1 AND a.state IN ('proposed', 'pending_approval', 'approved', 'running')
            AND a.plan_json IS NOT NULL
            AND (?2 IS NULL OR EXISTS (SELECT 1 FROM action_guests g WHERE g.action_id = a.id AND g.vmid = ?2))",
    )?;
    let rows = st
        .query_map(params![cluster, guest], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = std::collections::HashSet::new();
    for (plan, action) in rows {
        let Ok(plan) = serde_json::from_str::<Plan>(&plan) else {
            continue;
        };
        let node = match (guest, serde_json::from_str::<Action>(&action)) {
            (Some(_), Ok(a)) => a.guests().first().map(|g| g.node.clone()),
            (None, _) => plan.param("node").map(str::to_string),
            _ => None,
        };
        let Some(node) = node else { continue };
        for n in [&plan.snapshot, &plan.safety_snapshot]
            .into_iter()
            .flatten()
        {
            out.insert((node.clone(), n.clone()));
        }
    }
    Ok(out)
}
