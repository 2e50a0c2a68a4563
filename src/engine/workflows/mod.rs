//! Workflows: one folder each, holding what the action is (its payload type),
//! how it is planned, how it runs and how it is described, behind one
//! [`Workflow`] trait. [`Action`](super::Action) lists them; adding an action
//! means a folder here plus a line there.
//!
//! Steps are journaled (skipped when done, a stored UPID followed instead of
//! starting a task again), so another process can resume a workflow after a
//! crash; see [`Run::step`].

pub mod assign_ip;
pub mod backup_create;
pub mod backup_prune;
pub mod backup_restore;
pub mod backup_sync;
pub mod backup_verify;
pub mod clone;
pub(crate) mod common;
pub mod delete_guest;
pub mod delete_snapshot;
pub mod lvm_cleanup;
pub mod lvm_merge;
pub mod lvm_snapshot;
pub mod replicate;
pub mod rollback;
pub mod snapshot;
pub(crate) mod step;
pub mod upgrade;

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde_json::Value;

use super::action::GuestSel;
use super::core::Engine;
use super::error::EngineError;
use super::plan::{Plan, PlanContext, PlanFacts};
use super::queue::ActionRecord;
use crate::action_kind::ActionKind;
use crate::config::policies::SafetyTrigger;

pub use step::{Run, StepCtx};

/// How a workflow ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    Failed { error: String, result: Value },
    RolledBack { error: String, result: Value },
    Cancelled { result: Value },
}

/// What every action is: named, described, planned, run.
pub trait Workflow: Send + Sync {
    /// The workflow's name in the journal and in crash points (`replicate`).
    fn name(&self) -> &'static str;

    /// The policy name of this action (`clone_vm`, `restore_snapshot`).
    fn kind(&self) -> ActionKind;

    /// Every guest the action reads or changes (self-protection looks at these).
    fn guests(&self) -> Vec<&GuestSel>;

    /// The node the action mostly works on (per-node limits, lists).
    fn node(&self) -> &str {
        self.guests()
            .first()
            .map(|g| g.node.as_str())
            .unwrap_or("all")
    }

    /// The subject of the action's id (`repl-101-...`): a VMID or a node.
    fn id_subject(&self) -> String {
        match self.guests().first() {
            Some(g) => g.vmid.to_string(),
            None => {
                let n = self.node();
                n.rsplit('-').next().unwrap_or(n).to_string()
            }
        }
    }

    /// The short prefix of the action's id (`repl`).
    fn id_prefix(&self) -> &'static str;

    /// One line for lists.
    fn describe(&self) -> String;

    /// The safety snapshot kind this action takes first, if policy asks.
    fn safety_trigger(&self) -> Option<SafetyTrigger> {
        None
    }

    /// Read what planning needs from the network (LVs, storage listings),
    /// before the planning transaction opens.
    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        let _ = engine;
        Box::pin(async { Ok(PlanFacts::default()) })
    }

    /// Expand into a plan, reserving identities under `action_id`.
    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError>;

    /// Record what the plan will make in the workflow's own tables, in the
    /// planning transaction.
    fn planned(
        &self,
        tx: &Transaction<'_>,
        cluster: &str,
        action_id: &str,
        plan: &Plan,
    ) -> Result<(), EngineError> {
        let _ = (tx, cluster, action_id, plan);
        Ok(())
    }

    /// The action will not run (rejected, cancelled before it ran): let go
    /// of what `planned` recorded.
    fn dropped(&self, tx: &Transaction<'_>, action_id: &str) -> Result<(), EngineError> {
        let _ = (tx, action_id);
        Ok(())
    }

    /// Run the plan (claimed by this process).
    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome>;
}

/// Run the workflow of an action claimed by this process.
pub async fn run(engine: &Engine, rec: ActionRecord) -> Outcome {
    let Some(plan) = rec.plan.clone() else {
        return Outcome::Failed {
            error: "the action has no plan".into(),
            result: Value::Null,
        };
    };
    let action = rec.action.clone();
    let workflow = action.workflow();
    let run = Run {
        engine: engine.clone(),
        rec,
        plan,
        workflow: workflow.name(),
    };
    workflow.run(&run).await
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

/// The outcome of a workflow body that either finished with a result or failed.
pub fn finish(result: Result<Value, EngineError>, on_error: Value) -> Outcome {
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, on_error),
    }
}
