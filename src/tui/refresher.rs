//! Reading the cluster in the background, through the engine: the
//! inventory, tasks and actions on a short period; snapshots and backups on
//! a longer one. Each read becomes a message; a failed read is a message
//! too, so the console can say the data is old.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::error::ConsoleError;
use super::msg::{InventoryRead, Msg};
use crate::engine::Engine;
use crate::inventory::Inventory;
use crate::store::now;

/// Snapshots and backups are read this many times less often than the inventory.
const SLOW_FACTOR: u32 = 6;

/// Handle to the background readers.
#[derive(Clone)]
pub struct Refresher {
    now: Arc<Notify>,
    actions: Arc<Notify>,
    latest: Arc<Mutex<Option<Arc<Inventory>>>>,
}

impl Refresher {
    /// Start reading; messages go to `tx` until it closes.
    pub fn spawn(engine: Engine, tx: mpsc::UnboundedSender<Msg>, period: Duration) -> Refresher {
        let r = Refresher {
            now: Arc::new(Notify::new()),
            actions: Arc::new(Notify::new()),
            latest: Arc::new(Mutex::new(None)),
        };
        let me = r.clone();
        let eng = engine.clone();
        let txc = tx.clone();
        tokio::spawn(async move {
            let mut round: u32 = 0;
            loop {
                let inv = me.read_inventory(&eng, &txc).await;
                read_actions(&eng, &txc).await;
                read_tasks(&eng, &txc).await;
                if round.is_multiple_of(SLOW_FACTOR)
                    && let Some(inv) = inv
                {
                    read_snapshots(&eng, &txc, &inv).await;
                    read_backups(&eng, &txc, &inv).await;
                }
                if txc.is_closed() {
                    return;
                }
                round = round.wrapping_add(1);
                tokio::select! {
                    _ = me.now.notified() => round = 0,
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
    ) -> Option<Arc<Inventory>> {
        let previous = self.latest();
        match fresh_inventory(engine, previous.as_deref()).await {
            Ok(read) => {
                let inv = read.inventory.clone();
                *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(inv.clone());
                let _ = tx.send(Msg::Inventory(Ok(read), now()));
                Some(inv)
            }
            Err(e) => {
                let _ = tx.send(Msg::Inventory(Err(e), now()));
                None
            }
        }
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

async fn read_tasks(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>) {
    let r = engine
        .client()
        .cluster_tasks()
        .await
        .map_err(ConsoleError::from);
    let _ = tx.send(Msg::Tasks(r, now()));
}

async fn read_snapshots(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>, inv: &Inventory) {
    let r = engine.read_snapshots(inv).await.map_err(ConsoleError::from);
    let _ = tx.send(Msg::Snapshots(r, now()));
}

async fn read_backups(engine: &Engine, tx: &mpsc::UnboundedSender<Msg>, inv: &Inventory) {
    let r = engine.read_backups(inv).await.map_err(ConsoleError::from);
    let _ = tx.send(Msg::Backups(r, now()));
}
