//! Roll a guest back to one of its snapshots, taking a safety snapshot of
//! the current state first when policy asks (and going back to it if the
//! rollback fails).

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::guest::gref;
use super::common::safety::{SnapshotSpec, back_to_safety, record_snapshots, take_snapshot};
use super::{Outcome, Run, Workflow, failed};
use crate::action_kind::ActionKind;
use crate::config::policies::SafetyTrigger;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, StepList, snapshot_name};
use crate::engine::snapshot_catalog::Purpose;
use crate::policy::Policy;

/// Roll a guest back to a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackGuestSnapshot {
    pub guest: GuestSel,
    pub snapshot: String,
    /// Start the guest after the rollback.
    #[serde(default)]
    pub start: bool,
}

/// The step's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RolledBack {
    exitstatus: String,
}

impl Workflow for RollbackGuestSnapshot {
    fn name(&self) -> &'static str {
        "rollback"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::RestoreSnapshot
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "rollback"
    }

    fn describe(&self) -> String {
        format!("roll {} back to {}", self.guest.name, self.snapshot)
    }

    fn safety_trigger(&self) -> Option<SafetyTrigger> {
        Some(SafetyTrigger::Rollback)
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        let s = &self.snapshot;
        let policy = Policy::new(&ctx.config.policies, &ctx.config.naming, ctx.read_only);
        let mut steps = StepList::default();
        let mut safety = None;
        if policy.wants_safety_snapshot(self) {
            let n = snapshot_name(
                &ctx.config.policies.safety_snapshots.name_pattern,
                "-pre-rb",
            );
            steps.add(
                "safety-snapshot",
                None,
                format!("safety snapshot {n} of the current state"),
            );
            safety = Some(n);
        }
        steps.add(
            "rollback",
            None,
            format!(
                "roll {} back to {s}{}",
                g.name,
                if self.start { ", then start it" } else { "" }
            ),
        );
        steps.add("record", None, "refresh the snapshot catalog");
        let mut p = Plan::new(format!(
            "Roll {} ({} {} on {}) back to snapshot {s}",
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node
        ));
        p.steps = steps.into_steps();
        p.snapshot = Some(s.clone());
        p.safety_snapshot = safety;
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let c = run.client();
            let r = gref(g);
            let r = &r;
            let (snapshot, start) = (self.snapshot.as_str(), self.start);
            let safety = run.plan.safety_snapshot.clone();
            if let Some(s) = &safety {
                let desc = format!(
                    "safety snapshot before rolling back to {snapshot} (proxdeck {})",
                    run.id()
                );
                let spec = SnapshotSpec {
                    guest: g,
                    name: s,
                    description: Some(&desc),
                    vmstate: false,
                    purpose: Purpose::Safety,
                };
                if let Err(e) = take_snapshot(run, "safety-snapshot", spec).await {
                    return failed(&e, json!({"guest": g.vmid}));
                }
            }
            let done = run
                .step("rollback", |ctx| async move {
                    let out = ctx
                        .task(|| c.rollback(r, snapshot, start.then_some(true)))
                        .await?;
                    Ok(RolledBack {
                        exitstatus: out.exitstatus,
                    })
                })
                .await;
            match done {
                Ok(_) => match record_snapshots(run, g).await {
                    Ok(_) => Outcome::Succeeded(json!({
                        "guest": g.vmid, "rolled_back_to": snapshot, "safety_snapshot": safety
                    })),
                    Err(e) => failed(&e, json!({"guest": g.vmid})),
                },
                Err(e) => {
                    back_to_safety(run, g, safety.as_deref(), e, json!({"guest": g.vmid})).await
                }
            }
        })
    }
}
