//! Verify a backup archive on a node that reaches its storage: a
//! compression test, a full read of every member (`vma verify` for qemu
//! archives), SHA-256; Proxmox Backup Server's own verification state for PBS.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::backup::{find_archive, verify_step};
use super::step::note;
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::backup::archive;
use crate::engine::action::{GuestSel, short_volid};
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList, storage_of};

/// Verify a backup archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyBackup {
    pub volid: String,
    /// A node that reaches the storage.
    pub node: String,
    /// The guest the backup is of, when it still exists.
    pub guest: Option<GuestSel>,
}

impl Workflow for VerifyBackup {
    fn name(&self) -> &'static str {
        "verify"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::VerifyBackup
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
        "verify"
    }

    fn describe(&self) -> String {
        format!("verify {}", short_volid(&self.volid))
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            let content = [(self.node.clone(), storage_of(&self.volid).to_string())];
            let f = engine.read_facts(&[], &content).await?;
            // Work on archives runs on the nodes: say so now if they cannot be reached.
            let node = engine.pve_name(&self.node);
            let pbs = f
                .backups_on(&node, storage_of(&self.volid))
                .iter()
                .any(|c| c.volid == self.volid && c.format.starts_with("pbs"));
            if !pbs {
                engine.hosts(&node)?;
            }
            Ok(f)
        })
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let VerifyBackup { volid, node, .. } = self;

        let node = ctx.pve_node(node)?;
        let c = find_archive(ctx.facts.backups_on(&node, storage_of(volid)), volid, &node)?;
        let mut p = Plan::new(format!("Verify {}", short_volid(volid)));
        let mut steps = StepList::default();
        let pbs = c.format.starts_with("pbs");
        if pbs {
            steps.add(
                "verify",
                None,
                "read the verification state Proxmox Backup Server reports",
            );
        } else {
            let a = archive::parse(volid)
                .ok_or_else(|| EngineError::Invalid(format!("{volid} is not a vzdump archive")))?;
            let tool = a
                .compression
                .tool()
                .map(|t| format!("{t} -t, "))
                .unwrap_or_default();
            let read = match a.container {
                archive::Container::Tar => "list every tar member",
                archive::Container::Vma => "vma verify of the decompressed stream",
            };
            steps.add("verify", None, format!("on {node}: {tool}{read}, SHA-256"));
        }
        steps.add("record", None, "record the result in the backup catalog");
        p.steps = steps.into_steps();
        p.params.insert("node".into(), node);
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let volid = self.volid.as_str();
            let result = async {
                let node = run.param("node")?;
                let v = run
                    .step("verify", |ctx| verify_step(ctx, node, volid))
                    .await?;
                run.step("record", |_ctx| async {
                    Ok(note("recorded with the verification"))
                })
                .await?;
                Ok(json!({"volid": volid, "verified": true, "sha256": v.sha256}))
            }
            .await;
            finish(result, json!({"volid": volid}))
        })
    }
}

/// The VMID in an archive's name, as the subject of an action id.
pub(crate) fn archive_subject(volid: &str) -> String {
    archive::parse(volid)
        .map(|a| a.vmid.to_string())
        .unwrap_or_else(|| "x".into())
}
