//! The executor: claims approved actions (and ones whose owner died) with a
//! lease, keeps the lease alive, runs the workflow, and records the outcome.

use std::future::Future;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use super::core::Engine;
use super::error::EngineError;
use super::events::EngineEvent;
use super::plan::release_all;
use super::queue::{self, ActionRecord, ActionState};
use super::workflows::{self, Outcome};

impl Engine {
    async fn claim_one(&self) -> Result<Option<ActionRecord>, EngineError> {
        let owner = self.owner().to_string();
        let lease = self.options().lease_secs;
        self.write(move |tx, inner| super::claim::claim(tx, &inner.cluster, &owner, lease))
            .await
    }

    /// Whether any action of the cluster is approved or running (here or elsewhere).
    async fn work_left(&self) -> Result<bool, EngineError> {
        let active = self
            .list(vec![ActionState::Approved, ActionState::Running])
            .await?;
        Ok(!active.is_empty())
    }

    /// Run one claimed action to its end and record the outcome; the state
    /// it ended in (None: another process took it over, or recording failed).
    async fn execute(&self, rec: ActionRecord) -> Option<(String, ActionState)> {
        let id = rec.id.clone();
        self.emit(EngineEvent::ActionChanged {
            id: id.clone(),
            state: ActionState::Running,
            note: None,
        });
        let owner = self.owner().to_string();
        let action = rec.action.clone();
        let outcome = match self.preflight(&rec).await {
            Ok(()) => workflows::run(self, rec).await,
            Err(e) => {
                let reason = e.to_string();
                if let Err(a) = self
                    .audit(
                        &owner,
                        "run_refused",
                        Some(id.clone()),
                        json!({"reason": reason}),
                    )
                    .await
                {
                    tracing::warn!(error = %a, "could not audit a refused run");
                }
                Outcome::Failed {
                    error: format!("refused before running: {reason}"),
                    result: serde_json::Value::Null,
                }
            }
        };
        let (state, note, result) = match &outcome {
            Outcome::Succeeded(r) => (ActionState::Succeeded, None, r.clone()),
            Outcome::Failed { error, result } => {
                (ActionState::Failed, Some(error.clone()), result.clone())
            }
            Outcome::RolledBack { error, result } => {
                (ActionState::RolledBack, Some(error.clone()), result.clone())
            }
            Outcome::Cancelled { result } => (
                ActionState::Cancelled,
                Some("cancelled between steps".to_string()),
                result.clone(),
            ),
        };
        let id2 = id.clone();
        let note2 = note.clone();
        let done = self
            .write(move |tx, inner| {
                if !queue::holds(tx, &id2, &owner)? {
                    // Another process took it over; it records the end.
                    return Ok(false);
                }
                queue::set_result(tx, &id2, &result)?;
                queue::transition(
                    tx,
                    &id2,
                    &[ActionState::Running],
                    state,
                    &owner,
                    note2.as_deref(),
                )?;
                // Whatever is still only reserved goes back, and targets that
                // never ran are closed (they no longer hold their node).
                release_all(tx, &inner.cluster, &inner.config, &id2)?;
                action.workflow().dropped(tx, &id2)?;
                Ok(true)
            })
            .await;
        match done {
            Ok(true) => {
                if let Some(n) = &note {
                    self.emit(EngineEvent::Error {
                        id: id.clone(),
                        message: n.clone(),
                    });
                }
                self.emit(EngineEvent::ActionChanged {
                    id: id.clone(),
                    state,
                    note,
                });
                Some((id, state))
            }
            Ok(false) => None,
            Err(e) => {
                self.emit(EngineEvent::Error {
                    id,
                    message: format!("recording the outcome failed: {e}"),
                });
                None
            }
        }
    }

    /// Keep this process's leases alive while `work` runs.
    async fn with_heartbeat<F: Future>(&self, work: F) -> F::Output {
        tokio::select! {
            out = work => out,
            never = heartbeat(self.clone()) => match never {},
        }
    }

    /// Run every approved action to its end, then return how many ran. Actions
    /// another process is running are waited for (and taken over if its lease
    /// runs out). Unapproved actions stay queued.
    pub async fn run_once(&self) -> Result<usize, EngineError> {
        Ok(self.run_once_report().await?.len())
    }

    /// As `run_once`, saying how each action this process ran ended (what
    /// `run --once` exits on).
    pub async fn run_once_report(&self) -> Result<Vec<(String, ActionState)>, EngineError> {
        self.with_heartbeat(self.run_loop(true, std::future::pending::<()>()))
            .await
    }

    /// Run actions as they are approved until `shutdown` completes.
    pub async fn run_until<S: Future<Output = ()>>(
        &self,
        shutdown: S,
    ) -> Result<usize, EngineError> {
        Ok(self
            .with_heartbeat(self.run_loop(false, shutdown))
            .await?
            .len())
    }

    async fn run_loop<S: Future<Output = ()>>(
        &self,
        once: bool,
        shutdown: S,
    ) -> Result<Vec<(String, ActionState)>, EngineError> {
        let mut running: JoinSet<Option<(String, ActionState)>> = JoinSet::new();
        let mut ran = Vec::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut events = self.subscribe();
        let mut housekeeping: Option<std::time::Instant> = None;
        loop {
            if housekeeping.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                housekeeping = Some(std::time::Instant::now());
                match self.expire_held(HELD_PROPOSAL_TTL_SECS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "dropped held proposals nobody confirmed"),
                    Err(e) => tracing::warn!(error = %e, "could not expire held proposals"),
                }
                if !once {
                    self.scheduled_work().await;
                }
            }
            while running.len() < self.options().max_parallel.max(1) {
                match self.claim_one().await? {
                    Some(rec) => {
                        let engine = self.clone();
                        running.spawn(async move { engine.execute(rec).await });
                    }
                    None => break,
                }
            }
            if once && running.is_empty() && !self.work_left().await? {
                return Ok(ran);
            }
            let poll = Duration::from_millis(if once { 250 } else { 1000 });
            tokio::select! {
                _ = &mut shutdown => {
                    // Leave running actions to the lease: another process resumes them.
                    running.abort_all();
                    return Ok(ran);
                }
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(Some(outcome)) = done {
                        ran.push(outcome);
                    }
                }
                _ = events.recv() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Record a row in the audit log for something a front end did.
    pub async fn audit(
        &self,
        actor: &str,
        event: &str,
        action_id: Option<String>,
        detail: serde_json::Value,
    ) -> Result<(), EngineError> {
        let (actor, event) = (actor.to_string(), event.to_string());
        self.write(move |tx, _| {
            super::audit::append(tx, &actor, &event, action_id.as_deref(), &detail)?;
            Ok(())
        })
        .await
    }
}

impl Engine {
    /// Propose what the schedules ask for now (read the cluster only when one is due).
    async fn scheduled_work(&self) {
        let now = crate::store::now();
        match self.due_schedules(now).await {
            Ok(due) if due.is_empty() => {}
            Ok(due) => {
                tracing::info!(schedules = ?due, "scheduled work is due");
                match crate::inventory::Inventory::refresh(self.client(), None, &Default::default())
                    .await
                {
                    Ok((inv, _)) => match self.run_schedules(&inv, now).await {
                        Ok(ids) => tracing::info!(queued = ids.len(), "scheduled work queued"),
                        Err(e) => tracing::warn!(error = %e, "scheduled work failed"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the cluster for scheduled work")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the schedules"),
        }
    }
}

/// How long a proposal may wait in a confirmation dialog before an executor
/// drops it and frees its reservations.
pub const HELD_PROPOSAL_TTL_SECS: i64 = 15 * 60;

/// Renew this process's leases a few times per lease period, forever (the
/// type says it never ends).
async fn heartbeat(engine: Engine) -> std::convert::Infallible {
    let every = Duration::from_secs_f64((engine.options().lease_secs as f64 / 3.0).max(0.2));
    loop {
        tokio::time::sleep(every).await;
        let owner = engine.owner().to_string();
        let lease = engine.options().lease_secs;
        if let Err(e) = engine
            .write(move |tx, _| queue::heartbeat(tx, &owner, lease))
            .await
        {
            tracing::warn!(error = %e, "lease heartbeat failed");
        }
    }
}
