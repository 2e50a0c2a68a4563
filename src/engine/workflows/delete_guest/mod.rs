//! Delete a guest (stopped first if it runs) with its disks.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::guest::gref;
use super::step::{Note, done, note};
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, StepList};
use crate::pve::requests::{DestroyOptions, Power};

/// Delete a guest and its disks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteGuest {
    pub guest: GuestSel,
}

impl Workflow for DeleteGuest {
    fn name(&self) -> &'static str {
        "delete"
    }

    fn kind(&self) -> ActionKind {
        if self.guest.template {
            ActionKind::DeleteTemplate
        } else {
            ActionKind::DeleteGuest
        }
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "delete"
    }

    fn describe(&self) -> String {
        format!("delete {}", self.guest.name)
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        let mut steps = StepList::default();
        steps.add(
            "delete",
            None,
            format!(
                "destroy {} ({} {}) and its disks",
                g.name,
                g.kind.noun(),
                g.vmid
            ),
        );
        let mut p = Plan::new(format!(
            "Delete {} ({} {} on {})",
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node
        ));
        p.steps = steps.into_steps();
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let c = run.client();
            let r = gref(g);
            let r = &r;
            let result = run
                .step("delete", |ctx| async move {
                    if ctx.prior_upid.is_none() {
                        if run.locate(g.vmid).await?.is_none() {
                            return Ok::<Note, EngineError>(note("already gone"));
                        }
                        if c.guest_status(r).await?.status == "running" {
                            let up = c.power(r, Power::Stop).await?;
                            c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
                        }
                    }
                    ctx.task(|| {
                        c.destroy_guest(
                            r,
                            &DestroyOptions {
                                purge: Some(true),
                                destroy_unreferenced_disks: Some(true),
                            },
                        )
                    })
                    .await?;
                    Ok(done())
                })
                .await
                .map(|_| json!({"deleted": g.vmid}));
            finish(result, json!({"guest": g.vmid}))
        })
    }
}
