//! The steps that make the copy itself: the clone (holding the source as
//! Proxmox does, from a temporary snapshot for a running container), the
//! CD-ROMs emptied before a migration, the migration (checked by where the
//! guest is afterwards), and the template conversion (followed to its end,
//! also for containers, whose conversion runs as a task the API does not name).

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

use super::run::CopyKind;
use crate::engine::action::GuestSel;
use crate::engine::error::EngineError;
use crate::engine::plan::{Strategy, TargetPlan};
use crate::engine::workflows::common::guest::wait_unlocked;
use crate::engine::workflows::step::{Note, done, note};
use crate::engine::workflows::{Run, StepCtx};
use crate::pve::requests::{
    CloneOptions, ConfigChange, MigrateOptions, SnapshotOptions, TaskListOptions,
};
use crate::pve::{GuestKind, GuestRef, Upid};

/// A task a step ran to its end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDone {
    #[serde(default)]
    pub exitstatus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// This process's hold on a clone's source for the length of the clone task.
/// Proxmox locks the source for the whole task (a container's config lock
/// `disk`, a running VM's config file exclusively) and a second clone fails
/// on it instead of waiting; only a stopped VM's clones share it.
enum SourceHold {
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Exclusive(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

async fn hold_source(run: &Run, source: &GuestRef) -> Result<SourceHold, EngineError> {
    let lock = run.engine.guest_lock(source.vmid);
    let shared = source.kind == GuestKind::Qemu
        && run.client().guest_status(source).await?.status != "running";
    Ok(if shared {
        SourceHold::Shared(lock.read_owned().await)
    } else {
        SourceHold::Exclusive(lock.write_owned().await)
    })
}

/// Clone the source for one target, as its route says.
pub async fn clone(
    ctx: StepCtx,
    source: &GuestSel,
    t: &TargetPlan,
    strategy: &Strategy,
    kind: CopyKind,
) -> Result<TaskDone, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    let src_ref = GuestRef::new(&source.node, source.kind, source.vmid);
    if ctx.prior_upid.is_none()
        && let Some(existing) = run.locate(t.vmid).await?
    {
        // An earlier run created it before it could journal the task.
        wait_unlocked(run, t.vmid).await?;
        let dropped = drop_temporary_snapshot(run, &src_ref, t).await;
        return Ok(TaskDone {
            note: Some(
                [
                    Some(format!(
                        "found {} already on {}",
                        t.vmid,
                        existing.node.unwrap_or_default()
                    )),
                    dropped,
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
            ),
            ..Default::default()
        });
    }
    let _hold = hold_source(run, &src_ref).await?;
    if ctx.prior_upid.is_none()
        && let Some(snap) = &t.from_snapshot
    {
        take_temporary_snapshot(run, &src_ref, snap).await?;
    }
    let opts = CloneOptions {
        newid: t.vmid,
        name: Some(t.name.clone()),
        // Straight to the node; `storage` is left out so that every disk
        // stays on its own (shared) storage instead of all moving to one.
        target: matches!(strategy, Strategy::CloneWithTarget { .. }).then(|| t.node.clone()),
        full: Some(true),
        snapname: t.from_snapshot.clone(),
        description: Some(format!(
            "{} of {} ({}), made by proxdeck action {}",
            match kind {
                CopyKind::Replica => "replica",
                CopyKind::Clone => "clone",
            },
            source.name,
            source.vmid,
            run.id()
        )),
        ..Default::default()
    };
    let out = ctx.task(|| c.clone_guest(&src_ref, &opts)).await;
    let dropped = drop_temporary_snapshot(run, &src_ref, t).await;
    let out = out?;
    Ok(TaskDone {
        exitstatus: Some(out.exitstatus),
        on: Some(source.node.clone()),
        note: dropped,
    })
}

/// The temporary snapshot a running container is cloned from (kept if an
/// earlier run already took it).
async fn take_temporary_snapshot(run: &Run, src: &GuestRef, snap: &str) -> Result<(), EngineError> {
    let c = run.client();
    wait_unlocked(run, src.vmid).await?;
    if c.snapshots(src).await?.iter().any(|s| s.name == snap) {
        return Ok(());
    }
    let up = c
        .create_snapshot(
            src,
            &SnapshotOptions {
                snapname: snap.to_string(),
                description: Some(format!(
                    "temporary: proxdeck action {} clones the running container from it",
                    run.id()
                )),
                vmstate: None,
            },
        )
        .await?;
    c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
    Ok(())
}

/// Remove the temporary snapshot, if the target has one and it is there;
/// says so when it could not (the copy itself stands).
async fn drop_temporary_snapshot(run: &Run, src: &GuestRef, t: &TargetPlan) -> Option<String> {
    let snap = t.from_snapshot.as_deref()?;
    let c = run.client();
    let attempt = async {
        if !c.snapshots(src).await?.iter().any(|s| s.name == snap) {
            return Ok::<_, EngineError>(());
        }
        wait_unlocked(run, src.vmid).await?;
        let up = c.delete_snapshot(src, snap).await?;
        c.wait_task(&up, &run.engine.options().wait, |_| {}).await?;
        Ok(())
    };
    match attempt.await {
        Ok(()) => None,
        Err(e) => Some(format!(
            "the temporary snapshot {snap} of {} is still there: {e}",
            src.vmid
        )),
    }
}

/// Empty the clone's CD-ROM drives that migration would refuse.
pub async fn eject(ctx: StepCtx, t: &TargetPlan, kind: GuestKind) -> Result<Note, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    let node = run
        .locate(t.vmid)
        .await?
        .and_then(|r| r.node)
        .ok_or_else(|| {
            EngineError::Step(format!(
                "guest {} vanished before its CD-ROM was emptied",
                t.vmid
            ))
        })?;
    let g = GuestRef::new(&node, kind, t.vmid);
    let cfg = c.guest_config(&g).await?;
    let mut change = ConfigChange {
        digest: cfg.digest().map(str::to_string),
        ..Default::default()
    };
    for d in &t.eject {
        if cfg.get(&d.key).is_some_and(|v| v.starts_with("none,")) {
            continue;
        }
        change = change.set(&d.key, "none,media=cdrom");
    }
    if change.set.is_empty() {
        return Ok(note("already empty"));
    }
    c.set_config(&g, &change).await?;
    Ok(done())
}

/// Migrate the new guest to its node; done when Proxmox lists it there.
pub async fn migrate(
    ctx: StepCtx,
    t: &TargetPlan,
    kind: GuestKind,
) -> Result<TaskDone, EngineError> {
    let run = &ctx.run;
    let c = run.client();
    if ctx.prior_upid.is_none() {
        if let Some(r) = run.locate(t.vmid).await?
            && r.lock.as_deref() == Some("migrate")
        {
            wait_unlocked(run, t.vmid).await?;
        }
        match run.locate(t.vmid).await? {
            Some(r) if r.node.as_deref() == Some(&t.node) => {
                return Ok(TaskDone {
                    note: Some("already on the target node".into()),
                    ..Default::default()
                });
            }
            None => {
                return Err(EngineError::Step(format!(
                    "guest {} vanished before its migration",
                    t.vmid
                )));
            }
            _ => {}
        }
    }
    let from = run
        .locate(t.vmid)
        .await?
        .and_then(|r| r.node)
        .unwrap_or_else(|| t.node.clone());
    let g = GuestRef::new(&from, kind, t.vmid);
    let opts = MigrateOptions {
        target: t.node.clone(),
        with_local_disks: (kind == GuestKind::Qemu).then_some(true),
        ..Default::default()
    };
    let out = ctx.task(|| c.migrate(&g, &opts)).await?;
    // A task's OK is not the whole story: the guest must now be listed there.
    let now = run.locate(t.vmid).await?.and_then(|r| r.node);
    if now.as_deref() != Some(t.node.as_str()) {
        return Err(EngineError::Step(format!(
            "the migration of {} ended {} but the guest is on {}, not {}",
            t.vmid,
            out.exitstatus,
            now.as_deref().unwrap_or("no node"),
            t.node
        )));
    }
    Ok(TaskDone {
        exitstatus: Some(out.exitstatus),
        ..Default::default()
    })
}

/// Make the new guest a template, as its source is. A container's
/// conversion runs as a `vztemplate` task while the API answers nothing:
/// that task is found and followed, so a failure is seen.
pub async fn template(ctx: StepCtx, target: &GuestRef) -> Result<Note, EngineError> {
    let c = ctx.run.client();
    if let Some(u) = ctx.prior_upid.clone() {
        ctx.follow(&u).await?;
        return Ok(done());
    }
    if c.guest_config(target).await?.is_template() {
        return Ok(note("already a template"));
    }
    let since = crate::store::now() - 5;
    let upid = match c.make_template(target).await? {
        Some(up) => up,
        None => find_worker(&ctx, target, "vztemplate", since).await?,
    };
    ctx.store_upid(&upid).await?;
    ctx.follow(&upid).await?;
    if !c.guest_config(target).await?.is_template() {
        return Err(EngineError::Step(format!(
            "the template task of {} ended but {} is not a template",
            target.vmid, target.vmid
        )));
    }
    Ok(done())
}

/// The newest task of a type for a guest started since `since`: how a
/// worker the API does not answer with is found.
async fn find_worker(
    ctx: &StepCtx,
    g: &GuestRef,
    task_type: &str,
    since: i64,
) -> Result<Upid, EngineError> {
    let list = ctx
        .run
        .client()
        .node_tasks(
            &g.node,
            &TaskListOptions {
                vmid: Some(g.vmid),
                typefilter: Some(task_type.to_string()),
                source: Some("all".into()),
                since: Some(since),
                ..Default::default()
            },
        )
        .await?;
    let newest = list
        .into_iter()
        .max_by_key(|t| t.starttime.unwrap_or(0))
        .ok_or_else(|| {
            EngineError::Step(format!(
                "Proxmox started no {task_type} task for {}",
                g.vmid
            ))
        })?;
    newest
        .upid
        .parse::<Upid>()
        .map_err(|e| EngineError::Step(format!("task list: {e}")))
}
