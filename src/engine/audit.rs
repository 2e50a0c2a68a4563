//! The audit log: every proposal, decision, step and outcome, chained.
//!
//! Each row's hash is an HMAC-SHA256, under the key kept next to the
//! database (see `audit_key`), of its fields, length-prefixed, and the
//! previous row's hash: changing any row breaks the chain from there on, and
//! without the key the chain cannot be recomputed. The newest (seq, hash) is
//! kept, signed with the same key, in a head file next to the database
//! (written by rename, so atomically): deleting the newest rows shows as a
//! table that ends before the head, and deleting the head file too shows as
//! a log with no head. Rows written before the log was keyed (plain SHA-256)
//! are accepted only at its start, and reported.

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

/// A row's fields, length-prefixed, as the hash covers them.
fn row_bytes(
    seq: i64,
    at: i64,
    actor: &str,
    event: &str,
    action_id: Option<&str>,
    detail: &str,
    prev: &str,
) -> Vec<u8> {
    let mut buf = Vec::new();
    field(&mut buf, &seq.to_string());
    field(&mut buf, &at.to_string());
    field(&mut buf, actor);
    field(&mut buf, event);
    field(&mut buf, action_id.unwrap_or(""));
    field(&mut buf, detail);
    field(&mut buf, prev);
    buf
}

/// The key of the database a connection is open on (made on first use,
/// noting the rows the log had until then).
fn key_of(conn: &Connection) -> Result<std::sync::Arc<super::audit_key::AuditKey>, StoreError> {
    let db = conn.path().filter(|p| !p.is_empty()).map(Path::new);
    super::audit_key::key_for(db, || {
        conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .unwrap_or(0)
    })
}

/// A legacy row's hash: plain SHA-256 (logs written before the key).
pub fn row_hash(
    seq: i64,
    at: i64,
    actor: &str,
    event: &str,
    action_id: Option<&str>,
    detail: &str,
    prev: &str,
) -> String {
    let buf = row_bytes(seq, at, actor, event, action_id, detail, prev);
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
    let key = key_of(conn)?;
    let hash = super::audit_key::mac_hex(
        &key.key,
        &row_bytes(seq, at, actor, event, action_id, &detail, &prev),
    );
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

/// A head file as read: absent, unreadable, or its (seq, hash) and signature.
enum Head {
    Missing,
    Unreadable(String),
    At {
        seq: i64,
        hash: String,
        mac: Option<String>,
    },
}

fn read_head(path: &Path) -> Head {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Head::Missing,
        Err(e) => return Head::Unreadable(e.to_string()),
    };
    let mut parts = text.split_whitespace();
    match (
        parts.next().map(str::parse::<i64>),
        parts.next(),
        parts.next(),
    ) {
        (Some(Ok(seq)), Some(hash), mac) => Head::At {
            seq,
            hash: hash.to_string(),
            mac: mac.map(str::to_string),
        },
        _ => Head::Unreadable("it does not hold a row number and hash".into()),
    }
}

fn head_bytes(seq: i64, hash: &str) -> Vec<u8> {
    format!("head {seq} {hash}").into_bytes()
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
    if matches!(read_head(&path), Head::At { seq: s, .. } if s >= seq) {
        return Ok(());
    }
    let key = super::audit_key::key_for(Some(db), || 0)?;
    let mac = super::audit_key::mac_hex(&key.key, &head_bytes(seq, &hash));
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{seq} {hash} {mac}\n"))
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

/// Check the chain, the table's end against the signed head file, and that
/// every action has its proposal in the log.
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
    let (rows, unlogged): (Vec<Row>, Vec<String>) = store.read(|c| {
        let mut st = c.prepare("SELECT seq, at, actor, event, action_id, detail, prev_hash, hash FROM audit_log ORDER BY seq")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))?
            .collect::<Result<Vec<Row>, _>>()?;
        let mut st = c.prepare(
            "SELECT id FROM actions WHERE id NOT IN (SELECT action_id FROM audit_log WHERE event = 'proposed' AND action_id IS NOT NULL) ORDER BY created_at",
        )?;
        let unlogged = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok::<_, StoreError>((rows, unlogged))
    })?;
    let db = store.path();
    if rows.is_empty() && unlogged.is_empty() {
        return Ok(Verification {
            rows: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
        });
    }
    let key = match db {
        Some(d) if !super::audit_key::has_key(d) => {
            return Ok(Verification {
                rows: rows.len() as i64,
                problems: vec![format!(
                    "the audit key {} is missing: the log cannot be checked (was it deleted, or the database copied without it?)",
                    super::audit_key::key_path(d).display()
                )],
                warnings: Vec::new(),
            });
        }
        d => super::audit_key::key_for(d, || 0)?,
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut legacy = 0;
    for (seq, at, actor, event, action_id, detail, prev_hash, hash) in &rows {
        if *seq != expected_seq {
            problems.push(format!(
                "row {expected_seq} is missing (the next row is {seq})"
            ));
        }
        if *prev_hash != prev {
            problems.push(format!("row {seq} does not follow row {}: its previous hash is {prev_hash}, the chain has {prev}", seq - 1));
        }
        let bytes = row_bytes(
            *seq,
            *at,
            actor,
            event,
            action_id.as_deref(),
            detail,
            prev_hash,
        );
        let keyed = super::audit_key::mac_matches(&key.key, &bytes, hash);
        let legacy_row = !keyed
            && *seq <= key.legacy_rows
            && row_hash(
                *seq,
                *at,
                actor,
                event,
                action_id.as_deref(),
                detail,
                prev_hash,
            ) == *hash;
        if legacy_row {
            legacy += 1;
        } else if !keyed {
            problems.push(format!(
                "row {seq} ({event}) was altered: its hash does not match its content under this database's key"
            ));
        }
        prev = hash.clone();
        expected_seq = seq + 1;
    }
    if legacy > 0 {
        warnings.push(format!(
            "rows 1-{legacy} were written before the log was keyed (checked as a plain SHA-256 chain)"
        ));
    }
    for id in &unlogged {
        problems.push(format!(
            "action {id} has no 'proposed' row in the log: rows were removed"
        ));
    }
    if let Some(db) = db {
        let last = rows.last().map(|r| r.0).unwrap_or(0);
        match read_head(&head_path(db)) {
            Head::At { seq, hash, mac } => {
                let signed = mac
                    .as_deref()
                    .is_some_and(|m| super::audit_key::mac_matches(&key.key, &head_bytes(seq, &hash), m));
                if !signed {
                    problems.push(format!(
                        "the head file {} is not signed with this database's key: it was written by hand",
                        head_path(db).display()
                    ));
                } else if seq > last {
                    problems.push(format!(
                        "the log ends at row {last} but the head file records row {seq}: the newest rows were removed"
                    ));
                } else if let Some(r) = rows.iter().find(|r| r.0 == seq)
                    && r.7 != hash
                {
                    problems.push(format!("row {seq} differs from the head file: it was replaced"));
                } else if seq < last {
                    warnings.push(format!("the head file is at row {seq}, the log at {last} (a process stopped before updating it)"));
                }
            }
            Head::Missing => problems.push(format!(
                "the head file {} is missing while the log has {} rows: the newest rows may have been removed with it",
                head_path(db).display(),
                rows.len()
            )),
            Head::Unreadable(why) => problems.push(format!(
                "the head file {} cannot be read ({why})",
                head_path(db).display()
            )),
        }
    }
    Ok(Verification {
        rows: rows.len() as i64,
        problems,
        warnings,
    })
}
