//! Remove the LVM snapshots retention says have expired: only snapshots
//! proxdeck made, never one guarding an action that is approved, running or
//! failed, never a merging one.

use std::collections::HashSet;

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::lvm::{refresh, split};
use super::common::lvm_plan::split_volume;
use super::step::{Note, note};
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList};
use crate::engine::queue::{self, ActionState};
use crate::lvm;

/// Remove expired LVM snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupLvmSnapshots {
    /// None: every node proxdeck reaches.
    pub node: Option<String>,
}

impl Workflow for CleanupLvmSnapshots {
    fn name(&self) -> &'static str {
        "lvm-cleanup"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::CleanupSnapshots
    }

    fn guests(&self) -> Vec<&GuestSel> {
        Vec::new()
    }

    fn node(&self) -> &str {
        self.node.as_deref().unwrap_or("all")
    }

    fn id_prefix(&self) -> &'static str {
        "lvclean"
    }

    fn describe(&self) -> String {
        format!(
            "remove expired LVM snapshots{}",
            self.node
                .as_ref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default()
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            let nodes: Vec<String> = match &self.node {
                Some(n) => vec![n.clone()],
                None => engine
                    .config()
                    .naming
                    .nodes
                    .iter()
                    .map(|n| n.pve_name.clone())
                    .filter(|n| engine.host_runner().is_some_and(|h| h.reaches(n)))
                    .collect(),
            };
            engine.read_facts(&nodes, &[]).await
        })
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let retention = ctx.config.policies.snapshot_retention;
        let mut p = Plan::new(match &self.node {
            Some(n) => format!("Remove expired LVM snapshots on {n}"),
            None => "Remove expired LVM snapshots".to_string(),
        });
        for (n, lvs) in &ctx.facts.lvs {
            lvm::catalog::sync_node(tx, ctx.cluster, n, lvs)?;
        }
        let known: Vec<_> = lvm::catalog::known(tx, ctx.cluster)?
            .into_iter()
            .filter(|k| ctx.facts.lvs.contains_key(&k.node))
            .collect();
        let guarding: HashSet<String> = queue::ids_in(
            tx,
            ctx.cluster,
            &[
                ActionState::Running,
                ActionState::Failed,
                ActionState::RolledBack,
                ActionState::Approved,
            ],
        )?
        .into_iter()
        .collect();
        let expired = lvm::retention::expired(
            &known,
            crate::store::now(),
            retention.max_age_days,
            retention.max_snapshots_per_volume,
            &guarding,
        );
        if expired.is_empty() {
            return Err(EngineError::NothingToDo(format!(
                "no LVM snapshot has expired (retention: {} days, at most {} per volume; only snapshots proxdeck made)",
                retention.max_age_days, retention.max_snapshots_per_volume
            )));
        }
        let mut steps = StepList::default();
        for (i, e) in expired.iter().enumerate() {
            let (vg, _) = split_volume(&e.volume)?;
            steps.add(
                &format!("remove-{}", i + 1),
                Some(&e.node),
                format!("lvremove -y {vg}/{} ({})", e.name, e.reason),
            );
            p.params.insert(
                format!("remove.{}", i + 1),
                format!("{}|{}|{}", e.node, e.volume, e.name),
            );
        }
        steps.add("record", None, "refresh the catalog");
        p.steps = steps.into_steps();
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let result = async {
                let mut removed = Vec::new();
                let mut nodes = Vec::new();
                for (s, spec) in run.removals()? {
                    let mut parts = spec.splitn(3, '|');
                    let (node, volume, name) = (
                        parts.next().unwrap_or_default().to_string(),
                        parts.next().unwrap_or_default().to_string(),
                        parts.next().unwrap_or_default().to_string(),
                    );
                    let (vg, _) = split(&volume);
                    run.step(&s.key, |ctx| async move {
                        let lvs = ctx.run.engine.lvs(&node).await?;
                        if !lvs.iter().any(|l| l.vg == vg && l.name == name) {
                            return Ok::<Note, EngineError>(note("already gone"));
                        }
                        let cmd = lvm::ops::remove(&vg, &name);
                        ctx.host(&node, &cmd).await?.check(&node, &cmd)?;
                        Ok(note(format!("removed {vg}/{name}")))
                    })
                    .await?;
                    if !nodes.contains(&s.target) {
                        nodes.push(s.target.clone());
                    }
                    removed.push(spec);
                }
                run.step("record", |_ctx| async {
                    for n in nodes.iter().flatten() {
                        refresh(run, n).await?;
                    }
                    Ok(note(format!("{} removed", removed.len())))
                })
                .await?;
                Ok(json!({"removed": removed}))
            }
            .await;
            finish(result, serde_json::Value::Null)
        })
    }
}
