//! Prune a guest's backups on a storage by Proxmox's retention rules: the
//! plan lists every archive with the rule that keeps it or `remove`;
//! protected archives are never removed.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::backup::{catalog_storage, describe_keep, prune_marks};
use super::step::{Note, note};
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::backup::prune::Mark;
use crate::engine::action::{GuestSel, short_volid};
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList, storage_of};

/// Remove a guest's backups on a storage that the retention rules do not keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneBackups {
    pub vmid: u32,
    pub storage: String,
    /// A node that reaches the storage.
    pub node: String,
    pub guest: Option<GuestSel>,
}

impl Workflow for PruneBackups {
    fn name(&self) -> &'static str {
        "prune"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::PruneBackups
    }

    fn guests(&self) -> Vec<&GuestSel> {
        self.guest.iter().collect()
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn id_subject(&self) -> String {
        self.vmid.to_string()
    }

    fn id_prefix(&self) -> &'static str {
        "prune"
    }

    fn describe(&self) -> String {
        format!(
            "prune backups of {} on {}",
            self.guest
                .as_ref()
                .map(|g| g.name.clone())
                .unwrap_or_else(|| self.vmid.to_string()),
            self.storage
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            let content = [(self.node.clone(), self.storage.clone())];
            engine.read_facts(&[], &content).await
        })
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let ops = &ctx.config.policies.ops;
        let PruneBackups {
            vmid,
            storage,
            node,
            guest,
        } = self;

        let node = ctx.pve_node(node)?;
        let keep = &ops.backup_retention;
        let marks = prune_marks(
            ctx.facts.backups_on(&node, storage),
            *vmid,
            keep,
            &ctx.facts.zone_of(&node),
        );
        let name = guest
            .as_ref()
            .map(|g| g.name.clone())
            .unwrap_or_else(|| vmid.to_string());
        let mut p = Plan::new(format!(
            "Prune backups of {name} on {storage} ({})",
            describe_keep(keep)
        ));
        let mut steps = StepList::default();
        let mut n = 0;
        for (c, m) in &marks {
            let when = c
                .ctime
                .map(|t| crate::timefmt::format_in(t, "%Y-%m-%d %H:%M", &ctx.facts.zone_of(&node)))
                .unwrap_or_default();
            p.notes.push(format!(
                "{:<9} {when}  {}",
                m.label(),
                short_volid(&c.volid)
            ));
            if *m == Mark::Remove {
                n += 1;
                steps.add(
                    &format!("remove-{n}"),
                    None,
                    format!("delete {}", short_volid(&c.volid)),
                );
                p.params.insert(format!("remove.{n}"), c.volid.clone());
            }
        }
        if n == 0 {
            return Err(EngineError::Invalid(format!(
                "nothing to prune: every backup of {name} on {storage} is kept ({} archives, {})",
                marks.len(),
                describe_keep(keep)
            )));
        }
        steps.add("record", None, "refresh the backup catalog");
        p.steps = steps.into_steps();
        p.params.insert("node".into(), node);
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { finish(steps(run).await, serde_json::Value::Null) })
    }
}

async fn steps(run: &Run) -> Result<serde_json::Value, EngineError> {
    let node = run.param("node")?;
    let mut removed = Vec::new();
    let mut storages = Vec::new();
    for (s, volid) in run.removals()? {
        let storage = storage_of(&volid).to_string();
        run.step(&s.key, |_ctx| async {
            let listed = run
                .client()
                .storage_content(node, &storage, Some("backup"), None)
                .await?;
            let Some(c) = listed.iter().find(|c| c.volid == volid) else {
                return Ok::<Note, EngineError>(note("already gone"));
            };
            if c.protected {
                return Err(EngineError::Step(format!(
                    "{volid} was protected since the plan was made: not removed"
                )));
            }
            if let Some(up) = run.client().delete_volume(node, &storage, &volid).await? {
                run.client()
                    .wait_task(&up, &run.engine.options().wait, |_| {})
                    .await?;
            }
            Ok(note(format!("removed {volid}")))
        })
        .await?;
        if !storages.contains(&storage) {
            storages.push(storage);
        }
        removed.push(volid);
    }
    run.step("record", |_ctx| async {
        for st in &storages {
            catalog_storage(run, node, st).await?;
        }
        Ok(note(format!("{} removed", removed.len())))
    })
    .await?;
    Ok(json!({"removed": removed}))
}
