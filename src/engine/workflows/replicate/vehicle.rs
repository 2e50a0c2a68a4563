//! The backup-and-restore way of copying a guest to a node its disks cannot
//! reach: a vzdump of the source to a shared backup storage (one per target,
//! found again by its notes marker after a crash), restored on the target,
//! then removed.

use serde::{Deserialize, Serialize};

use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::TargetPlan;
use crate::engine::workflows::common::backup::{MarkedBackup, marked_backup};
use crate::engine::workflows::common::guest::{Made, wait_unlocked};
use crate::engine::workflows::{Run, StepCtx};
use crate::pve::requests::{BackupMode, RestoreOptions};

/// The vehicle backup a target's backup step made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    pub volid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The marker that finds this action's backup for one target again after a
/// crash (each target has its own vehicle backup).
fn backup_marker(run: &Run, target: &str) -> String {
    format!("proxdeck {} for {target}", run.id())
}

/// Back the source up to `storage` for `target`.
pub async fn backup(
    ctx: StepCtx,
    source: &GuestSel,
    target: &str,
    storage: String,
) -> Result<Vehicle, EngineError> {
    let marker = backup_marker(&ctx.run, target);
    let (volid, earlier) = marked_backup(
        &ctx,
        &MarkedBackup {
            node: &source.node,
            kind: source.kind,
            vmid: source.vmid,
            storage: &storage,
            mode: BackupMode::Snapshot,
            marker: &marker,
        },
    )
    .await?;
    Ok(Vehicle {
        volid,
        note: earlier.then(|| "made by an earlier run".into()),
    })
}

/// Restore the vehicle on the target as the planned VMID, then remove it.
pub async fn restore(
    ctx: StepCtx,
    t: &TargetPlan,
    source: &GuestSel,
    volid: String,
) -> Result<Made, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    if ctx.prior_upid.is_none() && run.locate(t.vmid).await?.is_some() {
        wait_unlocked(run, t.vmid).await?;
        return Ok(Made {
            vmid_was_free: true,
            note: Some("restored by an earlier run".into()),
        });
    }
    // The storage the plan chose on the target (never the source's by
    // assumption: the target may not have it).
    let opts = RestoreOptions {
        vmid: t.vmid,
        archive: volid.clone(),
        storage: t.storage.clone(),
        unique: Some(true),
        ..Default::default()
    };
    ctx.task(|| c.restore(&t.node, source.kind, &opts)).await?;
    // The archive was only a vehicle: remove it.
    let store_id = volid.split(':').next().unwrap_or_default().to_string();
    if let Ok(Some(up)) = c.delete_volume(&source.node, &store_id, &volid).await {
        let _ = c.wait_task(&up, &run.engine.options().wait, |_| {}).await;
    }
    Ok(Made {
        vmid_was_free: true,
        note: None,
    })
}
