//! Roll a guest back to one of its snapshots, taking a safety snapshot of
//! the current state first when policy asks (and going back to it if the
//! rollback fails).

use futures_util::future::BoxFuture;
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::common::backup::{MarkedBackup, marked_backup};
use super::common::guest::gref;
use super::common::safety::{SnapshotSpec, back_to_safety, record_snapshots, take_snapshot};
use super::{Outcome, Run, Workflow, failed};
use crate::action_kind::ActionKind;
use crate::config::policies::SafetyTrigger;
use crate::engine::action::GuestSel;
use crate::engine::core::Engine;
use crate::engine::error::EngineError;
use crate::engine::plan::{Plan, PlanContext, PlanFacts, StepList, snapshot_name};
use crate::engine::snapshot_catalog::Purpose;
use crate::policy::Policy;
use crate::pve::requests::BackupMode;

/// Roll a guest back to a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackGuestSnapshot {
    pub guest: GuestSel,
    pub snapshot: String,
    /// Start the guest after the rollback.
    #[serde(default)]
    pub start: bool,
}

/// The step's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RolledBack {
    exitstatus: String,
}

impl Workflow for RollbackGuestSnapshot {
    fn name(&self) -> &'static str {
        "rollback"
    }

    fn kind(&self) -> ActionKind {
        ActionKind::RestoreSnapshot
    }

    fn guests(&self) -> Vec<&GuestSel> {
        vec![&self.guest]
    }

    fn id_prefix(&self) -> &'static str {
        "rollback"
    }

    fn describe(&self) -> String {
        format!("roll {} back to {}", self.guest.name, self.snapshot)
    }

    fn safety_trigger(&self) -> Option<SafetyTrigger> {
        Some(SafetyTrigger::Rollback)
    }

    fn facts<'a>(&'a self, engine: &'a Engine) -> BoxFuture<'a, Result<PlanFacts, EngineError>> {
        Box::pin(async move { engine.snapshot_facts(&gref(&self.guest)).await })
    }

    fn plan(
        &self,
        _tx: &Transaction<'_>,
        ctx: &PlanContext<'_>,
        action_id: &str,
    ) -> Result<Plan, EngineError> {
        let g = ctx.guest(&self.guest)?;
        let s = &self.snapshot;
        let snaps = ctx.facts.snapshots_of(g.vmid);
        let Some(target) = snaps.iter().find(|x| &x.name == s) else {
            return Err(EngineError::NotPossible(format!(
                "{} has no snapshot {s} ({})",
                g.name,
                if snaps.is_empty() {
                    "it has none".to_string()
                } else {
                    format!(
                        "it has {}",
                        snaps
                            .iter()
                            .map(|x| x.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )));
        };
        let newer: Vec<&str> = snaps
            .iter()
            .filter(|x| x.snaptime.unwrap_or(0) > target.snaptime.unwrap_or(0))
            .map(|x| x.name.as_str())
            .collect();
        let newest_only = newest_only_storages(ctx, g);
        if !newest_only.is_empty() && !newer.is_empty() {
            return Err(EngineError::NotPossible(format!(
                "{}'s disks are on {} (ZFS), where Proxmox rolls back only to the most recent snapshot; {s} has newer ones: {}. Delete those first (they would be lost anyway), then roll back",
                g.name,
                newest_only.join(", "),
                newer.join(", ")
            )));
        }
        let policy = Policy::new(&ctx.config.policies, &ctx.config.naming, ctx.read_only);
        let mut steps = StepList::default();
        let mut p = Plan::new(format!(
            "Roll {} ({} {} on {}) back to snapshot {s}",
            g.name,
            g.kind.noun(),
            g.vmid,
            g.node
        ));
        if policy.wants_safety_snapshot(self) {
            if newest_only.is_empty() {
                let n = snapshot_name(
                    &ctx.config.policies.safety_snapshots.name_pattern,
                    "-pre-rb",
                    action_id,
                );
                steps.add(
                    "safety-snapshot",
                    None,
                    format!("safety snapshot {n} of the current state"),
                );
                p.safety_snapshot = Some(n);
            } else {
                // A new snapshot would become the most recent one and make
                // the rollback impossible: the safety net is a backup.
                let storage = safety_backup_storage(ctx, g)?;
                steps.add(
                    "safety-backup",
                    None,
                    format!(
                        "back up the current state to {storage} (vzdump, snapshot mode): on ZFS a safety snapshot would make the rollback impossible"
                    ),
                );
                p.notes.push(format!(
                    "the safety net is a backup on {storage}, not a snapshot: should the rollback go wrong, restore it (proxdeck does not roll back to it by itself)"
                ));
                p.params.insert("safety.storage".into(), storage);
            }
        }
        steps.add(
            "rollback",
            None,
            format!(
                "roll {} back to {s}{}",
                g.name,
                if self.start { ", then start it" } else { "" }
            ),
        );
        steps.add("record", None, "refresh the snapshot catalog");
        p.steps = steps.into_steps();
        p.snapshot = Some(s.clone());
        Ok(p)
    }

    fn run<'a>(&'a self, run: &'a Run) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let g = &self.guest;
            let c = run.client();
            let r = gref(g);
            let r = &r;
            let (snapshot, start) = (self.snapshot.as_str(), self.start);
            let safety = run.plan.safety_snapshot.clone();
            let mut safety_backup = None;
            if run.has_step("safety-backup") {
                match take_safety_backup(run, g, snapshot).await {
                    Ok(volid) => safety_backup = Some(volid),
                    Err(e) => return failed(&e, json!({"guest": g.vmid})),
                }
            }
            if let Some(s) = &safety {
                let desc = format!(
                    "safety snapshot before rolling back to {snapshot} (proxdeck {})",
                    run.id()
                );
                let spec = SnapshotSpec {
                    guest: g,
                    name: s,
                    description: Some(&desc),
                    vmstate: false,
                    purpose: Purpose::Safety,
                };
                if let Err(e) = take_snapshot(run, "safety-snapshot", spec).await {
                    return failed(&e, json!({"guest": g.vmid}));
                }
            }
            let done = run
                .step("rollback", |ctx| async move {
                    let out = ctx
                        .task(|| c.rollback(r, snapshot, start.then_some(true)))
                        .await?;
                    Ok(RolledBack {
                        exitstatus: out.exitstatus,
                    })
                })
                .await;
            match done {
                Ok(_) => match record_snapshots(run, g).await {
                    Ok(_) => Outcome::Succeeded(json!({
                        "guest": g.vmid, "rolled_back_to": snapshot, "safety_snapshot": safety,
                        "safety_backup": safety_backup
                    })),
                    Err(e) => failed(&e, json!({"guest": g.vmid})),
                },
                Err(e) if safety_backup.is_some() => failed(
                    &EngineError::Step(format!(
                        "{e}; the state before is in the safety backup {}",
                        safety_backup.as_deref().unwrap_or_default()
                    )),
                    json!({"guest": g.vmid, "safety_backup": safety_backup}),
                ),
                Err(e) => {
                    back_to_safety(run, g, safety.as_deref(), e, json!({"guest": g.vmid})).await
                }
            }
        })
    }
}

/// The storages of a guest's disks on which Proxmox rolls back only to the
/// most recent snapshot (ZFS: pve-storage `ZFSPoolPlugin`).
fn newest_only_storages(ctx: &PlanContext<'_>, g: &crate::inventory::GuestInfo) -> Vec<String> {
    g.storages
        .iter()
        .filter(|id| {
            ctx.inventory
                .storages
                .iter()
                .any(|s| &s.storage == *id && s.node == g.node && s.plugintype == "zfspool")
        })
        .cloned()
        .collect()
}

/// Where a safety backup goes: a backup storage the guest's node has,
/// shared first, then the one with the most room.
fn safety_backup_storage(
    ctx: &PlanContext<'_>,
    g: &crate::inventory::GuestInfo,
) -> Result<String, EngineError> {
    ctx.inventory
        .storages
        .iter()
        .filter(|s| s.node == g.node && s.status == "available")
        .filter(|s| s.content.iter().any(|c| c == "backup"))
        .max_by_key(|s| {
            (
                s.shared,
                s.maxdisk.unwrap_or(0).saturating_sub(s.disk.unwrap_or(0)),
            )
        })
        .map(|s| s.storage.clone())
        .ok_or_else(|| {
            EngineError::NotPossible(format!(
                "policy asks for a safety net before a rollback; on ZFS that must be a backup, and {} has no backup storage",
                g.node
            ))
        })
}

/// The safety backup step: vzdump of the current state, found again by its marker.
async fn take_safety_backup(
    run: &Run,
    g: &GuestSel,
    snapshot: &str,
) -> Result<String, EngineError> {
    let storage = run.param("safety.storage")?.to_string();
    let marker = format!(
        "proxdeck {} safety before rolling back to {snapshot}",
        run.id()
    );
    let storage = &storage;
    let marker = &marker;
    let made: SafetyBackup = run
        .step("safety-backup", |ctx| async move {
            let (volid, earlier) = marked_backup(
                &ctx,
                &MarkedBackup {
                    node: &g.node,
                    kind: g.kind,
                    vmid: g.vmid,
                    storage,
                    mode: BackupMode::Snapshot,
                    marker,
                },
            )
            .await?;
            Ok(SafetyBackup {
                volid,
                note: earlier.then(|| "made by an earlier run".into()),
            })
        })
        .await?;
    Ok(made.volid)
}

/// What the safety backup step made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SafetyBackup {
    volid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}
