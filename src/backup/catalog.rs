//! The backup catalog: every archive the storages list (per node and
//! storage), with what proxdeck knows on top: verification, mode, checksum,
//! the copy it was synced from, and the retention class that keeps it.

use rusqlite::{Connection, params};

use crate::pve::types::StorageContent;
use crate::store::{StoreError, now};

/// One storage's listing, as read from one node.
#[derive(Debug, Clone)]
pub struct Listing<'a> {
    pub node: &'a str,
    pub storage: &'a str,
    pub content: &'a [StorageContent],
}

/// What the catalog knows of an archive beyond the listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Known {
    pub verify_state: String,
    pub verify_message: Option<String>,
    pub mode: Option<String>,
    pub retention_class: Option<String>,
}

/// Bring the catalog in line with fresh listings: new archives are added,
/// listed ones refreshed, and those a listed storage no longer has marked
/// removed. Storages not in `listings` (unreadable this time) are left alone.
pub fn sync(conn: &Connection, cluster: &str, listings: &[Listing<'_>]) -> Result<(), StoreError> {
    let t = now();
    for l in listings {
        for c in l.content {
            conn.execute(
                "INSERT INTO backups (cluster, node, storage, volid, vmid, guest_type, format, size_bytes, ctime, notes, protected, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
                 ON CONFLICT (cluster, node, storage, volid) DO UPDATE SET
                     size_bytes = ?8, notes = ?10, protected = ?11, last_seen = ?12, removed_at = NULL",
                params![
                    cluster, l.node, l.storage, c.volid, c.vmid, c.subtype, c.format,
                    c.size.map(|s| s as i64), c.ctime, c.notes, c.protected, t
                ],
            )?;
        }
        let listed: Vec<&str> = l.content.iter().map(|c| c.volid.as_str()).collect();
        let mut st = conn.prepare_cached(
            "SELECT id, volid FROM backups WHERE cluster = ?1 AND node = ?2 AND storage = ?3 AND removed_at IS NULL",
        )?;
        let rows: Vec<(i64, String)> = st
            .query_map(params![cluster, l.node, l.storage], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        for (id, volid) in rows {
            if !listed.contains(&volid.as_str()) {
                conn.execute(
                    "UPDATE backups SET removed_at = ?2 WHERE id = ?1",
                    params![id, t],
                )?;
            }
        }
    }
    Ok(())
}

/// Catalog knowledge per (node, storage, volid) for archives still present.
pub fn known(
    conn: &Connection,
    cluster: &str,
) -> Result<std::collections::HashMap<(String, String, String), Known>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT node, storage, volid, verify_state, verify_message, mode, retention_class
         FROM backups WHERE cluster = ?1 AND removed_at IS NULL",
    )?;
    let rows = st
        .query_map([cluster], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get(2)?),
                Known {
                    verify_state: r.get(3)?,
                    verify_message: r.get(4)?,
                    mode: r.get(5)?,
                    retention_class: r.get(6)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Record a verification of every catalog copy of `volid`.
pub fn set_verified(
    conn: &Connection,
    cluster: &str,
    volid: &str,
    ok: bool,
    message: Option<&str>,
    sha256: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE backups SET verify_state = ?3, verify_message = ?4, sha256 = COALESCE(?5, sha256), verified_at = ?6
         WHERE cluster = ?1 AND volid = ?2 AND removed_at IS NULL",
        params![cluster, volid, if ok { "ok" } else { "failed" }, message, sha256, now()],
    )?;
    Ok(())
}

/// The vzdump mode proxdeck used for an archive.
pub fn set_mode(
    conn: &Connection,
    cluster: &str,
    volid: &str,
    mode: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE backups SET mode = ?3 WHERE cluster = ?1 AND volid = ?2",
        params![cluster, volid, mode],
    )?;
    Ok(())
}

/// Link a synced copy to its original (and give it the original's checksum
/// and verification, which the comparison proved it shares).
pub fn link_copy(
    conn: &Connection,
    cluster: &str,
    copy_volid: &str,
    original_volid: &str,
    sha256: &str,
) -> Result<(), StoreError> {
    let original: Option<i64> = conn
        .query_row(
            "SELECT id FROM backups WHERE cluster = ?1 AND volid = ?2 AND removed_at IS NULL ORDER BY id LIMIT 1",
            params![cluster, original_volid],
            |r| r.get(0),
        )
        .ok();
    conn.execute(
        "UPDATE backups SET synced_from = ?3, sha256 = ?4, verify_state = 'ok', verify_message = 'copy of a verified archive, SHA-256 compared', verified_at = ?5
         WHERE cluster = ?1 AND volid = ?2",
        params![cluster, copy_volid, original, sha256, now()],
    )?;
    Ok(())
}

/// The retention rule that keeps an archive (or `remove`).
pub fn set_retention(
    conn: &Connection,
    cluster: &str,
    volid: &str,
    class: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE backups SET retention_class = ?3 WHERE cluster = ?1 AND volid = ?2",
        params![cluster, volid, class],
    )?;
    Ok(())
}

/// The recorded SHA-256 of an archive, if it was verified.
pub fn sha256_of(
    conn: &Connection,
    cluster: &str,
    volid: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sha256 FROM backups WHERE cluster = ?1 AND volid = ?2 AND sha256 IS NOT NULL LIMIT 1",
            params![cluster, volid],
            |r| r.get(0),
        )
        .ok())
}

/// Catalog knowledge per volid (a shared storage is listed from several
/// nodes; the row that knows most wins: verified over unverified, newest).
pub fn known_by_volid(
    conn: &Connection,
    cluster: &str,
) -> Result<std::collections::HashMap<String, Known>, StoreError> {
    let mut out: std::collections::HashMap<String, Known> = std::collections::HashMap::new();
    for ((_, _, volid), k) in known(conn, cluster)? {
        let better = match out.get(&volid) {
            None => true,
            Some(old) => {
                (old.verify_state == "unverified" && k.verify_state != "unverified")
                    || (old.mode.is_none() && k.mode.is_some())
            }
        };
        if better {
            out.insert(volid, k);
        }
    }
    Ok(out)
}
