//! Replicate a template or guest to other nodes: per target a new guest
//! named by the convention (`pve-db-02`), with the next address of the
//! target's subnet (keeping the origin's host part when free) and a MAC by
//! the scheme, copied by the way Proxmox allows, configured, verified and
//! recorded as a replica of its origin.

pub mod copy;
pub mod plan;
pub mod route;
pub mod run;
pub mod tasks;
pub mod vehicle;

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use super::{Outcome, Run, Workflow};
use crate::action_kind::ActionKind;
use crate::engine::action::{GuestSel, Targets};
use crate::engine::error::EngineError;
use crate::engine::plan::{NewGuest, Plan, PlanContext, StepList, Wish};

/// Replicate a guest to other nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replicate {
    pub source: GuestSel,
    pub targets: Targets,
    /// Start the replicas (not for templates).
    #[serde(default)]
    pub start: bool,
}

impl Workflow for Replicate {
    fn name(&self) -> &'static str {
        "replicate"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::ReplicateResource
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.source]
    }

    fn id_prefix(&self) -> &'static str {
        "repl"
    }

    fn describe(&self) -> String {
        match &self.targets {
            Targets::All => format!("replicate {} to all nodes", self.source.name),
            Targets::Nodes(n) => format!("replicate {} to {}", self.source.name, n.join(", ")),
        }
    }

    fn plan(
        &self,
        tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let src = ctx.guest(&self.source)?;
        let role = ctx.role(src, None)?;
        let nodes: Vec<String> = match &self.targets {
            Targets::All => ctx
                .config
                .naming
                .nodes
                .iter()
                .map(|n| n.pve_name.clone())
                .collect(),
            Targets::Nodes(list) => list
                .iter()
                .map(|n| ctx.pve_node(n))
                .collect::<Result<_, _>>()?,
        };
        let mut existing = plan::replica_nodes(tx, ctx.cluster, src.vmid)?;
        existing.extend(plan::replica_nodes_in_cluster(ctx.inventory, src.vmid));
        let open = plan::open_replications(tx, ctx.cluster, src.vmid)?;
        let mut steps = StepList::default();
        let mut notes = Vec::new();
        let mut targets = Vec::new();
        for node in nodes {
            if node == src.node {
                continue;
            }
            if let Some((_, other)) = open.iter().find(|(n, _)| *n == node) {
                notes.push(format!(
                    "{node} is already being replicated to by {other}: skipped"
                ));
                continue;
            }
            if existing.contains(&node) {
                notes.push(format!(
                    "{node} already has a replica of {}: skipped",
                    src.name
                ));
                continue;
            }
            if !ctx.inventory.node(&node).is_some_and(|n| n.online()) {
                notes.push(format!("{node} is not online: skipped"));
                continue;
            }
            let route = route::route(ctx, src, &node)?;
            let mut t = ctx.new_identity(
                tx,
                action_id,
                NewGuest {
                    node: &node,
                    role: &role,
                    kind: src.kind,
                    prefer: plan::origin_address(ctx, src),
                    strategy: Some(route.strategy.clone()),
                    storage: route.storage.clone(),
                    wish: Wish::default(),
                },
            )?;
            plan::apply_route(&mut t, &route, src);
            notes.extend(plan::target_notes(&t));
            plan::target_steps(&mut steps, &t, src, self.start);
            targets.push(t);
        }
        if targets.is_empty() {
            return Err(EngineError::NothingToDo(format!(
                "nothing to replicate: {}",
                if notes.is_empty() {
                    "no other node".into()
                } else {
                    notes.join("; ")
                }
            )));
        }
        let mut p = Plan::new(format!(
            "Replicate {} ({} {}) from {} to {}",
            src.name,
            src.kind.noun(),
            src.vmid,
            src.node,
            targets
                .iter()
                .map(|t| t.node.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        p.steps = steps.into_steps();
        p.targets = targets;
        p.notes = notes;
        Ok(p)
    }

    fn planned(
        &self,
        tx: &Transaction<'_>,
        cluster: &str,
        action_id: &str,
        plan: &Plan,
    ) -> Result<(), EngineError> {
        tasks::insert_planned(tx, cluster, action_id, &self.source, plan, true)
    }

    fn dropped(&self, tx: &Transaction<'_>, action_id: &str) -> Result<(), EngineError> {
        tasks::clean_up_pending(tx, action_id)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(run::run_targets(
            run,
            &self.source,
            self.start,
            run::CopyKind::Replica,
        ))
    }
}
