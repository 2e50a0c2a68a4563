//! Forward-only, numbered schema migrations, tracked in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Every migration in order; the position + 1 is its version. Never edit a
/// released entry: add a new one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("initial", include_str!("sql/0001_initial.sql")),
    ("identity", include_str!("sql/0002_identity.sql")),
    ("engine", include_str!("sql/0003_engine.sql")),
    ("schedules", include_str!("sql/0004_schedules.sql")),
    ("safety", include_str!("sql/0005_safety.sql")),
    ("scale", include_str!("sql/0006_scale.sql")),
    ("change_marks", include_str!("sql/0007_change_marks.sql")),
];

/// The version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the database up to `SCHEMA_VERSION`, or refuse a newer one.
///
/// Each migration runs in its own `BEGIN IMMEDIATE` transaction and re-reads
/// the version inside it, so two processes opening a fresh file at once apply
/// each migration exactly once.
pub fn run(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    // Up to date already (the usual case): no write lock needed.
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let (name, sql) = MIGRATIONS[version as usize];
        let next = version + 1;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration {
                version: next,
                name,
                source,
            })?;
        tx.pragma_update(None, "user_version", next)?;
        tx.commit()?;
    }
}
