//! Delete a guest snapshot: by retention auto-cleanup (the only way the
//! shipped policy allows) or by hand where a policy permits it.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::guest::gref;
use super::common::safety::record_snapshots;
use super::step::{Note, done, note};
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, StepList};

/// Delete one snapshot of a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteGuestSnapshot {
    pub guest: GuestSel,
    pub snapshot: String,
    /// Only retention auto-cleanup may delete snapshots.
    #[serde(default)]
    pub by_retention: bool,
}

impl Workflow for DeleteGuestSnapshot {
    fn name(&self) -> &'static str {
        "delete-snapshot"
    }

    fn kind(&self) -> ActionKind {
        if self.by_retention {
            ActionKind::CleanupSnapshots
        } else {
            ActionKind::DeleteSnapshot
        }
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "delsnap"
    }

    fn describe(&self) -> String {
        format!("delete snapshot {} of {}", self.snapshot, self.guest.name)
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        let s = &self.snapshot;
        let mut steps = StepList::default();
        steps.add(
            "delete-snapshot",
            None,
            format!("delete snapshot {s} of {}", g.name),
        );
        steps.add("record", None, "refresh the snapshot catalog");
        let mut p = Plan::new(format!("Delete snapshot {s} of {}", g.name));
        p.steps = steps.into_steps();
        p.snapshot = Some(s.clone());
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let c = run.client();
            let r = gref(g);
            let r = &r;
            let snapshot = self.snapshot.as_str();
            let result = async {
                run.step("delete-snapshot", |ctx| async move {
                    if ctx.prior_upid.is_none()
                        && !c.snapshots(r).await?.iter().any(|s| s.name == snapshot)
                    {
                        return Ok::<Note, EngineError>(note("already gone"));
                    }
                    ctx.task(|| c.delete_snapshot(r, snapshot)).await?;
                    Ok(done())
                })
                .await?;
                record_snapshots(run, g).await?;
                Ok(json!({"guest": g.vmid, "deleted": snapshot}))
            }
            .await;
            finish(result, json!({"guest": g.vmid}))
        })
    }
}
