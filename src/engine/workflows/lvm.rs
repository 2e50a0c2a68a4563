//! LVM snapshot workflows: create, merge back (deferred while the origin is
//! open, and said so), and cleanup by retention. Each step checks what an
//! earlier, interrupted run already did before acting again.

use serde_json::{Value, json};

use super::{Outcome, Run, StepCtx, failed, note};
use crate::engine::error::EngineError;
use crate::lvm::{self, LvKind, MergeOutcome};

pub use crate::lvm::MERGE_PENDING;

pub(super) fn param<'a>(run: &'a Run, key: &str) -> Result<&'a str, EngineError> {
    run.plan
        .param(key)
        .ok_or_else(|| EngineError::Plan(format!("the plan has no {key}")))
}

/// The plan's `remove-N` steps with what each removes (`remove.N`).
pub(super) fn removals(
    run: &Run,
) -> Result<Vec<(&crate::engine::plan::PlanStep, String)>, EngineError> {
    run.plan
        .steps
        .iter()
        .filter(|s| s.name().starts_with("remove-"))
        .map(|s| {
            let i = s.name().trim_start_matches("remove-");
            Ok((s, param(run, &format!("remove.{i}"))?.to_string()))
        })
        .collect()
}

pub(super) fn split(volume: &str) -> (String, String) {
    match volume.split_once('/') {
        Some((vg, lv)) => (vg.to_string(), lv.to_string()),
        None => (volume.to_string(), String::new()),
    }
}

/// Read the node's LVs and bring the catalog in line.
pub(super) async fn refresh(run: &Run, node: &str) -> Result<Vec<lvm::Lv>, EngineError> {
    let lvs = run.engine.lvs(node).await?;
    let (n, l) = (node.to_string(), lvs.clone());
    run.engine
        .write(move |tx, inner| Ok(lvm::catalog::sync_node(tx, &inner.cluster, &n, &l)?))
        .await?;
    Ok(lvs)
}

/// Create the plan's snapshot (unless an earlier run did), as step `key`.
pub(super) async fn snapshot_step(
    ctx: StepCtx,
    node: &str,
    volume: &str,
    name: &str,
    size: &str,
) -> Result<Value, EngineError> {
    let (vg, lv) = split(volume);
    let lvs = ctx.run.engine.lvs(node).await?;
    if lvs
        .iter()
        .any(|l| l.vg == vg && l.name == name && l.origin.as_deref() == Some(lv.as_str()))
    {
        return Ok(note(format!(
            "{vg}/{name} exists already (an earlier run made it)"
        )));
    }
    let cmd = lvm::ops::create(volume, name, size);
    let out = ctx.host(node, &cmd).await?.check(node, &cmd)?;
    Ok(json!({"snapshot": format!("{vg}/{name}"), "size": size, "said": out.message()}))
}

/// Record a snapshot proxdeck made in the catalog.
pub(super) async fn record_made(
    run: &Run,
    node: &str,
    volume: &str,
    name: &str,
    description: Option<&str>,
    purpose: &str,
) -> Result<(), EngineError> {
    refresh(run, node).await?;
    let days = i64::from(run.engine.config().policies.snapshot_retention.max_age_days);
    let (n, v, s, d, p, id) = (
        node.to_string(),
        volume.to_string(),
        name.to_string(),
        description.map(str::to_string),
        purpose.to_string(),
        run.id().to_string(),
    );
    run.engine
        .write(move |tx, inner| {
            let expires = crate::store::now() + days * 86_400;
            Ok(lvm::catalog::record_created(
                tx,
                &inner.cluster,
                &n,
                &v,
                &s,
                d.as_deref(),
                &p,
                &id,
                Some(expires),
            )?)
        })
        .await
}

pub async fn create(run: &Run, description: Option<&str>) -> Outcome {
    let result = async {
        let node = param(run, "node")?;
        let volume = param(run, "volume")?;
        let size = param(run, "size")?;
        let name = run.plan.snapshot.clone().unwrap_or_default();
        run.step("lvm-snapshot", |ctx| {
            snapshot_step(ctx, node, volume, &name, size)
        })
        .await?;
        run.step("record", |_ctx| async {
            record_made(run, node, volume, &name, description, "manual").await?;
            Ok(json!({"snapshot": name}))
        })
        .await?;
        Ok::<_, EngineError>(
            json!({"node": node, "snapshot": format!("{}/{name}", split(volume).0)}),
        )
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, Value::Null),
    }
}

/// Merge `vg/name` into its origin: `Merged`, or `Deferred` while the origin is open.
pub(super) async fn merge_step(
    ctx: StepCtx,
    node: &str,
    volume: &str,
    name: &str,
) -> Result<Value, EngineError> {
    let (vg, _) = split(volume);
    let lvs = ctx.run.engine.lvs(node).await?;
    match lvs.iter().find(|l| l.vg == vg && l.name == name) {
        Some(l) if l.kind() == LvKind::MergingSnapshot => {
            return Ok(
                json!({"outcome": "merge_pending", "note": "the merge was already pending"}),
            );
        }
        None if ctx.prior_detail.is_some() || ctx.run.detail_of(&ctx.key).await?.is_some() => {
            return Ok(json!({"outcome": "merged", "note": "merged by an earlier run"}));
        }
        None => {
            return Err(EngineError::Plan(format!(
                "{node} has no snapshot {vg}/{name} any more"
            )));
        }
        Some(_) => {}
    }
    let cmd = lvm::ops::merge(&vg, name);
    let out = ctx.host(node, &cmd).await?;
    match lvm::ops::merge_outcome(&out) {
        Ok(MergeOutcome::Merged) => Ok(json!({"outcome": "merged"})),
        Ok(MergeOutcome::Deferred) => Ok(json!({"outcome": "merge_pending", "lvm": out.message()})),
        Err(msg) => Err(EngineError::Host(format!(
            "{node}: lvconvert --merge {vg}/{name}: {msg}"
        ))),
    }
}

pub async fn merge(run: &Run) -> Outcome {
    let result = async {
        let node = param(run, "node")?;
        let volume = param(run, "volume")?;
        let name = run.plan.snapshot.clone().unwrap_or_default();
        let d = run.step("merge", |ctx| merge_step(ctx, node, volume, &name)).await?;
        let state = if d["outcome"] == "merge_pending" { "merge_pending" } else { "merged" };
        run.step("record", |_ctx| async {
            refresh(run, node).await?;
            let (n, v, s, st) = (node.to_string(), volume.to_string(), name.clone(), state.to_string());
            run.engine
                .write(move |tx, inner| Ok(lvm::catalog::set_state(tx, &inner.cluster, &n, &v, &s, &st)?))
                .await?;
            Ok(json!({"state": state}))
        })
        .await?;
        Ok::<_, EngineError>(json!({
            "node": node,
            "snapshot": name,
            "state": if state == "merged" { "merged: the origin has the snapshot's contents".to_string() } else { MERGE_PENDING.to_string() },
        }))
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, Value::Null),
    }
}

pub async fn cleanup(run: &Run) -> Outcome {
    let result = async {
        let mut removed = Vec::new();
        let mut nodes = Vec::new();
        for (s, spec) in removals(run)? {
            let mut parts = spec.splitn(3, '|');
            let (node, volume, name) = (
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            );
            let (vg, _) = split(&volume);
            run.step(&s.key, |ctx| async move {
                let lvs = ctx.run.engine.lvs(&node).await?;
                if !lvs.iter().any(|l| l.vg == vg && l.name == name) {
                    return Ok(note("already gone"));
                }
                let cmd = lvm::ops::remove(&vg, &name);
                ctx.host(&node, &cmd).await?.check(&node, &cmd)?;
                Ok(json!({"removed": format!("{vg}/{name}")}))
            })
            .await?;
            if !nodes.contains(&s.target) {
                nodes.push(s.target.clone());
            }
            removed.push(spec);
        }
        run.step("record", |_ctx| async {
            for n in nodes.iter().flatten() {
                refresh(run, n).await?;
            }
            Ok(json!({"removed": removed.len()}))
        })
        .await?;
        Ok::<_, EngineError>(json!({"removed": removed}))
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(e) => failed(&e, Value::Null),
    }
}
