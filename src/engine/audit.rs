//! The audit log: every proposal, decision, step and outcome, hash-chained.
//!
//! Each row's hash covers its fields, length-prefixed, and the previous row's
//! hash, so changing any row breaks the chain from there on. The newest
//! (seq, hash) is also kept in a file next to the database (written by
//! rename, so atomically): deleting the newest rows then shows as a table
//! that ends before the head.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::store::{Store, StoreError, now};

/// The hash of the (empty) chain before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn field(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u64).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// The hash of one row.
pub fn row_hash(
    seq: i64,
    at: i64,
    actor: &str,
    event: &str,
    action_id: Option<&str>,
    detail: &str,
    prev: &str,
) -> String {
    let mut buf = Vec::new();
    field(&mut buf, &seq.to_string());
    field(&mut buf, &at.to_string());
    field(&mut buf, actor);
    field(&mut buf, event);
    field(&mut buf, action_id.unwrap_or(""));
    field(&mut buf, detail);
    field(&mut buf, prev);
    let d = ring::digest::digest(&ring::digest::SHA256, &buf);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Append a row (inside the caller's write transaction).
pub fn append(
    conn: &Connection,
    actor: &str,
    event: &str,
    action_id: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(i64, String), StoreError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let at = now();
    let detail = detail.to_string();
    let hash = row_hash(seq, at, actor, event, action_id, &detail, &prev);
    conn.execute(
        "INSERT INTO audit_log (seq, at, actor, event, action_id, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, at, actor, event, action_id, detail, prev, hash],
    )?;
    Ok((seq, hash))
}

/// The head file of a database.
pub fn head_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".audit-head");
    PathBuf::from(p)
}

fn read_head(path: &Path) -> Option<(i64, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (seq, hash) = text.trim().split_once(' ')?;
    Some((seq.parse().ok()?, hash.to_string()))
}

/// Record the newest row in the head file (after the commit). Only moves forward.
pub fn update_head(store: &Store) -> Result<(), StoreError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    // One writer at a time in this process; unique temporary names across processes.
    static HEAD: Mutex<()> = Mutex::new(());
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let _guard = HEAD.lock().unwrap_or_else(|p| p.into_inner());
    let Some(db) = store.path() else {
        return Ok(());
    };
    let path = head_path(db);
    let last: Option<(i64, String)> = store.read(|c| {
        Ok::<_, StoreError>(
            c.query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        )
    })?;
    let Some((seq, hash)) = last else {
        return Ok(());
    };
    if read_head(&path).is_some_and(|(s, _)| s >= seq) {
        return Ok(());
    }
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{seq} {hash}\n"))
        .map_err(|e| StoreError::Worker(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| StoreError::Worker(format!("{}: {e}", path.display())))?;
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verification {
    pub rows: i64,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// Check the chain, and the table's end against the head file.
pub fn verify(store: &Store) -> Result<Verification, StoreError> {
    type Row = (
        i64,
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = store.read(|c| {
        let mut st = c.prepare("SELECT seq, at, actor, event, action_id, detail, prev_hash, hash FROM audit_log ORDER BY seq")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))?
            .collect::<Result<Vec<Row>, _>>()?;
        Ok::<_, StoreError>(rows)
    })?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for (seq, at, actor, event, action_id, detail, prev_hash, hash) in &rows {
        if *seq != expected_seq {
            problems.push(format!(
                "row {expected_seq} is missing (the next row is {seq})"
            ));
        }
        if *prev_hash != prev {
            problems.push(format!("row {seq} does not follow row {}: its previous hash is {prev_hash}, the chain has {prev}", seq - 1));
        }
        let recomputed = row_hash(
            *seq,
            *at,
            actor,
            event,
            action_id.as_deref(),
            detail,
            prev_hash,
        );
        if recomputed != *hash {
            problems.push(format!(
                "row {seq} ({event}) was altered: its hash does not match its content"
            ));
        }
        prev = hash.clone();
        expected_seq = seq + 1;
    }
    if let Some(db) = store.path() {
        match read_head(&head_path(db)) {
            Some((head_seq, head_hash)) => {
                let last = rows.last().map(|r| r.0).unwrap_or(0);
                if head_seq > last {
                    problems.push(format!(
                        "the log ends at row {last} but the head file records row {head_seq}: the newest rows were removed"
                    ));
                } else if let Some(r) = rows.iter().find(|r| r.0 == head_seq)
                    && r.7 != head_hash
                {
                    problems.push(format!(
                        "row {head_seq} differs from the head file: it was replaced"
                    ));
                } else if head_seq < last {
                    warnings.push(format!("the head file is at row {head_seq}, the log at {last} (a process stopped before updating it)"));
                }
            }
            None if !rows.is_empty() => warnings.push("no head file next to the database".into()),
            None => {}
        }
    }
    Ok(Verification {
        rows: rows.len() as i64,
        problems,
        warnings,
    })
}
