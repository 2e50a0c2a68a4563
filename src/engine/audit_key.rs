//! The audit log's key: 32 random bytes in a file next to the database
//! (`<db>.audit-key`, created 0600 on first use), never inside it. The log's
//! chain and its head are HMAC-SHA256 under this key, so someone who can
//! edit the database but not read the key cannot rewrite the log and make
//! it verify. Accounts that share a database need read access to the key
//! (a group and mode 0640): without it they cannot write, and say so.
//!
//! A log that existed before its key keeps its older rows as they were
//! (plain SHA-256); the key file records how many there were, so no later
//! row can pass as one of them.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ring::hmac;
use ring::rand::SecureRandom;

use crate::store::StoreError;

/// The key file of a database.
pub fn key_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".audit-key");
    PathBuf::from(p)
}

fn random_bytes() -> Result<[u8; 32], StoreError> {
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| StoreError::Worker("no randomness for the audit key".into()))?;
    Ok(b)
}

/// A database's key and how many unkeyed rows its log had when it was made.
pub struct AuditKey {
    pub key: hmac::Key,
    pub legacy_rows: i64,
}

/// The key file's bytes: 32 of key, then the unkeyed row count (8, big-endian).
fn parse_key_file(path: &Path, bytes: &[u8]) -> Result<AuditKey, StoreError> {
    let damaged = || {
        StoreError::Worker(format!(
            "the audit key {} is not a key proxdeck wrote: it was damaged or replaced",
            path.display()
        ))
    };
    let (key, rest) = bytes.split_at_checked(32).ok_or_else(damaged)?;
    let legacy_rows = match rest.len() {
        0 => 0,
        8 => i64::from_be_bytes(rest.try_into().map_err(|_| damaged())?),
        _ => return Err(damaged()),
    };
    Ok(AuditKey {
        key: hmac::Key::new(hmac::HMAC_SHA256, key),
        legacy_rows,
    })
}

/// Read the key, or create it (0600) when there is none yet, recording the
/// log's unkeyed rows (`legacy_rows`, asked only then).
fn load_or_create(path: &Path, legacy_rows: impl FnOnce() -> i64) -> Result<AuditKey, StoreError> {
    let err =
        |e: std::io::Error| StoreError::Worker(format!("the audit key {}: {e}", path.display()));
    match std::fs::read(path) {
        Ok(bytes) => parse_key_file(path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = random_bytes()?.to_vec();
            bytes.extend_from_slice(&legacy_rows().to_be_bytes());
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            match made {
                Ok(mut f) => {
                    f.write_all(&bytes).map_err(err)?;
                    f.sync_all().map_err(err)?;
                    parse_key_file(path, &bytes)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    parse_key_file(path, &std::fs::read(path).map_err(err)?)
                }
                Err(e) => Err(err(e)),
            }
        }
        Err(e) => Err(err(e)),
    }
}

/// The key of the database at `db` (None: an in-memory database, which gets
/// a key for this process only), made on first use. Read once per process.
pub fn key_for(
    db: Option<&Path>,
    legacy_rows: impl FnOnce() -> i64,
) -> Result<Arc<AuditKey>, StoreError> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, Arc<AuditKey>>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| Mutex::new(HashMap::new()));
    let id = db.map(key_path).unwrap_or_default();
    let mut map = keys.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = map.get(&id) {
        return Ok(k.clone());
    }
    let key = Arc::new(match db {
        Some(_) => load_or_create(&id, legacy_rows)?,
        None => AuditKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &random_bytes()?),
            legacy_rows: 0,
        },
    });
    map.insert(id, key.clone());
    Ok(key)
}

/// Whether the database at `db` has a key file yet.
pub fn has_key(db: &Path) -> bool {
    key_path(db).exists()
}

/// HMAC-SHA256 of `data`, in hex.
pub fn mac_hex(key: &hmac::Key, data: &[u8]) -> String {
    hmac::sign(key, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `hex` is the HMAC of `data`.
pub fn mac_matches(key: &hmac::Key, data: &[u8], hex: &str) -> bool {
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    hmac::verify(key, data, &tag).is_ok()
}
