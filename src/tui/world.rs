//! What the console knows about the cluster: the last good read of each kind
//! of data, when it was read, and the last error, so that old data is never
//! shown as current.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::error::ConsoleError;
use crate::engine::ActionOverview;
use crate::inventory::Inventory;
use crate::metadata::ResourceMetadata;
use crate::pve::types::TaskListItem;

/// A piece of data and how fresh it is.
#[derive(Debug, Clone)]
pub struct Fresh<T> {
    pub data: T,
    /// Unix time of the last successful read (None: never read).
    pub at: Option<i64>,
    /// The last read's error, if it failed (the data is then older).
    pub error: Option<ConsoleError>,
}

impl<T: Default> Default for Fresh<T> {
    fn default() -> Self {
        Fresh {
            data: T::default(),
            at: None,
            error: None,
        }
    }
}

impl<T> Fresh<T> {
    pub fn set(&mut self, data: T, at: i64) {
        self.data = data;
        self.at = Some(at);
        self.error = None;
    }

    pub fn failed(&mut self, error: ConsoleError) {
        self.error = Some(error);
    }

    /// What a pane with no rows says: still reading, the read failed, or nothing there.
    pub fn empty_text(&self, failed: &str, reading: &str, none: &str) -> String {
        match (&self.at, &self.error) {
            (None, Some(e)) => format!("{failed}: {e}"),
            (None, None) => reading.to_string(),
            _ => none.to_string(),
        }
    }

    /// Take a read's outcome: new data, or the error beside the older data.
    pub fn apply(&mut self, read: Result<T, ConsoleError>, at: i64) {
        match read {
            Ok(data) => self.set(data, at),
            Err(e) => self.failed(e),
        }
    }
}

pub use crate::engine::refresh::{BackupItem, IpData, LvmSnapshot, SnapshotNote, Snapshots};

/// A live progress figure for one target of an action (from engine events).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveProgress {
    pub percent: f64,
    pub step: Option<String>,
}

/// Everything the panes show.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub cluster: String,
    /// Shown in the header after the cluster (e.g. that this is the demo).
    pub badge: Option<String>,
    pub user: String,
    /// Seconds between inventory reads (data older than 3× is stale).
    pub refresh_secs: u64,
    pub inventory: Fresh<Arc<Inventory>>,
    pub meta: BTreeMap<u32, ResourceMetadata>,
    pub snapshots: Fresh<Snapshots>,
    pub backups: Fresh<Vec<BackupItem>>,
    pub ip: Fresh<Arc<IpData>>,
    /// The metadata list `meta` was built from (rebuilt only when it changes).
    pub meta_from: Option<Arc<Vec<ResourceMetadata>>>,
    pub actions: Fresh<Vec<ActionOverview>>,
    pub tasks: Fresh<Vec<TaskListItem>>,
    /// Per (action id, target node or ""): progress from engine events,
    /// newer than the last overview read.
    pub live: HashMap<(String, String), LiveProgress>,
    /// Per action: the step running now (from events).
    pub current_step: HashMap<String, String>,
    /// Whether SSH host access is configured (LVM needs it).
    pub host_access: bool,
}

impl World {
    pub fn inv(&self) -> &Inventory {
        &self.inventory.data
    }

    /// Seconds since the inventory was read, at `now`.
    pub fn age(&self, now: i64) -> Option<i64> {
        self.inventory.at.map(|t| (now - t).max(0))
    }

    /// Whether the inventory is older than three refresh periods.
    pub fn stale(&self, now: i64) -> bool {
        match self.age(now) {
            Some(a) => a > 3 * self.refresh_secs.max(1) as i64,
            None => true,
        }
    }

    pub fn action(&self, id: &str) -> Option<&ActionOverview> {
        self.actions.data.iter().find(|a| a.record.id == id)
    }
}
