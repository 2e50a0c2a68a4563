//! What to read again, so that a refresh costs the cluster two requests
//! whatever its size: `/cluster/resources` and `/cluster/tasks`, then only
//! the configs of guests that changed (their fingerprint in the resource
//! list moved, or a task touched them), the ones never read yet (within a
//! budget, so the first screen does not wait for them), and a thin sweep
//! that re-reads every config over a long period (config edits make no
//! task, so nothing else would catch them).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::pve::types::TaskListItem;

/// What carries over from one refresh to the next.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Tasks seen in `/cluster/tasks`, and whether each had ended.
    pub(crate) tasks_seen: HashMap<String, bool>,
    /// Sweep reads owed (fractions carry over).
    pub(crate) sweep_credit: f64,
    pub(crate) last_refresh: Option<Instant>,
}

/// How refreshes read.
#[derive(Debug, Clone)]
pub struct RefreshOptions {
    /// Config reads at once.
    pub concurrency: usize,
    /// Every config is read again within this period (the sweep).
    pub sweep_period: Duration,
    /// The sweep never reads more than this many configs a minute.
    pub sweep_max_per_minute: u32,
    /// Configs never read yet that one refresh reads at most (None: all).
    /// Changed guests are read whatever the budget.
    pub cold_budget: Option<usize>,
    /// Read configs of this node's guests only (one node's question, such
    /// as `ip next`); the others keep what they had.
    pub only_node: Option<String>,
    /// Configs not to read, by VMID with the guest's name and type: the
    /// caller knows them already (from the database, for a one-shot
    /// question). A guest whose name or type differs is read.
    pub known: HashMap<u32, (String, String)>,
    /// Read `/cluster/tasks` to find what changed (off for one-shot reads).
    pub read_tasks: bool,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions {
            concurrency: 8,
            sweep_period: Duration::from_secs(3600),
            sweep_max_per_minute: 60,
            cold_budget: None,
            only_node: None,
            known: HashMap::new(),
            read_tasks: true,
        }
    }
}

/// Task types after which a guest's snapshot list may differ.
const SNAPSHOT_TASKS: [&str; 6] = [
    "qmsnapshot",
    "vzsnapshot",
    "qmdelsnapshot",
    "vzdelsnapshot",
    "qmrollback",
    "vzrollback",
];

/// Task types after which a storage's backups may differ.
const BACKUP_TASKS: [&str; 5] = ["vzdump", "imgdel", "qmrestore", "vzrestore", "prunebackups"];

/// What the task list says changed since the previous refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Touched {
    /// Guests a task started or ended on (their configs are read again).
    pub guests: BTreeSet<u32>,
    /// Guests whose snapshot list a task may have changed.
    pub snapshots: BTreeSet<u32>,
    /// A backup, restore or prune task started or ended.
    pub backups: bool,
}

impl Watch {
    /// Compare the task list with the one seen before. The first list only
    /// teaches what is there (everything is read at the start anyway).
    pub(crate) fn touched_by(&mut self, tasks: &[TaskListItem], first: bool) -> Touched {
        let mut out = Touched::default();
        let mut seen = HashMap::with_capacity(tasks.len());
        for t in tasks {
            let ended = t.endtime.is_some() || t.status.is_some();
            let news = self.tasks_seen.get(&t.upid) != Some(&ended);
            seen.insert(t.upid.clone(), ended);
            if first || !news {
                continue;
            }
            if let Ok(vmid) = t.id.parse::<u32>() {
                out.guests.insert(vmid);
                if SNAPSHOT_TASKS.contains(&t.task_type.as_str()) {
                    out.snapshots.insert(vmid);
                }
            }
            if BACKUP_TASKS.contains(&t.task_type.as_str()) {
                out.backups = true;
            }
        }
        self.tasks_seen = seen;
        out
    }

    /// How many configs the sweep reads this time, for `guests` guests.
    pub(crate) fn sweep_count(&mut self, guests: usize, now: Instant, o: &RefreshOptions) -> usize {
        let elapsed = self
            .last_refresh
            .map(|t| now.duration_since(t).as_secs_f64())
            .unwrap_or(0.0);
        self.last_refresh = Some(now);
        let per_sec = (guests as f64 / o.sweep_period.as_secs_f64().max(1.0))
            .min(f64::from(o.sweep_max_per_minute) / 60.0);
        self.sweep_credit = (self.sweep_credit + elapsed * per_sec).min(guests as f64);
        let n = self.sweep_credit.floor();
        self.sweep_credit -= n;
        n as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(upid: &str, kind: &str, id: &str, ended: bool) -> TaskListItem {
        TaskListItem {
            upid: upid.into(),
            node: "n1".into(),
            task_type: kind.into(),
            id: id.into(),
            user: "root@pam".into(),
            starttime: Some(1),
            endtime: ended.then_some(2),
            status: ended.then(|| "OK".into()),
        }
    }

    #[test]
    fn new_and_ended_tasks_touch_their_guests() {
        let mut w = Watch::default();
        let t1 = task("u1", "qmsnapshot", "102", false);
        assert_eq!(
            w.touched_by(std::slice::from_ref(&t1), true),
            Touched::default()
        );
        // Unchanged: nothing.
        assert_eq!(
            w.touched_by(std::slice::from_ref(&t1), false),
            Touched::default()
        );
        // It ended, and a backup started.
        let t = w.touched_by(
            &[
                task("u1", "qmsnapshot", "102", true),
                task("u2", "vzdump", "105", false),
            ],
            false,
        );
        assert_eq!(t.guests, BTreeSet::from([102, 105]));
        assert_eq!(t.snapshots, BTreeSet::from([102]));
        assert!(t.backups);
    }

    #[test]
    fn the_sweep_spreads_over_its_period_within_its_cap() {
        let o = RefreshOptions::default();
        let mut w = Watch::default();
        let t0 = Instant::now();
        assert_eq!(w.sweep_count(10_000, t0, &o), 0);
        // A minute at 10,000 guests: the cap (60/min), not 10,000/60.
        assert_eq!(w.sweep_count(10_000, t0 + Duration::from_secs(60), &o), 60);
        // 30 guests over an hour: one every two minutes.
        let mut w = Watch::default();
        w.sweep_count(30, t0, &o);
        assert_eq!(w.sweep_count(30, t0 + Duration::from_secs(60), &o), 0);
        assert_eq!(w.sweep_count(30, t0 + Duration::from_secs(120), &o), 1);
    }
}
