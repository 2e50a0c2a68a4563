//! The engine handle: construction, what it holds, and the two doors to the
//! database (`read`, `write`) that only the engine's own modules may use.
//! Front ends call the named methods in `decide`, `query`, `refresh` and
//! `identity`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, broadcast};

use super::audit;
use super::error::EngineError;
use super::events::EngineEvent;
use crate::config::Config;
use crate::host::HostRunner;
use crate::policy::Policy;
use crate::pve::{PveClient, WaitOptions};
use crate::store::{Store, StoreError, now};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `--read-only` or the cluster's `read_only`.
    pub read_only: bool,
    /// Seconds a claimed action stays ours without a heartbeat.
    pub lease_secs: i64,
    /// Actions run at once by this process.
    pub max_parallel: usize,
    /// Targets worked on at once per node by this process.
    pub max_per_node: usize,
    pub wait: WaitOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            read_only: false,
            lease_secs: 30,
            max_parallel: 4,
            max_per_node: 2,
            wait: WaitOptions::default(),
        }
    }
}

/// What the engine holds; reached only from inside the engine.
pub(in crate::engine) struct Inner {
    pub config: Config,
    pub cluster: String,
    pub client: PveClient,
    pub store: Store,
    pub events: broadcast::Sender<EngineEvent>,
    pub options: EngineOptions,
    /// This process's name on leases.
    pub owner: String,
    node_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    guest_locks: Mutex<HashMap<u32, Arc<tokio::sync::RwLock<()>>>>,
    /// Each node's time zone, read once.
    node_zones: Mutex<HashMap<String, jiff::tz::TimeZone>>,
    /// The metadata and address lists of the last read.
    pub(in crate::engine) derived_cache: Mutex<Option<super::refresh::Derived>>,
    /// The conflicts the last reconciliation found.
    pub(in crate::engine) conflicts_cache: Mutex<Vec<crate::ipam::reconcile::Conflict>>,
    /// Host access (SSH, or the simulator's hosts in the demo).
    hosts: Option<Arc<dyn HostRunner>>,
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// An engine on `cluster`, with host access when `hosts` is given.
    pub fn new(
        config: Config,
        cluster: &str,
        client: PveClient,
        store: Store,
        options: EngineOptions,
        hosts: Option<Arc<dyn HostRunner>>,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
        // A lease of 0 or less (or one that overflows) lets two processes
        // run one action at once.
        let options = EngineOptions {
            lease_secs: options.lease_secs.clamp(1, 86_400),
            ..options
        };
        let owner = format!(
            "{}:{}:{:x}",
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "host".into()),
            std::process::id(),
            now()
        );
        Engine {
            inner: Arc::new(Inner {
                config,
                cluster: cluster.to_string(),
                client,
                store,
                events,
                options,
                owner,
                node_slots: Mutex::new(HashMap::new()),
                guest_locks: Mutex::new(HashMap::new()),
                node_zones: Mutex::new(HashMap::new()),
                derived_cache: Mutex::new(None),
                conflicts_cache: Mutex::new(Vec::new()),
                hosts,
            }),
        }
    }

    /// Whether host-level work (LVM, archive checks) can reach any node.
    pub fn host_runner(&self) -> Option<&Arc<dyn HostRunner>> {
        self.inner.hosts.as_ref()
    }

    /// Host access to `node`, or why there is none.
    pub fn hosts(&self, node: &str) -> Result<Arc<dyn HostRunner>, EngineError> {
        match &self.inner.hosts {
            Some(h) if h.reaches(node) => Ok(h.clone()),
            _ => Err(crate::host::HostError::NoAccess {
                node: node.to_string(),
            }
            .into()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn cluster(&self) -> &str {
        &self.inner.cluster
    }

    pub fn client(&self) -> &PveClient {
        &self.inner.client
    }

    /// This process's name on leases and in the journal.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// Events about actions, steps and progress, for live front ends.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub(in crate::engine) fn emit(&self, e: EngineEvent) {
        let _ = self.inner.events.send(e);
    }

    /// The policy in force (read-only included).
    pub fn policy(&self) -> Policy<'_> {
        Policy::new(
            &self.inner.config.policies,
            &self.inner.config.naming,
            self.inner.options.read_only,
        )
    }

    /// The database file the engine writes (None: in memory).
    pub fn db_path(&self) -> Option<&std::path::Path> {
        self.inner.store.path()
    }

    /// A per-node slot limiting parallel work on one node.
    pub(in crate::engine) fn node_slot(&self, node: &str) -> Arc<Semaphore> {
        let mut slots = self
            .inner
            .node_slots
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        slots
            .entry(node.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.inner.options.max_per_node.max(1))))
            .clone()
    }

    /// A lock on one guest for work on it that must not overlap within this
    /// process: Proxmox locks a clone's or backup's source for the whole task
    /// (exclusively, except a stopped VM's clones, which share it), and a
    /// second task on it fails instead of waiting.
    pub(in crate::engine) fn guest_lock(&self, vmid: u32) -> Arc<tokio::sync::RwLock<()>> {
        let mut locks = self
            .inner
            .guest_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locks.entry(vmid).or_default().clone()
    }

    pub(in crate::engine) fn inner_derived(&self) -> &Mutex<Option<super::refresh::Derived>> {
        &self.inner.derived_cache
    }

    pub(in crate::engine) fn inner_conflicts(
        &self,
    ) -> &Mutex<Vec<crate::ipam::reconcile::Conflict>> {
        &self.inner.conflicts_cache
    }

    /// The zone a node keeps its clock in, read from the node once: vzdump
    /// names archives and prune buckets hours, days and weeks in it, not in
    /// the zone proxdeck runs in. When the node cannot say (or names a zone
    /// this machine does not know), this machine's zone stands in, uncached.
    pub(in crate::engine) async fn node_zone(&self, node: &str) -> jiff::tz::TimeZone {
        let cached = self
            .inner
            .node_zones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .cloned();
        if let Some(tz) = cached {
            return tz;
        }
        let read = self.inner.client.node_time(node).await;
        match read.map(|t| jiff::tz::TimeZone::get(&t.timezone)) {
            Ok(Ok(tz)) => {
                self.inner
                    .node_zones
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(node.to_string(), tz.clone());
                tz
            }
            Ok(Err(e)) => {
                tracing::warn!(node, error = %e, "the node's time zone is unknown here; using this machine's");
                jiff::tz::TimeZone::system()
            }
            Err(e) => {
                tracing::warn!(node, error = %e, "could not read the node's time zone; using this machine's");
                jiff::tz::TimeZone::system()
            }
        }
    }

    /// Run a write transaction off the async threads, then move the audit head.
    pub(in crate::engine) async fn write<R, F>(&self, f: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, &Inner) -> Result<R, EngineError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let out = tokio::task::spawn_blocking(move || {
            let r = inner.store.write(|tx| f(tx, &inner));
            if r.is_ok() {
                audit::update_head(&inner.store)?;
            }
            r
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))??;
        Ok(out)
    }

    /// Run a read off the async threads.
    pub(in crate::engine) async fn read<R, F>(&self, f: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &Inner) -> Result<R, EngineError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.store.read(|c| f(c, &inner)))
            .await
            .map_err(|e| EngineError::Store(StoreError::Worker(e.to_string())))?
    }
}
