//! Workflows: one file each. They run journaled steps (skipping those already
//! done, following a stored UPID instead of repeating a task) so a workflow can
//! be resumed by another process after a crash.

mod assign_ip;
mod backup;
mod copy;
mod guest;
mod lvm;
mod upgrade;

use std::future::Future;

use serde_json::{Value, json};

use super::action::Action;
use super::core::Engine;
use super::crash::{self, When};
use super::error::EngineError;
use super::events::EngineEvent;
use super::journal::{self, StepState};
use super::plan::Plan;
use super::queue::{self, ActionRecord};
use crate::pve::types::ClusterResource;
use crate::pve::{PveError, TaskEvent, TaskOutcome, Upid};

/// How a workflow ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    Failed { error: String, result: Value },
    RolledBack { error: String, result: Value },
    Cancelled { result: Value },
}

/// A workflow run: the engine, the action and its plan.
#[derive(Clone)]
pub struct Run {
    pub engine: Engine,
    pub rec: ActionRecord,
    pub plan: Plan,
    pub workflow: &'static str,
}

/// What a step's body gets: where it is, and what an earlier run left.
#[derive(Clone)]
pub struct StepCtx {
    pub run: Run,
    pub seq: u32,
    pub key: String,
    pub target: Option<String>,
    /// The UPID an interrupted run stored: follow it instead of starting again.
    pub prior_upid: Option<Upid>,
    pub prior_detail: Option<Value>,
}

impl Run {
    pub fn id(&self) -> &str {
        &self.rec.id
    }

    pub fn client(&self) -> &crate::pve::PveClient {
        self.engine.client()
    }

    fn seq_of(&self, key: &str) -> Result<u32, EngineError> {
        self.plan
            .steps
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.seq)
            .ok_or_else(|| EngineError::Plan(format!("the plan has no step {key}")))
    }

    /// Whether the plan has this step.
    pub fn has_step(&self, key: &str) -> bool {
        self.plan.steps.iter().any(|s| s.key == key)
    }

    /// The detail a finished step recorded.
    pub async fn detail_of(&self, key: &str) -> Result<Option<Value>, EngineError> {
        let seq = self.seq_of(key)?;
        let id = self.id().to_string();
        Ok(self
            .engine
            .read(move |c, _| journal::step(c, &id, seq))
            .await?
            .and_then(|s| s.detail))
    }

    /// Run one journaled step: skipped when already done; journaled before
    /// (running) and after (done or failed); cancellation honoured first.
    pub async fn step<F, Fut>(&self, key: &str, body: F) -> Result<Value, EngineError>
    where
        F: FnOnce(StepCtx) -> Fut,
        Fut: Future<Output = Result<Value, EngineError>>,
    {
        let seq = self.seq_of(key)?;
        let id = self.id().to_string();
        let owner = self.engine.owner().to_string();
        let (row, cancel, holds) = {
            let (id, owner) = (id.clone(), owner.clone());
            self.engine
                .read(move |c, _| {
                    Ok((
                        journal::step(c, &id, seq)?,
                        queue::cancel_requested(c, &id)?,
                        queue::holds(c, &id, &owner)?,
                    ))
                })
                .await?
        };
        if let Some(r) = &row
            && r.state == StepState::Done
        {
            return Ok(r.detail.clone().unwrap_or(Value::Null));
        }
        if cancel {
            return Err(EngineError::Cancelled);
        }
        if !holds {
            return Err(EngineError::Plan(format!(
                "{owner} no longer holds {id} (another process took it over)"
            )));
        }
        {
            let (id, owner) = (id.clone(), owner.clone());
            self.engine
                .write(move |tx, _| journal::begin(tx, &id, seq, &owner))
                .await?;
        }
        self.engine.emit(EngineEvent::StepStarted {
            id: id.clone(),
            seq,
            key: key.to_string(),
        });
        crash::point(self.workflow, key, When::Before);
        let ctx = StepCtx {
            run: self.clone(),
            seq,
            key: key.to_string(),
            target: key.split_once('@').map(|(_, t)| t.to_string()),
            prior_upid: row
                .as_ref()
                .and_then(|r| r.upid.as_deref())
                .and_then(|u| u.parse().ok()),
            prior_detail: row.and_then(|r| r.detail),
        };
        match body(ctx).await {
            Ok(detail) => {
                crash::point(self.workflow, key, When::After);
                let (id2, d) = (id.clone(), detail.clone());
                self.engine
                    .write(move |tx, _| {
                        journal::set_detail(tx, &id2, seq, &d)?;
                        journal::finish(tx, &id2, seq, StepState::Done, None, &owner)
                    })
                    .await?;
                self.engine.emit(EngineEvent::StepFinished {
                    id,
                    seq,
                    key: key.to_string(),
                    ok: true,
                    error: None,
                });
                Ok(detail)
            }
            Err(e) => {
                let msg = e.to_string();
                let (id2, m) = (id.clone(), msg.clone());
                self.engine
                    .write(move |tx, _| {
                        journal::finish(tx, &id2, seq, StepState::Failed, Some(&m), &owner)
                    })
                    .await?;
                self.engine.emit(EngineEvent::StepFinished {
                    id,
                    seq,
                    key: key.to_string(),
                    ok: false,
                    error: Some(msg),
                });
                Err(e)
            }
        }
    }

    /// Mark steps that will not run (a failed target's rest).
    pub async fn skip_rest(&self, keys: Vec<String>) -> Result<(), EngineError> {
        let id = self.id().to_string();
        let owner = self.engine.owner().to_string();
        let seqs: Vec<u32> = keys.iter().filter_map(|k| self.seq_of(k).ok()).collect();
        self.engine
            .write(move |tx, _| {
                for s in seqs {
                    let done = journal::step(tx, &id, s)?
                        .is_some_and(|r| matches!(r.state, StepState::Done | StepState::Failed));
                    if !done {
                        journal::finish(tx, &id, s, StepState::Skipped, None, &owner)?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Where a VMID lives now, if anywhere.
    pub async fn locate(&self, vmid: u32) -> Result<Option<ClusterResource>, EngineError> {
        let res = self.client().cluster_resources(Some("vm")).await?;
        Ok(res.into_iter().find(|r| r.vmid == Some(vmid)))
    }
}

impl StepCtx {
    /// Run a command on a node: its output streams out as events and is
    /// journaled with the command line.
    pub async fn host(
        &self,
        node: &str,
        cmd: &crate::host::HostCommand,
    ) -> Result<crate::host::HostOutput, EngineError> {
        let hosts = self.run.engine.hosts(node)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let engine = self.run.engine.clone();
        let (id, key) = (self.run.id().to_string(), self.key.clone());
        let forward = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                engine.emit(EngineEvent::TaskLine {
                    id: id.clone(),
                    key: key.clone(),
                    line,
                });
            }
        });
        let out = hosts.run(node, cmd, Some(tx)).await;
        let _ = forward.await;
        let mut lines = vec![format!("{node}$ {}", cmd.line())];
        match &out {
            Ok(o) => {
                lines.extend(o.transcript());
                lines.push(format!(
                    "exit {}",
                    o.code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "(signal)".into())
                ));
            }
            Err(e) => lines.push(format!("error: {e}")),
        }
        let (id, seq) = (self.run.id().to_string(), self.seq);
        self.run
            .engine
            .write(move |tx, _| journal::log_lines(tx, &id, Some(seq), &lines))
            .await?;
        Ok(out?)
    }

    /// Start a Proxmox task (or, after a crash, follow the one already
    /// started) and wait for it: the UPID is journaled before the wait.
    pub async fn task<F, Fut>(&self, start: F) -> Result<TaskOutcome, EngineError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Upid, PveError>>,
    {
        let upid = match &self.prior_upid {
            Some(u) => u.clone(),
            None => {
                let upid = start().await?;
                let (id, seq, u) = (self.run.id().to_string(), self.seq, upid.to_string());
                self.run
                    .engine
                    .write(move |tx, _| journal::set_upid(tx, &id, seq, &u))
                    .await?;
                crash::point(self.run.workflow, &self.key, When::Upid);
                upid
            }
        };
        self.follow(&upid).await
    }

    /// Wait for a task, streaming its log and progress as events and into the journal.
    pub async fn follow(&self, upid: &Upid) -> Result<TaskOutcome, EngineError> {
        let engine = self.run.engine.clone();
        let id = self.run.id().to_string();
        let key = self.key.clone();
        let target = self.target.clone();
        let mut lines = Vec::new();
        let mut last = -1.0;
        let result = engine
            .client()
            .wait_task(upid, &engine.options().wait, |e| match e {
                TaskEvent::Line(l) => {
                    engine.emit(EngineEvent::TaskLine {
                        id: id.clone(),
                        key: key.clone(),
                        line: l.t.clone(),
                    });
                    lines.push(l.t);
                }
                TaskEvent::Progress(p) if p >= last + 1.0 || p >= 100.0 => {
                    last = p;
                    engine.emit(EngineEvent::Progress {
                        id: id.clone(),
                        key: key.clone(),
                        target: target.clone(),
                        percent: p,
                    });
                }
                TaskEvent::Progress(_) => {}
            })
            .await;
        let (id2, seq) = (id.clone(), self.seq);
        lines.insert(0, format!("task {upid}"));
        self.run
            .engine
            .write(move |tx, _| journal::log_lines(tx, &id2, Some(seq), &lines))
            .await?;
        Ok(result?)
    }
}

/// Run the workflow of an action (claimed by this process).
pub async fn run(engine: &Engine, rec: ActionRecord) -> Outcome {
    let Some(plan) = rec.plan.clone() else {
        return Outcome::Failed {
            error: "the action has no plan".into(),
            result: Value::Null,
        };
    };
    let workflow = match &rec.action {
        Action::Replicate { .. } => "replicate",
        Action::CloneGuest { .. } => "clone",
        Action::CreateGuestSnapshot { .. } => "snapshot",
        Action::RollbackGuestSnapshot { .. } => "rollback",
        Action::DeleteGuestSnapshot { .. } => "delete-snapshot",
        Action::AssignStaticIp { .. } => "assign-ip",
        Action::DeleteGuest { .. } => "delete",
        Action::CreateLvmSnapshot { .. } => "lvm-snapshot",
        Action::RestoreLvmSnapshot { .. } => "lvm-merge",
        Action::CleanupLvmSnapshots { .. } => "lvm-cleanup",
        Action::GuardedHostUpgrade { .. } => "upgrade",
        Action::CreateBackup { .. } => "backup",
        Action::VerifyBackup { .. } => "verify",
        Action::SyncBackup { .. } => "sync",
        Action::PruneBackups { .. } => "prune",
        Action::RestoreBackup { .. } => "restore",
    };
    let run = Run {
        engine: engine.clone(),
        rec: rec.clone(),
        plan,
        workflow,
    };
    match &rec.action {
        Action::Replicate { source, start, .. } => copy::run(&run, source, *start, true).await,
        Action::CloneGuest { source, start, .. } => copy::run(&run, source, *start, false).await,
        Action::CreateGuestSnapshot {
            guest,
            description,
            vmstate,
            ..
        } => guest::snapshot(&run, guest, description.as_deref(), *vmstate).await,
        Action::RollbackGuestSnapshot {
            guest,
            snapshot,
            start,
        } => guest::rollback(&run, guest, snapshot, *start).await,
        Action::DeleteGuestSnapshot {
            guest, snapshot, ..
        } => guest::delete_snapshot(&run, guest, snapshot).await,
        Action::DeleteGuest { guest } => guest::delete(&run, guest).await,
        Action::AssignStaticIp { guest, .. } => assign_ip::run(&run, guest).await,
        Action::CreateLvmSnapshot { description, .. } => {
            lvm::create(&run, description.as_deref()).await
        }
        Action::RestoreLvmSnapshot { .. } => lvm::merge(&run).await,
        Action::CleanupLvmSnapshots { .. } => lvm::cleanup(&run).await,
        Action::GuardedHostUpgrade { .. } => upgrade::run(&run).await,
        Action::CreateBackup {
            guest,
            storage,
            mode,
            compress,
            notes,
            ..
        } => backup::create(&run, guest, storage, mode, compress, notes.as_deref()).await,
        Action::VerifyBackup { volid, .. } => backup::verify_only(&run, volid).await,
        Action::SyncBackup {
            volid, to_storage, ..
        } => backup::sync_only(&run, volid, to_storage).await,
        Action::PruneBackups { .. } => backup::prune_only(&run).await,
        Action::RestoreBackup {
            volid, kind, guest, ..
        } => backup::restore(&run, volid, *kind, guest.as_ref()).await,
    }
}

/// A failed step's outcome, keeping what was done.
pub fn failed(e: &EngineError, result: Value) -> Outcome {
    match e {
        EngineError::Cancelled => Outcome::Cancelled { result },
        _ => Outcome::Failed {
            error: e.to_string(),
            result,
        },
    }
}

/// A JSON note for a step's detail.
pub fn note(s: impl Into<String>) -> Value {
    json!({ "note": s.into() })
}
