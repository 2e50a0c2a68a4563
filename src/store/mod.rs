//! The SQLite store: one database file shared by every proxdeck process on a host.
//!
//! WAL mode lets readers run beside one writer; a busy handler makes writers wait
//! for each other instead of failing; every write transaction starts with
//! `BEGIN IMMEDIATE` so that a reader never has to upgrade to a writer (the case
//! where SQLite gives up at once with "database is locked").

pub mod marks;
mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use migrations::{MIGRATIONS, SCHEMA_VERSION};

/// How long a writer waits for another before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the database directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database {} has schema version {found}, newer than this proxdeck understands ({known}); upgrade proxdeck or use another --db",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database worker stopped: {0}")]
    Worker(String),
}

/// A handle on the database. Cloning shares the connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        configure(&mut conn).map_err(open_err)?;
        let mut store = Store {
            conn: Arc::new(Mutex::new(conn)),
            path: Some(path.to_path_buf()),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&mut conn)?;
        let mut store = Store {
            conn: Arc::new(Mutex::new(conn)),
            path: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite
        // rolls back an unfinished transaction when the next one begins.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` with the connection (reads, or single statements).
    pub fn read<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, E>,
    ) -> Result<R, E> {
        f(&self.lock())
    }

    /// Run `f` inside one `BEGIN IMMEDIATE` transaction: committed if it
    /// returns Ok, rolled back (nothing written) if it returns an error.
    pub fn write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// `write` on a blocking thread, for async callers that must not stall.
    pub async fn write_async<R, E>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write(f))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// `read` on a blocking thread, for async callers that must not stall.
    pub async fn read_async<R, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(f))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(":memory:"));
        let mut conn = self.lock();
        migrations::run(&mut conn, &path)
    }
}

/// Wait for another writer in short, jittered steps: SQLite's default busy
/// handler sleeps ever longer, which lets a busy writer starve the others.
fn busy_wait(attempt: i32) -> bool {
    let elapsed_ms = u64::try_from(attempt).unwrap_or(0) * 2;
    if elapsed_ms >= BUSY_TIMEOUT.as_millis() as u64 {
        return false;
    }
    let jitter = (std::process::id() as u64 ^ attempt as u64) % 3;
    std::thread::sleep(Duration::from_millis(1 + jitter));
    true
}

fn configure(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_handler(Some(busy_wait))?;
    // journal_mode answers with the mode in force; in-memory databases stay "memory".
    // Switching a new file to WAL needs it alone, and SQLite answers BUSY at
    // once (without the busy handler) when another process opens it at the
    // same moment: retry for as long as the busy handler would wait.
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < std::time::Duration::from_secs(30) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(
                    5 + u64::from(started.elapsed().subsec_nanos() % 20),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    // The engine and the allocator use more than rusqlite's default 16
    // cached statements; past it every call parsed its SQL again (40 % of
    // an allocation's time, measured with perf).
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Current time as Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
