//! Take an LVM snapshot of a host volume (`pve/root` unless named) over SSH,
//! with the copy-on-write size fixed in the plan, and record it with its
//! expiry in the catalog.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::lvm::{LvPurpose, record_made, snapshot_step, split};
use super::common::lvm_plan::{
    find_origin, lvcreate_line, new_snapshot, space_phrase, split_volume,
};
use super::step::note;
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList};

/// An LVM snapshot of a host volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLvmSnapshot {
    pub node: String,
    /// None: the policy's default volume (`pve/root`).
    pub volume: Option<String>,
    /// None: from the policy's name pattern.
    pub name: Option<String>,
    /// `20%` of the origin or `8G`; None: the policy's size.
    pub size: Option<String>,
    pub description: Option<String>,
}

impl Workflow for CreateLvmSnapshot {
    fn name(&self) -> &'static str {
        "lvm-snapshot"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::CreateLvmSnapshot
    }

    fn guests(&self) -> Vec<&GuestSel> {
        Vec::new()
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn id_prefix(&self) -> &'static str {
        "lvsnap"
    }

    fn describe(&self) -> String {
        format!(
            "LVM snapshot of {} on {}{}",
            self.volume.as_deref().unwrap_or("the root volume"),
            self.node,
            self.name
                .as_ref()
                .map(|n| format!(" as {n}"))
                .unwrap_or_default()
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(engine.read_facts(std::slice::from_ref(&self.node), &[]))
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let retention = ctx.config.policies.snapshot_retention;
        let node = ctx.pve_node(&self.node)?;
        let volume = self
            .volume
            .clone()
            .unwrap_or_else(|| ctx.config.policies.ops.lvm.default_volume.clone());
        let (vg, lv) = split_volume(&volume)?;
        let lvs = ctx.facts.lvs_of(&node);
        let origin = find_origin(lvs, &node, &vg, &lv)?;
        let (name, size) = new_snapshot(
            tx,
            ctx,
            &node,
            lvs,
            origin,
            self.name.as_deref(),
            self.size.as_deref(),
        )?;
        let mut p = Plan::new(format!(
            "LVM snapshot of {vg}/{lv} on {node} as {name} ({})",
            space_phrase(size.as_deref())
        ));
        let mut steps = StepList::default();
        steps.add(
            "lvm-snapshot",
            None,
            format!(
                "{}{}",
                lvcreate_line(&vg, &lv, &name, size.as_deref()),
                self.description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        );
        steps.add(
            "record",
            None,
            format!(
                "add it to the snapshot catalog; retention removes it after {} days",
                retention.max_age_days
            ),
        );
        p.steps = steps.into_steps();
        p.snapshot = Some(name);
        p.params.insert("node".into(), node);
        p.params.insert("volume".into(), format!("{vg}/{lv}"));
        if let Some(size) = size {
            p.params.insert("size".into(), size);
        }
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let result = async {
                let node = run.param("node")?;
                let volume = run.param("volume")?;
                let size = run.plan.param("size");
                let name = run.plan.snapshot.clone().unwrap_or_default();
                run.step("lvm-snapshot", |ctx| {
                    snapshot_step(ctx, node, volume, &name, size)
                })
                .await?;
                run.step("record", |_ctx| async {
                    record_made(
                        run,
                        node,
                        volume,
                        &name,
                        self.description.as_deref(),
                        LvPurpose::Manual,
                    )
                    .await?;
                    Ok(note(format!("recorded {name}")))
                })
                .await?;
                Ok(json!({"node": node, "snapshot": format!("{}/{name}", split(volume).0)}))
            }
            .await;
            finish(result, serde_json::Value::Null)
        })
    }
}
