//! Running a copy (replication or clone) target by target: copy by the
//! planned strategy, set name and network, optionally template or start,
//! verify by reading back, record. Targets run in parallel within the
//! per-node limits; a failed target is undone and the others go on.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::copy;
use super::tasks::{self, TargetStatus};
use super::vehicle;
use crate::engine::action::GuestSel;
use crate::engine::error::{EngineError, TargetFailure};
use crate::engine::plan::{Strategy, TargetPlan};
use crate::engine::workflows::common::guest::{claim_vmid, undo_target};
use crate::engine::workflows::common::network::{configure, settle_identity, verify};
use crate::engine::workflows::step::{done, note};
use crate::engine::workflows::{Outcome, Run, failed};
use crate::pve::GuestRef;
use crate::pve::requests::Power;

/// What the copy makes: replicas of a template, or new guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Replica,
    Clone,
}

/// What the record step wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Recorded {
    vmid: u32,
}

fn at(t: &TargetPlan, step: &str) -> String {
    format!("{step}@{}", t.node)
}

/// Run every target of the plan; the outcome lists each target's result.
pub async fn run_targets(run: &Run, source: &GuestSel, start: bool, kind: CopyKind) -> Outcome {
    let futures = run
        .plan
        .targets
        .iter()
        .map(|t| target(run, source, t, start, kind));
    let results = futures_util::future::join_all(futures).await;
    let summary: Vec<Value> = run
        .plan
        .targets
        .iter()
        .zip(&results)
        .map(|(t, r)| {
            json!({"target_node": t.node, "new_resource_id": t.vmid.to_string(), "new_resource_name": t.name,
                   "ip": t.ip.map(|i| i.to_string()), "mac": t.mac.map(|m| m.to_string()),
                   "status": if r.is_ok() { "success" } else { "failed" },
                   "error": r.as_ref().err().map(|e| e.to_string())})
        })
        .collect();
    let result = Value::Array(summary);
    let failures: Vec<TargetFailure> = run
        .plan
        .targets
        .iter()
        .zip(&results)
        .filter_map(|(t, r)| {
            r.as_ref().err().map(|e| TargetFailure {
                node: t.node.clone(),
                error: e.to_string(),
            })
        })
        .collect();
    if failures.is_empty() {
        return Outcome::Succeeded(result);
    }
    if results
        .iter()
        .any(|r| matches!(r, Err(EngineError::Cancelled)))
    {
        return Outcome::Cancelled { result };
    }
    failed(&EngineError::TargetsFailed(failures), result)
}

async fn set_status(
    run: &Run,
    node: &str,
    status: TargetStatus,
    error: Option<String>,
) -> Result<(), EngineError> {
    let (id, node) = (run.id().to_string(), node.to_string());
    run.engine
        .write(move |tx, _| tasks::set_status(tx, &id, &node, status, error.as_deref()))
        .await
}

async fn set_progress(run: &Run, node: &str) -> Result<(), EngineError> {
    let (id, node) = (run.id().to_string(), node.to_string());
    run.engine
        .write(move |tx, _| tasks::set_progress(tx, &id, &node))
        .await
}

async fn target(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    start: bool,
    kind: CopyKind,
) -> Result<(), EngineError> {
    let slot = run.engine.node_slot(&t.node);
    let _permit = slot
        .acquire()
        .await
        .map_err(|_| EngineError::Step("node slots closed".into()))?;
    set_status(run, &t.node, TargetStatus::Running, None).await?;
    match steps(run, source, t, start, kind).await {
        Ok(()) => {
            set_status(run, &t.node, TargetStatus::Success, None).await?;
            Ok(())
        }
        Err(e) => {
            let cleanup = undo_target(run, source.kind, t, &at(t, "prepare")).await;
            let keys: Vec<String> = run
                .plan
                .steps_of(&t.node)
                .iter()
                .map(|s| s.key.clone())
                .collect();
            let _ = run.skip_rest(keys).await;
            let msg = match &cleanup {
                Ok(what) => format!("{e} ({what})"),
                Err(c) => format!("{e} (cleanup failed: {c})"),
            };
            set_status(run, &t.node, TargetStatus::Failed, Some(msg)).await?;
            Err(e)
        }
    }
}

async fn steps(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    start: bool,
    kind: CopyKind,
) -> Result<(), EngineError> {
    let c = run.client();
    let src_ref = GuestRef::new(&source.node, source.kind, source.vmid);
    let src_ref = &src_ref;
    // Whether the VMID was free when this run began: then a guest with it later is ours.
    run.step(&at(t, "prepare"), |_ctx| async {
        c.guest_config(src_ref).await?;
        claim_vmid(run, t).await
    })
    .await?;
    set_progress(run, &t.node).await?;
    let strategy = t.strategy.clone().unwrap_or(Strategy::CloneLocal);
    match &strategy {
        Strategy::CloneLocal | Strategy::CloneWithTarget { .. } | Strategy::CloneThenMigrate => {
            run.step(&at(t, "clone"), |ctx| {
                copy::clone(ctx, source, t, &strategy, kind)
            })
            .await?;
            set_progress(run, &t.node).await?;
            if run.has_step(&at(t, "eject")) {
                run.step(&at(t, "eject"), |ctx| copy::eject(ctx, t, source.kind))
                    .await?;
                set_progress(run, &t.node).await?;
            }
            if strategy == Strategy::CloneThenMigrate {
                run.step(&at(t, "migrate"), |ctx| copy::migrate(ctx, t, source.kind))
                    .await?;
                set_progress(run, &t.node).await?;
            }
        }
        Strategy::BackupRestore { storage } => {
            let backup = run
                .step(&at(t, "backup"), |ctx| {
                    vehicle::backup(ctx, source, &t.node, storage.clone())
                })
                .await?;
            set_progress(run, &t.node).await?;
            run.step(&at(t, "restore"), |ctx| {
                vehicle::restore(ctx, t, source, backup.volid)
            })
            .await?;
            set_progress(run, &t.node).await?;
        }
    }
    let target_ref = GuestRef::new(&t.node, source.kind, t.vmid);
    let target_ref = &target_ref;
    let description = (kind == CopyKind::Replica)
        .then(|| super::plan::replica_description(&source.name, source.vmid, run.id()));
    run.step(&at(t, "configure"), |_ctx| {
        configure(run, target_ref, t, description.as_deref())
    })
    .await?;
    set_progress(run, &t.node).await?;
    if run.has_step(&at(t, "template")) {
        run.step(&at(t, "template"), |ctx| copy::template(ctx, target_ref))
            .await?;
        set_progress(run, &t.node).await?;
    }
    if run.has_step(&at(t, "start")) {
        run.step(&at(t, "start"), |ctx| async move {
            if c.guest_status(target_ref).await?.status == "running" {
                return Ok(note("already running"));
            }
            ctx.task(|| c.power(target_ref, Power::Start)).await?;
            Ok(done())
        })
        .await?;
        set_progress(run, &t.node).await?;
    }
    run.step(&at(t, "verify"), |_ctx| {
        verify(run, target_ref, t, start && !source.template)
    })
    .await?;
    set_progress(run, &t.node).await?;
    run.step(&at(t, "record"), |_ctx| record(run, source, t, kind))
        .await?;
    Ok(())
}

/// Metadata, the address made active, the name used.
async fn record(
    run: &Run,
    source: &GuestSel,
    t: &TargetPlan,
    kind: CopyKind,
) -> Result<Recorded, EngineError> {
    let (t, source, id) = (t.clone(), source.clone(), run.id().to_string());
    run.engine
        .write(move |tx, inner| {
            match kind {
                CopyKind::Replica => crate::metadata::record_replica(
                    tx,
                    &inner.cluster,
                    source.vmid,
                    t.vmid,
                    source.kind,
                    &t.node,
                )?,
                CopyKind::Clone => crate::metadata::record_clone(
                    tx,
                    &inner.cluster,
                    &source.node,
                    source.vmid,
                    t.vmid,
                    source.kind,
                    &t.node,
                )?,
            }
            settle_identity(tx, &inner.cluster, &inner.config, &t)?;
            crate::engine::audit::append(
                tx,
                &inner.owner,
                "guest_created",
                Some(&id),
                &json!({"vmid": t.vmid, "name": t.name, "node": t.node}),
            )?;
            Ok(Recorded { vmid: t.vmid })
        })
        .await
}
