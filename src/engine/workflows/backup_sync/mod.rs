//! Copy a backup archive to a secondary storage on another node (over SSH,
//! written under a temporary name first), compare SHA-256 on both sides and
//! record the copy, linked to its original.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::backup_verify::archive_subject;
use super::common::backup::{find_archive, storage_on, sync_step};
use super::step::note;
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::engine::action::{GuestSel, short_volid};
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList, storage_of};

/// Copy a backup to another storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncBackup {
    pub volid: String,
    /// A node that reaches the archive's storage.
    pub node: String,
    pub to_node: String,
    pub to_storage: String,
    pub guest: Option<GuestSel>,
}

impl Workflow for SyncBackup {
    fn name(&self) -> &'static str {
        "sync"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::SyncBackup
    }

    fn guests(&self) -> Vec<&GuestSel> {
        self.guest.iter().collect()
    }

    fn node(&self) -> &str {
        &self.node
    }

    fn id_subject(&self) -> String {
        archive_subject(&self.volid)
    }

    fn id_prefix(&self) -> &'static str {
        "sync"
    }

    fn describe(&self) -> String {
        format!(
            "copy {} to {} on {}",
            short_volid(&self.volid),
            self.to_storage,
            self.to_node
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            let content = [(self.node.clone(), storage_of(&self.volid).to_string())];
            let f = engine.read_facts(&[], &content).await?;
            engine.hosts(&engine.pve_name(&self.node))?;
            engine.hosts(&engine.pve_name(&self.to_node))?;
            Ok(f)
        })
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let SyncBackup {
            volid,
            node,
            to_node,
            to_storage,
            ..
        } = self;

        let node = ctx.pve_node(node)?;
        let to_node = ctx.pve_node(to_node)?;
        find_archive(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
        let target = storage_on(ctx, &to_node, to_storage).ok_or_else(|| {
            EngineError::Invalid(format!("{to_node} has no storage {to_storage}"))
        })?;
        let source_shared = storage_on(ctx, &node, storage_of(volid)).is_some_and(|s| s.shared);
        if source_shared && storage_of(volid) == to_storage {
            return Err(EngineError::Invalid(format!(
                "{to_storage} is the archive's own (shared) storage: nothing to copy"
            )));
        }
        if !target.content.iter().any(|c| c == "backup") {
            return Err(EngineError::Invalid(format!(
                "{to_storage} on {to_node} does not take backups"
            )));
        }
        let mut p = Plan::new(format!(
            "Copy {} to {to_storage} on {to_node}",
            short_volid(volid)
        ));
        let mut steps = StepList::default();
        steps.add("copy", None, format!("copy from {node} to {to_node}:{to_storage} (SSH, written under a temporary name first)"));
        steps.add("compare", None, "SHA-256 on both sides must match");
        steps.add(
            "record",
            None,
            "record the copy in the catalog, linked to its original",
        );
        p.steps = steps.into_steps();
        p.params.insert("node".into(), node);
        p.params.insert("to_node".into(), to_node);
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let (volid, to_storage) = (self.volid.as_str(), self.to_storage.as_str());
            let result = async {
                let node = run.param("node")?;
                let to_node = run.param("to_node")?;
                let s = run
                    .step("copy", |ctx| {
                        sync_step(ctx, node, volid, to_node, to_storage)
                    })
                    .await?;
                run.step("compare", |_ctx| async {
                    Ok(note(format!("SHA-256 {} on both sides", s.sha256)))
                })
                .await?;
                run.step("record", |_ctx| async {
                    Ok(note(format!("copy {}", s.copy)))
                })
                .await?;
                Ok(json!({"volid": volid, "copy": s.copy, "sha256": s.sha256}))
            }
            .await;
            finish(result, json!({"volid": volid}))
        })
    }
}
