//! Reading the cluster in the background, through the engine. Each round
//! costs the cluster two requests (`/cluster/resources`, `/cluster/tasks`)
//! plus the configs and snapshot lists of guests that changed; what a pane
//! needs is read when that pane is shown. Each read becomes a message; a
//! failed read is a message too, so the console can say the data is old.
//!
//! The first round reads no config at all, so the tree with status, CPU
//! and memory shows as soon as `/cluster/resources` answers; the following
//! rounds, back to back, read the configs in batches until all are known.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::error::ConsoleError;
use super::msg::{InventoryRead, Msg};
use super::panes::PaneId;
use crate::engine::Engine;
use crate::engine::refresh::{SnapshotAsk, Snapshots};
use crate::inventory::{Inventory, RefreshOptions, RefreshStats};
use crate::store::now;

/// LVM volumes (over SSH, not the API) are read this many rounds apart.
const LVM_EVERY: u32 = 6;
/// Configs never read that one round reads (after the first, which reads none).
const COLD_CONFIGS_PER_ROUND: usize = 1000;
/// Snapshot lists never read that one round reads while the pane is shown.
const COLD_SNAPSHOTS_PER_ROUND: usize = 500;
/// Up to this many guests, every snapshot list is read at start whatever
/// pane is shown (a few hundred requests, once).
const SMALL_CLUSTER: usize = 250;
/// The backup listing is read again at least this often while the Backups
/// pane is shown (besides after every backup, restore or prune task).
const BACKUPS_MAX_AGE: Duration = Duration::from_secs(600);

/// Handle to the background readers.
#[derive(Clone)]
pub struct Refresher {
    now: Arc<Notify>,
    actions: Arc<Notify>,
    latest: Arc<Mutex<Option<Arc<Inventory>>>>,
    pane: Arc<Mutex<PaneId>>,
}

/// What the reading loop carries from one round to the next.
#[derive(Default)]
struct Rounds {
    round: u32,
    snapshots: Option<Snapshots>,
    backups_at: Option<Instant>,
}

impl Refresher {
    /// Start reading; messages go to `tx` until it closes.
    pub fn spawn(engine: Engine, tx: mpsc::UnboundedSender<Msg>, period: Duration) -> Refresher {
        Refresher::spawn_with(engine, tx, period, RefreshOptions::default())
    }

    /// As `spawn`, reading as `base` says (the sweep's period and cap);
    /// the refresher sets the budget of first reads itself.
    pub fn spawn_with(
        engine: Engine,
        tx: mpsc::UnboundedSender<Msg>,
        period: Duration,
        base: RefreshOptions,
    ) -> Refresher {
        let r = Refresher {
            now: Arc::new(Notify::new()),
            actions: Arc::new(Notify::new()),
            latest: Arc::new(Mutex::new(None)),
            pane: Arc::new(Mutex::new(PaneId::Resources)),
        };
        let me = r.clone();
        let eng = engine.clone();
        let txc = tx.clone();
        tokio::spawn(async move {
            let mut rounds = Rounds::default();
            loop {
                let first = rounds.round == 0;
                let options = RefreshOptions {
                    cold_budget: Some(if first { 0 } else { COLD_CONFIGS_PER_ROUND }),
                    ..base.clone()
                };
                let read = me.read_inventory(&eng, &txc, &options).await;
                read_actions(&eng, &txc).await;
                // Back to back only while batches make progress: a config
                // that cannot be read (403, node gone) waits for the period.
                let loading = read
                    .as_ref()
                    .is_some_and(|(i, st)| i.configs_loading > 0 && st.configs_read > 0);
                let inv = read.map(|(i, _)| i);
                if let Some(inv) = &inv {
                    me.read_catalogs(&eng, &txc, inv, &mut rounds).await;
                }
                if txc.is_closed() {
                    return;
                }
                rounds.round = rounds.round.wrapping_add(1);
                // The previous read's lists are freed by now.
                crate::memory::give_back();
                if loading || first {
                    // Configs still to read: the next batch at once.
                    continue;
                }
                tokio::select! {
                    _ = me.now.notified() => {}
                    _ = tokio::time::sleep(period) => {}
                }
            }
        });
        let me = r.clone();
        tokio::spawn(async move {
            loop {
                me.actions.notified().await;
                if tx.is_closed() {
                    return;
                }
                read_actions(&engine, &tx).await;
            }
        });
        r
    }

    /// Read everything now.
    pub fn refresh(&self) {
        self.now.notify_one();
    }

    /// Re-read the action queue only (cheap: the database).
    pub fn reload_actions(&self) {
        self.actions.notify_one();
    }

    /// The pane on screen: the snapshot lists and backups are read for the
    /// panes that show them. Switching to such a pane reads at once.
    pub fn show(&self, pane: PaneId) {
        let mut p = self.pane.lock().unwrap_or_else(|p| p.into_inner());
        if *p != pane {
            *p = pane;
            if matches!(pane, PaneId::Snapshots | PaneId::Backups) {
                self.now.notify_one();
            }
        }
    }

    fn pane(&self) -> PaneId {
        *self.pane.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest inventory read (for planning against).
    pub fn latest(&self) -> Option<Arc<Inventory>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn read_inventory(
        &self,
        engine: &Engine,
        tx: &mpsc::UnboundedSender<Msg>,
        options: &RefreshOptions,
    ) -> Option<(Arc<Inventory>, RefreshStats)> {
        let previous = self.latest();
        match engine
            .refresh_inventory_with(previous.as_deref(), options)
            .await
        {
            Ok(read) => {
                let inv = read.inventory.clone();
                *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(inv.clone());
                let at = now();
                // The task list came with the inventory: no request of its own.
                let _ = tx.send(Msg::Tasks(Ok(inv.tasks.clone()), at));
                let stats = read.stats;
                let _ = tx.send(Msg::Inventory(Ok(read), at));
                Some((inv, stats))
            }
            Err(e) => {
                let e = ConsoleError::from(e);
                let _ = tx.send(Msg::Tasks(Err(e.clone()), now()));
                let _ = tx.send(Msg::Inventory(Err(e), now()));
                None
            }
        }
    }

    /// Snapshot lists and backups, when a task changed them or a pane
    /// shows them.
    async fn read_catalogs(
        &self,
        engine: &Engine,
        tx: &mpsc::UnboundedSender<Msg>,
        inv: &Inventory,
        rounds: &mut Rounds,
    ) {
        let pane = self.pane();
        let ask = snapshot_ask(inv, rounds.snapshots.as_ref(), pane, rounds.round);
        if rounds.snapshots.is_none() || !ask.guests.is_empty() || ask.lvm {
            match engine
                .read_snapshots(inv, rounds.snapshots.as_ref(), &ask)
                .await
            {
                Ok(s) => {
                    rounds.snapshots = Some(s.clone());
                    let _ = tx.send(Msg::Snapshots(Ok(s), now()));
                }
                Err(e) => {
                    let _ = tx.send(Msg::Snapshots(Err(e.into()), now()));
                }
            }
        }
        // Once at the start (one request per storage, shared ones once,
        // whatever the number of guests: plans such as `restore latest-of`
        // need the list), then after backup tasks, and every few minutes
        // while the pane shows them (a file copied in by hand makes no task).
        let shown = pane == PaneId::Backups;
        let due = match rounds.backups_at {
            None => true,
            Some(at) => inv.touched.backups || (shown && at.elapsed() >= BACKUPS_MAX_AGE),
        };
        if due {
            rounds.backups_at = Some(Instant::now());
            let r = engine.read_backups(inv).await.map_err(ConsoleError::from);
            let _ = tx.send(Msg::Backups(r, now()));
        }
    }
}

/// Which snapshot lists this round reads: those a task touched; on a small
/// cluster every list at the start; the ones not read yet, a batch per
/// round, while the Snapshots pane is shown; LVM every few rounds.
fn snapshot_ask(
    inv: &Inventory,
    previous: Option<&Snapshots>,
    pane: PaneId,
    round: u32,
) -> SnapshotAsk {
    let mut guests: BTreeSet<u32> = inv
        .touched
        .snapshots
        .iter()
        .copied()
        .filter(|v| inv.guest(*v).is_some())
        .collect();
    match previous {
        None if inv.guests.len() <= SMALL_CLUSTER => {
            guests.extend(inv.guests.iter().map(|g| g.vmid));
        }
        Some(prev) if pane == PaneId::Snapshots => {
            guests.extend(prev.unread(inv).take(COLD_SNAPSHOTS_PER_ROUND));
        }
        None if pane == PaneId::Snapshots => {
            guests.extend(
                inv.guests
                    .iter()
                    .map(|g| g.vmid)
                    .take(COLD_SNAPSHOTS_PER_ROUND),
            );
        }
        _ => {}
    }
    SnapshotAsk {
        guests,
        lvm: round.is_multiple_of(LVM_EVERY),
    }
}

/// Read the cluster through the engine (metadata and address records
/// reconciled there), for the panes.
pub async fn fresh_inventory(
    engine: &Engine,
    previous: Option<&Inventory>,
) -> Result<InventoryRead, ConsoleError> {
    Ok(engine.refresh_inventory(previous).await?)
}

async fn read_actions(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>) {
    let r = engine.overview(50).await.map_err(ConsoleError::from);
    let _ = tx.send(Msg::Actions(r, now()));
}
