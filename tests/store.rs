//! The SQLite store: migrations, versions, and two processes sharing one file.

mod common;

use std::process::Command;

use proxdeck::store::{SCHEMA_VERSION, Store, StoreError};

const TABLES: &[&str] = &[
    "resource_metadata",
    "ip_allocations",
    "snapshots",
    "backups",
    "replication_tasks",
    "actions",
    "action_transitions",
    "action_steps",
    "action_log",
    "approvals",
    "audit_log",
];

#[test]
fn migrations_create_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("p.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let names: Vec<String> = store
        .read(|c| {
            let mut st =
                c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
            let rows = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    for t in TABLES {
        assert!(
            names.iter().any(|n| n == t),
            "table {t} missing from {names:?}"
        );
    }
    let mode: String = store
        .read(|c| Ok::<_, StoreError>(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn reopening_keeps_data_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO audit_log (at, actor, event, detail, prev_hash, hash) VALUES (1, 'me', 'x', '{}', '', 'h')",
                    [],
                )?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let n: i64 = store
        .read(|c| {
            Ok::<_, StoreError>(c.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn an_older_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A database as an older build left it: version 0, with a table of its own.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('kept');")
        .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let kept: String = store
        .read(|c| Ok::<_, StoreError>(c.query_row("SELECT x FROM notes", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(kept, "kept");
}

#[test]
fn a_newer_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("newer than this proxdeck understands"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("schema version {}", SCHEMA_VERSION + 5)),
        "{msg}"
    );
}

/// Runs only as a child of `two_processes_share_one_database`: opens the shared
/// file and writes many short transactions, as a proxdeck process does.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var("PROXDECK_TEST_CHILD_DB") else {
        return;
    };
    let who = std::env::var("PROXDECK_TEST_CHILD_NAME").unwrap();
    let store = Store::open(std::path::Path::new(&path)).unwrap();
    for i in 0..300 {
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO audit_log (at, actor, event, detail, prev_hash, hash) VALUES (?1, ?2, 'write', '{}', '', '')",
                    rusqlite::params![i, who],
                )?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let _: i64 = store
            .read(|c| {
                Ok::<_, StoreError>(
                    c.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?,
                )
            })
            .unwrap();
    }
}

#[test]
fn two_processes_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_writer", "--nocapture"])
                .env("PROXDECK_TEST_CHILD_DB", &path)
                .env("PROXDECK_TEST_CHILD_NAME", name)
                .output_async()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{text}");
        assert!(!text.contains("database is locked"), "{text}");
        assert!(text.contains("1 passed"), "the child did not run:\n{text}");
    }
    let store = Store::open(&path).unwrap();
    let counts: Vec<(String, i64)> = store
        .read(|c| {
            let mut st =
                c.prepare("SELECT actor, count(*) FROM audit_log GROUP BY actor ORDER BY actor")?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>(rows)
        })
        .unwrap();
    assert_eq!(counts, vec![("a".to_string(), 300), ("b".to_string(), 300)]);
}

trait SpawnCaptured {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnCaptured for Command {
    /// Start with stdout/stderr captured, without waiting (so both children overlap).
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}
