//! Delete a guest (stopped first if it runs) with its disks, then give back
//! what proxdeck held for it: its address and MAC records and its name
//! (kept as released, for history), and its metadata marked gone.

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
        steps.add(
            "release",
            None,
            format!(
                "give back {}'s address, MAC and name records (kept as history)",
                g.name
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
                .await;
            let result = match result {
                Ok(_) if run.has_step("release") => run
                    .step("release", |_ctx| release(run, g))
                    .await
                    .map(|r| json!({"deleted": g.vmid, "released": r.addresses})),
                Ok(_) => Ok(json!({"deleted": g.vmid})),
                Err(e) => Err(e),
            };
            finish(result, json!({"guest": g.vmid}))
        })
    }
}

/// What the release step gave back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Released {
    addresses: Vec<String>,
}

/// Release the deleted guest's address records and name, audited.
async fn release(run: &Run, g: &GuestSel) -> Result<Released, EngineError> {
    let (g, id) = (g.clone(), run.id().to_string());
    run.engine
        .write(move |tx, inner| {
            let ipam = crate::ipam::alloc::Ipam::new(&inner.cluster, &inner.config.naming);
            let held: Vec<_> = ipam
                .list(tx, None, false)?
                .into_iter()
                .filter(|a| a.vmid == Some(g.vmid))
                .collect();
            for a in &held {
                ipam.release(tx, a.id)?;
            }
            crate::naming::reserve::release_guest(tx, &inner.cluster, g.vmid, &g.name)?;
            crate::metadata::mark_gone(tx, &inner.cluster, g.vmid)?;
            let addresses: Vec<String> = held.iter().map(|a| a.ip.to_string()).collect();
            crate::engine::audit::append(
                tx,
                &inner.owner,
                "guest_released",
                Some(&id),
                &json!({"vmid": g.vmid, "name": g.name, "addresses": addresses}),
            )?;
            Ok(Released { addresses })
        })
        .await
}
