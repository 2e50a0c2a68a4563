//! Clone a guest to a node as a new guest named by the convention, with the
//! next address of that node's subnet and a MAC by the scheme. It runs as a
//! replication with one target, recorded as a clone (not a replica).

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use super::replicate::{plan, route, run, tasks};
use super::{Outcome, Run, Workflow};
use crate::action_kind::ActionKind;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{NewGuest, Plan, PlanContext, StepList, Wish};
use crate::pve::GuestKind;

/// Clone a guest to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloneGuest {
    pub source: GuestSel,
    pub target_node: String,
    /// The new guest's role; None: the source's.
    pub role: Option<String>,
    #[serde(default)]
    pub start: bool,
}

impl Workflow for CloneGuest {
    fn name(&self) -> &'static str {
        "clone"
    }

    fn kind(&self) -> ActionKind {
        match self.source.kind {
            GuestKind::Qemu => ActionKind::CloneVm,
            GuestKind::Lxc => ActionKind::CloneLxc,
        }
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.source]
    }

    fn id_prefix(&self) -> &'static str {
        "clone"
    }

    fn describe(&self) -> String {
        format!("clone {} to {}", self.source.name, self.target_node)
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let src = ctx.guest(&self.source)?;
        let role = ctx.role(src, self.role.as_deref())?;
        let node = ctx.pve_node(&self.target_node)?;
        let route = route::route(ctx, src, &node)?;
        let mut t = ctx.new_identity(
            tx,
            action_id,
            NewGuest {
                node: &node,
                role: &role,
                kind: src.kind,
                prefer: None,
                strategy: Some(route.strategy.clone()),
                storage: route.storage.clone(),
                wish: Wish::default(),
            },
        )?;
        plan::apply_route(&mut t, &route, src);
        let mut steps = StepList::default();
        plan::target_steps(&mut steps, &t, src, self.start);
        let mut p = Plan::new(format!(
            "Clone {} ({} {}) to {} as {}",
            src.name,
            src.kind.noun(),
            src.vmid,
            node,
            t.name
        ));
        p.steps = steps.into_steps();
        p.notes = plan::target_notes(&t);
        p.targets.push(t);
        Ok(p)
    }

    fn planned(
        &self,
        tx: &Transaction<'_>,
        cluster: &str,
        action_id: &str,
        plan: &Plan,
    ) -> Result<(), EngineError> {
        tasks::insert_planned(tx, cluster, action_id, &self.source, plan, false)
    }

    fn dropped(&self, tx: &Transaction<'_>, action_id: &str) -> Result<(), EngineError> {
        tasks::clean_up_pending(tx, action_id)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(run::run_targets(
            run,
            &self.source,
            self.start,
            run::CopyKind::Clone,
        ))
    }
}
