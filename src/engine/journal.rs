//! The step journal: every step written before and after it runs, the UPID
//! of a Proxmox task stored as soon as it starts, output lines kept.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::audit;
use super::error::EngineError;
use super::plan::Plan;
use crate::store::now;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
    Undone,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Undone => "undone",
        }
    }

    pub fn parse(s: &str) -> StepState {
        match s {
            "running" => StepState::Running,
            "done" => StepState::Done,
            "failed" => StepState::Failed,
            "skipped" => StepState::Skipped,
            "undone" => StepState::Undone,
            _ => StepState::Pending,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub seq: u32,
    pub key: String,
    pub target: Option<String>,
    pub state: StepState,
    pub upid: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

/// Create the pending rows for a plan's steps (once).
pub fn ensure_steps(conn: &Connection, action_id: &str, plan: &Plan) -> Result<(), EngineError> {
    for s in &plan.steps {
        conn.execute(
            "INSERT OR IGNORE INTO action_steps (action_id, seq, name, target, state) VALUES (?1, ?2, ?3, ?4, 'pending')",
            params![action_id, s.seq, s.key, s.target],
        )?;
    }
    Ok(())
}

pub fn steps(conn: &Connection, action_id: &str) -> Result<Vec<StepRow>, EngineError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, name, target, state, upid, detail_json, started_at, finished_at, error FROM action_steps WHERE action_id = ?1 ORDER BY seq",
    )?;
    let rows = st
        .query_map([action_id], |r| {
            let state: String = r.get(3)?;
            let detail: Option<String> = r.get(5)?;
            Ok(StepRow {
                seq: r.get(0)?,
                key: r.get(1)?,
                target: r.get(2)?,
                state: StepState::parse(&state),
                upid: r.get(4)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                started_at: r.get(6)?,
                finished_at: r.get(7)?,
                error: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn step(conn: &Connection, action_id: &str, seq: u32) -> Result<Option<StepRow>, EngineError> {
    Ok(steps(conn, action_id)?
        .into_iter()
        .find(|s| s.seq == seq)
        .or(None))
}

/// A step's name (its key, such as `clone@pve-node-02`), for the audit entry.
fn step_name(conn: &Connection, action_id: &str, seq: u32) -> Result<Option<String>, EngineError> {
    Ok(conn
        .query_row(
            "SELECT name FROM action_steps WHERE action_id = ?1 AND seq = ?2",
            params![action_id, seq],
            |r| r.get(0),
        )
        .optional()?)
}

/// Journal a step as started (before its work).
pub fn begin(conn: &Connection, action_id: &str, seq: u32, actor: &str) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE action_steps SET state = 'running', started_at = COALESCE(started_at, ?3), error = NULL WHERE action_id = ?1 AND seq = ?2",
        params![action_id, seq, now()],
    )?;
    let key = step_name(conn, action_id, seq)?;
    audit::append(
        conn,
        actor,
        "step_started",
        Some(action_id),
        &serde_json::json!({"seq": seq, "step": key}),
    )?;
    Ok(())
}

/// Store the UPID of the task a step started (at once, before waiting on it).
pub fn set_upid(
    conn: &Connection,
    action_id: &str,
    seq: u32,
    upid: &str,
) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE action_steps SET upid = ?3 WHERE action_id = ?1 AND seq = ?2",
        params![action_id, seq, upid],
    )?;
    Ok(())
}

/// Store what a step found or made (e.g. that the guest already existed).
pub fn set_detail(
    conn: &Connection,
    action_id: &str,
    seq: u32,
    detail: &serde_json::Value,
) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE action_steps SET detail_json = ?3 WHERE action_id = ?1 AND seq = ?2",
        params![action_id, seq, detail.to_string()],
    )?;
    Ok(())
}

/// Journal a step's end (after its work).
pub fn finish(
    conn: &Connection,
    action_id: &str,
    seq: u32,
    state: StepState,
    error: Option<&str>,
    actor: &str,
) -> Result<(), EngineError> {
    conn.execute(
        "UPDATE action_steps SET state = ?3, finished_at = ?4, error = ?5 WHERE action_id = ?1 AND seq = ?2",
        params![action_id, seq, state.as_str(), now(), error],
    )?;
    let key = step_name(conn, action_id, seq)?;
    audit::append(
        conn,
        actor,
        &format!("step_{}", state.as_str()),
        Some(action_id),
        &serde_json::json!({"seq": seq, "step": key, "error": error}),
    )?;
    Ok(())
}

pub fn log_lines(
    conn: &Connection,
    action_id: &str,
    seq: Option<u32>,
    lines: &[String],
) -> Result<(), EngineError> {
    let t = now();
    let mut st = conn.prepare_cached(
        "INSERT INTO action_log (action_id, step_seq, at, line) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for l in lines {
        st.execute(params![action_id, seq, t, l])?;
    }
    Ok(())
}

/// The output of an action's steps, oldest first.
pub fn log(
    conn: &Connection,
    action_id: &str,
) -> Result<Vec<(Option<u32>, i64, String)>, EngineError> {
    let mut st = conn.prepare_cached(
        "SELECT step_seq, at, line FROM action_log WHERE action_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([action_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
