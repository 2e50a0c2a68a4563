//! The backup-and-restore way of copying a guest to a node its disks cannot
//! reach: a vzdump of the source to a shared backup storage (one per target,
//! found again by its notes marker after a crash), restored on the target,
//! then removed.

use serde::{Deserialize, Serialize};

use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::TargetPlan;
use crate::engine::workflows::common::guest::{Made, wait_unlocked};
use crate::engine::workflows::{Run, StepCtx};
use crate::pve::GuestRef;
use crate::pve::requests::{BackupMode, Compression, RestoreOptions, VzdumpOptions};

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

async fn find_backup(
    run: &Run,
    source: &GuestSel,
    target: &str,
    storage: &str,
) -> Result<Option<String>, EngineError> {
    let marker = backup_marker(run, target);
    let list = run
        .client()
        .storage_content(&source.node, storage, Some("backup"), Some(source.vmid))
        .await?;
    Ok(list
        .into_iter()
        .find(|b| b.notes.as_deref() == Some(marker.as_str()))
        .map(|b| b.volid))
}

/// Back the source up to `storage` for `target`.
pub async fn backup(
    ctx: StepCtx,
    source: &GuestSel,
    target: &str,
    storage: String,
) -> Result<Vehicle, EngineError> {
    let run = &ctx.run;
    // One backup of a guest at a time from this process: Proxmox runs one
    // vzdump job per node at once anyway, and two in the same second would
    // want the same archive name.
    let guest_lock = run.engine.guest_lock(source.vmid);
    let _held = guest_lock.lock().await;
    if ctx.prior_upid.is_none()
        && let Some(volid) = find_backup(run, source, target, &storage).await?
    {
        return Ok(Vehicle {
            volid,
            note: Some("made by an earlier run".into()),
        });
    }
    let opts = VzdumpOptions {
        vmids: vec![source.vmid],
        mode: Some(BackupMode::Snapshot),
        storage: Some(storage.clone()),
        compress: Some(Compression::Zstd),
        notes_template: Some(backup_marker(run, target)),
        ..Default::default()
    };
    ctx.task(|| run.client().vzdump(&source.node, &opts))
        .await?;
    let volid = find_backup(run, source, target, &storage)
        .await?
        .ok_or_else(|| {
            EngineError::Step(format!(
                "vzdump ended but no backup of {} is in {storage}",
                source.vmid
            ))
        })?;
    Ok(Vehicle { volid, note: None })
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
    let storage = run
        .client()
        .guest_config(&GuestRef::new(&source.node, source.kind, source.vmid))
        .await?
        .disks()
        .first()
        .and_then(|(_, d)| d.storage().map(str::to_string));
    let opts = RestoreOptions {
        vmid: t.vmid,
        archive: volid.clone(),
        storage,
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
