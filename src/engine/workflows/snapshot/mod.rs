//! Take a guest snapshot (by hand or by a snapshot schedule), then record it
//! in the snapshot catalog.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::guest::gref;
use super::common::safety::{SnapshotSpec, record_snapshots, take_snapshot};
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList, snapshot_name};
use crate::engine::snapshot_catalog::Purpose;

/// Take a snapshot of a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGuestSnapshot {
    pub guest: GuestSel,
    /// None: from the safety snapshot name pattern.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Include the VM's RAM.
    #[serde(default)]
    pub vmstate: bool,
}

impl Workflow for CreateGuestSnapshot {
    fn name(&self) -> &'static str {
        "snapshot"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::CreateSnapshot
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "snap"
    }

    fn describe(&self) -> String {
        format!(
            "snapshot {}{}",
            self.guest.name,
            self.name
                .as_ref()
                .map(|n| format!(" as {n}"))
                .unwrap_or_default()
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move { engine.snapshot_facts(&gref(&self.guest)).await })
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        let n = self.name.clone().unwrap_or_else(|| {
            snapshot_name(
                &ctx.config.policies.safety_snapshots.name_pattern,
                "",
                action_id,
            )
        });
        if !crate::pve::names::is_config_id(&n) {
            return Err(EngineError::Invalid(format!(
                "'{n}' is not a valid snapshot name (a letter, then letters, digits, '-' or '_')"
            )));
        }
        if ctx.facts.snapshots_of(g.vmid).iter().any(|s| s.name == n) {
            return Err(EngineError::Invalid(format!(
                "{} already has a snapshot named {n}: choose another name",
                g.name
            )));
        }
        let held = crate::engine::queue::snapshot_names_held(tx, ctx.cluster, Some(g.vmid))?;
        if held.iter().any(|(_, h)| *h == n) {
            return Err(EngineError::Invalid(format!(
                "another action already plans a snapshot named {n} of {}",
                g.name
            )));
        }
        let mut steps = StepList::default();
        steps.add(
            "snapshot",
            None,
            format!(
                "snapshot {} as {n}{}",
                g.name,
                self.description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        );
        steps.add("record", None, "add it to the snapshot catalog");
        let mut p = Plan::new(format!(
            "Snapshot {} ({} {} on {}) as {n}",
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node
        ));
        p.steps = steps.into_steps();
        p.snapshot = Some(n);
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let name = run.plan.snapshot.clone().unwrap_or_default();
            let purpose = if run.rec.proposed_by.who.starts_with("policy:schedule:") {
                Purpose::Scheduled
            } else {
                Purpose::Manual
            };
            let result = async {
                let spec = SnapshotSpec {
                    guest: g,
                    name: &name,
                    description: self.description.as_deref(),
                    vmstate: self.vmstate,
                    purpose,
                };
                take_snapshot(run, "snapshot", spec).await?;
                record_snapshots(run, g).await?;
                Ok(json!({"guest": g.vmid, "snapshot": name}))
            }
            .await;
            finish(result, json!({"guest": g.vmid}))
        })
    }
}
