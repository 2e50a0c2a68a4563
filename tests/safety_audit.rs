//! The audit log (F7 of the reliability review): chained under a key kept
//! outside the database (0600), its head signed and anchored: deleting the
//! newest rows together with the head file, rewriting the chain without the
//! key, or deleting everything, are each found and explained.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::target::Target;
use common::{proxdeck, text};
use proxdeck::engine::audit::{GENESIS, head_path, row_hash};
use proxdeck::engine::audit_key::key_path;

/// A database with a few actions in its log.
async fn logged(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("p.db");
    for name in ["one", "two"] {
        let o = proxdeck(
            dir,
            &db,
            &["plan", "snapshot", "pve-web-01", "--name", name],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = proxdeck(dir, &db, &["run", "--once"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    db
}

fn copy(db: &Path, to: &Path) {
    std::fs::copy(db, to).unwrap();
    std::fs::copy(head_path(db), head_path(to)).unwrap();
    std::fs::copy(key_path(db), key_path(to)).unwrap();
}

fn verify(dir: &Path, db: &Path) -> std::process::Output {
    proxdeck(dir, db, &["audit", "verify"], &[])
}

fn sql(db: &Path, statement: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(statement)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_keyed_and_anchored() {
    let t = Target::sim().await;
    let cfg = common::config_dir_for(&t.url, &t.fingerprint);
    let dir = cfg.path();
    let db = logged(dir).await;
    let o = verify(dir, &db);
    assert!(o.status.success(), "{}", text(&o));
    let mode = std::fs::metadata(key_path(&db))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the key is private to its owner");
    assert_eq!(
        std::fs::metadata(key_path(&db)).unwrap().len(),
        40,
        "32 bytes of key, 8 of unkeyed rows"
    );

    // The newest rows and the head file deleted together.
    let cut = dir.join("cut.db");
    copy(&db, &cut);
    sql(
        &cut,
        "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log)",
    );
    std::fs::remove_file(head_path(&cut)).unwrap();
    let o = verify(dir, &cut);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("head file"), "{}", text(&o));
    assert!(text(&o).contains("is missing"), "{}", text(&o));

    // A head file written by hand (no signature) is not trusted.
    let forged = dir.join("forged.db");
    copy(&db, &forged);
    sql(
        &forged,
        "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log)",
    );
    let (seq, hash): (i64, String) = rusqlite::Connection::open(&forged)
        .unwrap()
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    std::fs::write(head_path(&forged), format!("{seq} {hash}\n")).unwrap();
    let o = verify(dir, &forged);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not signed"), "{}", text(&o));

    // The chain rewritten without the key: one row changed, the rest
    // re-hashed the way an unkeyed chain would be.
    let rewritten = dir.join("rewritten.db");
    copy(&db, &rewritten);
    let conn = rusqlite::Connection::open(&rewritten).unwrap();
    conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let rows: Vec<(i64, i64, String, String, Option<String>, String)> = {
        let mut st = conn
            .prepare("SELECT seq, at, actor, event, action_id, detail FROM audit_log ORDER BY seq")
            .unwrap();
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let mut prev = GENESIS.to_string();
    for (seq, at, actor, event, action_id, detail) in rows {
        let h = row_hash(
            seq,
            at,
            &actor,
            &event,
            action_id.as_deref(),
            &detail,
            &prev,
        );
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, prev, h],
        )
        .unwrap();
        prev = h;
    }
    drop(conn);
    let o = verify(dir, &rewritten);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("was altered"), "{}", text(&o));

    // Everything deleted, the head file too: the actions remain and say so.
    let emptied = dir.join("emptied.db");
    copy(&db, &emptied);
    sql(&emptied, "DELETE FROM audit_log");
    std::fs::remove_file(head_path(&emptied)).unwrap();
    let o = verify(dir, &emptied);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("has no 'proposed' row in the log"),
        "{}",
        text(&o)
    );

    // Without its key the log cannot be checked, and says why.
    let keyless = dir.join("keyless.db");
    std::fs::copy(&db, &keyless).unwrap();
    std::fs::copy(head_path(&db), head_path(&keyless)).unwrap();
    let o = verify(dir, &keyless);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("audit key"), "{}", text(&o));
}
