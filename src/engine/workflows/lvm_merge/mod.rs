//! Merge an LVM snapshot back into its origin: done at once, or (while the
//! origin is open, as the root volume always is) at its next activation,
//! which the plan and the outcome both say.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::lvm::{MergeState, merge_step, set_state};
use super::common::lvm_plan::split_volume;
use super::step::note;
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList};
use crate::lvm::{self, MERGE_PENDING};

/// Merge an LVM snapshot back into its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreLvmSnapshot {
    pub node: String,
    /// The origin, `VG/LV`.
    pub volume: String,
    /// The snapshot's LV name.
    pub name: String,
}

impl Workflow for RestoreLvmSnapshot {
    fn name(&self) -> &'static str {
        "lvm-merge"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::RestoreLvmSnapshot
    }

    fn guests(&self) -> Vec<&GuestSel> {
        Vec::new()
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn id_prefix(&self) -> &'static str {
        "lvmerge"
    }

    fn describe(&self) -> String {
        format!(
            "merge LVM snapshot {} into {} on {}",
            self.name, self.volume, self.node
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(engine.read_facts(std::slice::from_ref(&self.node), &[]))
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let node = ctx.pve_node(&self.node)?;
        let (vg, lv) = split_volume(&self.volume)?;
        let name = &self.name;
        let lvs = ctx.facts.lvs_of(&node);
        let snap = lvs
            .iter()
            .find(|l| l.vg == vg && l.name == *name && l.is_snapshot())
            .ok_or_else(|| EngineError::Invalid(format!("{node} has no snapshot {vg}/{name}")))?;
        if snap.origin.as_deref() != Some(lv.as_str()) {
            return Err(EngineError::Invalid(format!(
                "{vg}/{name} is a snapshot of {vg}/{}, not of {vg}/{lv}",
                snap.origin.clone().unwrap_or_default()
            )));
        }
        if snap.is_invalid() {
            return Err(EngineError::NotPossible(format!(
                "{vg}/{name} overflowed and LVM invalidated it: it cannot be merged (Unable to merge invalidated snapshot LV)"
            )));
        }
        if snap.kind() == lvm::LvKind::MergingSnapshot {
            return Err(EngineError::NothingToDo(format!(
                "a merge of {vg}/{name} is already pending until the next activation of {vg}/{lv}"
            )));
        }
        let origin_open = lvs
            .iter()
            .any(|l| l.vg == vg && l.name == lv && l.is_open());
        let mut p = Plan::new(format!(
            "Merge LVM snapshot {vg}/{name} back into {vg}/{lv} on {node}"
        ));
        let mut steps = StepList::default();
        steps.add(
            "merge",
            None,
            format!(
                "lvconvert --merge -i 1 {vg}/{name}: {vg}/{lv} returns to the snapshot's contents"
            ),
        );
        steps.add(
            "record",
            None,
            "record the merge (done, or pending until the next activation)",
        );
        p.steps = steps.into_steps();
        p.snapshot = Some(name.clone());
        if origin_open {
            p.notes.push(format!("{vg}/{lv} is in use: LVM merges at its next activation, which for the root volume is the next reboot"));
        }
        p.params.insert("node".into(), node);
        p.params.insert("volume".into(), format!("{vg}/{lv}"));
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let result = async {
                let node = run.param("node")?;
                let volume = run.param("volume")?;
                let name = run.plan.snapshot.clone().unwrap_or_default();
                let d = run
                    .step("merge", |ctx| merge_step(ctx, node, volume, &name))
                    .await?;
                let state = d.outcome;
                run.step("record", |_ctx| async {
                    set_state(run, node, volume, &name, state.as_str()).await?;
                    Ok(note(state.as_str()))
                })
                .await?;
                Ok(json!({
                    "node": node,
                    "snapshot": name,
                    "state": match state {
                        MergeState::Merged => "merged: the origin has the snapshot's contents".to_string(),
                        MergeState::MergePending => MERGE_PENDING.to_string(),
                    },
                }))
            }
            .await;
            finish(result, serde_json::Value::Null)
        })
    }
}
