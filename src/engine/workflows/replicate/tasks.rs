//! The `replication_tasks` table: one row per target of a replication or
//! clone, with the new guest's identity, its status and progress. This file
//! is its only owner; the design's status report is read from it.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::Plan;

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    Pending,
    Running,
    Success,
    Failed,
    /// The action ended before this target ran (rejected, cancelled).
    CleanedUp,
}

impl TargetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Pending => "pending",
            TargetStatus::Running => "running",
            TargetStatus::Success => "success",
            TargetStatus::Failed => "failed",
            TargetStatus::CleanedUp => "cleaned_up",
        }
    }

    pub fn parse(s: &str) -> TargetStatus {
        match s {
            "running" => TargetStatus::Running,
            "success" => TargetStatus::Success,
            "failed" => TargetStatus::Failed,
            "cleaned_up" => TargetStatus::CleanedUp,
            _ => TargetStatus::Pending,
        }
    }

    /// Finished, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TargetStatus::Success | TargetStatus::Failed | TargetStatus::CleanedUp
        )
    }
}

impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One target's row, in the design's status shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetResult {
    pub target_node: String,
    pub new_resource_id: String,
    pub new_resource_name: String,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The open replication of `source` to `node`, if another action has one.
fn open_replication(
    tx: &Transaction<'_>,
    cluster: &str,
    source: u32,
    node: &str,
) -> Result<Option<String>, EngineError> {
    Ok(tx
        .query_row(
            "SELECT action_id FROM replication_tasks WHERE cluster = ?1 AND source_vmid = ?2 AND target_node = ?3
               AND replica = 1 AND status IN ('pending', 'running')",
            params![cluster, source, node],
            |r| r.get(0),
        )
        .optional()?)
}

/// A row per planned target, pending. A replica (not a clone) may have one
/// open replication per source and node: a unique index makes a second
/// one fail even when two processes plan at the same moment.
pub fn insert_planned(
    tx: &Transaction<'_>,
    cluster: &str,
    action_id: &str,
    source: &GuestSel,
    plan: &Plan,
    replica: bool,
) -> Result<(), EngineError> {
    for t in &plan.targets {
        if replica && let Some(other) = open_replication(tx, cluster, source.vmid, &t.node)? {
            return Err(EngineError::NothingToDo(format!(
                "{} is already being replicated to {} by {other}",
                source.name, t.node
            )));
        }
        let strategy = t.strategy.as_ref().map(serde_json::to_string).transpose()?;
        tx.execute(
            "INSERT INTO replication_tasks (action_id, cluster, source_vmid, source_node, target_node, strategy, new_vmid, new_name, ip, mac, hostname, status, replica)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12)",
            params![
                action_id,
                cluster,
                source.vmid,
                source.node,
                t.node,
                strategy,
                t.vmid,
                t.name,
                t.ip.map(|i| i.to_string()),
                t.mac.map(|m| m.to_string()),
                t.hostname,
                replica
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                EngineError::NothingToDo(format!(
                    "{} is already being replicated to {} by another action",
                    source.name, t.node
                ))
            }
            e => e.into(),
        })?;
    }
    Ok(())
}

/// Close what an ended action left open: targets that never ran are
/// cleaned up, one still marked running failed.
pub fn clean_up_pending(tx: &Transaction<'_>, action_id: &str) -> Result<(), EngineError> {
    tx.execute(
        "UPDATE replication_tasks SET status = CASE status WHEN 'pending' THEN 'cleaned_up' ELSE 'failed' END
          WHERE action_id = ?1 AND status IN ('pending', 'running')",
        [action_id],
    )?;
    Ok(())
}

/// A target's new status (and error); times and progress follow.
pub fn set_status(
    tx: &Transaction<'_>,
    action_id: &str,
    node: &str,
    status: TargetStatus,
    error: Option<&str>,
) -> Result<(), EngineError> {
    tx.execute(
        "UPDATE replication_tasks SET status = ?3, error = ?4,
             started_at = COALESCE(started_at, strftime('%s','now')),
             finished_at = CASE WHEN ?3 IN ('success', 'failed', 'cleaned_up') THEN strftime('%s','now') ELSE finished_at END,
             progress = CASE WHEN ?3 = 'success' THEN 100 ELSE progress END
         WHERE action_id = ?1 AND target_node = ?2",
        params![action_id, node, status.as_str(), error],
    )?;
    Ok(())
}

/// A target's progress: the share of its steps done.
pub fn set_progress(tx: &Transaction<'_>, action_id: &str, node: &str) -> Result<(), EngineError> {
    tx.execute(
        "UPDATE replication_tasks SET progress = (
             SELECT 100.0 * SUM(state = 'done') / COUNT(*) FROM action_steps WHERE action_id = ?1 AND target = ?2)
         WHERE action_id = ?1 AND target_node = ?2",
        params![action_id, node],
    )?;
    Ok(())
}

/// Per-target rows of an action, in target order.
pub fn results(c: &Connection, action_id: &str) -> Result<Vec<TargetResult>, EngineError> {
    let mut st = c.prepare_cached(
        "SELECT target_node, new_vmid, new_name, ip, mac, status, progress, error FROM replication_tasks WHERE action_id = ?1 ORDER BY target_node",
    )?;
    let rows = st
        .query_map([action_id], |r| {
            let status = TargetStatus::parse(&r.get::<_, String>(5)?);
            let progress: f64 = r.get(6)?;
            Ok(TargetResult {
                target_node: r.get(0)?,
                new_resource_id: r
                    .get::<_, Option<u32>>(1)?
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                new_resource_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                ip: r.get(3)?,
                mac: r.get(4)?,
                progress: (status == TargetStatus::Running).then_some(progress),
                status,
                error: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
