//! Back a guest up with vzdump (mode and compression as asked), catalog the
//! archive, then, as the automated workflow does, verify it, copy it to the
//! secondary storage and prune by retention.

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::backup::{
    catalog_storage, describe_keep, prune_step, storage_on, sync_step, verify_step,
};
use super::step::note;
use super::{Outcome, Run, Workflow, finish};
use crate::action_kind::ActionKind;
use crate::backup::catalog as bcat;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList};
use crate::pve::requests::{BackupMode, Compression, VzdumpOptions, notes_template};

/// Back a guest up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBackup {
    pub guest: GuestSel,
    pub storage: String,
    /// `snapshot`, `suspend` or `stop`.
    pub mode: String,
    /// `zstd`, `gzip`, `lzo` or `0`.
    pub compress: String,
    pub notes: Option<String>,
    /// Then verify, sync and prune, as the scheduled workflow does.
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub sync: bool,
    #[serde(default)]
    pub prune: bool,
}

/// The archive the backup step made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Archive {
    volid: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn marker(run: &Run) -> String {
    format!("proxdeck {}", run.id())
}

impl Workflow for CreateBackup {
    fn name(&self) -> &'static str {
        "backup"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::CreateBackup
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "backup"
    }

    fn describe(&self) -> String {
        format!(
            "back up {} to {} ({})",
            self.guest.name, self.storage, self.mode
        )
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move {
            // Work on the archive runs on the node: say so now if it cannot be reached.
            if self.verify || self.sync {
                engine.hosts(&self.guest.node)?;
            }
            Ok(PlanFacts::default())
        })
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        _action_id: &str,
    ) -> Result<Plan, EngineError> {
        let ops = &ctx.config.policies.ops;
        let CreateBackup {
            guest,
            storage,
            mode,
            compress,
            notes,
            verify,
            sync,
            prune,
        } = self;

        let g = ctx.guest(guest)?;
        if let Some(n) = notes {
            notes_template(n).map_err(|e| EngineError::Invalid(format!("backup notes: {e}")))?;
        }
        let st = storage_on(ctx, &g.node, storage)
            .ok_or_else(|| EngineError::Invalid(format!("{} has no storage {storage}", g.node)))?;
        if !st.content.iter().any(|c| c == "backup") {
            return Err(EngineError::Invalid(format!(
                "storage {storage} does not take backups (its content is {})",
                st.content.join(",")
            )));
        }
        if !["snapshot", "suspend", "stop"].contains(&mode.as_str()) {
            return Err(EngineError::Invalid(format!(
                "'{mode}' is not a backup mode (snapshot, suspend, stop)"
            )));
        }
        if !["zstd", "gzip", "lzo", "0"].contains(&compress.as_str()) {
            return Err(EngineError::Invalid(format!(
                "'{compress}' is not a compression (zstd, gzip, lzo, 0)"
            )));
        }
        let mut p = Plan::new(format!(
            "Back up {} ({} {} on {}) to {storage}, mode {mode}, {}",
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node,
            if compress == "0" {
                "uncompressed".to_string()
            } else {
                compress.clone()
            }
        ));
        let mut steps = StepList::default();
        steps.add(
            "backup",
            None,
            format!(
                "vzdump {} --storage {storage} --mode {mode} --compress {compress}{}",
                g.vmid,
                notes
                    .as_ref()
                    .map(|n| format!(" (notes: {n})"))
                    .unwrap_or_default()
            ),
        );
        steps.add(
            "catalog",
            None,
            "record the new archive in the backup catalog",
        );
        if mode == "stop" && g.is_running() {
            p.notes.push(format!(
                "{} is running: mode stop shuts it down for the backup and starts it again",
                g.name
            ));
        }
        if *verify {
            steps.add(
                "verify",
                None,
                format!(
                    "check the archive on {} (compression test, full read, SHA-256)",
                    g.node
                ),
            );
        }
        if *sync {
            let t = ops.backup_sync.as_ref().ok_or_else(|| {
                EngineError::Invalid(
                    "sync was asked for, but backup_sync is not set in action-policies.yml".into(),
                )
            })?;
            if t.storage == *storage {
                return Err(EngineError::Invalid(format!(
                    "backup_sync points at {storage} itself"
                )));
            }
            steps.add(
                "sync",
                None,
                format!(
                    "copy the archive to {} on {} and compare SHA-256 on both sides",
                    t.storage, t.node
                ),
            );
            p.params.insert("sync.node".into(), t.node.clone());
            p.params.insert("sync.storage".into(), t.storage.clone());
        }
        if *prune {
            steps.add(
                "prune",
                None,
                format!(
                    "apply retention ({}) to {}'s backups on {storage}; protected ones stay",
                    describe_keep(&ops.backup_retention),
                    g.name
                ),
            );
            p.params
                .insert("keep".into(), describe_keep(&ops.backup_retention));
        }
        p.steps = steps.into_steps();
        p.params.insert("node".into(), g.node.clone());
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { finish(self.steps(run).await, Value::Null) })
    }
}

/// The notes vzdump writes: the requester's text (or the guest's name)
/// meant literally, with this action's marker on its first line (a dir
/// storage keeps only the first line, and the marker finds the archive).
fn notes_with_mark(notes: Option<&str>, mark: &str) -> Result<String, EngineError> {
    let text = notes.unwrap_or("{{guestname}}");
    let (first, rest) = match text.split_once('\n') {
        Some((f, r)) => (f.trim_end_matches('\r'), Some(r)),
        None => (text, None),
    };
    let with_mark = match rest {
        Some(r) => format!("{first} ({mark})\n{r}"),
        None => format!("{first} ({mark})"),
    };
    notes_template(&with_mark).map_err(|e| EngineError::Invalid(format!("backup notes: {e}")))
}

impl CreateBackup {
    async fn steps(&self, run: &Run) -> Result<Value, EngineError> {
        let g = &self.guest;
        let (storage, mode, compress) = (
            self.storage.as_str(),
            self.mode.as_str(),
            self.compress.as_str(),
        );
        let notes = self.notes.as_deref();
        let node = g.node.as_str();
        let mark = marker(run);
        let mark = mark.as_str();
        let backup: Archive = run
            .step("backup", |ctx| async move {
                let find = || async {
                    let list = run
                        .client()
                        .storage_content(node, storage, Some("backup"), Some(g.vmid))
                        .await?;
                    Ok::<_, EngineError>(
                        list.into_iter()
                            .find(|c| c.notes.as_deref().is_some_and(|n| n.contains(mark))),
                    )
                };
                if ctx.prior_upid.is_none()
                    && let Some(c) = find().await?
                {
                    return Ok(Archive {
                        volid: c.volid,
                        size: c.size,
                        note: Some("made by an earlier run".into()),
                    });
                }
                // vzdump locks the guest for the whole backup: no clone or
                // other backup of it from this process meanwhile.
                let _held = run.engine.guest_lock(g.vmid).write_owned().await;
                let opts = VzdumpOptions {
                    vmids: vec![g.vmid],
                    mode: BackupMode::parse(mode),
                    storage: Some(storage.to_string()),
                    compress: Compression::parse(compress),
                    notes_template: Some(notes_with_mark(notes, mark)?),
                    ..Default::default()
                };
                let out = ctx.task(|| run.client().vzdump(node, &opts)).await?;
                let c = find().await?.ok_or_else(|| {
                    EngineError::Step(format!(
                        "vzdump ended ({}) but no new backup of {} is on {storage}",
                        out.exitstatus, g.vmid
                    ))
                })?;
                Ok(Archive {
                    volid: c.volid,
                    size: c.size,
                    note: None,
                })
            })
            .await?;
        let volid = backup.volid;
        run.step("catalog", |_ctx| async {
            catalog_storage(run, node, storage).await?;
            let (v, m) = (volid.clone(), mode.to_string());
            run.engine
                .write(move |tx, inner| Ok(bcat::set_mode(tx, &inner.cluster, &v, &m)?))
                .await?;
            Ok(note(format!("catalogued {volid}")))
        })
        .await?;
        let mut out = json!({"volid": volid, "guest": g.vmid});
        if run.has_step("verify") {
            let v = run
                .step("verify", |ctx| verify_step(ctx, node, &volid))
                .await?;
            out["sha256"] = json!(v.sha256);
        }
        if run.has_step("sync") {
            let (to_node, to_storage) = (run.param("sync.node")?, run.param("sync.storage")?);
            let s = run
                .step("sync", |ctx| {
                    sync_step(ctx, node, &volid, to_node, to_storage)
                })
                .await?;
            out["copy"] = json!(s.copy);
        }
        if run.has_step("prune") {
            let p = run
                .step("prune", |ctx| prune_step(ctx, node, storage, g.vmid))
                .await?;
            out["pruned"] = json!(p.removed);
        }
        Ok(out)
    }
}
