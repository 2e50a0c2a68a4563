//! Journaled steps: a step is written as running before its work and as done
//! (with its typed result) after; a done step is not run again, and a step
//! that started a Proxmox task follows the stored UPID instead of starting
//! another. This is what lets another process resume a workflow.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::core::Engine;
use super::super::crash::{self, When};
use super::super::error::EngineError;
use super::super::events::EngineEvent;
use super::super::journal::{self, StepState};
use super::super::plan::{Plan, PlanStep};
use super::super::queue::{self, ActionRecord};
use crate::pve::types::ClusterResource;
use crate::pve::{PveError, TaskEvent, TaskOutcome, Upid};

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
    pub prior_detail: Option<serde_json::Value>,
    /// When an earlier run first began this step (None: this is the first).
    pub prior_started_at: Option<i64>,
}

/// A step's result when all it has to say is a sentence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Note {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A [`Note`] saying `s`.
pub fn note(s: impl Into<String>) -> Note {
    Note {
        note: Some(s.into()),
    }
}

/// A step that has nothing to record.
pub fn done() -> Note {
    Note::default()
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
            .ok_or_else(|| EngineError::Step(format!("the plan has no step {key}")))
    }

    /// Whether the plan has this step.
    pub fn has_step(&self, key: &str) -> bool {
        self.plan.steps.iter().any(|s| s.key == key)
    }

    /// A value the planner fixed, or an error naming it.
    pub fn param(&self, key: &str) -> Result<&str, EngineError> {
        self.plan
            .param(key)
            .ok_or_else(|| EngineError::Step(format!("the plan has no {key}")))
    }

    /// The plan's `remove-N` steps with what each removes (`remove.N`).
    pub fn removals(&self) -> Result<Vec<(&PlanStep, String)>, EngineError> {
        self.plan
            .steps
            .iter()
            .filter(|s| s.name().starts_with("remove-"))
            .map(|s| {
                let i = s.name().trim_start_matches("remove-");
                Ok((s, self.param(&format!("remove.{i}"))?.to_string()))
            })
            .collect()
    }

    /// The result a finished step recorded, read as `T`.
    pub async fn detail_of<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, EngineError> {
        let seq = self.seq_of(key)?;
        let id = self.id().to_string();
        let row = self
            .engine
            .read(move |c, _| journal::step(c, &id, seq))
            .await?;
        match row.and_then(|s| s.detail) {
            Some(d) => Ok(Some(serde_json::from_value(d)?)),
            None => Ok(None),
        }
    }

    /// Run one journaled step: skipped when already done (its recorded result
    /// is returned); journaled before (running) and after (done or failed);
    /// cancellation honoured first.
    pub async fn step<T, F, Fut>(&self, key: &str, body: F) -> Result<T, EngineError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(StepCtx) -> Fut,
        Fut: Future<Output = Result<T, EngineError>>,
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
            let detail = r.detail.clone().unwrap_or(serde_json::Value::Null);
            return Ok(serde_json::from_value(detail)?);
        }
        if cancel {
            return Err(EngineError::Cancelled);
        }
        if !holds {
            return Err(EngineError::LostLease { owner, id });
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
            prior_started_at: row.as_ref().and_then(|r| r.started_at),
            prior_detail: row.and_then(|r| r.detail),
        };
        match body(ctx).await {
            Ok(out) => {
                crash::point(self.workflow, key, When::After);
                let detail = serde_json::to_value(&out)?;
                let id2 = id.clone();
                self.engine
                    .write(move |tx, _| {
                        journal::set_detail(tx, &id2, seq, &detail)?;
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
                Ok(out)
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

    /// Append an audit row as this process.
    pub async fn audit(&self, event: &str, detail: serde_json::Value) -> Result<(), EngineError> {
        let (id, event) = (self.id().to_string(), event.to_string());
        self.engine
            .write(move |tx, inner| {
                super::super::audit::append(tx, &inner.owner, &event, Some(&id), &detail)?;
                Ok(())
            })
            .await
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
        self.log(lines).await?;
        Ok(out?)
    }

    /// Keep lines of output in the journal, under this step.
    pub async fn log(&self, lines: Vec<String>) -> Result<(), EngineError> {
        let (id, seq) = (self.run.id().to_string(), self.seq);
        self.run
            .engine
            .write(move |tx, _| journal::log_lines(tx, &id, Some(seq), &lines))
            .await
    }

    /// Journal a task's UPID for this step, so a resumed run follows it.
    pub async fn store_upid(&self, upid: &Upid) -> Result<(), EngineError> {
        let (id, seq, u) = (self.run.id().to_string(), self.seq, upid.to_string());
        self.run
            .engine
            .write(move |tx, _| journal::set_upid(tx, &id, seq, &u))
            .await?;
        crash::point(self.run.workflow, &self.key, When::Upid);
        Ok(())
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
                self.store_upid(&upid).await?;
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
        lines.insert(0, format!("task {upid}"));
        self.log(lines).await?;
        Ok(result?)
    }
}
