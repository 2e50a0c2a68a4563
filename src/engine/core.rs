//! The engine handle: propose, approve, reject, cancel, read, subscribe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;
use tokio::sync::{Semaphore, broadcast};

use super::action::{Action, Actor};
use super::error::EngineError;
use super::events::EngineEvent;
use super::planner::{self, PlanContext};
use super::queue::{self, ActionRecord, ActionState};
use super::{audit, journal};
use crate::config::Config;
use crate::inventory::Inventory;
use crate::ipam::LiveAddresses;
use crate::policy::{Policy, Verdict};
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

pub struct Inner {
    pub config: Config,
    pub cluster: String,
    pub client: PveClient,
    pub store: Store,
    pub events: broadcast::Sender<EngineEvent>,
    pub options: EngineOptions,
    /// This process's name on leases.
    pub owner: String,
    node_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    guest_locks: Mutex<HashMap<u32, Arc<tokio::sync::Mutex<()>>>>,
    /// Host access (SSH, or the simulator's hosts in the demo).
    hosts: Option<Arc<dyn crate::host::HostRunner>>,
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// The design's replication status shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusReport {
    pub task_id: String,
    pub status: String,
    pub progress: f64,
    pub results: Vec<TargetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetResult {
    pub target_node: String,
    pub new_resource_id: String,
    pub new_resource_name: String,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The rule recorded when policy lets an action through without approval.
pub const NO_APPROVAL: &str = "no approval required";

fn new_id(action: &Action) -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    format!(
        "{}-{}-{:02x}{:02x}",
        action.id_prefix(),
        crate::timefmt::now_local("%Y%m%d-%H%M%S"),
        b[0],
        b[1]
    )
}

impl Engine {
    pub fn new(
        config: Config,
        cluster: &str,
        client: PveClient,
        store: Store,
        options: EngineOptions,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
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
                hosts: None,
            }),
        }
    }

    /// Give the engine host access. Call right after `new`.
    pub fn with_hosts(mut self, hosts: Arc<dyn crate::host::HostRunner>) -> Engine {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.hosts = Some(hosts),
            None => tracing::error!("with_hosts called on a shared engine; host access not set"),
        }
        self
    }

    pub fn host_runner(&self) -> Option<&Arc<dyn crate::host::HostRunner>> {
        self.inner.hosts.as_ref()
    }

    /// Host access to `node`, or why there is none.
    pub fn hosts(&self, node: &str) -> Result<Arc<dyn crate::host::HostRunner>, EngineError> {
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

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn emit(&self, e: EngineEvent) {
        let _ = self.inner.events.send(e);
    }

    pub fn policy(&self) -> Policy<'_> {
        Policy::new(
            &self.inner.config.policies,
            &self.inner.config.naming,
            self.inner.options.read_only,
        )
    }

    /// A per-node slot limiting parallel work on one node.
    pub(crate) fn node_slot(&self, node: &str) -> Arc<Semaphore> {
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

    /// A lock on one guest for work that must not overlap within this process.
    pub(crate) fn guest_lock(&self, vmid: u32) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .guest_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locks.entry(vmid).or_default().clone()
    }

    /// Run a write transaction off the async threads, then move the audit head.
    pub async fn write<R, F>(&self, f: F) -> Result<R, EngineError>
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
    pub async fn read<R, F>(&self, f: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &Inner) -> Result<R, EngineError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.store.read(|c| f(c, &inner)))
            .await
            .map_err(|e| EngineError::Store(StoreError::Worker(e.to_string())))?
    }

    /// Propose an action: policy first, then the plan (identities reserved),
    /// then the queue in `pending_approval` or `approved`. A policy refusal is
    /// recorded as `rejected` and returned as an error naming the rule.
    pub async fn propose(
        &self,
        action: Action,
        actor: Actor,
        reason: Option<String>,
        inventory: &Inventory,
    ) -> Result<ActionRecord, EngineError> {
        let held = self
            .propose_held(action, actor.clone(), reason, inventory)
            .await?;
        let hash = held.plan_hash.clone().unwrap_or_default();
        self.submit(&held.id, &hash, actor).await
    }

    /// Plan an action and hold it in `proposed`, identities reserved, so a
    /// front end can show the exact plan before anything is queued. `submit`
    /// sends it on; `cancel` drops it and frees what it held.
    pub async fn propose_held(
        &self,
        action: Action,
        actor: Actor,
        reason: Option<String>,
        inventory: &Inventory,
    ) -> Result<ActionRecord, EngineError> {
        let verdict = self.policy().evaluate_for(&action, &actor);
        let id = new_id(&action);
        let kind = action.kind().name().to_string();
        let t = now();
        let base = ActionRecord {
            id: id.clone(),
            cluster: self.inner.cluster.clone(),
            kind,
            action: action.clone(),
            plan: None,
            plan_hash: None,
            state: ActionState::Rejected,
            proposed_by: actor.clone(),
            reason: reason.clone(),
            policy_rule: None,
            created_at: t,
            updated_at: t,
            lease_owner: None,
            lease_expires: None,
            attempts: 0,
            cancel_requested: false,
            result: None,
            error: None,
        };
        if let Verdict::Reject { rule, reason: why } = &verdict {
            let mut rec = base;
            rec.policy_rule = Some(rule.clone());
            rec.error = Some(why.clone());
            self.write(move |tx, _| queue::insert(tx, &rec)).await?;
            self.emit(EngineEvent::ActionChanged {
                id,
                state: "rejected".into(),
                note: Some(rule.clone()),
            });
            return Err(EngineError::Policy {
                rule: rule.clone(),
                reason: why.clone(),
            });
        }
        let creates = matches!(action, Action::Replicate { .. } | Action::CloneGuest { .. });
        let next_vmid = if creates {
            self.inner.client.next_id().await?
        } else {
            100
        };
        let facts = self.gather(&action).await?;
        let inv = Arc::new(inventory.clone());
        let live = LiveAddresses::from_inventory(&inv);
        let actor_label = actor.label();
        let read_only = self.inner.options.read_only;
        let rec = self
            .write(move |tx, inner| {
                let ctx = PlanContext {
                    config: &inner.config,
                    cluster: &inner.cluster,
                    inventory: &inv,
                    live: &live,
                    next_vmid,
                    actor: &actor_label,
                    read_only,
                    facts: &facts,
                };
                let plan = planner::plan(tx, &ctx, &action, &id)?;
                let mut rec = base;
                rec.plan_hash = Some(plan.hash());
                rec.state = ActionState::Proposed;
                rec.plan = Some(plan.clone());
                rec.policy_rule = Some(match &verdict {
                    Verdict::NeedsApproval { rule } => rule.clone(),
                    _ => NO_APPROVAL.to_string(),
                });
                queue::insert(tx, &rec)?;
                for t in &plan.targets {
                    if matches!(action, Action::Replicate { .. } | Action::CloneGuest { .. }) {
                        let src = &action.guests()[0];
                        tx.execute(
                            "INSERT INTO replication_tasks (action_id, cluster, source_vmid, source_node, target_node, strategy, new_vmid, new_name, ip, mac, hostname, status)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending')",
                            rusqlite::params![
                                rec.id, inner.cluster, src.vmid, src.node, t.node,
                                t.strategy.as_ref().map(|s| serde_json::to_string(s).unwrap_or_default()),
                                t.vmid, t.name, t.ip.map(|i| i.to_string()), t.mac.map(|m| m.to_string()), t.hostname
                            ],
                        )?;
                    }
                }

                journal::ensure_steps(tx, &rec.id, &plan)?;
                Ok(rec)
            })
            .await?;
        self.emit(EngineEvent::ActionChanged {
            id: rec.id.clone(),
            state: rec.state.to_string(),
            note: rec.policy_rule.clone(),
        });
        Ok(rec)
    }

    /// Send a held proposal on: the policy is asked again and the plan must
    /// still be the one shown (`shown_hash`); then `pending_approval` or
    /// `approved`.
    pub async fn submit(
        &self,
        id: &str,
        shown_hash: &str,
        actor: Actor,
    ) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let hash = shown_hash.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?.ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                if rec.state != ActionState::Proposed {
                    return Err(EngineError::WrongState {
                        id: id_s.clone(),
                        state: rec.state.to_string(),
                        what: "only a held proposal can be submitted".into(),
                    });
                }
                if rec.plan_hash.as_deref() != Some(hash.as_str()) {
                    return Err(EngineError::PlanChanged { id: id_s.clone(), now: rec.plan_hash.unwrap_or_default() });
                }
                let policy = Policy::new(&inner.config.policies, &inner.config.naming, inner.options.read_only);
                let (next, rule) = match policy.evaluate_for(&rec.action, &rec.proposed_by) {
                    Verdict::Reject { rule, reason } => {
                        // The refusal is kept (the write commits) and the reservations freed.
                        queue::transition(tx, &id_s, &[ActionState::Proposed], ActionState::Rejected, "policy", Some(&rule))?;
                        planner::release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                        tx.execute("UPDATE replication_tasks SET status = 'cleaned_up' WHERE action_id = ?1 AND status = 'pending'", [&id_s])?;
                        return Ok(Err(EngineError::Policy { rule, reason }));
                    }
                    Verdict::NeedsApproval { rule } => (ActionState::PendingApproval, rule),
                    Verdict::Allow => (ActionState::Approved, NO_APPROVAL.to_string()),
                };
                tx.execute("UPDATE actions SET policy_rule = ?2 WHERE id = ?1", rusqlite::params![id_s, rule])?;
                audit::append(tx, &actor.label(), "submitted", Some(&id_s), &json!({ "plan_hash": hash }))?;
                queue::transition(tx, &id_s, &[ActionState::Proposed], next, "policy", Some(&rule)).map(Ok)
            })
            .await
            .and_then(|r| r);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                if let EngineError::Policy { rule, .. } = &e {
                    self.emit(EngineEvent::ActionChanged {
                        id: id.into(),
                        state: "rejected".into(),
                        note: Some(rule.clone()),
                    });
                }
                return Err(e);
            }
        };
        self.emit(EngineEvent::ActionChanged {
            id: rec.id.clone(),
            state: rec.state.to_string(),
            note: rec.policy_rule.clone(),
        });
        Ok(rec)
    }

    /// Approve the plan that was shown (`shown_hash`). Refused if the plan
    /// changed, the four-eyes rule forbids it, or policy now rejects it.
    pub async fn approve(
        &self,
        id: &str,
        approver: Actor,
        shown_hash: &str,
        reason: Option<String>,
    ) -> Result<ActionRecord, EngineError> {
        let rec = self
            .get(id)
            .await?
            .ok_or_else(|| EngineError::NoSuchAction(id.to_string()))?;
        if rec.state != ActionState::PendingApproval {
            return Err(EngineError::WrongState {
                id: id.into(),
                state: rec.state.to_string(),
                what: "only pending actions can be approved".into(),
            });
        }
        if rec.plan_hash.as_deref() != Some(shown_hash) {
            return Err(EngineError::PlanChanged {
                id: id.into(),
                now: rec.plan_hash.unwrap_or_default(),
            });
        }
        if self.inner.config.policies.require_distinct_approver
            && approver.who == rec.proposed_by.who
        {
            return Err(EngineError::SameApprover(approver.who));
        }
        if let Verdict::Reject { rule, reason } =
            self.policy().evaluate_for(&rec.action, &rec.proposed_by)
        {
            return Err(EngineError::Policy { rule, reason });
        }
        let id_s = id.to_string();
        let hash = shown_hash.to_string();
        let rec = self
            .write(move |tx, _| {
                queue::decide(tx, &id_s, true, &approver, &hash, reason.as_deref())?;
                queue::transition(
                    tx,
                    &id_s,
                    &[ActionState::PendingApproval],
                    ActionState::Approved,
                    &approver.label(),
                    reason.as_deref(),
                )
            })
            .await?;
        self.emit(EngineEvent::ActionChanged {
            id: id.into(),
            state: "approved".into(),
            note: None,
        });
        Ok(rec)
    }

    /// Reject a pending action; its reservations are released.
    pub async fn reject(
        &self,
        id: &str,
        actor: Actor,
        why: &str,
    ) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let why_s = why.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?.ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                queue::decide(tx, &id_s, false, &actor, rec.plan_hash.as_deref().unwrap_or(""), Some(&why_s))?;
                let rec = queue::transition(
                    tx,
                    &id_s,
                    &[ActionState::PendingApproval, ActionState::Approved, ActionState::Proposed],
                    ActionState::Rejected,
                    &actor.label(),
                    Some(&why_s),
                )?;
                planner::release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                tx.execute("UPDATE replication_tasks SET status = 'cleaned_up' WHERE action_id = ?1 AND status = 'pending'", [&id_s])?;
                Ok(rec)
            })
            .await?;
        self.emit(EngineEvent::ActionChanged {
            id: id.into(),
            state: "rejected".into(),
            note: Some(why.into()),
        });
        Ok(rec)
    }

    /// Cancel: at once if not yet running, else between steps.
    pub async fn cancel(&self, id: &str, actor: Actor) -> Result<ActionRecord, EngineError> {
        let id_s = id.to_string();
        let rec = self
            .write(move |tx, inner| {
                let rec = queue::get(tx, &id_s)?.ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
                match rec.state {
                    ActionState::Running => {
                        queue::request_cancel(tx, &id_s)?;
                        audit::append(tx, &actor.label(), "cancel_requested", Some(&id_s), &json!({}))?;
                        Ok(rec)
                    }
                    ActionState::PendingApproval | ActionState::Approved | ActionState::Proposed => {
                        let rec = queue::transition(tx, &id_s, &[rec.state], ActionState::Cancelled, &actor.label(), Some("cancelled"))?;
                        planner::release_all(tx, &inner.cluster, &inner.config, &id_s)?;
                        tx.execute("UPDATE replication_tasks SET status = 'cleaned_up' WHERE action_id = ?1 AND status = 'pending'", [&id_s])?;
                        Ok(rec)
                    }
                    s => Err(EngineError::WrongState { id: id_s.clone(), state: s.to_string(), what: "it has ended".into() }),
                }
            })
            .await?;
        self.emit(EngineEvent::ActionChanged {
            id: id.into(),
            state: rec.state.to_string(),
            note: Some("cancel".into()),
        });
        Ok(rec)
    }

    /// Drop held proposals older than `max_age_secs` (a console that died
    /// with its confirmation dialog open), freeing their reservations.
    pub async fn expire_held(&self, max_age_secs: i64) -> Result<usize, EngineError> {
        let cutoff = now() - max_age_secs;
        let ids: Vec<String> = self
            .read(move |c, inner| {
                let mut st = c.prepare("SELECT id FROM actions WHERE cluster = ?1 AND state = 'proposed' AND updated_at < ?2")?;
                let ids = st
                    .query_map(rusqlite::params![inner.cluster, cutoff], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(ids)
            })
            .await?;
        let mut n = 0;
        for id in ids {
            if self
                .cancel(&id, Actor::policy("held_proposal_expired"))
                .await
                .is_ok()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    pub async fn get(&self, id: &str) -> Result<Option<ActionRecord>, EngineError> {
        let id = id.to_string();
        self.read(move |c, _| queue::get(c, &id)).await
    }

    pub async fn list(&self, states: Vec<ActionState>) -> Result<Vec<ActionRecord>, EngineError> {
        self.read(move |c, inner| queue::list(c, &inner.cluster, &states))
            .await
    }

    pub async fn steps(&self, id: &str) -> Result<Vec<journal::StepRow>, EngineError> {
        let id = id.to_string();
        self.read(move |c, _| journal::steps(c, &id)).await
    }

    /// The design's status shape for an action.
    pub async fn status(&self, id: &str) -> Result<StatusReport, EngineError> {
        let id_s = id.to_string();
        self.read(move |c, _| {
            let rec =
                queue::get(c, &id_s)?.ok_or_else(|| EngineError::NoSuchAction(id_s.clone()))?;
            let results = target_results(c, &id_s)?;
            let steps = journal::steps(c, &id_s)?;
            let progress = if rec.state == ActionState::Succeeded {
                100.0
            } else if steps.is_empty() {
                0.0
            } else {
                let done = steps
                    .iter()
                    .filter(|s| s.state == journal::StepState::Done)
                    .count();
                (done as f64 * 100.0 / steps.len() as f64 * 10.0).round() / 10.0
            };
            let status = match rec.state {
                ActionState::Succeeded => "completed",
                s => s.as_str(),
            };
            Ok(StatusReport {
                task_id: rec.id,
                status: status.to_string(),
                progress,
                results,
                error: rec.error,
            })
        })
        .await
    }
}

/// Per-target rows of a replication or clone, in target order.
pub(crate) fn target_results(
    c: &rusqlite::Connection,
    id: &str,
) -> Result<Vec<TargetResult>, EngineError> {
    let mut st = c.prepare_cached(
        "SELECT target_node, new_vmid, new_name, ip, mac, status, progress, error FROM replication_tasks WHERE action_id = ?1 ORDER BY target_node",
    )?;
    let rows = st
        .query_map([id], |r| {
            let status: String = r.get(5)?;
            let progress: f64 = r.get(6)?;
            Ok(TargetResult {
                target_node: r.get(0)?,
                new_resource_id: r
                    .get::<_, Option<u32>>(1)?
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                new_resource_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                ip: r.get(3)?,
                mac: r.get(4)?,
                progress: (status == "running").then_some(progress),
                status,
                error: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
